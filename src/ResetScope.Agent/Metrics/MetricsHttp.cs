using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ResetScope.Agent.Metrics;

/// <summary>What <see cref="MetricsServer"/> answers a request head with.</summary>
internal enum HttpRoute
{
    /// <summary>GET /metrics: the exposition.</summary>
    Metrics,

    /// <summary>HEAD /metrics: the exposition's headers only.</summary>
    MetricsHead,

    NotFound,

    MethodNotAllowed,

    /// <summary>The head is not HTTP/1.x as RFC 9112 writes it (400).</summary>
    BadRequest,

    /// <summary>GET or HEAD /metrics with a body, which this server never reads (413).</summary>
    BodyNotAccepted,

    /// <summary>A well-formed request line of another HTTP version (505).</summary>
    VersionNotSupported,
}

/// <summary>
/// One HTTP/1.x request head (request line and header lines, without the blank line that ends it), read just far
/// enough to route it, to know whether a body follows and whether the connection stays open. Strict where leniency
/// lets two parsers disagree about where a request ends (RFC 9112 §2.2, §5, §6): no obsolete line folding, no
/// whitespace before a header's colon, no control characters, Content-Length digits only and agreeing when repeated,
/// one Host on HTTP/1.1.
/// </summary>
internal readonly record struct HttpRequestHead(HttpRoute Route, bool KeepAlive, bool Http11)
{
    public static HttpRequestHead Parse(ReadOnlySpan<byte> head)
    {
        int lineEnd = head.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> requestLine = lineEnd < 0 ? head : head[..lineEnd];
        ReadOnlySpan<byte> fields = lineEnd < 0 ? default : head[(lineEnd + 2)..];

        int sp = requestLine.IndexOf((byte)' ');
        if (sp <= 0 || !IsToken(requestLine[..sp]))
        {
            return Bad;
        }

        ReadOnlySpan<byte> method = requestLine[..sp];
        ReadOnlySpan<byte> rest = requestLine[(sp + 1)..];
        sp = rest.IndexOf((byte)' ');
        if (sp <= 0)
        {
            return Bad;
        }

        ReadOnlySpan<byte> target = rest[..sp];
        ReadOnlySpan<byte> version = rest[(sp + 1)..];
        if (target.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7e) >= 0
            || version.Length != 8 || !version.StartsWith("HTTP/"u8)
            || !char.IsAsciiDigit((char)version[5]) || version[6] != '.' || !char.IsAsciiDigit((char)version[7]))
        {
            return Bad;
        }

        bool http11 = version[7] == '1';
        if (version[5] != '1' || version[7] is not ((byte)'0' or (byte)'1'))
        {
            return new HttpRequestHead(HttpRoute.VersionNotSupported, KeepAlive: false, Http11: true);
        }

        bool isMetrics;
        if (target[0] == '/')
        {
            isMetrics = IsMetricsPath(target);
        }
        else if (TryStripOrigin(target, out ReadOnlySpan<byte> path))
        {
            // Absolute form (a request through a proxy), which a server must accept too (RFC 9112 §3.2.2).
            isMetrics = IsMetricsPath(path);
        }
        else if (target.SequenceEqual("*"u8) && method.SequenceEqual("OPTIONS"u8))
        {
            isMetrics = false;
        }
        else
        {
            return Bad;
        }

        bool close = false, keepAlive = false, hasBody = false;
        int hosts = 0;
        long contentLength = -1;
        while (!fields.IsEmpty)
        {
            lineEnd = fields.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = lineEnd < 0 ? fields : fields[..lineEnd];
            fields = lineEnd < 0 ? default : fields[(lineEnd + 2)..];
            int colon = line.IndexOf((byte)':');
            // A line starting with whitespace is obsolete folding, whitespace before the colon is not in a name.
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return Bad;
            }

            ReadOnlySpan<byte> name = line[..colon];
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
            foreach (byte b in value)
            {
                if ((b < 0x20 && b != '\t') || b == 0x7f)
                {
                    return Bad;
                }
            }

            if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                hosts++;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
                {
                    return Bad;
                }

                // Any length past 18 digits is a body all the same: only "zero or not" and "the same" matter.
                ReadOnlySpan<byte> digits = value.TrimStart((byte)'0');
                long length = digits.Length > 18 ? long.MaxValue : digits.IsEmpty ? 0 : long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
                if (contentLength >= 0 && contentLength != length)
                {
                    return Bad;
                }

                contentLength = length;
                hasBody |= length > 0;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                hasBody = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                foreach (Range r in value.Split((byte)','))
                {
                    ReadOnlySpan<byte> option = value[r].Trim(" \t"u8);
                    close |= Ascii.EqualsIgnoreCase(option, "close"u8);
                    keepAlive |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
                }
            }
        }

        if (http11 ? hosts != 1 : hosts > 1)
        {
            return Bad;
        }

        // A body is never read, so after one the connection cannot find the next request: it closes, whatever the answer.
        bool stays = !hasBody && !close && (http11 || keepAlive);
        bool get = method.SequenceEqual("GET"u8);
        HttpRoute route = !isMetrics ? HttpRoute.NotFound
            : !get && !method.SequenceEqual("HEAD"u8) ? HttpRoute.MethodNotAllowed
            : hasBody ? HttpRoute.BodyNotAccepted
            : get ? HttpRoute.Metrics
            : HttpRoute.MetricsHead;
        return new HttpRequestHead(route, stays, http11);
    }

    private static HttpRequestHead Bad => new(HttpRoute.BadRequest, KeepAlive: false, Http11: true);

    // The query is not part of the route: /metrics?x=1 is /metrics.
    private static bool IsMetricsPath(ReadOnlySpan<byte> target)
    {
        int query = target.IndexOf((byte)'?');
        return (query < 0 ? target : target[..query]).SequenceEqual("/metrics"u8);
    }

    private static bool TryStripOrigin(ReadOnlySpan<byte> target, out ReadOnlySpan<byte> path)
    {
        int scheme = StartsWithIgnoreCase(target, "http://"u8) ? 7 : StartsWithIgnoreCase(target, "https://"u8) ? 8 : -1;
        if (scheme < 0 || target.Length == scheme)
        {
            path = default;
            return false;
        }

        ReadOnlySpan<byte> rest = target[scheme..];
        int end = rest.IndexOfAny((byte)'/', (byte)'?');
        path = end < 0 ? "/"u8 : rest[end] == '/' ? rest[end..] : "/"u8;
        return end != 0;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix) =>
        text.Length >= prefix.Length && Ascii.EqualsIgnoreCase(text[..prefix.Length], prefix);

    // RFC 9110 §5.6.2: token = 1*tchar.
    private static bool IsToken(ReadOnlySpan<byte> text)
    {
        foreach (byte b in text)
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || "!#$%&'*+-.^_`|~"u8.Contains(b)))
            {
                return false;
            }
        }

        return !text.IsEmpty;
    }
}

/// <summary>
/// A connection's response: the body is serialized after a reserved head room, then the head is written right before
/// it, so head and body go out in one send from one array. The array grows to the largest response the connection has
/// sent and is reused for the next one.
/// </summary>
internal sealed class ResponseBuffer : IBufferWriter<byte>
{
    /// <summary>More than the longest head <see cref="MetricsServer"/> writes.</summary>
    internal const int HeadRoom = 512;

    private byte[] _buffer;
    private int _end = HeadRoom;

    public ResponseBuffer(int bodyCapacity = 16 * 1024) => _buffer = new byte[HeadRoom + bodyCapacity];

    public int BodyLength => _end - HeadRoom;

    /// <summary>The array's size, body capacity and head room together (tests).</summary>
    internal int Capacity => _buffer.Length;

    public void Reset() => _end = HeadRoom;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _buffer.Length - _end)
        {
            throw new InvalidOperationException("advanced past the span handed out");
        }

        _end += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_end);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_end);
    }

    /// <summary>Puts <paramref name="head"/> before the body; the bytes to send, with or without the body.</summary>
    public ReadOnlyMemory<byte> Complete(ReadOnlySpan<byte> head, bool withBody)
    {
        Debug.Assert(head.Length <= HeadRoom, "the head room holds every head");
        int start = HeadRoom - head.Length;
        head.CopyTo(_buffer.AsSpan(start));
        return _buffer.AsMemory(start, withBody ? _end - start : head.Length);
    }

    private void Reserve(int sizeHint)
    {
        int needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _end >= needed)
        {
            return;
        }

        // Doubling: a large exposition costs a few copies on a connection's first scrape, none after.
        int size = (int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_end + needed));
        if (size - _end < needed)
        {
            throw new OutOfMemoryException("the response does not fit in one array");
        }

        Array.Resize(ref _buffer, size);
    }
}
