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

    [Fact]
    public void A_disposed_timer_is_not_re_armed_by_Change()
    {
        var time = new ManualTimeProvider();
        int count = 0;
        ITimer t = time.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        t.Dispose();

        t.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan).Should().BeFalse();
        time.Advance(TimeSpan.FromSeconds(2));

        count.Should().Be(0);
        time.PendingTimers.Should().BeEmpty();
    }

    [Fact]
    public void A_cancellation_source_on_the_clock_cancels_when_its_CancelAfter_falls_due_and_re_arms_from_now()
    {
        var time = new ManualTimeProvider();
        using var cts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        time.PendingTimers.Should().BeEmpty("an infinite delay arms nothing");

        cts.CancelAfter(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(0.5));
        cts.CancelAfter(TimeSpan.FromSeconds(1));
        time.PendingTimers.Should().Equal(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(0.9));
        bool early = cts.IsCancellationRequested;
        time.Advance(TimeSpan.FromSeconds(0.1));

        early.Should().BeFalse("CancelAfter re-armed the timer from 0.5 s");
        cts.IsCancellationRequested.Should().BeTrue();
        time.PendingTimers.Should().BeEmpty();
    }

    [Fact]
    public void Pending_timers_are_the_time_left_soonest_first()
    {
        var time = new ManualTimeProvider();
        using ITimer a = time.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        using ITimer b = time.CreateTimer(_ => { }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        using ITimer off = time.CreateTimer(_ => { }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(1.5));

        time.PendingTimers.Should().Equal(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1.5));
    }

    [Fact]
    public void Change_refuses_negative_times_other_than_infinite()
    {
        var time = new ManualTimeProvider();
        using ITimer t = time.CreateTimer(_ => { }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        ((Action)(() => t.Change(TimeSpan.FromMilliseconds(-2), Timeout.InfiniteTimeSpan))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => t.Change(TimeSpan.Zero, TimeSpan.FromMilliseconds(-2)))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
