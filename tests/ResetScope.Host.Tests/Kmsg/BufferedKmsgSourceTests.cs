using System.Text;
using ResetScope.Host.Kmsg;
using ResetScope.Testing;

namespace ResetScope.Host.Tests.Kmsg;

/// <summary>The drain thread's ring: records come out whole and in order, overwrites pass through, a full ring drops the newest.</summary>
public sealed class BufferedKmsgSourceTests
{
    /// <summary>A scripted source: hands out its records one per read, then nothing; the drain thread reads it.</summary>
    private sealed class Script(IEnumerable<string?> records) : IKmsgSource
    {
        private readonly Queue<string?> _records = new(records);

        public int Read(Span<byte> buffer)
        {
            lock (_records)
            {
                if (_records.Count == 0)
                {
                    return 0;
                }

                string? r = _records.Dequeue();
                return r is null ? KmsgReader.Overwritten : Encoding.ASCII.GetBytes(r, buffer);
            }
        }

        public bool WaitReadable(TimeSpan timeout) => false;

        public void Dispose()
        {
        }
    }

    private static List<string> ReadAll(BufferedKmsgSource source, int expected)
    {
        var got = new List<string>();
        byte[] buffer = new byte[KmsgReader.BufferSize];
        while (got.Count + source.Dropped < expected && source.WaitReadable(TimeSpan.FromSeconds(10)))
        {
            int n;
            while ((n = source.Read(buffer)) != 0)
            {
                got.Add(n == KmsgReader.Overwritten ? "<overwritten>" : Encoding.ASCII.GetString(buffer, 0, n));
            }
        }

        return got;
    }

    [Fact]
    public void Records_come_out_whole_and_in_order_with_overwrites_in_their_place()
    {
        string[] records = ["6,1,100,-;first", "6,2,200,-;second", null!, "6,9,900,-;after the overwrite"];
        using var source = new BufferedKmsgSource(new Script(records));

        ReadAll(source, 4).Should().Equal("6,1,100,-;first", "6,2,200,-;second", "<overwritten>", "6,9,900,-;after the overwrite");
    }

    [Fact]
    public void Records_of_every_size_survive_many_wraps_of_the_ring()
    {
        // Sizes from 1 byte to 8 KiB through a ring of 2 × (8 KiB + 4): it wraps every few records.
        var rng = new Random(7);
        string[] records = [.. Enumerable.Range(0, 2_000).Select(i => $"{i}:" + new string((char)('a' + (i % 26)), rng.Next(0, KmsgReader.BufferSize - 10)))];
        using var source = new BufferedKmsgSource(new Script(records), capacityBytes: 2 * (KmsgReader.BufferSize + 4));

        List<string> got = ReadAll(source, records.Length);

        got.Should().HaveCount(records.Length - (int)source.Dropped);
        got.Should().BeSubsetOf(records);
        got.Select(r => int.Parse(r.Split(':')[0])).Should().BeInAscendingOrder("what is kept keeps its order");
    }

    [Fact]
    public void A_full_ring_drops_the_newest_and_counts_it()
    {
        string big = new('x', KmsgReader.BufferSize - 100);
        using var source = new BufferedKmsgSource(new Script(Enumerable.Repeat(big, 10)), capacityBytes: 2 * (KmsgReader.BufferSize + 4));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (source.Dropped < 8 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Yield(); // nobody reads: the drain thread fills the ring and drops the rest
        }

        source.Dropped.Should().Be(8, "two records of just under 8 KiB fit in the ring");
        ReadAll(source, 10).Should().HaveCount(2);
    }

    [Fact]
    public void A_wait_shorter_than_a_millisecond_lasts_at_least_its_timeout()
    {
        // The agent waits for its next deadline; returning at once for 0.5 ms would make it spin until the deadline.
        using var source = new BufferedKmsgSource(new Script([]));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        bool readable = source.WaitReadable(TimeSpan.FromMicroseconds(500));

        readable.Should().BeFalse();
        clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMicroseconds(500));
    }

    [RootFact("read /dev/kmsg", files: "/dev/kmsg")]
    public void On_a_quiet_dev_kmsg_the_drain_sleeps_in_poll_without_a_timeout_and_still_stops_at_once()
    {
        var source = new BufferedKmsgSource(DevKmsg.Open());
        try
        {
            // /proc/<tid>/syscall of a blocked thread: "7 <fds> <nfds> <timeout> ..." for poll(2); -1 is no timeout.
            string? drain = null;
            string? syscall = null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                drain ??= Directory.GetDirectories("/proc/self/task").FirstOrDefault(t => File.ReadAllText(Path.Combine(t, "comm")).Trim() == "kmsg drain");
                syscall = drain is null ? null : File.ReadAllText(Path.Combine(drain, "syscall")).Trim();
                if (syscall is not null && syscall.StartsWith("7 ", StringComparison.Ordinal))
                {
                    break; // the backlog is drained and the thread sleeps
                }

                Thread.Yield();
            }

            syscall.Should().NotBeNull().And.StartWith("7 ").And.Match("7 * 0x2 0xffffffff *", "poll on /dev/kmsg and the wake eventfd, no timeout");
        }
        finally
        {
            var stopping = System.Diagnostics.Stopwatch.StartNew();
            source.Dispose();
            stopping.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "Dispose wakes the drain through its eventfd");
        }
    }
}
