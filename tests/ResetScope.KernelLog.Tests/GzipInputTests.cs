using ResetScope.Testing;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>.gz inputs as the real tools write them: several members (cat, pigz, bgzip), cut, corrupt, padded.</summary>
public class GzipInputTests
{
    private const string Name = "kern.log.gz";

    // The BGZF end-of-file marker (SAM/BAM spec §4.1.2): an empty gzip member with a "BC" extra field.
    private static readonly byte[] s_bgzfEof = Convert.FromHexString("1f8b08040000000000ff0600424302001b0003000000000000000000");

    /// <summary>A member's text: noise, then one reset on eth{n} as its last line.</summary>
    private static string Member(int n, int lines = 300)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"[ {n}.{i:D6}] audit: type=1400 audit({(n * 7919) + (i * 104729)}): apparmor=\"DENIED\" operation=\"open\"\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"[ {n}.999999] ena 0000:00:05.0 eth{n}: Keep alive watchdog timeout.\n");
        return sb.ToString();
    }

    private static int Len(string text) => Encoding.UTF8.GetByteCount(text);

    private static byte[] Gzip(string text) => ExternalTool.Compress("gzip", Encoding.UTF8.GetBytes(text), "-n");

    private static string Truncated(long bytes) =>
        $"{Name}: gzip data ends before its trailer (truncated file) after {bytes} decompressed bytes; results cover the readable part — re-copy the file";

    private static IEnumerable<string?> Devs(FileScanResult r) => r.Resets.Select(x => x.Event.Dev);

    /// <summary>gzip -t's verdict on the same bytes: 0 fine, 1 error, 2 warning (trailing garbage).</summary>
    private static int GzipTest(byte[] gz) => ExternalTool.Run("gzip", gz, "-t").Code;

    [Fact]
    public void The_runtimes_native_zlib_is_what_reads_gzip_here()
    {
        GzipMemberStream.IsAvailable.Should().BeTrue("libSystem.IO.Compression.Native ships with the shared framework the tests run on");
    }

    [Fact]
    public void Inflating_allocates_nothing_per_block()
    {
        string member = Member(0, lines: 20_000);
        byte[] gz = [.. Scan.Gzip(member), .. Scan.Gzip(member), .. Scan.Gzip(member)];
        byte[] block = new byte[LogScanner.BlockSize];
        for (int warm = 0; warm < 2; warm++)
        {
            // Two whole passes first, so the measured one runs tiered-up code and no first-call P/Invoke binding.
            using GzipMemberStream w = GzipMemberStream.TryOpen([], new MemoryStream(gz))!;
            while (w.Read(block) > 0)
            {
            }
        }

        using GzipMemberStream z = GzipMemberStream.TryOpen([], new MemoryStream(gz))!;
        long total = z.Read(block);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int n;
        while ((n = z.Read(block)) > 0)
        {
            total += n;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        total.Should().Be(3L * Len(member));
        z.Members.Should().Be(3);
        allocated.Should().Be(0, "buffers are reused and pinned with fixed; member resets allocate nothing managed");
    }

    [ExternalToolFact("gzip", "gzip")]
    public void Two_members_made_by_gzip_are_read_whole_and_the_reset_in_each_is_found()
    {
        string a = Member(0);
        string b = Member(1);

        FileScanResult r = Scan.Bytes([.. Gzip(a), .. Gzip(b)], name: Name);

        r.Error.Should().BeNull();
        r.Bytes.Should().Be(Len(a + b));
        r.Lines.Should().Be(602);
        Devs(r).Should().Equal("eth0", "eth1");
        r.Resets.Select(x => x.Event.Line).Should().Equal(301, 602);
    }

    [ExternalToolFact("gzip", "gzip")]
    public void Ten_members_are_read_whole_and_the_reset_in_each_is_found()
    {
        string[] texts = [.. Enumerable.Range(0, 10).Select(n => Member(n, lines: 50 + (n * 37)))];

        FileScanResult r = Scan.Bytes([.. texts.SelectMany(Gzip)], name: Name);

        r.Error.Should().BeNull();
        r.Bytes.Should().Be(Len(string.Concat(texts)));
        Devs(r).Should().Equal(Enumerable.Range(0, 10).Select(n => $"eth{n}"));
    }

    [ExternalToolTheory("gzip", "gzip")]
    [InlineData(0)]
    [InlineData(-20)]
    [InlineData(1)]
    public void A_member_boundary_at_the_scanners_block_boundary_changes_nothing(int fromBlockEnd)
    {
        // A reset line straddles the 1 MiB block boundary; the members split the text at (or next to) that boundary.
        const string Reset = "[ 5.000000] ena 0000:00:05.0 eth3: Keep alive watchdog timeout.\n";
        var sb = new StringBuilder();
        while (sb.Length < LogScanner.BlockSize - 30 - 100)
        {
            sb.Append(CultureInfo.InvariantCulture, $"[ 1.{sb.Length % 1_000_000:D6}] audit: noise {sb.Length}\n");
        }

        sb.Append('#', LogScanner.BlockSize - 30 - sb.Length - 1).Append('\n').Append(Reset);
        sb.Append(Member(4, lines: 1000));
        byte[] text = Encoding.UTF8.GetBytes(sb.ToString());
        int split = LogScanner.BlockSize + fromBlockEnd;

        FileScanResult r = Scan.Bytes([.. Gzip(Encoding.UTF8.GetString(text[..split])), .. Gzip(Encoding.UTF8.GetString(text[split..]))], name: Name);

        FileScanResult plain = Scan.Bytes(text, name: Name);
        r.Error.Should().BeNull();
        r.Bytes.Should().Be(text.Length);
        r.Lines.Should().Be(plain.Lines);
        Devs(r).Should().Equal("eth3", "eth4");
        r.Resets.Select(x => x.Event.Line).Should().Equal(plain.Resets.Select(x => x.Event.Line));
    }

    [ExternalToolFact("gzip", "gzip")]
    public void A_cut_inside_the_first_member_is_truncated_and_keeps_what_came_before_the_cut()
    {
        string a = Member(0, lines: 3000);
        byte[] first = Gzip(a);

        FileScanResult r = Scan.Bytes([.. first[..(first.Length / 2)]], name: Name);

        r.Error.Should().Be(Truncated(r.Bytes));
        r.Bytes.Should().BeGreaterThan(0).And.BeLessThan(Len(a));
        r.Unreadable.Should().BeFalse();
    }

    [ExternalToolFact("gzip", "gzip")]
    public void A_cut_exactly_at_a_member_boundary_is_a_complete_shorter_file_as_gzip_says()
    {
        string a = Member(0);
        byte[] first = Gzip(a);
        byte[] gz = [.. first, .. Gzip(Member(1))];

        FileScanResult r = Scan.Bytes(gz[..first.Length], name: Name);

        GzipTest(first).Should().Be(0, "nothing in the bytes says a member should follow");
        r.Error.Should().BeNull();
        r.Bytes.Should().Be(Len(a));
        Devs(r).Should().Equal("eth0");
    }

    [ExternalToolTheory("gzip", "gzip")]
    [InlineData(1)] // the lone 0x1F: gzip says "unexpected end of file"
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(9)] // the last byte of the 10-byte header
    public void A_cut_inside_the_second_members_header_is_truncated_and_keeps_all_of_the_first(int intoSecond)
    {
        string a = Member(0);
        byte[] first = Gzip(a);
        byte[] gz = [.. first, .. Gzip(Member(1))];

        FileScanResult r = Scan.Bytes(gz[..(first.Length + intoSecond)], name: Name);

        r.Error.Should().Be(Truncated(Len(a)));
        Devs(r).Should().Equal("eth0");
    }

    [ExternalToolFact("gzip", "gzip")]
    public void A_cut_inside_the_second_members_data_is_truncated_and_keeps_the_first_and_part_of_the_second()
    {
        string a = Member(0);
        string b = Member(1, lines: 3000);
        byte[] first = Gzip(a);
        byte[] second = Gzip(b);

        FileScanResult r = Scan.Bytes([.. first, .. second[..(second.Length / 2)]], name: Name);

        r.Error.Should().Be(Truncated(r.Bytes));
        r.Bytes.Should().BeGreaterThan(Len(a)).And.BeLessThan(Len(a + b));
        Devs(r).Should().Equal("eth0");
    }

    [ExternalToolTheory("gzip", "gzip")]
    [InlineData(1)]
    [InlineData(4)] // CRC32 whole, ISIZE gone
    [InlineData(5)]
    [InlineData(8)] // the whole trailer
    public void A_cut_inside_the_last_trailer_is_truncated_though_all_the_data_was_read(int cutFromEnd)
    {
        string a = Member(0);
        string b = Member(1);
        byte[] gz = [.. Gzip(a), .. Gzip(b)];

        FileScanResult r = Scan.Bytes(gz[..^cutFromEnd], name: Name);

        r.Error.Should().Be(Truncated(Len(a + b)));
        Devs(r).Should().Equal("eth0", "eth1");
    }

    [ExternalToolFact("gzip", "gzip")]
    public void A_flipped_crc_byte_is_corrupt_data_and_the_members_after_it_are_not_read()
    {
        string a = Member(0);
        byte[] first = Gzip(a);
        byte[] gz = [.. first, .. Gzip(Member(1))];
        gz[first.Length - 8] ^= 0x01; // the first byte of member 1's CRC32

        FileScanResult r = Scan.Bytes(gz, name: Name);

        GzipTest(gz).Should().Be(1);
        r.Error.Should().Be($"{Name}: corrupt gzip data after {Len(a)} decompressed bytes (incorrect data check); results cover the readable part — re-copy the file");
        Devs(r).Should().Equal("eth0");
    }

    [ExternalToolFact("gzip", "gzip")]
    public void A_wrong_isize_is_corrupt_data()
    {
        string a = Member(0);
        byte[] gz = Gzip(a);
        gz[^1] ^= 0x40;

        FileScanResult r = Scan.Bytes(gz, name: Name);

        r.Error.Should().Be($"{Name}: corrupt gzip data after {Len(a)} decompressed bytes (incorrect length check); results cover the readable part — re-copy the file");
    }

    /// <summary>What follows the last complete member, and what gzip -t says of it: 0 ignored, 2 ignored with a warning, 1 an error.</summary>
    [ExternalToolTheory("gzip", "gzip")]
    [InlineData("000000", 0)]
    [InlineData("6a756e6b0a", 2)] // "junk\n"
    [InlineData("000000000078", 2)] // zeros, then garbage
    [InlineData("1f41", 2)] // looks like a magic, is not one
    [InlineData("1f", 1)]
    [InlineData("1f8b", 1)]
    [InlineData("1f8b08", 1)]
    [InlineData("1f8b0800000000000003", 1)] // a whole header and nothing after it
    [InlineData("1f8b09", 1)] // unknown compression method
    public void Bytes_after_the_last_member_are_judged_as_gzip_judges_them(string tailHex, int gzipExit)
    {
        string a = Member(0);
        string b = Member(1);
        byte[] gz = [.. Gzip(a), .. Gzip(b), .. Convert.FromHexString(tailHex)];

        FileScanResult r = Scan.Bytes(gz, name: Name);

        GzipTest(gz).Should().Be(gzipExit);
        (r.Error is not null).Should().Be(gzipExit == 1);
        (r.Note is not null).Should().Be(gzipExit == 2);
        r.Bytes.Should().Be(Len(a + b));
        Devs(r).Should().Equal("eth0", "eth1");
    }

    [Fact]
    public void Trailing_garbage_gets_a_note_not_an_error()
    {
        byte[] gz = [.. Scan.Gzip(Member(0)), .. Scan.Gzip(Member(1)), .. "garbage"u8.ToArray()];

        FileScanResult r = Scan.Bytes(gz, name: Name);

        r.Error.Should().BeNull();
        r.Note.Should().Be($"{Name}: decompression OK, trailing garbage ignored after gzip member 2 (as gzip does)");
    }

    [Fact]
    public void Zero_padding_after_the_last_member_is_ignored_silently_however_long()
    {
        string a = Member(0);
        byte[] gz = [.. Scan.Gzip(a), .. new byte[(3 * 1024 * 1024) + 5]];

        FileScanResult r = Scan.Bytes(gz, name: Name);

        r.Error.Should().BeNull();
        r.Note.Should().BeNull();
        r.Bytes.Should().Be(Len(a));
    }

    [Fact]
    public void The_bgzf_end_of_file_block_is_an_empty_member_and_ends_the_file_cleanly()
    {
        string a = Member(0);

        FileScanResult r = Scan.Bytes([.. Scan.Gzip(a), .. s_bgzfEof], name: Name);

        r.Error.Should().BeNull();
        r.Note.Should().BeNull();
        r.Bytes.Should().Be(Len(a));
    }

    [Fact]
    public void An_empty_member_between_two_others_is_passed_over()
    {
        FileScanResult r = Scan.Bytes([.. Scan.Gzip(Member(0)), .. s_bgzfEof, .. Scan.Gzip(Member(1))], name: Name);

        r.Error.Should().BeNull();
        Devs(r).Should().Equal("eth0", "eth1");
    }

    [ExternalToolFact("bgzip", "tabix")]
    public void Bgzip_output_is_read_whole_member_by_member()
    {
        string text = string.Concat(Enumerable.Range(0, 8).Select(n => Member(n, lines: 1500)));
        byte[] bgz = ExternalTool.Compress("bgzip", Encoding.UTF8.GetBytes(text));
        using var members = GzipMemberStream.TryOpen([], new MemoryStream(bgz))!;
        members.CopyTo(Stream.Null);

        FileScanResult r = Scan.Bytes(bgz, name: Name);

        bgz[^28..].Should().Equal(s_bgzfEof);
        members.Members.Should().Be((int)Math.Ceiling(Len(text) / 65280.0) + 1, "one BGZF block per 0xff00 input bytes, then the empty EOF block");
        r.Error.Should().BeNull();
        r.Bytes.Should().Be(Len(text));
        Devs(r).Should().Equal(Enumerable.Range(0, 8).Select(n => $"eth{n}"));
    }

    [ExternalToolFact("pigz", "pigz")]
    public void Pigz_output_is_read_whole()
    {
        string text = string.Concat(Enumerable.Range(0, 8).Select(n => Member(n, lines: 1500)));

        // -b 32: 32 KiB blocks, each ended by pigz's empty stored block, compressed on two threads.
        FileScanResult r = Scan.Bytes(ExternalTool.Compress("pigz", Encoding.UTF8.GetBytes(text), "-n", "-b", "32", "-p", "2"), name: Name);

        r.Error.Should().BeNull();
        r.Bytes.Should().Be(Len(text));
        Devs(r).Should().Equal(Enumerable.Range(0, 8).Select(n => $"eth{n}"));
    }

    [ExternalToolFact("pigz", "pigz")]
    public void Pigz_outputs_appended_to_each_other_are_read_whole()
    {
        string a = Member(0);
        string b = Member(1);

        FileScanResult r = Scan.Bytes([.. ExternalTool.Compress("pigz", Encoding.UTF8.GetBytes(a), "-n"), .. ExternalTool.Compress("pigz", Encoding.UTF8.GetBytes(b), "-n")], name: Name);

        r.Error.Should().BeNull();
        r.Bytes.Should().Be(Len(a + b));
        Devs(r).Should().Equal("eth0", "eth1");
    }

    [Fact]
    public void Members_of_any_sizes_and_levels_read_back_exactly_and_every_cut_but_a_boundary_is_truncated()
    {
        Gen<(string[] Texts, int[] Levels, int CutSeed)> cases =
            from count in Gen.Choose(1, 6)
            from first in Gen.Choose(1, 400)
            from rest in Gen.ArrayOf(Gen.Choose(0, 400), count - 1)
            from levels in Gen.ArrayOf(Gen.Choose(0, 3), count)
            from cut in Gen.Choose(0, int.MaxValue)
            select ((string[])[Member(0, first), .. rest.Select((s, i) => s == 0 ? string.Empty : Member(i + 1, s))], levels, cut);

        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            byte[][] members = [.. c.Texts.Select((t, i) => Compress(t, (CompressionLevel)c.Levels[i]))];
            byte[] gz = [.. members.SelectMany(m => m)];
            var boundaries = new Dictionary<int, long>();
            int end = 0;
            long decompressed = 0;
            for (int i = 0; i < members.Length; i++)
            {
                end += members[i].Length;
                decompressed += Len(c.Texts[i]);
                boundaries[end] = decompressed;
            }

            FileScanResult whole = Scan.Bytes(gz, name: Name);
            int cut = 2 + (c.CutSeed % (gz.Length - 1));
            FileScanResult part = Scan.Bytes(gz[..cut], name: Name);

            bool wholeOk = whole.Error is null && whole.Bytes == decompressed && whole.Resets.Count == c.Texts.Count(t => t.Length > 0);
            bool partOk = boundaries.TryGetValue(cut, out long upTo)
                ? part.Error is null && part.Bytes == upTo
                : part.Error == Truncated(part.Bytes);
            return wholeOk && partOk;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150).WithQuietOnSuccess(true));

        static byte[] Compress(string text, CompressionLevel level)
        {
            using var ms = new MemoryStream();
            using (var gz = new GZipStream(ms, level, leaveOpen: true))
            {
                gz.Write(Encoding.UTF8.GetBytes(text));
            }

            return ms.ToArray();
        }
    }

    [Fact]
    public void Without_the_native_zlib_a_multi_member_file_is_read_whole_but_reported_by_the_approximate_check()
    {
        string a = Member(0);
        string b = Member(1);
        using var ms = new MemoryStream([.. Scan.Gzip(a), .. Scan.Gzip(b)]);

        FileScanResult r = new LogScanner(referenceYear: 2026) { ExactGzip = false }.ScanStream(ms, Name, null);

        Devs(r).Should().Equal("eth0", "eth1");
        r.Error.Should().Be(Truncated(Len(a + b)) + " (approximate check without the native zlib: a multi-member .gz trips it too)");
    }
}

/// <summary>How the scan verb reports .gz inputs among others.</summary>
public sealed class GzipScanRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-gz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteGz(string name, params byte[][] parts)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, [.. parts.SelectMany(p => p)]);
        return path;
    }

    private static byte[] Member(int dev) => Scan.Gzip($"[ 1.000000] ena 0000:00:05.0 eth{dev}: Keep alive watchdog timeout.\n");

    [Fact]
    public void A_multi_member_gz_is_no_input_error()
    {
        string path = WriteGz("kern.log.1.gz", Member(0), Member(1));
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = ScanRunner.Run([path], new ScanOptions { Output = ScanOutput.Json }, stdout, stderr);

        code.Should().Be(0);
        stderr.ToString().Should().BeEmpty();
        stdout.ToString().Should().Contain("\"kind\":\"summary\",\"files\":1,\"unreadable\":0,\"errors\":0,");
    }

    [Fact]
    public void Trailing_garbage_is_one_note_on_stderr_and_no_input_error()
    {
        string path = WriteGz("kern.log.1.gz", Member(0), "\n-- appended by hand --\n"u8.ToArray());
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        ScanRunner.Run([path], new ScanOptions { Output = ScanOutput.Json }, stdout, stderr);

        stderr.ToString().Should().Be($"resetscope scan: note: {path}: decompression OK, trailing garbage ignored after gzip member 1 (as gzip does)\n");
        stdout.ToString().Should().Contain("\"errors\":0,");
    }
}
