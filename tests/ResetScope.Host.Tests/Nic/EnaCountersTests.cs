using ResetScope.Core;
using ResetScope.Host.Nic;

namespace ResetScope.Host.Tests.Nic;

/// <summary>ENA's ethtool -S names (ena-driver.md §4) decoded into counters, per-reason resets, ENI allowances and queues.</summary>
public sealed class EnaCountersTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("resetscope-ena-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>2.17.0 as printed after three resets (2 × SUSPECTED_POLL_STARVATION, 1 × MISS_TX_CMPL), 8 queues.</summary>
    private static IReadOnlyList<(string Name, ulong Value)> Ena217() => Fixture("ena-2.17.0.txt");

    /// <summary>2.8.x: only wd_expired among the reason counters, reset_fail, ENI allowances, the pre-2.14 queue order; 2 queues.</summary>
    private static IReadOnlyList<(string Name, ulong Value)> Ena28() => Fixture("ena-2.8.x.txt");

    private static IReadOnlyList<(string Name, ulong Value)> Fixture(string name) =>
        EthtoolStats.ParseText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "ethtool", name)));

    private static List<(string Name, ulong Value)> With(IReadOnlyList<(string Name, ulong Value)> stats, params (string Name, ulong Value)[] changes) =>
        stats.Select(s => changes.FirstOrDefault(c => c.Name == s.Name) is { Name: not null } c ? c : s).ToList();

    [Fact]
    public void The_text_ethtool_prints_is_the_list_the_ioctl_returns()
    {
        IReadOnlyList<(string Name, ulong Value)> stats = EthtoolStats.ParseText("NIC statistics:\n     total_resets: 3\n     queue_0_tx_cnt: 18446744073709551615\n     garbage\n");

        stats.Should().Equal(("total_resets", 3UL), ("queue_0_tx_cnt", ulong.MaxValue));
    }

    [Fact]
    public void A_2_17_list_gives_the_global_counters()
    {
        EnaCounters c = EnaCounters.Decode(Ena217());

        c.IsEna.Should().BeTrue();
        (c.TotalResets, c.ResetFail, c.TxTimeout, c.WdExpired, c.AdminQPause).Should().Be((3UL, 0UL, 2UL, 0UL, 0UL));
        (c.Suspend, c.Resume, c.InterfaceDown, c.InterfaceUp, c.AdminNoCompletion).Should().Be((0UL, 0UL, 3UL, 4UL, 0UL));
    }

    [Fact]
    public void A_2_17_list_gives_every_per_reason_counter_with_its_reason_and_family_in_printed_order()
    {
        EnaCounters c = EnaCounters.Decode(Ena217());

        c.ResetsByReason.Select(r => (r.Counter.Name, r.Counter.EnaReason, r.Counter.Reason, r.Value)).Should().Equal(
            ("wd_expired", "KEEP_ALIVE_TO", 1, 0UL),
            ("bad_tx_req_id", "INV_TX_REQ_ID", 5, 0UL),
            ("bad_rx_req_id", "INV_RX_REQ_ID", 4, 0UL),
            ("bad_rx_desc_num", "TOO_MANY_RX_DESCS", 6, 0UL),
            ("missing_intr", "MISS_INTERRUPT", 14, 0UL),
            ("suspected_poll_starvation", "SUSPECTED_POLL_STARVATION", 15, 2UL),
            ("missing_tx_cmpl", "MISS_TX_CMPL", 3, 1UL),
            ("rx_desc_malformed", "RX_DESCRIPTOR_MALFORMED", 16, 0UL),
            ("tx_desc_malformed", "TX_DESCRIPTOR_MALFORMED", 17, 0UL),
            ("invalid_state", "DRIVER_INVALID_STATE", 8, 0UL),
            ("os_netdev_wd", "OS_NETDEV_WD", 10, 0UL),
            ("missing_admin_interrupt", "MISSING_ADMIN_INTERRUPT", 18, 0UL),
            ("admin_to", "ADMIN_TO", 2, 0UL),
            ("device_request_reset", "DEVICE_REQUEST", 19, 0UL),
            ("missing_first_intr", "MISS_FIRST_INTERRUPT", 20, 0UL));
    }

    [Theory]
    [InlineData("wd_expired", new[] { ResetFamily.KeepAliveTimeout })]
    [InlineData("admin_to", new[] { ResetFamily.UnresponsiveDevice })]
    [InlineData("missing_tx_cmpl", new[] { ResetFamily.TxCompletionTimeout })]
    [InlineData("missing_intr", new[] { ResetFamily.TxCompletionTimeout })]
    [InlineData("missing_first_intr", new[] { ResetFamily.TxCompletionTimeout })]
    [InlineData("os_netdev_wd", new[] { ResetFamily.NetdevWatchdog })]
    [InlineData("device_request_reset", new[] { ResetFamily.DeviceRequested })]
    [InlineData("suspected_poll_starvation", new[] { ResetFamily.TxCompletionTimeout, ResetFamily.NetdevWatchdog })]
    [InlineData("missing_admin_interrupt", new[] { ResetFamily.KeepAliveTimeout, ResetFamily.UnresponsiveDevice })]
    [InlineData("bad_tx_req_id", new[] { ResetFamily.Other })]
    public void A_reason_counter_names_the_trigger_families_that_request_its_reason(string counter, ResetFamily[] families)
    {
        EnaResetCounter.ForName(counter)!.Families.Should().Equal(families);
    }

    [Fact]
    public void A_reset_reason_finds_its_counter_and_reasons_nothing_counts_have_none()
    {
        EnaCounters c = EnaCounters.Decode(Ena217());

        c.ResetsFor("SUSPECTED_POLL_STARVATION").Should().Be(2);
        c.ResetsFor("MISS_TX_CMPL").Should().Be(1);
        c.ResetsFor("NORMAL").Should().BeNull();
        c.ResetsFor("SHUTDOWN").Should().BeNull();
    }

    [Fact]
    public void A_2_17_list_gives_the_ENI_allowances()
    {
        EnaCounters c = EnaCounters.Decode(Ena217());

        c.Allowances.Should().Be(new EniAllowances(0, 7, 42, 0, 0, 136098));
        c.Allowances!.Exceeded().Should().Equal(
            ("bw_in_allowance_exceeded", 0UL), ("bw_out_allowance_exceeded", 7UL), ("pps_allowance_exceeded", 42UL),
            ("conntrack_allowance_exceeded", 0UL), ("linklocal_allowance_exceeded", 0UL));
    }

    [Fact]
    public void A_2_17_list_gives_every_queue_with_all_its_tx_and_rx_stats()
    {
        EnaCounters c = EnaCounters.Decode(Ena217());

        c.Queues.Select(q => q.Queue).Should().Equal(0, 1, 2, 3, 4, 5, 6, 7);
        c.Queues.Should().OnlyContain(q => q.Tx.Count == 17 && q.Rx.Count == 13);
        EnaQueueCounters q5 = c.Queues[5];
        (q5.MissedTx, q5.PendingTimedoutPkts, q5.QueueStop, q5.QueueWakeup).Should().Be((1280UL, 0UL, 3UL, 2UL));
        (q5.TxPoll, q5.NapiComp, q5.Doorbells, q5.UnmaskInterrupt, q5.LostInterrupt).Should().Be((100005UL, 99505UL, 90005UL, 99005UL, 0UL));
        (q5.TxBadReqId, q5.RxBadReqId, q5.RxBadDescNum, q5.EmptyRxRing, q5.PageAllocFail).Should().Be((0UL, 0UL, 0UL, 0UL, 0UL));
        q5.Rx["csum_good"].Should().Be(399005);
        c.Queues[2].LostInterrupt.Should().Be(1);
    }

    [Fact]
    public void Every_name_of_a_2_17_list_is_known_and_kept()
    {
        IReadOnlyList<(string Name, ulong Value)> stats = Ena217();

        EnaCounters c = EnaCounters.Decode(stats);

        c.Unknown.Should().BeEmpty();
        c.All.Should().Equal(stats);
        c["ena_srd_mode"].Should().Be(0);
        c["ena_admin_q_submitted_cmd"].Should().Be(57);
    }

    [Fact]
    public void A_2_8_list_has_no_total_only_wd_expired_as_a_reason_counter_and_no_2_16_queue_stats()
    {
        EnaCounters c = EnaCounters.Decode(Ena28());

        c.IsEna.Should().BeTrue();
        c.Unknown.Should().BeEmpty();
        (c.TotalResets, c.ResetFail, c.WdExpired, c.InterfaceUp, c.InterfaceDown).Should().Be(((ulong?)null, 1UL, 17UL, 19UL, 18UL));
        c.ResetsByReason.Select(r => (r.Counter.EnaReason, r.Value)).Should().Equal(("KEEP_ALIVE_TO", 17UL));
        c.Allowances.Should().Be(new EniAllowances(0, 0, 0, 0, 1024, 0));
        c.Queues.Select(q => (q.Queue, q.Tx.Count, q.Rx.Count)).Should().Equal((0, 15, 13), (1, 15, 13));
        (c.Queues[1].UnmaskInterrupt, c.Queues[1].PendingTimedoutPkts, c.Queues[1].LostInterrupt, c.Queues[1].EmptyRxRing)
            .Should().Be((900UL, (ulong?)null, (ulong?)null, 2UL));
    }

    [Fact]
    public void A_1_1_list_names_suspend_and_resume_io_suspend_and_io_resume_and_has_no_allowances()
    {
        EnaCounters c = EnaCounters.Decode(
            [("tx_timeout", 0), ("io_suspend", 2), ("io_resume", 1), ("wd_expired", 0), ("interface_up", 1), ("interface_down", 0), ("admin_q_pause", 0)]);

        (c.Suspend, c.Resume).Should().Be((2UL, 1UL));
        c.ResetFail.Should().BeNull();
        c.Allowances.Should().BeNull();
        c.Unknown.Should().BeEmpty();
    }

    [Fact]
    public void Unknown_names_are_kept_in_order_and_still_readable()
    {
        EnaCounters c = EnaCounters.Decode(
        [
            ("wd_expired", 0), ("admin_q_pause", 0), ("future_reset_reason", 5), ("queue_0_tx_cnt", 9), ("queue_0_tx_new_thing", 6),
            ("queue_0_rx_xdp_drop", 3), ("phc_cnt", 1), ("ena_srd_tx_pkts", 8),
        ]);

        c.Unknown.Should().Equal(("future_reset_reason", 5UL), ("queue_0_tx_new_thing", 6UL));
        c["future_reset_reason"].Should().Be(5);
        c.Queues[0].Tx["new_thing"].Should().Be(6);
        c.Queues[0].Rx["xdp_drop"].Should().Be(3);
        c.ResetsByReason.Select(r => r.Counter.Name).Should().Equal("wd_expired");
    }

    [Theory]
    [InlineData("queue_12_rx_rx_copybreak_pkt", 12, false, "rx_copybreak_pkt")]
    [InlineData("queue_0_tx_tx_poll", 0, true, "tx_poll")]
    [InlineData("queue_31_tx_pending_timedout_pkts", 31, true, "pending_timedout_pkts")]
    public void Queue_names_split_into_queue_direction_and_stat(string name, int queue, bool tx, string stat)
    {
        EnaCounters c = EnaCounters.Decode([(name, 7)]);

        c.Queues.Should().ContainSingle().Which.Queue.Should().Be(queue);
        (tx ? c.Queues[0].Tx : c.Queues[0].Rx).Should().Equal(new Dictionary<string, ulong> { [stat] = 7 });
    }

    [Theory]
    [InlineData("queue_x_tx_cnt")]
    [InlineData("queue__tx_cnt")]
    [InlineData("queue_1_cnt")]
    [InlineData("queue_1_tx_")]
    [InlineData("queue_99999999999_tx_cnt")]
    public void Malformed_queue_names_are_unknown_not_a_queue(string name)
    {
        EnaCounters c = EnaCounters.Decode([(name, 1)]);

        c.Queues.Should().BeEmpty();
        c.Unknown.Should().Equal((name, 1UL));
    }

    [Fact]
    public void A_list_without_ENA_names_is_not_ENA()
    {
        EnaCounters.Decode([("rx_queue_0_packets", 1), ("tx_queue_0_packets", 2)]).IsEna.Should().BeFalse();
    }

    [Fact]
    public void Delta_lists_the_counters_that_moved_and_reads_as_increases()
    {
        IReadOnlyList<(string Name, ulong Value)> before = Ena217();
        List<(string Name, ulong Value)> after = With(before,
            ("total_resets", 4), ("tx_timeout", 3), ("suspected_poll_starvation", 3), ("interface_down", 4), ("interface_up", 5),
            ("pps_allowance_exceeded", 84), ("conntrack_allowance_available", 100000), ("queue_5_tx_missed_tx", 2560));

        EnaCountersDelta d = EnaCounters.Delta(EnaCounters.Decode(before), EnaCounters.Decode(after));

        d.Moved.Should().Equal(
            new EnaCounterChange("total_resets", 3, 4, 1, false),
            new EnaCounterChange("tx_timeout", 2, 3, 1, false),
            new EnaCounterChange("suspected_poll_starvation", 2, 3, 1, false),
            new EnaCounterChange("interface_down", 3, 4, 1, false),
            new EnaCounterChange("interface_up", 4, 5, 1, false),
            new EnaCounterChange("pps_allowance_exceeded", 42, 84, 42, false),
            new EnaCounterChange("conntrack_allowance_available", 136098, 100000, -36098, false),
            new EnaCounterChange("queue_5_tx_missed_tx", 1280, 2560, 1280, false));
        (d.Increase.TotalResets, d.Increase.ResetsFor("SUSPECTED_POLL_STARVATION"), d.Increase.Queues[5].MissedTx).Should().Be((1UL, 1UL, 1280UL));
        d.Increase.Allowances!.ConntrackAvailable.Should().Be(100000, "a gauge reads as its level now");
        d.Restarted.Should().BeFalse();
    }

    [Fact]
    public void Delta_summary_names_what_moved_that_matters()
    {
        IReadOnlyList<(string Name, ulong Value)> before = Ena217();
        List<(string Name, ulong Value)> after = With(before,
            ("total_resets", 4), ("tx_timeout", 3), ("suspected_poll_starvation", 3), ("interface_down", 4), ("interface_up", 5),
            ("pps_allowance_exceeded", 84), ("conntrack_allowance_available", 100000), ("queue_5_tx_missed_tx", 2560), ("queue_5_tx_cnt", 600000));

        string summary = EnaCounters.Delta(EnaCounters.Decode(before), EnaCounters.Decode(after)).Summary();

        summary.Should().Be("total_resets +1 (suspected_poll_starvation +1, reset_fail +0); tx_timeout +1; missed_tx on queue 5 +1280; pps_allowance_exceeded +42");
    }

    [Fact]
    public void A_failed_restore_is_in_the_summary()
    {
        IReadOnlyList<(string Name, ulong Value)> before = Ena217();
        List<(string Name, ulong Value)> after = With(before, ("total_resets", 4), ("missing_tx_cmpl", 2), ("reset_fail", 1));

        EnaCounters.Delta(EnaCounters.Decode(before), EnaCounters.Decode(after)).Summary()
            .Should().Be("total_resets +1 (missing_tx_cmpl +1, reset_fail +1)");
    }

    [Fact]
    public void A_running_count_that_went_backwards_restarted_and_counts_from_zero()
    {
        // Before 2.16.0 a reset zeroes the per-queue counters (ena-driver.md §4.4).
        IReadOnlyList<(string Name, ulong Value)> before = Ena28();
        List<(string Name, ulong Value)> after = With(before, ("queue_1_tx_missed_tx", 4), ("queue_1_tx_cnt", 10), ("wd_expired", 18), ("interface_up", 20), ("interface_down", 19));
        before = With(before, ("queue_1_tx_missed_tx", 300));

        EnaCountersDelta d = EnaCounters.Delta(EnaCounters.Decode(before), EnaCounters.Decode(after));

        d.Moved.Should().ContainSingle(m => m.Name == "queue_1_tx_missed_tx").Which.Should().Be(new EnaCounterChange("queue_1_tx_missed_tx", 300, 4, 4, true));
        d.Moved.Should().ContainSingle(m => m.Name == "queue_1_tx_cnt").Which.Should().Be(new EnaCounterChange("queue_1_tx_cnt", 1001, 10, 10, true));
        d.Restarted.Should().BeTrue();
        d.Summary().Should().Be("wd_expired +1; interface_up +1; missed_tx on queue 1 +4; 2 counter(s) restarted from 0");
    }

    [Fact]
    public void A_gauge_that_falls_is_a_negative_change_not_a_restart()
    {
        EnaCounters before = EnaCounters.Decode([("wd_expired", 0), ("admin_q_pause", 0), ("queue_3_tx_pending_timedout_pkts", 200)]);
        EnaCounters after = EnaCounters.Decode([("wd_expired", 0), ("admin_q_pause", 0), ("queue_3_tx_pending_timedout_pkts", 0)]);

        EnaCountersDelta d = EnaCounters.Delta(before, after);

        d.Moved.Should().Equal(new EnaCounterChange("queue_3_tx_pending_timedout_pkts", 200, 0, -200, false));
        d.Restarted.Should().BeFalse();
        d.Summary().Should().Be("no reset, loss or allowance counter moved");
    }

    [Fact]
    public void Outstanding_timed_out_packets_are_told_as_a_level()
    {
        EnaCounters now = EnaCounters.Decode([("wd_expired", 0), ("admin_q_pause", 0), ("queue_3_tx_pending_timedout_pkts", 120), ("queue_3_tx_missed_tx", 120)]);

        now.Summary().Should().Be("missed_tx on queue 3 +120; pending_timedout_pkts on queue 3 at 120");
    }

    [Fact]
    public void Nothing_moved_is_said_so()
    {
        EnaCounters c = EnaCounters.Decode(Ena217());

        EnaCountersDelta d = EnaCounters.Delta(c, c);

        d.Moved.Should().BeEmpty();
        d.Summary().Should().Be("no reset, loss or allowance counter moved");
    }

    [Fact]
    public void A_counter_new_in_after_counts_from_zero_and_one_gone_is_not_reported()
    {
        EnaCounters before = EnaCounters.Decode([("wd_expired", 0), ("admin_q_pause", 0), ("queue_7_tx_missed_tx", 9)]);
        EnaCounters after = EnaCounters.Decode([("wd_expired", 0), ("admin_q_pause", 0), ("queue_8_tx_missed_tx", 5)]);

        EnaCounters.Delta(before, after).Moved.Should().Equal(new EnaCounterChange("queue_8_tx_missed_tx", 0, 5, 5, false));
    }

    [Fact]
    public void The_summary_since_load_of_a_2_17_list()
    {
        EnaCounters.Decode(Ena217()).Summary().Should().Be(
            "total_resets +3 (suspected_poll_starvation +2, missing_tx_cmpl +1, reset_fail +0); tx_timeout +2; missed_tx on queue 2 +4; "
            + "missed_tx on queue 5 +1280; lost_interrupt on queue 2 +1; bw_out_allowance_exceeded +7; pps_allowance_exceeded +42");
    }

    [Fact]
    public void The_summary_since_load_of_a_2_8_list_tells_resets_by_wd_expired_and_interface_up()
    {
        EnaCounters.Decode(Ena28()).Summary().Should().Be(
            "wd_expired +17; reset_fail +1; interface_up +19; empty_rx_ring on queue 1 +2; linklocal_allowance_exceeded +1024");
    }

    [Fact]
    public void Loss_on_many_queues_is_one_item_naming_the_worst_queue()
    {
        var stats = new List<(string, ulong)> { ("wd_expired", 0), ("admin_q_pause", 0) };
        for (int q = 0; q < 6; q++)
        {
            stats.Add(($"queue_{q}_tx_missed_tx", q == 4 ? 500UL : 10UL));
        }

        EnaCounters.Decode(stats).Summary().Should().Be("missed_tx +550 on 6 queues (most on queue 4: +500)");
    }

    private string SysWithDriver(string iface, string? driver)
    {
        string sys = Path.Combine(_root, "sys");
        string device = Path.Combine(sys, "devices", "pci0000:00", "0000:00:05.0");
        Directory.CreateDirectory(device);
        string classNet = Path.Combine(sys, "class", "net", iface);
        Directory.CreateDirectory(classNet);
        Directory.CreateSymbolicLink(Path.Combine(classNet, "device"), device);
        if (driver is not null)
        {
            string target = Path.Combine(sys, "bus", "pci", "drivers", driver);
            Directory.CreateDirectory(target);
            Directory.CreateSymbolicLink(Path.Combine(device, "driver"), target);
        }

        return sys;
    }

    [Fact]
    public void TryRead_refuses_another_driver_without_reading_its_counters()
    {
        string sys = SysWithDriver("eth9", "virtio_net");
        bool read = false;

        EnaCounters? c = EnaCounters.TryRead("eth9", out string? failure, sys, _ => { read = true; return Ena217(); });

        c.Should().BeNull();
        failure.Should().Be("eth9: driver virtio_net, not ena");
        read.Should().BeFalse();
    }

    [Fact]
    public void TryRead_decodes_an_ena_interface()
    {
        string sys = SysWithDriver("eth9", "ena");

        EnaCounters? c = EnaCounters.TryRead("eth9", out string? failure, sys, _ => Ena217());

        failure.Should().BeNull();
        c!.TotalResets.Should().Be(3);
    }

    [Fact]
    public void TryRead_passes_on_the_ioctl_failure()
    {
        string sys = SysWithDriver("eth9", "ena");

        EnaCounters? c = EnaCounters.TryRead("eth9", out string? failure, sys, _ => throw new IOException("ethtool eth9: Operation not supported (the driver has no statistics)"));

        c.Should().BeNull();
        failure.Should().Be("ethtool eth9: Operation not supported (the driver has no statistics)");
    }

    [Theory]
    [InlineData(0, "eth9: no ethtool statistics")]
    [InlineData(2, "eth9: 2 ethtool statistics, none of them ENA's")]
    public void TryRead_without_a_driver_link_goes_by_the_names(int count, string expected)
    {
        IReadOnlyList<(string Name, ulong Value)> stats = new (string, ulong)[] { ("rx_packets", 1), ("tx_packets", 2) }.Take(count).ToList();

        EnaCounters? c = EnaCounters.TryRead("eth9", out string? failure, Path.Combine(_root, "no-sys"), _ => stats);

        c.Should().BeNull();
        failure.Should().Be(expected);
    }

    [Fact]
    public void TryRead_of_loopback_on_this_machine_is_not_ENA()
    {
        if (!Directory.Exists("/sys/class/net/lo"))
        {
            return; // not Linux
        }

        EnaCounters.TryRead("lo", out string? failure).Should().BeNull();
        failure.Should().Be("lo: no ethtool statistics");
    }
}
