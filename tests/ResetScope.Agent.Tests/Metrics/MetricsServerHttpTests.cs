using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ResetScope.Agent.Metrics;
using ResetScope.Testing;
using static ResetScope.Agent.Tests.Metrics.RawHttpClient;

namespace ResetScope.Agent.Tests.Metrics;

/// <summary>
/// The HTTP/1.1 behaviour of <see cref="MetricsServer"/> at the byte level. Its deadlines run on a
/// <see cref="ManualTimeProvider"/>: nothing here sleeps, and real time only bounds how long a wait may take.
/// </summary>
public sealed class MetricsServerHttpTests
{
    private static readonly TimeSpan s_closeBound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task GET_and_HEAD_carry_the_content_type_no_store_and_the_length()
    {
        MetricsRegistry registry = Registry();
        await using MetricsServer server = await StartAsync(registry);
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        await client.SendAsync(Request("GET", "/metrics"));
        Response get = await client.ReadResponseAsync();
        await client.SendAsync(Request("HEAD", "/metrics"));
        Response head = await client.ReadResponseAsync(head: true);

        string exposition = PrometheusTextSerializer.WriteToString(registry);
        foreach (Response r in (Response[])[get, head])
        {
            r.Status.Should().Be(200);
            r["Content-Type"].Should().Be(PrometheusTextSerializer.ContentType);
            r["Cache-Control"].Should().Be("no-store");
            r["Content-Length"].Should().Be(System.Text.Encoding.UTF8.GetByteCount(exposition).ToString(System.Globalization.CultureInfo.InvariantCulture));
            r["Connection"].Should().BeNull("HTTP/1.1 keeps the connection by default");
            r["Date"].Should().EndWith(" GMT");
        }

        get.Text.Should().Be(exposition);
        await client.SendAsync(Request("GET", "/metrics"));
        (await client.ReadResponseAsync()).Text.Should().Be(exposition, "HEAD sent no body and the connection stays");
    }

    [Fact]
    public async Task Other_paths_are_404_and_other_methods_405_with_Allow_and_the_connection_stays()
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        var answers = new List<Response>();
        foreach ((string method, string target) in ((string, string)[])[("GET", "/"), ("GET", "/metrics/"), ("HEAD", "/x"), ("POST", "/metrics"), ("PUT", "/metrics"), ("OPTIONS", "/metrics"), ("GET", "/metrics?name[]=up")])
        {
            await client.SendAsync(Request(method, target, "Content-Length: 0"));
            answers.Add(await client.ReadResponseAsync(head: method == "HEAD"));
        }

        answers.Select(a => a.Status).Should().Equal(404, 404, 404, 405, 405, 405, 200);
        answers.Where(a => a.Status == 405).Should().OnlyContain(a => a["Allow"] == "GET, HEAD" && a["Content-Length"] == "0");
        answers.Where(a => a.Status == 404).Should().OnlyContain(a => a["Content-Length"] == "0" && a["Allow"] == null);
        answers.Should().OnlyContain(a => a["Connection"] == null);
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order()
    {
        MetricsRegistry registry = Registry();
        await using MetricsServer server = await StartAsync(registry);
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        await client.SendAsync(Request("GET", "/metrics") + Request("GET", "/nope") + Request("HEAD", "/metrics") + "\r\n"
            + Request("DELETE", "/metrics") + Request("GET", "/metrics?again"));

        (await client.ReadResponseAsync()).Text.Should().Be(PrometheusTextSerializer.WriteToString(registry));
        (await client.ReadResponseAsync()).Status.Should().Be(404);
        (await client.ReadResponseAsync(head: true)).Status.Should().Be(200);
        (await client.ReadResponseAsync()).Status.Should().Be(405);
        (await client.ReadResponseAsync()).Text.Should().Be(PrometheusTextSerializer.WriteToString(registry));
    }

    [Fact]
    public async Task Requests_split_across_many_writes_are_read_whole()
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        foreach (char c in Request("GET", "/metrics", "User-Agent: Prometheus/3.0"))
        {
            await client.SendAsync(c.ToString());
        }

        (await client.ReadResponseAsync()).Status.Should().Be(200);
    }

    [Fact]
    public async Task Connection_close_is_honoured()
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        // What follows a request that closes is not answered.
        await client.SendAsync(Request("GET", "/metrics", "Connection: close") + Request("GET", "/metrics"));
        Response response = await client.ReadResponseAsync();

        response.Status.Should().Be(200);
        response["Connection"].Should().Be("close");
        (await client.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
    }

    [Fact]
    public async Task HTTP_1_0_closes_unless_keep_alive_is_asked()
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient plain = await ConnectAsync(server.BoundEndPoint!);
        using RawHttpClient kept = await ConnectAsync(server.BoundEndPoint!);

        await plain.SendAsync("GET /metrics HTTP/1.0\r\n\r\n");
        await kept.SendAsync("GET /metrics HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        Response closing = await plain.ReadResponseAsync();
        Response staying = await kept.ReadResponseAsync();
        await kept.SendAsync("HEAD /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        Response again = await kept.ReadResponseAsync(head: true);

        closing.Status.Should().Be(200);
        closing["Connection"].Should().Be("close");
        (await plain.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
        staying.Status.Should().Be(200);
        staying["Connection"].Should().Be("keep-alive", "an HTTP/1.0 client keeps the connection only when told");
        again.Status.Should().Be(200);
        closing.Head.Should().StartWith("HTTP/1.1 200 OK\r\n");
    }

    [Theory]
    [InlineData("GET /metrics\r\n\r\n")]
    [InlineData("GET /metrics HTTP/1.1\r\n\r\n")] // no Host
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")]
    [InlineData("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n")] // TLS to a cleartext port
    public async Task Malformed_heads_are_400_and_close(string request)
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        await client.SendAsync(request + Request("GET", "/metrics"));
        Response response = await client.ReadResponseAsync();

        response.Status.Should().Be(400);
        response["Connection"].Should().Be("close");
        response["Content-Length"].Should().Be("0");
        (await client.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
    }

    [Fact]
    public async Task A_head_over_16_KiB_is_431_and_closes_and_one_just_under_is_served()
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient under = await ConnectAsync(server.BoundEndPoint!);
        using RawHttpClient over = await ConnectAsync(server.BoundEndPoint!);
        string bare = Request("GET", "/metrics", "X-Pad: ");
        string fits = Request("GET", "/metrics", "X-Pad: " + new string('a', MetricsServer.MaxRequestHeadBytes - bare.Length));
        fits.Length.Should().Be(MetricsServer.MaxRequestHeadBytes);

        await under.SendAsync(fits);
        await over.SendAsync(Request("GET", "/metrics", "X-Pad: " + new string('a', MetricsServer.MaxRequestHeadBytes)));
        Response served = await under.ReadResponseAsync();
        Response refused = await over.ReadResponseAsync();

        served.Status.Should().Be(200);
        refused.Status.Should().Be(431);
        refused["Connection"].Should().Be("close");
        (await over.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
    }

    [Theory]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413)]
    [InlineData("HEAD /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 413)]
    [InlineData("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 405)]
    [InlineData("POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 404)]
    public async Task A_request_with_a_body_is_answered_and_the_connection_closes(string request, int status)
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        await client.SendAsync(request);
        Response response = await client.ReadResponseAsync(head: request.StartsWith("HEAD", StringComparison.Ordinal));

        response.Status.Should().Be(status);
        response["Connection"].Should().Be("close");
        (await client.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
    }

    [Fact]
    public async Task A_large_body_does_not_cost_the_client_its_answer()
    {
        // The body is never read; the server half-closes and reads on until the client closes, so its unread bytes
        // do not turn the close into a reset that would drop the 405 before the client reads it.
        var time = new ManualTimeProvider();
        await using MetricsServer server = await StartAsync(Registry(), time: time);
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);
        var half = new byte[2 * 1024 * 1024];

        await client.SendAsync("PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: " + (2 * half.Length) + "\r\n\r\n");
        // The server has answered and half-closed (its linger deadline is armed): one that closed outright now would
        // reset the connection on the body still coming, and the client reads its answer only after that.
        await WaitUntilAsync(() => Pending(time, MetricsServer.LingerTimeout), "the server lingers after its answer");
        await client.SendAsync(half).WaitAsync(s_closeBound);
        Response response = await client.ReadResponseAsync();
        await client.SendAsync(half).WaitAsync(s_closeBound);

        response.Status.Should().Be(405);
        response["Connection"].Should().Be("close");
    }

    [Theory]
    [InlineData("GET /metrics HTTP/2.0\r\n\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [InlineData("GET /metrics HTTP/1.2\r\nHost: x\r\n\r\n")]
    public async Task Other_HTTP_versions_are_505(string request)
    {
        await using MetricsServer server = await StartAsync(Registry());
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);

        await client.SendAsync(request);
        Response response = await client.ReadResponseAsync();

        response.Status.Should().Be(505);
        (await client.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
    }

    [Fact]
    public async Task At_most_16_connections_are_served_at_once()
    {
        await using MetricsServer server = await StartAsync(Registry());
        var held = new List<RawHttpClient>();
        try
        {
            for (int i = 0; i < MetricsServer.MaxConnections; i++)
            {
                RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);
                held.Add(client);
                await client.SendAsync(Request("HEAD", "/metrics"));
                (await client.ReadResponseAsync(head: true)).Status.Should().Be(200);
            }

            server.OpenConnections.Should().Be(MetricsServer.MaxConnections);
            using (RawHttpClient extra = await ConnectAsync(server.BoundEndPoint!))
            {
                (await extra.ClosedWithinAsync(s_closeBound)).Should().BeTrue("the 17th connection is closed at once");
            }

            held[0].Dispose();
            await WaitUntilAsync(() => server.OpenConnections < MetricsServer.MaxConnections);
            using RawHttpClient next = await ConnectAsync(server.BoundEndPoint!);
            await next.SendAsync(Request("GET", "/metrics"));
            (await next.ReadResponseAsync()).Status.Should().Be(200, "a freed place is taken by the next connection");
        }
        finally
        {
            held.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_connection_that_sends_no_complete_head_in_time_is_closed()
    {
        var time = new ManualTimeProvider();
        TimeSpan headTimeout = TimeSpan.FromMilliseconds(200), step = TimeSpan.FromMilliseconds(50);
        await using MetricsServer server = await StartAsync(Registry(), headTimeout, TimeSpan.FromSeconds(30), time);
        using RawHttpClient silent = await ConnectAsync(server.BoundEndPoint!);
        using RawHttpClient trickling = await ConnectAsync(server.BoundEndPoint!);
        await WaitUntilAsync(() => Pending(time, headTimeout, headTimeout), "both head deadlines are armed from accept");
        string request = Request("GET", "/metrics", "X-Slow: " + new string('a', 100));

        // A byte every 50 ms, each read by the server before the clock moves on: always sending, never done.
        for (int sent = 1; sent <= 3; sent++)
        {
            await TrickleAsync(sent);
            time.Advance(step);
        }

        time.PendingTimers.Should().Equal([step, step], "150 ms in, the bytes moved neither deadline");
        server.OpenConnections.Should().Be(2);
        (await silent.ClosedWithinAsync(TimeSpan.Zero)).Should().BeFalse();
        (await trickling.ClosedWithinAsync(TimeSpan.Zero)).Should().BeFalse();
        await TrickleAsync(4);
        time.Advance(step);
        (await silent.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
        (await trickling.ClosedWithinAsync(s_closeBound)).Should().BeTrue();

        async Task TrickleAsync(int sent)
        {
            await trickling.SendAsync(request[sent - 1].ToString());
            await WaitUntilAsync(() => server.ReceivedBytes == sent, "the server reads each byte");
        }
    }

    [Fact]
    public async Task An_idle_keep_alive_connection_outlives_the_head_timeout_and_closes_at_the_idle_timeout()
    {
        var time = new ManualTimeProvider();
        TimeSpan headTimeout = TimeSpan.FromMilliseconds(200), idleTimeout = TimeSpan.FromSeconds(2);
        await using MetricsServer server = await StartAsync(Registry(), headTimeout, idleTimeout, time);
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);
        await client.SendAsync(Request("HEAD", "/metrics"));
        await client.ReadResponseAsync(head: true);
        await WaitUntilAsync(() => Pending(time, idleTimeout), "the idle deadline is armed after the answer");

        time.Advance(headTimeout + headTimeout);

        (await client.ClosedWithinAsync(TimeSpan.Zero)).Should().BeFalse("idle between requests is not a stalled head");
        await client.SendAsync(Request("HEAD", "/metrics"));
        (await client.ReadResponseAsync(head: true)).Status.Should().Be(200);
        await WaitUntilAsync(() => Pending(time, idleTimeout), "the idle deadline is armed again after the answer");
        time.Advance(idleTimeout - TimeSpan.FromMilliseconds(1));
        (await client.ClosedWithinAsync(TimeSpan.Zero)).Should().BeFalse();
        time.PendingTimers.Should().Equal([TimeSpan.FromMilliseconds(1)], "the idle timeout is not yet over");
        time.Advance(TimeSpan.FromMilliseconds(1));
        (await client.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
    }

    [Fact]
    public async Task Stopping_closes_the_listener_and_every_connection_promptly()
    {
        var server = new MetricsServer(Registry(), new MetricsEndpoint(IPAddress.Loopback, 0));
        await server.StartAsync();
        IPEndPoint bound = server.BoundEndPoint!;
        using RawHttpClient idle = await ConnectAsync(bound);
        await idle.SendAsync(Request("HEAD", "/metrics"));
        await idle.ReadResponseAsync(head: true);
        using RawHttpClient halfway = await ConnectAsync(bound);
        await halfway.SendAsync("GET /metrics HTTP/1.1\r\nHost");
        await WaitUntilAsync(() => server.OpenConnections == 2);
        var clock = Stopwatch.StartNew();

        await server.StopAsync().WaitAsync(s_closeBound);

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));
        server.OpenConnections.Should().Be(0);
        (await idle.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
        (await halfway.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
        Func<Task> connect = () => ConnectAsync(bound);
        await connect.Should().ThrowAsync<SocketException>();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Misbehaving_clients_do_not_disturb_the_server()
    {
        MetricsRegistry registry = Registry(series: 20_000); // over a MiB, so a reader can vanish mid-body
        await using MetricsServer server = await StartAsync(registry);

        // A reset mid-head, a reset mid-response, binary noise, and a client that stops reading a response.
        using (RawHttpClient client = await ConnectAsync(server.BoundEndPoint!))
        {
            await client.SendAsync("GET /metr");
            client.Socket.LingerState = new LingerOption(true, 0);
        }

        using (RawHttpClient client = await ConnectAsync(server.BoundEndPoint!))
        {
            await client.SendAsync(Request("GET", "/metrics"));
            (await client.ReceiveSomeAsync()).Should().BeTrue("the response has begun");
            client.Socket.LingerState = new LingerOption(true, 0);
        }

        using (RawHttpClient client = await ConnectAsync(server.BoundEndPoint!))
        {
            await client.SendAsync(Enumerable.Range(0, 40_000).Select(i => (byte)(i * 7919)).ToArray());
        }

        using RawHttpClient stalled = await ConnectAsync(server.BoundEndPoint!);
        stalled.Socket.ReceiveBufferSize = 4096;
        await stalled.SendAsync(Request("GET", "/metrics"));

        using RawHttpClient good = await ConnectAsync(server.BoundEndPoint!);
        await good.SendAsync(Request("GET", "/metrics"));
        (await good.ReadResponseAsync()).Text.Should().Be(PrometheusTextSerializer.WriteToString(registry));
        await server.StopAsync().WaitAsync(s_closeBound);
    }

    [Fact]
    public async Task A_restart_rebinds_while_the_last_connections_are_in_TIME_WAIT()
    {
        int port;
        await using (MetricsServer first = await StartAsync(Registry()))
        {
            port = first.BoundEndPoint!.Port;
            using RawHttpClient client = await ConnectAsync(first.BoundEndPoint!);
            // The server closes first, so its side of the connection is the one left in TIME_WAIT.
            await client.SendAsync(Request("GET", "/metrics", "Connection: close"));
            await client.ReadResponseAsync();
            (await client.ClosedWithinAsync(s_closeBound)).Should().BeTrue();
        }

        await using var second = new MetricsServer(Registry(), new MetricsEndpoint(IPAddress.Loopback, port));
        await second.StartAsync();
        second.BoundEndPoint!.Port.Should().Be(port);
    }

    [Fact]
    public async Task Every_interface_is_IPv6_any_in_dual_mode_or_IPv4_any()
    {
        await using var server = new MetricsServer(Registry(), MetricsEndpoint.Parse(":0"));
        await server.StartAsync();
        IPEndPoint bound = server.BoundEndPoint!;

        bound.Port.Should().BeGreaterThan(0);
        bound.Address.Should().Be(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any);
        using RawHttpClient v4 = await ConnectAsync(new IPEndPoint(IPAddress.Loopback, bound.Port));
        await v4.SendAsync(Request("HEAD", "/metrics"));
        (await v4.ReadResponseAsync(head: true)).Status.Should().Be(200, "IPv4 clients reach the dual-mode socket");
        if (Socket.OSSupportsIPv6 && MetricsServerTests.HasIPv6Loopback())
        {
            using RawHttpClient v6 = await ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, bound.Port));
            await v6.SendAsync(Request("HEAD", "/metrics"));
            (await v6.ReadResponseAsync(head: true)).Status.Should().Be(200);
        }
    }

    [Fact]
    public async Task An_address_the_host_does_not_have_is_one_clear_line()
    {
        // TEST-NET-3 (RFC 5737): on no host's interfaces.
        await using var server = new MetricsServer(Registry(), MetricsEndpoint.Parse("203.0.113.7:0"));

        Func<Task> start = () => server.StartAsync();

        (await start.Should().ThrowAsync<MetricsServerException>())
            .Which.Message.Should().StartWith("cannot listen on 203.0.113.7:0: ").And.NotContain("\n");
        server.BoundEndPoint.Should().BeNull();
    }

    internal static MetricsRegistry Registry(int series = 3)
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "t", "dev");
        for (int i = 0; i < series; i++)
        {
            f.WithLabels($"eth{i}-{new string('x', 100)}").Add(i);
        }

        return registry;
    }

    /// <summary>A server on loopback whose deadlines run on <paramref name="time"/>, or on a clock that never moves.</summary>
    private static async Task<MetricsServer> StartAsync(MetricsRegistry registry, TimeSpan? headTimeout = null, TimeSpan? idleTimeout = null, ManualTimeProvider? time = null)
    {
        var server = new MetricsServer(registry, new MetricsEndpoint(IPAddress.Loopback, 0), headTimeout ?? MetricsServer.DefaultHeadTimeout, idleTimeout ?? MetricsServer.DefaultIdleTimeout, time ?? new ManualTimeProvider());
        await server.StartAsync();
        return server;
    }

    /// <summary>
    /// Until the server's own threads bring <paramref name="condition"/> about: yields between looks rather than
    /// sleeping, and fails past a real-time bound.
    /// </summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string because = "the condition should hold soon")
    {
        var bound = Stopwatch.StartNew();
        while (!condition())
        {
            bound.Elapsed.Should().BeLessThan(s_closeBound, because);
            await Task.Yield();
        }
    }

    /// <summary>Whether the armed timers are exactly these, by time left.</summary>
    private static bool Pending(ManualTimeProvider time, params TimeSpan[] left) => time.PendingTimers.SequenceEqual(left);

}

/// <summary>Alone, so the process-wide allocation count is this test's own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsAllocationCollection
{
    public const string Name = "metrics allocations";
}

[Collection(MetricsAllocationCollection.Name)]
public sealed class MetricsServerAllocationTests
{
    [Fact]
    public async Task A_connection_scrapes_a_large_exposition_again_and_again_into_the_same_buffer()
    {
        MetricsRegistry registry = MetricsServerHttpTests.Registry(series: 20_000);
        await using var server = new MetricsServer(registry, new MetricsEndpoint(IPAddress.Loopback, 0));
        await server.StartAsync();
        using RawHttpClient client = await ConnectAsync(server.BoundEndPoint!);
        await client.SendAsync(Request("GET", "/metrics"));
        int length = await client.DiscardResponseAsync(); // the first scrape grows the connection's buffer
        length.Should().BeGreaterThan(1_000_000);

        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 5; i++)
        {
            await client.SendAsync(Request("GET", "/metrics"));
            (await client.DiscardResponseAsync()).Should().Be(length);
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        allocated.Should().BeLessThan(length / 4, "five scrapes of {0} bytes reuse one buffer", length);
    }
}
