using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

public class ScenarioLoaderTests
{
    [Fact]
    public void Every_issue_scenario_is_built_in()
    {
        ScenarioLoader.BuiltInNames.Should().Contain(
        [
            "healthy", "pinterest-2025", "keepalive-loss", "lost-mgmt-interrupt", "admin-timeout", "unresponsive-device",
            "missing-tx-completions", "poll-starvation", "netdev-watchdog", "device-request", "bad-req-id", "restore-failure",
        ]);
    }

    [Fact]
    public void A_scenario_file_sets_every_section()
    {
        Scenario s = ScenarioLoader.Parse("""
            name: x
            seed: 7
            duration: 1.5m
            hz: 1000
            driver_version: v2.13.2g
            host: { cpus: 4, uptime: 2h, serial_console: 9600 }
            device: { queues: 2, ring_size: 512, queue_cpus: [3, 1], hints: { missing_tx_completion_timeout_ms: 7000 } }
            traffic: { tx_pps: 5, flow: { queue: 1, rtt: 250us }, liveness: { window: 3s } }
            cpu_events: [ { cpu: 3, kind: contention, share: 0.25, start: 150ms, duration: 2s } ]
            faults: [ { kind: delay-tx-completions, queue: 1, start: 1s, delay: 7s } ]
            admin_commands: [ { at: 2s, every: 10s } ]
            """, "x.yaml");

        s.Should().BeEquivalentTo(new
        {
            Name = "x", Seed = 7UL, DurationNs = 90_000_000_000L, Hz = 1000, DriverVersion = "2.13.2g", Cpus = 4,
            UptimeNs = 7_200_000_000_000L, SerialConsoleBaud = 9600, Queues = 2, RingSize = 512, QueueCpus = new[] { 3, 1 },
            HintMissingTxTimeoutMs = 7000u, TxPps = 5.0, FlowQueue = 1, FlowRttNs = 250_000L, ProbeQueue = 0, ProbeWindowNs = 3_000_000_000L,
        }, o => o.ExcludingMissingMembers());
        s.CpuEvents.Should().Equal(new CpuEventSpec(3, CpuHogKind.Contention, 150_000_000, 2_000_000_000, 0.25));
        s.Faults.Should().Equal(new FaultSpec(FaultKind.DelayTxCompletions, 1_000_000_000, null, 1, 7_000_000_000));
        s.AdminCommands.Should().Equal(new AdminCommandSpec(2_000_000_000, 10_000_000_000));
    }

    [Theory]
    [InlineData("duration: soon", "x.yaml:1: duration: 'soon' is not a duration (e.g. 20s, 150ms, 50us)")]
    [InlineData("name: a\nflavour: b", "x.yaml:2: flavour: unknown field")]
    [InlineData("driver_version: 3.0.0", "x.yaml:1: driver_version: '3.0.0' is not an ENA Linux driver version")]
    [InlineData("faults:\n  - kind: melt\n    start: 1s", "x.yaml:2: faults[0].kind: unknown value 'melt'")]
    [InlineData("faults:\n  - kind: stop-keepalive", "x.yaml:2: faults[0].start: missing")]
    [InlineData("cpu_events:\n  - { cpu: 1, kind: contention, start: 1s, duration: 1s }", "x.yaml:2: cpu_events[0].share: contention needs")]
    [InlineData("host: { cpus: 2 }\ndevice: { queue_cpus: [0, 1, 2, 3, 4, 5, 6, 7] }", "x.yaml:2: device.queue_cpus: names a CPU outside 0..1")]
    [InlineData("device:\n  queues: 0", "x.yaml:2: device.queues: '0' is not a whole number from 1 to 128")]
    [InlineData("name: [unclosed", "x.yaml:2: (syntax): While parsing a flow sequence")]
    public void Bad_input_names_file_line_and_field(string yaml, string message)
    {
        FluentActions.Invoking(() => ScenarioLoader.Parse(yaml, "x.yaml"))
            .Should().Throw<ScenarioException>().Which.Message.Should().StartWith(message);
    }
}
