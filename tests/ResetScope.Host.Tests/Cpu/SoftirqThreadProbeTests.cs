using ResetScope.Host.Cpu;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>ksoftirqd/N and threaded-NAPI kthreads found through /proc/*/comm; their schedstat re-read each sample.</summary>
public class SoftirqThreadProbeTests
{
    [Fact]
    public void Finds_ksoftirqd_per_cpu_and_napi_threads_and_reads_their_schedstat()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new SoftirqThreadProbe(f.Root);

        probe.Threads.Should().Equal(
            new SoftirqThread(SoftirqThreadKind.Ksoftirqd, 14, "ksoftirqd/0", 0, null, -1),
            new SoftirqThread(SoftirqThreadKind.Ksoftirqd, 22, "ksoftirqd/1", 1, null, -1),
            new SoftirqThread(SoftirqThreadKind.Ksoftirqd, 28, "ksoftirqd/2", 2, null, -1),
            new SoftirqThread(SoftirqThreadKind.Ksoftirqd, 34, "ksoftirqd/3", 3, null, -1),
            new SoftirqThread(SoftirqThreadKind.Napi, 901, "napi/eth0-8193", -1, "eth0", 8193),
            new SoftirqThread(SoftirqThreadKind.Napi, 902, "napi/eth0-8194", -1, "eth0", 8194),
            new SoftirqThread(SoftirqThreadKind.Napi, 5000, "napi/eth1-8200", -1, "eth1", 8200));
        probe.CpuSlots.Should().Be(4);
        probe.Ksoftirqd(0).Should().Be(new SchedStat { OnCpuNs = 331206252, RunQueueWaitNs = 1409767405, Timeslices = 6509, Valid = true });
        probe.Ksoftirqd(3).Should().Be(new SchedStat { OnCpuNs = 5_000_000_000, RunQueueWaitNs = 6_600_000_000, Timeslices = 12, Valid = true });
        probe.Stats[5].Should().Be(new SchedStat { OnCpuNs = 17000, RunQueueWaitNs = 18000, Timeslices = 19, Valid = true });
        probe.Stats[6].Valid.Should().BeFalse("pid 5000 has no schedstat: the thread went away between scan and open");
        probe.Ksoftirqd(9).Valid.Should().BeFalse();
    }

    [Fact]
    public void Rereads_schedstat_at_offset_zero_and_a_vanished_thread_reads_invalid()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new SoftirqThreadProbe(f.Root);

        f.Write("34/schedstat", "5000000001 7600000000 13\n");
        f.Write("901/schedstat", "\n");
        probe.Sample().Should().Be(5);

        probe.Ksoftirqd(3).RunQueueWaitNs.Should().Be(7_600_000_000);
        probe.Stats[4].Valid.Should().BeFalse();
    }

    [Fact]
    public void Refresh_rescans_comm()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new SoftirqThreadProbe(f.Root);

        f.Write("7000/comm", "napi/eth0-8195\n");
        f.Write("7000/schedstat", "1 2 3\n");
        probe.Refresh();

        probe.Threads.Should().Contain(new SoftirqThread(SoftirqThreadKind.Napi, 7000, "napi/eth0-8195", -1, "eth0", 8195));
        probe.Stats[probe.Threads.Count - 2].Should().Be(new SchedStat { OnCpuNs = 1, RunQueueWaitNs = 2, Timeslices = 3, Valid = true });
    }

    [Theory]
    [InlineData("ksoftirqd/17", SoftirqThreadKind.Ksoftirqd, 17, null, -1)]
    [InlineData("napi/eth0-8193", SoftirqThreadKind.Napi, -1, "eth0", 8193)]
    [InlineData("napi/br-lan-819", SoftirqThreadKind.Napi, -1, "br-lan", 819)]
    public void Classifies_comms(string comm, SoftirqThreadKind kind, int cpu, string? iface, int id)
    {
        SoftirqThreadProbe.TryClassify(comm, 1, out SoftirqThread? t).Should().BeTrue();
        t.Should().Be(new SoftirqThread(kind, 1, comm, cpu, iface, id));
    }

    [Theory]
    [InlineData("kworker/0:1")]
    [InlineData("ksoftirqd/x")]
    [InlineData("kubelet")]
    public void Ignores_other_comms(string comm) => SoftirqThreadProbe.TryClassify(comm, 1, out _).Should().BeFalse();

    [Fact]
    public void Ninety_six_cpu_host_maps_every_ksoftirqd_to_its_cpu()
    {
        using CpuFixture f = Host96.Create();
        using var probe = new SoftirqThreadProbe(f.Root);

        probe.Threads.Should().HaveCount(96 + 32);
        for (int c = 0; c < Host96.Cpus; c++)
        {
            probe.Ksoftirqd(c).Should().Be(new SchedStat { OnCpuNs = 1000UL * (ulong)c, RunQueueWaitNs = Host96.KsoftirqdWait(c), Timeslices = (ulong)c, Valid = true });
            probe.Threads[probe.KsoftirqdIndex(c)].Pid.Should().Be(1000 + c);
        }
    }
}
