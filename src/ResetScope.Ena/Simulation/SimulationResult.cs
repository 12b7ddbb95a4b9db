using ResetScope.Core;
using ResetScope.Ena.Driver;

namespace ResetScope.Ena.Simulation;

/// <summary>Everything a run produced: the kernel log, the resets, the counters and the workload impact.</summary>
public sealed record SimulationResult
{
    public required Scenario Scenario { get; init; }
    public required DriverVersion Version { get; init; }
    public long StartNs { get; init; }
    public long EndNs { get; init; }
    public required IReadOnlyList<KernelRecord> Records { get; init; }
    public required IReadOnlyList<ResetEpisode> Episodes { get; init; }
    public required IReadOnlyList<(string Name, ulong Value)> Counters { get; init; }
    public required long[] TxTimeoutPerQueue { get; init; }
    public long CarrierChanges { get; init; }
    public long TxOffered { get; init; }
    public long TxDropped { get; init; }
    public long RxOffered { get; init; }
    public long RxDropped { get; init; }
    public bool DeviceDead { get; init; }
    public FlowImpact? Flow { get; init; }
    public ProbeImpact? Probe { get; init; }

    /// <summary>The resets as events in the ARCHITECTURE.md vocabulary; <c>lines</c> are 1-based lines of the log output.</summary>
    public IEnumerable<ResetEvent> ResetEvents()
    {
        var lineOf = new Dictionary<long, int>();
        for (int i = 0; i < Records.Count; i++)
        {
            lineOf[Records[i].Sequence] = i + 1;
        }

        foreach (ResetEpisode e in Episodes)
        {
            if (e.Reason == ResetReason.Normal && e.Requests.All(r => r == ResetReason.Normal))
            {
                continue; // refresh-capabilities: a reset the driver does not count
            }

            int[] lines = e.Records.Where(lineOf.ContainsKey).Select(s => lineOf[s]).ToArray();

            // Like scan: `line` is the line that closes the event and `ts` is its timestamp as dmesg writes it.
            KernelRecord? last = lines.Length > 0 ? Records[lines[^1] - 1] : null;
            yield return new ResetEvent
            {
                File = $"simulate:{Scenario.Name}",
                Line = lines.Length > 0 ? lines[^1] : null,
                Ts = last is { } r ? $"{r.TimestampUs / 1_000_000}.{r.TimestampUs % 1_000_000:D6}" : null,
                Driver = "ena",
                Pci = Scenario.Pci,
                Dev = Scenario.Interface,
                Queue = e.Queue,
                Reason = e.Family,
                EnaReason = e.Reason.ToName(),
                ThresholdUsec = e.ThresholdUsec,
                SinceNapiUsec = e.SinceNapiUsec,
                NapiScheduled = e.NapiScheduled,
                NapiCpu = e.NapiCpu,
                Outcome = e.Outcome,
                DriverVersion = e.CompletedNs is not null && Version.AtLeast(2, 0, 2) ? Version.ToString() : null,
                Lines = lines,
            };
        }
    }
}
