namespace ResetScope.KernelLog;

/// <summary>Where the year of timestamps written without one (RFC 3164 syslog, journalctl short) came from.</summary>
public enum YearSource
{
    /// <summary><c>--year</c> (<see cref="ScanOptions.ReferenceYear"/>).</summary>
    Option,

    /// <summary>The input file's last-write time.</summary>
    FileMtime,

    /// <summary>Standard input is a regular file (<c>scan - &lt; kern.log</c>): that file's last-write time.</summary>
    StdinFileMtime,

    /// <summary>No file to ask (a pipe, a terminal, a stream in memory): today's date.</summary>
    CurrentDate,
}

public static class YearSourceNames
{
    /// <summary>The name the JSON summary (<c>yearless[].from</c>) and the human footer use; stable.</summary>
    public static string ToJsonName(this YearSource source) => source switch
    {
        YearSource.Option => "--year",
        YearSource.FileMtime => "file mtime",
        YearSource.StdinFileMtime => "stdin file mtime",
        _ => "current date",
    };
}
