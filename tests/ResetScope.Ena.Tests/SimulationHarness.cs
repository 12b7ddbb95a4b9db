using ResetScope.Core;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

/// <summary>Runs scenarios for tests and reads their output the way an operator would: as log lines.</summary>
internal static class SimulationHarness
{
    public static SimulationResult Run(string builtIn, string? driverVersion = null, Func<Scenario, Scenario>? change = null)
    {
        Scenario s = ScenarioLoader.Load(builtIn);
        if (driverVersion is not null)
        {
            s = s with { DriverVersion = driverVersion };
        }

        if (change is not null)
        {
            s = change(s);
        }

        return new Simulator(s).Run();
    }

    /// <summary>Log lines without the printk timestamp.</summary>
    public static List<string> Lines(this SimulationResult r) => r.Records.Select(x => x.Text).ToList();

    public static string Log(this SimulationResult r) => string.Join('\n', r.Records.Select(x => x.ToDmesgLine()));

    public static ulong Counter(this SimulationResult r, string name) => r.Counters.Single(c => c.Name == name).Value;

    public static bool HasCounter(this SimulationResult r, string name) => r.Counters.Any(c => c.Name == name);

    public static ResetEpisode SingleReset(this SimulationResult r) => r.Episodes.Should().ContainSingle().Subject;

    public static double SecondsAfterStart(this SimulationResult r, long ns) => (ns - r.Scenario.UptimeNs) / 1e9;

    public static KernelRecord FirstRecord(this SimulationResult r, string contains) => r.Records.First(x => x.Text.Contains(contains, StringComparison.Ordinal));
}
