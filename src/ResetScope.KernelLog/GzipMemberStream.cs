using System.Buffers;
using System.Runtime.InteropServices;

namespace ResetScope.KernelLog;

/// <summary>What ended a <see cref="GzipMemberStream"/> other than a clean end of its last member.</summary>
internal enum GzipProblem
{
    None,

    /// <summary>The input ended inside a member (its header, deflate data or trailer).</summary>
    Truncated,

    /// <summary>zlib rejected the data: bad header, bad deflate data, or a CRC32 / ISIZE trailer that does not match.</summary>
    Corrupt,
}

/// <summary>
/// Decompresses every member of a gzip file (<c>cat a.gz b.gz</c>, pigz, bgzip, appended rotations) exactly,
/// over the zlib-ng that .NET itself ships in libSystem.IO.Compression.Native. zlib checks each member's
/// header, CRC32 and ISIZE, so a cut or corrupt file is known rather than guessed: GZipStream accepts a
/// stream cut short without a word. Trailing bytes after a complete member are handled as GNU gzip does:
/// zeros are ignored, anything else is ignored with a note (<see cref="TrailingGarbage"/>).
/// A data problem ends the stream (Read returns 0) and is told by <see cref="Problem"/>, so everything
/// decompressed before it still reaches the scanner.
/// </summary>
internal sealed unsafe partial class GzipMemberStream : ForwardReadStream
{
    private const string Library = "libSystem.IO.Compression.Native";

    // 15 = a 32 KiB window (what any gzip writer may use); +16 = gzip wrapper: header parsed, CRC32 and ISIZE checked.
    private const int GzipWindowBits = 31;
    private const int InputSize = 128 * 1024;

    private const int ZNoFlush = 0;
    private const int ZOk = 0;
    private const int ZStreamEnd = 1;
    private const int ZNeedDict = 2;
    private const int ZDataError = -3;
    private const int ZMemError = -4;
    private const int ZBufError = -5;

    private static readonly bool s_available = Probe();

    private readonly Stream _inner;
    private readonly byte[] _in;
    private ZStream _z;
    private bool _initialised;
    private int _inPos;
    private int _inEnd;
    private bool _inputEnded;
    private State _state = State.InMember;

    private enum State
    {
        InMember,
        BetweenMembers,
        Trailing,
        Done,
    }

    private GzipMemberStream(ReadOnlySpan<byte> alreadyRead, Stream inner)
    {
        _inner = inner;
        _in = ArrayPool<byte>.Shared.Rent(InputSize);
        alreadyRead.CopyTo(_in);
        _inEnd = alreadyRead.Length;
        fixed (ZStream* z = &_z)
        {
            int rc = Native.InflateInit2(z, GzipWindowBits);
            if (rc == ZMemError)
            {
                throw new OutOfMemoryException("zlib inflateInit2 could not allocate its state");
            }

            if (rc != ZOk)
            {
                throw new InvalidOperationException($"zlib inflateInit2 failed with {rc}");
            }
        }

        _initialised = true;
    }

    ~GzipMemberStream()
    {
        Dispose(false);
    }

    /// <summary>False when the native zlib or one of its entry points could not be loaded (callers fall back to GZipStream).</summary>
    public static bool IsAvailable => s_available;

    /// <summary>Why the data ended early, if it did.</summary>
    public GzipProblem Problem { get; private set; }

    /// <summary>zlib's own words for a <see cref="GzipProblem.Corrupt"/> member ("incorrect data check", "invalid block type").</summary>
    public string? ProblemDetail { get; private set; }

    /// <summary>Members decompressed to their trailer (an empty member counts).</summary>
    public int Members { get; private set; }

    /// <summary>Non-zero bytes followed the last complete member; they were ignored, as gzip does ("trailing garbage ignored").</summary>
    public bool TrailingGarbage { get; private set; }

    /// <summary>A reader over <paramref name="inner"/> whose first bytes (the magic, say) were already read; null when the native zlib is unavailable.</summary>
    public static GzipMemberStream? TryOpen(ReadOnlySpan<byte> alreadyRead, Stream inner) => s_available ? new GzipMemberStream(alreadyRead, inner) : null;

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(!_initialised, this);
        int produced = 0;
        while (produced < buffer.Length && _state != State.Done)
        {
            if (_inPos == _inEnd && !_inputEnded)
            {
                Fill();
            }

            switch (_state)
            {
                case State.BetweenMembers:
                    StartNextMember();
                    continue;
                case State.Trailing:
                    SkipTrailing();
                    continue;
                default:
                    break;
            }

            int rc;
            nint msg;
            fixed (byte* inp = _in)
            fixed (byte* outp = buffer)
            fixed (ZStream* z = &_z)
            {
                z->NextIn = inp + _inPos;
                z->AvailIn = (uint)(_inEnd - _inPos);
                z->NextOut = outp + produced;
                z->AvailOut = (uint)(buffer.Length - produced);
                rc = Native.Inflate(z, ZNoFlush);
                _inPos = (int)(z->NextIn - inp);
                produced = (int)(z->NextOut - outp);
                msg = z->Msg;
            }

            switch (rc)
            {
                case ZStreamEnd:
                    Members++;
                    _state = State.BetweenMembers;
                    break;
                case ZOk:
                    break;
                case ZBufError when _inPos == _inEnd && _inputEnded:
                    End(GzipProblem.Truncated, null);
                    break;
                case ZBufError when _inPos == _inEnd:
                    break; // wants more input: read at the top of the loop
                case ZNeedDict:
                    End(GzipProblem.Corrupt, "the member asks for a preset dictionary");
                    break;
                case ZMemError:
                    throw new OutOfMemoryException("zlib inflate could not allocate memory");
                default:
                    // Z_DATA_ERROR and anything unexpected (a Z_BUF_ERROR with input left would otherwise spin).
                    End(GzipProblem.Corrupt, msg != 0 ? Marshal.PtrToStringUTF8(msg) : rc == ZDataError ? "invalid data" : $"zlib error {rc}");
                    break;
            }
        }

        return produced;
    }

    /// <summary>After a member: another one starts with the gzip magic; anything else is trailing data gzip ignores.</summary>
    private void StartNextMember()
    {
        int avail = _inEnd - _inPos;
        if (avail == 0)
        {
            if (_inputEnded)
            {
                _state = State.Done;
            }

            return;
        }

        if (_in[_inPos] == 0x1F)
        {
            if (avail == 1)
            {
                if (_inputEnded)
                {
                    End(GzipProblem.Truncated, null); // gzip: "unexpected end of file"
                }
                else
                {
                    Fill(); // keeps the 0x1F and reads after it
                }

                return;
            }

            if (_in[_inPos + 1] == 0x8B)
            {
                fixed (ZStream* z = &_z)
                {
                    int rc = Native.InflateReset2(z, GzipWindowBits);
                    if (rc != ZOk)
                    {
                        throw new InvalidOperationException($"zlib inflateReset2 failed with {rc}");
                    }
                }

                _state = State.InMember;
                return;
            }
        }

        _state = State.Trailing;
    }

    /// <summary>Zero padding is read to its end and ignored silently; the first non-zero byte ends the input with a note.</summary>
    private void SkipTrailing()
    {
        if (_in.AsSpan(_inPos, _inEnd - _inPos).IndexOfAnyExcept((byte)0) >= 0)
        {
            TrailingGarbage = true;
            _state = State.Done;
            return;
        }

        _inPos = _inEnd;
        if (_inputEnded)
        {
            _state = State.Done;
        }
    }

    /// <summary>Reads more input after the unconsumed bytes (at most the one 0x1F of a magic split across reads).</summary>
    private void Fill()
    {
        int keep = _inEnd - _inPos;
        if (keep > 0)
        {
            Buffer.BlockCopy(_in, _inPos, _in, 0, keep);
        }

        _inPos = 0;
        _inEnd = keep;
        int n = _inner.Read(_in, keep, _in.Length - keep);
        if (n == 0)
        {
            _inputEnded = true;
        }

        _inEnd += n;
    }

    private void End(GzipProblem problem, string? detail)
    {
        Problem = problem;
        ProblemDetail = detail;
        _state = State.Done;
    }

    protected override void Dispose(bool disposing)
    {
        if (_initialised)
        {
            _initialised = false;
            fixed (ZStream* z = &_z)
            {
                _ = Native.InflateEnd(z);
            }

            if (disposing)
            {
                ArrayPool<byte>.Shared.Return(_in);
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Loads the library and binds every entry point once, on a throwaway stream, so a missing one is found before any data is read.</summary>
    private static bool Probe()
    {
        try
        {
            ZStream probe = default;
            if (Native.InflateInit2(&probe, GzipWindowBits) != ZOk)
            {
                return false;
            }

            _ = Native.Inflate(&probe, ZNoFlush); // no input: Z_BUF_ERROR, nothing changes
            _ = Native.InflateReset2(&probe, GzipWindowBits);
            _ = Native.InflateEnd(&probe);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>PAL_ZStream of pal_zlib.h (the runtime's ZLibNative.ZStream): the native side keeps the real z_stream in InternalState.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public nint Msg;
        public nint InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    /// <summary>The versioned C entry points the runtime's own Interop.ZLib calls (CompressionNative_*@@V1.0).</summary>
    private static partial class Native
    {
        [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
        public static partial int InflateInit2(ZStream* stream, int windowBits);

        [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
        public static partial int Inflate(ZStream* stream, int flush);

        [LibraryImport(Library, EntryPoint = "CompressionNative_InflateReset2_")]
        public static partial int InflateReset2(ZStream* stream, int windowBits);

        [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
        public static partial int InflateEnd(ZStream* stream);
    }
}
