using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;
using ResetScope.Host.Nic;

namespace ResetScope.Cli.Tests;

/// <summary>
/// The model's ethtool -S and the host's decoder check each other: for every built-in scenario, under each tested
/// driver generation, the names the model prints are all known to <see cref="EnaCounters"/>, and total_resets, each
/// per-reason counter and reset_fail decode to what the simulated resets were (ena-driver.md §2.0, §4.1).
/// </summary>
public class ModelCountersCrossCheckTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in ScenarioLoader.BuiltInNames)
        {
            foreach (string version in new[] { "2.4.0g", "2.8.0g", "2.11.0g", "2.13.0g", "2.17.0g" })
            {
                data.Add(name, version);
            }
        }

        return data;
    }

    /// <summary>Faults the built-in scenarios do not inject, so that every reason with a counter is reached.</summary>
    public static TheoryData<FaultKind, string> FaultCases()
    {
        var data = new TheoryData<FaultKind, string>();
        foreach (FaultKind kind in new[]
        {
            FaultKind.LoseQueueInterrupts, FaultKind.CorruptRxReqId, FaultKind.CorruptTxReqId, FaultKind.CorruptTxDescriptor,
            FaultKind.CorruptRxDescriptor, FaultKind.WithholdTxCompletions, FaultKind.StopKeepAlive, FaultKind.RequestReset,
        })
        {
            foreach (string version in new[] { "2.13.0g", "2.17.0g" })
            {
                data.Add(kind, version);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_decoded_counters_are_the_simulated_resets(string scenario, string version)
    {
        SimulationResult sim = new Simulator(ScenarioLoader.Load(scenario) with { DriverVersion = version }).Run();

        CheckCounters(sim, $"{scenario} on {version}");
    }

    [Theory]
    [MemberData(nameof(FaultCases))]
    public void The_decoded_counters_are_the_simulated_resets_for_every_fault(FaultKind fault, string version)
    {
        Scenario healthy = ScenarioLoader.Load("healthy");
        SimulationResult sim = new Simulator(healthy with { DriverVersion = version, Faults = [new FaultSpec(fault, 5_000_000_000, 20_000_000_000, Queue: 2)] }).Run();

        sim.Episodes.Should().NotBeEmpty($"{fault} resets the device on {version}");
        CheckCounters(sim, $"{fault} on {version}");
    }

    private static void CheckCounters(SimulationResult sim, string label)
    {
        EnaCounters c = EnaCounters.Decode(sim.Counters);

        c.IsEna.Should().BeTrue();
        c.Unknown.Should().BeEmpty("the model prints only names of §4");
        c.All.Should().Equal(sim.Counters);
        c.Queues.Select(q => q.Queue).Should().Equal(Enumerable.Range(0, sim.Scenario.Queues));

        // What the driver counts (§2.0): 2.17.0 the reason that won, once per reset; 2.10–2.16 every request; before, no per-reason counters.
        ResetReason[] counted = sim.Version.FirstReasonWins
            ? sim.Episodes.Select(e => e.Requests.FirstOrDefault(r => r != ResetReason.Normal)).Where(r => r != ResetReason.Normal).ToArray()
            : sim.Episodes.SelectMany(e => e.Requests).Where(r => r != ResetReason.Normal).ToArray();
        if (sim.Version.PerReasonCounters)
        {
            c.TotalResets.Should().Be((ulong)counted.Length, label);
            foreach (IGrouping<ResetReason, ResetReason> reason in counted.GroupBy(r => r))
            {
                // A reason whose counter this generation does not print yet (DEVICE_REQUEST before 2.12) has none to match.
                if (c.ResetsFor(reason.Key.ToName()) is ulong n)
                {
                    n.Should().Be((ulong)reason.Count(), $"{reason.Key.ToName()} resets of {label}");
                }
            }

            c.ResetsByReason.Where(r => r.Value > 0).Select(r => r.Counter.EnaReason)
                .Should().BeSubsetOf(counted.Select(r => r.ToName()), $"no counter moves without a reset of its reason ({label})");
        }
        else
        {
            c.TotalResets.Should().BeNull();
            c.ResetsByReason.Select(r => r.Counter.Name).Should().Equal("wd_expired");

            // Before 2.10 wd_expired counts every keep-alive timeout found, so at least one per keep-alive reset.
            c.WdExpired.Should().BeGreaterThanOrEqualTo((ulong)sim.ResetEvents().Count(e => e.EnaReason == "KEEP_ALIVE_TO"));
        }

        if (sim.Version.HasResetFail)
        {
            c.ResetFail.Should().Be((ulong)sim.Episodes.Count(e => e.CompletedNs is not null && e.Outcome == Core.ResetOutcome.Failed), label);
        }
        else
        {
            c.ResetFail.Should().BeNull();
        }
    }

    [Fact]
    public void The_pinterest_reset_reads_back_as_one_poll_starvation_reset_and_the_summary_says_so()
    {
        SimulationResult sim = new Simulator(ScenarioLoader.Load("pinterest-2025") with { DriverVersion = "2.17.0g" }).Run();

        EnaCounters c = EnaCounters.Decode(sim.Counters);

        sim.ResetEvents().Select(e => e.EnaReason).Should().Equal("SUSPECTED_POLL_STARVATION");
        (c.TotalResets, c.ResetsFor("SUSPECTED_POLL_STARVATION"), c.ResetFail).Should().Be((1UL, 1UL, 0UL));
        c.Summary().Should().StartWith("total_resets +1 (suspected_poll_starvation +1, reset_fail +0)");
    }
}
