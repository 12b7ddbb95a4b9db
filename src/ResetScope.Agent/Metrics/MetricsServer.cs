using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ResetScope.Agent.Metrics;

/// <summary>
/// Serves the registry at <c>GET /metrics</c> (and HEAD) in the text exposition format; any other path is 404,
/// any other method on /metrics 405. A small HTTP/1.1 server of its own over sockets rather than Kestrel, which
/// cost 1.6 MiB of the native binary, its own pools and, on JIT installs, the ASP.NET Core shared runtime. Keep-alive
/// and pipelining as Prometheus uses them; no request bodies; connections, head size and time bounded. Nothing reads
/// environment variables or files that could move the endpoint, and nothing logs (the agent's output is its own).
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    /// <summary>Connections served at once; one more is accepted and closed at once (counted nowhere).</summary>
    internal const int MaxConnections = 16;

    /// <summary>The most a request head (request line, header lines and the blank line) may take; past it, 431.</summary>
    internal const int MaxRequestHeadBytes = 16 * 1024;

    /// <summary>From a connection's accept, or a request's first byte, until its head is complete (slowloris).</summary>
    internal static readonly TimeSpan DefaultHeadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A keep-alive connection with no request started (Kestrel's default, which scrapers are used to).</summary>
    internal static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(130);

    /// <summary>How long a closing connection reads on after its last answer (or the head timeout, when shorter).</summary>
    internal static readonly TimeSpan LingerTimeout = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan s_acceptRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly byte[] s_contentType = System.Text.Encoding.ASCII.GetBytes(PrometheusTextSerializer.ContentType);

    private readonly MetricsRegistry _registry;
    private readonly TimeSpan _headTimeout;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _lingerTimeout;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly HashSet<Connection> _connections = [];
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;
    private CancellationTokenSource? _stopping;
    private long _receivedBytes;

    public MetricsServer(MetricsRegistry registry, MetricsEndpoint endpoint)
        : this(registry, endpoint, DefaultHeadTimeout, DefaultIdleTimeout)
    {
    }

    /// <summary>
    /// With other bounds and clock (tests): <paramref name="headTimeout"/> also bounds each response's send; every
    /// deadline and the accept retry's pause run on <paramref name="timeProvider"/> (the system's when null).
    /// </summary>
    internal MetricsServer(MetricsRegistry registry, MetricsEndpoint endpoint, TimeSpan headTimeout, TimeSpan idleTimeout, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(headTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idleTimeout, TimeSpan.Zero);
        _registry = registry;
        Endpoint = endpoint;
        _headTimeout = headTimeout;
        _idleTimeout = idleTimeout;
        _lingerTimeout = headTimeout < LingerTimeout ? headTimeout : LingerTimeout;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The endpoint asked for.</summary>
    public MetricsEndpoint Endpoint { get; }

    /// <summary>The endpoint bound once started (the real port when <see cref="Endpoint"/> asked for port 0).</summary>
    public IPEndPoint? BoundEndPoint { get; private set; }

    /// <summary>Connections open now (tests).</summary>
    internal int OpenConnections
    {
        get
        {
            lock (_lock)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Bytes read from clients so far (tests: to know the server has read what a client sent).</summary>
    internal long ReceivedBytes => Interlocked.Read(ref _receivedBytes);

    /// <summary>Binds and starts serving. A taken port is a <see cref="MetricsServerException"/> with a one-line message.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_listener is not null)
        {
            throw new InvalidOperationException("the metrics server is already started");
        }

        Socket listener = Bind();
        _listener = listener;
        BoundEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _stopping = new CancellationTokenSource();
        _accepting = AcceptAsync(listener, _stopping.Token);
        return Task.CompletedTask;
    }

    /// <summary>Closes the listener and every open connection, then waits for their tasks to end.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_listener is not { } listener)
        {
            return;
        }

        _listener = null;
        _stopping!.Cancel();
        listener.Dispose();
        await _accepting.WaitAsync(cancellationToken).ConfigureAwait(false);

        // The accept loop has ended, so no connection joins after this snapshot.
        Connection[] open;
        lock (_lock)
        {
            open = [.. _connections];
        }

        foreach (Connection connection in open)
        {
            connection.Abort();
        }

        await Task.WhenAll(open.Select(c => c.Running)).WaitAsync(cancellationToken).ConfigureAwait(false);
        _stopping.Dispose();
        _stopping = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private Socket Bind()
    {
        try
        {
            if (Endpoint.Address is { } address)
            {
                return Listen(new IPEndPoint(address, Endpoint.Port), dualMode: false);
            }

            // Every interface as Kestrel's ListenAnyIP took it: IPv6's any address in dual mode (IPv4 clients too),
            // IPv4's where the host has no IPv6.
            if (Socket.OSSupportsIPv6)
            {
                try
                {
                    return Listen(new IPEndPoint(IPAddress.IPv6Any, Endpoint.Port), dualMode: true);
                }
                catch (SocketException ex) when (ex.SocketErrorCode != SocketError.AddressAlreadyInUse)
                {
                }
            }

            return Listen(new IPEndPoint(IPAddress.Any, Endpoint.Port), dualMode: false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new MetricsServerException($"{Endpoint} is in use; pass --metrics-listen to bind elsewhere", ex);
        }
        catch (SocketException ex)
        {
            throw new MetricsServerException($"cannot listen on {Endpoint}: {ex.Message}", ex);
        }
    }

    private static Socket Listen(IPEndPoint endPoint, bool dualMode)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualMode)
            {
                socket.DualMode = true;
            }

            // .NET sets SO_REUSEADDR on Unix: a restart rebinds while the last run's connections sit in TIME_WAIT.
            socket.Bind(endPoint);
            socket.Listen(512);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptAsync(Socket listener, CancellationToken stopping)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (stopping.IsCancellationRequested || ex is ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // A client that reset while in the backlog is gone; anything else (out of descriptors, say) is retried
                // after a pause rather than in a spin.
                if (ex.SocketErrorCode is not (SocketError.ConnectionReset or SocketError.ConnectionAborted))
                {
                    try
                    {
                        await Task.Delay(s_acceptRetryDelay, _time, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }

                continue;
            }

            var connection = new Connection(this, client);
            bool admitted;
            lock (_lock)
            {
                admitted = _connections.Count < MaxConnections && _connections.Add(connection);
            }

            if (!admitted)
            {
                // Over the bound: closed at once, so a flood of connections costs a descriptor for a moment only.
                client.Dispose();
                continue;
            }

            connection.Running = connection.RunAsync();
        }
    }

    private void Remove(Connection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
        }
    }

    private ReadOnlyMemory<byte> Respond(HttpRequestHead request, ResponseBuffer output, out bool keepAlive)
    {
        output.Reset();
        keepAlive = request.KeepAlive;
        int status = request.Route switch
        {
            HttpRoute.Metrics or HttpRoute.MetricsHead => 200,
            HttpRoute.NotFound => 404,
            HttpRoute.MethodNotAllowed => 405,
            HttpRoute.BodyNotAccepted => 413,
            HttpRoute.VersionNotSupported => 505,
            _ => 400,
        };
        if (status == 200)
        {
            try
            {
                // HEAD too, for the Content-Length a GET would have.
                PrometheusTextSerializer.Write(output, _registry);
            }
            catch (Exception)
            {
                output.Reset();
                status = 500;
            }
        }

        keepAlive &= status is 200 or 404 or 405;
        return Complete(output, status, keepAlive, request.Http11, withBody: request.Route == HttpRoute.Metrics && status == 200);
    }

    /// <summary>The head for <paramref name="status"/>; for a 200, the body is already in <paramref name="output"/>.</summary>
    private static ReadOnlyMemory<byte> Complete(ResponseBuffer output, int status, bool keepAlive, bool http11, bool withBody)
    {
        Span<byte> head = stackalloc byte[ResponseBuffer.HeadRoom];
        var w = new HeadWriter(head);
        w.Write(status switch
        {
            200 => "HTTP/1.1 200 OK\r\n"u8,
            400 => "HTTP/1.1 400 Bad Request\r\n"u8,
            404 => "HTTP/1.1 404 Not Found\r\n"u8,
            405 => "HTTP/1.1 405 Method Not Allowed\r\n"u8,
            413 => "HTTP/1.1 413 Content Too Large\r\n"u8,
            431 => "HTTP/1.1 431 Request Header Fields Too Large\r\n"u8,
            505 => "HTTP/1.1 505 HTTP Version Not Supported\r\n"u8,
            _ => "HTTP/1.1 500 Internal Server Error\r\n"u8,
        });
        w.Write("Date: "u8);
        w.Advance(DateTime.UtcNow.TryFormat(w.Rest, out int dateLength, "r", CultureInfo.InvariantCulture) ? dateLength : 0);
        w.Write("\r\n"u8);
        if (status == 200)
        {
            w.Write("Content-Type: "u8);
            w.Write(s_contentType);
            w.Write("\r\nCache-Control: no-store\r\n"u8);
        }
        else if (status == 405)
        {
            w.Write("Allow: GET, HEAD\r\n"u8);
        }

        w.Write("Content-Length: "u8);
        w.Advance(output.BodyLength.TryFormat(w.Rest, out int lengthDigits, default, CultureInfo.InvariantCulture) ? lengthDigits : 0);
        w.Write("\r\n"u8);
        if (!keepAlive)
        {
            w.Write("Connection: close\r\n"u8);
        }
        else if (!http11)
        {
            w.Write("Connection: keep-alive\r\n"u8);
        }

        w.Write("\r\n"u8);
        return output.Complete(w.Written, withBody);
    }

    private ref struct HeadWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _length;

        public readonly Span<byte> Rest => _buffer[_length..];

        public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

        public void Write(ReadOnlySpan<byte> text)
        {
            text.CopyTo(_buffer[_length..]);
            _length += text.Length;
        }

        public void Advance(int count) => _length += count;
    }

    /// <summary>One client connection: requests read and answered in order until either side closes or a bound is hit.</summary>
    private sealed class Connection(MetricsServer server, Socket socket)
    {
        public Task Running { get; set; } = Task.CompletedTask;

        /// <summary>Pending reads and sends end with an exception, which <see cref="RunAsync"/> takes as the close.</summary>
        public void Abort() => socket.Dispose();

        public async Task RunAsync()
        {
            byte[] input = ArrayPool<byte>.Shared.Rent(MaxRequestHeadBytes);
            var deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, server._time);
            try
            {
                socket.NoDelay = true;
                await ServeAsync(input.AsMemory(0, MaxRequestHeadBytes), deadline).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A reset, a stalled client past its deadline, the server stopping, or a fault serving this connection:
                // whatever it was, it concerns this connection alone, which closes; the agent and the others go on.
            }
            finally
            {
                socket.Dispose();
                deadline.Dispose();
                ArrayPool<byte>.Shared.Return(input);
                server.Remove(this);
            }
        }

        private async Task ServeAsync(Memory<byte> input, CancellationTokenSource deadline)
        {
            // input[start..end] is received and not yet answered; input[start..scanned] holds no end of head.
            int start = 0, end = 0, scanned = 0;
            bool firstRequest = true;
            ResponseBuffer? output = null;
            while (true)
            {
                // A new connection's head is due within the head timeout from accept; between requests the connection
                // may idle longer, and the head timeout starts with the next request's first byte.
                bool headClockRunning = firstRequest || end > start;
                Arm(deadline, headClockRunning ? server._headTimeout : server._idleTimeout);
                int headLength;
                while (true)
                {
                    // Empty lines before a request line are skipped (RFC 9112 §2.2).
                    while (end - start >= 2 && input.Span[start] == '\r' && input.Span[start + 1] == '\n')
                    {
                        start += 2;
                    }

                    scanned = Math.Max(scanned, start);
                    int found = input.Span[scanned..end].IndexOf("\r\n\r\n"u8);
                    if (found >= 0)
                    {
                        headLength = scanned + found - start;
                        break;
                    }

                    scanned = Math.Max(start, end - 3);
                    if (end - start >= MaxRequestHeadBytes)
                    {
                        output ??= new ResponseBuffer();
                        output.Reset();
                        await SendAsync(Complete(output, 431, keepAlive: false, http11: true, withBody: false), deadline).ConfigureAwait(false);
                        await LingerAsync(input, deadline).ConfigureAwait(false);
                        return;
                    }

                    if (end == input.Length)
                    {
                        input[start..end].CopyTo(input);
                        (end, scanned, start) = (end - start, scanned - start, 0);
                    }

                    int received = await socket.ReceiveAsync(input[end..], SocketFlags.None, deadline.Token).ConfigureAwait(false);
                    if (received == 0)
                    {
                        return; // the client closed
                    }

                    end += received;
                    Interlocked.Add(ref server._receivedBytes, received);
                    if (!headClockRunning)
                    {
                        Arm(deadline, server._headTimeout);
                        headClockRunning = true;
                    }
                }

                firstRequest = false;
                HttpRequestHead request = HttpRequestHead.Parse(input.Span.Slice(start, headLength));
                start += headLength + 4;
                if (start == end)
                {
                    start = end = 0;
                }

                scanned = start;
                output ??= new ResponseBuffer();
                ReadOnlyMemory<byte> response = server.Respond(request, output, out bool keepAlive);
                await SendAsync(response, deadline).ConfigureAwait(false);
                if (!keepAlive)
                {
                    await LingerAsync(input, deadline).ConfigureAwait(false);
                    return;
                }
            }
        }

        private async Task SendAsync(ReadOnlyMemory<byte> response, CancellationTokenSource deadline)
        {
            // A client that does not take its response is bounded like one that does not send its request.
            Arm(deadline, server._headTimeout);
            await socket.SendAsync(response, SocketFlags.None, deadline.Token).ConfigureAwait(false);
        }

        // Closing a socket with unread bytes in it makes the kernel send a reset, and a client may then lose the
        // response it has not read yet (a body this server never reads, requests pipelined after a close). So: half
        // close, and read whatever still comes until the client closes too, for a second at most.
        private async Task LingerAsync(Memory<byte> scratch, CancellationTokenSource deadline)
        {
            socket.Shutdown(SocketShutdown.Send);
            Arm(deadline, server._lingerTimeout);
            int received;
            while ((received = await socket.ReceiveAsync(scratch, SocketFlags.None, deadline.Token).ConfigureAwait(false)) > 0)
            {
                Interlocked.Add(ref server._receivedBytes, received);
            }
        }

        private static void Arm(CancellationTokenSource deadline, TimeSpan after)
        {
            // Set only when the last deadline passed just as its operation completed: the connection is out of time.
            // Not TryReset, which always fails once a TimeProvider other than the system's made the timer; CancelAfter
            // re-arms it, and each socket operation drops its own registration on the token when it completes.
            deadline.Token.ThrowIfCancellationRequested();
            deadline.CancelAfter(after);
        }
    }

}

/// <summary>The metrics endpoint cannot be served; the message is one line meant for the user.</summary>
public sealed class MetricsServerException(string message, Exception? innerException = null) : Exception(message, innerException);
