using System.CommandLine;
using System.Globalization;
using ResetScope.Lab;

namespace ResetScope.Cli.Commands;

/// <summary><c>resetscope lab</c>: live reproductions on this host. For now: <c>lab burn</c>, a bounded CPU hog.</summary>
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
        return new Command("lab", "Live reproductions on this host.") { burn };
    }
}
