using System.Text;
using FluentAssertions;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>RFC 3164 / journalctl short timestamps have no year: which year they get, and how the scan says where it came from.</summary>
public sealed class YearSourceTests : IDisposable
{
    // Two candidate lines without a year (one dated after the file was written), one line that is not a candidate.
    private const string Log =
        "Dec 31 23:59:58 h kernel: ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n" +
        "Jan  2 10:00:00 h kernel: ena 0000:00:05.0 eth1: Keep alive watchdog timeout.\n" +
        "Jan  2 10:00:01 h kernel: EXT4-fs (nvme0n1p1): re-mounted\n";

    private static readonly DateTime s_written = new(2021, 1, 3, 12, 0, 0, DateTimeKind.Utc);

    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-year-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteLog(string text = Log)
    {
        string path = Path.Combine(_dir, "kern.log");
        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, s_written);
        return path;
    }

    private static (string Summary, string[] Times) Json(IReadOnlyList<string> paths, ScanOptions options, Stream? stdin = null)
    {
        var stdout = new StringWriter();
        ScanRunner.Run(paths, options with { Output = ScanOutput.Json }, stdout, TextWriter.Null, stdin);
        string[] lines = stdout.ToString().TrimEnd('\n').Split('\n');
        string[] times = [.. lines[..^1].Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("time").GetString()!)];
        return (lines[^1], times);
    }

    [Fact]
    public void Year_option_wins_over_the_file_mtime()
    {
        string path = WriteLog();

        (string summary, string[] times) = Json([path], new ScanOptions { ReferenceYear = 2019 });

        summary.Should().Contain($"\"yearless\":[{{\"file\":\"{path}\",\"lines\":2,\"year\":2019,\"from\":\"--year\"}}]");
        times.Should().Equal("2019-12-31T23:59:58Z", "2019-01-02T10:00:00Z");
    }

    [Fact]
    public void A_file_gives_its_mtime_year_and_a_line_dated_after_the_mtime_the_year_before()
    {
        string path = WriteLog();

        (string summary, string[] times) = Json([path], new ScanOptions());

        summary.Should().Contain($"\"yearless\":[{{\"file\":\"{path}\",\"lines\":2,\"year\":2021,\"from\":\"file mtime\"}}]");
        times.Should().Equal("2020-12-31T23:59:58Z", "2021-01-02T10:00:00Z");
    }

    [Fact]
    public void Stdin_that_is_a_regular_file_gives_that_files_mtime_year()
    {
        string path = WriteLog();
        using var stdin = new FileStream(path, FileMode.Open, FileAccess.Read);

        (string summary, string[] times) = Json(["-"], new ScanOptions(), stdin);

        summary.Should().Contain("\"yearless\":[{\"file\":\"-\",\"lines\":2,\"year\":2021,\"from\":\"stdin file mtime\"}]");
        times.Should().Equal("2020-12-31T23:59:58Z", "2021-01-02T10:00:00Z");
    }

    [Fact]
    public void Stdin_with_no_file_behind_it_gives_the_current_year()
    {
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(Log));
        int year = DateTime.UtcNow.Year;

        (string summary, _) = Json(["-"], new ScanOptions(), stdin);

        summary.Should().Contain($"\"yearless\":[{{\"file\":\"-\",\"lines\":2,\"year\":{year},\"from\":\"current date\"}}]");
    }

    [Fact]
    public void On_stdin_with_no_file_a_line_dated_more_than_a_day_ahead_of_now_is_from_the_year_before()
    {
        DateTime tomorrowPlusOne = DateTime.UtcNow.AddDays(2);
        if (tomorrowPlusOne is { Month: 2, Day: 29 })
        {
            tomorrowPlusOne = tomorrowPlusOne.AddDays(1); // the year before has no Feb 29
        }

        string ahead = tomorrowPlusOne.ToString("MMM dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes($"{ahead} h kernel: ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n"));

        (_, string[] times) = Json(["-"], new ScanOptions(), stdin);

        times.Should().Equal(new DateTime(tomorrowPlusOne.Year - 1, tomorrowPlusOne.Month, tomorrowPlusOne.Day, tomorrowPlusOne.Hour, tomorrowPlusOne.Minute, tomorrowPlusOne.Second, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Timestamps_with_a_year_are_not_counted_and_the_summary_lists_no_input()
    {
        string path = WriteLog("2026-07-14T10:10:22+00:00 h kernel: ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n[Tue Jul 14 10:10:23 2026] ena 0000:00:05.0 eth1: Keep alive watchdog timeout.\n");

        (string summary, _) = Json([path], new ScanOptions());

        summary.Should().Contain(",\"yearless\":[],");
    }

    [Fact]
    public void Only_candidate_lines_are_counted()
    {
        string path = WriteLog(Log + string.Concat(Enumerable.Range(0, 50).Select(i => $"Jan  2 10:01:{i % 60:D2} h systemd[1]: Started session {i}.\n")));

        FileScanResult r = ScanRunner.Scan([path], new ScanOptions(), TextWriter.Null)!.Files.Single();

        r.Lines.Should().Be(53);
        r.YearlessLines.Should().Be(2);
        r.Year.Should().Be(2021);
        r.YearSource.Should().Be(YearSource.FileMtime);
    }

    [Fact]
    public void A_collector_json_record_wrapping_a_syslog_line_without_its_own_time_is_counted()
    {
        FileScanResult r = Scan.Lines("{\"log\":\"Jul 14 10:10:22 h kernel: ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\"}");

        r.YearlessLines.Should().Be(1);
        r.Year.Should().Be(2026);
        r.YearSource.Should().Be(YearSource.Option);
    }

    [Fact]
    public void The_human_footer_says_which_year_was_given_and_from_where()
    {
        string path = WriteLog();
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(Log));

        ScanReport report = ScanRunner.Scan([path, "-"], new ScanOptions(), TextWriter.Null, stdin)!;

        ScanRunner.HumanFooter(report).Should().EndWith($"0 input error(s); 2 line(s) without a year given 2021 (file mtime), 2 given {DateTime.UtcNow.Year} (current date).");
    }

    [Fact]
    public void The_human_footer_has_no_year_clause_when_every_timestamp_had_its_year()
    {
        string path = WriteLog("[ 1.000000] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n");

        ScanReport report = ScanRunner.Scan([path], new ScanOptions(), TextWriter.Null)!;

        ScanRunner.HumanFooter(report).Should().EndWith(", 0 input error(s).");
    }
}
