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
        if (!KmsgRecordView.TryParse(record, out KmsgRecordView view))
        {
            result = default;
            return false;
        }

        result = view.ToRecord();
        return true;
    }
}

/// <summary>
/// One /dev/kmsg record parsed in place: the header's numbers and the text still \xNN-escaped, as spans of the buffer
/// read() filled — valid until the next read. What the agent's drain loop works on: no allocation per record.
/// </summary>
public readonly ref struct KmsgRecordView
{
    public int Facility { get; init; }

    public int Level { get; init; }

    public ulong Sequence { get; init; }

    public long TimestampUs { get; init; }

    public char Flag { get; init; }

    /// <summary>The message as the kernel printed it into the record (escaped), without the dictionary lines.</summary>
    public ReadOnlySpan<byte> Text { get; init; }

    /// <summary>The continuation lines (" KEY=value\n" each), possibly empty.</summary>
    public ReadOnlySpan<byte> Dictionary { get; init; }

    public bool FromKernel => Facility == 0;

    public static bool TryParse(ReadOnlySpan<byte> record, out KmsgRecordView result)
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
        result = new KmsgRecordView
        {
            Facility = prio >> 3,
            Level = prio & 7,
            Sequence = seq,
            TimestampUs = usec,
            Flag = flag,
            Text = newline < 0 ? body : body[..newline],
            Dictionary = newline < 0 ? default : body[(newline + 1)..],
        };
        return true;
    }

    /// <summary>The record with its text decoded and the DEVICE= dictionary entry, as strings.</summary>
    public KmsgRecord ToRecord()
    {
        string? device = null;
        ReadOnlySpan<byte> rest = Dictionary;
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

        return new KmsgRecord(Facility, Level, Sequence, TimestampUs, Flag, ResetScope.Core.KmsgEscapes.Decode(Text), device);
    }
}
