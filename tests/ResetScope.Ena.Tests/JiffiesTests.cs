using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Tests;

public class JiffiesTests
{
    [Theory]
    [InlineData(100, 4294937296UL)]
    [InlineData(250, 4294892296UL)]
    [InlineData(1000, 4294667296UL)]
    public void Jiffies_start_five_minutes_before_the_32_bit_wrap(int hz, ulong initial)
    {
        new Jiffies(hz).Initial.Should().Be(initial);
        new Jiffies(hz).At(0).Should().Be(initial);
    }

    [Fact]
    public void Usecs_are_a_32_bit_unsigned_value_as_the_driver_prints_them()
    {
        var j = new Jiffies(250);

        j.ToUsecs(1649).Should().Be(6_596_000u);
        j.ToUsecs(1250).Should().Be(5_000_000u, "the netdev watchdog threshold, 5·HZ");

        // A NAPI that never ran (last_napi_jiffies == 0) makes "jiffies - 0" huge: the product wraps at 2^32.
        ulong now = j.At(3_600_000_000_000);
        j.ToUsecs(now - 0).Should().Be(unchecked((uint)(now * 4000UL)));
    }

    [Fact]
    public void Time_after_survives_the_wrap()
    {
        Jiffies.TimeAfter(5UL, ulong.MaxValue - 5).Should().BeTrue();
        Jiffies.TimeAfter(ulong.MaxValue - 5, 5UL).Should().BeFalse();
    }

    [Fact]
    public void Round_jiffies_goes_to_a_whole_second_skewed_by_three_jiffies_per_CPU()
    {
        var j = new Jiffies(250);
        ulong now = 250_000;

        j.Round(now + 260, cpu: 0, now).Should().Be(now + 250, "10 jiffies past a second rounds down");
        j.Round(now + 100, cpu: 0, now).Should().Be(now + 250, "past the first quarter second rounds up");
        j.Round(now + 260, cpu: 2, now).Should().Be(now + 250 - 6);
    }

    [Fact]
    public void Hz_must_be_a_kernel_choice()
    {
        FluentActions.Invoking(() => new Jiffies(200)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
