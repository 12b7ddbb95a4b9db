using ResetScope.Host.Cpu;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>/proc/net/softnet_stat in every column layout.</summary>
public class SoftnetStatProbeTests
{
    [Fact]
    public void Fifteen_columns_use_the_cpu_index_so_the_offline_cpu2_is_skipped()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new SoftnetStatProbe(f.Root);

        probe.HasCpuIndex.Should().BeTrue();
        probe.Rows.Should().Be(3);
        probe.CpuSlots.Should().Be(4);
        probe.Present.ToArray().Should().Equal(true, true, false, true);
        probe.Cpus[0].Should().Be(new SoftnetStat
        {
            Processed = 500000, Dropped = 1, TimeSqueeze = 42, ReceivedRps = 5, FlowLimitCount = 0,
            BacklogLength = 3, InputQueueLength = 2, ProcessQueueLength = 1, Columns = 15,
        });
        probe.Cpus[1].Should().Be(new SoftnetStat { Processed = 600000, TimeSqueeze = 7, Columns = 15 });
        probe.Cpus[2].Should().Be(default(SoftnetStat));
        probe.Cpus[3].Should().Be(new SoftnetStat { Processed = 800000, Dropped = 2, TimeSqueeze = 256, ReceivedRps = 9, FlowLimitCount = 4, Columns = 15 });
    }

    [Fact]
    public void Ten_columns_are_taken_in_row_order_with_cpu_collision_in_column_nine()
    {
        using CpuFixture f = CpuFixture.Copy("softnet-10col");
        using var probe = new SoftnetStatProbe(f.Root);

        probe.HasCpuIndex.Should().BeFalse();
        probe.Present.ToArray().Should().Equal(true, true);
        probe.Cpus[0].Should().Be(new SoftnetStat { Processed = 100, Dropped = 1, TimeSqueeze = 2, CpuCollision = 7, ReceivedRps = 3, Columns = 10 });
        probe.Cpus[1].Should().Be(new SoftnetStat { Processed = 200, TimeSqueeze = 4, Columns = 10 });
    }

    [Fact]
    public void Eleven_columns_add_flow_limit_count()
    {
        using CpuFixture f = CpuFixture.Copy("softnet-11col");
        using var probe = new SoftnetStatProbe(f.Root);

        probe.Rows.Should().Be(3);
        probe.Cpus[0].Should().Be(new SoftnetStat { Processed = 100, Dropped = 1, TimeSqueeze = 2, ReceivedRps = 3, FlowLimitCount = 10, Columns = 11 });
        probe.Cpus[1].FlowLimitCount.Should().Be(11);
        probe.Cpus[2].Should().Be(new SoftnetStat { Processed = 300, TimeSqueeze = 6, FlowLimitCount = 12, Columns = 11 });
    }

    [Fact]
    public void Thirteen_columns_add_backlog_length_and_the_cpu_index_and_a_short_row_is_counted_as_malformed()
    {
        using CpuFixture f = CpuFixture.Copy("softnet-13col");
        using var probe = new SoftnetStatProbe(f.Root);

        probe.HasCpuIndex.Should().BeTrue();
        probe.Rows.Should().Be(2);
        probe.MalformedRows.Should().Be(1);
        probe.Present.ToArray().Should().Equal(true, false, true);
        probe.Cpus[0].Should().Be(new SoftnetStat { Processed = 100, Dropped = 1, TimeSqueeze = 2, ReceivedRps = 3, FlowLimitCount = 10, BacklogLength = 5, Columns = 13 });
        probe.Cpus[2].Should().Be(new SoftnetStat { Processed = 300, TimeSqueeze = 6, FlowLimitCount = 12, Columns = 13 });
    }

    [Fact]
    public void Rereads_at_offset_zero()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new SoftnetStatProbe(f.Root);

        f.Write("net/softnet_stat", "00000010 00000000 000000ff 0 0 0 0 0 0 0 0 0 00000001 0 0\n");
        probe.Sample().Should().BeTrue();

        probe.Present.ToArray().Should().Equal(false, true, false, false);
        probe.Cpus[1].Processed.Should().Be(16);
        probe.Cpus[1].TimeSqueeze.Should().Be(255);
    }

    [Fact]
    public void Ninety_six_cpu_host_skips_the_offline_cpu_by_index()
    {
        using CpuFixture f = Host96.Create();
        using var probe = new SoftnetStatProbe(f.Root);

        probe.Rows.Should().Be(95);
        probe.CpuSlots.Should().Be(96);
        for (int c = 0; c < Host96.Cpus; c++)
        {
            probe.Present[c].Should().Be(Host96.IsOnline(c));
            probe.Cpus[c].Processed.Should().Be(Host96.IsOnline(c) ? Host96.Processed(c) : 0);
            probe.Cpus[c].TimeSqueeze.Should().Be(Host96.IsOnline(c) ? Host96.TimeSqueeze(c) : 0);
            probe.Cpus[c].Dropped.Should().Be(Host96.IsOnline(c) ? (ulong)(c % 2) : 0);
        }
    }
}
