using ResetScope.Host.Cpu;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>/proc/softirqs: every row per CPU, columns mapped through the CPUn header.</summary>
public class SoftirqsProbeTests
{
    [Fact]
    public void Four_cpu_host_reads_every_softirq_row_per_cpu()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new SoftirqsProbe(f.Root);

        probe.CpuSlots.Should().Be(4);
        probe.Columns.Should().Be(4);
        probe.Row(SoftirqKind.NetRx).ToArray().Should().Equal(500000UL, 600000UL, 0UL, 800000UL);
        probe.Row(SoftirqKind.NetTx).ToArray().Should().Equal(11UL, 12UL, 0UL, 14UL);
        probe.Row(SoftirqKind.Hi).ToArray().Should().Equal(1UL, 2UL, 0UL, 4UL);
        probe.Row(SoftirqKind.Timer).ToArray().Should().Equal(10000UL, 20000UL, 0UL, 40000UL);
        probe.Row(SoftirqKind.Block).ToArray().Should().Equal(100UL, 200UL, 0UL, 400UL);
        probe.Row(SoftirqKind.IrqPoll).ToArray().Should().Equal(0UL, 0UL, 0UL, 0UL);
        probe.Row(SoftirqKind.Tasklet).ToArray().Should().Equal(5UL, 6UL, 0UL, 8UL);
        probe.Row(SoftirqKind.Sched).ToArray().Should().Equal(3000UL, 3100UL, 0UL, 3300UL);
        probe.Row(SoftirqKind.HrTimer).ToArray().Should().Equal(7UL, 8UL, 0UL, 9UL);
        probe.Row(SoftirqKind.Rcu).ToArray().Should().Equal(70000UL, 71000UL, 0UL, 73000UL);
        probe.Count(SoftirqKind.NetRx, 3).Should().Be(800000);
        probe.Count(SoftirqKind.NetRx, 99).Should().Be(0, "out-of-range CPUs read zero");
    }

    [Fact]
    public void Rereads_at_offset_zero_and_maps_a_header_with_a_gap()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new SoftirqsProbe(f.Root);

        f.Write("softirqs", "        CPU0  CPU3\n NET_RX:  1  2\n NET_TX:  3  4\n UNKNOWN_NEW:  5  6\n");
        probe.Sample().Should().BeTrue();

        probe.Columns.Should().Be(2);
        probe.Row(SoftirqKind.NetRx).ToArray().Should().Equal(1UL, 0UL, 0UL, 2UL);
        probe.Row(SoftirqKind.NetTx).ToArray().Should().Equal(3UL, 0UL, 0UL, 4UL);
        probe.Row(SoftirqKind.Timer).ToArray().Should().Equal(0UL, 0UL, 0UL, 0UL);
    }

    [Fact]
    public void Ninety_six_cpu_host_reads_exact_counts()
    {
        using CpuFixture f = Host96.Create();
        using var probe = new SoftirqsProbe(f.Root);

        probe.CpuSlots.Should().Be(96);
        for (int c = 0; c < Host96.Cpus; c++)
        {
            probe.Count(SoftirqKind.NetRx, c).Should().Be(Host96.NetRx(c));
            probe.Count(SoftirqKind.NetTx, c).Should().Be(Host96.NetTx(c));
            probe.Count(SoftirqKind.Rcu, c).Should().Be(Host96.OtherSoftirq((int)SoftirqKind.Rcu, c));
        }
    }
}
