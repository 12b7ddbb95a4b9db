using System.Globalization;
using ResetScope.Host.Cpu;
using ResetScope.Host.Recorder;
using ResetScope.Host.Threads;

namespace ResetScope.Diagnosis.Recording;

/// <summary>How the recorder samples and how much it keeps.</summary>
public sealed record CpuRecorderOptions
{
    /// <summary>How far back the 1 s samples reach (the ring also holds <see cref="FastBursts"/> 100 ms bursts).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromMinutes(15);

    public TimeSpan Normal { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Fast { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the fast cadence lasts after a trigger.</summary>
    public TimeSpan FastFor { get; init; } = TimeSpan.FromSeconds(30);

    public int FastBursts { get; init; } = 4;

    /// <summary>Who-ran-where sweeps of every thread: costlier than a sample, so at most this often.</summary>
    public TimeSpan ThreadSweep { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Thread sweeps while sampling fast after a trigger.</summary>
    public TimeSpan ThreadSweepFast { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>/proc/interrupts (the queue → CPU map) is re-read this often.</summary>
    public TimeSpan InterruptsEvery { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A softirq thread that waited this long within one interval makes the recorder sample fast.</summary>
    public TimeSpan WaitTrigger { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Read /proc/&lt;pid&gt;/task/&lt;tid&gt;/stack of the threads on starved CPUs (root only; silently nothing otherwise).</summary>
    public bool KernelStacks { get; init; } = true;

    /// <summary>USER_HZ of the thread stat files.</summary>
    public int ClockTicksPerSecond { get; init; } = 100;

    /// <summary>Threads kept per CPU per sweep.</summary>
    public int ThreadsPerCpu { get; init; } = 8;
}

/// <summary>Why the recorder went to its fast cadence.</summary>
public readonly record struct RecorderTrigger(long Timestamp, int Cpu, string Why);

/// <summary>
/// The flight recorder of every CPU: /proc/stat, softnet time_squeeze and the softirq threads' run-queue wait at
/// 1 s, at 100 ms for a while after a trigger (time_squeeze or a softirq-thread wait jump on a watched CPU, or a
/// precursor line through <see cref="Trigger"/>); who ran on each CPU (thread sweeps) and, on starved CPUs, their
/// kernel stacks, aggregated into hottest functions. Samples go into preallocated arrays (nothing allocated per
/// sample); the caller owns the loop: wait until <see cref="DueAt"/>, then <see cref="Tick"/>.
/// </summary>
public sealed class CpuRecorder : IDisposable
{
    private const int MaxTriggers = 1024;

    private readonly string _procRoot;
    private readonly TimeProvider _time;
    private readonly CpuRecorderOptions _options;
    private readonly PerCpuSampler _sampler;
    private readonly ThreadCpuProbe _threads;
    private readonly FlightRecorder<long> _ring;
    private readonly int _cpus;
    private readonly long[] _stamps;
    private readonly CpuCounters[] _series;
    private readonly ulong[] _squeeze;
    private readonly ulong[] _waitAtSweep;
    private readonly ulong[] _busyAtSweep;
    private readonly ulong[] _totalAtSweep;
    private readonly List<Sweep> _sweeps = [];
    private readonly List<StackSample> _stacks = [];
    private readonly List<RecorderTrigger> _triggers = [];
    private readonly Dictionary<int, int> _queueCpus = [];
    private List<(int Pid, int Tid)> _suspects = [];
    private long _samples;
    private long _lastSweep = long.MinValue;
    private long _lastInterrupts = long.MinValue;

    public CpuRecorder(string procRoot, TimeProvider time, CpuRecorderOptions? options = null)
    {
        _procRoot = procRoot;
        _time = time;
        _options = options ?? new CpuRecorderOptions();
        _sampler = new PerCpuSampler(procRoot, time);
        _threads = new ThreadCpuProbe(procRoot, _options.ClockTicksPerSecond);
        int capacity = (int)Math.Ceiling(_options.Retention / _options.Normal) + 1 + (_options.FastBursts * (int)Math.Ceiling(_options.FastFor / _options.Fast));
        _ring = new FlightRecorder<long>(capacity, _options.Normal, _options.Fast, _options.FastFor, time);
        _cpus = _sampler.CpuSlots;
        _stamps = new long[capacity];
        _series = new CpuCounters[capacity * _cpus];
        _squeeze = new ulong[capacity * _cpus];
        _waitAtSweep = new ulong[_cpus];
        _busyAtSweep = new ulong[_cpus];
        _totalAtSweep = new ulong[_cpus];
    }

    public int Cpus => _cpus;

    public int Capacity => _ring.Capacity;

    public long Samples => _samples;

    /// <summary>When the next sample is due (a timestamp of the injected clock); before the first sample, always.</summary>
    public long DueAt => _samples == 0 ? long.MinValue : _ring.DueAt;

    public TimeSpan Interval => _ring.Interval;

    public IReadOnlyList<RecorderGap> Gaps => _ring.Gaps;

    public IReadOnlyList<RecorderTrigger> Triggers => _triggers;

    /// <summary>NIC queue → the CPU its interrupt is delivered on (ENA Tx-Rx, mlx5 completion, gve, virtio input).</summary>
    public IReadOnlyDictionary<int, int> QueueCpus => _queueCpus;

    /// <summary>The per-CPU sampler (for its probes' state: NAPI threads, the interrupt map).</summary>
    public PerCpuSampler Sampler => _sampler;

    /// <summary>The latest sample, or null before the first.</summary>
    public PerCpuSample? Latest => _samples == 0 ? null : _sampler.Current;

    /// <summary>Something outside looked wrong (a precursor line): sample fast from now.</summary>
    public void Trigger(int cpu, string why) => Raise(cpu, why);

    /// <summary>Takes one sample now; sweeps threads and re-reads the IRQ map when those are due.</summary>
    public void Tick()
    {
        long now = _time.GetTimestamp();
        if (_lastInterrupts == long.MinValue || _time.GetElapsedTime(_lastInterrupts, now) >= _options.InterruptsEvery)
        {
            RefreshQueueMap();
            _lastInterrupts = now;
        }

        int slot = (int)(_samples % _ring.Capacity);
        _ring.Next() = _samples;
        PerCpuSample s = _sampler.Sample();
        _stamps[slot] = s.Timestamp;
        int row = slot * _cpus;
        for (int cpu = 0; cpu < _cpus; cpu++)
        {
            CpuTimes t = s.Cpu[cpu];
            _series[row + cpu] = new CpuCounters(t.User, t.Nice, t.System, t.Idle, t.IoWait, t.Irq, t.SoftIrq, t.Steal, SoftirqThreadWait(s, cpu));
            _squeeze[row + cpu] = s.SoftnetPresent[cpu] ? s.Softnet[cpu].TimeSqueeze : 0;
        }

        if (_samples > 0)
        {
            CheckTriggers(slot, (int)((_samples - 1) % _ring.Capacity));
        }

        _samples++;
        TimeSpan sweepEvery = _ring.Interval == _options.Fast ? _options.ThreadSweepFast : _options.ThreadSweep;
        if (_lastSweep == long.MinValue || _time.GetElapsedTime(_lastSweep, now) >= sweepEvery - TimeSpan.FromMilliseconds(1))
        {
            SweepThreads(now, row);
        }
        else if (_options.KernelStacks && _ring.Interval == _options.Fast)
        {
            // Between sweeps at the fast cadence: more stack samples of the threads on the starved CPUs.
            SampleStacks(now);
        }
    }

    /// <summary>One CPU's samples in [<paramref name="from"/>, <paramref name="to"/>], oldest first: timestamp, counters, time_squeeze.</summary>
    public List<(long Timestamp, CpuCounters Counters, ulong TimeSqueeze)> Series(int cpu, long from, long to)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(cpu, _cpus);
        int count = (int)Math.Min(_samples, _ring.Capacity);
        int oldest = _samples < _ring.Capacity ? 0 : (int)(_samples % _ring.Capacity);
        var series = new List<(long, CpuCounters, ulong)>(count);
        for (int i = 0; i < count; i++)
        {
            int slot = (oldest + i) % _ring.Capacity;
            long t = _stamps[slot];
            if (t >= from && t <= to)
            {
                series.Add((t, _series[(slot * _cpus) + cpu], _squeeze[(slot * _cpus) + cpu]));
            }
        }

        return series;
    }

    /// <summary>The wall-clock time of a timestamp of the injected clock.</summary>
    public DateTimeOffset ToUtc(long timestamp) => _time.GetUtcNow() - _time.GetElapsedTime(timestamp);

    /// <summary>One CPU's window over [<paramref name="from"/>, <paramref name="to"/>] (timestamps of the injected clock).</summary>
    public CpuWindow Window(int cpu, long from, long to) =>
        Window(cpu, from, to, ThreadsByCpu(cpu, from, to).GetValueOrDefault(cpu) ?? []);

    private CpuWindow Window(int cpu, long from, long to, IReadOnlyList<ThreadActivity> threads)
    {
        List<(long Timestamp, CpuCounters Counters, ulong TimeSqueeze)> samples = Series(cpu, from, to);
        long[] stamps = samples.Select(x => ToNs(x.Timestamp)).ToArray();
        string source = samples.Count < 2
            ? "flight recorder"
            : string.Create(CultureInfo.InvariantCulture, $"flight recorder: {samples.Count} samples of {_procRoot} over {(stamps[^1] - stamps[0]) / 1e9:0.#} s");
        CpuWindow window = CpuWindowBuilder.Build(cpu, stamps, samples.Select(x => x.Counters).ToArray(), threads, source);
        return samples.Count < 2 ? window : window with { TimeSqueezeDelta = (long)(samples[^1].TimeSqueeze - samples[0].TimeSqueeze) };
    }

    /// <summary>Every CPU's window over [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public IReadOnlyDictionary<int, CpuWindow> Windows(long from, long to)
    {
        // One pass over the thread sweeps for every CPU, not one per CPU.
        Dictionary<int, IReadOnlyList<ThreadActivity>> threads = ThreadsByCpu(null, from, to);
        var windows = new Dictionary<int, CpuWindow>(_cpus);
        for (int cpu = 0; cpu < _cpus; cpu++)
        {
            windows[cpu] = Window(cpu, from, to, threads.GetValueOrDefault(cpu) ?? []);
        }

        return windows;
    }

    public void Dispose()
    {
        _sampler.Dispose();
        _threads.Dispose();
    }

    private static ulong SoftirqThreadWait(PerCpuSample s, int cpu) => s.Ksoftirqd[cpu].Valid ? s.Ksoftirqd[cpu].RunQueueWaitNs : 0;

    private long ToNs(long timestamp) => (long)(timestamp * (1e9 / _time.TimestampFrequency));

    private void RefreshQueueMap()
    {
        _sampler.SampleInterrupts();
        _queueCpus.Clear();
        foreach (NicQueueIrq q in _sampler.Interrupts.NicQueues)
        {
            if (q.Cpu >= 0 && q.Kind is NicIrqKind.EnaTxRx or NicIrqKind.Mlx5Completion or NicIrqKind.GveNotify or NicIrqKind.VirtioInput)
            {
                _queueCpus.TryAdd(q.Queue, q.Cpu);
            }
        }
    }

    private void CheckTriggers(int slot, int previous)
    {
        double intervalMs = (ToNs(_stamps[slot]) - ToNs(_stamps[previous])) / 1e6;
        // At 100 ms a CPU that is still starved waits most of each interval, not a full trigger's worth.
        double triggerMs = Math.Min(_options.WaitTrigger.TotalMilliseconds, intervalMs / 2);
        for (int cpu = 0; cpu < _cpus; cpu++)
        {
            // With a NIC map, its CPUs; without one (RPS can steer receive work anywhere), every CPU.
            if (_queueCpus.Count > 0 && !_queueCpus.ContainsValue(cpu))
            {
                continue;
            }

            CpuCounters a = _series[(previous * _cpus) + cpu];
            CpuCounters b = _series[(slot * _cpus) + cpu];
            double waitedMs = b.SoftirqThreadWaitNs >= a.SoftirqThreadWaitNs ? (b.SoftirqThreadWaitNs - a.SoftirqThreadWaitNs) / 1e6 : 0;
            ulong squeezed = _squeeze[(slot * _cpus) + cpu] >= _squeeze[(previous * _cpus) + cpu] ? _squeeze[(slot * _cpus) + cpu] - _squeeze[(previous * _cpus) + cpu] : 0;
            if (waitedMs >= triggerMs)
            {
                Raise(cpu, string.Create(CultureInfo.InvariantCulture, $"ksoftirqd/{cpu} waited {waitedMs:0} ms of {intervalMs:0} ms"));
            }
            else if (squeezed > 0)
            {
                Raise(cpu, string.Create(CultureInfo.InvariantCulture, $"time_squeeze +{squeezed} on CPU {cpu}"));
            }
        }
    }

    /// <summary>Samples fast from now; a trigger that starts a fast period (not one that extends it) is kept as evidence.</summary>
    private void Raise(int cpu, string why)
    {
        bool starts = _ring.Interval != _options.Fast;
        _ring.Trigger();
        if (starts)
        {
            Note(cpu, why);
        }
    }

    private void Note(int cpu, string why)
    {
        if (_triggers.Count == MaxTriggers)
        {
            _triggers.RemoveAt(0);
        }

        _triggers.Add(new RecorderTrigger(_time.GetTimestamp(), cpu, why));
    }

    private void SweepThreads(long now, int row)
    {
        List<ThreadUsage> usage = _threads.Scan();
        bool primed = _lastSweep != long.MinValue;
        long previous = _lastSweep;
        _lastSweep = now;
        var waitedMs = new double[_cpus];
        var busy = new bool[_cpus];
        for (int cpu = 0; cpu < _cpus; cpu++)
        {
            CpuCounters c = _series[row + cpu];
            waitedMs[cpu] = c.SoftirqThreadWaitNs >= _waitAtSweep[cpu] ? (c.SoftirqThreadWaitNs - _waitAtSweep[cpu]) / 1e6 : 0;
            ulong ticks = c.Total - _totalAtSweep[cpu];
            busy[cpu] = ticks > 0 && (c.Busy - _busyAtSweep[cpu]) * 10 >= ticks * 9;
            _waitAtSweep[cpu] = c.SoftirqThreadWaitNs;
            _busyAtSweep[cpu] = c.Busy;
            _totalAtSweep[cpu] = c.Total;
        }

        if (!primed)
        {
            return;
        }

        var kept = new List<ThreadSample>();
        var suspects = new List<(int, int)>();
        foreach (IGrouping<int, ThreadUsage> onCpu in usage.Where(u => (uint)u.Cpu < (uint)_cpus).GroupBy(u => u.Cpu))
        {
            int cpu = onCpu.Key;
            bool starved = waitedMs[cpu] >= _options.WaitTrigger.TotalMilliseconds || busy[cpu];
            int rank = 0;
            foreach (ThreadUsage u in onCpu.OrderByDescending(u => u.UserMs + u.SysMs).Take(_options.ThreadsPerCpu))
            {
                kept.Add(new ThreadSample(u.Pid, u.Tid, Name(u), u.Cgroup, cpu, u.UserMs, u.SysMs, waitedMs[cpu]));
                if (starved && rank < 2 && !IsSoftirqThread(u.Comm))
                {
                    suspects.Add((u.Pid, u.Tid));
                    rank++;
                }
            }
        }

        _sweeps.Add(new Sweep(previous, now, [.. kept]));
        _suspects = suspects;
        if (_options.KernelStacks)
        {
            SampleStacks(now);
        }

        Prune(now);
    }

    private void SampleStacks(long now)
    {
        foreach ((int pid, int tid) in _suspects)
        {
            if (_threads.KernelFunction(pid, tid) is { } function)
            {
                _stacks.Add(new StackSample(now, pid, tid, function));
            }
        }
    }

    private void Prune(long now)
    {
        long horizon = now - (long)(_options.Retention.TotalSeconds * _time.TimestampFrequency);
        _sweeps.RemoveAll(s => s.To < horizon);
        _stacks.RemoveAll(s => s.Timestamp < horizon);
    }

    /// <summary>
    /// The threads that ran on each CPU (or only on <paramref name="only"/>) in the window, the most to blame first:
    /// blame is each sweep interval's CPU use weighted by how long the CPU's softirq thread waited in that interval,
    /// so the consumer is charged over the starved intervals, not over the whole window.
    /// </summary>
    private Dictionary<int, IReadOnlyList<ThreadActivity>> ThreadsByCpu(int? only, long from, long to)
    {
        var totals = new Dictionary<(int Cpu, int Pid, int Tid), (ThreadSample Last, double User, double Sys, double Blame)>();
        foreach (Sweep sweep in _sweeps)
        {
            if (sweep.To <= from || sweep.From >= to)
            {
                continue;
            }

            foreach (ThreadSample t in sweep.Threads)
            {
                if (only is int cpu && t.Cpu != cpu)
                {
                    continue;
                }

                totals.TryGetValue((t.Cpu, t.Pid, t.Tid), out var sum);
                totals[(t.Cpu, t.Pid, t.Tid)] = (t, sum.User + t.UserMs, sum.Sys + t.SysMs, sum.Blame + ((t.UserMs + t.SysMs) * t.CpuWaitMs));
            }
        }

        return totals
            .GroupBy(kv => kv.Key.Cpu)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<ThreadActivity>)g
                .OrderByDescending(kv => kv.Value.Blame)
                .ThenByDescending(kv => kv.Value.User + kv.Value.Sys)
                .Take(5)
                .Select(kv => new ThreadActivity(kv.Key.Pid, kv.Key.Tid, kv.Value.Last.Name, kv.Value.Last.Cgroup, kv.Value.User, kv.Value.Sys)
                {
                    Blame = kv.Value.Blame > 0 ? kv.Value.Blame : null,
                    KernelFunctions = HottestFunctions(kv.Key.Pid, kv.Key.Tid, from, to),
                })
                .ToList());
    }

    private List<(string Function, int Samples)> HottestFunctions(int pid, int tid, long from, long to) => _stacks
        .Where(s => s.Pid == pid && s.Tid == tid && s.Timestamp >= from && s.Timestamp <= to)
        .GroupBy(s => s.Function)
        .Select(g => (g.Key, g.Count()))
        .OrderByDescending(f => f.Item2)
        .ThenBy(f => f.Key, StringComparer.Ordinal)
        .ToList();

    private static bool IsSoftirqThread(string comm) => comm.StartsWith("ksoftirqd/", StringComparison.Ordinal) || comm.StartsWith("napi/", StringComparison.Ordinal);

    // Interpreters and runtimes all look alike by comm: name them by what they run.
    private static string Name(ThreadUsage u) => u.Comm is "dotnet" or "python3" or "python" or "java" or "node" or "sh" or "bash" or "perl" or "ruby" && u.Command is { } c
        ? $"{u.Comm} ({c})"
        : u.Comm;

    private sealed record ThreadSample(int Pid, int Tid, string Name, string? Cgroup, int Cpu, double UserMs, double SysMs, double CpuWaitMs);

    private sealed record Sweep(long From, long To, ThreadSample[] Threads);

    private readonly record struct StackSample(long Timestamp, int Pid, int Tid, string Function);
}
