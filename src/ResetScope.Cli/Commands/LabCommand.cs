using System.CommandLine;
using System.Globalization;
using ResetScope.Lab;
using Spectre.Console;

namespace ResetScope.Cli.Commands;

/// <summary><c>resetscope lab</c>: live reproductions on this host: <c>lab burn</c>, a bounded CPU hog; <c>lab flood</c>, a kernel-log flood.</summary>
public static class LabCommand
{
    public static Command Create(IConsole console)
    {
        var cpu = new Option<int>("--cpu") { Description = "CPU to pin the busy loop to", Required = true };
        var seconds = new Option<double>("--seconds") { Description = "how long (at most 10)", DefaultValueFactory = _ => 3 };
        var fifo = new Option<int>("--fifo") { Description = "SCHED_FIFO priority 1-99 (needs root); 0 = normal scheduling", DefaultValueFactory = _ => 0 };
        var burn = new Command("burn", "Busy-loop on one CPU for a bounded time (optionally SCHED_FIFO) to starve softirq work there; stops itself.")
        {
            cpu, seconds, fifo,
        };
        burn.SetAction(parse =>
        {
            BurnResult r;
            try
            {
                r = CpuBurner.Burn(parse.GetValue(cpu), TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(fifo));
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw new UserFacingException($"--{e.ParamName switch { "duration" => "seconds", "fifoPriority" => "fifo", _ => "cpu" }}: {e.Message.Split(" (Parameter")[0]}");
            }
            catch (InvalidOperationException e)
            {
                throw new UserFacingException(e.Message);
            }

            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"burnt CPU {r.Cpu} for {r.Elapsed.TotalSeconds:0.000} s{(r.RealTime ? " at SCHED_FIFO" : "")} ({r.Iterations} iterations), pid {Environment.ProcessId}"));
            return ExitCodes.Ok;
        });
        return new Command("lab", "Live reproductions on this host.") { burn, Flood(console) };
    }

    private static Command Flood(IConsole console)
    {
        var records = new Option<int>("--records") { Description = "flood records to write (missing-Tx lines and soft-lockup dumps)", DefaultValueFactory = _ => 200_000 };
        var rate = new Option<double>("--rate") { Description = "records per second; 0 = as fast as one writer can", DefaultValueFactory = _ => 0 };
        var resets = new Option<int>("--resets") { Description = "complete ENA resets (the keep-alive-loss scenario's lines) spread over the flood", DefaultValueFactory = _ => 0 };
        var tag = new Option<string?>("--tag") { Description = "text every record starts with (default 'resetscope-lab-flood-PID: '); give it to the agent's --trust-test-records" };
        var json = new Option<bool>("--json") { Description = "the result as one JSON object" };
        var flood = new Command("flood", "Write a kernel-log flood into /dev/kmsg (root): tagged records by the thousand, optionally with resets inside; stops itself after 120 s.")
        {
            records, rate, resets, tag, json,
        };
        flood.SetAction(parse =>
        {
            var options = new KmsgFloodOptions
            {
                Records = parse.GetValue(records),
                RatePerSecond = parse.GetValue(rate),
                Resets = parse.GetValue(resets),
                Tag = parse.GetValue(tag) ?? string.Create(CultureInfo.InvariantCulture, $"resetscope-lab-flood-{Environment.ProcessId}: "),
            };
            if (options.Records < 0 || options.Resets < 0 || options.RatePerSecond < 0)
            {
                throw new UserFacingException("lab flood: --records, --resets and --rate are never negative");
            }

            options = options with { ResetLines = options.Resets > 0 ? KmsgFlood.KeepAliveResetLines() : [] };
            KmsgFloodResult r;
            try
            {
                r = console is SystemConsole && !Console.IsErrorRedirected ? WithProgress(options) : KmsgFlood.Write(options);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
            {
                throw new UserFacingException(e.Message);
            }

            if (parse.GetValue(json))
            {
                using var buffer = new MemoryStream();
                using (var j = new System.Text.Json.Utf8JsonWriter(buffer))
                {
                    j.WriteStartObject();
                    j.WriteNumber("records", r.Records);
                    j.WriteNumber("reset_records", r.ResetRecords);
                    j.WriteNumber("resets", r.Resets);
                    j.WriteNumber("seconds", Math.Round(r.Elapsed.TotalSeconds, 3));
                    j.WriteNumber("records_per_second", Math.Round(r.RecordsPerSecond));
                    j.WriteString("tag", options.Tag);
                    j.WriteString("printk_devkmsg", r.DevkmsgSetting);
                    j.WriteBoolean("printk_devkmsg_lifted", r.DevkmsgLifted);
                    j.WriteBoolean("stopped_at_limit", r.StoppedAtLimit);
                    j.WriteEndObject();
                }

                console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            }
            else
            {
                console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {r.Records} flood records and {r.Resets} reset(s) ({r.ResetRecords} records) into /dev/kmsg in {r.Elapsed.TotalSeconds:0.000} s ({r.RecordsPerSecond:0} records/s), tagged '{options.Tag}'{(r.DevkmsgLifted ? "; kernel.printk_devkmsg was 'ratelimit', set to 'on' for the flood and restored" : "")}{(r.StoppedAtLimit ? $"; stopped at the {KmsgFlood.MaxDuration.TotalSeconds:0} s limit" : "")}"));
            }

            return ExitCodes.Ok;
        });
        return flood;
    }

    private static KmsgFloodResult WithProgress(KmsgFloodOptions options)
    {
        IAnsiConsole err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        KmsgFloodResult result = default;
        long total = options.Records + ((long)options.Resets * options.ResetLines.Count);
        err.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("flooding /dev/kmsg", maxValue: Math.Max(1, total));
                result = KmsgFlood.Write(options, written => task.Value = written);
                task.Value = task.MaxValue;
            });
        return result;
    }
}
