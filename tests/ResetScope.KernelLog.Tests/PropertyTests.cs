using System.Text;
using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>Bad input is normal input: arbitrary bytes, mutated lines, huge lines, truncated gzip never throw or hang.</summary>
public class PropertyTests
{
    private static readonly string[] s_realistic =
    [
        "[ 1234.567890] ena 0000:00:05.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1",
        "Jul 14 10:10:17 ip-10-0-1-5 kernel: ena 0000:20:03.0 eth0: napi handler hasn't been called for a long time but is scheduled",
        "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.17.0g",
        "3,1042,1234567890,-;ena 0000:00:06.0 eth1: [2/2] qid: 12, napi CPU: 3",
        "{\"__REALTIME_TIMESTAMP\":\"1784023822123456\",\"MESSAGE\":\"ena 0000:00:05.0 eth0: Trigger reset is on\"}",
        "[  +0.000012] NETDEV WATCHDOG: eth0 (ena): transmit queue 3 timed out 5120 ms",
        "watchdog: BUG: soft lockup - CPU#39 stuck for 22s! [kubelet:1234]",
        "INFO: task kworker/u16:2:123 blocked for more than 120 seconds.",
        "ena0: Keep alive watchdog timeout.",
        "ENA_DRIVER: check_for_missing_keep_alive(): Keep alive timeout",
        "ixgbe 0000:01:00.0 eth0: tx hang 1 detected on queue 3, resetting adapter",
    ];

    private static Config Config => Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true);

    private static bool ScansCleanly(byte[] bytes)
    {
        FileScanResult r = Scan.Bytes(bytes);
        return r.Lines >= 0 && r.Resets.All(x => x.Event.Lines.Count > 0 && x.Event.Line == x.Event.Lines.Max());
    }

    [Fact]
    public void Arbitrary_bytes_never_throw()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), ScansCleanly).Check(Config);
    }

    [Fact]
    public void Arbitrary_unicode_text_never_throws()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), (string s) => ScansCleanly(Encoding.UTF8.GetBytes(s ?? string.Empty))).Check(Config);
    }

    [Fact]
    public void Mutated_realistic_lines_never_throw()
    {
        Gen<byte[]> mutated =
            from count in Gen.Choose(1, 12)
            from picks in Gen.ArrayOf(Gen.Elements(s_realistic), count)
            from cuts in Gen.ArrayOf(Gen.Choose(0, 200), count)
            from flips in Gen.ArrayOf(Gen.Choose(0, 255), count)
            select Mutate(picks, cuts, flips);

        Prop.ForAll(mutated.ToArbitrary(), ScansCleanly).Check(Config);
    }

    [Fact]
    public void Realistic_lines_joined_in_any_order_give_no_more_resets_than_lines()
    {
        Gen<string[]> shuffled = Gen.ArrayOf(Gen.Elements(s_realistic), 40);

        Prop.ForAll(shuffled.ToArbitrary(), (string[] lines) =>
        {
            FileScanResult r = Scan.Lines(lines);
            return r.Resets.Count + r.Precursors.Count + r.Starvations.Count <= lines.Length
                && r.Resets.SelectMany(x => x.Event.Lines).Distinct().Count() == r.Resets.SelectMany(x => x.Event.Lines).Count();
        }).Check(Config.WithMaxTest(100));
    }

    [Fact]
    public void Truncated_gzip_at_every_cut_never_throws_and_reports_one_line()
    {
        byte[] gz = Scan.Gzip(string.Join("\n", Enumerable.Repeat(s_realistic, 30).SelectMany(x => x)) + "\n");
        for (int cut = 0; cut < gz.Length; cut += Math.Max(1, gz.Length / 97))
        {
            FileScanResult r = Scan.Bytes(gz[..cut], name: "x.gz");
            if (cut >= 2)
            {
                r.Error.Should().NotBeNull($"cut at {cut} of {gz.Length}");
                r.Error!.Should().NotContain("\n");
            }
        }
    }

    [Fact]
    public void Corrupted_gzip_bytes_never_throw()
    {
        byte[] gz = Scan.Gzip(string.Join("\n", s_realistic) + "\n");
        Prop.ForAll(Gen.Choose(10, gz.Length - 1).ToArbitrary(), Gen.Choose(0, 255).ToArbitrary(), (int at, int value) =>
        {
            byte[] copy = [.. gz];
            copy[at] = (byte)value;
            return ScansCleanly(copy);
        }).Check(Config.WithMaxTest(200));
    }

    [Fact]
    public void Many_huge_lines_keep_memory_bounded()
    {
        // 64 lines of 1 MiB each that are all candidates: the scanner skips them without holding them.
        var stream = new RepeatingStream(Encoding.ASCII.GetBytes("ena 0000:00:05.0 eth0: " + new string('z', 1 << 20) + "\n"), 64);
        long before = GC.GetAllocatedBytesForCurrentThread();

        FileScanResult r = new LogScanner().ScanStream(stream, "big", null);

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        r.LongLinesSkipped.Should().Be(64);
        r.Lines.Should().Be(64);
        allocated.Should().BeLessThan(8L << 20, "the 64 MiB input must not be materialised");
    }

    private static byte[] Mutate(string[] picks, int[] cuts, int[] flips)
    {
        var sb = new List<byte>();
        for (int i = 0; i < picks.Length; i++)
        {
            byte[] line = Encoding.UTF8.GetBytes(picks[i]);
            int cut = Math.Min(cuts[i], line.Length);
            line = line[..cut];
            if (line.Length > 0)
            {
                line[flips[i] % line.Length] = (byte)flips[i];
            }

            sb.AddRange(line);
            sb.Add(i % 3 == 0 ? (byte)'\r' : (byte)'\n');
            sb.Add((byte)'\n');
        }

        return [.. sb];
    }

    /// <summary>A read-only stream that yields the same chunk N times without allocating it N times.</summary>
    private sealed class RepeatingStream(byte[] chunk, int times) : Stream
    {
        private int _done;
        private int _pos;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_done >= times)
            {
                return 0;
            }

            int n = Math.Min(count, chunk.Length - _pos);
            Array.Copy(chunk, _pos, buffer, offset, n);
            _pos += n;
            if (_pos == chunk.Length)
            {
                _pos = 0;
                _done++;
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public class PathologicalLineTests
{
    [Theory]
    [InlineData("virtio_net virtio0 eth0: TX timeout on queue: 1, sq: ")]
    [InlineData("NETDEV WATCHDOG: ")]
    [InlineData("hv_netvsc 6045bd8e eth0: Data path failed to switch ")]
    [InlineData("3,1,2,")]
    public void Long_lines_built_to_make_a_backtracking_regex_work_hard_are_scanned_at_once(string start)
    {
        string line = start + string.Concat(Enumerable.Repeat(", name: x, sq: (ena): ", 700));
        var sw = System.Diagnostics.Stopwatch.StartNew();

        FileScanResult r = Scan.Lines(line, line, line);

        sw.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "a bounded regex match, not a hang; generous for a loaded 2-core machine");
        r.Lines.Should().Be(3);
    }
}
