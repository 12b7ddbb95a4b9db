using System.Text;
using ResetScope.Agent.Metrics;

namespace ResetScope.Agent.Tests.Metrics;

public sealed class HttpRequestHeadTests
{
    [Theory]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x", nameof(HttpRoute.Metrics), true)]
    [InlineData("HEAD /metrics HTTP/1.1\r\nHost: x", nameof(HttpRoute.MetricsHead), true)]
    [InlineData("GET /metrics?x=1&y[]=2 HTTP/1.1\r\nHost: x", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET /metrics? HTTP/1.1\r\nHost: x", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET http://node:9465/metrics?x HTTP/1.1\r\nHost: node:9465", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET HTTP://node/metrics HTTP/1.1\r\nHost: node", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET http://node HTTP/1.1\r\nHost: node", nameof(HttpRoute.NotFound), true)]
    [InlineData("GET / HTTP/1.1\r\nHost: x", nameof(HttpRoute.NotFound), true)]
    [InlineData("GET /metrics/ HTTP/1.1\r\nHost: x", nameof(HttpRoute.NotFound), true)]
    [InlineData("GET /Metrics HTTP/1.1\r\nHost: x", nameof(HttpRoute.NotFound), true)]
    [InlineData("GET /metricsx HTTP/1.1\r\nHost: x", nameof(HttpRoute.NotFound), true)]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: x", nameof(HttpRoute.NotFound), true)]
    [InlineData("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0", nameof(HttpRoute.MethodNotAllowed), true)]
    [InlineData("get /metrics HTTP/1.1\r\nHost: x", nameof(HttpRoute.MethodNotAllowed), true)]
    [InlineData("DELETE /metrics HTTP/1.1\r\nHost: x", nameof(HttpRoute.MethodNotAllowed), true)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close", nameof(HttpRoute.Metrics), false)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nconnection: Keep-Alive, CLOSE", nameof(HttpRoute.Metrics), false)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET /metrics HTTP/1.0", nameof(HttpRoute.Metrics), false)]
    [InlineData("GET /metrics HTTP/1.0\r\nConnection: keep-alive", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET /metrics HTTP/1.0\r\nConnection:keep-alive\r\nHost: x", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost:\t x \t\r\nX-Empty:\r\nX-Obs: caf\u00e9", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 000", nameof(HttpRoute.Metrics), true)]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0", nameof(HttpRoute.Metrics), true)]
    public void Well_formed_heads_are_routed(string head, string route, bool keepAlive)
    {
        HttpRequestHead request = Parse(head);

        request.Route.ToString().Should().Be(route);
        request.KeepAlive.Should().Be(keepAlive);
    }

    [Theory]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked")]
    [InlineData("HEAD /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999")]
    public void A_body_on_GET_or_HEAD_metrics_is_refused_and_closes(string head)
    {
        HttpRequestHead request = Parse(head);

        request.Route.Should().Be(HttpRoute.BodyNotAccepted);
        request.KeepAlive.Should().BeFalse("the body is never read, so the next request cannot be found");
    }

    [Theory]
    [InlineData("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1", nameof(HttpRoute.MethodNotAllowed))]
    [InlineData("POST /other HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked", nameof(HttpRoute.NotFound))]
    public void A_body_elsewhere_keeps_its_route_and_closes(string head, string route)
    {
        HttpRequestHead request = Parse(head);

        request.Route.ToString().Should().Be(route);
        request.KeepAlive.Should().BeFalse();
    }

    [Theory]
    [InlineData("")]
    [InlineData("GET")]
    [InlineData("GET /metrics")]
    [InlineData("GET /metrics HTTP/1.1 ")]
    [InlineData("GET  /metrics HTTP/1.1\r\nHost: x")]
    [InlineData(" GET /metrics HTTP/1.1\r\nHost: x")]
    [InlineData("GET /metrics  HTTP/1.1\r\nHost: x")]
    [InlineData("GET\t/metrics HTTP/1.1\r\nHost: x")]
    [InlineData("G(T /metrics HTTP/1.1\r\nHost: x")]
    [InlineData("GET /met rics HTTP/1.1\r\nHost: x")]
    [InlineData("GET /m\u00e9trics HTTP/1.1\r\nHost: x")]
    [InlineData("GET metrics HTTP/1.1\r\nHost: x")]
    [InlineData("GET http:///metrics HTTP/1.1\r\nHost: x")]
    [InlineData("GET * HTTP/1.1\r\nHost: x")]
    [InlineData("GET /metrics http/1.1\r\nHost: x")]
    [InlineData("GET /metrics HTTP/1.1x\r\nHost: x")]
    [InlineData("GET /metrics HTTP/11\r\nHost: x")]
    [InlineData("GET /metrics HTTP/a.1\r\nHost: x")]
    [InlineData("GET /metrics HTTP/1.1")] // no Host on HTTP/1.1
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nHost: y")]
    [InlineData("GET /metrics HTTP/1.0\r\nHost: x\r\nHost: x")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nBad Name: y")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost : x")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\n folded")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nNoColon")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\n: empty name")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\u0001b")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\u007fb")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\nb")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\rb")]
    [InlineData("GET /metrics HTTP/1.1\nHost: x")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length:")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 0")]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 1")]
    public void Malformed_heads_are_bad_requests(string head)
    {
        HttpRequestHead request = Parse(head);

        request.Route.Should().Be(HttpRoute.BadRequest);
        request.KeepAlive.Should().BeFalse();
    }

    [Theory]
    [InlineData("GET /metrics HTTP/2.0")]
    [InlineData("PRI * HTTP/2.0")]
    [InlineData("GET /metrics HTTP/1.2\r\nHost: x")]
    [InlineData("GET /metrics HTTP/0.9")]
    [InlineData("GET /metrics HTTP/3.0\r\nHost: x")]
    public void Other_versions_are_not_supported(string head)
    {
        HttpRequestHead request = Parse(head);

        request.Route.Should().Be(HttpRoute.VersionNotSupported);
        request.KeepAlive.Should().BeFalse();
    }

    private static HttpRequestHead Parse(string head) => HttpRequestHead.Parse(Encoding.Latin1.GetBytes(head));
}
