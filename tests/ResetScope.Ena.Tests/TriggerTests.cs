using ResetScope.Core;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

/// <summary>Each trigger produces the right reason, the right lines and the right counters (driver 2.17.0g).</summary>
public class TriggerTests
{
    private const string Net = "ena 0000:00:05.0 eth0: ";
    private const string Dev = "ena 0000:00:05.0: ";

    [Fact]
    public void Healthy_host_never_resets_and_loses_nothing()
    {
        SimulationResult r = SimulationHarness.Run("healthy");

        r.Episodes.Should().BeEmpty();
        r.Records.Should().BeEmpty();
        r.TxDropped.Should().Be(0);
        r.RxDropped.Should().Be(0);
        r.Counter("total_resets").Should().Be(0);
        r.Flow!.Stalls.Should().Be(0);
        r.Probe!.Failed.Should().BeFalse();
    }

    [Fact]
    public void Keep_alive_loss_resets_with_KEEP_ALIVE_TO()
    {
        SimulationResult r = SimulationHarness.Run("keepalive-loss");

        ResetEpisode e = r.SingleReset();
        e.Reason.Should().Be(ResetReason.KeepAliveTo);
        e.Family.Should().Be(ResetFamily.KeepAliveTimeout);
        e.Outcome.Should().Be(ResetOutcome.Completed);
        r.Lines().Should().ContainMatch(Net + "Keep alive watchdog timeout, * msecs since last keep alive.");
        r.Lines().Should().Contain(Dev + "Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.17.0g");
        r.Counter("wd_expired").Should().Be(1);
        r.Counter("total_resets").Should().Be(1);
    }

    [Fact]
    public void Lost_management_interrupt_is_classified_MISSING_ADMIN_INTERRUPT()
    {
        SimulationResult r = SimulationHarness.Run("lost-mgmt-interrupt");

        r.SingleReset().Reason.Should().Be(ResetReason.MissingAdminInterrupt);
        r.Counter("missing_admin_interrupt").Should().Be(1);
        r.Counter("wd_expired").Should().Be(0);
    }

    [Fact]
    public void Lost_admin_command_stops_the_admin_queue_and_resets_with_ADMIN_TO()
    {
        SimulationResult r = SimulationHarness.Run("admin-timeout");

        r.SingleReset().Reason.Should().Be(ResetReason.AdminTo);
        r.Lines().Should().Contain(Net + "The ena device didn't send a completion for the admin cmd 11 status 0");
        r.Lines().Should().Contain(Net + "ENA admin queue is not in running state!");
        r.Counter("admin_to").Should().Be(1);
        r.Counter("admin_q_pause").Should().Be(1);
        r.Counter("ena_admin_q_no_completion").Should().Be(1);
    }

    [Fact]
    public void Unresponsive_device_postpones_the_reset_each_tick_until_it_answers()
    {
        SimulationResult r = SimulationHarness.Run("unresponsive-device");

        ResetEpisode e = r.SingleReset();
        List<string> lines = r.Lines();
        int postponed = lines.Count(l => l == Net + "FW isn't responsive, skipping reset routine");
        postponed.Should().BeGreaterThanOrEqualTo(5);
        lines.Should().Contain(l => l.StartsWith(Net + "Reading reg failed for timeout. expected: req id[", StringComparison.Ordinal));
        e.Outcome.Should().Be(ResetOutcome.Completed);
        r.Counter("total_resets").Should().Be(1, "2.17.0 counts a reset once however often the check fires");
    }

    [Fact]
    public void Withheld_Tx_completions_reset_with_MISS_TX_CMPL_after_an_empty_CQ()
    {
        SimulationResult r = SimulationHarness.Run("missing-tx-completions");

        ResetEpisode e = r.SingleReset();
        e.Reason.Should().Be(ResetReason.MissTxCmpl);
        e.Queue.Should().Be(3);
        List<string> lines = r.Lines();
        lines.Should().ContainMatch(Net + "[1/2] Lost TX completions are above threshold (* > 128), completion timeout: 5000 (msec), * msecs since interrupt, * msecs since napi, qid: 3");
        lines.Should().ContainMatch(Net + "[2/2] qid: *, napi CPU: 3", "2.17.0 passes the CPU first and the qid second");
        lines.Should().Contain(Net + "Resetting the device");
        lines.Should().Contain(Net + "No completion descriptors found in CQ 3");
        r.Counter("missing_tx_cmpl").Should().Be(1);
        r.Counter("queue_3_tx_missed_tx").Should().BeGreaterThan(128);
    }

    [Fact]
    public void Starved_NAPI_with_light_traffic_resets_with_SUSPECTED_POLL_STARVATION_after_the_grace()
    {
        SimulationResult r = SimulationHarness.Run("poll-starvation");

        ResetEpisode e = r.SingleReset();
        e.Reason.Should().Be(ResetReason.SuspectedPollStarvation);
        e.Family.Should().Be(ResetFamily.TxCompletionTimeout);
        e.NapiScheduled.Should().BeTrue();
        r.Counter("suspected_poll_starvation").Should().Be(1);
        r.TxTimeoutPerQueue.Sum().Should().Be(0, "the ring never filled, so the netdev watchdog stayed quiet");
    }

    [Fact]
    public void Stopped_queue_with_the_driver_check_disabled_trips_the_kernel_netdev_watchdog()
    {
        SimulationResult r = SimulationHarness.Run("netdev-watchdog");

        ResetEpisode e = r.SingleReset();
        e.Reason.Should().Be(ResetReason.OsNetdevWd);
        e.Family.Should().Be(ResetFamily.NetdevWatchdog);
        e.ThresholdUsec.Should().Be(5_000_000);
        List<string> lines = r.Lines();
        lines.Should().ContainMatch(Net + "NETDEV WATCHDOG: CPU: 0: transmit queue 1 timed out * ms");
        lines.Should().ContainMatch(Net + "TX q 1 is paused for too long (threshold 5000000). usecs since napi *. napi scheduled: 0. napi CPU: 1. msecs since interrupt: *");
        lines.Should().NotContain(Net + "napi handler hasn't been called for a long time but is scheduled");
        r.Counter("os_netdev_wd").Should().Be(1);
        r.Counter("tx_timeout").Should().Be(1);
        r.TxTimeoutPerQueue[1].Should().Be(1);
    }

    [Fact]
    public void Device_request_resets_with_DEVICE_REQUEST()
    {
        SimulationResult r = SimulationHarness.Run("device-request");

        r.SingleReset().Reason.Should().Be(ResetReason.DeviceRequest);
        r.Lines().Should().Contain(Net + "The device has detected an unhealthy state, reset is requested");
        r.Counter("device_request_reset").Should().Be(1);
    }

    [Fact]
    public void Out_of_range_Tx_req_id_resets_with_INV_TX_REQ_ID()
    {
        SimulationResult r = SimulationHarness.Run("bad-req-id");

        ResetEpisode e = r.SingleReset();
        e.Reason.Should().Be(ResetReason.InvTxReqId);
        e.Queue.Should().Be(0);
        r.Lines().Should().Contain(Net + "Invalid req id 1031");
        r.Lines().Should().Contain(Net + "Invalid req_id 1031 in qid 0, queue type: regular");
        r.Counter("bad_tx_req_id").Should().Be(1);
        r.Counter("queue_0_tx_bad_req_id").Should().Be(1);
    }

    [Fact]
    public void Failed_restore_leaves_the_device_dead_and_never_retries()
    {
        SimulationResult r = SimulationHarness.Run("restore-failure");

        ResetEpisode e = r.SingleReset();
        e.Outcome.Should().Be(ResetOutcome.Failed);
        r.DeviceDead.Should().BeTrue();
        r.Lines().Should().Contain(Dev + "Restore attempt failed.");
        r.Lines().Should().ContainMatch(Dev + "Device reset completed, status: -*, Driver info: Elastic Network Adapter (ENA) v2.17.0g");
        r.Counter("reset_fail").Should().Be(1);
        r.Flow!.ConnectionLost.Should().BeTrue();
        r.Probe!.Failed.Should().BeTrue();
    }

    [Fact]
    public void A_persistent_fault_makes_a_reset_loop()
    {
        SimulationResult r = SimulationHarness.Run("missing-tx-completions", change: s => s with
        {
            DurationNs = 60_000_000_000,
            Faults = [new FaultSpec(FaultKind.WithholdTxCompletions, 5_000_000_000, null, Queue: 3)],
        });

        r.Episodes.Should().HaveCountGreaterThanOrEqualTo(4);
        r.Episodes.Should().OnlyContain(e => e.Reason == ResetReason.MissTxCmpl && e.Outcome == ResetOutcome.Completed);
        r.Counter("total_resets").Should().Be((ulong)r.Episodes.Count);
    }
}
