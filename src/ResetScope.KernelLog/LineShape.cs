using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ResetScope.Core;

namespace ResetScope.KernelLog;

/// <summary>
/// A candidate line with the collector's decoration removed: timestamp as written, resolved times, host, message.
/// <paramref name="YearInferred"/>: the timestamp had no year (RFC 3164, journalctl short), so <paramref name="Time"/>'s year is the reference year (or the one before).
/// </summary>
internal readonly record struct ShapedLine(string Body, string? Ts, DateTimeOffset? Time, long? UptimeUs, string? Host, bool HasRecordPrefix, bool YearInferred = false);

/// <summary>
/// Removes every collector shape's prefix from a (decoded) candidate line. Only lines that passed the byte
/// prefilter get here, so this may use strings and regular expressions.
/// </summary>
internal static partial class LineShape
{
    private static readonly string[] s_months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    [GeneratedRegex(@"^(?:[0-9][0-9A-Za-z.\-+_~]*,)?(\d{1,3}),(\d+),(\d+),([^;]*);(.*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex Kmsg();

    [GeneratedRegex(@"^<\d{1,3}>(?:1 (?=\d{4}-))?", RegexOptions.CultureInvariant)]
    private static partial Regex Pri();

    [GeneratedRegex(@"^(\S+) (\S+) (\S+) (\S+) (?:-|(?:\[[^\]]*\])+) ?", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc5424Header();

    [GeneratedRegex(@"^\[\s*(\d+)\.(\d+)\]\s?(?:\[\s*[TC]\d+\]\s?)?", RegexOptions.CultureInvariant)]
    private static partial Regex Uptime();

    [GeneratedRegex(@"^\[\s*\+\s*(\d+\.\d+)\]\s?|^\[<\s*(\d+\.\d+)>\]\s?", RegexOptions.CultureInvariant)]
    private static partial Regex Delta();

    [GeneratedRegex(@"^\[([A-Z][a-z]{2}\s?\d{1,2} \d{2}:\d{2})\]\s?", RegexOptions.CultureInvariant)]
    private static partial Regex HumanMinute();

    [GeneratedRegex(@"^\[((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}))\]\s?", RegexOptions.CultureInvariant)]
    private static partial Regex Ctime();

    [GeneratedRegex(@"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Iso();

    [GeneratedRegex(@"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Bsd();

    [GeneratedRegex(@"^(\S+) ([^\s:\[]+)(?:\[\d+\])?: ", RegexOptions.CultureInvariant)]
    private static partial Regex HostTag();

    [GeneratedRegex(@"\[\s*(\d+)\.(\d{6})\]\s?", RegexOptions.CultureInvariant)]
    private static partial Regex EmbeddedUptime();

    [GeneratedRegex(@"\x1B\[[0-9;?]*[A-Za-z]", RegexOptions.CultureInvariant)]
    private static partial Regex Ansi();

    [GeneratedRegex(@"^(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)\s*:\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*: ", RegexOptions.CultureInvariant)]
    private static partial Regex FacilityLevel();

    /// <summary>Decodes a candidate line: UTF-8 with replacement characters, never throws.</summary>
    public static string Decode(ReadOnlySpan<byte> line)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        return Encoding.UTF8.GetString(line);
    }

    public static ShapedLine Parse(string line, LogFormat format, int referenceYear, DateTimeOffset? notAfter = null)
    {
        string s = Clean(line);

        if (s.StartsWith('{'))
        {
            if (TryJsonRecord(s, out ShapedLine json))
            {
                // Collectors (Fluent Bit, Vector, CloudWatch exports) wrap a whole syslog/dmesg line in "log"/"message".
                if (json.Ts is null || json.Host is null)
                {
                    ShapedLine inner = Parse(json.Body, LogFormat.Auto, referenceYear, notAfter);
                    if (inner.HasRecordPrefix && !json.Body.StartsWith('{'))
                    {
                        return new ShapedLine(inner.Body, json.Ts ?? inner.Ts, json.Time ?? inner.Time, json.UptimeUs ?? inner.UptimeUs, json.Host ?? inner.Host, true, json.Time is null && inner.YearInferred);
                    }
                }

                return json;
            }
        }

        Match m = Kmsg().Match(s);
        if (m.Success && (format is LogFormat.Kmsg or LogFormat.Auto))
        {
            long usec = long.Parse(m.Groups[3].ValueSpan, CultureInfo.InvariantCulture);
            return new ShapedLine(Unescape(m.Groups[5].Value), m.Groups[3].Value, null, usec, null, true);
        }

        m = Pri().Match(s);
        if (m.Success)
        {
            s = s[m.Length..]; // printk level "<3>" or syslog PRI "<11>" (+ RFC 5424 version "1 ")
        }

        m = FacilityLevel().Match(s);
        if (m.Success)
        {
            s = s[m.Length..];
        }

        bool tagged = false;
        if (s.StartsWith("kernel: ", StringComparison.Ordinal) || s.StartsWith("kernel:[", StringComparison.Ordinal))
        {
            // A syslog line pasted without its date and host ("kernel: ena 0000:00:05.0 eth0: ..."): the tag is the record prefix.
            s = s[(s[7] == ' ' ? 8 : 7)..];
            tagged = true;
        }

        if (s.StartsWith('['))
        {
            if (TryBracket(s, format, out ShapedLine bracket))
            {
                return bracket;
            }
        }

        m = Iso().Match(s);
        if (m.Success)
        {
            DateTimeOffset? time = IsoTime(m);
            string rest = s[m.Length..];
            (string? host, string body) = HostAndBody(rest);
            (long? up, string kbody) = KernelUptime(body);
            return new ShapedLine(kbody, s[..m.Length].TrimEnd(), time, up, host, true);
        }

        m = Bsd().Match(s);
        if (m.Success)
        {
            DateTimeOffset? time = BsdTime(m, referenceYear);
            if (time is { } t && notAfter is { } limit && t > limit.AddDays(1))
            {
                // RFC 3164 has no year: a December line in a file last written in January belongs to the year before.
                time = t.AddYears(-1);
            }

            string rest = s[m.Length..];
            (string? host, string body) = HostAndBody(rest);
            (long? up, string kbody) = KernelUptime(body);
            return new ShapedLine(kbody, s[..m.Length].TrimEnd(), time, up, host, true, YearInferred: time is not null);
        }

        // Serial console captures: a kernel record may start after other programs' output on the same line.
        m = EmbeddedUptime().Match(s);
        if (m.Success)
        {
            long up = UptimeUs(m.Groups[1].ValueSpan, m.Groups[2].ValueSpan);
            return new ShapedLine(s[(m.Index + m.Length)..], m.Value.Trim().Trim('[', ']').Trim(), null, up, null, m.Index == 0);
        }

        return new ShapedLine(s, null, null, null, null, tagged);
    }

    /// <summary>True when the line starts with a record prefix of some shape (so it is not a wrapped continuation).</summary>
    public static bool LooksLikeRecordStart(string line)
    {
        string s = Clean(line);
        if (s.Length == 0)
        {
            return true;
        }

        return s[0] is '{' or '[' or '<' || s.StartsWith("kernel:", StringComparison.Ordinal) || Kmsg().IsMatch(s) || Iso().IsMatch(s) || Bsd().IsMatch(s) || FacilityLevel().IsMatch(s);
    }

    internal static string Clean(string line)
    {
        string s = line;
        if (s.Contains('\x1B', StringComparison.Ordinal))
        {
            s = Ansi().Replace(s, string.Empty);
        }

        if (s.Contains('\0', StringComparison.Ordinal))
        {
            s = s.Replace("\0", string.Empty, StringComparison.Ordinal);
        }

        // Mail quoting: "> > text".
        int i = 0;
        while (i < s.Length && s[i] == '>' && (i + 1 >= s.Length || s[i + 1] == ' ' || s[i + 1] == '>'))
        {
            i++;
            if (i < s.Length && s[i] == ' ')
            {
                i++;
            }
        }

        s = i > 0 ? s[i..] : s;
        return s.TrimEnd('\r', '\n');
    }

    private static bool TryBracket(string s, LogFormat format, out ShapedLine shaped)
    {
        Match m = Delta().Match(s);
        if (m.Success)
        {
            // dmesg -H: a delta to the previous record, never an uptime.
            string ts = "+" + (m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
            shaped = new ShapedLine(s[m.Length..], ts, null, null, null, true);
            return true;
        }

        m = HumanMinute().Match(s);
        if (m.Success)
        {
            shaped = new ShapedLine(s[m.Length..], m.Groups[1].Value, null, null, null, true);
            return true;
        }

        m = Ctime().Match(s);
        if (m.Success)
        {
            DateTimeOffset? time = null;
            int month = Array.IndexOf(s_months, m.Groups[2].Value) + 1;
            if (TryDate(int.Parse(m.Groups[7].ValueSpan, CultureInfo.InvariantCulture), month, int.Parse(m.Groups[3].ValueSpan, CultureInfo.InvariantCulture),
                int.Parse(m.Groups[4].ValueSpan, CultureInfo.InvariantCulture), int.Parse(m.Groups[5].ValueSpan, CultureInfo.InvariantCulture), int.Parse(m.Groups[6].ValueSpan, CultureInfo.InvariantCulture), 0, out DateTimeOffset t))
            {
                time = t;
            }

            shaped = new ShapedLine(s[m.Length..], m.Groups[1].Value, time, null, null, true);
            return true;
        }

        m = Uptime().Match(s);
        if (m.Success && format != LogFormat.DmesgH)
        {
            long up = UptimeUs(m.Groups[1].ValueSpan, m.Groups[2].ValueSpan);
            string rest = s[m.Length..];
            string? host = null;

            // journalctl -o short-monotonic: "[ 1234.567890] host kernel: msg".
            Match ht = HostTag().Match(rest);
            if (ht.Success && ht.Groups[2].Value == "kernel")
            {
                host = ht.Groups[1].Value;
                rest = rest[ht.Length..];
            }

            shaped = new ShapedLine(rest, s[1..(s.IndexOf(']', StringComparison.Ordinal))].Trim(), null, up, host, true);
            return true;
        }

        shaped = default;
        return false;
    }

    private static (string? Host, string Body) HostAndBody(string rest)
    {
        Match ht = HostTag().Match(rest);
        if (ht.Success)
        {
            return (ht.Groups[1].Value, rest[ht.Length..]);
        }

        // RFC 5424: HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG.
        Match r5424 = Rfc5424Header().Match(rest);
        if (r5424.Success && (r5424.Groups[2].Value == "kernel" || r5424.Groups[3].Value == "-" || r5424.Groups[3].Value.All(char.IsAsciiDigit)))
        {
            return (r5424.Groups[1].Value, rest[r5424.Length..]);
        }

        // netconsole received by a syslog daemon: "Jul 14 10:10:22 10.0.1.5 [ 1234.567890] msg" (no tag).
        int space = rest.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0 && space + 1 < rest.Length && rest[space + 1] == '[' && Uptime().IsMatch(rest.AsSpan(space + 1)))
        {
            return (rest[..space], rest[(space + 1)..]);
        }

        return (null, rest);
    }

    private static (long? Uptime, string Body) KernelUptime(string body)
    {
        Match m = Uptime().Match(body);
        if (m.Success)
        {
            return (UptimeUs(m.Groups[1].ValueSpan, m.Groups[2].ValueSpan), body[m.Length..]);
        }

        return (null, body);
    }

    private static long UptimeUs(ReadOnlySpan<char> seconds, ReadOnlySpan<char> fraction)
    {
        long sec = long.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : 0;
        long us = 0;
        int digits = 0;
        foreach (char c in fraction)
        {
            if (digits == 6)
            {
                break;
            }

            us = (us * 10) + (c - '0');
            digits++;
        }

        while (digits < 6)
        {
            us *= 10;
            digits++;
        }

        return (sec * 1_000_000) + us;
    }

    private static DateTimeOffset? IsoTime(Match m)
    {
        int Get(int g) => int.Parse(m.Groups[g].ValueSpan, CultureInfo.InvariantCulture);
        long ticks = 0;
        if (m.Groups[7].Success)
        {
            string frac = m.Groups[7].Value.PadRight(7, '0')[..7];
            ticks = long.Parse(frac, CultureInfo.InvariantCulture);
        }

        TimeSpan offset = TimeSpan.Zero;
        if (m.Groups[8].Success && m.Groups[8].Value != "Z")
        {
            string o = m.Groups[8].Value.Replace(":", string.Empty, StringComparison.Ordinal);
            int hh = int.Parse(o.AsSpan(1, 2), CultureInfo.InvariantCulture);
            int mm = int.Parse(o.AsSpan(3, 2), CultureInfo.InvariantCulture);
            offset = new TimeSpan(hh, mm, 0);
            if (o[0] == '-')
            {
                offset = -offset;
            }
        }

        if (offset.Duration() > TimeSpan.FromHours(14))
        {
            return null;
        }

        if (!TryDate(Get(1), Get(2), Get(3), Get(4), Get(5), Get(6), ticks, out DateTimeOffset utcish))
        {
            return null;
        }

        return new DateTimeOffset(utcish.DateTime, offset);
    }

    private static DateTimeOffset? BsdTime(Match m, int year)
    {
        int month = Array.IndexOf(s_months, m.Groups[1].Value) + 1;
        long ticks = 0;
        if (m.Groups[6].Success)
        {
            ticks = long.Parse(m.Groups[6].Value.PadRight(7, '0')[..7], CultureInfo.InvariantCulture);
        }

        return TryDate(year, month, int.Parse(m.Groups[2].ValueSpan, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].ValueSpan, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[4].ValueSpan, CultureInfo.InvariantCulture), int.Parse(m.Groups[5].ValueSpan, CultureInfo.InvariantCulture), ticks, out DateTimeOffset t) ? t : null;
    }

    private static bool TryDate(int y, int mo, int d, int h, int mi, int s, long fractionTicks, out DateTimeOffset time)
    {
        time = default;
        if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > DateTime.DaysInMonth(y, mo) || h > 23 || mi > 59 || s > 60)
        {
            return false;
        }

        time = new DateTimeOffset(y, mo, d, h, mi, Math.Min(s, 59), TimeSpan.Zero).AddTicks(fractionTicks);
        return true;
    }

    /// <summary>/dev/kmsg escapes non-printable bytes as \xNN; decode them (a \x0a becomes a real newline inside one record).</summary>
    public static string Unescape(string text) =>
        text.Contains("\\x", StringComparison.Ordinal) ? KmsgEscapes.Decode(Encoding.UTF8.GetBytes(text)) : text;

    /// <summary>journalctl -o json (MESSAGE, __REALTIME_TIMESTAMP, _HOSTNAME) and generic collector JSON (message/log/msg, @timestamp/time, host).</summary>
    private static bool TryJsonRecord(string s, out ShapedLine shaped)
    {
        shaped = default;
        try
        {
            using var doc = JsonDocument.Parse(s, new JsonDocumentOptions { MaxDepth = 16 });
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            JsonElement msg = default;
            bool found = false;
            foreach (string key in (string[])["MESSAGE", "message", "log", "msg"])
            {
                if (root.TryGetProperty(key, out msg))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                return false;
            }

            string body = msg.ValueKind switch
            {
                JsonValueKind.String => msg.GetString() ?? string.Empty,
                JsonValueKind.Array => DecodeByteArray(msg),
                _ => string.Empty,
            };
            body = body.TrimEnd('\r', '\n');
            string? ts = null;
            DateTimeOffset? time = null;
            if (root.TryGetProperty("__REALTIME_TIMESTAMP", out JsonElement rt) && rt.ValueKind == JsonValueKind.String)
            {
                ts = rt.GetString();
                if (long.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out long us) && us > 0 && us < 253_402_300_799_000_000)
                {
                    time = DateTimeOffset.UnixEpoch.AddTicks(us * 10);
                }
            }
            else
            {
                foreach (string key in (string[])["@timestamp", "timestamp", "time"])
                {
                    if (root.TryGetProperty(key, out JsonElement t) && t.ValueKind == JsonValueKind.String)
                    {
                        ts = t.GetString();
                        if (DateTimeOffset.TryParse(ts, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset parsed))
                        {
                            time = parsed;
                        }

                        break;
                    }
                }
            }

            long? up = null;
            if (root.TryGetProperty("_SOURCE_MONOTONIC_TIMESTAMP", out JsonElement mono) && mono.ValueKind == JsonValueKind.String
                && long.TryParse(mono.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out long m))
            {
                up = m;
            }

            string? host = null;
            foreach (string key in (string[])["_HOSTNAME", "host", "hostname"])
            {
                if (root.TryGetProperty(key, out JsonElement h) && h.ValueKind == JsonValueKind.String)
                {
                    host = h.GetString();
                    break;
                }
            }

            shaped = new ShapedLine(body, ts, time, up, host, true);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string DecodeByteArray(JsonElement array)
    {
        var bytes = new List<byte>();
        foreach (JsonElement e in array.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Number && e.TryGetByte(out byte b))
            {
                bytes.Add(b);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }
}
