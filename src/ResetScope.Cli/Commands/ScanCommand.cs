using System.CommandLine;
using ResetScope.Cli.Rendering;
using ResetScope.KernelLog;
using Spectre.Console;

namespace ResetScope.Cli.Commands;

/// <summary><c>resetscope scan PATH...</c>: find and decode network-driver resets in any kernel log.</summary>
public static class ScanCommand
{
    // Below this much input a progress bar is noise.
    private const long ProgressThresholdBytes = 64L << 20;

    public static Command Create(IConsole console)
    {
        var paths = new Argument<string[]>("PATH") { Description = "log files, directories (recursive) or - for stdin; plain or .gz", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "JSON lines: one object per event, then a summary object" };
        var csv = new Option<bool>("--csv") { Description = "CSV, one row per event" };
        var format = new Option<string?>("--format") { Description = "input shape instead of auto-detection (e.g. dmesg, dmesg-T, dmesg-H, syslog, journal-json, journal-export, kmsg)" };
        var groupBy = new Option<string?>("--group-by") { Description = "cadence groups: host, dev, driver, reason, file, az, instance_type, ami, kernel (comma-separated)" };
        var manifest = new Option<string?>("--manifest") { Description = "host manifest CSV: host, az, instance_type, ami, kernel[, path]" };
        var year = new Option<int?>("--year") { Description = "year for syslog timestamps that omit it (default: each file's last-write year; stdin: its file's, else this year)" };
        var jobs = new Option<int?>("--jobs") { Description = "files scanned at once (default: all cores)" };
        var noPrecursors = new Option<bool>("--no-precursors") { Description = "leave precursor lines out of the output" };
        var command = new Command("scan", "Find and decode every network-driver reset in kernel logs of any shape; one event per reset, with cadence per host and device.")
        {
            paths, json, csv, format, groupBy, manifest, year, jobs, noPrecursors,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(json) && parse.GetValue(csv))
            {
                throw new UserFacingException("--json and --csv exclude each other; choose one");
            }

            LogFormat logFormat = LogFormat.Auto;
            if (parse.GetValue(format) is string f && !LogFormatNames.TryParse(f, out logFormat))
            {
                throw new UserFacingException($"--format: unknown input shape '{f}'; see 'resetscope scan --help'");
            }

            IReadOnlyList<GroupKey> groups = Cadence.DefaultGroupBy;
            if (parse.GetValue(groupBy) is string g)
            {
                if (!Cadence.TryParseGroupBy(g, out GroupKey[] keys))
                {
                    throw new UserFacingException($"--group-by: '{g}' is not a list of host, dev, driver, reason, file, az, instance_type, ami, kernel");
                }

                groups = keys;
            }

            var options = new ScanOptions
            {
                Format = logFormat,
                Output = parse.GetValue(json) ? ScanOutput.Json : parse.GetValue(csv) ? ScanOutput.Csv : ScanOutput.Human,
                GroupBy = groups,
                ManifestPath = parse.GetValue(manifest),
                ReferenceYear = parse.GetValue(year),
                Parallelism = parse.GetValue(jobs),
                IncludePrecursors = !parse.GetValue(noPrecursors),
            };

            string[] inputs = parse.GetValue(paths)!;

            // No stdin stream is passed: the scan opens fd 0 itself, and so can ask it for the file behind it (its mtime gives the year).
            ScanReport? report = console is SystemConsole && !Console.IsErrorRedirected && TotalBytes(inputs) >= ProgressThresholdBytes
                ? ScanWithProgress(inputs, options, console)
                : ScanRunner.Scan(inputs, options, console.Error);
            if (report is null)
            {
                return ExitCodes.BadInput;
            }

            switch (options.Output)
            {
                case ScanOutput.Json:
                    ScanRunner.WriteJson(report, console.Out);
                    break;
                case ScanOutput.Csv:
                    ScanRunner.WriteCsv(report, console.Out);
                    break;
                default:
                    WriteTables(report, console);
                    break;
            }

            console.Out.Flush();
            return report.ReadableInputs > 0 ? ExitCodes.Ok : ExitCodes.BadInput;
        });
        return command;
    }

    /// <summary>The human report as Spectre.Console tables (plain ASCII borders when output is not a terminal).</summary>
    private static void WriteTables(ScanReport report, IConsole console)
    {
        IAnsiConsole ansi = Terminal.For(console, out bool terminal);

        if (!report.Resets.Any())
        {
            ansi.WriteLine("No network-driver resets found.");
        }

        foreach (ScanRunner.HumanTable t in ScanRunner.HumanTables(report))
        {
            var table = new Table { Border = terminal ? TableBorder.Rounded : TableBorder.Ascii };
            if (t.Title is not null)
            {
                table.Title = new TableTitle(t.Title.TrimEnd(':'));
            }

            foreach (string h in t.Header)
            {
                table.AddColumn(new TableColumn(Markup.Escape(h)).NoWrap());
            }

            foreach (string[] row in t.Rows)
            {
                table.AddRow(row.Select(c => new Text(c)).ToArray<Spectre.Console.Rendering.IRenderable>());
            }

            ansi.Write(table);
        }

        ansi.WriteLine(ScanRunner.HumanFooter(report));
    }

    private static ScanReport? ScanWithProgress(string[] inputs, ScanOptions options, IConsole console)
    {
        IAnsiConsole err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        ScanReport? report = null;
        err.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("scanning", maxValue: Math.Max(1, TotalBytes(inputs)));
                var progress = new Progress<ScanProgress>(p => task.Value = p.BytesDone);
                report = ScanRunner.Scan(inputs, options with { Progress = progress }, console.Error);
                task.Value = task.MaxValue;
            });
        return report;
    }

    private static long TotalBytes(string[] inputs)
    {
        long total = 0;
        foreach (string p in inputs)
        {
            try
            {
                if (File.Exists(p))
                {
                    total += new FileInfo(p).Length;
                }
                else if (Directory.Exists(p))
                {
                    total += new DirectoryInfo(p).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // the scan itself reports unreadable inputs
            }
        }

        return total;
    }
}
