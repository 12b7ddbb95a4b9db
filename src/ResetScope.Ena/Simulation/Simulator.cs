using ResetScope.Core;
using ResetScope.Ena.Device;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Simulation;

/// <summary>
/// Runs a scenario in virtual time: a jiffy tick drives the kernel timers and the datapath (stack transmits,
/// device completes and receives, MSI-X, NAPI polls on CPUs that may be starved); scenario events switch
/// faults and CPU hogs on and off. Same scenario and seed → the same bytes.
/// </summary>
public sealed class Simulator
{
    private const int QdiscLimit = 1000;
    private const int MaxPollsPerTick = 8;
    private const int NapiBudget = 64;

    private readonly Scenario _s;
    private readonly SimKernel _k;
    private readonly EnaDevice _dev;
    private readonly NetDevice _netdev;
    private readonly EnaAdapter _adapter;
    private readonly IoQueuePair[] _qp;
    private readonly long _startNs;
    private readonly long _endNs;
    private readonly long[] _backlog;
    private readonly Action _tick;
    private double _txCarry;
    private double _rxCarry;
    private readonly double _txPerTick;
    private readonly double _rxPerTick;

    // workload accounting
    private long _txOffered, _txDroppedStack, _rxOffered, _rxDropped;
    private readonly OutageTracker? _flowPath;
    private readonly OutageTracker? _probePath;

    public Simulator(Scenario scenario)
    {
        _s = scenario;
        // The driver probes during the second before the window of interest; scenario times count from UptimeNs.
        _startNs = scenario.UptimeNs - 1_000_000_000;
        _endNs = scenario.UptimeNs + scenario.DurationNs;
        var hogs = scenario.CpuEvents.Select(e => new CpuHog(e.Cpu, e.Kind, scenario.UptimeNs + e.StartNs, scenario.UptimeNs + e.StartNs + e.DurationNs, e.Share, e.Comm, e.Pid, e.RtThrottling));
        var cpus = new CpuModel(scenario.Cpus, hogs, scenario.Seed);
        _k = new SimKernel(scenario.Hz, _startNs, scenario.Seed, cpus, scenario.SerialConsoleBaud);
        var version = Driver.DriverVersion.Parse(scenario.DriverVersion);
        _qp = new IoQueuePair[scenario.Queues];
        for (int q = 0; q < scenario.Queues; q++)
        {
            _qp[q] = new IoQueuePair(q, scenario.RingSize, scenario.RingSize);
        }

        _dev = new EnaDevice(_k, new DeviceConfig { TxCompletionLatencyNs = scenario.TxCompletionLatencyNs }, _qp);
        WatchdogFormat format = scenario.WatchdogFormat ?? NetDevice.FormatFor(scenario.Kernel);
        _netdev = new NetDevice(_k, scenario.Interface, scenario.Pci, scenario.Queues, scenario.WatchdogCpu, format, scenario.Kernel);
        _adapter = new EnaAdapter(_k, _dev, _netdev, new AdapterConfig
        {
            Version = version,
            Pci = scenario.Pci,
            Interface = scenario.Interface,
            Queues = scenario.Queues,
            TxRingSize = scenario.RingSize,
            RxRingSize = scenario.RingSize,
            QueueCpus = scenario.ResolveQueueCpus(),
            ManagementCpu = scenario.ManagementCpu,
            TimerCpu = scenario.TimerCpu,
            KeepAliveTimeoutMs = scenario.HintKeepAliveTimeoutMs ?? 6000,
            MissingTxTimeoutMs = scenario.HintMissingTxTimeoutMs ?? 5000,
            MissingTxThreshold = scenario.HintMissingTxThreshold ?? 128,
            PacketBytes = scenario.PacketBytes,
        });
        _k.ManagementInterrupt = _adapter.ManagementInterrupt;
        _k.QueueInterrupt = _adapter.QueueInterrupt;
        _netdev.CarrierChanged = on =>
        {
            if (!on)
            {
                // dev_deactivate: the qdisc is reset and packets queued there are dropped.
                for (int q = 0; q < _backlog!.Length; q++)
                {
                    _txDroppedStack += _backlog[q];
                    _backlog[q] = 0;
                }
            }
        };
        _backlog = new long[scenario.Queues];
        _txPerTick = scenario.TxPps / scenario.Hz;
        _rxPerTick = scenario.RxPps / scenario.Hz;
        _tick = Tick;
        if (scenario.FlowQueue is int fq)
        {
            _flowPath = new OutageTracker(fq);
        }

        if (scenario.ProbeQueue is int pq)
        {
            _probePath = new OutageTracker(pq);
        }
    }

    public SimKernel Kernel => _k;

    public EnaAdapter Adapter => _adapter;

    public EnaDevice Device => _dev;

    /// <summary>Use the adapter's exact steady-tick shortcut (on by default; tests compare both paths).</summary>
    public bool SteadyTickShortcut { get; init; } = true;

    /// <summary>Checked after every tick by property tests (ring invariants).</summary>
    public Action<Simulator>? AfterTick { get; set; }

    public SimulationResult Run()
    {
        // Continuations of the driver's async paths must run inside this event loop, never on a caller's
        // synchronization context (a test runner's, a UI's): that would reorder them and break determinism.
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return RunLoop();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    private SimulationResult RunLoop()
    {
        // Probe happens before the window of interest: quietly, with the clock moving.
        _k.Quiet = true;
        Task probe = _adapter.ProbeAsync();
        _k.RunUntil(_s.UptimeNs);
        probe.GetAwaiter().GetResult();
        _k.Quiet = false;

        ScheduleScenario();
        ulong firstTick = _k.Jiffies + 1;
        _k.Schedule(_k.Clock.TimeOf(firstTick), _tick);
        long runEnd = _endNs + 1_000_000_000;
        _k.RunUntil(runEnd);
        _flowPath?.Close(runEnd);
        _probePath?.Close(runEnd);
        return BuildResult(runEnd);
    }

    private void ScheduleScenario()
    {
        long t0 = _s.UptimeNs;
        foreach (FaultSpec f in _s.Faults)
        {
            long at = t0 + f.StartNs;
            _k.Schedule(at, () => SetFault(f, true));
            if (f.DurationNs is long d)
            {
                _k.Schedule(at + d, () => SetFault(f, false));
            }
        }

        foreach (AdminCommandSpec a in _s.AdminCommands)
        {
            ScheduleAdmin(t0 + a.StartNs, a.EveryNs);
        }

        foreach (CpuEventSpec e in _s.CpuEvents)
        {
            if (e.Kind == CpuHogKind.NonPreemptible && e.DurationNs > 20_000_000_000L)
            {
                ScheduleSoftLockup(e, t0);
            }
        }
    }

    /// <summary>The soft-lockup detector: reports a CPU stuck for more than 2 × watchdog_thresh (20 s), from its 4 s hrtimer.</summary>
    private void ScheduleSoftLockup(CpuEventSpec e, long t0)
    {
        long start = t0 + e.StartNs;
        long report = start + 20_000_000_000L;
        report += 4_000_000_000L - (report - start) % 4_000_000_000L;
        if (report < start + e.DurationNs && report > t0)
        {
            _k.Schedule(report, () =>
            {
                long stuck = (_k.NowNs - start) / 1_000_000_000L;
                _k.Printk(KernelLevel.Emergency, FormattableString.Invariant($"watchdog: BUG: soft lockup - CPU#{e.Cpu} stuck for {stuck}s! [{e.Comm ?? "kworker"}:{e.Pid ?? 1}]"));
            });
        }
    }

    private void ScheduleAdmin(long at, long? every)
    {
        if (at > _endNs)
        {
            return;
        }

        _k.Schedule(at, () =>
        {
            _ = _adapter.UserAdminCommandAsync();
            if (every is long e)
            {
                ScheduleAdmin(_k.NowNs + e, every);
            }
        });
    }

    private void SetFault(FaultSpec f, bool on)
    {
        DeviceFaults d = _dev.Faults;
        switch (f.Kind)
        {
            case FaultKind.StopKeepAlive: d.KeepAliveStopped = on; break;
            case FaultKind.LoseManagementInterrupt: d.ManagementInterruptLost = on; break;
            case FaultKind.StopAdminCompletions: d.AdminStopped = on; break;
            case FaultKind.UnresponsiveMmio: d.MmioUnresponsive = on; break;
            case FaultKind.WithholdTxCompletions: d.TxWithheld[f.Queue] = on; break;
            case FaultKind.DelayTxCompletions: d.TxExtraLatencyNs[f.Queue] = on ? f.DelayNs : 0; break;
            case FaultKind.LoseQueueInterrupts: d.QueueInterruptsLost[f.Queue] = on; break;
            case FaultKind.CorruptTxReqId: if (on) { d.CorruptTxReqId[f.Queue] = true; } break;
            case FaultKind.CorruptRxReqId: if (on) { d.CorruptRxReqId[f.Queue] = true; } break;
            case FaultKind.CorruptTxDescriptor: if (on) { d.CorruptTxDescriptor[f.Queue] = true; } break;
            case FaultKind.CorruptRxDescriptor: if (on) { d.CorruptRxDescriptor[f.Queue] = true; } break;
            case FaultKind.RequestReset: if (on) { _dev.RequestReset(); } break;
            case FaultKind.RefreshCapabilities: if (on) { _dev.RequestRefreshCapabilities(); } break;
            case FaultKind.FailRestore: d.FailRestore = on; break;
            case FaultKind.UpdateHints:
                if (on)
                {
                    _dev.UpdateHints(0, f.Hints.KeepAliveMs, f.Hints.MissingTxMs, f.Hints.Threshold, 0, f.Hints.NetdevWdMs);
                }

                break;
        }
    }

    /// <summary>One jiffy: timers, then the datapath of every queue pair.</summary>
    private void Tick()
    {
        long now = _k.NowNs;
        ulong jiffies = _k.Jiffies;
        _k.Cpus.BeginTick(now, jiffies);
        _k.RunTimers();

        long horizon = now + 1_000_000_000L / _s.Hz;
        _txCarry += _txPerTick;
        _rxCarry += _rxPerTick;
        int tx = (int)_txCarry;
        int rx = (int)_rxCarry;
        _txCarry -= tx;
        _rxCarry -= rx;
        bool carrier = _netdev.Carrier;
        IReadOnlyList<Napi> napis = _adapter.Napis;
        for (int q = 0; q < _qp.Length; q++)
        {
            _txOffered += tx;
            _rxOffered += rx;
            Napi napi = napis[q];
            if (SteadyTickShortcut && carrier && _backlog[q] == 0 && _k.Cpus.SoftirqOk(napi.Cpu)
                && _adapter.TrySteadyTick(q, tx, rx, horizon, MaxPollsPerTick))
            {
                _flowPath?.ObserveIf(q, now, up: true);
                _probePath?.ObserveIf(q, now, up: true);
                continue;
            }

            // The stack: qdisc backlog first, then this jiffy's packets.
            if (!carrier)
            {
                _txDroppedStack += tx;
            }
            else
            {
                long want = _backlog[q] + tx;
                int accepted = _adapter.Xmit(q, (int)Math.Min(want, int.MaxValue));
                long rest = want - accepted;
                long keep = Math.Min(rest, QdiscLimit);
                _txDroppedStack += rest - keep;
                _backlog[q] = keep;
            }

            _rxDropped += _dev.Step(_qp[q], horizon, rx);

            bool polled = false;
            if (napi.Scheduled && !napi.Disabled && _k.Cpus.SoftirqOk(napi.Cpu))
            {
                int saved = _k.CurrentCpu;
                _k.CurrentCpu = napi.Cpu;
                for (int i = 0; i < MaxPollsPerTick && napi.Scheduled; i++)
                {
                    napi.Poll(napi, NapiBudget);
                }

                _k.CurrentCpu = saved;
                polled = true;
                _k.WakeNapiWaiter(napi);

                // Packets the stack held back go out as soon as the queue is awake again.
                if (carrier && _backlog[q] > 0 && !_netdev.TxStopped[q])
                {
                    _backlog[q] -= _adapter.Xmit(q, (int)_backlog[q]);
                }
            }
            else if (napi.IdleWaiter is not null && (!napi.Scheduled || napi.Disabled))
            {
                _k.WakeNapiWaiter(napi);
            }

            if (_flowPath is not null || _probePath is not null)
            {
                bool up = PathUp(q, napi, polled);
                _flowPath?.ObserveIf(q, now, up);
                _probePath?.ObserveIf(q, now, up);
            }
        }

        AfterTick?.Invoke(this);
        if (now < _endNs)
        {
            _k.Schedule(_k.Clock.TimeOf(_k.Jiffies + 1), _tick);
        }
    }

    // A queue delivers when the stack can send on it, the device completes on it, and its NAPI runs or has nothing pending.
    private bool PathUp(int q, Napi napi, bool polled)
        => _netdev.Carrier && _adapter.DevUp && !_netdev.TxStopped[q] && !_dev.Faults.TxWithheld[q]
           && (polled || !napi.Scheduled) && _dev.Running;

    private SimulationResult BuildResult(long runEnd) => new()
    {
        Scenario = _s,
        Version = _adapter.Version,
        StartNs = _s.UptimeNs,
        EndNs = runEnd,
        Records = _k.Records,
        Episodes = _adapter.Episodes,
        Counters = EnaStatsLayout.Ethtool(_adapter.Version, _adapter.Stats, _adapter.TxStats, _adapter.RxStats),
        TxTimeoutPerQueue = _netdev.TransTimeout.ToArray(),
        CarrierChanges = _netdev.CarrierChanges,
        TxOffered = _txOffered,
        TxDropped = _txDroppedStack + _adapter.TxPacketsDroppedByResets,
        RxOffered = _rxOffered,
        RxDropped = _rxDropped,
        DeviceDead = _adapter.Dead,
        Flow = _flowPath is null ? null : WorkloadModel.Tcp(_flowPath, _s.FlowRttNs),
        Probe = _probePath is null ? null : WorkloadModel.Liveness(_probePath, _s.FlowRttNs, _s.ProbePeriodNs, _s.ProbeWindowNs),
    };
}

/// <summary>Records the intervals during which one queue could not deliver packets.</summary>
public sealed class OutageTracker(int queue)
{
    private long? _downSince;

    public int Queue { get; } = queue;

    public List<(long StartNs, long EndNs)> Outages { get; } = [];

    public void Observe(long now, bool up)
    {
        if (!up && _downSince is null)
        {
            _downSince = now;
        }
        else if (up && _downSince is long s)
        {
            Outages.Add((s, now));
            _downSince = null;
        }
    }

    public void ObserveIf(int queue, long now, bool up)
    {
        if (queue == Queue)
        {
            Observe(now, up);
        }
    }

    public void Close(long now)
    {
        if (_downSince is long s)
        {
            Outages.Add((s, long.MaxValue));
            _downSince = null;
        }
    }
}
