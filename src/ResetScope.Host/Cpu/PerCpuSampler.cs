namespace ResetScope.Host.Cpu;

/// <summary>
/// One per-CPU sample. Allocated once (by <see cref="PerCpuSampler.CreateSample"/>) and refilled in place; all arrays
/// are indexed by CPU number and sized to <see cref="CpuSlots"/>.
/// </summary>
public sealed class PerCpuSample
{
    internal PerCpuSample(int cpuSlots, int napiThreads)
    {
        CpuSlots = cpuSlots;
        Cpu = new CpuTimes[cpuSlots];
        Online = new bool[cpuSlots];
        Softirqs = new ulong[SoftirqsProbe.KindCount * cpuSlots];
        Softnet = new SoftnetStat[cpuSlots];
        SoftnetPresent = new bool[cpuSlots];
        Ksoftirqd = new SchedStat[cpuSlots];
        NapiThreads = new SchedStat[napiThreads];
    }

    /// <summary>From the sampler's <see cref="TimeProvider.GetTimestamp"/>.</summary>
    public long Timestamp { get; internal set; }

    /// <summary>Increments on every fill.</summary>
    public long Sequence { get; internal set; }

    public int CpuSlots { get; }

    public CpuTimes Total { get; internal set; }

    public CpuTimes[] Cpu { get; }

    public bool[] Online { get; }

    /// <summary>Softirq counts, row-major by <see cref="SoftirqKind"/>: index <c>kind * CpuSlots + cpu</c>.</summary>
    public ulong[] Softirqs { get; }

    public SoftnetStat[] Softnet { get; }

    public bool[] SoftnetPresent { get; }

    public bool PsiAvailable { get; internal set; }

    public PsiLine PsiSome { get; internal set; }

    public PsiLine PsiFull { get; internal set; }

    /// <summary>ksoftirqd/N schedstat by CPU N (invalid when there is no such thread).</summary>
    public SchedStat[] Ksoftirqd { get; }

    /// <summary>NAPI thread schedstat in the order of <see cref="PerCpuSampler.NapiThreads"/>.</summary>
    public SchedStat[] NapiThreads { get; }

    public ulong Softirq(SoftirqKind kind, int cpu) => (uint)cpu < (uint)CpuSlots ? Softirqs[((int)kind * CpuSlots) + cpu] : 0;
}

/// <summary>
/// Owns the per-CPU probes and fills one preallocated <see cref="PerCpuSample"/> per cycle without allocating.
/// /proc/interrupts is slow-cadence: it is owned here but read only by <see cref="SampleInterrupts"/>.
/// PSI is optional (absent → <see cref="PerCpuSample.PsiAvailable"/> false); /proc/stat, softirqs and softnet_stat are required.
/// </summary>
public sealed class PerCpuSampler : IDisposable
{
    private readonly TimeProvider _time;
    private int[] _napiIndex;
    private int _threadGeneration;
    private long _sequence;

    public PerCpuSampler(string procRoot = "/proc", TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        Stat = new ProcStatProbe(procRoot);
        Softirqs = new SoftirqsProbe(procRoot, Stat.CpuSlots);
        Softnet = new SoftnetStatProbe(procRoot, Math.Max(Stat.CpuSlots, Softirqs.CpuSlots));
        Psi = new PsiProbe(procRoot);
        Threads = new SoftirqThreadProbe(procRoot);
        Interrupts = new InterruptsProbe(procRoot);
        CpuSlots = Math.Max(Math.Max(Stat.CpuSlots, Softirqs.CpuSlots), Math.Max(Softnet.CpuSlots, Threads.CpuSlots));
        NapiThreads = [.. Threads.Threads.Where(t => t.Kind == SoftirqThreadKind.Napi)];
        _napiIndex = [];
        MapNapiThreads();
        Current = CreateSample();
    }

    public ProcStatProbe Stat { get; }

    public SoftirqsProbe Softirqs { get; }

    public SoftnetStatProbe Softnet { get; }

    public PsiProbe Psi { get; }

    public SoftirqThreadProbe Threads { get; }

    public InterruptsProbe Interrupts { get; }

    public int CpuSlots { get; }

    /// <summary>
    /// NAPI threads known at construction, in the order of <see cref="PerCpuSample.NapiThreads"/>. After
    /// <see cref="SoftirqThreadProbe.Refresh"/> they are matched again by pid (allocates once); one that is gone reads
    /// invalid, and NAPI threads that appeared later are in <see cref="Threads"/> but not in the sample.
    /// </summary>
    public IReadOnlyList<SoftirqThread> NapiThreads { get; }

    /// <summary>The sampler's own sample, filled by <see cref="Sample()"/>.</summary>
    public PerCpuSample Current { get; }

    /// <summary>A new sample shaped for this sampler (for ring buffers); allocate these up front.</summary>
    public PerCpuSample CreateSample() => new(CpuSlots, NapiThreads.Count);

    /// <summary>Samples into <see cref="Current"/>.</summary>
    public PerCpuSample Sample()
    {
        Sample(Current);
        return Current;
    }

    /// <summary>Samples every fast-cadence probe into <paramref name="destination"/>.</summary>
    public void Sample(PerCpuSample destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Timestamp = _time.GetTimestamp();
        destination.Sequence = ++_sequence;

        Stat.Sample();
        Softirqs.Sample();
        Softnet.Sample();
        Psi.Sample();
        Threads.Sample();
        if (Threads.Generation != _threadGeneration)
        {
            MapNapiThreads();
        }

        destination.Total = Stat.Total;
        CopyInto(Stat.Cpus, destination.Cpu);
        CopyInto(Stat.Online, destination.Online);
        int slots = destination.CpuSlots;
        int probeSlots = Softirqs.CpuSlots;
        int n = Math.Min(slots, probeSlots);
        for (int k = 0; k < SoftirqsProbe.KindCount; k++)
        {
            Span<ulong> dst = destination.Softirqs.AsSpan(k * slots, slots);
            Softirqs.Row((SoftirqKind)k)[..n].CopyTo(dst);
            dst[n..].Clear();
        }

        CopyInto(Softnet.Cpus, destination.Softnet);
        CopyInto(Softnet.Present, destination.SoftnetPresent);

        destination.PsiAvailable = Psi.Available;
        destination.PsiSome = Psi.Available ? Psi.Some : default;
        destination.PsiFull = Psi.Available && Psi.HasFull ? Psi.Full : default;

        for (int cpu = 0; cpu < slots; cpu++)
        {
            destination.Ksoftirqd[cpu] = Threads.Ksoftirqd(cpu);
        }

        ReadOnlySpan<SchedStat> stats = Threads.Stats;
        for (int i = 0; i < destination.NapiThreads.Length; i++)
        {
            int j = i < _napiIndex.Length ? _napiIndex[i] : -1;
            destination.NapiThreads[i] = (uint)j < (uint)stats.Length ? stats[j] : default;
        }
    }

    /// <summary>Slow cadence: re-reads /proc/interrupts counts (see <see cref="InterruptsProbe.Sample"/>).</summary>
    public bool SampleInterrupts() => Interrupts.Sample();

    public void Dispose()
    {
        Stat.Dispose();
        Softirqs.Dispose();
        Softnet.Dispose();
        Psi.Dispose();
        Threads.Dispose();
        Interrupts.Dispose();
    }

    private void MapNapiThreads()
    {
        _threadGeneration = Threads.Generation;
        IReadOnlyList<SoftirqThread> now = Threads.Threads;
        int[] map = new int[NapiThreads.Count];
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = -1;
            for (int j = 0; j < now.Count; j++)
            {
                if (now[j].Kind == SoftirqThreadKind.Napi && now[j].Pid == NapiThreads[i].Pid)
                {
                    map[i] = j;
                    break;
                }
            }
        }

        _napiIndex = map;
    }

    private static void CopyInto<T>(ReadOnlySpan<T> source, Span<T> destination)
    {
        int n = Math.Min(source.Length, destination.Length);
        source[..n].CopyTo(destination);
        destination[n..].Clear();
    }
}
