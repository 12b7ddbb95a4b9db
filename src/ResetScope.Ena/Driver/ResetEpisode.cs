using ResetScope.Core;

namespace ResetScope.Ena.Driver;

/// <summary>
/// One reset as the model knows it: what requested it (with the fields the log lines carry), when each phase
/// happened, and how it ended. The simulator turns episodes into reset events and workload figures.
/// </summary>
public sealed class ResetEpisode
{
    public int Number { get; init; }

    public ResetReason Reason { get; set; }

    public ResetFamily Family { get; set; }

    public int? Queue { get; set; }

    public long? ThresholdUsec { get; set; }

    public long? SinceNapiUsec { get; set; }

    public bool? NapiScheduled { get; set; }

    public int? NapiCpu { get; set; }

    /// <summary>Every reason requested before the worker ran, in order (precedence differs by version).</summary>
    public List<ResetReason> Requests { get; } = [];

    public long DetectedNs { get; set; }

    public long? WorkStartedNs { get; set; }

    public long? CarrierOffNs { get; set; }

    public long? CarrierOnNs { get; set; }

    public long? CompletedNs { get; set; }

    /// <summary>Device-internal reset time of the recovery reset (DEV_RESET until the device is back).</summary>
    public long? DeviceInternalNs { get; set; }

    public int? Status { get; set; }

    public bool RestoreFailed { get; set; }

    /// <summary>Tx packets freed uncompleted by the reset (dropped).</summary>
    public long TxPacketsFreed { get; set; }

    /// <summary>Sequence numbers of the log records that belong to this reset (stats dump excluded).</summary>
    public List<long> Records { get; } = [];

    public ResetOutcome Outcome => CompletedNs is null ? ResetOutcome.Unknown : RestoreFailed || Status is not (null or 0) ? ResetOutcome.Failed : ResetOutcome.Completed;
}
