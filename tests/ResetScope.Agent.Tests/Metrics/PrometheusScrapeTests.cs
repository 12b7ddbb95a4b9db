using ResetScope.Testing;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ResetScope.Agent.Metrics;
using ResetScope.Core;
using Xunit.Abstractions;

namespace ResetScope.Agent.Tests.Metrics;

/// <summary>A real Prometheus scrapes the agent's /metrics; what the agent counted comes back through PromQL.</summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(30);

    [ExternalToolFact("prometheus", "prometheus")]
    public async Task Prometheus_scrapes_a_reset_and_hostile_log_text_stays_a_label_value()
    {
        var clock = Stopwatch.StartNew();
        var metrics = new AgentMetrics(TimeProvider.System, version: "test");
        await using var server = new MetricsServer(metrics.Registry, new MetricsEndpoint(IPAddress.Loopback, 0));
        await server.StartAsync();
        await using PrometheusProcess prometheus = PrometheusProcess.Start(ExternalTool.Find("prometheus")!, server.BoundEndPoint!);
        try
        {
            // First a healthy scrape with no reset yet, so the reset below is seen arriving.
            (await prometheus.QueryUntilAsync("up{job=\"resetscope\"}", r => r.GetArrayLength() == 1 && Value(r[0]) == 1, s_bound))
                .Should().NotBeNull("Prometheus should scrape the agent within {0}", s_bound);
            (await prometheus.GetJsonAsync("api/v1/query?query=" + Uri.EscapeDataString("resetscope_resets_total")))
                .GetProperty("data").GetProperty("result").GetArrayLength().Should().Be(0);

            metrics.ResetSeen(new ResetEvent
            {
                Driver = "ena",
                Dev = "eth0",
                Reason = ResetFamily.NetdevWatchdog,
                EnaReason = "SUSPECTED_POLL_STARVATION",
                Outcome = ResetOutcome.Completed,
            });
            const string HostileDev = "eth1\"} evil_metric 1\n# TYPE evil_metric counter\n<script>alert(\"x\")</script>\\";
            metrics.ResetSeen(new ResetEvent { Driver = "ena", Dev = HostileDev, EnaReason = "x=\"y\",z=\"w\"", Outcome = ResetOutcome.Failed });

            JsonElement? reset = await prometheus.QueryUntilAsync("resetscope_resets_total{dev=\"eth0\"}", r => r.GetArrayLength() == 1 && Value(r[0]) == 1, s_bound);

            reset.Should().NotBeNull("the reset should reach Prometheus within {0}", s_bound);
            JsonElement labels = reset!.Value[0].GetProperty("metric");
            Label(labels, "__name__").Should().Be("resetscope_resets_total");
            Label(labels, "job").Should().Be("resetscope");
            Label(labels, "driver").Should().Be("ena");
            Label(labels, "dev").Should().Be("eth0");
            Label(labels, "reason").Should().Be("netdev-watchdog");
            Label(labels, "ena_reason").Should().Be("SUSPECTED_POLL_STARVATION");
            Label(labels, "outcome").Should().Be("completed");

            // The hostile reset is one series whose label values came through intact, and nothing else appeared.
            JsonElement all = (await prometheus.GetJsonAsync("api/v1/query?query=" + Uri.EscapeDataString("resetscope_resets_total"))).GetProperty("data").GetProperty("result");
            all.GetArrayLength().Should().Be(2);
            JsonElement hostile = all.EnumerateArray().Single(r => Label(r.GetProperty("metric"), "dev") != "eth0").GetProperty("metric");
            Label(hostile, "dev").Should().Be(HostileDev);
            Label(hostile, "ena_reason").Should().Be("x=\"y\",z=\"w\"");
            hostile.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["__name__", "instance", "job", "driver", "dev", "reason", "ena_reason", "outcome"]);
            (await prometheus.GetJsonAsync("api/v1/label/__name__/values")).GetProperty("data").EnumerateArray().Select(n => n.GetString())
                .Should().NotContain(n => n!.Contains("evil", StringComparison.Ordinal));
            JsonElement target = (await prometheus.GetJsonAsync("api/v1/targets")).GetProperty("data").GetProperty("activeTargets")[0];
            target.GetProperty("health").GetString().Should().Be("up");
            target.GetProperty("lastError").GetString().Should().BeEmpty();
        }
        catch
        {
            output.WriteLine("prometheus log:\n" + prometheus.Log);
            throw;
        }
        finally
        {
            output.WriteLine($"prometheus scrape test took {clock.Elapsed.TotalSeconds:F1} s");
        }
    }

    private static double Value(JsonElement sample) =>
        double.Parse(sample.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static string? Label(JsonElement metric, string name) => metric.TryGetProperty(name, out JsonElement v) ? v.GetString() : null;
}
