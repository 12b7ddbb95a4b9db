namespace ResetScope.Agent.Metrics;

/// <summary>
/// One labelled series of a family. Updates are lock-free (compare-and-swap on the value), so the kmsg tail
/// and the recorder can update without contending with each other or with a scrape.
/// </summary>
public abstract class MetricSeries
{
    private readonly string[] _labelValues;
    private KeyValuePair<string, object?>[]? _tags;
    private double _value;

    private protected MetricSeries(MetricFamily family, string[] labelValues, byte[] labelText)
    {
        Family = family;
        _labelValues = labelValues;
        LabelText = labelText;
    }

    public MetricFamily Family { get; }

    /// <summary>The stored (normalized) label values, in the family's declared label order.</summary>
    public IReadOnlyList<string> LabelValues => _labelValues;

    public double Value => Volatile.Read(ref _value);

    /// <summary>
    /// The label set as it appears in the exposition (<c>{a="x",b="y"}</c>, escaped, UTF-8), rendered once when
    /// the series is created so a scrape copies bytes instead of escaping strings again.
    /// </summary>
    internal byte[] LabelText { get; }

    internal string[] LabelValueArray => _labelValues;

    /// <summary>The label set as OpenTelemetry tags, built on first use (only when OTLP export is on).</summary>
    internal KeyValuePair<string, object?>[] Tags
    {
        get
        {
            if (_tags is { } tags)
            {
                return tags;
            }

            tags = new KeyValuePair<string, object?>[_labelValues.Length];
            for (int i = 0; i < tags.Length; i++)
            {
                tags[i] = new KeyValuePair<string, object?>(Family.LabelNames[i], _labelValues[i]);
            }

            return _tags = tags;
        }
    }

    private protected void AddCore(double amount)
    {
        double current = Volatile.Read(ref _value);
        while (true)
        {
            double seen = Interlocked.CompareExchange(ref _value, current + amount, current);
            // Bits, not ==: 0.0 and -0.0 (or two NaNs) compare equal as numbers but not to the exchange.
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }

    private protected void SetCore(double value) => Interlocked.Exchange(ref _value, value);
}

/// <summary>A monotonically increasing series (exposed as <c>counter</c>).</summary>
public sealed class Counter : MetricSeries
{
    internal Counter(MetricFamily family, string[] labelValues, byte[] labelText)
        : base(family, labelValues, labelText)
    {
    }

    public void Inc() => AddCore(1);

    public void Add(double amount)
    {
        // A negative or NaN step is a bug in the caller, not input: it would make the counter look reset.
        if (!(amount >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(amount), amount, "a counter only goes up");
        }

        AddCore(amount);
    }

    /// <summary>
    /// Sets the total of a count kept elsewhere (schedstat's cumulative wait). A value below the previous one is a
    /// counter reset (the thread was recreated), which Prometheus' <c>rate()</c> handles.
    /// </summary>
    public void Set(double total)
    {
        if (!(total >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(total), total, "a counter total is never negative");
        }

        SetCore(total);
    }
}

/// <summary>A series that goes up and down (exposed as <c>gauge</c>).</summary>
public sealed class Gauge : MetricSeries
{
    internal Gauge(MetricFamily family, string[] labelValues, byte[] labelText)
        : base(family, labelValues, labelText)
    {
    }

    public void Set(double value) => SetCore(value);

    public void Add(double amount) => AddCore(amount);

    public void Inc() => AddCore(1);

    public void Dec() => AddCore(-1);
}
