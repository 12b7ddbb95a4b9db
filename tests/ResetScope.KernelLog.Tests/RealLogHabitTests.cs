using FluentAssertions;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>
/// What real logs do to a reset's lines on their way to us (pasted, stripped, wrapped, repeated, mixed with
/// look-alikes), one habit per test; the lines are the drivers' own formats.
/// </summary>
public class RealLogHabitTests
{
    // ---------------- 1. lines whose device prefix is gone ----------------

    [Fact]
    public void A_line_that_lost_its_driver_prefix_is_tied_to_its_device_by_the_interface_name()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:06.0 eth1: Found a Tx that wasn't completed on time, qid 3, index 12.",
            "ena 0000:00:06.0 eth1: Found a Tx that wasn't completed on time, qid 3, index 13.",
            "eth1: The number of lost tx completions is above the threshold (129 > 128). Reset the device",
            "[ 5521.004411] ena 0000:00:06.0 eth1: Trigger reset is on",
            "[ 5521.100012] ena 0000:00:06.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.4.0g");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Driver.Should().Be("ena");
        e.Dev.Should().Be("eth1");
        e.Pci.Should().Be("0000:00:06.0");
        e.Queue.Should().Be(3);
        e.Reason.Should().Be(ResetFamily.TxCompletionTimeout);
        e.EnaReason.Should().Be("MISS_TX_CMPL");
        e.Outcome.Should().Be(ResetOutcome.Completed);
        e.DriverVersion.Should().Be("2.4.0g");
        e.Lines.Should().Equal(2, 3, 4, 5);
    }

    [Fact]
    public void An_interface_prefix_whose_driver_was_never_named_is_enough_for_a_message_only_one_driver_prints()
    {
        FileScanResult r = Scan.Lines("ens6: The number of lost tx completions is above the threshold (300 > 128). Reset the device");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Driver.Should().Be("ena");
        e.Dev.Should().Be("ens6");
        e.Pci.Should().BeNull();
        e.Reason.Should().Be(ResetFamily.TxCompletionTimeout);
    }

    [Fact]
    public void A_bare_message_takes_the_device_of_its_driver_from_the_neighbouring_lines()
    {
        FileScanResult r = Scan.Lines(
            "[ 812.100000] ena 0000:00:07.0 eth2: Found a Tx that wasn't completed on time, qid 1, index 400.",
            "The number of lost tx completions is above the threshold (140 > 128). Reset the device",
            "[ 812.300000] ena 0000:00:07.0 eth2: Trigger reset is on");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Dev.Should().Be("eth2");
        e.Pci.Should().Be("0000:00:07.0");
        e.Reason.Should().Be(ResetFamily.TxCompletionTimeout);
        e.Lines.Should().Equal(1, 2, 3);
    }

    [Fact]
    public void A_bare_message_between_two_devices_of_its_driver_is_not_given_to_either()
    {
        FileScanResult r = Scan.Lines(
            "[ 812.100000] ena 0000:00:06.0 eth1: Found a Tx that wasn't completed on time, qid 1, index 400.",
            "[ 812.100100] ena 0000:00:07.0 eth2: Found a Tx that wasn't completed on time, qid 2, index 77.",
            "The number of lost tx completions is above the threshold (140 > 128). Reset the device");

        r.Resets.Should().BeEmpty();
        r.Unusable.Should().ContainSingle().Which.Reason.Should().Be(UnusableReason.NoDevice);
    }

    [Fact]
    public void An_interface_named_earlier_decides_which_driver_a_shared_message_belongs_to()
    {
        FileScanResult r = Scan.Lines(
            "[ 90.361072] igb 0000:02:00.0 eth0: Detected Tx Unit Hang",
            "eth0: Reset adapter");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Driver.Should().Be("igb");
        e.Pci.Should().Be("0000:02:00.0");
        e.Reason.Should().Be(ResetFamily.TxCompletionTimeout);
    }

    [Fact]
    public void A_message_several_drivers_print_is_not_guessed_and_is_reported_as_unusable()
    {
        FileScanResult r = Scan.Lines("[ 77.000000] eth3: Reset adapter");

        r.Resets.Should().BeEmpty();
        r.Unusable.Should().ContainSingle().Which.Should().Be(new UnusableLine(1, UnusableReason.NoDevice, "eth3: Reset adapter"));
    }

    [Theory]
    [InlineData("can0: Tx timeout")]
    [InlineData("resetting")]
    [InlineData("tx hang")]
    [InlineData("Trigger reset is on")]
    public void A_short_generic_message_alone_is_nobody_s_reset(string line)
    {
        FileScanResult r = Scan.Lines($"[ 12.000000] {line}");

        r.Resets.Should().BeEmpty();
        r.UnusableLines.Should().Be(1, "it reads like a driver message, but nothing says whose");
    }

    // ---------------- 2. one ongoing stall, many watchdog firings ----------------

    [Fact]
    public void Watchdog_firings_every_five_seconds_of_one_stall_are_one_event_with_repeats()
    {
        FileScanResult r = Scan.Lines(
            "[41200.001100] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 1: transmit queue 0 timed out 41020 ms",
            "[41205.021100] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 1: transmit queue 0 timed out 46040 ms",
            "[41210.001100] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 0: transmit queue 0 timed out 51020 ms");

        ScannedReset s = r.Resets.Should().ContainSingle().Subject;
        s.Event.Repeats.Should().Be(3);
        s.Event.Ts.Should().Be("41200.001100");
        s.Event.LastTs.Should().Be("41210.001100");
        s.Event.StalledMs.Should().Be(51020);
        s.Event.Queue.Should().Be(0);
        s.Event.Lines.Should().Equal(1, 2, 3);
        s.UptimeUs.Should().Be(41_200_001_100, "the event is dated by the stall's first firing");
    }

    [Fact]
    public void A_new_stall_after_the_queue_recovered_is_a_new_event()
    {
        FileScanResult r = Scan.Lines(
            "[100.000000] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 1: transmit queue 0 timed out 5010 ms",
            "[105.000000] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 1: transmit queue 0 timed out 10010 ms",
            "[140.000000] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 1: transmit queue 0 timed out 5120 ms");

        r.Resets.Select(x => (x.Event.Repeats, x.Event.Ts, x.Event.StalledMs)).Should().Equal((2, "100.000000", 10010L), (1, "140.000000", 5120L));
    }

    [Fact]
    public void Without_timestamps_a_stall_that_keeps_growing_is_one_event_and_one_that_starts_over_is_another()
    {
        FileScanResult r = Scan.Lines(
            "mtk_soc_eth 1e100000.ethernet eth0: NETDEV WATCHDOG: CPU: 3: transmit queue 3 timed out 5210 ms",
            "mtk_soc_eth 1e100000.ethernet eth0: NETDEV WATCHDOG: CPU: 3: transmit queue 3 timed out 10250 ms",
            "mtk_soc_eth 1e100000.ethernet eth0: NETDEV WATCHDOG: CPU: 3: transmit queue 3 timed out 5090 ms");

        r.Resets.Select(x => x.Event.Repeats).Should().Equal(2, 1);
    }

    [Fact]
    public void Whole_second_syslog_stamps_still_tell_one_stall_from_the_next()
    {
        FileScanResult r = Scan.Lines(
            "Mar 25 17:40:05 h1 kernel: r8168 0000:05:00.0 nic1: NETDEV WATCHDOG: CPU: 2: transmit queue 0 timed out 6464 ms",
            "Mar 25 17:40:10 h1 kernel: r8168 0000:05:00.0 nic1: NETDEV WATCHDOG: CPU: 2: transmit queue 0 timed out 11488 ms",
            "Mar 25 17:41:30 h1 kernel: r8168 0000:05:00.0 nic1: NETDEV WATCHDOG: CPU: 2: transmit queue 0 timed out 5120 ms");

        r.Resets.Select(x => (x.Event.Repeats, x.Event.Ts)).Should().Equal((2, "Mar 25 17:40:05"), (1, "Mar 25 17:41:30"));
    }

    [Fact]
    public void A_stall_on_another_queue_is_another_event()
    {
        FileScanResult r = Scan.Lines(
            "[200.000000] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 1: transmit queue 0 timed out 5010 ms",
            "[205.000000] r8169 0000:03:00.0 enp3s0: NETDEV WATCHDOG: CPU: 1: transmit queue 1 timed out 5040 ms");

        r.Resets.Select(x => x.Event.Queue).Should().Equal(0, 1);
    }

    [Fact]
    public void A_driver_line_printed_on_a_later_firing_extends_the_stall_without_counting_as_a_kernel_firing()
    {
        // Kernels before 6.8 print their watchdog line once; virtio_net prints its own line on every firing.
        FileScanResult r = Scan.Lines(
            "[  254.035559] NETDEV WATCHDOG: ens3 (virtio_net): transmit queue 0 timed out",
            "[  254.060962] virtio_net virtio1 ens3: TX timeout on queue: 0, sq: output.0, vq: 0x1, name: output.0, 8856000 usecs ago",
            "[  259.155150] virtio_net virtio1 ens3: TX timeout on queue: 0, sq: output.0, vq: 0x1, name: output.0, 13951000 usecs ago");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Repeats.Should().Be(1);
        e.StalledMs.Should().Be(13951);
        e.Lines.Should().Equal(1, 2, 3);
    }

    [Fact]
    public void An_excerpt_pasted_twice_gives_its_reset_once()
    {
        string[] excerpt =
        [
            "Jul 14 14:17:34 web-3 kernel: ena 0000:00:05.0 eth0: The number of lost tx completions is above the threshold (248 > 128). Reset the device",
            "Jul 14 14:17:34 web-3 kernel: ena 0000:00:05.0 eth0: Trigger reset is on",
            "Jul 14 14:17:35 web-3 kernel: ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.2.10g",
        ];

        FileScanResult r = Scan.Lines([.. excerpt, .. excerpt]);

        r.Resets.Should().ContainSingle();
    }

    [Fact]
    public void The_same_reset_lines_without_stamps_twice_are_two_resets_since_nothing_says_they_are_one()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 ens5: Keep alive watchdog timeout.",
            "ena 0000:00:05.0 ens5: Trigger reset is on",
            "ena 0000:00:05.0 ens5: Keep alive watchdog timeout.",
            "ena 0000:00:05.0 ens5: Trigger reset is on");

        r.Resets.Should().HaveCount(2);
    }

    // ---------------- 3. failures before the device ever ran ----------------

    [Fact]
    public void Register_read_timeouts_at_probe_then_a_failed_device_reset_are_one_failed_unresponsive_device_reset()
    {
        FileScanResult r = Scan.Lines(
            "[   12.100000] ena: reading reg failed for timeout. expected: req id[1] offset[88] actual: req id[57006] offset[0]",
            "[   12.300000] ena: Reg read32 timeout occurred",
            "[   12.310000] ena 0000:00:07.0: Can not reset device",
            "[   12.320000] ena 0000:00:07.0: ena device init failed");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Driver.Should().Be("ena");
        e.Pci.Should().Be("0000:00:07.0");
        e.Dev.Should().BeNull();
        e.Reason.Should().Be(ResetFamily.UnresponsiveDevice);
        e.EnaReason.Should().BeNull("no reset reason is written when the driver resets the device while probing");
        e.Outcome.Should().Be(ResetOutcome.Failed);
        e.Lines.Should().Equal([2, 3, 4], "the latest register-read timeout stands for the family");
        r.Precursors.Select(p => p.Line).Should().Equal(1, 2);
    }

    [Fact]
    public void A_device_that_answers_at_probe_gives_no_reset()
    {
        FileScanResult r = Scan.Lines(
            "[    3.100000] ena: reading reg failed for timeout. expected: req id[1] offset[88] actual: req id[57006] offset[0]",
            "[    3.500000] ena 0000:00:05.0: Elastic Network Adapter (ENA) found at mem febf4000, mac addr 02:5c:aa:bb:cc:dd");

        r.Resets.Should().BeEmpty();
        r.Precursors.Should().ContainSingle();
    }

    // ---------------- 4. /dev/kmsg records mangled in transit ----------------

    [Fact]
    public void A_kmsg_record_whose_message_was_wrapped_is_joined_and_dated_by_its_usec_field()
    {
        FileScanResult r = Scan.Text(
            "4,1564,469141366,-;------------[ cut here ]------------\n" +
            "6,1565,469141462,-;NETDEV WATCHDOG: enp7s0 (r8169): transmit queue 0 \n" +
            "timed out\n" +
            "  SUBSYSTEM=net\n" +
            "  DEVICE=n2\n" +
            "4,1566,469141564,-;WARNING: CPU: 4 PID: 0 at net/sched/sch_generic.c:477 \n" +
            "dev_watchdog+0x260/0x270\n");

        r.Format.Should().Be(LogFormat.Kmsg);
        ScannedReset s = r.Resets.Should().ContainSingle().Subject;
        s.Event.Driver.Should().Be("r8169");
        s.Event.Dev.Should().Be("enp7s0");
        s.Event.Queue.Should().Be(0);
        s.Event.Ts.Should().Be("469141462");
        s.Event.Line.Should().Be(2);
        s.UptimeUs.Should().Be(469_141_462);
        r.JoinedWrappedLines.Should().Be(1);
    }

    [Fact]
    public void A_wrapped_tail_that_holds_the_needle_is_joined_to_the_line_before_it()
    {
        // The break fell between "NETDEV" and "WATCHDOG": the first part has no needle, the tail has one.
        FileScanResult r = Scan.Lines(
            "Jul 28 10:19:15 gw kernel: [ 7013.909286] mtk_soc_eth 1e100000.ethernet eth0: NETDEV",
            "WATCHDOG: CPU: 3: transmit queue 3 timed out 310210 ms");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Dev.Should().Be("eth0");
        e.Queue.Should().Be(3);
        e.StalledMs.Should().Be(310210);
        e.Line.Should().Be(1);
    }

    [Fact]
    public void A_message_wrapped_inside_a_word_over_three_lines_is_joined()
    {
        FileScanResult r = Scan.Lines(
            "[86414.761669] ena 0000:20:03.0 eth0: TX q 5 is paused for too long (thresh",
            "old 5000000). Time since last napi 6596000 usec. napi sche",
            "duled: 1");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.ThresholdUsec.Should().Be(5_000_000);
        e.SinceNapiUsec.Should().Be(6_596_000);
        e.NapiScheduled.Should().BeTrue();
    }

    [Fact]
    public void The_tail_of_a_wrapped_message_whose_start_is_missing_is_reported_as_unusable()
    {
        FileScanResult r = Scan.Lines(
            "[ 10.000000] [dhd] [wlan0] wl_run_escan: scan done",
            "transmit queue 3 timed out 310210 ms and more");

        r.Resets.Should().BeEmpty();
        r.Unusable.Should().ContainSingle().Which.Reason.Should().Be(UnusableReason.Orphan);
    }

    // ---------------- 5. look-alikes that are not resets ----------------

    [Theory]
    [InlineData("hv_netvsc 00224804-122d-0022-4804-122d00224804 eth1: Data path switched from VF: enP30832s1")]
    [InlineData("hv_netvsc 00224804-122d-0022-4804-122d00224804 eth1: Data path switched to VF: enP30832s1")]
    [InlineData("hv_netvsc 00224804-122d-0022-4804-122d00224804 eth1: VF unregistering: enP30832s1")]
    [InlineData("hv_netvsc 00224804-122d-0022-4804-122d00224804 eth1: VF registering: enP30832s1")]
    [InlineData("hv_netvsc 00224802-beea-0022-4802-beea00224802 eth0: VF slot 1 removed")]
    [InlineData("hv_netvsc 00224802-beea-0022-4802-beea00224802 eth0: VF slot 1 added")]
    [InlineData("hv_netvsc 00224804-122d-0022-4804-122d00224804 eth1: Waiting for the VF association from host")]
    [InlineData("mlx4_en: rename6: Close port called")]
    [InlineData("ena 0000:00:05.0 eth0: Link is Down")]
    [InlineData("igb 0000:01:00.0 eth0: igb: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX")]
    [InlineData("IPv6: ADDRCONF(NETDEV_CHANGE): veth3f2a1c: link becomes ready")]
    [InlineData("bond0: (slave eth1): link status definitely down, disabling slave")]
    [InlineData("bond0: (slave eth0): making interface the new active one")]
    [InlineData("bond0: now running without any active interface!")]
    [InlineData("ena: Elastic Network Adapter (ENA) v2.13.2g")]
    [InlineData("ena 0000:00:06.0: ENA device version: 0.10")]
    [InlineData("ena 0000:00:06.0: ENA controller version: 0.0.1 implementation version 1")]
    [InlineData("ena 0000:00:05.0 eth0: tx_timeout: 3")]
    [InlineData("ena 0000:00:05.0 eth0: reset_fail: 0")]
    [InlineData("usb 1-1: reset high-speed USB device number 2 using ehci-pci")]
    [InlineData("ata1: hard resetting link")]
    [InlineData("ata1.00: qc timeout after 5000 msecs (cmd 0xec)")]
    [InlineData("nvme nvme0: I/O 728 (Read) QID 3 timeout, reset controller")]
    [InlineData("nvme nvme0: controller is down; will reset: CSTS=0x3, PCI_STATUS=0x10")]
    [InlineData("sd 2:0:0:0: [sdb] tag#12 FAILED Result: hostbyte=DID_RESET driverbyte=DRIVER_OK")]
    [InlineData("scsi host2: sym53c8xx: SCSI BUS has been reset.")]
    [InlineData("systemd-journald[300]: Sent WATCHDOG=1 notification.")]
    [InlineData("systemd[1]: kubelet.service: Watchdog timeout (limit 3min)!")]
    [InlineData("watchdog: watchdog0: watchdog did not stop!")]
    public void A_look_alike_line_is_not_part_of_any_event(string line)
    {
        FileScanResult r = Scan.Lines($"Jan  8 01:02:19 node-7 kernel: [ 9597.182333] {line}");

        r.Resets.Should().BeEmpty();
        r.Precursors.Should().BeEmpty();
        r.Starvations.Should().BeEmpty();
        r.UnusableLines.Should().Be(0);
    }

    [Fact]
    public void An_ethtool_statistics_dump_on_its_own_is_no_event()
    {
        FileScanResult r = Scan.Lines(
            "[86492.801233] ena 0000:00:05.0 ens5: tx_timeout: 0",
            "[86492.801236] ena 0000:00:05.0 ens5: suspend: 1",
            "[86492.801238] ena 0000:00:05.0 ens5: wd_expired: 9467",
            "[86492.801241] ena 0000:00:05.0 ens5: interface_up: 10476");

        r.Resets.Should().BeEmpty();
        r.StatsDumpLines.Should().Be(4);
    }

    // ---------------- 6. thresholds in other units ----------------

    [Fact]
    public void The_missing_tx_timeout_printed_in_msecs_on_the_precursors_is_the_reset_s_threshold_in_usec()
    {
        FileScanResult r = Scan.Lines(
            "[ 7701.100000] ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 6, index 17. 5112000 usecs have passed since last napi execution. Missing Tx timeout value 5000 msecs",
            "[ 7701.900000] ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 6, index 18. 5912000 usecs have passed since last napi execution. Missing Tx timeout value 5000 msecs",
            "[ 7702.000000] ena 0000:00:05.0 eth0: The number of lost tx completions is above the threshold (129 > 128). Reset the device");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.ThresholdUsec.Should().Be(5_000_000);
        e.SinceNapiUsec.Should().Be(5_912_000, "the latest precursor is the state closest to the reset");
        e.Queue.Should().Be(6);
    }

    [Fact]
    public void A_keep_alive_reset_does_not_take_the_queue_of_the_missing_tx_lines_before_it()
    {
        FileScanResult r = Scan.Lines(
            "[ 90.000000] ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 2, index 961. 5100000 usecs have passed since last napi execution. Missing Tx timeout value 5000 msecs",
            "[ 91.000000] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.",
            "[ 91.000010] ena 0000:00:05.0 eth0: Trigger reset is on");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Reason.Should().Be(ResetFamily.KeepAliveTimeout);
        e.Queue.Should().BeNull("a keep-alive reset is device-wide");
        e.ThresholdUsec.Should().BeNull();
        e.SinceNapiUsec.Should().BeNull();
    }

    // ---------------- FreeBSD: completion without a completion line ----------------

    [Fact]
    public void An_old_freebsd_reset_completes_when_the_device_goes_up_again()
    {
        FileScanResult r = Scan.Lines(
            "Oct  2 19:59:25 nfs2 kernel: ena0: ENA admin queue is not in running state!",
            "Oct  2 19:59:25 nfs2 kernel: ena0: Trigger reset is on",
            "Oct  2 19:59:25 nfs2 kernel: ena0: device is going DOWN",
            "Oct  2 19:59:26 nfs2 kernel: ena0: ena0: device is going UP",
            "Oct  2 19:59:26 nfs2 kernel: ena0: link is UP");

        ResetEvent e = r.Resets.Should().ContainSingle().Subject.Event;
        e.Outcome.Should().Be(ResetOutcome.Completed);
        e.Dev.Should().Be("ena0");
        e.Lines.Should().Equal(1, 2, 4);
    }

    [Fact]
    public void A_freebsd_device_going_up_at_boot_is_no_reset()
    {
        FileScanResult r = Scan.Lines("Oct  2 19:50:01 nfs2 kernel: ena0: device is going UP");

        r.Resets.Should().BeEmpty();
    }
}
