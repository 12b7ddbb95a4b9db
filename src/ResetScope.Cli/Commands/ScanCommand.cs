using System.CommandLine;
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
        var year = new Option<int?>("--year") { Description = "year for syslog timestamps that omit it" };
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
            if (console is SystemConsole && !Console.IsErrorRedirected && TotalBytes(inputs) >= ProgressThresholdBytes)
            {
                return RunWithProgress(inputs, options, console);
            }

            return ScanRunner.Run(inputs, options, console.Out, console.Error, inputs.Contains("-") ? Console.OpenStandardInput() : null);
        });
        return command;
    }

    private static int RunWithProgress(string[] inputs, ScanOptions options, IConsole console)
    {
        IAnsiConsole err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        int exit = 0;
        err.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("scanning", maxValue: Math.Max(1, TotalBytes(inputs)));
                var progress = new Progress<ScanProgress>(p => task.Value = p.BytesDone);
                exit = ScanRunner.Run(inputs, options with { Progress = progress }, console.Out, console.Error);
                task.Value = task.MaxValue;
            });
        return exit;
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
