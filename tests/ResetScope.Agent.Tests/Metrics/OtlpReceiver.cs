using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ResetScope.Agent.Tests.Metrics;

/// <summary>
/// A tiny in-process OTLP receiver on a loopback port: records each POST and answers with an empty export response,
/// protobuf over HTTP/1.1 or gRPC over cleartext HTTP/2 (told apart by the HTTP/2 preface, which a gRPC client sends
/// first). Just enough of both for the exporter's HttpClient: HTTP/1.1 bodies by Content-Length or chunked; HTTP/2
/// frames, flow control kept open, and HPACK without Huffman-coded strings (which .NET's client does not send).
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private static readonly byte[] s_http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Request> _requests = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Task _accepting;
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private OtlpReceiver()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public sealed record Request(string Path, string? ContentType, byte[] Body);

    public Uri BaseUri { get; }

    public IReadOnlyCollection<Request> Requests => _requests.ToArray();

    public static Task<OtlpReceiver> StartAsync() => Task.FromResult(new OtlpReceiver());

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

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections);
        _stop.Dispose();
    }

    private void Record(Request request)
    {
        _requests.Enqueue(request);
        Interlocked.Exchange(ref _arrived, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _connections.Add(ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        using CancellationTokenRegistration closeOnStop = _stop.Token.Register(stream.Dispose);
        var reader = new Reader(stream);
        try
        {
            if (await reader.StartsWithAsync(s_http2Preface))
            {
                await new Http2Connection(this, reader, stream).ServeAsync();
            }
            else
            {
                await ServeHttp1Async(reader, stream);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or EndOfStreamException)
        {
        }
    }

    private async Task ServeHttp1Async(Reader reader, Stream stream)
    {
        while (await reader.ReadLineAsync() is { Length: > 0 } requestLine)
        {
            string path = requestLine.Split(' ')[1];
            string? contentType = null;
            long length = 0;
            bool chunked = false;
            while (await reader.ReadLineAsync() is { Length: > 0 } line)
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                string name = line[..colon].Trim();
                string value = line[(colon + 1)..].Trim();
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    contentType = value;
                }
                else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    length = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                }
                else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
                }
            }

            using var body = new MemoryStream();
            if (chunked)
            {
                while (true)
                {
                    string size = (await reader.ReadLineAsync())!;
                    int chunk = int.Parse(size.Split(';')[0], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                    if (chunk == 0)
                    {
                        while (await reader.ReadLineAsync() is { Length: > 0 })
                        {
                        }

                        break;
                    }

                    body.Write(await reader.ReadExactlyAsync(chunk));
                    await reader.ReadLineAsync();
                }
            }
            else
            {
                body.Write(await reader.ReadExactlyAsync(checked((int)length)));
            }

            Record(new Request(path, contentType, body.ToArray()));
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
        }
    }

    /// <summary>Buffered reads over the connection: lines, exact counts, and a look at what comes first.</summary>
    private sealed class Reader(Stream stream)
    {
        private byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        /// <summary>Whether the stream starts with <paramref name="prefix"/>; consumed if it does.</summary>
        public async Task<bool> StartsWithAsync(byte[] prefix)
        {
            while (_end - _start < prefix.Length && prefix.AsSpan(0, _end - _start).SequenceEqual(_buffer.AsSpan(_start, _end - _start)))
            {
                await FillAsync();
            }

            if (_end - _start < prefix.Length || !_buffer.AsSpan(_start, prefix.Length).SequenceEqual(prefix))
            {
                return false;
            }

            _start += prefix.Length;
            return true;
        }

        /// <summary>One line without its CRLF; null at the end of the stream before any byte of it.</summary>
        public async Task<string?> ReadLineAsync()
        {
            while (true)
            {
                int lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
                if (lf >= 0)
                {
                    string line = Encoding.Latin1.GetString(_buffer, _start, lf).TrimEnd('\r');
                    _start += lf + 1;
                    return line;
                }

                if (!await FillAsync(required: false))
                {
                    return null;
                }
            }
        }

        public async Task<byte[]> ReadExactlyAsync(int count)
        {
            while (_end - _start < count)
            {
                await FillAsync();
            }

            byte[] bytes = _buffer.AsSpan(_start, count).ToArray();
            _start += count;
            return bytes;
        }

        private async Task<bool> FillAsync(bool required = true)
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

            int read = await stream.ReadAsync(_buffer.AsMemory(_end));
            _end += read;
            return read > 0 || (required ? throw new EndOfStreamException() : false);
        }
    }

    /// <summary>The server side of one cleartext HTTP/2 connection after the client's preface (RFC 9113).</summary>
    private sealed class Http2Connection(OtlpReceiver receiver, Reader reader, Stream stream)
    {
        private const byte Data = 0x0, Headers = 0x1, Settings = 0x4, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8, Continuation = 0x9;
        private const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, Priority = 0x20;

        private readonly Dictionary<int, (string Path, string? ContentType, MemoryStream Body)> _streams = [];
        private readonly HpackDecoder _hpack = new();

        public async Task ServeAsync()
        {
            await WriteFrameAsync(Settings, 0, 0, []);
            // The connection's window as large as it goes, so no body waits on it.
            await WriteFrameAsync(WindowUpdate, 0, 0, UInt31(int.MaxValue - 65_535));
            while (true)
            {
                byte[] header = await reader.ReadExactlyAsync(9);
                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                byte type = header[3], flags = header[4];
                int streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue;
                byte[] payload = await reader.ReadExactlyAsync(length);
                switch (type)
                {
                    case Settings when (flags & Ack) == 0:
                        await WriteFrameAsync(Settings, Ack, 0, []);
                        break;
                    case Ping when (flags & Ack) == 0:
                        await WriteFrameAsync(Ping, Ack, 0, payload);
                        break;
                    case GoAway:
                        return;
                    case Headers:
                        await OnHeadersAsync(flags, streamId, payload);
                        break;
                    case Data:
                        await OnDataAsync(flags, streamId, payload);
                        break;
                }
            }
        }

        private async Task OnHeadersAsync(byte flags, int streamId, byte[] payload)
        {
            ReadOnlySpan<byte> block = Unpad(flags, payload);
            if ((flags & Priority) != 0)
            {
                block = block[5..];
            }

            var fragments = new MemoryStream();
            fragments.Write(block);
            while ((flags & EndHeaders) == 0)
            {
                byte[] header = await reader.ReadExactlyAsync(9);
                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                flags = (byte)((flags & EndStream) | header[4]);
                if (header[3] != Continuation)
                {
                    throw new IOException("a header block without its CONTINUATION");
                }

                fragments.Write(await reader.ReadExactlyAsync(length));
            }

            string path = "", contentType = "";
            foreach ((string name, string value) in _hpack.Decode(fragments.ToArray()))
            {
                if (name == ":path")
                {
                    path = value;
                }
                else if (name == "content-type")
                {
                    contentType = value;
                }
            }

            _streams[streamId] = (path, contentType, new MemoryStream());
            if ((flags & EndStream) != 0)
            {
                await CompleteAsync(streamId);
            }
        }

        private async Task OnDataAsync(byte flags, int streamId, byte[] payload)
        {
            _streams[streamId].Body.Write(Unpad(flags, payload));
            if (payload.Length > 0)
            {
                // Give back what was taken from the stream's window (the connection's is never short).
                await WriteFrameAsync(WindowUpdate, 0, streamId, UInt31(payload.Length));
            }

            if ((flags & EndStream) != 0)
            {
                await CompleteAsync(streamId);
            }
        }

        private async Task CompleteAsync(int streamId)
        {
            (string path, string? contentType, MemoryStream body) = _streams[streamId];
            _streams.Remove(streamId);
            receiver.Record(new Request(path, contentType, body.ToArray()));

            // :status 200 (static index 8), content-type (static name 31) not indexed, then an empty message in gRPC
            // framing (not compressed, length 0) and grpc-status 0 in the trailers.
            byte[] headers = [0x88, 0x0f, 0x10, 16, .. "application/grpc"u8];
            await WriteFrameAsync(Headers, EndHeaders, streamId, headers);
            await WriteFrameAsync(Data, 0, streamId, new byte[5]);
            byte[] trailers = [0x00, 11, .. "grpc-status"u8, 1, (byte)'0'];
            await WriteFrameAsync(Headers, EndHeaders | EndStream, streamId, trailers);
        }

        private static ReadOnlySpan<byte> Unpad(byte flags, byte[] payload) =>
            (flags & Padded) == 0 ? payload : payload.AsSpan(1, payload.Length - 1 - payload[0]);

        private static byte[] UInt31(int value)
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(bytes, value);
            return bytes;
        }

        private async Task WriteFrameAsync(byte type, int flags, int streamId, byte[] payload)
        {
            var frame = new byte[9 + payload.Length];
            frame[0] = (byte)(payload.Length >> 16);
            frame[1] = (byte)(payload.Length >> 8);
            frame[2] = (byte)payload.Length;
            frame[3] = type;
            frame[4] = (byte)flags;
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
            payload.CopyTo(frame, 9);
            await stream.WriteAsync(frame);
        }
    }

    /// <summary>HPACK (RFC 7541) header block decoding with the static and dynamic tables; no Huffman.</summary>
    private sealed class HpackDecoder
    {
        private static readonly (string Name, string Value)[] s_static =
        [
            (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
            (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
            (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
            ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
            ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
            ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
            ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
            ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
            ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
            ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
            ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
            ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
            ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
        ];

        // Newest first, as HPACK numbers it; no eviction by size (a test's connection is short).
        private readonly List<(string Name, string Value)> _dynamic = [];

        public List<(string Name, string Value)> Decode(byte[] block)
        {
            var fields = new List<(string, string)>();
            int at = 0;
            while (at < block.Length)
            {
                byte b = block[at];
                if ((b & 0x80) != 0)
                {
                    fields.Add(Entry(ReadInteger(block, ref at, 7)));
                }
                else if ((b & 0xc0) == 0x40)
                {
                    (string, string) field = ReadLiteral(block, ref at, 6);
                    _dynamic.Insert(0, field);
                    fields.Add(field);
                }
                else if ((b & 0xe0) == 0x20)
                {
                    ReadInteger(block, ref at, 5); // a table size update
                }
                else
                {
                    fields.Add(ReadLiteral(block, ref at, 4));
                }
            }

            return fields;
        }

        private (string Name, string Value) Entry(int index) =>
            index <= s_static.Length ? s_static[index - 1] : _dynamic[index - s_static.Length - 1];

        private (string, string) ReadLiteral(byte[] block, ref int at, int prefix)
        {
            int index = ReadInteger(block, ref at, prefix);
            string name = index == 0 ? ReadString(block, ref at) : Entry(index).Name;
            return (name, ReadString(block, ref at));
        }

        private static string ReadString(byte[] block, ref int at)
        {
            if ((block[at] & 0x80) != 0)
            {
                throw new NotSupportedException("a Huffman-coded HPACK string (this test receiver reads plain ones only)");
            }

            int length = ReadInteger(block, ref at, 7);
            string text = Encoding.Latin1.GetString(block, at, length);
            at += length;
            return text;
        }

        private static int ReadInteger(byte[] block, ref int at, int prefix)
        {
            int mask = (1 << prefix) - 1;
            int value = block[at++] & mask;
            if (value < mask)
            {
                return value;
            }

            for (int shift = 0; ; shift += 7)
            {
                byte b = block[at++];
                value += (b & 0x7f) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }
        }
    }
}
