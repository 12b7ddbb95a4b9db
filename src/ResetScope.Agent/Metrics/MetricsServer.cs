using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ResetScope.Agent.Metrics;

/// <summary>
/// Serves the registry at <c>GET /metrics</c> (and HEAD) in the text exposition format; any other path is 404,
/// any other method on /metrics 405. Raw Kestrel, no generic host: nothing reads ASPNETCORE_* variables or
/// appsettings files that could move the endpoint, and nothing logs (the agent's output is its own).
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    private readonly MetricsRegistry _registry;
    private KestrelServer? _server;
    private ServiceProvider? _services;

    public MetricsServer(MetricsRegistry registry, MetricsEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        Endpoint = endpoint;
    }

    /// <summary>The endpoint asked for.</summary>
    public MetricsEndpoint Endpoint { get; }

    /// <summary>The endpoint bound once started (the real port when <see cref="Endpoint"/> asked for port 0).</summary>
    public IPEndPoint? BoundEndPoint { get; private set; }

    /// <summary>Binds and starts serving. A taken port is a <see cref="MetricsServerException"/> with a one-line message.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_server is not null)
        {
            throw new InvalidOperationException("the metrics server is already started");
        }

        _services = new ServiceCollection().BuildServiceProvider();
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = _services,
        };
        options.Limits.MaxRequestBodySize = 0;
        options.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
        ListenOptions? listen = null;
        if (Endpoint.Address is { } address)
        {
            options.Listen(address, Endpoint.Port, o => listen = o);
        }
        else
        {
            options.ListenAnyIP(Endpoint.Port, o => listen = o);
        }

        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance);
        var server = new KestrelServer(Options.Create(options), transport, NullLoggerFactory.Instance);
        try
        {
            await server.StartAsync(new Application(_registry), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsAddressInUse(ex))
        {
            server.Dispose();
            await DisposeServicesAsync().ConfigureAwait(false);
            throw new MetricsServerException($"{Endpoint} is in use; pass --metrics-listen to bind elsewhere", ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            server.Dispose();
            await DisposeServicesAsync().ConfigureAwait(false);
            throw new MetricsServerException($"cannot listen on {Endpoint}: {(ex.InnerException ?? ex).Message}", ex);
        }

        _server = server;
        BoundEndPoint = listen?.IPEndPoint;
    }

    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_server is { } server)
        {
            _server = null;
            await server.StopAsync(cancellationToken).ConfigureAwait(false);
            server.Dispose();
        }

        await DisposeServicesAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task DisposeServicesAsync()
    {
        if (_services is { } services)
        {
            _services = null;
            await services.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static bool IsAddressInUse(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is AddressInUseException || ex is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Application(MetricsRegistry registry) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }

        public async Task ProcessRequestAsync(HttpContext context)
        {
            HttpRequest request = context.Request;
            HttpResponse response = context.Response;
            if (request.Path != "/metrics")
            {
                response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            bool head = HttpMethods.IsHead(request.Method);
            if (!head && !HttpMethods.IsGet(request.Method))
            {
                response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                response.Headers.Allow = "GET, HEAD";
                return;
            }

            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = PrometheusTextSerializer.ContentType;
            response.Headers.CacheControl = "no-store";
            if (head)
            {
                return;
            }

            // Straight into Kestrel's pipe: the serializer writes UTF-8 into the response buffers.
            PrometheusTextSerializer.Write(response.BodyWriter, registry);
            await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }
}

/// <summary>The metrics endpoint cannot be served; the message is one line meant for the user.</summary>
public sealed class MetricsServerException(string message, Exception? innerException = null) : Exception(message, innerException);
