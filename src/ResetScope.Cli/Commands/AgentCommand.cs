using System.CommandLine;
using ResetScope.Agent.Metrics;
using ResetScope.Agent.Service;
using ResetScope.Agent.Store;

namespace ResetScope.Cli.Commands;

/// <summary><c>resetscope agent</c>: the flight recorder, the kernel log and incidents, continuously; /metrics for Prometheus.</summary>
public static class AgentCommand
{
    public static Command Create(IConsole console)
    {
        var json = new Option<bool>("--json") { Description = "each committed incident as a JSON line on stdout" };
        var procRoot = new Option<string>("--proc-root") { Description = "where procfs is mounted (a node's /proc from a container: /host/proc)", DefaultValueFactory = _ => "/proc" };
        var sysRoot = new Option<string>("--sys-root") { Description = "where sysfs is mounted", DefaultValueFactory = _ => "/sys" };
        var kmsg = new Option<string>("--kmsg") { Description = "the kernel log device (or a capture of it); the journal is followed when /dev/kmsg cannot be opened", DefaultValueFactory = _ => "/dev/kmsg" };
        var logRoot = new Option<string?>("--log-root") { Description = "read service restart lines from syslog files here instead of the journal" };
        var store = new Option<string?>("--store") { Description = $"the incident store (default {IncidentStore.SystemPath} as root, else under ~/.local/share/resetscope)" };
        var listen = new Option<string>("--metrics-listen") { Description = "where to serve /metrics: host:port, [v6]:port or :port", DefaultValueFactory = _ => "127.0.0.1:9465" };
        var otlp = new Option<string?>("--otlp-endpoint") { Description = "also export metrics and incidents over OTLP/HTTP to this URL (e.g. http://collector:4318)" };
        var interval = new Option<string>("--sample-interval") { Description = "the recorder's normal cadence (100 ms after a trigger)", DefaultValueFactory = _ => "1s" };
        var retention = new Option<string>("--retention") { Description = "how long incidents are kept", DefaultValueFactory = _ => "30d" };
        var duration = new Option<string?>("--duration") { Description = "stop after this long (default: until SIGTERM/SIGINT)" };
        var trust = new Option<string?>("--trust-test-records")
        {
            Description = "tests and labs only: treat user-space /dev/kmsg records that start with this tag as kernel records (incidents are marked injected)",
            Hidden = true,
        };
        var perMinute = new Option<int>("--max-incidents-per-minute")
        {
            Description = "incidents stored in any minute at most; more (a flood of events) are counted in resetscope_incidents_dropped_total",
            DefaultValueFactory = _ => new AgentOptions().MaxIncidentsPerMinute,
        };
        var command = new Command("agent", "Run continuously: flight recorder on every CPU, the kernel log as it arrives, incidents stored, metrics at /metrics.")
        {
            json, procRoot, sysRoot, kmsg, logRoot, store, listen, otlp, interval, retention, duration, perMinute, trust,
        };
        command.SetAction(async (parse, cancel) =>
        {
            if (!MetricsEndpoint.TryParse(parse.GetValue(listen), out MetricsEndpoint endpoint, out string? error))
            {
                throw new UserFacingException($"--metrics-listen: {error}");
            }

            Uri? otlpEndpoint = null;
            if (parse.GetValue(otlp) is { } o && (!Uri.TryCreate(o, UriKind.Absolute, out otlpEndpoint) || otlpEndpoint.Scheme is not ("http" or "https")))
            {
                throw new UserFacingException($"--otlp-endpoint: '{o}' is not an http(s) URL (e.g. http://collector:4318)");
            }

            string proc = parse.GetValue(procRoot)!;
            if (!Directory.Exists(proc))
            {
                throw new UserFacingException($"{proc}: no such directory; --proc-root must point at a procfs tree");
            }

            TimeSpan sampleInterval = Durations.Parse(parse.GetValue(interval)!, "--sample-interval", TimeSpan.FromMinutes(1));
            if (sampleInterval < TimeSpan.FromMilliseconds(100))
            {
                throw new UserFacingException($"--sample-interval: '{parse.GetValue(interval)}' is shorter than the 100 ms fast cadence");
            }

            if (parse.GetValue(perMinute) is < 1 and int bad)
            {
                throw new UserFacingException($"--max-incidents-per-minute: {bad} is not a positive number");
            }

            var options = new AgentRunOptions
            {
                Agent = new AgentOptions
                {
                    ProcRoot = proc,
                    SysRoot = parse.GetValue(sysRoot)!,
                    LogRoot = parse.GetValue(logRoot),
                    SampleInterval = sampleInterval,
                    IncidentMaxAge = Durations.Parse(parse.GetValue(retention)!, "--retention", TimeSpan.FromDays(3650)),
                    TrustedTestTag = parse.GetValue(trust),
                    MaxIncidentsPerMinute = parse.GetValue(perMinute),
                },
                KmsgPath = parse.GetValue(kmsg)!,
                StorePath = parse.GetValue(store) ?? IncidentStore.DefaultPath(),
                MetricsListen = endpoint,
                OtlpEndpoint = otlpEndpoint,
                Duration = parse.GetValue(duration) is { } d ? Durations.Parse(d, "--duration", TimeSpan.FromDays(3650)) : null,
                Json = parse.GetValue(json),
            };
            try
            {
                return await AgentRunner.RunAsync(options, console.Out, console.Error, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IncidentStoreException or MetricsServerException or IOException)
            {
                throw new UserFacingException(e.Message);
            }
        });
        return command;
    }
}
