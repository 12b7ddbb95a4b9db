using System.Buffers;
using System.Collections.Concurrent;

namespace ResetScope.Agent.Metrics;

public enum MetricType
{
    Counter,
    Gauge,
}

/// <summary>
/// A metric name with fixed label names and its series, one per label set. Label names are fixed by code when the
/// family is registered; only label values come from input, so nothing read from a log can become a label name.
/// Series are capped (<see cref="MetricsRegistry.MaxSeriesPerFamily"/>): past the cap a new label set is refused,
/// counted in <c>resetscope_metrics_series_dropped_total</c>, and its updates go to a detached series nobody reads.
/// </summary>
public abstract class MetricFamily
{
    private readonly ConcurrentDictionary<string[], MetricSeries> _series = new(LabelKeyComparer.Instance);
    private readonly ConcurrentDictionary<string[], MetricSeries>.AlternateLookup<ReadOnlySpan<string?>> _lookup;
    private readonly List<MetricSeries> _ordered = [];
    private readonly Lock _gate = new();
    private readonly MetricsRegistry _registry;
    private readonly string[] _labelNames;
    private MetricSeries? _overflow;

    private protected MetricFamily(MetricsRegistry registry, string name, string help, MetricType type, string[] labelNames)
    {
        _registry = registry;
        Name = name;
        Help = help;
        Type = type;
        _labelNames = labelNames;
        _lookup = _series.GetAlternateLookup<ReadOnlySpan<string?>>();
    }

    public string Name { get; }

    public string Help { get; }

    public MetricType Type { get; }

    public IReadOnlyList<string> LabelNames => _labelNames;

    /// <summary>The number of series (label sets) the family holds.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _ordered.Count;
            }
        }
    }

    /// <summary>A copy of the series, sorted by label values (ordinal), as a scrape shows them.</summary>
    public IReadOnlyList<MetricSeries> GetSeries()
    {
        MetricSeries[] rented = RentSnapshot(out int count);
        try
        {
            return rented.AsSpan(0, count).ToArray();
        }
        finally
        {
            ReturnSnapshot(rented, count);
        }
    }

    /// <summary>The series sorted for output, in a pooled array; give it back with <see cref="ReturnSnapshot"/>.</summary>
    internal MetricSeries[] RentSnapshot(out int count)
    {
        MetricSeries[] rented;
        lock (_gate)
        {
            count = _ordered.Count;
            rented = ArrayPool<MetricSeries>.Shared.Rent(Math.Max(count, 1));
            _ordered.CopyTo(rented);
        }

        rented.AsSpan(0, count).Sort(static (a, b) => CompareLabels(a.LabelValueArray, b.LabelValueArray));
        return rented;
    }

    internal static void ReturnSnapshot(MetricSeries[] rented, int count)
    {
        rented.AsSpan(0, count).Clear();
        ArrayPool<MetricSeries>.Shared.Return(rented);
    }

    private protected MetricSeries GetOrCreate(ReadOnlySpan<string?> labelValues)
    {
        if (labelValues.Length != _labelNames.Length)
        {
            throw new ArgumentException($"{Name} takes {_labelNames.Length} label value(s) ({string.Join(", ", _labelNames)}), not {labelValues.Length}", nameof(labelValues));
        }

        foreach (string? value in labelValues)
        {
            if (!LabelValueNormalizer.IsNormal(value))
            {
                // Rare (hostile or odd input): normalize into a fresh key, then look that up.
                return GetOrCreateNormalized(LabelKeyComparer.Instance.Create(labelValues));
            }
        }

        return _lookup.TryGetValue(labelValues, out MetricSeries? found) ? found : GetOrCreateNormalized(LabelKeyComparer.Instance.Create(labelValues));
    }

    private protected abstract MetricSeries CreateSeries(string[] labelValues, byte[] labelText);

    private MetricSeries GetOrCreateNormalized(string[] key)
    {
        if (_series.TryGetValue(key, out MetricSeries? found))
        {
            return found;
        }

        lock (_gate)
        {
            if (_series.TryGetValue(key, out found))
            {
                return found;
            }

            if (_ordered.Count >= _registry.MaxSeriesPerFamily)
            {
                _registry.SeriesDropped(this);
                return _overflow ??= CreateSeries(key, []);
            }

            MetricSeries series = CreateSeries(key, PrometheusTextSerializer.RenderLabels(_labelNames, key));
            _ordered.Add(series);
            _series[key] = series;
            return series;
        }
    }

    private static int CompareLabels(string[] a, string[] b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            int c = string.CompareOrdinal(a[i], b[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }
}

public sealed class CounterFamily : MetricFamily
{
    internal CounterFamily(MetricsRegistry registry, string name, string help, string[] labelNames)
        : base(registry, name, help, MetricType.Counter, labelNames)
    {
    }

    /// <summary>The series for these label values (declared order; null is the empty value), created at 0 if new.</summary>
    public Counter WithLabels(params ReadOnlySpan<string?> labelValues) => (Counter)GetOrCreate(labelValues);

    private protected override MetricSeries CreateSeries(string[] labelValues, byte[] labelText) => new Counter(this, labelValues, labelText);
}

public sealed class GaugeFamily : MetricFamily
{
    internal GaugeFamily(MetricsRegistry registry, string name, string help, string[] labelNames)
        : base(registry, name, help, MetricType.Gauge, labelNames)
    {
    }

    /// <summary>The series for these label values (declared order; null is the empty value), created at 0 if new.</summary>
    public Gauge WithLabels(params ReadOnlySpan<string?> labelValues) => (Gauge)GetOrCreate(labelValues);

    private protected override MetricSeries CreateSeries(string[] labelValues, byte[] labelText) => new Gauge(this, labelValues, labelText);
}
