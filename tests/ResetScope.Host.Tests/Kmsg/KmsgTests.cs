using System.Text;
using ResetScope.Host.Kmsg;

namespace ResetScope.Host.Tests.Kmsg;

public class KmsgTests
{
    private static KmsgRecord Parse(string s)
    {
        KmsgRecord.TryParse(Encoding.UTF8.GetBytes(s), out KmsgRecord r).Should().BeTrue();
        return r;
    }

    [Fact]
    public void A_kernel_record_with_continuation_lines()
    {
        KmsgRecord r = Parse("3,1042,86414761669,-;ena 0000:20:03.0 eth0: TX q 5 is paused for too long\n SUBSYSTEM=pci\n DEVICE=+pci:0000:20:03.0\n");

        r.Should().Be(new KmsgRecord(0, 3, 1042, 86414761669, '-', "ena 0000:20:03.0 eth0: TX q 5 is paused for too long", "+pci:0000:20:03.0"));
        r.FromKernel.Should().BeTrue();
    }

    [Fact]
    public void Escaped_bytes_are_decoded_and_user_space_records_are_flagged()
    {
        KmsgRecord r = Parse("12,7,100,c,more;Detected Tx Unit Hang\\x0a  Tx Queue <2>");

        r.Text.Should().Be("Detected Tx Unit Hang\n  Tx Queue <2>");
        r.Facility.Should().Be(1);
        r.Level.Should().Be(4);
        r.Flag.Should().Be('c');
        r.FromKernel.Should().BeFalse();
    }

    [Theory]
    [InlineData("")]
    [InlineData("no header at all")]
    [InlineData("3,x,100,-;text")]
    [InlineData("3,1,100;text")]
    public void Anything_else_is_not_a_record(string s)
    {
        KmsgRecord.TryParse(Encoding.UTF8.GetBytes(s), out _).Should().BeFalse();
    }

    [Fact]
    public void Overwritten_records_and_sequence_jumps_are_counted_as_lost()
    {
        using var reader = new KmsgReader(new FixtureSource("6,10,1,-;a", KmsgReader.Overwritten, "6,15,2,-;b", "6,16,3,-;c"));

        List<KmsgRecord> records = reader.ReadAll();

        records.Select(r => r.Text).Should().Equal("a", "b", "c");
        reader.Lost.Should().Be(4);
    }

    [Fact]
    public void A_record_written_to_the_real_device_reads_back_as_user_space()
    {
        if (Environment.UserName != "root" || !File.Exists("/dev/kmsg"))
        {
            return; // needs root and /dev/kmsg (CI has both)
        }

        string marker = $"resetscope-test-{Guid.NewGuid():N}: kmsg round trip (test record, ignore)";
        using var reader = new KmsgReader(DevKmsg.Open());
        reader.ReadAll();
        DevKmsg.Write(marker);

        List<KmsgRecord> after = reader.ReadAll();

        KmsgRecord mine = after.Should().ContainSingle(r => r.Text == marker).Subject;
        mine.FromKernel.Should().BeFalse("records written from user space are never trusted as driver events");
    }

    private sealed class FixtureSource(params object[] items) : IKmsgSource
    {
        private int _next;

        public int Read(Span<byte> buffer)
        {
            if (_next >= items.Length)
            {
                return 0;
            }

            object item = items[_next++];
            if (item is int code)
            {
                return code;
            }

            return Encoding.UTF8.GetBytes((string)item, buffer);
        }

        public void Dispose()
        {
        }
    }
}
