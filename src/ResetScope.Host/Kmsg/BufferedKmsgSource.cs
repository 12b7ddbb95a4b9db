using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using ResetScope.Host.Native;

namespace ResetScope.Host.Kmsg;

/// <summary>
/// Reads a kernel log source on a thread of its own into a bounded ring of bytes, so that whatever the consumer does
/// between reads (an incident's SQLite commit and its fsync, a /proc scan) never stalls the drain: the kernel's ring
/// holds only about a thousand records, tens of milliseconds of a flood. Records are copied once, with a 4-byte
/// length before each; nothing is allocated per record. When the ring is full the newest record is not kept
/// (<see cref="Dropped"/>); its sequence number goes missing, so the reader counts it as lost like any overwrite.
/// </summary>
public sealed class BufferedKmsgSource : IKmsgSource
{
    public const int DefaultCapacityBytes = 4 << 20;

    private const int WrapMarker = -2;
    private const int OverwrittenMarker = -1;

    private readonly IKmsgSource _inner;
    private readonly byte[] _ring;
    private readonly object _lock = new();
    // No spinning before blocking: the reader is the agent's loop, which has nothing to gain from microseconds.
    private readonly ManualResetEventSlim _pending = new(false, spinCount: 0);

    // The drain sleeps in poll(2) without a timeout on /dev/kmsg and this eventfd, which Dispose signals.
    private readonly int _wakeFd = -1;
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _read;
    private int _write;
    private int _used;
    private int _count;
    private Exception? _failure;

    public BufferedKmsgSource(IKmsgSource inner, int capacityBytes = DefaultCapacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, 2 * (KmsgReader.BufferSize + 4));
        _inner = inner;
        _ring = new byte[capacityBytes];
        if (inner is DevKmsg)
        {
            _wakeFd = Libc.EventFd(0, Libc.EfdCloexec | Libc.EfdNonBlock);
        }

        _thread = new Thread(Drain) { IsBackground = true, Name = "kmsg drain" };
        _thread.Start();
    }

    /// <summary>Records not kept because the ring was full (they also show as lost in the reader's sequence gaps).</summary>
    public long Dropped { get; private set; }

    public int Read(Span<byte> buffer)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                _pending.Reset();
                if (_failure is { } failure)
                {
                    throw new IOException(failure.Message, failure);
                }

                return 0;
            }

            int at = _read;
            if (_ring.Length - at < 4 || BinaryPrimitives.ReadInt32LittleEndian(_ring.AsSpan(at)) == WrapMarker)
            {
                _used -= _ring.Length - at;
                at = 0;
            }

            int length = BinaryPrimitives.ReadInt32LittleEndian(_ring.AsSpan(at));
            int result;
            if (length == OverwrittenMarker)
            {
                result = KmsgReader.Overwritten;
                length = 0;
            }
            else
            {
                _ring.AsSpan(at + 4, length).CopyTo(buffer);
                result = length;
            }

            _read = at + 4 + length;
            _used -= 4 + length;
            if (--_count == 0)
            {
                _read = _write = _used = 0; // empty: start again at the front, the whole ring contiguous
            }

            return result;
        }
    }

    public bool WaitReadable(TimeSpan timeout)
    {
        lock (_lock)
        {
            if (_count > 0 || _failure is not null)
            {
                return true;
            }
        }

        // Whole milliseconds rounded up, as poll(2) takes them: Wait(TimeSpan) truncates, and a caller waiting for a
        // deadline 0.9 ms away would spin through Wait(0) until it passed.
        int ms = Libc.TimeoutMs(timeout);
        return _pending.Wait(ms);
    }

    public void Dispose()
    {
        _stop = true;
        if (_wakeFd >= 0)
        {
            ulong one = 1;
            Libc.Write(_wakeFd, ref Unsafe.As<ulong, byte>(ref one), sizeof(ulong));
        }

        _thread.Join();
        if (_wakeFd >= 0)
        {
            Libc.Close(_wakeFd);
        }

        _inner.Dispose();
        _pending.Dispose();
    }

    private void Drain()
    {
        byte[] record = new byte[KmsgReader.BufferSize];
        try
        {
            while (!_stop)
            {
                int n = _inner.Read(record);
                if (n == 0)
                {
                    if (_inner is DevKmsg kmsg && _wakeFd >= 0)
                    {
                        kmsg.WaitReadableOrWoken(_wakeFd);
                    }
                    else
                    {
                        _inner.WaitReadable(TimeSpan.FromMilliseconds(200)); // bounded, so Dispose is prompt
                    }
                    continue;
                }

                Push(n == KmsgReader.Overwritten ? OverwrittenMarker : n, record);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            lock (_lock)
            {
                _failure = e;
                _pending.Set();
            }
        }
    }

    private void Push(int length, byte[] record)
    {
        int payload = length < 0 ? 0 : length;
        int need = 4 + payload;
        lock (_lock)
        {
            int at = _write;
            if (at + need > _ring.Length)
            {
                // Not enough room before the end: mark the rest as skipped and start again at the front.
                int waste = _ring.Length - at;
                if (_used + waste + need > _ring.Length)
                {
                    Dropped++;
                    return;
                }

                if (waste >= 4)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(_ring.AsSpan(at), WrapMarker);
                }

                _used += waste;
                at = 0;
            }
            else if (_used + need > _ring.Length)
            {
                Dropped++;
                return;
            }

            BinaryPrimitives.WriteInt32LittleEndian(_ring.AsSpan(at), length);
            record.AsSpan(0, payload).CopyTo(_ring.AsSpan(at + 4));
            _write = at + need;
            _used += need;
            if (++_count == 1)
            {
                _pending.Set(); // only on empty → pending: the reader resets it when it finds the ring empty
            }
        }
    }
}
