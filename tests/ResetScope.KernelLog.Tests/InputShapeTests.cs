using System.Text;
using FluentAssertions;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>How each input shape's timestamps, hosts and quirks come out.</summary>
public class InputShapeTests
{
    private const string Paused = "ena 0000:00:05.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1";
    private const string Done = "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g";

    [Fact]
    public void Raw_dmesg_keeps_the_uptime_as_ts_and_has_no_wall_time()
    {
        ResetEvent e = Scan.Lines($"[ 1234.567890] {Paused}").Resets.Single().Event;

        e.Ts.Should().Be("1234.567890");
        e.Time.Should().BeNull();
    }

    [Fact]
    public void Dmesg_T_resolves_the_wall_time()
    {
        ResetEvent e = Scan.Lines($"[Tue Jul 14 10:10:22 2026] {Paused}").Resets.Single().Event;

        e.Ts.Should().Be("Tue Jul 14 10:10:22 2026");
        e.Time.Should().Be(new DateTimeOffset(2026, 7, 14, 10, 10, 22, TimeSpan.Zero));
    }

    [Fact]
    public void Dmesg_H_deltas_are_never_read_as_uptime()
    {
        FileScanResult r = Scan.Lines(
            "[Jul14 10:10] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.",
            "[  +0.000012] ena 0000:00:05.0 eth0: Trigger reset is on",
            $"[  +0.100000] {Done}",
            "[  +8.000000] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.");

        r.Format.Should().Be(LogFormat.DmesgH);
        r.Resets.Should().HaveCount(2);
        r.Resets[0].Event.Ts.Should().Be("+0.100000");
        r.Resets[0].UptimeUs.Should().BeNull();
        r.Resets[0].Event.Time.Should().BeNull();
        r.Resets[1].Event.Ts.Should().Be("+8.000000");
        r.Resets[1].Event.Line.Should().Be(4);
    }

    [Fact]
    public void Rfc3164_syslog_takes_the_reference_year_and_the_kernel_timestamp()
    {
        FileScanResult r = Scan.Lines($"Jul 14 10:10:22 ip-10-0-1-5 kernel: [ 1234.567890] {Paused}");

        r.Resets.Single().Event.Time.Should().Be(new DateTimeOffset(2026, 7, 14, 10, 10, 22, TimeSpan.Zero));
        r.Resets.Single().UptimeUs.Should().Be(1_234_567_890);
        r.Resets.Single().Event.Host.Should().Be("ip-10-0-1-5");
    }

    [Fact]
    public void Rfc3339_with_microseconds_and_offset_resolves_to_utc()
    {
        ResetEvent e = Scan.Lines($"2026-07-14T12:10:22.123456+02:00 ip-10-0-1-5 kernel: {Paused}").Resets.Single().Event;

        e.Time.Should().Be(new DateTimeOffset(2026, 7, 14, 10, 10, 22, TimeSpan.Zero).AddTicks(1_234_560));
        e.Ts.Should().Be("2026-07-14T12:10:22.123456+02:00");
    }

    [Fact]
    public void Journal_json_takes_time_and_host_from_the_fields()
    {
        FileScanResult r = Scan.Text(Shapes.All["journal-json"](Paused));

        r.Format.Should().Be(LogFormat.JournalJson);
        ResetEvent e = r.Resets.Single().Event;
        e.Ts.Should().Be("1784023822123456");
        e.Time.Should().Be(DateTimeOffset.FromUnixTimeMilliseconds(1_784_023_822_123).AddTicks(4560));
        e.Host.Should().Be("ip-10-0-1-5");
    }

    [Fact]
    public void Journal_export_binary_message_fields_are_read()
    {
        var ms = new MemoryStream();
        void W(string s) => ms.Write(Encoding.UTF8.GetBytes(s));
        W("__REALTIME_TIMESTAMP=1784023822123456\n_HOSTNAME=h1\nMESSAGE\n");
        byte[] msg = Encoding.UTF8.GetBytes(Paused + "\nsecond line");
        ms.Write(BitConverter.GetBytes((ulong)msg.Length));
        ms.Write(msg);
        W("\nPRIORITY=3\n\n");

        FileScanResult r = Scan.Bytes(ms.ToArray());

        r.Format.Should().Be(LogFormat.JournalExport);
        r.Resets.Single().Event.Host.Should().Be("h1");
        r.Resets.Single().Event.Queue.Should().Be(5);
    }

    [Fact]
    public void Kmsg_uses_the_usec_field_and_skips_dictionary_lines()
    {
        FileScanResult r = Scan.Text($"3,1042,1234567890,-;{Paused}\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:05.0\n6,1043,1234567990,-;eth0: Tx queue reset\n");

        r.Format.Should().Be(LogFormat.Kmsg);
        r.Resets.Single().Event.Ts.Should().Be("1234567890");
        r.Resets.Single().UptimeUs.Should().Be(1_234_567_890);
        r.Lines.Should().Be(4);
    }

    [Fact]
    public void Crlf_line_ends_do_not_change_fields()
    {
        FileScanResult r = Scan.Text($"[ 1.000000] {Paused}\r\n[ 1.100000] {Done}\r\n");

        ResetEvent e = r.Resets.Single().Event;
        e.NapiScheduled.Should().BeTrue();
        e.DriverVersion.Should().Be("2.14.0g");
    }

    [Fact]
    public void Invalid_utf8_is_counted_and_the_line_still_decoded()
    {
        byte[] bad = [.. Encoding.UTF8.GetBytes("[ 1.0] \xff"u8.Length == 0 ? string.Empty : string.Empty), .. "[ 1.0] "u8.ToArray(), 0xFF, 0xFE, (byte)' ', .. Encoding.UTF8.GetBytes(Paused + "\n")];

        FileScanResult r = Scan.Bytes(bad);

        r.InvalidUtf8Lines.Should().Be(1);
        r.Resets.Should().ContainSingle("the record starts at its device prefix, after the garbage glued in front of it")
            .Which.Event.Queue.Should().Be(5);
        FileScanResult ok = Scan.Bytes([.. Encoding.UTF8.GetBytes(Paused[..40]), 0xC3, .. Encoding.UTF8.GetBytes(" \n")]);
        ok.InvalidUtf8Lines.Should().Be(1);
    }

    [Fact]
    public void A_mail_wrapped_line_is_joined_with_its_continuation()
    {
        FileScanResult r = Scan.Lines(
            "> ena 0000:20:03.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last",
            "> napi 6596000 usec. napi scheduled: 1",
            "> ena 0000:20:03.0 eth0: napi handler hasn't been called for a long time but is scheduled");

        r.JoinedWrappedLines.Should().Be(1);
        ResetEvent e = r.Resets.Single().Event;
        e.SinceNapiUsec.Should().Be(6_596_000);
        e.NapiScheduled.Should().BeTrue();
        e.EnaReason.Should().Be("SUSPECTED_POLL_STARVATION");
        e.Lines.Should().Equal(1, 3);
    }

    [Fact]
    public void An_elided_line_yields_the_fields_it_still_shows()
    {
        FileScanResult r = Scan.Lines("[ 5.0] ena 0000:00:05.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi sch...");

        ResetEvent e = r.Resets.Single().Event;
        e.Queue.Should().Be(5);
        e.ThresholdUsec.Should().Be(5_000_000);
        e.SinceNapiUsec.Should().Be(6_596_000);
        e.NapiScheduled.Should().BeNull();
    }

    [Fact]
    public void A_line_with_extra_words_after_a_format_is_not_that_format()
    {
        Scan.Lines("e1000e 0000:00:19.0 eth0: Reset adapter unexpectedly is a phrase here").Resets.Should().BeEmpty();
    }

    [Fact]
    public void Gzip_input_gives_the_same_events_as_plain_text()
    {
        string text = $"[ 1.000000] {Paused}\n[ 1.100000] {Done}\n";

        FileScanResult plain = Scan.Text(text);
        FileScanResult gz = Scan.Bytes(Scan.Gzip(text));

        gz.Error.Should().BeNull();
        gz.Resets.Select(x => x.Event).Should().BeEquivalentTo(plain.Resets.Select(x => x.Event));
        gz.Bytes.Should().Be(Encoding.UTF8.GetByteCount(text));
    }

    [Fact]
    public void A_truncated_gzip_reports_one_line_and_keeps_what_was_readable()
    {
        var sb = new StringBuilder();
        sb.Append($"[ 1.000000] {Paused}\n[ 1.100000] {Done}\n");
        var rnd = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            sb.Append("[ 2.").Append(i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).Append("] audit: type=1400 audit(").Append(rnd.Next()).Append("): apparmor=\"DENIED\"\n");
        }

        byte[] gz = Scan.Gzip(sb.ToString());

        FileScanResult r = Scan.Bytes(gz[..(gz.Length / 2)], name: "kern.log.gz");

        r.Error.Should().NotBeNull();
        r.Error!.Should().Contain("kern.log.gz").And.Contain("truncated").And.NotContain("\n");
        r.Unreadable.Should().BeFalse();
        r.Resets.Should().ContainSingle();
    }

    [Fact]
    public void A_complete_gzip_is_not_reported_as_truncated()
    {
        Scan.Bytes(Scan.Gzip($"{Paused}\n")).Error.Should().BeNull();
    }

    [Fact]
    public void A_one_megabyte_line_is_skipped_and_counted_and_line_numbers_stay_right()
    {
        string huge = "ena 0000:00:05.0 eth0: " + new string('x', 1 << 20);
        FileScanResult r = Scan.Text($"first\n{huge}\n[ 3.0] {Paused}\n");

        r.LongLinesSkipped.Should().Be(1);
        r.Resets.Single().Event.Line.Should().Be(3);
        r.Lines.Should().Be(3);
    }

    [Fact]
    public void Lines_longer_than_a_block_are_dropped_to_their_newline()
    {
        string huge = new('y', (3 * LogScanner.BlockSize) + 17);
        FileScanResult r = Scan.Text($"{huge}\n{Paused}\n{huge}");

        r.LongLinesSkipped.Should().Be(2);
        r.Resets.Single().Event.Line.Should().Be(2);
        r.Lines.Should().Be(3);
    }

    [Fact]
    public void Serial_console_output_interleaved_with_other_programs_is_read()
    {
        FileScanResult r = Scan.Text(
            "\u001b[0;32m  OK  \u001b[0m] Started Session 3 of user ec2-user.\r\n" +
            $"cloud-init[1234]: Cloud-init v. 23.1 running 'modules:final'[   42.000001] {Paused}\r\n" +
            "Ubuntu 22.04.3 LTS ip-10-0-1-5 ttyS0\r\n" +
            $"[   42.100000] {Done}\r\n");

        ResetEvent e = r.Resets.Single().Event;
        e.Lines.Should().Equal(2, 4);
        e.Outcome.Should().Be(ResetOutcome.Completed);
    }
}

public class YearAndPrefixTests
{
    [Fact]
    public void A_syslog_line_dated_after_the_file_was_written_belongs_to_the_year_before()
    {
        using var ms = new MemoryStream(System.Text.Encoding.UTF8.GetBytes("Dec 31 23:59:58 h kernel: ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n"));

        FileScanResult r = new LogScanner(notAfter: new DateTimeOffset(2027, 1, 1, 0, 5, 0, TimeSpan.Zero)).ScanStream(ms, "messages", null);

        r.Resets.Single().Event.Time.Should().Be(new DateTimeOffset(2026, 12, 31, 23, 59, 58, TimeSpan.Zero));
    }

    [Fact]
    public void Ena_com_trace_prefix_is_removed_before_matching()
    {
        FileScanResult r = Scan.Lines("ena: [ENA_COM: ena_com_wait_and_process_admin_cq_polling] Wait for completion (polling) timeout");

        r.Precursors.Should().ContainSingle().Which.Driver.Should().Be("ena");
    }

    [Fact]
    public void A_forced_format_is_used_for_ambiguous_input()
    {
        FileScanResult r = Scan.Text("3,1042,1234567890,-;ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n", LogFormat.Kmsg);

        r.Format.Should().Be(LogFormat.Kmsg);
        r.Resets.Single().Event.Ts.Should().Be("1234567890");
    }
}

public class GzipTrailerTests
{
    [Fact]
    public void A_gzip_cut_inside_its_trailer_is_truncated_though_all_the_data_was_there()
    {
        byte[] gz = Scan.Gzip(string.Concat(Enumerable.Range(0, 3000).Select(i => $"[ {i}.000000] line {i * 7919}\n")));

        FileScanResult whole = Scan.Bytes(gz, name: "a.gz");
        FileScanResult cut = Scan.Bytes(gz[..^4], name: "a.gz");

        whole.Error.Should().BeNull();
        cut.Error.Should().Contain("a.gz").And.Contain("truncated");
        cut.Lines.Should().Be(whole.Lines, "only the trailer is missing; all data was there");
    }
}

public class NulPaddingTests
{
    private const string Line = "Jul 14 10:10:22 h kernel: ena 0000:00:05.0 eth0: Keep alive watchdog timeout.";

    [Theory]
    [InlineData(100)]
    [InlineData(40_000)]
    [InlineData(3 * 1024 * 1024)]
    [InlineData((3 * 1024 * 1024) - 43)]
    public void Text_after_a_hole_of_nul_bytes_is_still_read(int holeBytes)
    {
        byte[] input = [.. "Jul 14 10:00:00 h kernel: before the crash\n"u8.ToArray(), .. new byte[holeBytes], .. System.Text.Encoding.UTF8.GetBytes(Line + "\n"), .. "Jul 14 10:10:23 h kernel: after\n"u8.ToArray()];

        FileScanResult r = Scan.Bytes(input);

        r.Resets.Should().ContainSingle().Which.Event.Line.Should().Be(2);
        r.Lines.Should().Be(3);
    }
}

public class ByteAccountingTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(2 * 1024 * 1024)]
    [InlineData((3 * 1024 * 1024) - 43)]
    public void Bytes_read_equal_the_input_length_whatever_gets_skipped(int holeBytes)
    {
        byte[] input = [.. "a\n"u8.ToArray(), .. new byte[holeBytes], .. "ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n"u8.ToArray(), .. new byte[1_500_000], .. "x\n"u8.ToArray()];

        Scan.Bytes(input).Bytes.Should().Be(input.Length);
    }
}

public class CollectorJsonTests
{
    [Fact]
    public void A_fluent_bit_record_wrapping_a_kern_log_line_is_read_with_the_inner_shape()
    {
        FileScanResult r = Scan.Lines("{\"log\":\"Jul 14 10:10:22 ip-10-0-1-5 kernel: [ 1234.567890] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\\n\",\"stream\":\"stdout\"}");

        ResetScope.Core.ResetEvent e = r.Resets.Single().Event;
        e.Host.Should().Be("ip-10-0-1-5");
        e.Time.Should().Be(new DateTimeOffset(2026, 7, 14, 10, 10, 22, TimeSpan.Zero));
        e.Reason.Should().Be(ResetScope.Core.ResetFamily.KeepAliveTimeout);
    }

    [Fact]
    public void A_collector_record_with_its_own_timestamp_and_host_keeps_them()
    {
        FileScanResult r = Scan.Lines("{\"@timestamp\":\"2026-07-14T10:10:22.5Z\",\"host\":\"node-7\",\"message\":\"ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\"}");

        ResetScope.Core.ResetEvent e = r.Resets.Single().Event;
        e.Host.Should().Be("node-7");
        e.Ts.Should().Be("2026-07-14T10:10:22.5Z");
        e.Time.Should().Be(new DateTimeOffset(2026, 7, 14, 10, 10, 22, 500, TimeSpan.Zero));
    }
}
