using FluentAssertions;
using ResetScope.Core;
using Xunit;

namespace ResetScope.Lab.Tests;

/// <summary>The flood writer against files standing in for /dev/kmsg and the printk_devkmsg switch: what it writes, where resets go, what it restores.</summary>
public sealed class KmsgFloodTests : IDisposable
{
    private const string Tag = "rs-test-flood: ";
    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-flood-test-").FullName;

    public KmsgFloodTests()
    {
        File.WriteAllText(Kmsg, "");
        File.WriteAllText(Sysctl, "ratelimit\n");
    }

    private string Kmsg => Path.Combine(_dir, "kmsg");

    private string Sysctl => Path.Combine(_dir, "printk_devkmsg");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private KmsgFloodOptions Options(int records, int resets = 0) => new()
    {
        Records = records,
        Tag = Tag,
        Resets = resets,
        ResetLines = resets == 0 ? [] : [new KernelRecord(1, 0, KernelLevel.Error, "ena 0000:00:05.0 eth0: Trigger reset is on"), new KernelRecord(2, 0, KernelLevel.Info, "ena 0000:00:05.0 eth0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.13.2g")],
        Path = Kmsg,
        DevkmsgSysctl = Sysctl,
    };

    [Fact]
    public void Every_record_is_one_line_with_a_level_and_the_tag_first()
    {
        KmsgFloodResult r = KmsgFlood.Write(Options(KmsgFlood.CycleLength * 2));

        string[] lines = File.ReadAllLines(Kmsg);
        r.Records.Should().Be(128);
        lines.Should().HaveCount(128).And.OnlyContain(l => l.StartsWith("<4>" + Tag, StringComparison.Ordinal));
        lines[0].Should().Be("<4>rs-test-flood: ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 0, index 0.");
        lines[48].Should().Be("<4>rs-test-flood: watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [kworker/1:2:4242]");
        lines[64].Should().Be("<4>rs-test-flood: ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 1, index 48.");
    }

    [Fact]
    public void Resets_are_spread_evenly_and_their_levels_below_warning_are_raised_to_it()
    {
        KmsgFloodResult r = KmsgFlood.Write(Options(300, resets: 2));

        string[] lines = File.ReadAllLines(Kmsg);
        (r.Records, r.Resets, r.ResetRecords).Should().Be((300L, 2, 4L));
        lines.Should().HaveCount(304);
        int[] at = [.. lines.Select((l, i) => (l, i)).Where(x => x.l.Contains("Trigger reset is on", StringComparison.Ordinal)).Select(x => x.i)];
        at.Should().Equal(100, 202); // after 100 and 200 flood records
        lines[100].Should().StartWith("<4>" + Tag + "ena 0000:00:05.0 eth0: Trigger reset is on", "an error-level line would go to the serial console");
        lines[101].Should().StartWith("<6>" + Tag);
    }

    [Fact]
    public void A_ratelimited_switch_is_lifted_for_the_flood_and_restored_after()
    {
        KmsgFloodResult r = KmsgFlood.Write(Options(10));

        (r.DevkmsgSetting, r.DevkmsgLifted).Should().Be(("ratelimit", true));
        File.ReadAllText(Sysctl).Should().Be("ratelimit\n");
    }

    [Fact]
    public void An_open_switch_is_left_alone()
    {
        File.WriteAllText(Sysctl, "on\n");

        KmsgFloodResult r = KmsgFlood.Write(Options(10));

        r.DevkmsgLifted.Should().BeFalse();
        File.ReadAllText(Sysctl).Should().Be("on\n");
    }

    [Fact]
    public void A_kernel_that_refuses_user_writes_is_refused_with_the_reason()
    {
        File.WriteAllText(Sysctl, "off\n");

        Action flood = () => KmsgFlood.Write(Options(10));

        flood.Should().Throw<InvalidOperationException>().WithMessage("*user-space writes are disabled (kernel.printk_devkmsg=off)*");
        File.ReadAllText(Kmsg).Should().BeEmpty();
    }

    [Fact]
    public void A_paced_flood_takes_the_time_its_rate_asks()
    {
        KmsgFloodResult r = KmsgFlood.Write(Options(2_000) with { RatePerSecond = 10_000 });

        r.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(190), "2,000 records at 10,000/s take 0.2 s less the last record's slot");
        r.Records.Should().Be(2_000);
    }

    [Fact]
    public void The_same_index_is_the_same_record()
    {
        KmsgFlood.FloodRecord(123_457).Should().Be(KmsgFlood.FloodRecord(123_457));
        KmsgFlood.FloodRecord(123_457).Text.Should().Be("ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 1, index 433.");
    }
}
