using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

/// <summary>Scenario + seed → the same bytes; the steady-tick shortcut changes nothing but speed.</summary>
public class DeterminismTests
{
    public static TheoryData<string> BuiltIns()
    {
        var data = new TheoryData<string>();
        foreach (string name in ScenarioLoader.BuiltInNames)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void Same_scenario_and_seed_give_identical_output(string name)
    {
        SimulationResult a = new Simulator(ScenarioLoader.Load(name)).Run();
        SimulationResult b = new Simulator(ScenarioLoader.Load(name)).Run();

        b.Log().Should().Be(a.Log());
        b.Counters.Should().Equal(a.Counters);
        (b.TxDropped, b.RxDropped, b.Flow, b.Probe).Should().Be((a.TxDropped, a.RxDropped, a.Flow, a.Probe));
    }

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void Steady_tick_shortcut_is_exact(string name)
    {
        Scenario s = ScenarioLoader.Load(name);
        SimulationResult fast = new Simulator(s) { SteadyTickShortcut = true }.Run();
        SimulationResult slow = new Simulator(s) { SteadyTickShortcut = false }.Run();

        fast.Log().Should().Be(slow.Log());
        fast.Counters.Should().Equal(slow.Counters);
        (fast.TxOffered, fast.TxDropped, fast.RxOffered, fast.RxDropped).Should().Be((slow.TxOffered, slow.TxDropped, slow.RxOffered, slow.RxDropped));
        (fast.Flow, fast.Probe).Should().Be((slow.Flow, slow.Probe));
    }

    [Fact]
    public void A_different_seed_changes_the_log()
    {
        Scenario s = ScenarioLoader.Load("keepalive-loss");
        SimulationResult a = new Simulator(s).Run();
        SimulationResult b = new Simulator(s with { Seed = s.Seed + 1 }).Run();

        b.Log().Should().NotBe(a.Log(), "the driver's usleep_range sleeps are drawn from the seeded generator");
    }
}
