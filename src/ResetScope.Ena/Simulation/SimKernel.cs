using ResetScope.Core;
using ResetScope.Ena.Device;
using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Simulation;

/// <summary>
/// The kernel in virtual time: a seeded event loop with jiffy ticks, timers bound to CPUs that may be
/// unavailable, an ordered unbound workqueue, printk with a console cost, and sleeps that cost no wall time.
/// Busy-waiting (MMIO timeouts, serial-console printing) advances the clock for everyone: the model trades
/// per-CPU clocks for simplicity there, which only makes late events run late, never out of order.
/// </summary>
public sealed class SimKernel : IKernel, IDeviceHost
{
    private readonly EventQueue _events = new();
    private readonly List<KernelTimer> _timers = [];
    private readonly Queue<Func<Task>> _work = new();
    private readonly List<KernelRecord> _records = [];
    private readonly DeterministicRandom _random;
    private readonly long _consoleNsPerChar;
    private Task? _currentWork;
    private long _now;
    private long _seq;
    private long _jiffiesAt = -1;
    private ulong _jiffies;
    private Action? _deliverManagement;

    public SimKernel(int hz, long startNs, ulong seed, CpuModel cpus, int serialConsoleBaud)
    {
        Clock = new Jiffies(hz);
        _now = startNs;
        _random = new DeterministicRandom(seed);
        Cpus = cpus;
        _consoleNsPerChar = serialConsoleBaud > 0 ? 10L * 1_000_000_000L / serialConsoleBaud : 0;
    }

    public Jiffies Clock { get; }

    public CpuModel Cpus { get; }

    public ulong Jiffies
    {
        get
        {
            // Read many times per tick; recomputed only when the clock has moved.
            if (_now != _jiffiesAt)
            {
                _jiffiesAt = _now;
                _jiffies = Clock.At(_now);
            }

            return _jiffies;
        }
    }

    public long NowNs => _now;

    public int CurrentCpu { get; set; }

    /// <summary>Drop printk output (used while the driver probes before the window of interest).</summary>
    public bool Quiet { get; set; }

    public IReadOnlyList<KernelRecord> Records => _records;

    /// <summary>Called for every record as it is stored.</summary>
    public Action<KernelRecord>? RecordWritten { get; set; }

    public Action? ManagementInterrupt { get; set; }

    public Action<int>? QueueInterrupt { get; set; }

    public DeterministicRandom Random => _random;

    public long Printk(KernelLevel level, string text)
    {
        if (Quiet)
        {
            return -1;
        }

        var record = new KernelRecord(_seq++, _now / 1000, level, text, RecordOrigin.Model);
        _records.Add(record);
        RecordWritten?.Invoke(record);

        // A synchronous serial console prints every line below the console loglevel (7) before printk returns.
        if (_consoleNsPerChar > 0 && level < KernelLevel.Debug)
        {
            _now += (text.Length + 16) * _consoleNsPerChar;
        }

        return record.Sequence;
    }

    public KernelTimer CreateTimer(string name, int cpu, Action callback)
    {
        var t = new KernelTimer(name, cpu, callback);
        _timers.Add(t);
        return t;
    }

    public void ModTimer(KernelTimer timer, ulong expires)
    {
        timer.Expires = expires;
        timer.Pending = true;
    }

    public void DeleteTimer(KernelTimer timer) => timer.Pending = false;

    public void QueueWork(string workqueue, Func<Task> work)
    {
        _work.Enqueue(work);
        Schedule(_now, StartWork);
    }

    private void StartWork()
    {
        if (_currentWork is { IsCompleted: false } || _work.Count == 0)
        {
            return;
        }

        if (!Cpus.AnyProcessCpu(_now))
        {
            Schedule(_now + Clock.TimeOf(Jiffies + 1) - Clock.TimeOf(Jiffies), StartWork);
            return;
        }

        Func<Task> next = _work.Dequeue();
        _currentWork = next();
        ObserveWork();
    }

    private void ObserveWork()
    {
        if (_currentWork is null)
        {
            return;
        }

        if (_currentWork.IsFaulted)
        {
            _currentWork.GetAwaiter().GetResult();
        }

        if (_currentWork.IsCompleted)
        {
            _currentWork = null;
            if (_work.Count > 0)
            {
                Schedule(_now, StartWork);
            }
        }
    }

    public void NapiSchedule(Napi napi)
    {
        if (!napi.Disabled)
        {
            napi.Scheduled = true;
        }
    }

    public KernelSleep Sleep(long ns) => new(c => Schedule(_now + ns, c));

    public KernelSleep SleepRange(long minNs, long maxNs) => Sleep(minNs + (long)(_random.NextDouble() * (maxNs - minNs)));

    public void Spin(long ns) => _now += ns;

    public KernelSleep WaitForNapiIdle(Napi napi)
    {
        if (!napi.Scheduled)
        {
            return KernelSleep.Completed;
        }

        return new KernelSleep(c => napi.IdleWaiter = c);
    }

    public KernelSleep WaitForCompletion(Completion completion, long timeoutNs)
    {
        if (completion.Done)
        {
            return KernelSleep.Completed;
        }

        var outcome = new WaitOutcome();
        return new KernelSleep(c =>
        {
            bool resumed = false;
            completion.Waiter = () =>
            {
                if (!resumed)
                {
                    resumed = true;
                    Schedule(_now, c);
                }
            };
            Schedule(_now + timeoutNs, () =>
            {
                if (!resumed)
                {
                    resumed = true;
                    outcome.TimedOut = true;
                    completion.Waiter = null;
                    c();
                }
            });
        }, outcome);
    }

    // ---- IDeviceHost ----

    public void Schedule(long atNs, Action action) => _events.Push(atNs, action);

    public void RaiseManagementInterrupt() => Schedule(_now, _deliverManagement ??= () => ManagementInterrupt?.Invoke());

    public void RaiseQueueInterrupt(int qid) => QueueInterrupt?.Invoke(qid);

    // ---- the loop ----

    /// <summary>Runs every event due up to <paramref name="untilNs"/>.</summary>
    public void RunUntil(long untilNs)
    {
        while (_events.Count > 0 && _events.PeekTime <= untilNs)
        {
            (long time, Action action) = _events.Pop();
            if (time > _now)
            {
                _now = time;
            }

            action();
            ObserveWork();
        }

        if (untilNs > _now)
        {
            _now = untilNs;
        }
    }

    /// <summary>Fires expired timers whose CPU can run timer softirqs now; the others wait for their CPU.</summary>
    public void RunTimers()
    {
        ulong j = Jiffies;
        for (int i = 0; i < _timers.Count; i++)
        {
            KernelTimer t = _timers[i];
            if (!t.Pending || global::ResetScope.Ena.Kernel.Jiffies.TimeAfter(t.Expires, j))
            {
                continue;
            }

            if (!Cpus.TimersAllowed(t.Cpu, _now))
            {
                continue;
            }

            t.Pending = false;
            int saved = CurrentCpu;
            CurrentCpu = t.Cpu;
            t.Callback();
            CurrentCpu = saved;
        }
    }

    /// <summary>Resumes a napi_disable() waiter once its NAPI is idle.</summary>
    public void WakeNapiWaiter(Napi napi)
    {
        if (napi.IdleWaiter is { } c && !napi.Scheduled)
        {
            napi.IdleWaiter = null;
            Schedule(_now, c);
        }
    }
}

/// <summary>A small, version-stable PRNG (splitmix64): the model's only source of randomness.</summary>
public sealed class DeterministicRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextULong()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));
}
