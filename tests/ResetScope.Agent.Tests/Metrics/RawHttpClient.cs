using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ResetScope.Agent.Tests.Metrics;

/// <summary>
/// A client at the byte level, for what HttpClient will not send (pipelining, malformed heads, HTTP/1.0, stalls):
/// writes raw text, reads responses one at a time by their Content-Length, and tells when the server closed.
/// </summary>
internal sealed class RawHttpClient : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawHttpClient(Socket socket) => _socket = socket;

    public sealed record Response(int Status, string Head, IReadOnlyDictionary<string, string> Headers, byte[] Body)
    {
        public string? this[string name] => Headers.TryGetValue(name, out string? value) ? value : null;

        public string Text => Encoding.UTF8.GetString(Body);
    }

    public static async Task<RawHttpClient> ConnectAsync(IPEndPoint server)
    {
        IPEndPoint to = server.Address.Equals(IPAddress.IPv6Any) || server.Address.Equals(IPAddress.Any)
            ? new IPEndPoint(IPAddress.Loopback, server.Port)
            : server;
        var socket = new Socket(to.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(to);
        return new RawHttpClient(socket);
    }

    public Socket Socket => _socket;

    public async Task SendAsync(string text) => await SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>A GET or HEAD of <paramref name="target"/> with a Host header and any extra header lines.</summary>
    public static string Request(string method, string target, params string[] headers) =>
        $"{method} {target} HTTP/1.1\r\nHost: test\r\n{string.Concat(headers.Select(h => h + "\r\n"))}\r\n";

    /// <summary>The next response; no body is read after a HEAD (<paramref name="head"/>), whatever its Content-Length.</summary>
    public async Task<Response> ReadResponseAsync(bool head = false)
    {
        int headEnd;
        while ((headEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (!await FillAsync())
            {
                throw new EndOfStreamException($"the server closed before a whole response head ({_end - _start} bytes)");
            }
        }

        string text = Encoding.Latin1.GetString(_buffer, _start, headEnd);
        _start += headEnd + 4;
        string[] lines = text.Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(line[..colon], line[(colon + 1)..].Trim());
        }

        int length = head || !headers.TryGetValue("Content-Length", out string? cl) ? 0 : int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture);
        while (_end - _start < length)
        {
            if (!await FillAsync())
            {
                throw new EndOfStreamException("the server closed inside a response body");
            }
        }

        byte[] body = _buffer.AsSpan(_start, length).ToArray();
        _start += length;
        return new Response(int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), text, headers, body);
    }

    /// <summary>Reads a response and throws it away into the reused buffer (allocation tests); its body length.</summary>
    public async Task<int> DiscardResponseAsync()
    {
        int headEnd;
        while ((headEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            await FillAsync();
        }

        ReadOnlySpan<byte> head = _buffer.AsSpan(_start, headEnd);
        int at = head.IndexOf("Content-Length: "u8) + "Content-Length: ".Length;
        int lineEnd = head[at..].IndexOf("\r\n"u8);
        int length = int.Parse(lineEnd < 0 ? head[at..] : head.Slice(at, lineEnd), provider: System.Globalization.CultureInfo.InvariantCulture);
        _start += headEnd + 4;
        int left = length;
        while (left > 0)
        {
            if (_end == _start)
            {
                _start = _end = 0;
                await FillAsync();
            }

            int take = Math.Min(left, _end - _start);
            _start += take;
            left -= take;
        }

        return length;
    }

    /// <summary>
    /// Whether the server closed the connection (end of stream or reset) within <paramref name="within"/> of real time,
    /// a bound and not a pause: it returns as soon as the close arrives, and at once for <see cref="TimeSpan.Zero"/>.
    /// Bytes that arrive first are kept for <see cref="ReadResponseAsync"/>; an open connection stays usable.
    /// </summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan within)
    {
        using var bound = new CancellationTokenSource(within);
        try
        {
            while (true)
            {
                // Readable (bytes, the end of the stream or a reset) is answered without waiting, even out of time.
                bool ready = _socket.Poll(0, SelectMode.SelectRead);
                if (!ready && bound.IsCancellationRequested)
                {
                    return false;
                }

                if (!await FillAsync(ready ? CancellationToken.None : bound.Token))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>Waits for the next bytes from the server and keeps them; false when the server closed instead.</summary>
    public async Task<bool> ReceiveSomeAsync()
    {
        try
        {
            return await FillAsync();
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();

    private async Task<bool> FillAsync(CancellationToken cancellationToken = default)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            (_end, _start) = (_end - _start, 0);
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_timeout);
        int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, timeout.Token);
        _end += read;
        return read > 0;
    }
}
