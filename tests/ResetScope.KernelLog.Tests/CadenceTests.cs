using FluentAssertions;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>How often resets happen per host and device.</summary>
public class CadenceTests
{
    private static ScannedReset At(double seconds, string dev = "eth0", string host = "h", bool wall = true) => new(
        new ResetEvent
        {
            File = "f",
            Line = (int)seconds,
            Host = host,
            Dev = dev,
            Driver = "ena",
            Reason = ResetFamily.KeepAliveTimeout,
            Time = wall ? DateTimeOffset.UnixEpoch.AddSeconds(1_700_000_000 + seconds) : null,
            Outcome = ResetOutcome.Completed,
        },
        wall ? null : (long)(seconds * 1e6));

    [Fact]
    public void Count_first_last_min_and_median_interval_per_host_and_device()
    {
        IReadOnlyList<CadenceGroup> g = Cadence.Compute([At(0), At(100), At(400), At(500, "eth1")], Cadence.DefaultGroupBy, null);

        g.Should().HaveCount(2);
        g[0].KeyText.Should().Be("host=h dev=eth0");
        g[0].Count.Should().Be(3);
        g[0].MinIntervalS.Should().Be(100);
        g[0].MedianIntervalS.Should().Be(200);
        g[0].First.Should().Be("2023-11-14T22:13:20Z");
        g[0].Last.Should().Be("2023-11-14T22:20:00Z");
        g[1].Count.Should().Be(1);
        g[1].MinIntervalS.Should().BeNull();
    }

    [Fact]
    public void Resets_every_eight_seconds_are_a_periodic_burst()
    {
        ScannedReset[] loop = [.. Enumerable.Range(0, 10).Select(i => At(i * 8.0))];

        CadenceGroup g = Cadence.Compute(loop, Cadence.DefaultGroupBy, null).Single();

        g.Periodic.Should().BeTrue();
        g.PeriodS.Should().Be(8);
        g.Bursts.Should().Be(1);
        g.MaxBurst.Should().Be(10);
    }

    [Fact]
    public void Irregular_resets_are_not_periodic()
    {
        CadenceGroup g = Cadence.Compute([At(0), At(5), At(300), At(310), At(5000)], Cadence.DefaultGroupBy, null).Single();

        g.Periodic.Should().BeFalse();
        g.Bursts.Should().Be(0);
    }

    [Fact]
    public void Uptime_only_resets_give_intervals_within_their_file()
    {
        CadenceGroup g = Cadence.Compute([At(10, wall: false), At(25, wall: false)], Cadence.DefaultGroupBy, null).Single();

        g.MinIntervalS.Should().Be(15);
        g.First.Should().Be("f:10");
    }

    [Fact]
    public void Group_by_reason_and_driver()
    {
        IReadOnlyList<CadenceGroup> g = Cadence.Compute([At(0), At(1)], [GroupKey.Driver, GroupKey.Reason], null);

        g.Single().KeyText.Should().Be("driver=ena reason=keep-alive-timeout");
    }
}

public class CadenceCsvTests
{
    [Fact]
    public void Cadence_csv_has_the_group_columns_then_the_statistics()
    {
        var report = new ScanReport
        {
            Files = [],
            Errors = [],
            GroupBy = [GroupKey.Host, GroupKey.Dev],
            Groups = [new CadenceGroup { Key = [("host", "h,1"), ("dev", null)], Count = 2, First = "a", Last = "b", MinIntervalS = 8, MedianIntervalS = 8, Completed = 2 }],
        };
        var w = new StringWriter();

        ScanRunner.WriteCadenceCsv(report, w);

        w.ToString().Should().Be("host,dev,count,first,last,min_interval_s,median_interval_s,bursts,max_burst,periodic,period_s,completed,failed,unknown\n\"h,1\",,2,a,b,8,8,0,0,false,,2,0,0\n");
    }
}
