using System.Runtime.InteropServices;
using ResetScope.Host.Native;

namespace ResetScope.Host.Kmsg;

/// <summary>Where records come from: the real /dev/kmsg, or a fixture in tests.</summary>
public interface IKmsgSource : IDisposable
{
    /// <summary>Reads one record into <paramref name="buffer"/>: its length, 0 when nothing is pending, or
    /// <see cref="KmsgReader.Overwritten"/> when records were lost before this reader got to them.</summary>
    int Read(Span<byte> buffer);

    /// <summary>
    /// Blocks until a record is pending or <paramref name="timeout"/> passes; true when one is. Sources that cannot
    /// wait (captures) return false at once.
    /// </summary>
    bool WaitReadable(TimeSpan timeout) => false;
}

/// <summary>
/// Reads /dev/kmsg one record per read() with an 8 KiB buffer (the kernel fails smaller reads with EINVAL),
/// non-blocking, and keeps count of what was lost: EPIPE (records overwritten before we read them) and
/// sequence-number jumps.
/// </summary>
public sealed class KmsgReader(IKmsgSource source) : IDisposable
{
    /// <summary>CONSOLE_EXT_LOG_MAX: the most one record can take.</summary>
    public const int BufferSize = 8192;

    public const int Overwritten = -32; // -EPIPE

    private readonly byte[] _buffer = new byte[BufferSize];
    private ulong? _lastSeq;

    /// <summary>Records lost to overwrites or seq jumps since the reader started.</summary>
    public ulong Lost { get; private set; }

    public int Unparsable { get; private set; }

    /// <summary>The next record, or null when none is pending.</summary>
    public KmsgRecord? Next() => TryRead(out KmsgRecordView view) ? view.ToRecord() : null;

    /// <summary>
    /// The next record parsed in place (valid until the next call), false when none is pending: one read() per record
    /// (the kernel hands out one per call), no allocation.
    /// </summary>
    public bool TryRead(out KmsgRecordView record)
    {
        while (true)
        {
            int n = source.Read(_buffer);
            if (n == 0)
            {
                record = default;
                return false;
            }

            if (n == Overwritten)
            {
                // The kernel moved us to the oldest record still held; the seq jump counts what was lost.
                continue;
            }

            if (!KmsgRecordView.TryParse(_buffer.AsSpan(0, n), out record))
            {
                Unparsable++;
                continue;
            }

            if (_lastSeq is ulong last && record.Sequence > last + 1)
            {
                Lost += record.Sequence - last - 1;
            }

            _lastSeq = record.Sequence;
            return true;
        }
    }

    /// <summary>Waits for the source to have a record (see <see cref="IKmsgSource.WaitReadable"/>).</summary>
    public bool WaitReadable(TimeSpan timeout) => source.WaitReadable(timeout);

    /// <summary>Every record pending now (since boot, on a fresh open).</summary>
    public List<KmsgRecord> ReadAll()
    {
        var list = new List<KmsgRecord>();
        while (Next() is { } r)
        {
            list.Add(r);
        }

        return list;
    }

    public void Dispose() => source.Dispose();
}

/// <summary>The real /dev/kmsg, opened O_RDONLY|O_NONBLOCK through libc.</summary>
public sealed class DevKmsg : IKmsgSource
{
    private int _fd;

    private DevKmsg(int fd) => _fd = fd;

    /// <summary>Opens <paramref name="path"/>; a one-line reason on failure (permission, missing).</summary>
    public static DevKmsg Open(string path = "/dev/kmsg")
    {
        int fd = Libc.Open(path, Libc.ORdOnly | Libc.ONonBlock | Libc.OCloexec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno == 13 || errno == 1
                ? $"{path}: permission denied (run as root or with CAP_SYSLOG)"
                : $"{path}: cannot open ({Marshal.GetPInvokeErrorMessage(errno)})");
        }

        return new DevKmsg(fd);
    }

    public int Read(Span<byte> buffer)
    {
        while (true)
        {
            nint n = Libc.Read(_fd, ref MemoryMarshal.GetReference(buffer), buffer.Length);
            if (n >= 0)
            {
                return (int)n;
            }

            int errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Libc.EAgain:
                    return 0;
                case Libc.EPipe:
                    return KmsgReader.Overwritten;
                case Libc.EIntr:
                    continue;
                default:
                    throw new IOException($"/dev/kmsg: read failed ({Marshal.GetPInvokeErrorMessage(errno)})");
            }
        }
    }

    public bool WaitReadable(TimeSpan timeout)
    {
        var poll = new Libc.PollFd { Fd = _fd, Events = Libc.PollIn };
        int ms = Libc.TimeoutMs(timeout);
        int n = Libc.Poll(ref poll, 1, ms);
        return n > 0 && (poll.Revents & Libc.PollIn) != 0;
    }

    /// <summary>
    /// Blocks until a record is pending or <paramref name="wakeFd"/> (an eventfd) becomes readable: a drain thread
    /// that sleeps without a timeout (no wake-ups on a quiet host) and still stops at once.
    /// </summary>
    internal unsafe bool WaitReadableOrWoken(int wakeFd)
    {
        Libc.PollFd* polls = stackalloc Libc.PollFd[2];
        polls[0] = new Libc.PollFd { Fd = _fd, Events = Libc.PollIn };
        polls[1] = new Libc.PollFd { Fd = wakeFd, Events = Libc.PollIn };
        int n = Libc.Poll(ref polls[0], 2, -1);
        return n > 0 && (polls[0].Revents & Libc.PollIn) != 0;
    }

    /// <summary>Writes a record as user space does (facility LOG_USER unless the text starts with &lt;N&gt;).</summary>
    public static void Write(string text, string path = "/dev/kmsg") => File.AppendAllText(path, text + "\n");

    public void Dispose()
    {
        if (_fd >= 0)
        {
            Libc.Close(_fd);
            _fd = -1;
        }
    }
}
