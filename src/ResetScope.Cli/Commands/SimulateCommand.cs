using System.CommandLine;
using ResetScope.Cli.Rendering;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Cli.Commands;

/// <summary><c>resetscope simulate SCENARIO</c>: run the ENA model in virtual time.</summary>
public static class SimulateCommand
{
    public static Command Create(IConsole console)
    {
        var scenario = new Argument<string>("SCENARIO")
        {
            Description = $"a scenario YAML file or a built-in name: {string.Join(", ", ScenarioLoader.BuiltInNames)}",
        };
        var json = new Option<bool>("--json") { Description = "JSON lines: kernel records, reset events, final counters, impact" };
        var logOnly = new Option<bool>("--log-only") { Description = "only the kernel log lines, as dmesg prints them" };
        var seed = new Option<ulong?>("--seed") { Description = "override the scenario's seed" };
        var duration = new Option<string?>("--duration") { Description = "override the scenario's duration (e.g. 90s, 2m)" };
        var driverVersion = new Option<string?>("--driver-version") { Description = "override the ENA driver version (e.g. 2.4.0g, 2.11.0g, 2.17.0g)" };

        var command = new Command("simulate", "Run the ENA device and driver model in virtual time; print its kernel log, resets, counters and workload impact.")
        {
            scenario, json, logOnly, seed, duration, driverVersion,
        };
        command.SetAction(parse =>
        {
            Scenario s = Load(parse.GetValue(scenario)!);
            if (parse.GetValue(seed) is ulong sd)
            {
                s = s with { Seed = sd };
            }

            if (parse.GetValue(duration) is string d)
            {
                s = s with { DurationNs = ParseOverride(() => ScenarioLoader.Parse($"duration: {d}", "--duration").DurationNs) };
            }

            if (parse.GetValue(driverVersion) is string v)
            {
                s = s with { DriverVersion = ParseOverride(() => ScenarioLoader.Parse($"driver_version: \"{v}\"", "--driver-version").DriverVersion) };
            }

            SimulationResult result = new Simulator(s).Run();
            if (parse.GetValue(logOnly))
            {
                SimulationRenderer.WriteLog(console.Out, result);
            }
            else if (parse.GetValue(json))
            {
                SimulationRenderer.WriteJson(console.Out, result);
            }
            else
            {
                SimulationRenderer.WriteTimeline(console.Out, result);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Scenario Load(string nameOrPath)
    {
        try
        {
            return ScenarioLoader.Load(nameOrPath);
        }
        catch (ScenarioException e)
        {
            throw new UserFacingException(e.Message);
        }
        catch (FileNotFoundException e)
        {
            throw new UserFacingException(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserFacingException($"{nameOrPath}: cannot read the scenario: {e.Message}");
        }
    }

    private static T ParseOverride<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (ScenarioException e)
        {
            throw new UserFacingException($"{e.File}: {e.Problem}");
        }
    }
}
