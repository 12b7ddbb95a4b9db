using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using ResetScope.Core;

namespace ResetScope.KernelLog;

public enum ScanOutput
{
    Human,
    Json,
    Csv,
}

/// <summary>Progress after each finished input: bytes read so far of the known total (stdin counts as unknown).</summary>
public readonly record struct ScanProgress(int FilesDone, int FilesTotal, long BytesDone, long BytesTotal);

/// <summary>Options of <c>resetscope scan</c>.</summary>
public sealed record ScanOptions
{
    public LogFormat Format { get; init; } = LogFormat.Auto;
    public ScanOutput Output { get; init; } = ScanOutput.Human;
    public IReadOnlyList<GroupKey> GroupBy { get; init; } = Cadence.DefaultGroupBy;

    /// <summary>Host manifest CSV path (host, az, instance_type, ami, kernel[, path]); null for none.</summary>
    public string? ManifestPath { get; init; }

    /// <summary>
    /// Year for syslog timestamps that omit it; default: the file's last-write year, a year earlier for lines dated
    /// more than a day after it (stdin: the same from the regular file behind it, else from today's date).
    /// </summary>
    public int? ReferenceYear { get; init; }

    /// <summary>Files scanned at once; default all cores.</summary>
    public int? Parallelism { get; init; }

    public bool IncludePrecursors { get; init; } = true;

    public IProgress<ScanProgress>? Progress { get; init; }
}

/// <summary>Everything one scan found, in input order; what the CLI renders.</summary>
public sealed record ScanReport
{
    public required IReadOnlyList<FileScanResult> Files { get; init; }
    public required IReadOnlyList<CadenceGroup> Groups { get; init; }
    public required IReadOnlyList<GroupKey> GroupBy { get; init; }
    public required IReadOnlyList<string> Errors { get; init; }
    public HostManifest? Manifest { get; init; }

    public int ReadableInputs => Files.Count(f => !f.Unreadable);
    public IEnumerable<ScannedReset> Resets => Files.SelectMany(f => f.Resets);
    public IEnumerable<PrecursorEvent> Precursors => Files.SelectMany(f => f.Precursors);
    public IEnumerable<StarvationEvent> Starvations => Files.SelectMany(f => f.Starvations);

    /// <summary>All inputs' unusable lines counted by reason, in the order of <see cref="UnusableReason.All"/>; reasons with none left out.</summary>
    public List<(string Reason, long Count)> UnusableByReason()
    {
        var byReason = new List<(string Reason, long Count)>();
        foreach (string reason in UnusableReason.All)
        {
            long n = 0;
            foreach (FileScanResult f in Files)
            {
                n += f.UnusableByReason.GetValueOrDefault(reason);
            }

            if (n > 0)
            {
                byReason.Add((reason, n));
            }
        }

        return byReason;
    }
}

/// <summary>
/// The <c>scan</c> verb without the command line: expand paths, scan inputs in parallel, assemble events,
/// compute cadence and write JSON lines / CSV / a plain table. Exit code 0 when at least one input was
/// readable (finding resets is success), 2 when none was (or the usage was wrong).
/// </summary>
public static class ScanRunner
{
    public const int ExitOk = 0;
    public const int ExitUnreadable = 2;

    public static int Run(IReadOnlyList<string> paths, ScanOptions options, TextWriter stdout, TextWriter stderr, Stream? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ScanReport? report = Scan(paths, options, stderr, stdin);
        if (report is null)
        {
            return ExitUnreadable;
        }

        switch (options.Output)
        {
            case ScanOutput.Json:
                WriteJson(report, stdout);
                break;
            case ScanOutput.Csv:
                WriteCsv(report, stdout);
                break;
            default:
                WriteHuman(report, stdout);
                break;
        }

        stdout.Flush();
        return report.ReadableInputs > 0 ? ExitOk : ExitUnreadable;
    }

    /// <summary>Scans and returns the report (null after a one-line usage error on stderr). Per-input errors go to stderr as they happen.</summary>
    public static ScanReport? Scan(IReadOnlyList<string> paths, ScanOptions options, TextWriter stderr, Stream? stdin = null)
    {
        HostManifest? manifest = null;
        if (options.ManifestPath is { } mp)
        {
            try
            {
                using var r = new StreamReader(mp);
                manifest = HostManifest.Parse(r, mp);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                stderr.WriteLine($"resetscope scan: cannot use host manifest {mp}: {ex.Message.TrimEnd('.')}");
                return null;
            }
        }

        var errors = new List<string>();
        var inputs = new List<(string Path, string Display, bool IsStdin)>();
        if (paths.Count == 0)
        {
            stderr.WriteLine("resetscope scan: no input given; pass log files, directories, or - for stdin");
            return null;
        }

        foreach (string p in paths)
        {
            if (p == "-")
            {
                inputs.Add((p, "-", true));
            }
            else if (Directory.Exists(p))
            {
                List<string> found;
                try
                {
                    found = [.. Directory.EnumerateFiles(p, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })];
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Report(errors, stderr, $"resetscope scan: cannot list directory {p}: {ex.Message.TrimEnd('.')}; check permissions");
                    continue;
                }

                found.Sort(StringComparer.Ordinal);
                if (found.Count == 0)
                {
                    Report(errors, stderr, $"resetscope scan: directory {p} contains no files; point at the log files or their parent directory");
                }

                inputs.AddRange(found.Select(f => (f, f, false)));
            }
            else if (File.Exists(p))
            {
                inputs.Add((p, p, false));
            }
            else
            {
                Report(errors, stderr, $"resetscope scan: cannot read {p}: no such file or directory; check the path");
            }
        }

        var results = new FileScanResult?[inputs.Count];
        long total = 0;
        foreach ((string path, _, bool isStdin) in inputs)
        {
            if (!isStdin)
            {
                try
                {
                    total += new FileInfo(path).Length;
                }
                catch (IOException)
                {
                }
            }
        }

        int done = 0;
        long bytesDone = 0;
        object gate = new();
        int parallelism = Math.Max(1, options.Parallelism ?? Environment.ProcessorCount);
        void ScanOne(int i)
        {
            (string path, string display, bool isStdin) = inputs[i];
            string? host = isStdin ? null : manifest?.HostForPath(path);
            FileScanResult r;
            try
            {
                if (isStdin)
                {
                    // A pipe is being written now: today's date plays the file's last-write time.
                    DateTimeOffset? fileWritten = options.ReferenceYear is null ? StdinFileWriteTime(stdin) : null;
                    var scanner = new LogScanner(options.Format, options.ReferenceYear, notAfter: options.ReferenceYear is null ? fileWritten ?? DateTimeOffset.UtcNow : null)
                    {
                        YearSource = options.ReferenceYear is not null ? YearSource.Option : fileWritten is not null ? YearSource.StdinFileMtime : YearSource.CurrentDate,
                    };
                    r = scanner.ScanStream(stdin ?? Console.OpenStandardInput(), display, host);
                }
                else
                {
                    DateTimeOffset? written = options.ReferenceYear is null ? SafeWriteTime(path) : null;
                    r = new LogScanner(options.Format, options.ReferenceYear, notAfter: written).ScanFile(path, display, host);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A bug in the scanner must not lose the other inputs' results.
                r = new FileScanResult { File = display, Unreadable = true, Error = $"internal error while scanning {display}: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}; please report this with the input" };
            }

            results[i] = r;
            lock (gate)
            {
                done++;
                bytesDone += r.Bytes;
                if (r.Error is { } err)
                {
                    Report(errors, stderr, "resetscope scan: " + err);
                }

                if (r.Note is { } note)
                {
                    // Not an input error: gzip itself warns and keeps the data.
                    lock (errors)
                    {
                        stderr.WriteLine("resetscope scan: note: " + note);
                    }
                }

                options.Progress?.Report(new ScanProgress(done, inputs.Count, bytesDone, total));
            }
        }

        if (parallelism == 1 || inputs.Count <= 1)
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                ScanOne(i);
            }
        }
        else
        {
            Parallel.For(0, inputs.Count, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, ScanOne);
        }

        FileScanResult[] files = [.. results.Select(r => r!)];
        if (!options.IncludePrecursors)
        {
            files = [.. files.Select(f => f with { Precursors = [] })];
        }

        IReadOnlyList<CadenceGroup> groups = Cadence.Compute(files.SelectMany(f => f.Resets), options.GroupBy, manifest);
        return new ScanReport { Files = files, Groups = groups, GroupBy = options.GroupBy, Errors = errors, Manifest = manifest };
    }

    private static DateTimeOffset? SafeWriteTime(string path)
    {
        try
        {
            return new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The last-write time of the regular file behind stdin (<c>scan - &lt; kern.log</c>), or null for a pipe, a
    /// terminal, a socket, an empty file or a stream with no file. No stream given means the process's own fd 0.
    /// </summary>
    private static DateTimeOffset? StdinFileWriteTime(Stream? stdin)
    {
        SafeFileHandle handle;
        if (stdin is FileStream fs)
        {
            handle = fs.SafeFileHandle;
        }
        else if (stdin is null)
        {
            handle = new SafeFileHandle(0, ownsHandle: false);
        }
        else
        {
            return null;
        }

        try
        {
            // RandomAccess refuses what cannot seek (pipes, terminals, sockets); /dev/null and empty files have no length.
            if (RandomAccess.GetLength(handle) <= 0)
            {
                return null;
            }

            return new DateTimeOffset(File.GetLastWriteTimeUtc(handle), TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is NotSupportedException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static void Report(List<string> errors, TextWriter stderr, string message)
    {
        lock (errors)
        {
            errors.Add(message);
            stderr.WriteLine(message);
        }
    }

    /// <summary>Events of all inputs in input order, by line within an input.</summary>
    public static IEnumerable<object> OrderedEvents(ScanReport report)
    {
        foreach (FileScanResult f in report.Files)
        {
            var items = new List<(int Line, int Rank, object Event)>();
            items.AddRange(f.Resets.Select(r => (r.Event.Line ?? 0, 1, (object)r.Event)));
            items.AddRange(f.Starvations.Select(s => (s.Line ?? 0, 0, (object)s)));
            items.AddRange(f.Precursors.Select(p => (p.Line ?? 0, 0, (object)p)));
            foreach ((int _, int _, object e) in items.OrderBy(x => x.Line).ThenBy(x => x.Rank))
            {
                yield return e;
            }
        }
    }

    public static void WriteJson(ScanReport report, TextWriter stdout)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        var jsonOptions = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };
        using var w = new Utf8JsonWriter(buffer, jsonOptions);
        foreach (object e in OrderedEvents(report))
        {
            switch (e)
            {
                case ResetEvent r:
                    EventJson.Write(w, r);
                    break;
                case StarvationEvent s:
                    EventJson.Write(w, s);
                    break;
                case PrecursorEvent p:
                    EventJson.Write(w, p);
                    break;
                default:
                    break;
            }

            Emit();
        }

        WriteSummary(w, report);
        Emit();

        void Emit()
        {
            w.Flush();
            stdout.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
            stdout.Write('\n');
            buffer.ResetWrittenCount();
            w.Reset(buffer);
        }
    }

    private static void WriteSummary(Utf8JsonWriter w, ScanReport report)
    {
        w.WriteStartObject();
        w.WriteString("kind", "summary");
        w.WriteNumber("files", report.Files.Count);
        w.WriteNumber("unreadable", report.Files.Count(f => f.Unreadable));
        w.WriteNumber("errors", report.Errors.Count);
        w.WriteNumber("bytes", report.Files.Sum(f => f.Bytes));
        w.WriteNumber("lines", report.Files.Sum(f => f.Lines));
        w.WriteNumber("candidate_lines", report.Files.Sum(f => f.CandidateLines));
        w.WriteNumber("resets", report.Files.Sum(f => f.Resets.Count));
        w.WriteNumber("precursors", report.Files.Sum(f => f.Precursors.Count));
        w.WriteNumber("starvation", report.Files.Sum(f => f.Starvations.Count));
        w.WriteNumber("stats_dump_lines", report.Files.Sum(f => f.StatsDumpLines));
        w.WriteNumber("long_lines_skipped", report.Files.Sum(f => f.LongLinesSkipped));
        w.WriteNumber("invalid_utf8_lines", report.Files.Sum(f => f.InvalidUtf8Lines));
        w.WriteNumber("wrapped_lines_joined", report.Files.Sum(f => f.JoinedWrappedLines));
        w.WriteNumber("unusable_lines", report.Files.Sum(f => f.UnusableLines));
        w.WriteStartObject("unusable_by_reason");
        foreach ((string reason, long count) in report.UnusableByReason())
        {
            w.WriteNumber(reason, count);
        }

        w.WriteEndObject();
        w.WriteStartArray("unusable");
        foreach ((string file, UnusableLine u) in UnusableListed(report))
        {
            w.WriteStartObject();
            w.WriteString("file", file);
            w.WriteNumber("line", u.Line);
            w.WriteString("reason", u.Reason);
            w.WriteString("text", u.Text);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("yearless");
        foreach (FileScanResult f in report.Files.Where(f => f.YearlessLines > 0))
        {
            w.WriteStartObject();
            w.WriteString("file", f.File);
            w.WriteNumber("lines", f.YearlessLines);
            w.WriteNumber("year", f.Year);
            w.WriteString("from", f.YearSource.ToJsonName());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("group_by");
        foreach (GroupKey k in report.GroupBy)
        {
            w.WriteStringValue(Cadence.Name(k));
        }

        w.WriteEndArray();
        w.WriteStartArray("groups");
        foreach (CadenceGroup g in report.Groups)
        {
            w.WriteStartObject();
            w.WriteStartObject("key");
            foreach ((string name, string? value) in g.Key)
            {
                if (value is null)
                {
                    w.WriteNull(name);
                }
                else
                {
                    w.WriteString(name, value);
                }
            }

            w.WriteEndObject();
            w.WriteNumber("count", g.Count);
            WriteStringOrNull(w, "first", g.First);
            WriteStringOrNull(w, "last", g.Last);
            WriteDoubleOrNull(w, "min_interval_s", g.MinIntervalS);
            WriteDoubleOrNull(w, "median_interval_s", g.MedianIntervalS);
            w.WriteNumber("bursts", g.Bursts);
            w.WriteNumber("max_burst", g.MaxBurst);
            w.WriteBoolean("periodic", g.Periodic);
            WriteDoubleOrNull(w, "period_s", g.PeriodS);
            w.WriteNumber("completed", g.Completed);
            w.WriteNumber("failed", g.Failed);
            w.WriteNumber("unknown", g.Unknown);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? v)
    {
        if (v is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, v);
        }
    }

    private static void WriteDoubleOrNull(Utf8JsonWriter w, string name, double? v)
    {
        if (v is { } d)
        {
            w.WriteNumber(name, Math.Round(d, 6));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static readonly string[] s_csvHeader =
    [
        "kind", "file", "line", "ts", "time", "host", "driver", "pci", "dev", "queue", "reason", "ena_reason", "threshold_usec", "since_napi_usec",
        "napi_scheduled", "napi_cpu", "outcome", "driver_version", "repeats", "last_ts", "stalled_ms", "lines", "type", "cpu", "comm", "pid", "duration_s", "text",
    ];

    public static void WriteCsv(ScanReport report, TextWriter stdout)
    {
        stdout.Write(string.Join(',', s_csvHeader));
        stdout.Write('\n');
        foreach (object e in OrderedEvents(report))
        {
            string?[] row = e switch
            {
                ResetEvent r =>
                [
                    "reset", r.File, N(r.Line), r.Ts, r.Time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture) : null,
                    r.Host, r.Driver, r.Pci, r.Dev, N(r.Queue), r.Reason.ToJsonName(), r.EnaReason, N(r.ThresholdUsec), N(r.SinceNapiUsec),
                    r.NapiScheduled is { } s ? (s ? "true" : "false") : null, N(r.NapiCpu), r.Outcome.ToJsonName(), r.DriverVersion,
                    N(r.Repeats), r.LastTs, N(r.StalledMs), string.Join(' ', r.Lines), null, null, null, null, null, null,
                ],
                StarvationEvent s =>
                [
                    "starvation", s.File, N(s.Line), s.Ts, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                    s.Type, N(s.Cpu), s.Comm, N(s.Pid), s.DurationS?.ToString(CultureInfo.InvariantCulture), null,
                ],
                PrecursorEvent p =>
                [
                    "precursor", p.File, N(p.Line), p.Ts, null, null, p.Driver, null, p.Dev, N(p.Queue), null, null, null, null, null, null, null, null, null, null, null, null,
                    null, null, null, null, null, p.Text,
                ],
                _ => [],
            };
            stdout.Write(string.Join(',', row.Select(Csv)));
            stdout.Write('\n');
        }
    }

    /// <summary>The cadence groups as CSV: the group-by columns, then count, first, last, intervals, bursts, periodicity, outcomes.</summary>
    public static void WriteCadenceCsv(ScanReport report, TextWriter stdout)
    {
        string[] header = [.. report.GroupBy.Select(Cadence.Name), "count", "first", "last", "min_interval_s", "median_interval_s", "bursts", "max_burst", "periodic", "period_s", "completed", "failed", "unknown"];
        stdout.Write(string.Join(',', header));
        stdout.Write('\n');
        foreach (CadenceGroup g in report.Groups)
        {
            IEnumerable<string?> row = g.Key.Select(k => k.Value).Concat(
            [
                g.Count.ToString(CultureInfo.InvariantCulture), g.First, g.Last, D(g.MinIntervalS), D(g.MedianIntervalS),
                g.Bursts.ToString(CultureInfo.InvariantCulture), g.MaxBurst.ToString(CultureInfo.InvariantCulture), g.Periodic ? "true" : "false", D(g.PeriodS),
                g.Completed.ToString(CultureInfo.InvariantCulture), g.Failed.ToString(CultureInfo.InvariantCulture), g.Unknown.ToString(CultureInfo.InvariantCulture),
            ]);
            stdout.Write(string.Join(',', row.Select(Csv)));
            stdout.Write('\n');
        }

        static string? D(double? v) => v is { } d ? Math.Round(d, 6).ToString(CultureInfo.InvariantCulture) : null;
    }

    private static string? N(long? v) => v?.ToString(CultureInfo.InvariantCulture);

    private static string Csv(string? v)
    {
        if (v is null)
        {
            return string.Empty;
        }

        if (v.AsSpan().IndexOfAny(",\"\n\r") >= 0)
        {
            return "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        }

        return v;
    }

    /// <summary>A plain-text table (the CLI may render the same report with Spectre.Console instead).</summary>
    /// <summary>A titled table of the human report; renderers (plain text here, Spectre.Console in the CLI) lay it out.</summary>
    public sealed record HumanTable(string? Title, string[] Header, IReadOnlyList<string[]> Rows);

    /// <summary>The human report as tables: resets, starvation evidence, cadence (empty tables are left out).</summary>
    public static IReadOnlyList<HumanTable> HumanTables(ScanReport report)
    {
        var tables = new List<HumanTable>();
        List<ResetEvent> resets = [.. report.Resets.Select(r => r.Event)];
        if (resets.Count > 0)
        {
            tables.Add(new HumanTable(null, ["WHERE", "WHEN", "HOST", "DRIVER", "DEV", "Q", "REASON", "ENA REASON", "OUTCOME", "VERSION"],
                resets.Select(e => new[]
                {
                    $"{e.File}:{e.Line}",
                    e.Time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : e.Ts ?? "-",
                    e.Host ?? "-", e.Driver ?? "-", e.Dev ?? e.Pci ?? "-", e.Queue?.ToString(CultureInfo.InvariantCulture) ?? "-", e.Reason.ToJsonName(),
                    e.EnaReason ?? "-", e.Outcome.ToJsonName(), e.DriverVersion ?? "-",
                }).ToList()));
        }

        List<StarvationEvent> starving = [.. report.Starvations];
        if (starving.Count > 0)
        {
            tables.Add(new HumanTable("CPU starvation evidence:", ["WHERE", "WHEN", "TYPE", "CPU", "COMM", "PID", "SECONDS"],
                starving.Select(s => new[] { $"{s.File}:{s.Line}", s.Ts ?? "-", s.Type, s.Cpu?.ToString(CultureInfo.InvariantCulture) ?? "-", s.Comm ?? "-", s.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-", s.DurationS?.ToString(CultureInfo.InvariantCulture) ?? "-" }).ToList()));
        }

        if (report.Groups.Count > 0)
        {
            tables.Add(new HumanTable("Cadence by " + string.Join("+", report.GroupBy.Select(Cadence.Name)) + ":",
                ["GROUP", "COUNT", "FIRST", "LAST", "MIN GAP s", "MEDIAN GAP s", "BURSTS", "PERIODIC", "FAILED"],
                report.Groups.Select(g => new[]
                {
                    g.KeyText, g.Count.ToString(CultureInfo.InvariantCulture), g.First ?? "-", g.Last ?? "-", F(g.MinIntervalS), F(g.MedianIntervalS),
                    g.Bursts.ToString(CultureInfo.InvariantCulture), g.Periodic ? $"yes ({F(g.PeriodS)} s)" : "no", g.Failed.ToString(CultureInfo.InvariantCulture),
                }).ToList()));
        }

        return tables;

        static string F(double? v) => v is { } d ? d.ToString("0.###", CultureInfo.InvariantCulture) : "-";
    }

    /// <summary>The summary lists at most this many unusable lines over all inputs (each input's count is complete).</summary>
    public const int MaxUnusableInSummary = 100;

    /// <summary>The unusable lines the summary lists, in input order.</summary>
    public static List<(string File, UnusableLine Line)> UnusableListed(ScanReport report)
    {
        var listed = new List<(string File, UnusableLine Line)>();
        foreach (FileScanResult f in report.Files)
        {
            foreach (UnusableLine u in f.Unusable)
            {
                if (listed.Count == MaxUnusableInSummary)
                {
                    return listed;
                }

                listed.Add((f.File, u));
            }
        }

        return listed;
    }

    /// <summary>The closing line of the human report: what was read and what was skipped.</summary>
    public static string HumanFooter(ScanReport report)
    {
        long unusable = report.Files.Sum(f => f.UnusableLines);
        string why = unusable == 0 ? string.Empty : " (" + string.Join(", ", report.UnusableByReason().Select(r => $"{r.Reason} {r.Count}")) + ")";
        return string.Create(CultureInfo.InvariantCulture,
            $"{report.Files.Count} input(s), {report.Files.Sum(f => f.Lines)} lines, {report.Resets.Count()} reset(s), {report.Precursors.Count()} precursor line(s), {report.Starvations.Count()} starvation line(s); skipped: {report.Files.Sum(f => f.LongLinesSkipped)} over-long line(s), {unusable} line(s) that looked like part of an event but could not be used{why}, {report.Errors.Count} input error(s){YearlessClause(report)}.");
    }

    /// <summary>"; 12 line(s) without a year given 2026 (file mtime), 3 given 2025 (--year)", or nothing when every timestamp had its year.</summary>
    private static string YearlessClause(ScanReport report)
    {
        List<(int Year, YearSource From, long Lines)> given = [.. report.Files.Where(f => f.YearlessLines > 0)
            .GroupBy(f => (f.Year, f.YearSource)).Select(g => (g.Key.Year, g.Key.YearSource, g.Sum(f => f.YearlessLines)))];
        if (given.Count == 0)
        {
            return string.Empty;
        }

        return string.Create(CultureInfo.InvariantCulture, $"; {given[0].Lines} line(s) without a year given {given[0].Year} ({given[0].From.ToJsonName()})")
            + string.Concat(given.Skip(1).Select(g => string.Create(CultureInfo.InvariantCulture, $", {g.Lines} given {g.Year} ({g.From.ToJsonName()})")));
    }

    public static void WriteHuman(ScanReport report, TextWriter o)
    {
        IReadOnlyList<HumanTable> tables = HumanTables(report);
        if (!report.Resets.Any())
        {
            o.WriteLine("No network-driver resets found.");
        }

        bool first = true;
        foreach (HumanTable t in tables)
        {
            if (!first || t.Title is not null)
            {
                o.WriteLine();
            }

            first = false;
            if (t.Title is not null)
            {
                o.WriteLine(t.Title);
            }

            WriteTable(o, [t.Header, .. t.Rows]);
        }

        o.WriteLine();
        o.WriteLine(HumanFooter(report));
    }

    private static void WriteTable(TextWriter o, List<string[]> rows)
    {
        int cols = rows[0].Length;
        int[] width = new int[cols];
        foreach (string[] r in rows)
        {
            for (int i = 0; i < cols; i++)
            {
                width[i] = Math.Max(width[i], r[i].Length);
            }
        }

        foreach (string[] r in rows)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < cols; i++)
            {
                sb.Append(r[i].PadRight(i == cols - 1 ? 0 : width[i] + 2));
            }

            o.WriteLine(sb.ToString().TrimEnd());
        }
    }
}
