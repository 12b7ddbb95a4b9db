using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
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
        await using var receiver = await OtlpReceiver.StartAsync(HttpProtocols.Http1);
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
        await using var receiver = await OtlpReceiver.StartAsync(HttpProtocols.Http2);
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

    /// <summary>
    /// A tiny in-process OTLP receiver on a loopback port: records each POST and answers with an empty export
    /// response (protobuf over HTTP/1.1, or gRPC over cleartext HTTP/2).
    /// </summary>
    internal sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<Request> _requests = new();
        private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private OtlpReceiver(WebApplication app) => _app = app;

        /// <summary>
        /// Waits until a request to <paramref name="path"/> has arrived (an export can still be in flight when
        /// ForceFlush returns: the batch was already taken from the buffer). Null when none comes within the bound.
        /// </summary>
        public async Task<Request?> WaitForAsync(string path, TimeSpan within)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                Task next = Volatile.Read(ref _arrived).Task;
                if (_requests.FirstOrDefault(r => r.Path == path) is { } found)
                {
                    return found;
                }

                TimeSpan left = within - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    return null;
                }

                await next.WaitAsync(left).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        public sealed record Request(string Path, string? ContentType, byte[] Body);

        public Uri BaseUri { get; private set; } = null!;

        public IReadOnlyCollection<Request> Requests => _requests.ToArray();

        public static async Task<OtlpReceiver> StartAsync(HttpProtocols protocols)
        {
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = protocols));
            WebApplication app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.Run(async context =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                receiver._requests.Enqueue(new Request(context.Request.Path, context.Request.ContentType, body.ToArray()));
                Interlocked.Exchange(ref receiver._arrived, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
                {
                    // An empty message in gRPC framing (not compressed, length 0), then status OK in the trailers.
                    context.Response.ContentType = "application/grpc";
                    context.Response.AppendTrailer("grpc-status", "0");
                    await context.Response.Body.WriteAsync(new byte[5]);
                }
                else
                {
                    context.Response.ContentType = "application/x-protobuf";
                }
            });
            await app.StartAsync();
            receiver.BaseUri = new Uri(app.Urls.Single());
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
