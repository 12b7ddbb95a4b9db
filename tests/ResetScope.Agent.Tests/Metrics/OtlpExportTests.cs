using System.Text;
using ResetScope.Agent.Metrics;
using ResetScope.Core;
using ResetScope.Testing;

namespace ResetScope.Agent.Tests.Metrics;

public sealed class OtlpExportTests
{
    private static readonly TimeSpan s_flush = TimeSpan.FromSeconds(20);

    private static ResetEvent Eth0Reset() => new()
    {
        Driver = "ena",
        Dev = "eth0",
        Queue = 5,
        Reason = ResetFamily.NetdevWatchdog,
        EnaReason = "SUSPECTED_POLL_STARVATION",
        Outcome = ResetOutcome.Completed,
        SinceNapiUsec = 6_596_000,
    };

    [Fact]
    public async Task Metrics_and_incidents_reach_an_OTLP_HTTP_receiver()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var metrics = new AgentMetrics(new ManualTimeProvider(), version: "9.9.9");
        metrics.ResetSeen(Eth0Reset());
        metrics.SetNapiThreadWait(39, "ksoftirqd/39", 6.5);

        using var export = new OtlpExport(metrics.Registry, new OtlpOptions { Endpoint = receiver.BaseUri, ServiceVersion = "9.9.9", HostName = "test-host" });
        export.Reset(Eth0Reset());

        export.ForceFlush(s_flush).Should().BeTrue();

        OtlpReceiver.Request metricsPost = (await receiver.WaitForAsync("/v1/metrics", s_flush))!;
        metricsPost.Should().NotBeNull();
        metricsPost.ContentType.Should().Be("application/x-protobuf");
        foreach (string expected in (string[])["resetscope_resets", "resetscope_napi_thread_wait_seconds", "ksoftirqd/39", "eth0", "SUSPECTED_POLL_STARVATION", "resetscope_build_info", "9.9.9", "resetscope-agent", "test-host"])
        {
            Contains(metricsPost.Body, expected).Should().BeTrue($"the metrics body should carry \"{expected}\"");
        }

        Contains(metricsPost.Body, "resetscope_resets_total").Should().BeFalse("OTLP names drop Prometheus' _total");
        OtlpReceiver.Request? logsPost = await receiver.WaitForAsync("/v1/logs", s_flush);
        logsPost.Should().NotBeNull("the incident is exported as a log record");
        foreach (string expected in (string[])["ena eth0 reset (netdev-watchdog, SUSPECTED_POLL_STARVATION), completed", "incident.kind", "since_napi_usec", OtlpExport.IncidentCategory])
        {
            Contains(logsPost!.Body, expected).Should().BeTrue($"the logs body should carry \"{expected}\"");
        }
    }

    [Fact]
    public async Task Metrics_reach_an_OTLP_gRPC_receiver()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var metrics = new AgentMetrics(new ManualTimeProvider(), version: "1");
        metrics.ResetSeen(Eth0Reset());

        using (var export = new OtlpExport(metrics.Registry, new OtlpOptions { Endpoint = receiver.BaseUri, Protocol = OtlpProtocol.Grpc }))
        {
            export.ForceFlush(s_flush).Should().BeTrue();
        }

        receiver.Requests.Should().Contain(r => r.Path == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export");
        OtlpReceiver.Request post = receiver.Requests.First(r => r.Path == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"); // the final export at dispose sends another
        post.ContentType.Should().StartWith("application/grpc");
        Contains(post.Body, "resetscope_resets").Should().BeTrue();
    }

    [Theory]
    [InlineData("http://collector:4318", "http://collector:4318/v1/metrics")]
    [InlineData("http://collector:4318/", "http://collector:4318/v1/metrics")]
    [InlineData("https://gw.example/otlp", "https://gw.example/otlp/v1/metrics")]
    [InlineData("https://gw.example/otlp/", "https://gw.example/otlp/v1/metrics")]
    public void HTTP_signal_paths_are_added_to_the_base_path(string endpoint, string expected) =>
        OtlpExport.SignalUri(new Uri(endpoint), "v1/metrics").ToString().Should().Be(expected);

    [Fact]
    public void Only_http_endpoints_are_taken()
    {
        FluentActions.Invoking(() => new OtlpExport(new MetricsRegistry(), new OtlpOptions { Endpoint = new Uri("file:///tmp/x") }))
            .Should().Throw<ArgumentException>().WithMessage("OTLP endpoint file:///tmp/x is not an http(s) URL*");
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
