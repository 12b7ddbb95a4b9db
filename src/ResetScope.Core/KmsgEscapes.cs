using System.Text;

namespace ResetScope.Core;

/// <summary>
/// /dev/kmsg prints every byte below 0x20, from 0x7f up, and the backslash as <c>\xNN</c> (kernel/printk,
/// msg_add_ext_text): an embedded newline arrives as <c>\x0a</c>, UTF-8 as escaped bytes. The one decoder for it.
/// </summary>
public static class KmsgEscapes
{
    /// <summary>Writes the decoded bytes of <paramref name="escaped"/> into <paramref name="destination"/> (at least as long); returns their count.</summary>
    public static int Unescape(ReadOnlySpan<byte> escaped, Span<byte> destination)
    {
        int n = 0;
        for (int i = 0; i < escaped.Length; i++)
        {
            byte b = escaped[i];
            if (b == (byte)'\\' && i + 3 < escaped.Length && escaped[i + 1] == (byte)'x' && Hex(escaped[i + 2]) is int hi and >= 0 && Hex(escaped[i + 3]) is int lo and >= 0)
            {
                destination[n++] = (byte)((hi << 4) | lo);
                i += 3;
            }
            else
            {
                destination[n++] = b;
            }
        }

        return n;
    }

    /// <summary>The decoded text (UTF-8, invalid bytes replaced).</summary>
    public static string Decode(ReadOnlySpan<byte> escaped)
    {
        if (escaped.IndexOf("\\x"u8) < 0)
        {
            return Encoding.UTF8.GetString(escaped);
        }

        byte[]? rented = escaped.Length > 1024 ? System.Buffers.ArrayPool<byte>.Shared.Rent(escaped.Length) : null;
        Span<byte> buffer = rented ?? stackalloc byte[1024];
        try
        {
            int n = Unescape(escaped, buffer);
            return Encoding.UTF8.GetString(buffer[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int Hex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
