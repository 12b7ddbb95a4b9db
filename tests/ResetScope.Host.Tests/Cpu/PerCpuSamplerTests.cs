using ResetScope.Host.Cpu;
using ResetScope.Testing;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>The sampler fills one preallocated sample per cycle from every fast probe, stamped by the injected clock.</summary>
public class PerCpuSamplerTests
{
    [Fact]
    public void One_cycle_on_the_four_cpu_host_carries_every_probe()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        var clock = new ManualTimeProvider();
        using var sampler = new PerCpuSampler(f.Root, clock);
        clock.Advance(TimeSpan.FromSeconds(3));

        PerCpuSample s = sampler.Sample();

        s.Should().BeSameAs(sampler.Current);
        s.Timestamp.Should().Be(clock.GetTimestamp());
        s.Sequence.Should().Be(1);
        s.CpuSlots.Should().Be(4);
        s.Online.Should().Equal(true, true, false, true);
        s.Cpu[3].System.Should().Be(800);
        s.Total.Steal.Should().Be(70);
        s.Softirq(SoftirqKind.NetRx, 1).Should().Be(600000);
        s.Softirq(SoftirqKind.NetTx, 3).Should().Be(14);
        s.SoftnetPresent.Should().Equal(true, true, false, true);
        s.Softnet[3].TimeSqueeze.Should().Be(256);
        s.PsiAvailable.Should().BeTrue();
        s.PsiSome.TotalMicroseconds.Should().Be(1505447721);
        s.PsiFull.TotalMicroseconds.Should().Be(4242);
        s.Ksoftirqd[3].RunQueueWaitNs.Should().Be(6_600_000_000);
        sampler.NapiThreads.Select(t => t.Comm).Should().Equal("napi/eth0-8193", "napi/eth0-8194", "napi/eth1-8200");
        s.NapiThreads[1].RunQueueWaitNs.Should().Be(18000);
        s.NapiThreads[2].Valid.Should().BeFalse();
        sampler.Interrupts.NicQueues.Should().HaveCount(5);
    }

    [Fact]
    public void Successive_cycles_into_a_ring_of_samples_see_the_changed_files()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        var clock = new ManualTimeProvider();
        using var sampler = new PerCpuSampler(f.Root, clock);
        PerCpuSample[] ring = [sampler.CreateSample(), sampler.CreateSample()];

        sampler.Sample(ring[0]);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        f.Write("34/schedstat", "5000000000 9600000000 12\n");
        f.Write("net/softnet_stat", File.ReadAllText(Path.Combine(f.Root, "net/softnet_stat")).Replace("000c3500 00000002 00000100", "000c3500 00000002 00000180", StringComparison.Ordinal));
        sampler.Sample(ring[1]);

        (ring[1].Timestamp - ring[0].Timestamp).Should().Be(clock.TimestampFrequency / 10);
        (ring[1].Ksoftirqd[3].RunQueueWaitNs - ring[0].Ksoftirqd[3].RunQueueWaitNs).Should().Be(3_000_000_000);
        (ring[1].Softnet[3].TimeSqueeze - ring[0].Softnet[3].TimeSqueeze).Should().Be(0x80);
        ring[1].Sequence.Should().Be(2);
    }

    [Fact]
    public void After_a_thread_rescan_napi_threads_are_matched_again_by_pid()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var sampler = new PerCpuSampler(f.Root, new ManualTimeProvider());

        f.Write("903/comm", "napi/eth0-8190\n"); // sorts before the known ones, shifting their indices
        f.Write("903/schedstat", "1 2 3\n");
        f.Delete("902/comm");
        sampler.Threads.Refresh();
        PerCpuSample s = sampler.Sample();

        s.NapiThreads.Should().HaveCount(3);
        s.NapiThreads[0].Should().Be(new SchedStat { OnCpuNs = 7000, RunQueueWaitNs = 8000, Timeslices = 9, Valid = true });
        s.NapiThreads[1].Valid.Should().BeFalse("pid 902 is gone after the rescan");
        s.NapiThreads[2].Valid.Should().BeFalse();
    }

    [Fact]
    public void Without_psi_the_sample_says_unavailable()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        f.Delete("pressure/cpu");
        using var sampler = new PerCpuSampler(f.Root, new ManualTimeProvider());

        PerCpuSample s = sampler.Sample();

        s.PsiAvailable.Should().BeFalse();
        s.PsiSome.Should().Be(default(PsiLine));
    }

    [Fact]
    public void Ninety_six_cpu_host_fills_exact_values()
    {
        using CpuFixture f = Host96.Create();
        using var sampler = new PerCpuSampler(f.Root, new ManualTimeProvider());

        PerCpuSample s = sampler.Sample();

        s.CpuSlots.Should().Be(96);
        s.NapiThreads.Should().HaveCount(32);
        for (int c = 0; c < Host96.Cpus; c++)
        {
            s.Online[c].Should().Be(Host96.IsOnline(c));
            s.Cpu[c].SoftIrq.Should().Be(Host96.IsOnline(c) ? Host96.SoftIrq(c) : 0);
            s.Softirq(SoftirqKind.NetRx, c).Should().Be(Host96.NetRx(c));
            s.Softnet[c].TimeSqueeze.Should().Be(Host96.IsOnline(c) ? Host96.TimeSqueeze(c) : 0);
            s.Ksoftirqd[c].RunQueueWaitNs.Should().Be(Host96.KsoftirqdWait(c));
        }

        for (int q = 0; q < Host96.Queues; q++)
        {
            s.NapiThreads[q].RunQueueWaitNs.Should().Be(Host96.NapiWait(q));
        }
    }

    [Fact]
    public void Steady_state_cycles_allocate_zero_bytes_on_the_96_cpu_host()
    {
        using CpuFixture f = Host96.Create();
        using var sampler = new PerCpuSampler(f.Root, new ManualTimeProvider());
        PerCpuSample ringSlot = sampler.CreateSample();
        for (int i = 0; i < 50; i++)
        {
            sampler.Sample(ringSlot);
        }

        const int Cycles = 500;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Cycles; i++)
        {
            sampler.Sample(ringSlot);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        (allocated / Cycles).Should().Be(0);
        allocated.Should().Be(0, "not even a partial object over {0} cycles", Cycles);
    }
}
