using ResetScope.Host.Cpu;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>/proc/pressure/cpu: some/full lines; an absent file means unavailable.</summary>
public class PsiProbeTests
{
    [Fact]
    public void Reads_some_and_full()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new PsiProbe(f.Root);

        probe.Available.Should().BeTrue();
        probe.HasFull.Should().BeTrue();
        probe.Some.Should().Be(new PsiLine { Avg10 = 12.23, Avg60 = 47.41, Avg300 = 36.06, TotalMicroseconds = 1505447721 });
        probe.Full.Should().Be(new PsiLine { Avg10 = 0.50, Avg60 = 0.25, Avg300 = 0.00, TotalMicroseconds = 4242 });
    }

    [Fact]
    public void Rereads_at_offset_zero_and_a_kernel_without_full_has_no_full_line()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new PsiProbe(f.Root);

        f.Write("pressure/cpu", "some avg10=0.00 avg60=0.10 avg300=99.99 total=18446744073709551615\n");
        probe.Sample().Should().BeTrue();

        probe.HasFull.Should().BeFalse();
        probe.Some.Should().Be(new PsiLine { Avg10 = 0, Avg60 = 0.10, Avg300 = 99.99, TotalMicroseconds = ulong.MaxValue });
    }

    [Fact]
    public void Absent_file_is_unavailable_not_an_error()
    {
        using CpuFixture f = CpuFixture.Empty();
        using var probe = new PsiProbe(f.Root);

        probe.Available.Should().BeFalse();
        probe.Sample().Should().BeFalse();
        probe.Some.Should().Be(default(PsiLine));
    }

    [Fact]
    public void Garbage_makes_it_unavailable_for_that_sample()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new PsiProbe(f.Root);

        f.Write("pressure/cpu", "some avg10=abc avg60=0 avg300=0 total=1\n");
        probe.Sample().Should().BeFalse();
        probe.Available.Should().BeFalse();
    }
}
