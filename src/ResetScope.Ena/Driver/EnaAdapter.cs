using ResetScope.Core;
using ResetScope.Ena.Device;
using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Driver;

/// <summary>Driver configuration: identity, queues, CPUs and the thresholds the device hints may change.</summary>
public sealed record AdapterConfig
{
    public required DriverVersion Version { get; init; }
    public string Pci { get; init; } = "0000:00:05.0";
    public string Interface { get; init; } = "eth0";
    public int Queues { get; init; } = 8;
    public int TxRingSize { get; init; } = 1024;
    public int RxRingSize { get; init; } = 1024;

    /// <summary>CPU of each queue's MSI-X (and so of its NAPI).</summary>
    public required int[] QueueCpus { get; init; }
    public int ManagementCpu { get; init; }
    public int TimerCpu { get; init; }

    public uint KeepAliveTimeoutMs { get; init; } = 6000;
    public uint MissingTxTimeoutMs { get; init; } = 5000;
    public int MissingTxThreshold { get; init; } = 128;
    public int MonitoredQueuesPerTick { get; init; } = 4;
    public int TxSglSize { get; init; } = 17;
    public int PacketBytes { get; init; } = 1500;
}

/// <summary>
/// The ENA Linux driver (struct ena_adapter and the code around it): NAPI poll and Tx/Rx cleanup, Tx flow
/// control, the management interrupt with admin completions and AENQ handlers, the ~1 s timer service with its
/// checks in the driver's order, ndo_tx_timeout, and the reset work (destroy + restore) — with the behaviour of
/// the generation <see cref="AdapterConfig.Version"/> selects. Runs against <see cref="IKernel"/> and
/// <see cref="IEnaDeviceBackend"/> only.
/// </summary>
public sealed partial class EnaAdapter
{
    private const int EmptyRxRefill = 2;
    private const int MaxNoInterruptIterations = 3;
    private const int MaxSkbFrags = 17;
    private const long MmioReadNs = 2_000;
    private const long MmioTimeoutNs = 200_000_000;
    private const long AdminPollDelayNs = 5_000_000;
    private const uint AdminTimeoutUs = 3_000_000;

    private readonly IKernel _k;
    private readonly IEnaDeviceBackend _dev;
    private readonly NetDevice _netdev;
    private readonly DriverVersion _v;
    private readonly EnaMessages _m;
    private readonly string _netPrefix;
    private readonly string _devPrefix;
    private readonly KernelTimer _timer;
    private readonly IoQueuePair[] _qp;
    private readonly TxRing[] _tx;
    private readonly RxRing[] _rx;
    private readonly Napi[] _napi;
    private readonly Dictionary<int, Completion> _adminWaiters = [];
    private readonly HashSet<int> _adminDone = [];

    private int _nextMonitoredQueue;
    private int _nextAdminCommand;
    private ushort _mmioSeq;
    private bool _devUpBeforeReset;
    private bool _inStatsDump;
    private bool _resetQueued;
    private bool _keepAliveDisabled;
    private bool _missingTxDisabled;

    public EnaAdapter(IKernel kernel, IEnaDeviceBackend device, NetDevice netdev, AdapterConfig config)
    {
        _k = kernel;
        _dev = device;
        _netdev = netdev;
        Config = config;
        _v = config.Version;
        _m = new EnaMessages(_v);
        _netPrefix = $"ena {config.Pci} {config.Interface}: ";
        _devPrefix = $"ena {config.Pci}: ";
        _qp = device.Queues;
        int n = config.Queues;
        _tx = new TxRing[n];
        _rx = new RxRing[n];
        _napi = new Napi[n];
        TxStats = new TxQueueStats[n];
        RxStats = new RxQueueStats[n];
        for (int q = 0; q < n; q++)
        {
            _tx[q] = new TxRing(q, config.TxRingSize);
            _rx[q] = new RxRing(q, config.RxRingSize);
            int qid = q;
            _napi[q] = new Napi($"{config.Interface}-Tx-Rx-{q}", config.QueueCpus[q], (napi, budget) => Poll(qid, budget));
        }

        KeepAliveTimeout = _k.Clock.FromMsecs(config.KeepAliveTimeoutMs);
        MissingTxTimeout = _k.Clock.FromMsecs(config.MissingTxTimeoutMs);
        MissingTxTimeoutMs = config.MissingTxTimeoutMs;
        MissingTxThreshold = config.MissingTxThreshold;
        _keepAliveDisabled = config.KeepAliveTimeoutMs == 0xFFFF;
        _missingTxDisabled = config.MissingTxTimeoutMs == 0xFFFF;
        _timer = _k.CreateTimer("ena_timer_service", config.TimerCpu, TimerService);
        _netdev.TxTimeout = TxTimeout;
    }

    public AdapterConfig Config { get; }

    public DriverVersion Version => _v;

    public GlobalStats Stats { get; } = new();

    public TxQueueStats[] TxStats { get; }

    public RxQueueStats[] RxStats { get; }

    public IReadOnlyList<TxRing> TxRings => _tx;

    public IReadOnlyList<RxRing> RxRings => _rx;

    public IReadOnlyList<Napi> Napis => _napi;

    public NetDevice NetDevice => _netdev;

    // adapter flags (enum ena_flags_t)
    public bool DeviceRunning { get; private set; }
    public bool DevUp { get; private set; }
    public bool LinkUp { get; private set; } = true;
    public bool TriggerReset { get; private set; }
    public bool OngoingReset { get; private set; }

    /// <summary>The device is gone for good: a restore failed and nothing retries it.</summary>
    public bool Dead { get; private set; }

    public ResetReason PendingReason { get; private set; }

    public ulong KeepAliveTimeout { get; set; }
    public ulong MissingTxTimeout { get; set; }

    /// <summary>The missing-Tx timeout as the driver prints it (ms) and the per-queue threshold (hints change both).</summary>
    public uint MissingTxTimeoutMs { get; private set; }
    public int MissingTxThreshold { get; private set; }
    public ulong LastKeepAliveJiffies { get; private set; }

    /// <summary>ena_com admin queue running_state.</summary>
    public bool AdminRunning { get; private set; }
    public bool AdminPolling { get; private set; } = true;
    public bool MissingAdminInterrupt { get; private set; }

    public List<ResetEpisode> Episodes { get; } = [];

    public ResetEpisode? CurrentEpisode { get; private set; }

    /// <summary>Tx packets freed uncompleted by resets, all queues.</summary>
    public long TxPacketsDroppedByResets { get; private set; }

    // ---------------------------------------------------------------------------------------------
    // logging

    private long NetErr(string text) => Log(KernelLevel.Error, _netPrefix + text);

    private long NetLog(KernelLevel level, string text) => Log(level, _netPrefix + text);

    private long DevErr(string text) => Log(KernelLevel.Error, _devPrefix + text);

    private long DevLog(KernelLevel level, string text) => Log(level, _devPrefix + text);

    private long Log(KernelLevel level, string text)
    {
        long seq = _k.Printk(level, text);
        if (!_inStatsDump)
        {
            CurrentEpisode?.Records.Add(seq);
        }

        return seq;
    }

    // ---------------------------------------------------------------------------------------------
    // probe: bring the device up as ena_probe + ena_open would

    /// <summary>ena_probe() and ena_open(): device init, MSI-X, IO queues, NAPI, carrier, timer.</summary>
    public async Task ProbeAsync()
    {
        int rc = await DeviceInitAsync(logVersion: true).ConfigureAwait(false);
        if (rc != 0)
        {
            throw new InvalidOperationException("the modelled device failed to initialise at probe");
        }

        EnableManagementInterrupt();
        rc = await UpAsync().ConfigureAwait(false);
        if (rc != 0)
        {
            throw new InvalidOperationException("the modelled device failed to create IO queues at probe");
        }

        DeviceRunning = true;
        _netdev.CarrierOn();
        LastKeepAliveJiffies = _k.Jiffies;
        _k.ModTimer(_timer, _k.Clock.Round(_k.Jiffies + (ulong)_k.Clock.Hz, Config.TimerCpu, _k.Jiffies));
    }

    private void EnableManagementInterrupt()
    {
        AdminPolling = false;
        _dev.AdminPolling = false;
        _dev.ManagementVectorEnabled = true;
        _dev.Start();
    }
}
