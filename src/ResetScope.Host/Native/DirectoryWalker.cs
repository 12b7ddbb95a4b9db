using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ResetScope.Host.Native;

/// <summary>
/// Walks a directory's entries with getdents64 into a buffer it keeps, each name as bytes: nothing is allocated per
/// entry or per walk, which matters for /proc, walked every few seconds with an entry per process and per thread.
/// One walk at a time per instance; a nested walk needs an instance of its own.
/// </summary>
internal sealed class DirectoryWalker : IDisposable
{
    // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated).
    private const int RecordLengthOffset = 16;
    private const int NameOffset = 19;

    private readonly byte[] _buffer;
    private int _fd = -1;
    private int _at;
    private int _end;

    public DirectoryWalker(int bufferBytes = 16 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 1024);
        _buffer = new byte[bufferBytes];
    }

    /// <summary>
    /// Starts a walk of the directory at <paramref name="pathZ"/> (NUL-terminated), ending any walk in progress;
    /// false when it cannot be opened (gone, not a directory, not permitted).
    /// </summary>
    public unsafe bool Open(ReadOnlySpan<byte> pathZ)
    {
        Close();
        if (pathZ.IsEmpty || pathZ[^1] != 0)
        {
            throw new ArgumentException("the path must end with a NUL byte", nameof(pathZ));
        }

        fixed (byte* path = pathZ)
        {
            _fd = Libc.Open(path, Libc.ORdOnly | Libc.ODirectory | Libc.OCloexec);
        }

        return _fd >= 0;
    }

    /// <summary>The next entry's name ("." and ".." skipped); false at the end of the directory, which is closed then.</summary>
    public bool TryNext(out ReadOnlySpan<byte> name)
    {
        while (_fd >= 0)
        {
            if (_at >= _end)
            {
                nint n = Libc.GetDents64(_fd, ref MemoryMarshal.GetArrayDataReference(_buffer), _buffer.Length);
                if (n <= 0)
                {
                    break; // the end, or the directory went away under the walk (a process that exited): the same to a walker
                }

                (_at, _end) = (0, (int)n);
            }

            int length = BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(_at + RecordLengthOffset));
            ReadOnlySpan<byte> raw = _buffer.AsSpan(_at + NameOffset, length - NameOffset);
            _at += length;
            int nul = raw.IndexOf((byte)0);
            name = nul < 0 ? raw : raw[..nul];
            if (name is [(byte)'.'] or [(byte)'.', (byte)'.'])
            {
                continue;
            }

            return true;
        }

        Close();
        name = default;
        return false;
    }

    public void Close()
    {
        if (_fd >= 0)
        {
            Libc.Close(_fd);
            _fd = -1;
        }

        _at = _end = 0;
    }

    public void Dispose() => Close();
}
