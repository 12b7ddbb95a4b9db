using System.Text;

namespace ResetScope.KernelLog;

/// <summary>Guesses the shape of an input from its first lines (at most 64 KiB, 200 lines).</summary>
internal static class FormatDetector
{
    public static LogFormat Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length > 64 * 1024)
        {
            head = head[..(64 * 1024)];
        }

        int json = 0, export = 0, kmsg = 0, human = 0, ctime = 0, uptime = 0, syslog = 0, lines = 0;
        while (head.Length > 0 && lines < 200)
        {
            int nl = head.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = nl < 0 ? head : head[..nl];
            head = nl < 0 ? [] : head[(nl + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            lines++;
            string s = Encoding.UTF8.GetString(line.Length > 1024 ? line[..1024] : line);
            if (s.StartsWith('{') && s.Contains("\"MESSAGE\"", StringComparison.Ordinal) || s.StartsWith("{\"", StringComparison.Ordinal) && s.Contains("__REALTIME_TIMESTAMP", StringComparison.Ordinal))
            {
                json++;
            }
            else if (s.StartsWith("__CURSOR=", StringComparison.Ordinal) || s.StartsWith("__REALTIME_TIMESTAMP=", StringComparison.Ordinal) || s.StartsWith("_BOOT_ID=", StringComparison.Ordinal))
            {
                export += 3;
            }
            else if (LooksKmsg(s))
            {
                kmsg++;
            }
            else if (s.StartsWith("[", StringComparison.Ordinal))
            {
                string inner = s.Length > 1 ? s[1..].TrimStart() : string.Empty;
                if (inner.StartsWith('+') || (inner.Length > 12 && char.IsAsciiLetterUpper(inner[0]) && char.IsAsciiDigit(inner[3]) && inner[5] != ':' && inner.IndexOf(']', StringComparison.Ordinal) <= 13))
                {
                    human++;
                }
                else if (inner.Length > 3 && char.IsAsciiLetterUpper(inner[0]) && inner[3] == ' ')
                {
                    ctime++;
                }
                else
                {
                    uptime++;
                }
            }
            else if (s.Length > 15 && (char.IsAsciiDigit(s[0]) && s.Length > 10 && s[4] == '-' || char.IsAsciiLetterUpper(s[0]) && s[3] == ' '))
            {
                syslog++;
            }
        }

        int best = Math.Max(Math.Max(Math.Max(json, export), Math.Max(kmsg, human)), Math.Max(Math.Max(ctime, uptime), syslog));
        if (best == 0)
        {
            return LogFormat.Dmesg;
        }

        return best == export ? LogFormat.JournalExport
            : best == json ? LogFormat.JournalJson
            : best == kmsg ? LogFormat.Kmsg
            : best == human ? LogFormat.DmesgH
            : best == ctime ? LogFormat.DmesgT
            : best == syslog ? LogFormat.Syslog
            : LogFormat.Dmesg;
    }

    private static bool LooksKmsg(string s)
    {
        // prio,seq,usec,flags;text
        int semi = s.IndexOf(';', StringComparison.Ordinal);
        if (semi < 5)
        {
            return false;
        }

        string[] parts = s[..semi].Split(',');
        return parts.Length >= 4 && parts[^3].All(char.IsAsciiDigit) && parts[^2].All(char.IsAsciiDigit) && parts[^4].Length > 0 && parts[^4].All(char.IsAsciiDigit) && parts[^2].Length > 0;
    }
}
