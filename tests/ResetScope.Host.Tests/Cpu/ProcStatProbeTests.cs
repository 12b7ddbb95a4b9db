using ResetScope.Host.Cpu;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>/proc/stat: aggregate and per-CPU lines, offline CPUs, re-reads at offset 0.</summary>
public class ProcStatProbeTests
{
    private static CpuTimes T(ulong user, ulong nice, ulong system, ulong idle, ulong iowait, ulong irq, ulong softirq, ulong steal, ulong guest, ulong guestNice)
        => new()
        {
            User = user, Nice = nice, System = system, Idle = idle, IoWait = iowait,
            Irq = irq, SoftIrq = softirq, Steal = steal, Guest = guest, GuestNice = guestNice,
        };

    [Fact]
    public void Four_cpu_host_with_cpu2_offline_reads_every_field_of_every_line()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new ProcStatProbe(f.Root);

        probe.CpuSlots.Should().Be(4);
        probe.OnlineCount.Should().Be(3);
        probe.Online.ToArray().Should().Equal(true, true, false, true);
        probe.Total.Should().Be(T(4000, 40, 2000, 90000, 300, 10, 500, 70, 5, 1));
        probe.Cpus[0].Should().Be(T(1000, 10, 500, 22000, 100, 4, 200, 20, 2, 0));
        probe.Cpus[1].Should().Be(T(1200, 20, 700, 21000, 90, 3, 150, 30, 3, 1));
        probe.Cpus[2].Should().Be(default(CpuTimes), "CPU 2 has no cpu2 line: it is offline");
        probe.Cpus[3].Should().Be(T(1800, 10, 800, 47000, 110, 3, 150, 20, 0, 0));
        probe.Cpus[3].Total.Should().Be(1800UL + 10 + 800 + 47000 + 110 + 3 + 150 + 20);
    }

    [Fact]
    public void Rereads_the_changed_file_at_offset_zero_including_a_cpu_coming_online()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new ProcStatProbe(f.Root);

        f.Write("stat", "cpu  9 0 0 0 0 0 0 0 0 0\ncpu0 5 0 0 0 0 0 0 7 0 0\ncpu2 4 0 0 0 0 0 0 0 0 0\nintr 1\n");
        probe.Sample().Should().BeTrue();

        probe.Total.User.Should().Be(9);
        probe.Cpus[0].User.Should().Be(5);
        probe.Cpus[0].Steal.Should().Be(7);
        probe.Online.ToArray().Should().Equal(true, false, true, false);
        probe.Cpus[2].User.Should().Be(4);
        probe.Cpus[3].Should().Be(default(CpuTimes));
        probe.OnlineCount.Should().Be(2);
    }

    [Fact]
    public void Old_kernels_with_fewer_columns_leave_the_missing_fields_zero()
    {
        using CpuFixture f = CpuFixture.Empty();
        f.Write("stat", "cpu  10 1 5 100 2 0 0\ncpu0 10 1 5 100 2 0 0\n");
        using var probe = new ProcStatProbe(f.Root);

        probe.Cpus[0].Should().Be(T(10, 1, 5, 100, 2, 0, 0, 0, 0, 0));
    }

    [Fact]
    public void A_cpu_number_beyond_the_initial_slots_grows_the_array()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new ProcStatProbe(f.Root);

        f.Write("stat", "cpu  1 0 0 0 0 0 0 0 0 0\ncpu7 1 0 0 0 0 0 0 0 0 0\n");
        probe.Sample().Should().BeTrue();

        probe.CpuSlots.Should().Be(8);
        probe.Online.ToArray().Should().Equal(false, false, false, false, false, false, false, true);
    }

    [Fact]
    public void A_missing_file_is_a_clear_error_at_construction()
    {
        using CpuFixture f = CpuFixture.Empty();
        Action act = () => _ = new ProcStatProbe(f.Root);
        act.Should().Throw<FileNotFoundException>().WithMessage("*stat*");
    }

    [Fact]
    public void Ninety_six_cpu_host_reads_exact_values_and_the_offline_cpu_as_absent()
    {
        using CpuFixture f = Host96.Create();
        using var probe = new ProcStatProbe(f.Root);

        probe.CpuSlots.Should().Be(96);
        probe.OnlineCount.Should().Be(95);
        for (int c = 0; c < Host96.Cpus; c++)
        {
            if (!Host96.IsOnline(c))
            {
                probe.Online[c].Should().BeFalse();
                probe.Cpus[c].Should().Be(default(CpuTimes));
                continue;
            }

            probe.Online[c].Should().BeTrue();
            probe.Cpus[c].Should().Be(T(Host96.User(c), Host96.Nice(c), Host96.System(c), Host96.Idle(c), Host96.IoWait(c), Host96.Irq(c), Host96.SoftIrq(c), Host96.Steal(c), 0, 0), $"cpu{c}");
        }

        probe.Total.User.Should().Be(Enumerable.Range(0, 96).Where(Host96.IsOnline).Aggregate(0UL, (s, c) => s + Host96.User(c)));
    }
}
