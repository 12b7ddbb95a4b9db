using System.Net;
using System.Net.Sockets;
using ResetScope.Agent.Metrics;

namespace ResetScope.Agent.Tests.Metrics;

public sealed class MetricsServerTests
{
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task GET_metrics_serves_the_exposition_with_the_format_content_type()
    {
        var registry = new MetricsRegistry();
        registry.AddCounter("t_total", "t", "dev").WithLabels("eth0\"").Add(3);
        await using var server = new MetricsServer(registry, new MetricsEndpoint(IPAddress.Loopback, 0));
        await server.StartAsync();
        using var client = new HttpClient { Timeout = s_requestTimeout };

        using HttpResponseMessage response = await client.GetAsync(Url(server, "/metrics"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.GetValues("Content-Type").Should().Equal("text/plain; version=0.0.4; charset=utf-8");
        (await response.Content.ReadAsStringAsync()).Should().Be(PrometheusTextSerializer.WriteToString(registry));
    }

    [Fact]
    public async Task A_large_exposition_is_served_whole()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "t", "a", "b");
        for (int i = 0; i < 5000; i++)
        {
            f.WithLabels(i + new string('\\', 300), i + new string('é', 300)).Add(i);
        }

        await using var server = new MetricsServer(registry, new MetricsEndpoint(IPAddress.Loopback, 0));
        await server.StartAsync();
        using var client = new HttpClient { Timeout = s_requestTimeout };

        byte[] body = await client.GetByteArrayAsync(Url(server, "/metrics"));

        body.Length.Should().BeGreaterThan(5_000_000);
        System.Text.Encoding.UTF8.GetString(body).Should().Be(PrometheusTextSerializer.WriteToString(registry));
    }

    [Fact]
    public async Task HEAD_is_answered_without_a_body_and_other_requests_are_refused()
    {
        await using var server = new MetricsServer(new MetricsRegistry(), new MetricsEndpoint(IPAddress.Loopback, 0));
        await server.StartAsync();
        using var client = new HttpClient { Timeout = s_requestTimeout };

        using HttpResponseMessage head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url(server, "/metrics")));
        using HttpResponseMessage other = await client.GetAsync(Url(server, "/"));
        using HttpResponseMessage nearly = await client.GetAsync(Url(server, "/metrics/x"));
        using HttpResponseMessage post = await client.PostAsync(Url(server, "/metrics"), new StringContent("x"));
        using HttpResponseMessage query = await client.GetAsync(Url(server, "/metrics?name[]=x"));

        head.StatusCode.Should().Be(HttpStatusCode.OK);
        head.Content.Headers.GetValues("Content-Type").Should().Equal(PrometheusTextSerializer.ContentType);
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        other.StatusCode.Should().Be(HttpStatusCode.NotFound);
        nearly.StatusCode.Should().Be(HttpStatusCode.NotFound);
        post.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        post.Content.Headers.Allow.Should().Equal("GET", "HEAD");
        query.StatusCode.Should().Be(HttpStatusCode.OK);
        head.Headers.Contains("Server").Should().BeFalse();
    }

    [Fact]
    public async Task A_taken_port_is_one_clear_line()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;
        await using var server = new MetricsServer(new MetricsRegistry(), new MetricsEndpoint(IPAddress.Loopback, port));

        Func<Task> start = () => server.StartAsync();

        (await start.Should().ThrowAsync<MetricsServerException>())
            .Which.Message.Should().Be($"127.0.0.1:{port} is in use; pass --metrics-listen to bind elsewhere");
        server.BoundEndPoint.Should().BeNull();
    }

    [Fact]
    public async Task Stopping_releases_the_port()
    {
        var server = new MetricsServer(new MetricsRegistry(), new MetricsEndpoint(IPAddress.Loopback, 0));
        await server.StartAsync();
        int port = server.BoundEndPoint!.Port;
        port.Should().BeGreaterThan(0);

        await server.StopAsync();

        using var again = new TcpListener(IPAddress.Loopback, port);
        again.Start();
        await server.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task IPv6_loopback_works_where_the_host_has_it()
    {
        if (!Socket.OSSupportsIPv6 || !HasIPv6Loopback())
        {
            return; // no ::1 on this host
        }

        var registry = new MetricsRegistry();
        await using var server = new MetricsServer(registry, MetricsEndpoint.Parse("[::1]:0"));
        await server.StartAsync();
        using var client = new HttpClient { Timeout = s_requestTimeout };

        using HttpResponseMessage response = await client.GetAsync($"http://[::1]:{server.BoundEndPoint!.Port}/metrics");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        server.BoundEndPoint.Address.Should().Be(IPAddress.IPv6Loopback);
    }

    [Theory]
    [InlineData("127.0.0.1:9465", "127.0.0.1", 9465, "127.0.0.1:9465")]
    [InlineData("[::1]:9465", "::1", 9465, "[::1]:9465")]
    [InlineData(":9465", null, 9465, ":9465")]
    [InlineData("localhost:9100", "127.0.0.1", 9100, "127.0.0.1:9100")]
    [InlineData("0.0.0.0:0", "0.0.0.0", 0, "0.0.0.0:0")]
    [InlineData(" 10.1.2.3:65535 ", "10.1.2.3", 65535, "10.1.2.3:65535")]
    public void Listen_addresses_parse(string text, string? address, int port, string shown)
    {
        MetricsEndpoint e = MetricsEndpoint.Parse(text);

        e.Address?.ToString().Should().Be(address);
        (e.Address is null).Should().Be(address is null);
        e.Port.Should().Be(port);
        e.ToString().Should().Be(shown);
    }

    [Theory]
    [InlineData("", "metrics listen address is empty; expected host:port, [v6]:port or :port")]
    [InlineData("9465", "metrics listen address \"9465\" has no port; expected host:port, [v6]:port or :port")]
    [InlineData("127.0.0.1:", "metrics listen address \"127.0.0.1:\": \"\" is not a port (0-65535)")]
    [InlineData("127.0.0.1:70000", "metrics listen address \"127.0.0.1:70000\": \"70000\" is not a port (0-65535)")]
    [InlineData("127.0.0.1:-1", "metrics listen address \"127.0.0.1:-1\": \"-1\" is not a port (0-65535)")]
    [InlineData("::1:9465", "metrics listen address \"::1:9465\": \"::1\" is not an IP address or localhost (IPv6 goes in brackets: [::1]:9465)")]
    [InlineData("example.com:9465", "metrics listen address \"example.com:9465\": \"example.com\" is not an IP address or localhost (IPv6 goes in brackets: [::1]:9465)")]
    [InlineData("1:9465", "metrics listen address \"1:9465\": \"1\" is not an IP address or localhost (IPv6 goes in brackets: [::1]:9465)")]
    [InlineData("[127.0.0.1]:9465", "metrics listen address \"[127.0.0.1]:9465\": \"[127.0.0.1]\" is not an IP address or localhost (IPv6 goes in brackets: [::1]:9465)")]
    public void Bad_listen_addresses_say_why(string text, string error)
    {
        MetricsEndpoint.TryParse(text, out _, out string? message).Should().BeFalse();
        message.Should().Be(error);
    }

    [Fact]
    public void The_default_is_loopback_9465() => MetricsEndpoint.Default.ToString().Should().Be("127.0.0.1:9465");

    private static string Url(MetricsServer server, string path) => $"http://127.0.0.1:{server.BoundEndPoint!.Port}{path}";

    /// <summary>Whether this host can bind ::1 (some containers have IPv6 disabled).</summary>
    internal static bool HasIPv6Loopback()
    {
        try
        {
            using var probe = new TcpListener(IPAddress.IPv6Loopback, 0);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
