using FluentAssertions;
using ResetScope.Core;
using Xunit;

namespace ResetScope.Diagnosis.Tests;

public class DiagnoserTests
{
    private static readonly ResetEvent s_pinterestReset = new()
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
        DriverVersion = "2.11.0g",
    };

    private static Dictionary<int, int> SpreadQueues() => Enumerable.Range(0, 32).ToDictionary(q => q, q => 34 + q);

    private static Dictionary<int, CpuWindow> IdleCpus(int count) => Enumerable.Range(0, count).ToDictionary(c => c, c => new CpuWindow(c, 10) { IdlePct = 97, UserPct = 3 });

    private static DiagnosisInput Pinterest()
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
            Threads =
            [
                new ThreadActivity(2413, 2417, "kubelet", "kubelet.service", 20, 6540) { KernelFunctions = [("mem_cgroup_nr_lru_pages", 612), ("mem_cgroup_iter", 40)] },
                new ThreadActivity(880, 880, "containerd", "containerd.service", 3, 4),
            ],
        };
        return new DiagnosisInput
        {
            Reset = s_pinterestReset,
            ResetSource = "kern.log:1042",
            QueueCpus = SpreadQueues(),
            CpuWindows = cpus,
            Zombies = new ZombieMemcgs(68_680, 240, 1_200, "v1") { Attribution = [("/docker (ecs-agent containers, ecs.service)", 5_000)] },
            CrashLoops = [new CrashLoop("ecs.service", 7694, 240, "ecs.service: Scheduled restart job, restart counter is at 7694.")],
            KernelRelease = "5.4.0-1045-aws",
        };
    }

    [Fact]
    public void Pinterest_state_ranks_starvation_by_kubelet_then_zombies_from_the_crash_looping_unit()
    {
        IReadOnlyList<Finding> f = Diagnoser.Diagnose(Pinterest());

        f[0].Kind.Should().Be(FindingKind.CpuStarvation);
        f[0].Cpu.Should().Be(39);
        f[0].Subject.Should().Be("kubelet");
        f[0].Evidence.Should().Contain(e => e.Text.Contains("mem_cgroup_nr_lru_pages", StringComparison.Ordinal));
        f[1].Kind.Should().Be(FindingKind.ZombieMemcgs);
        f[1].Subject.Should().Be("ecs.service");
        f[1].Title.Should().Be("68440 zombie memory cgroups, leaked by ecs.service");
        f[1].Remedy.Should().Contain("kernel 5.4.0-1045-aws < 5.7: reading v1 memory.numa_stat walks every memcg").And.Contain("≈ 4.79 s of one CPU per read at 68,680 memcgs");
        f.Should().Contain(x => x.Kind == FindingKind.CrashLoop && x.Subject == "ecs.service");
    }

    [Fact]
    public void A_healthy_host_has_no_findings()
    {
        var input = new DiagnosisInput { QueueCpus = SpreadQueues(), CpuWindows = IdleCpus(96), Zombies = new ZombieMemcgs(250, 240, 0, "v1") };

        Diagnoser.Diagnose(input).Should().BeEmpty();
    }

    [Fact]
    public void Keep_alive_resets_on_idle_CPUs_are_a_device_fault_not_starvation()
    {
        var input = new DiagnosisInput
        {
            Reset = new ResetEvent { Driver = "ena", Dev = "eth0", Reason = ResetFamily.KeepAliveTimeout, EnaReason = "KEEP_ALIVE_TO", Outcome = ResetOutcome.Completed },
            QueueCpus = SpreadQueues(),
            CpuWindows = IdleCpus(96),
        };

        IReadOnlyList<Finding> f = Diagnoser.Diagnose(input);

        f.Should().ContainSingle().Which.Kind.Should().Be(FindingKind.DeviceFault);
    }

    [Fact]
    public void The_printed_napi_CPU_wins_over_the_IRQ_map()
    {
        DiagnosisInput input = Pinterest() with { Reset = s_pinterestReset with { NapiCpu = 39, Queue = 0 } };

        Diagnoser.Diagnose(input)[0].Cpu.Should().Be(39);
    }

    [Fact]
    public void A_long_wait_under_the_threshold_without_a_reset_is_a_near_miss()
    {
        Dictionary<int, CpuWindow> cpus = IdleCpus(96);
        cpus[40] = new CpuWindow(40, 10) { SysPct = 30, LongestSoftirqWaitMs = 3200, SoftirqThreadWaitMs = 3500 };

        IReadOnlyList<Finding> f = Diagnoser.Diagnose(new DiagnosisInput { QueueCpus = SpreadQueues(), CpuWindows = cpus });

        f.Should().ContainSingle().Which.Title.Should().Be("near miss: queue 6's NAPI on CPU 40 waited 3.2 s (a reset needs 5 s)");
    }

    [Fact]
    public void All_queues_on_one_CPU_is_an_IRQ_placement_finding()
    {
        var input = new DiagnosisInput { QueueCpus = Enumerable.Range(0, 8).ToDictionary(q => q, _ => 0), CpuWindows = IdleCpus(8) };

        Diagnoser.Diagnose(input).Should().ContainSingle().Which.Kind.Should().Be(FindingKind.IrqPlacement);
    }

    [Fact]
    public void Every_finding_has_evidence_and_a_confidence_between_0_and_1()
    {
        foreach (Finding f in Diagnoser.Diagnose(Pinterest()))
        {
            f.Evidence.Should().NotBeEmpty();
            f.Confidence.Should().BeInRange(0, 1);
        }
    }
}

public class CpuWindowBuilderTests
{
    [Fact]
    public void Percentages_longest_busy_run_and_softirq_waits_come_from_consecutive_samples()
    {
        // 10 one-second samples of CPU 39 at USER_HZ 100: idle, then 6 s at 100 % sys, then idle again.
        var t = new long[11];
        var s = new CpuCounters[11];
        ulong sys = 0, idle = 0, wait = 0;
        for (int i = 0; i <= 10; i++)
        {
            t[i] = i * 1_000_000_000L;
            s[i] = new CpuCounters(0, 0, sys, idle, 0, 0, 0, 0, wait);
            bool busy = i >= 2 && i < 8;
            sys += busy ? 100UL : 0;
            idle += busy ? 0UL : 100;
            wait += busy ? 1_000_000_000UL : 0;
        }

        CpuWindow w = CpuWindowBuilder.Build(39, t, s, [], "test");

        w.Seconds.Should().Be(10);
        w.SysPct.Should().Be(60);
        w.IdlePct.Should().Be(40);
        w.LongestBusyS.Should().Be(6);
        w.SoftirqThreadWaitMs.Should().Be(6000);
        w.LongestSoftirqWaitMs.Should().Be(6000);
    }
}
