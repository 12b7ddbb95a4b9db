using System.Buffers.Text;
using System.Text;

namespace ResetScope.Host.Kmsg;

/// <summary>
/// One /dev/kmsg record (Documentation/ABI/testing/dev-kmsg): <c>prio,seq,usec,flags[,...];text</c> with the
/// facility in the high bits of prio, then optional continuation lines (" KEY=value"). Text keeps the
/// kernel's <c>\xNN</c> escapes decoded.
/// </summary>
public readonly record struct KmsgRecord(int Facility, int Level, ulong Sequence, long TimestampUs, char Flag, string Text, string? Device)
{
    /// <summary>Facility 0 is the kernel; anything else was written by user space and is not to be trusted as a driver event.</summary>
    public bool FromKernel => Facility == 0;

    /// <summary>Appends the record as dmesg prints it ("[secs.usecs] text", one line per line of text); returns the lines written.</summary>
    public int AppendAsDmesg(StringBuilder text)
    {
        int lines = 0;
        foreach (string line in Text.Split('\n'))
        {
            text.Append('[').Append((TimestampUs / 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(5)).Append('.')
                .Append((TimestampUs % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).Append("] ").Append(line).Append('\n');
            lines++;
        }

        return lines;
    }

    /// <summary>Parses one record as read() returned it. False for anything that is not a kmsg record.</summary>
    public static bool TryParse(ReadOnlySpan<byte> record, out KmsgRecord result)
    {
        result = default;
        int semicolon = record.IndexOf((byte)';');
        if (semicolon < 0)
        {
            return false;
        }

        ReadOnlySpan<byte> header = record[..semicolon];
        if (!Utf8Parser.TryParse(header, out int prio, out int used) || used >= header.Length || header[used] != (byte)',')
        {
            return false;
        }

        header = header[(used + 1)..];
        if (!Utf8Parser.TryParse(header, out ulong seq, out used) || used >= header.Length || header[used] != (byte)',')
        {
            return false;
        }

        header = header[(used + 1)..];
        if (!Utf8Parser.TryParse(header, out long usec, out used) || used >= header.Length || header[used] != (byte)',')
        {
            return false;
        }

        header = header[(used + 1)..];
        char flag = header.Length > 0 ? (char)header[0] : '-';

        ReadOnlySpan<byte> body = record[(semicolon + 1)..];
        int newline = body.IndexOf((byte)'\n');
        ReadOnlySpan<byte> text = newline < 0 ? body : body[..newline];
        string? device = null;
        if (newline >= 0)
        {
            ReadOnlySpan<byte> rest = body[(newline + 1)..];
            while (rest.Length > 0)
            {
                int end = rest.IndexOf((byte)'\n');
                ReadOnlySpan<byte> line = end < 0 ? rest : rest[..end];
                if (line.StartsWith(" DEVICE="u8))
                {
                    device = Encoding.UTF8.GetString(line[" DEVICE=".Length..]);
                }

                rest = end < 0 ? default : rest[(end + 1)..];
            }
        }

        result = new KmsgRecord(prio >> 3, prio & 7, seq, usec, flag, Unescape(text), device);
        return true;
    }

    /// <summary>The kernel escapes non-printable bytes (embedded newlines included) as \xNN.</summary>
    private static string Unescape(ReadOnlySpan<byte> text)
    {
        if (text.IndexOf("\\x"u8) < 0)
        {
            return Encoding.UTF8.GetString(text);
        }

        byte[] buffer = new byte[text.Length];
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == (byte)'\\' && i + 3 < text.Length && text[i + 1] == (byte)'x' && Hex(text[i + 2]) is int hi and >= 0 && Hex(text[i + 3]) is int lo and >= 0)
            {
                buffer[n++] = (byte)(hi * 16 + lo);
                i += 3;
            }
            else
            {
                buffer[n++] = text[i];
            }
        }

        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static int Hex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
