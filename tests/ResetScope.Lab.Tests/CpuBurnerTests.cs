using FluentAssertions;
using Xunit;

namespace ResetScope.Lab.Tests;

public class CpuBurnerTests
{
    [Fact]
    public void A_burn_stops_itself_at_its_deadline()
    {
        BurnResult r = RunOnOwnThread(() => CpuBurner.Burn(cpu: 0, TimeSpan.FromMilliseconds(200)));

        r.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
        r.Iterations.Should().BeGreaterThan(0);
        r.RealTime.Should().BeFalse();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    public void Durations_outside_the_hard_limit_are_refused(int seconds)
    {
        FluentActions.Invoking(() => CpuBurner.Burn(0, TimeSpan.FromSeconds(seconds))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void A_CPU_the_machine_does_not_have_is_refused()
    {
        FluentActions.Invoking(() => CpuBurner.Burn(Environment.ProcessorCount, TimeSpan.FromSeconds(1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    // Pinning changes the calling thread's affinity: do it on a thread of its own, not the test runner's.
    private static BurnResult RunOnOwnThread(Func<BurnResult> burn)
    {
        BurnResult result = default;
        var t = new Thread(() => result = burn());
        t.Start();
        t.Join();
        return result;
    }
}
