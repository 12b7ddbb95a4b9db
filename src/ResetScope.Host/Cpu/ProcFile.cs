using Microsoft.Win32.SafeHandles;

namespace ResetScope.Host.Cpu;

/// <summary>
/// A procfs (or fixture) file opened once and re-read from offset 0 into a reusable buffer.
/// The buffer only grows when the file outgrows it; a steady-state read does not allocate.
/// </summary>
internal sealed class ProcFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private byte[] _buffer;

    private ProcFile(string path, SafeFileHandle handle, int initialSize)
    {
        Path = path;
        _handle = handle;
        _buffer = new byte[Math.Max(256, initialSize)];
    }

    public string Path { get; }

    public static ProcFile? TryOpen(string path, int initialSize = 4096)
    {
        try
        {
            SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new ProcFile(path, handle, initialSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Reads the whole file from offset 0; false when the read fails (e.g. the process behind it exited).</summary>
    public bool TryRead(out ReadOnlySpan<byte> content)
    {
        int total = 0;
        try
        {
            while (true)
            {
                if (total == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                int n = RandomAccess.Read(_handle, _buffer.AsSpan(total), total);
                if (n <= 0)
                {
                    break;
                }

                total += n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            content = default;
            return false;
        }

        content = _buffer.AsSpan(0, total);
        return true;
    }

    public void Dispose() => _handle.Dispose();
}
