using FluentAssertions;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>Whole ENA resets as the driver prints them (ena-driver.md §7.3), one event each, with the decoded fields.</summary>
public class EnaSequenceTests
{
    [Fact]
    public void Pinterest_netdev_watchdog_starvation_reset_is_one_event_with_the_decoded_fields()
    {
        FileScanResult r = Scan.Lines(
            "Jul 14 10:10:17 ip-10-0-1-5 kernel: ena 0000:20:03.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1",
            "Jul 14 10:10:17 ip-10-0-1-5 kernel: ena 0000:20:03.0 eth0: napi handler hasn't been called for a long time but is scheduled",
            "Jul 14 10:10:22 ip-10-0-1-5 kernel: ena 0000:20:03.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g");

        r.Resets.Should().ContainSingle();
        r.Resets[0].Event.Should().BeEquivalentTo(new ResetEvent
        {
            File = "kern.log",
            Line = 3,
            Ts = "Jul 14 10:10:22",
            Time = new DateTimeOffset(2026, 7, 14, 10, 10, 22, TimeSpan.Zero),
            Host = "ip-10-0-1-5",
            Driver = "ena",
            Pci = "0000:20:03.0",
            Dev = "eth0",
            Queue = 5,
            Reason = ResetFamily.NetdevWatchdog,
            EnaReason = "SUSPECTED_POLL_STARVATION",
            ThresholdUsec = 5_000_000,
            SinceNapiUsec = 6_596_000,
            NapiScheduled = true,
            NapiCpu = null,
            Outcome = ResetOutcome.Completed,
            DriverVersion = "2.11.0g",
            Lines = [1, 2, 3],
        });
    }

    [Fact]
    public void A_check_repeated_while_the_firmware_postpones_the_reset_is_still_one_reset()
    {
        FileScanResult r = Scan.Lines(
            "[ 3611.816000] ena 0000:00:05.0 eth0: Keep alive watchdog timeout, 6744 msecs since last keep alive.",
            "[ 3612.016000] ena 0000:00:05.0 eth0: Reading reg failed for timeout. expected: req id[9] offset[0] actual: req id[57014] offset[88]",
            "[ 3612.016000] ena 0000:00:05.0 eth0: Reg read timeout occurred",
            "[ 3612.016000] ena 0000:00:05.0 eth0: FW isn't responsive, skipping reset routine",
            "[ 3613.016000] ena 0000:00:05.0 eth0: Keep alive watchdog timeout, 7944 msecs since last keep alive.",
            "[ 3613.216000] ena 0000:00:05.0 eth0: FW isn't responsive, skipping reset routine",
            "[ 3614.216000] ena 0000:00:05.0 eth0: Keep alive watchdog timeout, 9144 msecs since last keep alive.",
            "[ 3614.216004] ena 0000:00:05.0 eth0: Trigger reset is on",
            "[ 3614.310000] ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.17.0g");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Reason.Should().Be(ResetFamily.KeepAliveTimeout);
        e.Outcome.Should().Be(ResetOutcome.Completed);
    }

    [Fact]
    public void Tx_queue_paused_alone_is_the_os_netdev_watchdog_reason()
    {
        FileScanResult r = Scan.Lines(
            "[ 100.000000] ena 0000:00:05.0 eth0: TX q 2 is paused for too long (threshold 5000000). Time since last napi 4000 usec. napi scheduled: 0. msecs since last interrupt: 3",
            "[ 101.000000] ena 0000:00:05.0 eth0: Trigger reset is on",
            "[ 101.100000] ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g");

        ResetEvent e = r.Resets.Single().Event;
        e.EnaReason.Should().Be("OS_NETDEV_WD");
        e.NapiScheduled.Should().BeFalse();
        e.Outcome.Should().Be(ResetOutcome.Completed);
        e.Lines.Should().Equal(1, 2, 3);
        e.Ts.Should().Be("101.100000");
        e.Time.Should().BeNull();
    }

    [Fact]
    public void Kernel_netdev_watchdog_line_joins_the_driver_lines_of_the_same_interface()
    {
        FileScanResult r = Scan.Lines(
            "[ 99.000000] NETDEV WATCHDOG: eth0 (ena): transmit queue 3 timed out",
            "[ 99.000100] WARNING: CPU: 3 PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21f/0x230",
            "[ 99.000200] ena 0000:00:05.0 eth0: TX q 3 is paused for too long (threshold 5000000). Time since last napi 8000000 usec. napi scheduled: 1",
            "[ 99.000300] ena 0000:00:05.0 eth0: napi handler hasn't been called for a long time but is scheduled",
            "[ 100.000000] ena 0000:00:05.0 eth0: Trigger reset is on",
            "[ 100.100000] ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.8.1g");

        ResetEvent e = r.Resets.Single().Event;
        e.Lines.Should().Equal(1, 3, 4, 5, 6);
        e.Queue.Should().Be(3);
        e.Dev.Should().Be("eth0");
        e.Pci.Should().Be("0000:00:05.0");
        e.Reason.Should().Be(ResetFamily.NetdevWatchdog);
        e.EnaReason.Should().Be("SUSPECTED_POLL_STARVATION");
    }

    [Fact]
    public void In_2_17_0_the_threshold_line_2_of_2_prints_the_cpu_after_qid()
    {
        FileScanResult r = Scan.Lines(
            "[ 50.0] ena 0000:00:06.0 eth1: [1/2] Lost TX completions are above threshold (129 > 128), completion timeout: 5000 (msec), 5200 msecs since interrupt, 11000 msecs since napi, qid: 3",
            "[ 50.0] ena 0000:00:06.0 eth1: [2/2] qid: 12, napi CPU: 3",
            "[ 50.0] ena 0000:00:06.0 eth1: Resetting the device",
            "[ 51.0] ena 0000:00:06.0 eth1: Trigger reset is on",
            "[ 51.1] ena 0000:00:06.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.17.0g");

        ResetEvent e = r.Resets.Single().Event;
        e.Queue.Should().Be(3);
        e.NapiCpu.Should().Be(12);
        e.ThresholdUsec.Should().Be(5_000_000);
        e.SinceNapiUsec.Should().Be(11_000_000);
        e.Reason.Should().Be(ResetFamily.TxCompletionTimeout);
        e.DriverVersion.Should().Be("2.17.0g");
        e.Outcome.Should().Be(ResetOutcome.Completed);
    }

    [Fact]
    public void The_2_of_2_summary_precursor_is_not_swapped()
    {
        FileScanResult r = Scan.Lines("ena 0000:00:06.0 eth1: [2/2] qid: 3, highest TX completion pending time (msec): 6100, napi sched changes: 0, napi CPU: 12");

        r.Resets.Should().BeEmpty();
        r.Precursors.Single().Queue.Should().Be(3);
    }

    [Fact]
    public void Up_to_2_13_0_completed_successfully_after_a_failed_restore_is_a_failure()
    {
        FileScanResult r = Scan.Lines(
            "[ 10.0] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.",
            "[ 10.0] ena 0000:00:05.0 eth0: Trigger reset is on",
            "[ 10.2] ena 0000:00:05.0: Failed to create I/O queues",
            "[ 10.2] ena 0000:00:05.0: Reset attempt failed. Can not reset the device",
            "[ 10.3] ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.4.0g");

        ResetEvent e = r.Resets.Single().Event;
        e.Outcome.Should().Be(ResetOutcome.Failed);
        e.Reason.Should().Be(ResetFamily.KeepAliveTimeout);
        e.EnaReason.Should().Be("KEEP_ALIVE_TO");
        e.Lines.Should().Equal(1, 2, 3, 4, 5);
    }

    [Fact]
    public void From_2_13_1_a_non_zero_status_is_a_failure()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: The device has detected an unhealthy state, reset is requested",
            "ena 0000:00:05.0: Device reset completed, status: -110, Driver info: Elastic Network Adapter (ENA) v2.15.0g");

        ResetEvent e = r.Resets.Single().Event;
        e.Outcome.Should().Be(ResetOutcome.Failed);
        e.Reason.Should().Be(ResetFamily.DeviceRequested);
        e.EnaReason.Should().Be("DEVICE_REQUEST");
    }

    [Fact]
    public void In_2_17_0_restore_attempt_failed_then_status_is_a_failure()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: Keep alive watchdog timeout, 6012 msecs since last keep alive.",
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0: Restore attempt failed.",
            "ena 0000:00:05.0: Device reset completed, status: -5, Driver info: Elastic Network Adapter (ENA) v2.17.0g");

        r.Resets.Single().Event.Outcome.Should().Be(ResetOutcome.Failed);
    }

    [Fact]
    public void A_2_12_keep_alive_line_leaves_the_reason_open_without_a_stats_dump()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: Keep alive watchdog timeout, 6012 msecs since last keep alive.",
            "ena 0000:00:05.0 eth0: Trigger reset is on");

        ResetEvent e = r.Resets.Single().Event;
        e.Reason.Should().Be(ResetFamily.KeepAliveTimeout);
        e.EnaReason.Should().BeNull();
    }

    [Fact]
    public void The_stats_dump_decides_between_keep_alive_and_missing_admin_interrupt()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: Keep alive watchdog timeout, 6012 msecs since last keep alive.",
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0 eth0: total_resets: 1",
            "ena 0000:00:05.0 eth0: wd_expired: 0",
            "ena 0000:00:05.0 eth0: missing_admin_interrupt: 1",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g",
            "ena 0000:00:05.0 eth0: Keep alive watchdog timeout, 6012 msecs since last keep alive.",
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0 eth0: total_resets: 2",
            "ena 0000:00:05.0 eth0: wd_expired: 1",
            "ena 0000:00:05.0 eth0: missing_admin_interrupt: 1",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g");

        r.Resets.Select(x => x.Event.EnaReason).Should().Equal("MISSING_ADMIN_INTERRUPT", "KEEP_ALIVE_TO");
        r.Resets.Select(x => x.Event.Lines.Count).Should().Equal(3, 3);
        r.StatsDumpLines.Should().Be(6);
    }

    [Fact]
    public void Missing_tx_with_an_empty_completion_queue_is_miss_tx_cmpl()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: TX hasn't completed, qid 1, index 17. 5100 msecs since last interrupt, 5100 msecs since last napi execution, napi scheduled: 0",
            "ena 0000:00:05.0 eth0: Lost TX completions are above the threshold (129 > 128). Completion transmission timeout: 5000 (msec). 5200 msecs since last interrupt, 5200 msecs since last napi execution.",
            "ena 0000:00:05.0 eth0: Resetting the device",
            "ena 0000:00:05.0 eth0: No completion descriptors found in CQ 1",
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g");

        r.Precursors.Should().ContainSingle().Which.Queue.Should().Be(1);
        ResetEvent e = r.Resets.Single().Event;
        e.EnaReason.Should().Be("MISS_TX_CMPL");
        e.Queue.Should().Be(1);
        e.NapiScheduled.Should().BeFalse();
        e.SinceNapiUsec.Should().Be(5_200_000);
        e.ThresholdUsec.Should().Be(5_000_000);
        e.Lines.Should().Equal(1, 2, 3, 4, 5, 6);
    }

    [Fact]
    public void Potential_msix_on_tx_is_miss_interrupt_before_2_13_and_miss_first_interrupt_after()
    {
        FileScanResult old = Scan.Lines(
            "ena 0000:00:05.0 eth0: Potential MSIX issue on Tx side Queue = 2. Reset the device",
            "ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.12.0g");
        FileScanResult newer = Scan.Lines(
            "ena 0000:00:05.0 eth0: Potential MSIX issue on Tx side Queue = 2. Reset the device",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g");
        FileScanResult unknown = Scan.Lines("ena 0000:00:05.0 eth0: Potential MSIX issue on Tx side Queue = 2. Reset the device");

        old.Resets.Single().Event.EnaReason.Should().Be("MISS_INTERRUPT");
        newer.Resets.Single().Event.EnaReason.Should().Be("MISS_FIRST_INTERRUPT");
        unknown.Resets.Single().Event.EnaReason.Should().BeNull();
    }

    [Fact]
    public void Admin_queue_down_after_a_lost_admin_msix_is_missing_admin_interrupt_from_2_11()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: The ena device sent a completion but the driver didn't receive a MSI-X interrupt (cmd 8), autopolling mode is OFF",
            "ena 0000:00:05.0 eth0: ENA admin queue is not in running state!",
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.12.0g");

        ResetEvent e = r.Resets.Single().Event;
        e.Reason.Should().Be(ResetFamily.UnresponsiveDevice);
        e.EnaReason.Should().Be("MISSING_ADMIN_INTERRUPT");
        r.Precursors.Should().ContainSingle();
    }

    [Fact]
    public void Admin_queue_down_without_interrupt_evidence_is_admin_to()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: ENA admin queue is not in running state!",
            "ena 0000:00:05.0 eth0: Trigger reset is on");

        r.Resets.Single().Event.EnaReason.Should().Be("ADMIN_TO");
    }

    [Fact]
    public void Per_packet_lines_are_precursors_never_resets()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 4, index 219.",
            "ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 4, index 220.",
            "ena 0000:00:05.0 eth0: TX hasn't completed, qid 4, index 221. 7000 usecs from last napi execution, napi scheduled: 1");

        r.Resets.Should().BeEmpty();
        r.Precursors.Select(p => p.Queue).Should().Equal(4, 4, 4);
        r.Precursors.Select(p => p.Line).Should().Equal(1, 2, 3);
    }

    [Fact]
    public void Two_resets_of_one_device_are_two_events_and_two_devices_do_not_mix()
    {
        FileScanResult r = Scan.Lines(
            "[ 10.0] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.",
            "[ 10.0] ena 0000:00:06.0 eth1: TX q 0 is paused for too long (threshold 5000000). Time since last napi 6000000 usec. napi scheduled: 0",
            "[ 10.0] ena 0000:00:05.0 eth0: Trigger reset is on",
            "[ 10.1] ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.5.0g",
            "[ 18.0] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.",
            "[ 18.0] ena 0000:00:05.0 eth0: Trigger reset is on",
            "[ 18.1] ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.5.0g");

        r.Resets.Should().HaveCount(3);
        r.Resets.Select(x => (x.Event.Dev, x.Event.Line, x.Event.Reason)).Should().Equal(
            ("eth1", 2, ResetFamily.NetdevWatchdog),
            ("eth0", 4, ResetFamily.KeepAliveTimeout),
            ("eth0", 7, ResetFamily.KeepAliveTimeout));
        r.Resets[0].Event.Outcome.Should().Be(ResetOutcome.Unknown);
    }

    [Fact]
    public void FreeBSD_reset_loop_gives_one_event_per_reset()
    {
        FileScanResult r = Scan.Lines(
            "Jan  5 10:00:01 fbsd kernel: ena0: Keep alive watchdog timeout.",
            "Jan  5 10:00:01 fbsd kernel: ena0: Trigger reset is on",
            "Jan  5 10:00:02 fbsd kernel: ena0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA)v2.8.3",
            "Jan  5 10:00:09 fbsd kernel: ena0: Keep alive watchdog timeout.",
            "Jan  5 10:00:09 fbsd kernel: ena0: Trigger reset is on",
            "Jan  5 10:00:10 fbsd kernel: ena0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA)v2.8.3");

        r.Resets.Should().HaveCount(2);
        r.Resets.Should().OnlyContain(x => x.Event.Dev == "ena0" && x.Event.Host == "fbsd" && x.Event.Reason == ResetFamily.KeepAliveTimeout && x.Event.Outcome == ResetOutcome.Completed);
    }

    [Fact]
    public void DPDK_trigger_without_completion_is_an_event_with_unknown_outcome()
    {
        FileScanResult r = Scan.Lines(
            "ENA_DRIVER: check_for_missing_keep_alive(): Keep alive timeout",
            "ENA_DRIVER: ena_timer_wd_callback(): Trigger reset is on");

        ResetEvent e = r.Resets.Single().Event;
        e.Driver.Should().Be("ena");
        e.EnaReason.Should().Be("KEEP_ALIVE_TO");
        e.Outcome.Should().Be(ResetOutcome.Unknown);
        e.Lines.Should().Equal(1, 2);
    }

    [Fact]
    public void Gve_kicking_the_queue_instead_of_resetting_is_not_a_reset()
    {
        FileScanResult r = Scan.Lines(
            "gve 0000:00:04.0 ens4: Timeout on tx queue, 3",
            "gve 0000:00:04.0 ens4: Kicking queue 3");

        r.Resets.Should().BeEmpty();
        r.Precursors.Single().Queue.Should().Be(3);
    }

    [Fact]
    public void Ixgbe_unit_hang_dump_is_a_precursor_and_the_tx_hang_line_the_reset()
    {
        FileScanResult r = Scan.Lines(
            "ixgbe 0000:01:00.0 eth0: Detected Tx Unit Hang",
            "  Tx Queue             <3>",
            "  TDH, TDT             <1a>, <2b>",
            "ixgbe 0000:01:00.0 eth0: tx hang 1 detected on queue 3, resetting adapter",
            "ixgbe 0000:01:00.0 eth0: Reset adapter");

        r.Precursors.Should().ContainSingle();
        ResetEvent e = r.Resets.Single().Event;
        e.Driver.Should().Be("ixgbe");
        e.Queue.Should().Be(3);
        e.Reason.Should().Be(ResetFamily.TxCompletionTimeout);
        e.Lines.Should().Equal(4, 5);
    }

    [Fact]
    public void Kmsg_multi_line_record_with_escaped_newlines_is_one_precursor()
    {
        FileScanResult r = Scan.Text("3,77,5000000,-;e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang:\\x0a  TDH                  <8a>\\x0a  TDT                  <8c>\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:19.0\n");

        r.Precursors.Should().ContainSingle().Which.Text.Should().Be("e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang:\n  TDH                  <8a>\n  TDT                  <8c>");
        r.Resets.Should().BeEmpty();
        r.Lines.Should().Be(3);
    }
}

public class EnaDetailTests
{
    [Fact]
    public void Freed_packet_lines_join_the_reset_without_changing_its_queue()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: Keep alive watchdog timeout.",
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0 eth0: Freed 12 uncompleted tx skbs, qid 3, longest msecs since submission 6700",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.15.0g");

        ResetScope.Core.ResetEvent e = r.Resets.Single().Event;
        e.Lines.Should().Equal(1, 2, 3, 4);
        e.Queue.Should().BeNull();
    }

    [Fact]
    public void Freed_packet_lines_of_an_administrative_down_are_not_a_reset()
    {
        Scan.Lines("ena 0000:00:05.0 eth0: Freed 3 uncompleted tx pkts, qid 0, longest msecs since submission 12").Resets.Should().BeEmpty();
    }

    [Fact]
    public void The_stats_dump_names_the_reason_of_a_2_14_missing_tx_reset_without_a_cq_line()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: Lost TX completions are above the threshold (129 > 128). Completion transmission timeout: 5000 (msec). 11000 msecs since last interrupt, 11000 msecs since last napi execution.",
            "ena 0000:00:05.0 eth0: Resetting the device",
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0 eth0: missing_tx_cmpl: 0",
            "ena 0000:00:05.0 eth0: suspected_poll_starvation: 1",
            "ena 0000:00:05.0 eth0: missing_intr: 0",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g");

        r.Resets.Single().Event.EnaReason.Should().Be("SUSPECTED_POLL_STARVATION");
    }
}

public class DpdkPrefixTests
{
    [Theory]
    [InlineData("PMD: Keep alive timeout")]
    [InlineData("check_for_missing_keep_alive(): Keep alive timeout")]
    [InlineData("ENA_DRIVER: check_for_missing_keep_alive(): Keep alive timeout")]
    [InlineData("Jul 14 10:10:22 dpdk-host testpmd[4242]: ENA_DRIVER: check_for_missing_keep_alive(): Keep alive timeout")]
    public void Every_dpdk_log_generation_is_recognised(string line)
    {
        ResetScope.Core.ResetEvent e = Scan.Lines(line).Resets.Single().Event;

        e.Driver.Should().Be("ena");
        e.Reason.Should().Be(ResetScope.Core.ResetFamily.KeepAliveTimeout);
        e.EnaReason.Should().Be("KEEP_ALIVE_TO");
    }
}
