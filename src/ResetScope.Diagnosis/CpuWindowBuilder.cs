namespace ResetScope.Diagnosis;

/// <summary>Cumulative per-CPU counters at one sample: /proc/stat ticks and the softirq thread's run-queue wait.</summary>
public record struct CpuCounters(ulong User, ulong Nice, ulong System, ulong Idle, ulong Iowait, ulong Irq, ulong Softirq, ulong Steal, ulong SoftirqThreadWaitNs)
{
    public readonly ulong Total => User + Nice + System + Idle + Iowait + Irq + Softirq + Steal;

    public readonly ulong Busy => System + Irq + Softirq + Steal;
}

/// <summary>
/// Turns one CPU's series of cumulative samples into the window the diagnosis reads: percentages over the whole
/// window, the longest run of consecutive intervals at ≥ 90 % sys+irq+soft+steal, and the softirq thread's wait
/// (total, and the longest it kept waiting: consecutive intervals it spent waiting add up).
/// </summary>
public static class CpuWindowBuilder
{
    public static CpuWindow Build(int cpu, ReadOnlySpan<long> timestampsNs, ReadOnlySpan<CpuCounters> series, IReadOnlyList<ThreadActivity> threads, string source)
    {
        if (series.Length != timestampsNs.Length)
        {
            throw new ArgumentException("one timestamp per sample");
        }

        if (series.Length < 2)
        {
            return new CpuWindow(cpu, 0) { Source = source, Threads = threads };
        }

        CpuCounters first = series[0];
        CpuCounters last = series[^1];
        double total = Math.Max(1, last.Total - first.Total);
        double Pct(ulong a, ulong b) => 100.0 * (a - b) / total;

        double longestBusy = 0;
        double run = 0;
        double longestWaitMs = 0;
        double waitRunMs = 0;
        for (int i = 1; i < series.Length; i++)
        {
            CpuCounters a = series[i - 1];
            CpuCounters b = series[i];
            double seconds = (timestampsNs[i] - timestampsNs[i - 1]) / 1e9;
            ulong ticks = b.Total - a.Total;
            bool busy = ticks > 0 && (b.Busy - a.Busy) * 10 >= ticks * 9;
            run = busy ? run + seconds : 0;
            longestBusy = Math.Max(longestBusy, run);
            // A thread that waited (almost) the whole interval was still waiting: runs of those add up.
            double waitedMs = (b.SoftirqThreadWaitNs - a.SoftirqThreadWaitNs) / 1e6;
            waitRunMs = waitedMs >= 0.9 * seconds * 1000 ? waitRunMs + waitedMs : waitedMs;
            longestWaitMs = Math.Max(longestWaitMs, waitRunMs);
        }

        return new CpuWindow(cpu, (timestampsNs[^1] - timestampsNs[0]) / 1e9)
        {
            UserPct = Pct(last.User + last.Nice, first.User + first.Nice),
            SysPct = Pct(last.System, first.System),
            IrqPct = Pct(last.Irq, first.Irq),
            SoftPct = Pct(last.Softirq, first.Softirq),
            StealPct = Pct(last.Steal, first.Steal),
            IdlePct = Pct(last.Idle + last.Iowait, first.Idle + first.Iowait),
            LongestBusyS = longestBusy,
            SoftirqThreadWaitMs = (last.SoftirqThreadWaitNs - first.SoftirqThreadWaitNs) / 1e6,
            LongestSoftirqWaitMs = longestWaitMs,
            Source = source,
            Threads = threads,
        };
    }
}
