namespace ResetScope.Host.Recorder;

/// <summary>A hole in the recorder's own sampling: the sampler was late, which is evidence in itself.</summary>
public readonly record struct RecorderGap(long FromTimestamp, long ToTimestamp, TimeSpan Expected, TimeSpan Actual);

/// <summary>
/// The flight recorder's memory: a fixed ring of samples (overwriting the oldest, no allocation per sample),
/// a cadence that drops from the normal interval (1 s) to the fast one (100 ms) for a while after a trigger
/// (time_squeeze or ksoftirqd-wait jump on a NAPI CPU, a precursor line), and the gaps in its own sampling.
/// The caller owns the clock and the sampling: it asks <see cref="DueAt"/>, fills the slot from
/// <see cref="Next"/>, and calls <see cref="Trigger"/> when something looks wrong.
/// </summary>
public sealed class FlightRecorder<TSample> where TSample : struct
{
    private readonly TSample[] _samples;
    private readonly long[] _timestamps;
    private readonly TimeProvider _time;
    private readonly List<RecorderGap> _gaps = [];
    private long _fastUntil = long.MinValue;
    private long _lastTimestamp = long.MinValue;
    private TimeSpan _lastInterval;
    private int _next;

    public FlightRecorder(int capacity, TimeSpan normal, TimeSpan fast, TimeSpan fastFor, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        if (fast <= TimeSpan.Zero || normal < fast)
        {
            throw new ArgumentOutOfRangeException(nameof(fast), "the fast interval must be positive and no longer than the normal one");
        }

        _samples = new TSample[capacity];
        _timestamps = new long[capacity];
        Normal = normal;
        Fast = fast;
        FastFor = fastFor;
        _time = time;
    }

    /// <summary>
    /// A recorder sized to keep at least <paramref name="retention"/> of 1 s samples plus
    /// <paramref name="fastBursts"/> full 100 ms bursts of <paramref name="fastFor"/> each.
    /// </summary>
    public static FlightRecorder<TSample> ForRetention(TimeSpan retention, TimeSpan fastFor, int fastBursts, TimeProvider time)
    {
        var normal = TimeSpan.FromSeconds(1);
        var fast = TimeSpan.FromMilliseconds(100);
        int capacity = (int)Math.Ceiling(retention / normal) + fastBursts * (int)Math.Ceiling(fastFor / fast);
        return new FlightRecorder<TSample>(capacity, normal, fast, fastFor, time);
    }

    public TimeSpan Normal { get; }

    public TimeSpan Fast { get; }

    public TimeSpan FastFor { get; }

    public int Capacity => _samples.Length;

    public int Count { get; private set; }

    public IReadOnlyList<RecorderGap> Gaps => _gaps;

    /// <summary>The interval in force now: fast while a trigger is recent, else normal.</summary>
    public TimeSpan Interval => _time.GetTimestamp() < _fastUntil ? Fast : Normal;

    /// <summary>When the next sample is due (a timestamp of the injected clock).</summary>
    public long DueAt => Count == 0 ? _time.GetTimestamp() : _lastTimestamp + ToTicks(Interval);

    /// <summary>Something looked wrong: sample fast for <see cref="FastFor"/> from now.</summary>
    public void Trigger() => _fastUntil = _time.GetTimestamp() + ToTicks(FastFor);

    /// <summary>
    /// The slot for a sample taken now, overwriting the oldest when full. A late sample (more than 1.5 × the
    /// interval since the previous one) records a gap.
    /// </summary>
    public ref TSample Next()
    {
        long now = _time.GetTimestamp();
        TimeSpan interval = Interval;
        if (Count > 0)
        {
            TimeSpan actual = _time.GetElapsedTime(_lastTimestamp, now);

            // The interval that was in force when the previous sample was taken sets the expectation.
            TimeSpan expected = _lastInterval;
            if (actual.Ticks * 2 > expected.Ticks * 3)
            {
                _gaps.Add(new RecorderGap(_lastTimestamp, now, expected, actual));
            }
        }

        int slot = _next;
        _next = (_next + 1) % _samples.Length;
        Count = Math.Min(Count + 1, _samples.Length);
        _timestamps[slot] = now;
        _lastTimestamp = now;
        _lastInterval = interval;
        return ref _samples[slot];
    }

    /// <summary>The samples taken in [<paramref name="from"/>, <paramref name="to"/>], oldest first.</summary>
    public int CopyWindow(long from, long to, Span<TSample> samples, Span<long> timestamps)
    {
        int written = 0;
        int oldest = Count < _samples.Length ? 0 : _next;
        for (int i = 0; i < Count && written < samples.Length; i++)
        {
            int slot = (oldest + i) % _samples.Length;
            long t = _timestamps[slot];
            if (t >= from && t <= to)
            {
                samples[written] = _samples[slot];
                timestamps[written] = t;
                written++;
            }
        }

        return written;
    }

    /// <summary>How far back the ring reaches now.</summary>
    public TimeSpan Retained
    {
        get
        {
            if (Count < 2)
            {
                return TimeSpan.Zero;
            }

            int oldest = Count < _samples.Length ? 0 : _next;
            return _time.GetElapsedTime(_timestamps[oldest], _lastTimestamp);
        }
    }

    private long ToTicks(TimeSpan span) => (long)(span.Ticks * (_time.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
}
