using System.Text.Json;
using ResetScope.Testing;

namespace ResetScope.Cli.Tests;

public class SimulateCommandTests
{
    [Fact]
    public void Pinterest_2025_prints_the_incident_s_three_lines_from_the_mechanics()
    {
        (int exit, string output, string error) = TestConsole.Run("simulate", "pinterest-2025", "--log-only");

        exit.Should().Be(0);
        error.Should().BeEmpty();
        string[] lines = output.Split('\n').Select(l => l.Length > 15 && l[0] == '[' ? l[(l.IndexOf("] ", StringComparison.Ordinal) + 2)..] : l).ToArray();
        lines.Should().Contain("ena 0000:20:03.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1");
        lines.Should().Contain("ena 0000:20:03.0 eth0: napi handler hasn't been called for a long time but is scheduled");
        lines.Should().Contain("ena 0000:20:03.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g");
    }

    [Fact]
    public void Log_only_is_dmesg_output_byte_for_byte()
    {
        (_, string output, _) = TestConsole.Run("simulate", "pinterest-2025", "--log-only");

        GoldenFile.AssertMatches(output, "pinterest-2025.log");
    }

    [Fact]
    public void The_default_view_is_a_readable_timeline()
    {
        (int exit, string output, _) = TestConsole.Run("simulate", "keepalive-loss");

        exit.Should().Be(0);
        GoldenFile.AssertMatches(output, "keepalive-loss.timeline.txt");
    }

    [Fact]
    public void Json_is_one_object_per_line_with_reset_events_in_the_architecture_vocabulary()
    {
        (int exit, string output, _) = TestConsole.Run("simulate", "pinterest-2025", "--json");

        exit.Should().Be(0);
        JsonElement[] objects = output.TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        objects.Select(o => o.GetProperty("kind").GetString()).Distinct().Should().Equal("kernel", "reset", "counters", "impact");
        JsonElement reset = objects.Single(o => o.GetProperty("kind").GetString() == "reset");
        reset.GetProperty("driver").GetString().Should().Be("ena");
        reset.GetProperty("pci").GetString().Should().Be("0000:20:03.0");
        reset.GetProperty("dev").GetString().Should().Be("eth0");
        reset.GetProperty("queue").GetInt32().Should().Be(5);
        reset.GetProperty("reason").GetString().Should().Be("netdev-watchdog");
        reset.GetProperty("ena_reason").GetString().Should().Be("SUSPECTED_POLL_STARVATION");
        reset.GetProperty("threshold_usec").GetInt64().Should().Be(5_000_000);
        reset.GetProperty("since_napi_usec").GetInt64().Should().Be(6_596_000);
        reset.GetProperty("napi_scheduled").GetBoolean().Should().BeTrue();
        reset.GetProperty("napi_cpu").ValueKind.Should().Be(JsonValueKind.Null, "2.11.0g does not print the NAPI CPU");
        reset.GetProperty("outcome").GetString().Should().Be("completed");
        reset.GetProperty("driver_version").GetString().Should().Be("2.11.0g");
        objects.Single(o => o.GetProperty("kind").GetString() == "counters").GetProperty("ethtool").GetProperty("suspected_poll_starvation").GetInt64().Should().Be(1);
    }

    [Fact]
    public void Overrides_change_seed_duration_and_driver_generation()
    {
        (int exit, string output, _) = TestConsole.Run("simulate", "keepalive-loss", "--log-only", "--driver-version", "2.4.0g", "--duration", "20s", "--seed", "9");

        exit.Should().Be(0);
        output.Should().Contain("ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n");
        output.Should().Contain("Driver info: Elastic Network Adapter (ENA) v2.4.0g");
    }

    [Fact]
    public void A_bad_scenario_file_is_one_line_naming_file_line_and_field_and_exit_2()
    {
        string path = Path.Combine(Path.GetTempPath(), $"resetscope-test-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: broken\nfaults:\n  - kind: stop-keepalive\n    start: later\n");
        try
        {
            (int exit, string output, string error) = TestConsole.Run("simulate", path);

            exit.Should().Be(2);
            output.Should().BeEmpty();
            error.Should().Be($"resetscope: {path}:4: faults[0].start: 'later' is not a duration (e.g. 20s, 150ms, 50us)\n");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_unknown_scenario_lists_the_built_ins_and_exits_2()
    {
        (int exit, _, string error) = TestConsole.Run("simulate", "no-such-scenario");

        exit.Should().Be(2);
        error.Should().StartWith("resetscope: no-such-scenario: no such scenario file or built-in scenario; built-ins: admin-timeout, bad-req-id,");
        error.Count(c => c == '\n').Should().Be(1);
    }

    [Fact]
    public void A_bad_override_is_one_line_and_exit_2()
    {
        (int exit, _, string error) = TestConsole.Run("simulate", "healthy", "--driver-version", "9.9");

        exit.Should().Be(2);
        error.Should().Be("resetscope: --driver-version: '9.9' is not an ENA Linux driver version from 1.1.2 to 2.17.x (e.g. 2.11.0g)\n");
    }
}
