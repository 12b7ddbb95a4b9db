using System.Diagnostics;
using System.Globalization;

namespace ResetScope.Host.Kmsg;

/// <summary>
/// Where /dev/kmsg cannot be opened: the kernel log through <c>dmesg -r</c> (raw records keep the facility, so
/// user-space writes can still be told apart) or, failing that, the journal's kernel transport (<c>journalctl -k -b</c>).
/// </summary>
public static class KernelLogFallback
{
    /// <summary>Records from <c>dmesg -r</c>, or null with the reason it failed.</summary>
    public static List<KmsgRecord>? FromDmesg(out string? problem, string executable = "dmesg")
    {
        string? text = RunCapture(executable, ["-r"], out problem);
        return text is null ? null : ParseDmesgRaw(text);
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
    /// Parses <c>dmesg -r</c> output: "&lt;prio&gt;[secs.usecs] text", where prio carries the facility (prio &gt;&gt; 3)
    /// and a line without a prefix continues the record before it.
    /// </summary>
    public static List<KmsgRecord> ParseDmesgRaw(string text)
    {
        var records = new List<KmsgRecord>();
        ulong seq = 0;
        foreach (string line in text.Split('\n'))
        {
            int gt = line.IndexOf('>');
            int open = gt + 1;
            int close = line.IndexOf(']', Math.Max(open, 0));
            if (line.StartsWith('<') && gt > 1 && int.TryParse(line.AsSpan(1, gt - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int prio)
                && open < line.Length && line[open] == '[' && close > open
                && double.TryParse(line.AsSpan(open + 1, close - open - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
            {
                string body = close + 1 < line.Length && line[close + 1] == ' ' ? line[(close + 2)..] : line[(close + 1)..];
                records.Add(new KmsgRecord(prio >> 3, prio & 7, seq++, (long)Math.Round(seconds * 1e6), '-', body, null));
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
