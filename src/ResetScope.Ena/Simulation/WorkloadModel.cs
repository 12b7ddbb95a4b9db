namespace ResetScope.Ena.Simulation;

/// <summary>What a TCP-like flow on the affected queue went through.</summary>
public sealed record FlowImpact(int Queue, int Stalls, long LongestStallNs, int Retransmissions, long WorstRecoveryLagNs, bool ConnectionLost);

/// <summary>What an actor heartbeat with a deadline (Ray-style liveness window) went through.</summary>
public sealed record ProbeImpact(int Queue, long PeriodNs, long WindowNs, long LongestGapNs, bool Failed, long? FailedAtNs);

/// <summary>
/// Application-level consequences of the queue's outages: a TCP flow (RTO ≥ 200 ms, exponential backoff, 15
/// retries) and a heartbeat over it that fails when no beat arrives within its window.
/// </summary>
public static class WorkloadModel
{
    private const long RtoMinNs = 200_000_000;
    private const long RtoMaxNs = 120_000_000_000;
    private const int Retries2 = 15;

    public static FlowImpact Tcp(OutageTracker path, long rttNs)
    {
        int retransmits = 0;
        long longest = 0;
        long worstLag = 0;
        bool lost = false;
        foreach ((long a, long b) in path.Outages)
        {
            (long recovered, int n, bool dead) = Recover(a, b, rttNs);
            retransmits += n;
            lost |= dead;
            longest = Math.Max(longest, (dead ? b : recovered) - a);
            if (!dead && b != long.MaxValue)
            {
                worstLag = Math.Max(worstLag, recovered - b);
            }
        }

        return new FlowImpact(path.Queue, path.Outages.Count, longest, retransmits, worstLag, lost);
    }

    /// <summary>The retransmission that first lands after the path is back: a + rto, + 2·rto, + 4·rto, …</summary>
    private static (long Recovered, int Retransmits, bool Dead) Recover(long a, long b, long rttNs)
    {
        long rto = Math.Max(RtoMinNs, RtoMinNs + rttNs);
        long t = a;
        for (int n = 1; n <= Retries2; n++)
        {
            t += rto;
            if (t >= b)
            {
                return (t + rttNs, n, false);
            }

            rto = Math.Min(rto * 2, RtoMaxNs);
        }

        return (long.MaxValue, Retries2, true);
    }

    public static ProbeImpact Liveness(OutageTracker path, long rttNs, long periodNs, long windowNs)
    {
        long longestGap = 0;
        long? failedAt = null;
        foreach ((long a, long b) in path.Outages)
        {
            (long recovered, _, bool dead) = Recover(a, b, rttNs);

            // The last beat that got through went out at the last period boundary before the outage.
            long lastBeat = a - (a % periodNs);
            long gap = (dead ? long.MaxValue : recovered) - lastBeat;
            longestGap = Math.Max(longestGap, gap == long.MaxValue ? long.MaxValue : gap);
            if (gap > windowNs && failedAt is null)
            {
                failedAt = lastBeat + windowNs;
            }
        }

        return new ProbeImpact(path.Queue, periodNs, windowNs, longestGap, failedAt is not null, failedAt);
    }
}
