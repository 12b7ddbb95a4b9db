namespace ResetScope.Host.Kmsg;

/// <summary>
/// A capture of /dev/kmsg as <c>cat /dev/kmsg</c> writes it — one record per line, continuation lines
/// (" KEY=value") after it — read back one record per <see cref="Read"/>, as the device does. Lets doctor and the
/// agent run on a saved kernel log and lets tests feed exact records.
/// </summary>
public sealed class KmsgFile : IKmsgSource
{
    private readonly byte[] _content;
    private int _position;

    private KmsgFile(byte[] content) => _content = content;

    public static KmsgFile Open(string path) => new(File.ReadAllBytes(path));

    public static KmsgFile FromBytes(byte[] content) => new(content);

    public int Read(Span<byte> buffer)
    {
        if (_position >= _content.Length)
        {
            return 0;
        }

        ReadOnlySpan<byte> rest = _content.AsSpan(_position);
        int end = 0;
        while (true)
        {
            int newline = rest[end..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                end = rest.Length;
                break;
            }

            end += newline + 1;
            if (end >= rest.Length || rest[end] != (byte)' ')
            {
                break; // the next line is not a continuation of this record
            }
        }

        _position += end;
        ReadOnlySpan<byte> record = rest[..end];
        int n = Math.Min(record.Length, buffer.Length);
        record[..n].CopyTo(buffer);
        return n;
    }

    public void Dispose()
    {
    }
}

/// <summary>Opens a kernel-log source: the /dev/kmsg character device itself, or a capture of it in a regular file.</summary>
public static class KmsgSource
{
    public static IKmsgSource Open(string path)
    {
        // Character devices report length 0; so does an empty capture, which the device path reads as "nothing pending".
        var info = new FileInfo(path);
        return info.Exists && info.Length > 0 ? KmsgFile.Open(path) : DevKmsg.Open(path);
    }
}
