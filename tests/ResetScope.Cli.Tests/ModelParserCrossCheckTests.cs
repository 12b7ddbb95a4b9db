using ResetScope.Core;
using ResetScope.Ena.Simulation;
using ResetScope.KernelLog;

namespace ResetScope.Cli.Tests;

/// <summary>
/// The model and the parser check each other: everything `simulate` prints for every built-in scenario, under
/// each tested driver generation, is found back by `scan` as the same resets with the fields the model knows.
/// </summary>
public class ModelParserCrossCheckTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in ScenarioLoader.BuiltInNames)
        {
            foreach (string version in new[] { "2.4.0g", "2.11.0g", "2.13.0g", "2.17.0g" })
            {
                data.Add(name, version);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scan_finds_what_simulate_did(string scenario, string version)
    {
        SimulationResult sim = new Simulator(ScenarioLoader.Load(scenario) with { DriverVersion = version }).Run();
        string log = string.Concat(sim.Records.Select(r => r.ToDmesgLine() + "\n"));
        string path = Path.Combine(Path.GetTempPath(), $"resetscope-crosscheck-{Guid.NewGuid():N}.log");
        File.WriteAllText(path, log);
        try
        {
            ScanReport report = ScanRunner.Scan([path], new ScanOptions { Parallelism = 1 }, TextWriter.Null)!;
            ResetEvent[] expected = sim.ResetEvents().ToArray();
            ResetEvent[] found = report.Resets.Select(r => r.Event).ToArray();

            found.Should().HaveSameCount(expected, "every modelled reset is one event in the log");
            for (int i = 0; i < expected.Length; i++)
            {
                ResetEvent m = expected[i];
                ResetEvent p = found[i];
                // The model knows the queue of a bad Tx req_id; before 2.6.0 the line does not print it.
                int? printedQueue = m.EnaReason == "INV_TX_REQ_ID" && version == "2.4.0g" ? null : m.Queue;
                (p.Driver, p.Pci, p.Dev, p.Reason, p.EnaReason, p.Queue, p.Outcome).Should().Be(
                    (m.Driver, m.Pci, m.Dev, m.Reason, m.EnaReason, printedQueue, m.Outcome), $"reset #{i + 1} of {scenario} on {version}");
                (p.ThresholdUsec, p.SinceNapiUsec, p.NapiScheduled, p.NapiCpu).Should().Be(
                    (m.ThresholdUsec, m.SinceNapiUsec, m.NapiScheduled, m.NapiCpu), $"the printed fields of reset #{i + 1} of {scenario} on {version}");
                p.DriverVersion.Should().Be(m.DriverVersion);
                (p.Line, p.Ts).Should().Be((m.Line, m.Ts), "both name the closing line and its timestamp as written");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
