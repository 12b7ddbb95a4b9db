namespace ResetScope.KernelLog;

/// <summary>Input shapes. <see cref="Auto"/> detects per file; the others force the reading (<c>--format</c>).</summary>
public enum LogFormat
{
    Auto = 0,

    /// <summary><c>dmesg</c>: <c>[ 1234.567890] msg</c>, or no timestamp at all; also netconsole and serial captures.</summary>
    Dmesg,

    /// <summary><c>dmesg -T</c>: <c>[Mon Jul 14 10:10:22 2026] msg</c>.</summary>
    DmesgT,

    /// <summary><c>dmesg -H</c>: <c>[Jul14 10:10] msg</c> then <c>[  +0.005106] msg</c> deltas (never read as uptime).</summary>
    DmesgH,

    /// <summary>syslog / kern.log / messages (RFC 3164 with or without kernel timestamps, RFC 3339) and journalctl short, short-iso, short-precise, short-monotonic.</summary>
    Syslog,

    /// <summary><c>journalctl -o json</c>: one JSON object per line.</summary>
    JournalJson,

    /// <summary><c>journalctl -o export</c>: KEY=value records separated by blank lines.</summary>
    JournalExport,

    /// <summary>/dev/kmsg records (<c>prio,seq,usec,flags;text</c>) and extended netconsole.</summary>
    Kmsg,
}

public static class LogFormatNames
{
    /// <summary>Parses a <c>--format</c> value (case-insensitive; dashes ignored). Returns false for unknown names.</summary>
    public static bool TryParse(string? text, out LogFormat format)
    {
        format = LogFormat.Auto;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        string t = text.Trim().ToLowerInvariant().Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
        format = t switch
        {
            "auto" => LogFormat.Auto,
            "dmesg" or "raw" or "netconsole" or "serial" or "console" => LogFormat.Dmesg,
            "dmesgt" => LogFormat.DmesgT,
            "dmesgh" => LogFormat.DmesgH,
            "syslog" or "kernlog" or "messages" or "journal" or "short" or "shortiso" or "shortprecise" or "shortmonotonic" or "rfc3164" or "rfc3339" => LogFormat.Syslog,
            "json" or "journaljson" => LogFormat.JournalJson,
            "export" or "journalexport" => LogFormat.JournalExport,
            "kmsg" or "devkmsg" => LogFormat.Kmsg,
            _ => (LogFormat)(-1),
        };
        return (int)format >= 0;
    }
}
