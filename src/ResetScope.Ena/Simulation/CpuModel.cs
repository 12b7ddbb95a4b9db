namespace ResetScope.Ena.Simulation;

/// <summary>How a CPU is taken away from softirq work (scenario <c>cpu_events[].kind</c>).</summary>
public enum CpuHogKind
{
    /// <summary>Long kernel work with preemption or bottom halves off (e.g. a memcg walk): no softirqs, no timers, no other tasks.</summary>
    NonPreemptible,

    /// <summary>A SCHED_FIFO task: NAPI (deferred to ksoftirqd/threaded) runs only in the RT-throttling slack.</summary>
    RtTask,

    /// <summary>Plain contention: softirq work gets a share of the CPU's time.</summary>
    Contention,
}

/// <summary>An interval during which a CPU is not (fully) available.</summary>
public sealed record CpuHog(int Cpu, CpuHogKind Kind, long StartNs, long EndNs, double Share, string? Comm, int? Pid, bool RtThrottling);

/// <summary>
/// Which CPU may run what, when. NAPI polls and kernel timers run only where and when this model lets them:
/// that is how CPU starvation — the dominant real cause of ENA resets — enters the model.
/// </summary>
public sealed class CpuModel
{
    private const long RtPeriodNs = 1_000_000_000;
    private const long RtRuntimeNs = 950_000_000;

    private readonly List<CpuHog>[] _hogs;
    private readonly bool[] _softirqOk;
    private readonly int[] _affected;
    private readonly ulong _seed;

    public CpuModel(int cpus, IEnumerable<CpuHog> hogs, ulong seed)
    {
        Count = cpus;
        _seed = seed;
        _hogs = new List<CpuHog>[cpus];
        for (int i = 0; i < cpus; i++)
        {
            _hogs[i] = [];
        }

        foreach (CpuHog h in hogs)
        {
            _hogs[h.Cpu].Add(h);
        }

        _softirqOk = new bool[cpus];
        Array.Fill(_softirqOk, true);
        _affected = Enumerable.Range(0, cpus).Where(c => _hogs[c].Count > 0).ToArray();
    }

    public int Count { get; }

    public IReadOnlyList<CpuHog> HogsOn(int cpu) => _hogs[cpu];

    /// <summary>Evaluates softirq availability for the jiffy starting at <paramref name="nowNs"/> (once per tick).</summary>
    public void BeginTick(long nowNs, ulong jiffyIndex)
    {
        foreach (int cpu in _affected)
        {
            _softirqOk[cpu] = SoftirqAllowed(cpu, nowNs, jiffyIndex);
        }
    }

    /// <summary>NAPI may run on <paramref name="cpu"/> during the current tick.</summary>
    public bool SoftirqOk(int cpu) => _softirqOk[cpu];

    private bool SoftirqAllowed(int cpu, long now, ulong jiffy)
    {
        foreach (CpuHog h in _hogs[cpu])
        {
            if (now < h.StartNs || now >= h.EndNs)
            {
                continue;
            }

            switch (h.Kind)
            {
                case CpuHogKind.NonPreemptible:
                    return false;
                case CpuHogKind.RtTask:
                    if (!h.RtThrottling || (now - h.StartNs) % RtPeriodNs < RtRuntimeNs)
                    {
                        return false;
                    }

                    break;
                case CpuHogKind.Contention:
                    if (Unit(cpu, jiffy) >= h.Share)
                    {
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    /// <summary>Timers (timer softirq) may run on <paramref name="cpu"/> at <paramref name="now"/>.</summary>
    public bool TimersAllowed(int cpu, long now)
    {
        foreach (CpuHog h in _hogs[cpu])
        {
            if (h.Kind == CpuHogKind.NonPreemptible && now >= h.StartNs && now < h.EndNs)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>When a blocked timer CPU is next free.</summary>
    public long TimersFreeAt(int cpu, long now)
    {
        long t = now;
        foreach (CpuHog h in _hogs[cpu])
        {
            if (h.Kind == CpuHogKind.NonPreemptible && t >= h.StartNs && t < h.EndNs)
            {
                t = h.EndNs;
            }
        }

        return t;
    }

    /// <summary>A process-context work item (unbound) can run somewhere.</summary>
    public bool AnyProcessCpu(long now)
    {
        for (int cpu = 0; cpu < Count; cpu++)
        {
            if (TimersAllowed(cpu, now))
            {
                return true;
            }
        }

        return false;
    }

    // A stable per-(cpu, jiffy) draw in [0, 1): contention is reproducible from the seed alone.
    private double Unit(int cpu, ulong jiffy)
    {
        ulong x = _seed ^ ((ulong)cpu * 0x9E3779B97F4A7C15UL) ^ (jiffy * 0xBF58476D1CE4E5B9UL);
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return (x >> 11) * (1.0 / (1UL << 53));
    }
}
