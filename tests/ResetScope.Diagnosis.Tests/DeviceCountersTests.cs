using System.Text;
using System.Text.Json;
using FluentAssertions;
using ResetScope.Core;
using ResetScope.Host.Nic;
using Xunit;

namespace ResetScope.Diagnosis.Tests;

/// <summary>What the NIC's own counters (ENA ethtool -S) add to a diagnosis.</summary>
public class DeviceCountersTests
{
    private const string Source = "ethtool -S eth0";

    private static readonly ResetEvent s_starvationReset = new()
    {
        Driver = "ena",
        Pci = "0000:20:03.0",
        Dev = "eth0",
        Queue = 5,
        Reason = ResetFamily.NetdevWatchdog,
        EnaReason = "SUSPECTED_POLL_STARVATION",
        ThresholdUsec = 5_000_000,
        SinceNapiUsec = 6_596_000,
        NapiScheduled = true,
        Outcome = ResetOutcome.Completed,
        DriverVersion = "2.13.0g",
    };

    private static Dictionary<int, int> SpreadQueues() => Enumerable.Range(0, 32).ToDictionary(q => q, q => 34 + q);

    private static Dictionary<int, CpuWindow> IdleCpus(int count) => Enumerable.Range(0, count).ToDictionary(c => c, c => new CpuWindow(c, 10) { IdlePct = 97, UserPct = 3 });

    private static Dictionary<int, ulong> MissedTx(params (int Queue, ulong Missed)[] lossy)
    {
        Dictionary<int, ulong> d = Enumerable.Range(0, 32).ToDictionary(q => q, _ => 0UL);
        foreach ((int q, ulong m) in lossy)
        {
            d[q] = m;
        }

        return d;
    }

    private static DeviceCounters Quiet() => new(Source)
    {
        Interface = "eth0",
        TotalResets = 0,
        ResetFail = 0,
        ResetsByReason = [("KEEP_ALIVE_TO", "wd_expired", 0), ("SUSPECTED_POLL_STARVATION", "suspected_poll_starvation", 0)],
        MissedTxByQueue = MissedTx(),
        AllowanceExceeded = [("bw_in_allowance_exceeded", 0), ("bw_out_allowance_exceeded", 0), ("pps_allowance_exceeded", 0), ("conntrack_allowance_exceeded", 0), ("linklocal_allowance_exceeded", 0)],
    };

    /// <summary>CPU 39 (queue 5's NAPI CPU) held by kubelet in %sys for 6.6 s.</summary>
    private static DiagnosisInput Starved()
    {
        Dictionary<int, CpuWindow> cpus = IdleCpus(96);
        cpus[39] = new CpuWindow(39, 10)
        {
            SysPct = 66,
            UserPct = 1,
            IdlePct = 33,
            LongestBusyS = 6.6,
            SoftirqThreadWaitMs = 6550,
            LongestSoftirqWaitMs = 6550,
            Threads = [new ThreadActivity(2413, 2417, "kubelet", "kubelet.service", 20, 6540)],
        };
        return new DiagnosisInput { Reset = s_starvationReset, ResetSource = "kern.log:1042", QueueCpus = SpreadQueues(), CpuWindows = cpus };
    }

    [Fact]
    public void ENI_allowance_exceeded_is_a_finding_of_its_own_with_each_counter_as_evidence()
    {
        var input = new DiagnosisInput
        {
            QueueCpus = SpreadQueues(),
            CpuWindows = IdleCpus(96),
            DeviceCounters = Quiet() with
            {
                AllowanceExceeded = [("bw_in_allowance_exceeded", 0), ("bw_out_allowance_exceeded", 7), ("pps_allowance_exceeded", 42), ("conntrack_allowance_exceeded", 0), ("linklocal_allowance_exceeded", 0)],
            },
        };

        Finding f = Diagnoser.Diagnose(input).Should().ContainSingle().Subject;

        f.Kind.Should().Be(FindingKind.AllowanceExceeded);
        f.Title.Should().Be("the EC2 instance's network allowance shaped or dropped packets on eth0 (bw_out_allowance_exceeded 7, pps_allowance_exceeded 42)");
        f.Confidence.Should().Be(0.5);
        f.Subject.Should().Be("eth0");
        f.Cpu.Should().BeNull();
        f.Evidence.Should().Equal(
            new Evidence(Source, "bw_out_allowance_exceeded 7: packets queued or dropped because outbound bandwidth exceeded the instance's maximum"),
            new Evidence(Source, "pps_allowance_exceeded 42: packets queued or dropped because packets per second (both directions) exceeded the instance's maximum"));
        f.Remedy.Should().Be("Not a driver problem: the instance exceeded what its type allows. Remedy for bandwidth and packets per second, "
            + "a larger instance size (or a network-optimised type) or spreading the traffic over more instances.");
    }

    [Fact]
    public void Conntrack_and_link_local_allowances_have_their_own_remedies()
    {
        var input = new DiagnosisInput
        {
            DeviceCounters = Quiet() with { AllowanceExceeded = [("conntrack_allowance_exceeded", 3), ("linklocal_allowance_exceeded", 1024)] },
        };

        Finding f = Diagnoser.Diagnose(input).Should().ContainSingle().Subject;

        f.Evidence.Select(e => e.Text).Should().Equal(
            "conntrack_allowance_exceeded 3: packets dropped because connection tracking reached the instance's maximum; new connections fail",
            "linklocal_allowance_exceeded 1024: packets dropped because traffic to link-local services (DNS resolver, instance metadata, time sync) exceeded the per-ENI packets per second");
        f.Remedy.Should().Be("Not a driver problem: the instance exceeded what its type allows. Remedy for connection tracking, fewer tracked connections "
            + "(security-group rules that allow all traffic both ways are not tracked; shorter idle timeouts) or a larger instance; "
            + "for link-local traffic, a local DNS cache and fewer instance-metadata calls.");
    }

    [Fact]
    public void A_failed_restore_is_a_device_fault_finding()
    {
        var input = new DiagnosisInput
        {
            Reset = new ResetEvent { Driver = "ena", Pci = "0000:00:05.0", Dev = "eth0", Reason = ResetFamily.TxCompletionTimeout, EnaReason = "MISS_TX_CMPL", Queue = 2, Outcome = ResetOutcome.Failed },
            ResetSource = "kern.log:88",
            DeviceCounters = Quiet() with { TotalResets = 1, ResetFail = 1 },
        };

        Finding f = Diagnoser.Diagnose(input).Should().ContainSingle().Subject;

        f.Kind.Should().Be(FindingKind.DeviceFault);
        f.Title.Should().Be("restore failed on eth0: the interface stays down until the driver is reloaded");
        f.Confidence.Should().Be(0.9);
        f.Subject.Should().Be("eth0");
        f.Evidence.Should().Equal(
            new Evidence(Source, "reset_fail 1: 1 reset(s) whose destroy or restore failed; the driver does not retry"),
            new Evidence("kern.log:88", "the MISS_TX_CMPL reset ended in failure"));
        f.Remedy.Should().Be("If eth0 is down (ip link show eth0), bring the device back: `devlink dev reload pci/0000:00:05.0` (driver 2.16.0+ built with devlink), "
            + "else reload the driver (`modprobe -r ena && modprobe ena`, from the console: it takes down every ENA interface), re-attach the ENI, or reboot. "
            + "Then find why the reset was needed.");
    }

    [Fact]
    public void A_failed_restore_without_a_reset_in_the_log_names_the_device_from_the_counters()
    {
        var input = new DiagnosisInput { DeviceCounters = Quiet() with { Pci = "0000:00:06.0", TotalResets = 1, ResetFail = 1 } };

        Finding f = Diagnoser.Diagnose(input).Should().ContainSingle().Subject;

        f.Evidence.Should().Equal(new Evidence(Source, "reset_fail 1: 1 reset(s) whose destroy or restore failed; the driver does not retry"));
        f.Remedy.Should().Contain("`devlink dev reload pci/0000:00:06.0`");
    }

    [Fact]
    public void The_reason_counter_of_the_reset_corroborates_the_starvation_finding()
    {
        DiagnosisInput input = Starved() with
        {
            DeviceCounters = Quiet() with
            {
                TotalResets = 3,
                ResetsByReason = [("KEEP_ALIVE_TO", "wd_expired", 0), ("SUSPECTED_POLL_STARVATION", "suspected_poll_starvation", 2), ("MISS_TX_CMPL", "missing_tx_cmpl", 1)],
            },
        };
        Finding without = Diagnoser.Diagnose(Starved())[0];

        Finding f = Diagnoser.Diagnose(input)[0];

        f.Kind.Should().Be(FindingKind.CpuStarvation);
        f.Evidence.Should().Equal([.. without.Evidence, new Evidence(Source, "the driver counted 2 SUSPECTED_POLL_STARVATION reset(s) (suspected_poll_starvation 2, total_resets 3)")]);
        (f.Title, f.Confidence, f.Cpu, f.Subject, f.Remedy).Should().Be((without.Title, without.Confidence, without.Cpu, without.Subject, without.Remedy));
    }

    [Fact]
    public void Before_2_10_wd_expired_corroborates_a_keep_alive_reset_without_a_total()
    {
        var input = new DiagnosisInput
        {
            Reset = new ResetEvent { Driver = "ena", Dev = "eth0", Reason = ResetFamily.KeepAliveTimeout, EnaReason = "KEEP_ALIVE_TO", Outcome = ResetOutcome.Completed },
            QueueCpus = SpreadQueues(),
            CpuWindows = IdleCpus(96),
            DeviceCounters = Quiet() with { TotalResets = null, ResetsByReason = [("KEEP_ALIVE_TO", "wd_expired", 17)] },
        };

        Finding f = Diagnoser.Diagnose(input).Should().ContainSingle().Subject;

        f.Kind.Should().Be(FindingKind.DeviceFault);
        f.Evidence[^1].Should().Be(new Evidence(Source, "the driver counted 17 KEEP_ALIVE_TO reset(s) (wd_expired 17)"));
    }

    [Fact]
    public void A_reason_counter_at_zero_does_not_corroborate()
    {
        DiagnosisInput input = Starved() with { DeviceCounters = Quiet() with { TotalResets = 1, ResetsByReason = [("OS_NETDEV_WD", "os_netdev_wd", 1), ("SUSPECTED_POLL_STARVATION", "suspected_poll_starvation", 0)] } };

        Diagnoser.Diagnose(input)[0].Evidence.Should().Equal(Diagnoser.Diagnose(Starved())[0].Evidence);
    }

    [Fact]
    public void Missed_tx_concentrated_on_the_reset_queue_is_evidence_naming_it()
    {
        DiagnosisInput input = Starved() with { DeviceCounters = Quiet() with { MissedTxByQueue = MissedTx((5, 1280), (2, 4)) } };

        Finding f = Diagnoser.Diagnose(input)[0];

        f.Evidence[^1].Should().Be(new Evidence(Source, "queue 5 has 1280 of the 1284 missed Tx completions (missed_tx) on 32 queues"));
    }

    [Fact]
    public void Missed_tx_spread_over_queues_names_none()
    {
        DiagnosisInput input = Starved() with { DeviceCounters = Quiet() with { MissedTxByQueue = MissedTx((5, 100), (2, 100)) } };

        Diagnoser.Diagnose(input)[0].Evidence.Should().Equal(Diagnoser.Diagnose(Starved())[0].Evidence);
    }

    [Fact]
    public void Missed_tx_on_another_queue_than_the_reset_is_not_its_evidence()
    {
        DiagnosisInput input = Starved() with { DeviceCounters = Quiet() with { MissedTxByQueue = MissedTx((7, 300)) } };

        Diagnoser.Diagnose(input)[0].Evidence.Should().Equal(Diagnoser.Diagnose(Starved())[0].Evidence);
    }

    [Fact]
    public void Without_a_reset_missed_tx_concentrated_on_a_queue_is_evidence_for_that_queue_s_near_miss()
    {
        Dictionary<int, CpuWindow> cpus = IdleCpus(96);
        cpus[40] = new CpuWindow(40, 10) { SysPct = 30, LongestSoftirqWaitMs = 3200, SoftirqThreadWaitMs = 3500 };
        var input = new DiagnosisInput { QueueCpus = SpreadQueues(), CpuWindows = cpus, DeviceCounters = Quiet() with { MissedTxByQueue = MissedTx((6, 200)) } };

        Finding f = Diagnoser.Diagnose(input).Should().ContainSingle().Subject;

        f.Kind.Should().Be(FindingKind.NearMiss);
        f.Evidence[^1].Should().Be(new Evidence(Source, "queue 6 has 200 of the 200 missed Tx completions (missed_tx) on 32 queues"));
    }

    [Fact]
    public void Counters_that_show_nothing_change_nothing()
    {
        IReadOnlyList<Finding> without = Diagnoser.Diagnose(Starved());

        IReadOnlyList<Finding> with = Diagnoser.Diagnose(Starved() with { DeviceCounters = Quiet() });

        with.Should().BeEquivalentTo(without, o => o.WithStrictOrdering());
    }

    [Fact]
    public void Without_counters_a_starved_reset_gives_the_findings_it_always_did()
    {
        IReadOnlyList<Finding> f = Diagnoser.Diagnose(Starved());

        f.Select(x => (x.Kind, x.Title)).Should().Equal(
            (FindingKind.CpuStarvation, "CPU 39 starved the NIC's NAPI poll by kubelet"),
            (FindingKind.IrqPlacement, "kubelet shares CPU 39 with 1 NIC queue IRQ(s)"));
        f[0].Evidence.Should().HaveCount(5);
    }

    [Fact]
    public void The_figures_come_from_a_decoded_snapshot()
    {
        EnaCounters c = EnaCounters.Decode(
        [
            ("total_resets", 2), ("reset_fail", 1), ("wd_expired", 0), ("admin_q_pause", 0), ("missing_tx_cmpl", 2),
            ("bw_in_allowance_exceeded", 0), ("pps_allowance_exceeded", 9), ("conntrack_allowance_available", 5000),
            ("queue_0_tx_missed_tx", 0), ("queue_0_rx_cnt", 4), ("queue_1_tx_missed_tx", 130),
        ]);

        DeviceCounters d = DeviceCounters.From(c, Source, "eth0", "0000:00:05.0");

        (d.Source, d.Interface, d.Pci, d.TotalResets, d.ResetFail).Should().Be((Source, "eth0", "0000:00:05.0", 2UL, 1UL));
        d.ResetsByReason.Should().Equal(("KEEP_ALIVE_TO", "wd_expired", 0UL), ("MISS_TX_CMPL", "missing_tx_cmpl", 2UL));
        d.MissedTxByQueue.Should().Equal(new Dictionary<int, ulong> { [0] = 0, [1] = 130 });
        d.AllowanceExceeded.Should().Equal(("bw_in_allowance_exceeded", 0UL), ("pps_allowance_exceeded", 9UL));
    }

    [Fact]
    public void The_allowance_finding_is_allowance_exceeded_in_JSON()
    {
        Finding f = Diagnoser.Diagnose(new DiagnosisInput { DeviceCounters = Quiet() with { AllowanceExceeded = [("pps_allowance_exceeded", 1)] } }).Single();
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            f.WriteJson(w);
        }

        using JsonDocument doc = JsonDocument.Parse(Encoding.UTF8.GetString(stream.ToArray()));
        doc.RootElement.GetProperty("finding").GetString().Should().Be("allowance-exceeded");
        doc.RootElement.GetProperty("subject").GetString().Should().Be("eth0");
    }
}
