using ResetScope.Testing;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ResetScope.Agent.Metrics;
using ResetScope.Agent.Service;
using ResetScope.Agent.Store;
using ResetScope.Agent.Tests.Metrics;
using ResetScope.Host.Kmsg;
using Xunit.Abstractions;

namespace ResetScope.Agent.Tests.Service;

/// <summary>
/// The whole agent on this machine (root): the real /dev/kmsg, a real SQLite file, a real Prometheus from Debian.
/// A reset is injected by writing a simulated driver's lines into /dev/kmsg; from user space the kernel files them
/// under LOG_USER, so they carry a per-run tag that only this agent is told to trust, and the incident is marked
/// injected. Kernel log records cannot be deleted; the tag makes them unmistakable for the host's own.
/// </summary>
public sealed class AgentLiveTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(30);

    private static string? Unavailable() =>
        Environment.UserName != "root" ? "needs root to read and write /dev/kmsg"
        : !File.Exists("/dev/kmsg") ? "no /dev/kmsg"
        : ExternalTool.Find("prometheus") is null ? "prometheus not installed (run-tests installs it)"
        : null;

    [Fact]
    public async Task An_injected_reset_reaches_the_store_and_a_real_Prometheus()
    {
        if (Unavailable() is { } why)
        {
            output.WriteLine($"skipped: {why}");
            return;
        }

        string tag = $"resetscope-test-{Guid.NewGuid():N}: ";
        string directory = Path.Combine(Path.GetTempPath(), "resetscope-agent-live-" + Guid.NewGuid().ToString("N"));
        int port = FreePort();
        using var stop = new CancellationTokenSource();
        var log = new StringWriter();
        var options = new AgentRunOptions
        {
            Agent = new AgentOptions { TrustedTestTag = tag, WindowAfter = TimeSpan.FromSeconds(1) },
            StorePath = Path.Combine(directory, "incidents.db"),
            MetricsListen = new MetricsEndpoint(IPAddress.Loopback, port),
        };
        Task<int> agent = Task.Run(() => AgentRunner.RunAsync(options, TextWriter.Synchronized(log), TextWriter.Synchronized(log), stop.Token));
        try
        {
            var target = new IPEndPoint(IPAddress.Loopback, port);
            await using PrometheusProcess prometheus = PrometheusProcess.Start(ExternalTool.Find("prometheus")!, target);
            (await prometheus.QueryUntilAsync("up{job=\"resetscope\"}", r => r.GetArrayLength() == 1 && Value(r[0]) == 1, s_bound))
                .Should().NotBeNull("Prometheus should scrape the agent within {0}; agent said: {1}", s_bound, log);

            foreach (var record in AgentHarness.Scenario("keepalive-loss"))
            {
                DevKmsg.Write($"<{(int)record.Level}>{tag}{record.Text}"); // one open per record: /dev/kmsg rate-limits per open file
            }

            JsonElement? resets = await prometheus.QueryUntilAsync("resetscope_resets_total{reason=\"keep-alive-timeout\"}", r => r.GetArrayLength() == 1 && Value(r[0]) == 1, s_bound);
            resets.Should().NotBeNull("the injected reset should reach Prometheus within {0}; agent said: {1}", s_bound, log);
            JsonElement labels = resets!.Value[0].GetProperty("metric");
            labels.GetProperty("driver").GetString().Should().Be("ena");
            labels.GetProperty("ena_reason").GetString().Should().Be("KEEP_ALIVE_TO");

            // What the agent serves passes promtool's own lint, with a reset in it.
            using (var http = new HttpClient())
            {
                string exposition = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                if (ExternalTool.Find("promtool") is { } promtool)
                {
                    var check = new ProcessStartInfo(promtool, ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
                    using Process p = Process.Start(check)!;
                    await p.StandardInput.WriteAsync(exposition);
                    p.StandardInput.Close();
                    string problems = await p.StandardError.ReadToEndAsync() + await p.StandardOutput.ReadToEndAsync();
                    await p.WaitForExitAsync();
                    p.ExitCode.Should().Be(0, problems);
                }
            }

            stop.Cancel();
            (await agent).Should().Be(0);
            using IncidentStore store = IncidentStore.Open(options.StorePath);
            IncidentSummary incident = store.List().Should().ContainSingle().Subject;
            incident.Summary.Should().StartWith("[injected] ena eth0: keep-alive-timeout (KEEP_ALIVE_TO)");
            using JsonDocument bundle = JsonDocument.Parse(store.Get(incident.Id)!.BundleJson);
            bundle.RootElement.GetProperty("window_after").ValueKind.Should().Be(JsonValueKind.Object, "the agent completes the incident before it stops");
            output.WriteLine($"record → commit: {bundle.RootElement.GetProperty("latency_us").GetInt64() / 1000.0:0.0} ms");
        }
        finally
        {
            stop.Cancel();
            await agent.ContinueWith(_ => { }, TaskScheduler.Default);
            output.WriteLine(log.ToString());
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static double Value(JsonElement sample) =>
        double.Parse(sample.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
}
