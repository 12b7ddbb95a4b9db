using ResetScope.Testing;

namespace ResetScope.Cli.Tests;

/// <summary>The shared test clock: moves only when told, fires timers in due order inside Advance.</summary>
public class ManualTimeProviderTests
{
    [Fact]
    public void Timers_fire_in_due_order_while_time_advances()
    {
        var time = new ManualTimeProvider();
        var fired = new List<string>();
        using ITimer slow = time.CreateTimer(_ => fired.Add($"slow@{time.GetTimestamp()}"), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        using ITimer tick = time.CreateTimer(_ => fired.Add($"tick@{time.GetTimestamp()}"), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        time.Advance(TimeSpan.FromSeconds(3.5));

        fired.Should().Equal("tick@10000000", "tick@20000000", "slow@30000000", "tick@30000000");
        time.GetTimestamp().Should().Be(35_000_000);
    }

    [Fact]
    public void A_disposed_timer_does_not_fire()
    {
        var time = new ManualTimeProvider();
        int count = 0;
        ITimer t = time.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        t.Dispose();

        time.Advance(TimeSpan.FromSeconds(2));

        count.Should().Be(0);
    }
}
