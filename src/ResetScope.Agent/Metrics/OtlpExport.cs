using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using ResetScope.Core;

namespace ResetScope.Agent.Metrics;

public enum OtlpProtocol
{
    /// <summary>OTLP/HTTP with protobuf bodies (port 4318 by convention); signal paths are appended to the endpoint.</summary>
    HttpProtobuf,

    /// <summary>OTLP/gRPC (port 4317 by convention).</summary>
    Grpc,
}

public sealed record OtlpOptions
{
    /// <summary>The collector: the base URL for HTTP (<c>/v1/metrics</c> and <c>/v1/logs</c> are added), the server for gRPC.</summary>
    public required Uri Endpoint { get; init; }

    public OtlpProtocol Protocol { get; init; } = OtlpProtocol.HttpProtobuf;

    public TimeSpan MetricExportInterval { get; init; } = TimeSpan.FromSeconds(15);

    public string ServiceName { get; init; } = "resetscope-agent";

    public string? ServiceVersion { get; init; }

    /// <summary>The <c>host.name</c> resource attribute; the machine name when null.</summary>
    public string? HostName { get; init; }
}

/// <summary>
/// OTLP export through the OpenTelemetry SDK, on only when an endpoint is configured. Metrics: one observable
/// instrument per registry family, read from the same series /metrics serves (so both always agree), named as in
/// Prometheus without the <c>_total</c> suffix (OTLP sums carry monotonicity; Prometheus-side translation adds it
/// back). Incidents: one OTLP log record each, with the event's fields as attributes.
/// Families registered after construction are not exported.
/// </summary>
public sealed class OtlpExport : IDisposable
{
    public const string MeterName = "ResetScope.Agent";
    public const string IncidentCategory = "ResetScope.Incidents";

    private static readonly EventId s_incidentEvent = new(1, "incident");

    private readonly Meter _meter;
    private readonly MeterProvider _meterProvider;
    private readonly ServiceProvider _logServices;
    private readonly LoggerProvider? _loggerProvider;
    private readonly ILogger _incidents;

    public OtlpExport(MetricsRegistry registry, OtlpOptions options)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Endpoint.IsAbsoluteUri || options.Endpoint.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"OTLP endpoint {options.Endpoint} is not an http(s) URL", nameof(options));
        }

        Options = options;
        _meter = new Meter(MeterName, options.ServiceVersion);
        foreach (MetricFamily family in registry.Families)
        {
            AddInstrument(family);
        }

        _meterProvider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => DescribeResource(r, options))
            .AddMeter(MeterName)
            .AddOtlpExporter((exporter, reader) =>
            {
                Configure(exporter, options, "v1/metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.MetricExportInterval.TotalMilliseconds;
                reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
            })
            .Build();

        // A private container, not the agent's logging: incidents go to the collector only, never to stdout.
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(DescribeResource(ResourceBuilder.CreateEmpty(), options));
            o.IncludeFormattedMessage = true;
            o.AddOtlpExporter(exporter => Configure(exporter, options, "v1/logs"));
        }));
        _logServices = services.BuildServiceProvider();
        _incidents = _logServices.GetRequiredService<ILoggerFactory>().CreateLogger(IncidentCategory);
        _loggerProvider = _logServices.GetService<LoggerProvider>();
    }

    public OtlpOptions Options { get; }

    /// <summary>The OTLP metric name for a Prometheus family name.</summary>
    public static string OtlpName(MetricFamily family) =>
        family.Type == MetricType.Counter && family.Name.EndsWith("_total", StringComparison.Ordinal) ? family.Name[..^"_total".Length] : family.Name;

    /// <summary>A reset incident: the event's fields as attributes.</summary>
    public void Reset(ResetEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        List<KeyValuePair<string, object?>> attributes =
        [
            new("driver", e.Driver),
            new("dev", e.Dev),
            new("pci", e.Pci),
            new("queue", e.Queue),
            new("reason", e.Reason.ToJsonName()),
            new("ena_reason", e.EnaReason),
            new("outcome", e.Outcome.ToJsonName()),
            new("since_napi_usec", e.SinceNapiUsec),
            new("threshold_usec", e.ThresholdUsec),
            new("napi_cpu", e.NapiCpu),
            new("driver_version", e.DriverVersion),
            new("host", e.Host),
            new("ts", e.Ts),
        ];
        string summary = $"{e.Driver ?? "?"} {e.Dev ?? "?"} reset ({e.Reason.ToJsonName()}{(e.EnaReason is null ? string.Empty : ", " + e.EnaReason)}), {e.Outcome.ToJsonName()}";
        Incident("reset", summary, attributes, e.Time);
    }

    /// <summary>
    /// An incident as a log record: <paramref name="summary"/> is the body; <c>incident.kind</c> and the given
    /// attributes (null values left out) are its attributes.
    /// </summary>
    public void Incident(string kind, string summary, IEnumerable<KeyValuePair<string, object?>> attributes, DateTimeOffset? time = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(summary);
        var state = new List<KeyValuePair<string, object?>> { new("incident.kind", kind) };
        foreach (KeyValuePair<string, object?> a in attributes)
        {
            if (a.Value is not null)
            {
                state.Add(a);
            }
        }

        if (time is { } t)
        {
            state.Add(new("incident.time", t.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
        }

        _incidents.Log(LogLevel.Warning, s_incidentEvent, (IReadOnlyList<KeyValuePair<string, object?>>)state, null, (_, _) => summary);
    }

    /// <summary>Exports what is pending now (metrics collected and sent, queued incidents sent); false on timeout.</summary>
    public bool ForceFlush(TimeSpan timeout)
    {
        int ms = (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        bool metrics = _meterProvider.ForceFlush(ms);
        bool logs = _loggerProvider?.ForceFlush(ms) ?? true;
        return metrics && logs;
    }

    public void Dispose()
    {
        // Providers flush on shutdown; the meter goes last so the final collection can still observe it.
        _meterProvider.Dispose();
        _logServices.Dispose();
        _meter.Dispose();
    }

    private static ResourceBuilder DescribeResource(ResourceBuilder resource, OtlpOptions options) => resource
        .AddService(options.ServiceName, serviceVersion: options.ServiceVersion, autoGenerateServiceInstanceId: false)
        .AddAttributes([new("host.name", options.HostName ?? Environment.MachineName)]);

    private static void Configure(OtlpExporterOptions exporter, OtlpOptions options, string signalPath)
    {
        exporter.Protocol = options.Protocol == OtlpProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        exporter.Endpoint = options.Protocol == OtlpProtocol.Grpc ? options.Endpoint : SignalUri(options.Endpoint, signalPath);
    }

    /// <summary>
    /// For OTLP/HTTP a programmatic endpoint is used as the full URL, so the signal path is added here, relative to
    /// the base path, as OTEL_EXPORTER_OTLP_ENDPOINT would be read.
    /// </summary>
    internal static Uri SignalUri(Uri endpoint, string signalPath)
    {
        string basePath = endpoint.AbsolutePath.EndsWith('/') ? endpoint.AbsolutePath : endpoint.AbsolutePath + "/";
        return new UriBuilder(endpoint) { Path = basePath + signalPath }.Uri;
    }

    private void AddInstrument(MetricFamily family)
    {
        string name = OtlpName(family);
        string? unit = name.EndsWith("_seconds", StringComparison.Ordinal) ? "s" : null;
        if (family.Type == MetricType.Counter)
        {
            _meter.CreateObservableCounter(name, () => Observe(family), unit, family.Help);
        }
        else
        {
            _meter.CreateObservableGauge(name, () => Observe(family), unit, family.Help);
        }
    }

    private static IEnumerable<Measurement<double>> Observe(MetricFamily family)
    {
        IReadOnlyList<MetricSeries> series = family.GetSeries();
        var measurements = new Measurement<double>[series.Count];
        for (int i = 0; i < measurements.Length; i++)
        {
            measurements[i] = new Measurement<double>(series[i].Value, series[i].Tags);
        }

        return measurements;
    }
}
