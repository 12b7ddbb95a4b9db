using System.Diagnostics;
using System.Globalization;

namespace ResetScope.Host.Kmsg;

/// <summary>
/// Where /dev/kmsg cannot be opened: the kernel log through <c>dmesg -x</c> (decoded records name the facility, so
/// user-space writes can still be told apart; <c>dmesg -r</c> does not keep it) or, failing that, the journal's
/// kernel transport (<c>journalctl -k -b</c>).
/// </summary>
public static class KernelLogFallback
{
    private static readonly string[] s_facilities =
        ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "res0", "res1", "res2", "res3",
         "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"];

    private static readonly string[] s_levels = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];

    /// <summary>Records from <c>dmesg -x</c>, or null with the reason it failed.</summary>
    public static List<KmsgRecord>? FromDmesg(out string? problem, string executable = "dmesg")
    {
        string? text = RunCapture(executable, ["-x"], out problem);
        return text is null ? null : ParseDmesgDecoded(text);
    }

    /// <summary>The kernel's lines of this boot from the journal (short-monotonic text), or null with the reason.</summary>
    public static string? FromJournal(out string? problem, string executable = "journalctl")
    {
        string? text = RunCapture(executable, ["-k", "-b", "-o", "short-monotonic", "--no-pager", "-q"], out problem);
        if (text is not null && text.Length == 0)
        {
            problem = "journalctl -k: no kernel records in the journal";
            return null;
        }

        return text;
    }

    /// <summary>
    /// Parses <c>dmesg -x</c> output: "facility:level : [secs.usecs] text" (names padded with spaces, e.g.
    /// "kern  :warn  : [   12.500001] ..."); a line without that prefix continues the record before it.
    /// </summary>
    public static List<KmsgRecord> ParseDmesgDecoded(string text)
    {
        var records = new List<KmsgRecord>();
        ulong seq = 0;
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            int second = colon < 0 ? -1 : line.IndexOf(':', colon + 1);
            int open = second < 0 ? -1 : line.IndexOf('[', second);
            int close = open < 0 ? -1 : line.IndexOf(']', open);
            int facility = colon < 0 ? -1 : Array.IndexOf(s_facilities, line[..colon].Trim());
            int level = second < 0 ? -1 : Array.IndexOf(s_levels, line[(colon + 1)..second].Trim());
            if (facility >= 0 && level >= 0 && close > open && line.AsSpan(second + 1, open - second - 1).Trim().IsEmpty
                && double.TryParse(line.AsSpan(open + 1, close - open - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
            {
                string body = close + 1 < line.Length && line[close + 1] == ' ' ? line[(close + 2)..] : line[(close + 1)..];
                records.Add(new KmsgRecord(facility, level, seq++, (long)Math.Round(seconds * 1e6), '-', body, null));
            }
            else if (records.Count > 0 && line.Length > 0)
            {
                KmsgRecord last = records[^1];
                records[^1] = last with { Text = last.Text + "\n" + line.TrimStart() };
            }
        }

        return records;
    }

    private static string? RunCapture(string executable, string[] args, out string? problem)
    {
        var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using Process p = Process.Start(psi)!;
            Task<string> error = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                string why = error.Result.Trim().Split('\n')[0];
                problem = $"{executable} failed (exit {p.ExitCode}{(why.Length > 0 ? $": {why}" : "")})";
                return null;
            }

            problem = null;
            return output;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            problem = $"{executable}: {e.Message}";
            return null;
        }
    }
}
