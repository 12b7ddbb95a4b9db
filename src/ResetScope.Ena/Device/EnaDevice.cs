namespace ResetScope.Ena.Device;

/// <summary>What the device needs from its surroundings: time, deferred work, and interrupt delivery.</summary>
public interface IDeviceHost
{
    long NowNs { get; }

    void Schedule(long atNs, Action action);

    /// <summary>An MSI-X message for the management vector (admin completions and AENQ).</summary>
    void RaiseManagementInterrupt();

    /// <summary>An MSI-X message for an IO queue pair's vector.</summary>
    void RaiseQueueInterrupt(int qid);
}

/// <summary>Faults a scenario switches on and off (ena-driver.md: the device side of every trigger).</summary>
public sealed class DeviceFaults
{
    public bool KeepAliveStopped;
    public bool ManagementInterruptLost;
    public bool AdminStopped;
    public bool MmioUnresponsive;
    public bool FailRestore;

    /// <summary>Per queue: the device completes nothing on that Tx queue.</summary>
    public bool[] TxWithheld = [];

    /// <summary>Per queue: extra completion latency (ns).</summary>
    public long[] TxExtraLatencyNs = [];

    /// <summary>Per queue: MSI-X messages for the queue are lost.</summary>
    public bool[] QueueInterruptsLost = [];

    /// <summary>Per queue, one shot: the next Tx completion carries a req_id out of range.</summary>
    public bool[] CorruptTxReqId = [];

    /// <summary>Per queue, one shot: the next Tx completion descriptor has MBZ bits set.</summary>
    public bool[] CorruptTxDescriptor = [];

    /// <summary>Per queue, one shot: the next Rx completion carries a req_id out of range.</summary>
    public bool[] CorruptRxReqId = [];

    /// <summary>Per queue, one shot: the next Rx completion descriptor is malformed.</summary>
    public bool[] CorruptRxDescriptor = [];

    public void Resize(int queues)
    {
        TxWithheld = new bool[queues];
        TxExtraLatencyNs = new long[queues];
        QueueInterruptsLost = new bool[queues];
        CorruptTxReqId = new bool[queues];
        CorruptTxDescriptor = new bool[queues];
        CorruptRxReqId = new bool[queues];
        CorruptRxDescriptor = new bool[queues];
    }
}

/// <summary>An AENQ entry (ena_admin_aenq_common_desc): group, syndrome, phase.</summary>
public struct AenqEntry
{
    public AenqGroup Group;
    public ushort Syndrome;
    public bool Phase;
    public long TimestampNs;

    /// <summary>Inline data (e.g. ena_admin_ena_hw_hints as u16 words); empty for most events.</summary>
    public ushort[]? Data;
}

public enum AenqGroup : ushort
{
    LinkChange = 0,
    FatalError = 1,
    Warning = 2,
    Notification = 3,
    KeepAlive = 4,
    RefreshCapabilities = 5,
    ConfNotifications = 6,
    DeviceRequestReset = 7,
}

/// <summary>Device registers the model exposes through MMIO (ena_regs_defs.h offsets).</summary>
public static class Registers
{
    public const uint Version = 0x00;
    public const uint ControllerVersion = 0x04;
    public const uint Caps = 0x08;
    public const uint DevCtl = 0x54;
    public const uint DevSts = 0x58;

    public const uint DevStsReady = 1u << 0;
    public const uint DevStsResetInProgress = 1u << 3;
    public const uint DevCtlDevReset = 1u << 0;
}

/// <summary>
/// The ENA device as the driver sees it through BAR0 registers, the admin queue, the AENQ and the IO queue
/// pairs. Internal behaviour is modelled only as far as the driver can observe it: latencies, keep-alives,
/// reset handshake timing and the faults a scenario injects.
/// </summary>
public sealed class EnaDevice : IEnaDeviceBackend
{
    public const int AenqDepth = 16;
    public const int AdminDepth = 32;

    private readonly IDeviceHost _host;
    private readonly Action _keepAliveTick;
    private long _resetStartedNs;
    private long _resetDoneAtNs = long.MaxValue;
    private bool _resetRequested;
    private ushort _mmioLastOffset;

    public EnaDevice(IDeviceHost host, DeviceConfig config, IoQueuePair[] queues)
    {
        _host = host;
        Config = config;
        Queues = queues;
        Faults.Resize(queues.Length);
        _keepAliveTick = KeepAliveTick;
    }

    public DeviceConfig Config { get; }

    public DeviceFaults Faults { get; } = new();

    public IoQueuePair[] Queues { get; }

    // ---- AENQ (device writes, driver reads) ----
    public AenqEntry[] Aenq { get; } = new AenqEntry[AenqDepth];

    /// <summary>Next index the device writes (grows; slot = index % depth); phase flips on each wrap.</summary>
    public ulong AenqTail { get; private set; }

    /// <summary>The driver's consumer index, published through AENQ_HEAD_DB.</summary>
    public ulong AenqHead { get; set; }

    /// <summary>The device accepted the KEEP_ALIVE group (wd_state).</summary>
    public bool KeepAliveEnabled => (AenqGroups & (1u << (int)AenqGroup.KeepAlive)) != 0;

    public uint AenqGroups { get; set; } = uint.MaxValue;

    public bool LargeLlq => Config.LargeLlq;

    // ---- admin completions the device has posted, not yet consumed by the driver ----
    public Queue<AdminCompletion> AdminCompletionQueue { get; } = new();

    /// <summary>The driver runs the admin queue in polling mode (init); no interrupt then.</summary>
    public bool AdminPolling { get; set; } = true;

    /// <summary>MSI-X enabled and the management vector requested.</summary>
    public bool ManagementVectorEnabled { get; set; }

    public bool Ready { get; private set; } = true;

    public bool ResetInProgress { get; private set; }

    /// <summary>The device runs (post-init, pre-reset): it sends keep-alives and completes IO.</summary>
    public bool Running { get; private set; }

    /// <summary>Time the last device-internal reset took (DEV_RESET write to reset finished).</summary>
    public long LastInternalResetNs { get; private set; }

    public long KeepAlivesSent { get; private set; }

    /// <summary>Device-side drop counters reported in keep-alives (cumulative since the last device reset).</summary>
    public ulong RxDrops;
    public ulong TxDrops;
    public ulong RxOverruns;

    /// <summary>Called once the driver has brought the device up (admin queue, AENQ, MSI-X).</summary>
    public void Start()
    {
        Running = true;
        ScheduleKeepAlive();
    }

    private long _keepAliveGeneration;

    private void ScheduleKeepAlive()
    {
        _keepAliveGeneration++;
        _host.Schedule(_host.NowNs + Config.KeepAliveIntervalNs, _keepAliveTick);
    }

    private void KeepAliveTick()
    {
        if (!Running)
        {
            return;
        }

        if (!Faults.KeepAliveStopped && !Faults.MmioUnresponsive)
        {
            PostAenq(AenqGroup.KeepAlive, 0);
            KeepAlivesSent++;
        }

        _host.Schedule(_host.NowNs + Config.KeepAliveIntervalNs, _keepAliveTick);
    }

    /// <summary>Posts an AENQ event and signals the management vector.</summary>
    public void PostAenq(AenqGroup group, ushort syndrome, ReadOnlySpan<ushort> data = default)
    {
        if ((AenqGroups & (1u << (int)group)) == 0)
        {
            return; // the driver did not ask for this group
        }

        ulong slot = AenqTail % AenqDepth;
        bool phase = (AenqTail / AenqDepth) % 2 == 0;
        Aenq[slot] = new AenqEntry { Group = group, Syndrome = syndrome, Phase = phase, TimestampNs = _host.NowNs, Data = data.ToArray() };
        AenqTail++;
        SignalManagement();
    }

    /// <summary>The device asks the driver to reset (AENQ DEVICE_REQUEST_RESET).</summary>
    public void RequestReset() => PostAenq(AenqGroup.DeviceRequestReset, 0);

    public void RequestRefreshCapabilities() => PostAenq(AenqGroup.RefreshCapabilities, 0);

    /// <summary>NOTIFICATION / UPDATE_HINTS with ena_admin_ena_hw_hints (u16 each, ms; 0 = keep, 0xFFFF = off).</summary>
    public void UpdateHints(ushort mmioReadTimeoutMs, ushort driverWatchdogTimeoutMs, ushort missingTxTimeoutMs, ushort missedTxThreshold, ushort adminTimeoutMs, ushort netdevWdTimeoutMs)
        => PostAenq(AenqGroup.Notification, UpdateHintsSyndrome, [mmioReadTimeoutMs, driverWatchdogTimeoutMs, missingTxTimeoutMs, missedTxThreshold, adminTimeoutMs, netdevWdTimeoutMs]);

    public const ushort UpdateHintsSyndrome = 2;

    private void SignalManagement()
    {
        if (!ManagementVectorEnabled || Faults.ManagementInterruptLost)
        {
            return;
        }

        _host.RaiseManagementInterrupt();
    }

    // ---- MMIO (read-less) ----

    /// <summary>
    /// A read-less register read: the device DMA-writes {req_id, offset, value} into the response buffer.
    /// Returns false when the device does not answer; <paramref name="lastOffset"/> is what the response
    /// buffer still holds then.
    /// </summary>
    public bool TryMmioRead(uint offset, out uint value, out ushort lastOffset)
    {
        if (Faults.MmioUnresponsive)
        {
            value = 0xFFFFFFFF;
            lastOffset = _mmioLastOffset;
            return false;
        }

        _mmioLastOffset = (ushort)offset;
        lastOffset = _mmioLastOffset;
        value = offset switch
        {
            Registers.Version => ((uint)Config.VersionMajor << 8) | (uint)Config.VersionMinor,
            Registers.ControllerVersion => ((uint)Config.ControllerMajor << 24) | ((uint)Config.ControllerMinor << 16) | ((uint)Config.ControllerSubminor << 8) | (uint)Config.ImplementationId,
            Registers.Caps => ((uint)Config.ResetTimeout100Ms << 1) | ((uint)Config.AdminTimeout100Ms << 16),
            Registers.DevSts => DevSts(),
            _ => 0,
        };
        return true;
    }

    private uint DevSts()
    {
        if (ResetInProgress && _host.NowNs >= _resetDoneAtNs && !_resetRequested)
        {
            FinishReset();
        }

        uint sts = 0;
        if (Ready)
        {
            sts |= Registers.DevStsReady;
        }

        if (ResetInProgress && _host.NowNs >= _resetStartedNs + Config.ResetIndicationNs)
        {
            sts |= Registers.DevStsResetInProgress;
        }

        return sts;
    }

    /// <summary>A write to DEV_CTL. DEV_RESET starts a device reset; writing 0 lets it finish.</summary>
    public void WriteDevCtl(uint value)
    {
        if ((value & Registers.DevCtlDevReset) != 0)
        {
            LastResetReason = (int)(value >> 28) | (int)((value >> 24) & 0xF) << 4;
            _resetRequested = true;
            ResetInProgress = true;
            Running = false;
            _resetStartedNs = _host.NowNs;
            foreach (IoQueuePair q in Queues)
            {
                q.Created = false;
                q.InterruptUnmasked = false;
            }

            AdminCompletionQueue.Clear();
            ManagementVectorEnabled = false;
            AdminPolling = true;
            RxDrops = TxDrops = RxOverruns = 0;
        }
        else if (_resetRequested)
        {
            _resetRequested = false;
            _resetDoneAtNs = _host.NowNs + Config.InternalResetNs;

            // What the device itself spent: raising the indication, then the reset proper. The driver's
            // 5–10 ms polling sleeps around it are driver time, reported separately.
            LastInternalResetNs = Config.ResetIndicationNs + Config.InternalResetNs;
        }
    }

    /// <summary>The reason the driver wrote with the last DEV_RESET (low nibble | high nibble).</summary>
    public int LastResetReason { get; private set; }

    public long DeviceResets { get; private set; }

    private void FinishReset()
    {
        ResetInProgress = false;
        _resetDoneAtNs = long.MaxValue;
        DeviceResets++;
        AenqTail = 0;
        AenqHead = 0;
        Array.Clear(Aenq);
        if (Faults.FailRestore)
        {
            Ready = false;
        }
    }

    // ---- admin queue ----

    /// <summary>The driver placed a command in the admin SQ and rang the doorbell.</summary>
    public void SubmitAdmin(int commandId, AdminOpcode opcode, int argument)
    {
        if (Faults.AdminStopped || Faults.MmioUnresponsive || !Ready)
        {
            return;
        }

        _host.Schedule(_host.NowNs + Config.AdminLatencyNs, () =>
        {
            if (Faults.AdminStopped || !Ready)
            {
                return;
            }

            Execute(opcode, argument);
            AdminCompletionQueue.Enqueue(new AdminCompletion(commandId, 0));
            if (!AdminPolling)
            {
                SignalManagement();
            }
        });
    }

    private void Execute(AdminOpcode opcode, int argument)
    {
        switch (opcode)
        {
            case AdminOpcode.CreateCq:
            case AdminOpcode.CreateSq:
                if (argument >= 0 && argument < Queues.Length)
                {
                    Queues[argument].Created = true;
                }

                break;
            case AdminOpcode.DestroySq:
            case AdminOpcode.DestroyCq:
                if (argument >= 0 && argument < Queues.Length)
                {
                    Queues[argument].Created = false;
                }

                break;
        }
    }

    // ---- IO datapath ----

    /// <summary>
    /// True when this queue's device side would, within <paramref name="withinNs"/>, complete everything sent
    /// and deliver its interrupt with nothing unusual: running, no fault armed on the queue.
    /// </summary>
    public bool CompletesCleanly(IoQueuePair q, long withinNs)
    {
        int qid = q.Qid;
        return Running && q.Created && !Faults.TxWithheld[qid] && !Faults.QueueInterruptsLost[qid]
            && !Faults.CorruptTxReqId[qid] && !Faults.CorruptTxDescriptor[qid] && !Faults.CorruptRxReqId[qid]
            && !Faults.CorruptRxDescriptor[qid] && Config.TxCompletionLatencyNs + Faults.TxExtraLatencyNs[qid] <= withinNs;
    }

    /// <summary>
    /// Advances one queue pair's device side up to <paramref name="horizonNs"/>: completes transmitted packets,
    /// delivers <paramref name="rxArrivals"/> received packets into posted buffers, and fires the MSI-X when
    /// there is something to report and the vector is unmasked. Returns the Rx packets dropped for lack of buffers.
    /// </summary>
    public int Step(IoQueuePair q, long horizonNs, int rxArrivals)
    {
        if (!q.Created || !Running)
        {
            return rxArrivals;
        }

        int qid = q.Qid;
        if (!Faults.TxWithheld[qid])
        {
            long latency = Config.TxCompletionLatencyNs + Faults.TxExtraLatencyNs[qid];
            ulong head = q.TxSqHead;
            ulong tail = q.TxSqTail;
            ulong cqTail = q.TxCqTail;
            int mask = q.TxMask;
            ushort[] sq = q.TxSq;
            long[] submitted = q.TxSqSubmitNs;
            ushort[] cq = q.TxCq;
            long due = horizonNs - latency;
            while (head != tail)
            {
                int slot = (int)head & mask;
                if (submitted[slot] > due)
                {
                    break;
                }

                cq[(int)cqTail & mask] = sq[slot];
                head++;
                cqTail++;
            }

            if (cqTail != q.TxCqTail)
            {
                int last = (int)(cqTail - 1) & mask;
                if (Faults.CorruptTxReqId[qid])
                {
                    Faults.CorruptTxReqId[qid] = false;
                    cq[last] = (ushort)(q.TxSize + 7);
                }
                else if (Faults.CorruptTxDescriptor[qid])
                {
                    Faults.CorruptTxDescriptor[qid] = false;
                    q.TxCqFlags[last] = CompletionFlags.Malformed;
                }
            }

            q.TxSqHead = head;
            q.TxCqTail = cqTail;
        }

        int dropped = 0;
        if (rxArrivals > 0)
        {
            int posted = q.RxPosted;
            int take = Math.Min(posted, rxArrivals);
            dropped = rxArrivals - take;
            int mask = q.RxMask;
            ulong sqHead = q.RxSqHead;
            ulong cqTail = q.RxCqTail;
            ushort[] rxSq = q.RxSq;
            ushort[] rxCq = q.RxCq;
            for (int i = 0; i < take; i++)
            {
                rxCq[(int)cqTail & mask] = rxSq[(int)sqHead & mask];
                sqHead++;
                cqTail++;
            }

            q.RxSqHead = sqHead;
            q.RxCqTail = cqTail;
            if (take > 0)
            {
                int last = (int)(cqTail - 1) & mask;
                if (Faults.CorruptRxReqId[qid])
                {
                    Faults.CorruptRxReqId[qid] = false;
                    rxCq[last] = (ushort)(q.RxSize + 7);
                }
                else if (Faults.CorruptRxDescriptor[qid])
                {
                    Faults.CorruptRxDescriptor[qid] = false;
                    q.RxCqFlags[last] = CompletionFlags.Malformed;
                }
            }

            RxOverruns += (ulong)dropped;
        }

        if ((q.TxCqPending > 0 || q.RxCqPending > 0) && (q.InterruptUnmasked || q.LostInterruptKick))
        {
            q.InterruptUnmasked = false;
            q.LostInterruptKick = false;
            if (!Faults.QueueInterruptsLost[qid])
            {
                _host.RaiseQueueInterrupt(qid);
            }
        }

        return dropped;
    }
}

public enum AdminOpcode
{
    CreateSq = 1,
    DestroySq = 2,
    CreateCq = 3,
    DestroyCq = 4,
    GetFeature = 8,
    SetFeature = 9,
    GetStats = 11,
}

public readonly record struct AdminCompletion(int CommandId, int Status);

/// <summary>Device constants and latencies; defaults are what a Nitro ENA device looks like to the driver.</summary>
public sealed record DeviceConfig
{
    public int VersionMajor { get; init; } = 0;
    public int VersionMinor { get; init; } = 10;
    public int ControllerMajor { get; init; } = 0;
    public int ControllerMinor { get; init; } = 0;
    public int ControllerSubminor { get; init; } = 1;
    public int ImplementationId { get; init; } = 1;

    /// <summary>CAPS reset timeout, in 100 ms units.</summary>
    public int ResetTimeout100Ms { get; init; } = 10;

    /// <summary>CAPS admin timeout, in 100 ms units (0 = driver default 3 s).</summary>
    public int AdminTimeout100Ms { get; init; }

    public long KeepAliveIntervalNs { get; init; } = 1_000_000_000;
    public long AdminLatencyNs { get; init; } = 40_000;
    public long TxCompletionLatencyNs { get; init; } = 50_000;

    /// <summary>Time from the DEV_RESET write until DEV_STS shows RESET_IN_PROGRESS.</summary>
    public long ResetIndicationNs { get; init; } = 20_000;

    /// <summary>Device-internal reset time after DEV_CTL is cleared ("less than a millisecond").</summary>
    public long InternalResetNs { get; init; } = 400_000;

    public bool LargeLlq { get; init; } = true;
}
