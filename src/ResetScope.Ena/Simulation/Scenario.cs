using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Simulation;

/// <summary>A simulation scenario: the host, the ENA device and driver, the traffic, and what goes wrong when.</summary>
public sealed record Scenario
{
    public string Name { get; init; } = "scenario";
    public string Description { get; init; } = "";
    public ulong Seed { get; init; } = 1;
    public long DurationNs { get; init; } = 60_000_000_000;
    public int Hz { get; init; } = 250;
    public string DriverVersion { get; init; } = "2.17.0g";
    public string Kernel { get; init; } = "6.1.0-aws";
    public WatchdogFormat? WatchdogFormat { get; init; }

    // host
    public int Cpus { get; init; } = 8;
    public long UptimeNs { get; init; } = 3_600_000_000_000;
    public int SerialConsoleBaud { get; init; }

    // device
    public string Pci { get; init; } = "0000:00:05.0";
    public string Interface { get; init; } = "eth0";
    public int Queues { get; init; } = 8;
    public int RingSize { get; init; } = 1024;
    public int[]? QueueCpus { get; init; }
    public int ManagementCpu { get; init; }
    public int TimerCpu { get; init; }
    public int WatchdogCpu { get; init; }
    public long TxCompletionLatencyNs { get; init; } = 50_000;
    public uint? HintKeepAliveTimeoutMs { get; init; }
    public uint? HintMissingTxTimeoutMs { get; init; }
    public int? HintMissingTxThreshold { get; init; }

    // traffic
    public double TxPps { get; init; } = 10_000;
    public double RxPps { get; init; } = 10_000;
    public int PacketBytes { get; init; } = 1500;
    public int? FlowQueue { get; init; }
    public long FlowRttNs { get; init; } = 1_000_000;
    public int? ProbeQueue { get; init; }
    public long ProbePeriodNs { get; init; } = 1_000_000_000;
    public long ProbeWindowNs { get; init; } = 5_000_000_000;

    public IReadOnlyList<CpuEventSpec> CpuEvents { get; init; } = [];
    public IReadOnlyList<FaultSpec> Faults { get; init; } = [];
    public IReadOnlyList<AdminCommandSpec> AdminCommands { get; init; } = [];

    /// <summary>Queue → CPU of its MSI-X: given, or queue i on CPU i mod cpus.</summary>
    public int[] ResolveQueueCpus()
    {
        if (QueueCpus is { } given)
        {
            return given;
        }

        var cpus = new int[Queues];
        for (int q = 0; q < Queues; q++)
        {
            cpus[q] = q % Cpus;
        }

        return cpus;
    }
}

/// <summary>A CPU made unavailable to softirq work for an interval (times relative to the simulation start).</summary>
public sealed record CpuEventSpec(int Cpu, CpuHogKind Kind, long StartNs, long DurationNs, double Share = 0, string? Comm = null, int? Pid = null, bool RtThrottling = true);

public enum FaultKind
{
    StopKeepAlive,
    LoseManagementInterrupt,
    StopAdminCompletions,
    UnresponsiveMmio,
    WithholdTxCompletions,
    DelayTxCompletions,
    LoseQueueInterrupts,
    CorruptTxReqId,
    CorruptRxReqId,
    CorruptTxDescriptor,
    CorruptRxDescriptor,
    RequestReset,
    RefreshCapabilities,
    FailRestore,
    UpdateHints,
}

/// <summary>A device fault from <see cref="StartNs"/> for <see cref="DurationNs"/> (null = to the end); one-shot kinds fire at the start.</summary>
public sealed record FaultSpec(FaultKind Kind, long StartNs, long? DurationNs, int Queue = 0, long DelayNs = 0)
{
    /// <summary>For <see cref="FaultKind.UpdateHints"/>: keep-alive, missing-Tx timeout (ms), threshold, netdev watchdog (ms); 0 keeps.</summary>
    public (ushort KeepAliveMs, ushort MissingTxMs, ushort Threshold, ushort NetdevWdMs) Hints { get; init; }
}

/// <summary>User-space admin traffic (e.g. <c>ethtool -S</c> reading ENI stats), once or periodically.</summary>
public sealed record AdminCommandSpec(long StartNs, long? EveryNs);

/// <summary>Names as they appear in scenario files.</summary>
public static class ScenarioNames
{
    public static readonly IReadOnlyDictionary<string, FaultKind> Faults = new Dictionary<string, FaultKind>
    {
        ["stop-keepalive"] = FaultKind.StopKeepAlive,
        ["lose-mgmt-interrupt"] = FaultKind.LoseManagementInterrupt,
        ["stop-admin-completions"] = FaultKind.StopAdminCompletions,
        ["unresponsive-mmio"] = FaultKind.UnresponsiveMmio,
        ["withhold-tx-completions"] = FaultKind.WithholdTxCompletions,
        ["delay-tx-completions"] = FaultKind.DelayTxCompletions,
        ["lose-queue-interrupts"] = FaultKind.LoseQueueInterrupts,
        ["corrupt-tx-req-id"] = FaultKind.CorruptTxReqId,
        ["corrupt-rx-req-id"] = FaultKind.CorruptRxReqId,
        ["corrupt-tx-descriptor"] = FaultKind.CorruptTxDescriptor,
        ["corrupt-rx-descriptor"] = FaultKind.CorruptRxDescriptor,
        ["request-reset"] = FaultKind.RequestReset,
        ["refresh-capabilities"] = FaultKind.RefreshCapabilities,
        ["fail-restore"] = FaultKind.FailRestore,
        ["update-hints"] = FaultKind.UpdateHints,
    };

    public static readonly IReadOnlyDictionary<string, CpuHogKind> CpuKinds = new Dictionary<string, CpuHogKind>
    {
        ["nonpreemptible"] = CpuHogKind.NonPreemptible,
        ["rt-task"] = CpuHogKind.RtTask,
        ["contention"] = CpuHogKind.Contention,
    };

    public static readonly IReadOnlyDictionary<string, WatchdogFormat> WatchdogFormats = new Dictionary<string, WatchdogFormat>
    {
        ["warn-once"] = Kernel.WatchdogFormat.WarnOnce,
        ["warn-once-msecs"] = Kernel.WatchdogFormat.WarnOnceMsecs,
        ["crit"] = Kernel.WatchdogFormat.Crit,
    };
}
