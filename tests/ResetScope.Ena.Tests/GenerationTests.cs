using ResetScope.Core;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

/// <summary>The same trigger prints each driver generation's own lines and counters (ena-driver.md §7.2).</summary>
public class GenerationTests
{
    private const string Net = "ena 0000:00:05.0 eth0: ";
    private const string Dev = "ena 0000:00:05.0: ";

    [Fact]
    public void Keep_alive_2_4_prints_the_short_line_trigger_first_and_has_no_reset_counters()
    {
        SimulationResult r = SimulationHarness.Run("keepalive-loss", "2.4.0g");
        List<string> lines = r.Lines();

        lines[0].Should().Be(Net + "Keep alive watchdog timeout.");
        lines[1].Should().Be(Net + "Trigger reset is on", "2.4 has no version probe before the trigger line");
        lines.Should().Contain(Net + "wd_expired: 1");
        lines.Should().Contain(Dev + "Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.4.0g");
        r.HasCounter("total_resets").Should().BeFalse();
        r.Counter("wd_expired").Should().Be(1);
        r.SingleReset().Reason.Should().Be(ResetReason.KeepAliveTo);
    }

    [Fact]
    public void Keep_alive_2_11_probes_the_firmware_before_the_trigger_line()
    {
        SimulationResult r = SimulationHarness.Run("keepalive-loss", "2.11.0g");
        List<string> lines = r.Lines();

        lines.Take(4).Should().Equal(
            Net + "Keep alive watchdog timeout.",
            Net + "ENA device version: 0.10",
            Net + "ENA controller version: 0.0.1 implementation version 1",
            Net + "Trigger reset is on");
        lines[4].Should().Be(Net + "total_resets: 1", "2.10+ dumps the per-reason counters first");
        lines.Should().Contain(Dev + "Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g");
    }

    [Fact]
    public void Keep_alive_2_17_prints_msecs_and_a_status()
    {
        SimulationResult r = SimulationHarness.Run("keepalive-loss", "2.17.0g");

        r.Lines()[0].Should().MatchRegex(@"^ena 0000:00:05\.0 eth0: Keep alive watchdog timeout, \d+ msecs since last keep alive\.$");
        r.Lines().Should().Contain(Dev + "Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.17.0g");
        r.Lines().Should().ContainMatch(Net + "Freed * uncompleted tx pkts, qid *, longest msecs since submission *");
    }

    [Theory]
    [InlineData("2.4.0g", "Transmit time out")]
    [InlineData("2.11.0g", "TX q 1 is paused for too long (threshold 5000000). Time since last napi *")]
    [InlineData("2.13.0g", "TX q 1 is paused for too long (threshold 5000000). Time since last napi * usec. napi scheduled: 0. msecs since last interrupt: *")]
    [InlineData("2.17.0g", "TX q 1 is paused for too long (threshold 5000000). usecs since napi *. napi scheduled: 0. napi CPU: 1. msecs since interrupt: *")]
    public void Netdev_watchdog_calls_the_generation_s_tx_timeout_handler(string version, string pattern)
    {
        SimulationResult r = SimulationHarness.Run("netdev-watchdog", version);

        r.Lines().Should().ContainMatch(Net + pattern);
        r.SingleReset().Reason.Should().Be(ResetReason.OsNetdevWd);
        r.Counter("tx_timeout").Should().Be(1);
    }

    [Fact]
    public void Missing_tx_2_4_prints_one_notice_per_packet_and_the_old_threshold_line()
    {
        SimulationResult r = SimulationHarness.Run("missing-tx-completions", "2.4.0g");
        List<string> lines = r.Lines();

        lines.Should().Contain(Net + "Found a Tx that wasn't completed on time, qid 3, index 0.");
        lines.Should().ContainMatch(Net + "The number of lost tx completions is above the threshold (* > 128). Reset the device");
        lines.Should().NotContain(Net + "Resetting the device");
        r.Records.Where(x => x.Text.Contains("Found a Tx", StringComparison.Ordinal)).Should().OnlyContain(x => x.Level == KernelLevel.Notice);
        r.SingleReset().Reason.Should().Be(ResetReason.MissTxCmpl);
    }

    [Fact]
    public void Missing_tx_2_11_classifies_by_the_completion_queue()
    {
        SimulationResult r = SimulationHarness.Run("missing-tx-completions", "2.11.0g");
        List<string> lines = r.Lines();

        lines.Should().ContainMatch(Net + "TX hasn't completed, qid 3, index 0. * msecs since last interrupt, * msecs since last napi execution, napi scheduled: 0");
        lines.Should().ContainMatch(Net + "Lost TX completions are above the threshold (* > 128). Completion transmission timeout: 5000 (msec). * msecs since last interrupt, * msecs since last napi execution.");
        lines.Should().Contain(Net + "No completion descriptors found in CQ 3");
        r.Counter("missing_tx_cmpl").Should().Be(1);
    }

    [Theory]
    [InlineData("2.11.0g", "ena 0000:20:03.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1")]
    [InlineData("2.17.0g", "ena 0000:20:03.0 eth0: TX q 5 is paused for too long (threshold 5000000). usecs since napi 6596000. napi scheduled: 1. napi CPU: 39. msecs since interrupt: *")]
    public void Pinterest_starvation_is_reported_by_every_generation_with_NAPI_scheduled(string version, string pattern)
    {
        SimulationResult r = SimulationHarness.Run("pinterest-2025", version);

        r.Lines().Should().ContainMatch(pattern);
        r.Lines().Should().Contain("ena 0000:20:03.0 eth0: napi handler hasn't been called for a long time but is scheduled");
        ResetEpisode e = r.SingleReset();
        e.Reason.Should().Be(ResetReason.SuspectedPollStarvation);
        e.Family.Should().Be(ResetFamily.NetdevWatchdog);
        e.SinceNapiUsec.Should().Be(6_596_000);
    }

    [Fact]
    public void Old_kernels_print_the_netdev_watchdog_once_per_boot_with_a_stack()
    {
        SimulationResult r = SimulationHarness.Run("pinterest-2025");

        r.Lines().Should().ContainSingle(l => l == "NETDEV WATCHDOG: eth0 (ena): transmit queue 5 timed out");
        r.Lines().Should().Contain("------------[ cut here ]------------");
        r.Lines().Should().ContainMatch("WARNING: CPU: 12 PID: 0 at net/sched/sch_generic.c:* dev_watchdog+*");
    }

    [Fact]
    public void Restore_failure_up_to_2_13_0_still_says_completed_successfully()
    {
        SimulationResult r = SimulationHarness.Run("restore-failure", "2.11.0g");

        r.Lines().Should().Contain(Dev + "Reset attempt failed. Can not reset the device");
        r.Lines().Should().Contain(Dev + "Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g");
        r.SingleReset().Outcome.Should().Be(ResetOutcome.Failed);
        r.Counter("reset_fail").Should().Be(1);
    }

    [Fact]
    public void Counters_2_10_to_2_16_count_every_request_while_2_17_counts_each_reset_once()
    {
        SimulationResult old = SimulationHarness.Run("unresponsive-device", "2.13.0g");
        SimulationResult now = SimulationHarness.Run("unresponsive-device", "2.17.0g");

        old.Counter("wd_expired").Should().BeGreaterThan(1, "every tick's keep-alive check calls ena_reset_device again");
        old.Counter("total_resets").Should().Be(old.Counter("wd_expired"));
        now.Counter("wd_expired").Should().Be(1);
        now.Counter("total_resets").Should().Be(1);
    }
}
