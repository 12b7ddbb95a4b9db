using ResetScope.Host.Kmsg;

namespace ResetScope.Host.Tests.Kmsg;

public class KernelLogFallbackTests
{
    [Fact]
    public void Decoded_dmesg_lines_keep_facility_level_time_and_continuations()
    {
        const string decoded = "kern  :info  : [   12.500001] ena 0000:00:05.0 eth0: Trigger reset is on\n"
            + "user  :info  : [   13.000000] resetscope-test: written from user space\n"
            + "kern  :warn  : [   14.000000] WARNING: CPU: 12 PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21c/0x230\n"
            + "                                Please enable it\n";

        List<KmsgRecord> records = KernelLogFallback.ParseDmesgDecoded(decoded);

        records.Should().HaveCount(3);
        records[0].Should().Be(new KmsgRecord(0, 6, 0, 12_500_001, '-', "ena 0000:00:05.0 eth0: Trigger reset is on", null));
        records[1].FromKernel.Should().BeFalse();
        records[1].Level.Should().Be(6);
        records[2].Text.Should().Be("WARNING: CPU: 12 PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21c/0x230\nPlease enable it");
    }

    [Fact]
    public void Lines_that_are_not_dmesg_records_are_skipped()
    {
        KernelLogFallback.ParseDmesgDecoded("garbage\nnews :bogus : [1.0] no\nkern  :info  : [not a time] no\n").Should().BeEmpty();
    }

    [Fact]
    public void A_missing_dmesg_is_a_one_line_reason()
    {
        KernelLogFallback.FromDmesg(out string? problem, "/nonexistent/dmesg").Should().BeNull();
        problem.Should().StartWith("/nonexistent/dmesg: ");
    }

    [Fact]
    public void Live_dmesg_reads_the_same_first_record_as_dev_kmsg_facility_included()
    {
        if (Environment.UserName != "root" || !File.Exists("/dev/kmsg"))
        {
            return; // reading the kernel log needs root (CI is root)
        }

        List<KmsgRecord>? viaDmesg = KernelLogFallback.FromDmesg(out string? problem);
        problem.Should().BeNull();
        using var reader = new KmsgReader(DevKmsg.Open());
        KmsgRecord first = reader.Next()!.Value;

        viaDmesg.Should().NotBeNullOrEmpty();
        viaDmesg![0].Text.Should().Be(first.Text.Split('\n')[0]);
        viaDmesg![0].TimestampUs.Should().Be(first.TimestampUs);
        viaDmesg![0].Facility.Should().Be(first.Facility);
    }
}
