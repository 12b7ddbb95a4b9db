using ResetScope.Core;
using ResetScope.Host.Nic;

namespace ResetScope.Diagnosis;

/// <summary>What one thread did on a CPU during a window (from /proc/&lt;pid&gt;/task/&lt;tid&gt;/stat deltas and stack samples).</summary>
public sealed record ThreadActivity(int Pid, int Tid, string Comm, string? Unit, double UserMs, double SysMs)
{
    /// <summary>
    /// How much this thread is to blame for the CPU's softirq waits: by default its CPU time; a sampler that knows
    /// when the waits happened weights each interval's use by the wait in it.
    /// </summary>
    public double? Blame { get; init; }

    /// <summary>Hottest kernel functions from stack samples, most frequent first.</summary>
    public IReadOnlyList<(string Function, int Samples)> KernelFunctions { get; init; } = [];
}

/// <summary>One CPU over the window before a reset (or the sampling window), in percent of that CPU.</summary>
public sealed record CpuWindow(int Cpu, double Seconds)
{
    public double UserPct { get; init; }
    public double SysPct { get; init; }
    public double IrqPct { get; init; }
    public double SoftPct { get; init; }
    public double StealPct { get; init; }
    public double IdlePct { get; init; }

    /// <summary>Longest continuous stretch the CPU spent in sys+irq+soft+steal ≥ 90 %, in seconds.</summary>
    public double LongestBusyS { get; init; }

    /// <summary>Run-queue wait of ksoftirqd/N or a threaded-NAPI kthread on this CPU during the window, ms.</summary>
    public double SoftirqThreadWaitMs { get; init; }

    /// <summary>Longest single wait of that thread (from consecutive samples), ms.</summary>
    public double LongestSoftirqWaitMs { get; init; }

    public long TimeSqueezeDelta { get; init; }

    /// <summary>Where the window's numbers come from (file and sample range), for evidence.</summary>
    public string Source { get; init; } = "flight recorder";

    public IReadOnlyList<ThreadActivity> Threads { get; init; } = [];

    public double NotIdlePct => SysPct + IrqPct + SoftPct + StealPct + UserPct;
}

/// <summary>Zombie (dying) memory cgroups: kernel count vs live, growth, who leaked them.</summary>
public sealed record ZombieMemcgs(long KernelCount, long Live, long GrowthPerHour, string Hierarchy)
{
    public long Zombies => Math.Max(0, KernelCount - Live);

    /// <summary>Subtrees (v2) or parents with creation churn (v1), most dying first.</summary>
    public IReadOnlyList<(string Where, long Dying)> Attribution { get; init; } = [];
}

/// <summary>A unit that keeps restarting.</summary>
public sealed record CrashLoop(string Unit, long RestartCounter, double RestartsPerHour, string Evidence)
{
    /// <summary>Where the restart lines were read (the journal, a syslog file).</summary>
    public string Source { get; init; } = "journal";
}

/// <summary>
/// The NIC's own counters (ENA <c>ethtool -S</c>, ena-driver.md §4) as the diagnosis uses them: counted since the
/// driver loaded, or the change over a window. <see cref="Source"/> says which, for evidence
/// ("ethtool -S eth0", "ethtool -S eth0, change over 10 s").
/// </summary>
public sealed record DeviceCounters(string Source)
{
    public string? Interface { get; init; }

    /// <summary>The device's PCI address (sysfs), for the remedies that name it.</summary>
    public string? Pci { get; init; }

    /// <summary>Resets requested with a non-NORMAL reason (2.10.0+).</summary>
    public ulong? TotalResets { get; init; }

    /// <summary>Resets whose restore failed (2.8.0+); the driver never retries one.</summary>
    public ulong? ResetFail { get; init; }

    /// <summary>The per-reason counters the driver prints: the reason as the event's <c>ena_reason</c>, the counter's name, its value.</summary>
    public IReadOnlyList<(string EnaReason, string Counter, ulong Value)> ResetsByReason { get; init; } = [];

    /// <summary>Tx packets found without a completion (<c>queue_N_tx_missed_tx</c>), by queue.</summary>
    public IReadOnlyDictionary<int, ulong> MissedTxByQueue { get; init; } = new Dictionary<int, ulong>();

    /// <summary>The ENI <c>*_allowance_exceeded</c> counters by name, in printed order.</summary>
    public IReadOnlyList<(string Counter, ulong Value)> AllowanceExceeded { get; init; } = [];

    /// <summary>The figures the diagnosis uses from a decoded snapshot (or a delta's <see cref="EnaCountersDelta.Increase"/>).</summary>
    public static DeviceCounters From(EnaCounters counters, string source, string? iface = null, string? pci = null) => new(source)
    {
        Interface = iface,
        Pci = pci,
        TotalResets = counters.TotalResets,
        ResetFail = counters.ResetFail,
        ResetsByReason = counters.ResetsByReason.Select(r => (r.Counter.EnaReason, r.Counter.Name, r.Value)).ToList(),
        MissedTxByQueue = counters.Queues.Where(q => q.MissedTx is not null).ToDictionary(q => q.Queue, q => q.MissedTx!.Value),
        AllowanceExceeded = counters.Allowances?.Exceeded().ToList() ?? [],
    };
}

/// <summary>Everything the diagnosis joins for one reset (or for a host with no reset).</summary>
public sealed record DiagnosisInput
{
    public ResetEvent? Reset { get; init; }

    /// <summary>The reset's own record, for evidence ("kern.log:1042").</summary>
    public string? ResetSource { get; init; }

    /// <summary>Queue → CPU its MSI-X (and NAPI) is bound to, from /proc/interrupts and effective affinity.</summary>
    public IReadOnlyDictionary<int, int> QueueCpus { get; init; } = new Dictionary<int, int>();

    public IReadOnlyDictionary<int, CpuWindow> CpuWindows { get; init; } = new Dictionary<int, CpuWindow>();

    public ZombieMemcgs? Zombies { get; init; }

    public IReadOnlyList<CrashLoop> CrashLoops { get; init; } = [];

    public string? KernelRelease { get; init; }

    /// <summary>The reset interface's own counters, when they could be read.</summary>
    public DeviceCounters? DeviceCounters { get; init; }

    /// <summary>Findings that need root to be made, for the "what could not be checked" note.</summary>
    public bool Privileged { get; init; } = true;
}
