using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using ResetScope.Agent.Metrics;
using ResetScope.Agent.Store;
using ResetScope.Host.Kmsg;

namespace ResetScope.Agent.Service;

/// <summary>What <c>resetscope agent</c> was asked to do.</summary>
public sealed record AgentRunOptions
{
    public required AgentOptions Agent { get; init; }

    public string KmsgPath { get; init; } = "/dev/kmsg";

    public required string StorePath { get; init; }

    public MetricsEndpoint MetricsListen { get; init; } = MetricsEndpoint.Default;

    public Uri? OtlpEndpoint { get; init; }

    /// <summary>Stop after this long (tests, benchmarks); null runs until SIGTERM/SIGINT.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Incidents as JSON lines on stdout instead of one human line each.</summary>
    public bool Json { get; init; }
}

/// <summary>
/// The production loop around <see cref="AgentService"/>: opens the store, the kernel log (/dev/kmsg, else the
/// journal's kernel lines), the /metrics endpoint and OTLP when asked; tells systemd when it is ready and pings its
/// watchdog; steps the service whenever a record arrives or timed work is due; stops cleanly on SIGTERM/SIGINT.
/// </summary>
public static class AgentRunner
{
    public static async Task<int> RunAsync(AgentRunOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        if (options.Duration is TimeSpan d)
        {
            stop.CancelAfter(d);
        }

        string version = typeof(AgentRunner).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev";
        using IncidentStore store = IncidentStore.Open(options.StorePath);
        var metrics = new AgentMetrics(TimeProvider.System, version);
        (IKmsgSource source, string kernelLog) = OpenKernelLog(options.KmsgPath, error);
        using var kmsg = new KmsgReader(source);
        await using var server = new MetricsServer(metrics.Registry, options.MetricsListen);
        await server.StartAsync(stop.Token).ConfigureAwait(false);
        using OtlpExport? otlp = options.OtlpEndpoint is { } endpoint
            ? new OtlpExport(metrics.Registry, new OtlpOptions { Endpoint = endpoint, ServiceVersion = version, HostName = Environment.MachineName })
            : null;
        using var service = new AgentService(options.Agent, kmsg, store, metrics, TimeProvider.System, otlp);
        using var systemd = new SdNotify();
        service.IncidentCommitted += incident => Report(incident, options.Json, output);

        service.Step(); // first sample and the backlog since the cursor
        string ready = $"recording {service.Recorder.Cpus} CPUs; kernel log from {kernelLog}; metrics at http://{server.BoundEndPoint}/metrics; store {store.FilePath}";
        systemd.Ready(ready);
        error.WriteLine($"resetscope agent: {ready}");
        TimeProvider time = TimeProvider.System;
        long nextPing = time.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            long now = time.GetTimestamp();
            if (systemd.WatchdogInterval is TimeSpan ping && now >= nextPing)
            {
                systemd.Watchdog();
                nextPing = now + (long)(ping.TotalSeconds * time.TimestampFrequency);
            }

            // Wake for a record at once, else when timed work is due; never block past a second so a stop is prompt.
            long deadline = service.NextDeadline;
            TimeSpan wait = deadline <= now ? TimeSpan.Zero : time.GetElapsedTime(now, deadline);
            wait = wait > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait;
            if (!kmsg.WaitReadable(wait) && wait > TimeSpan.Zero && source is not (DevKmsg or BufferedKmsgSource))
            {
                stop.Token.WaitHandle.WaitOne(wait);
            }

            service.Step();
        }

        systemd.Stopping();
        service.Flush();
        otlp?.ForceFlush(TimeSpan.FromSeconds(5));
        error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resetscope agent: stopped after {service.Recorder.Samples} samples and {service.Committed.Count} incident(s)"));
        return 0;
    }

    private static (IKmsgSource Source, string Name) OpenKernelLog(string path, TextWriter error)
    {
        try
        {
            IKmsgSource source = KmsgSource.Open(path);

            // The live device is drained on a thread of its own: a store commit's fsync must not let the kernel overwrite records.
            return (source is DevKmsg ? new BufferedKmsgSource(source) : source, path);
        }
        catch (IOException e) when (path == "/dev/kmsg")
        {
            error.WriteLine($"resetscope agent: {e.Message}; following the journal's kernel lines instead");
            return (JournalKmsgSource.Start(), "journalctl -k -f");
        }
    }

    private static void Report(CommittedIncident incident, bool json, TextWriter output)
    {
        if (json)
        {
            using var line = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(line))
            {
                w.WriteStartObject();
                w.WriteString("kind", "incident");
                w.WriteNumber("id", incident.Id);
                w.WriteString("incident_kind", incident.Kind.ToJsonName());
                w.WriteString("summary", incident.Summary);
                if (incident.LatencyUs is long l)
                {
                    w.WriteNumber("latency_us", l);
                }
                else
                {
                    w.WriteNull("latency_us");
                }

                w.WriteEndObject();
            }

            output.WriteLine(System.Text.Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length));
        }
        else
        {
            output.WriteLine($"incident {incident.Id} ({incident.Kind.ToJsonName()}): {incident.Summary}");
        }

        output.Flush();
    }
}
