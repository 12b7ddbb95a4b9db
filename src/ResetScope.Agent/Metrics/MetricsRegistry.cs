using System.Buffers;

namespace ResetScope.Agent.Metrics;

/// <summary>
/// The metric families an agent exposes, in registration order. Families are registered at start-up; series are
/// added and updated from any thread. The registry owns one family of its own,
/// <c>resetscope_metrics_series_dropped_total{family}</c>, written last: how many new label sets were refused
/// because a family already held <see cref="MaxSeriesPerFamily"/> series.
/// </summary>
public sealed class MetricsRegistry
{
    public const int DefaultMaxSeriesPerFamily = 10_000;

    public const string SeriesDroppedName = "resetscope_metrics_series_dropped_total";

    private static readonly SearchValues<char> s_metricNameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");

    private static readonly SearchValues<char> s_labelNameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    private readonly Lock _gate = new();
    private readonly CounterFamily _dropped;
    private MetricFamily[] _families = [];

    public MetricsRegistry(int maxSeriesPerFamily = DefaultMaxSeriesPerFamily)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeriesPerFamily, 1);
        MaxSeriesPerFamily = maxSeriesPerFamily;
        _dropped = new CounterFamily(this, SeriesDroppedName, "New label sets refused because the family already had the maximum number of series.", ["family"]);
    }

    public int MaxSeriesPerFamily { get; }

    /// <summary>The families in output order: registration order, then the registry's own dropped-series family.</summary>
    public IReadOnlyList<MetricFamily> Families => [.. Volatile.Read(ref _families), _dropped];

    public CounterFamily AddCounter(string name, string help, params string[] labelNames)
    {
        // Prometheus convention (and what OpenMetrics requires): a counter's sample name ends in _total.
        if (!name.EndsWith("_total", StringComparison.Ordinal))
        {
            throw new ArgumentException($"counter name {name} does not end in _total", nameof(name));
        }

        return Add(new CounterFamily(this, Validate(name, help, labelNames), help, [.. labelNames]));
    }

    public GaugeFamily AddGauge(string name, string help, params string[] labelNames) =>
        Add(new GaugeFamily(this, Validate(name, help, labelNames), help, [.. labelNames]));

    internal void SeriesDropped(MetricFamily family)
    {
        // The dropped family's label values are family names: bounded by code, so it cannot overflow itself.
        if (!ReferenceEquals(family, _dropped))
        {
            _dropped.WithLabels(family.Name).Inc();
        }
    }

    private T Add<T>(T family)
        where T : MetricFamily
    {
        lock (_gate)
        {
            if (family.Name == SeriesDroppedName || Array.Exists(_families, f => f.Name == family.Name))
            {
                throw new ArgumentException($"metric {family.Name} is already registered");
            }

            _families = [.. _families, family];
        }

        return family;
    }

    private static string Validate(string name, string help, string[] labelNames)
    {
        ArgumentNullException.ThrowIfNull(help);
        if (!IsMetricName(name))
        {
            throw new ArgumentException($"invalid metric name \"{name}\"", nameof(name));
        }

        for (int i = 0; i < labelNames.Length; i++)
        {
            if (!IsLabelName(labelNames[i]))
            {
                throw new ArgumentException($"{name}: invalid label name \"{labelNames[i]}\"", nameof(labelNames));
            }

            if (Array.IndexOf(labelNames, labelNames[i], 0, i) >= 0)
            {
                throw new ArgumentException($"{name}: label {labelNames[i]} declared twice", nameof(labelNames));
            }
        }

        return name;
    }

    // [a-zA-Z_:][a-zA-Z0-9_:]* (the exposition format's metric name grammar).
    private static bool IsMetricName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.AsSpan().IndexOfAnyExcept(s_metricNameChars) < 0;

    // [a-zA-Z_][a-zA-Z0-9_]*, and names starting with __ are reserved for Prometheus itself.
    private static bool IsLabelName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && !name.StartsWith("__", StringComparison.Ordinal) && name.AsSpan().IndexOfAnyExcept(s_labelNameChars) < 0;
}
