using System.Globalization;
using FluentAssertions;
using System.Text;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>
/// The live path (a record at a time, as the agent feeds /dev/kmsg) decides what a reset is exactly as <c>scan</c> does
/// for the same records printed by dmesg — over every file of the held-out corpus and the fixtures, whatever the
/// batches the reader takes its changes in — and stays bounded under floods.
/// </summary>
public sealed class KernelRecordAssemblerTests
{
    private static readonly string s_testDir = AppContext.BaseDirectory;

    public static TheoryData<string> Logs()
    {
        var data = new TheoryData<string>();
        foreach (string dir in (string[])["corpus/kernel-logs", "fixtures"])
        {
            foreach (string f in Directory.GetFiles(Path.Combine(s_testDir, dir), "*.log").OrderBy(f => f, StringComparer.Ordinal))
            {
                data.Add(Path.Combine(dir, Path.GetFileName(f)));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Logs))]
    public void Records_fed_one_at_a_time_make_the_events_a_scan_of_their_dmesg_print_makes(string log)
    {
        List<(long Ts, string Text)> records = Records(File.ReadAllLines(Path.Combine(s_testDir, log)));
        FileScanResult scanned = Scan.Text(Dmesg(records), LogFormat.Auto, "/dev/kmsg");

        foreach (int seed in (int[])[1, 2, 3])
        {
            (List<ResetEvent> resets, List<StarvationEvent> starvations, List<PrecursorEvent> precursors) = Live(records, new Random(seed));

            resets.Should().Equal(scanned.Resets.Select(r => AsLive(r.Event)), (a, b) => Same(a, b), $"{log}, batches of seed {seed}");
            starvations.Should().Equal(scanned.Starvations, $"{log}, seed {seed}");
            precursors.Should().Equal(scanned.Precursors, $"{log}, seed {seed}");
        }
    }

    [Fact]
    public void The_corpus_gives_the_live_path_resets_of_every_family_to_agree_on()
    {
        var families = new HashSet<ResetFamily>();
        int resets = 0;
        foreach (string log in Logs())
        {
            List<(long, string)> records = Records(File.ReadAllLines(Path.Combine(s_testDir, log)));
            foreach (ResetEvent e in Live(records, new Random(1)).Resets)
            {
                families.Add(e.Reason);
                resets++;
            }
        }

        resets.Should().BeGreaterThanOrEqualTo(43, "the held-out corpus holds 43 resets");
        families.Should().Contain([ResetFamily.TxCompletionTimeout, ResetFamily.KeepAliveTimeout, ResetFamily.NetdevWatchdog, ResetFamily.UnresponsiveDevice]);
    }

    [Fact]
    public void A_reset_in_flight_is_shown_as_it_reads_so_far_and_keeps_its_id_until_it_closes()
    {
        var live = new KernelRecordAssembler();
        var changes = new AssemblerChanges();
        Feed(live, 10, 86_414_761_669, "ena 0000:20:03.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1");
        live.Take(changes);

        AssembledReset first = changes.Resets.Should().ContainSingle().Subject;
        first.Closed.Should().BeFalse();
        first.FirstSequence.Should().Be(10);
        first.LastUptimeUs.Should().Be(86_414_761_669);
        first.Event.Outcome.Should().Be(ResetOutcome.Unknown);
        first.Event.Queue.Should().Be(5);

        changes.Clear();
        live.Take(changes);
        changes.IsEmpty.Should().BeTrue("nothing changed since");

        Feed(live, 11, 86_414_800_000, "ena 0000:20:03.0 eth0: Trigger reset is on");
        Feed(live, 14, 86_420_524_330, "ena 0000:20:03.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g");
        live.Take(changes);

        AssembledReset closed = changes.Resets.Should().ContainSingle().Subject;
        closed.Should().Match<AssembledReset>(r => r.Id == first.Id && r.Closed && r.FirstSequence == 10 && r.LastUptimeUs == 86_420_524_330);
        closed.Event.Outcome.Should().Be(ResetOutcome.Completed);
        closed.Event.Lines.Should().Equal(10, 11, 14);
        closed.Event.Line.Should().Be(10);
        live.OpenResets.Should().Be(0);
    }

    [Fact]
    public void A_reset_no_later_record_can_join_ends_when_the_kernel_clock_passes_the_gap()
    {
        var live = new KernelRecordAssembler();
        var changes = new AssemblerChanges();
        Feed(live, 1, 5_000_000, "ena 0000:00:05.0 eth0: Keep alive watchdog timeout.");
        live.Take(changes, uptimeUs: 5_000_000 + 120_000_000);
        changes.Resets.Should().ContainSingle().Which.Closed.Should().BeFalse("120 s is still within the gap");

        changes.Clear();
        live.Take(changes, uptimeUs: 5_000_000 + 120_000_001);
        changes.Resets.Should().ContainSingle().Which.Should().Match<AssembledReset>(r => r.Closed && r.Event.Reason == ResetFamily.KeepAliveTimeout);
    }

    [Fact]
    public void A_reset_request_the_driver_cancels_is_withdrawn()
    {
        var live = new KernelRecordAssembler();
        var changes = new AssemblerChanges();
        Feed(live, 1, 1_000_000, "gve 0000:00:04.0 eth0: Timeout on tx queue, 3");
        live.Take(changes);
        long id = changes.Resets.Should().ContainSingle().Subject.Id;

        changes.Clear();
        Feed(live, 2, 1_000_200, "gve 0000:00:04.0 eth0: Kicking queue 3");
        live.Take(changes);

        changes.Withdrawn.Should().Equal(id);
    }

    [Fact]
    public void An_escaped_record_reads_as_dmesg_prints_it_one_line_per_embedded_newline()
    {
        var live = new KernelRecordAssembler();
        var changes = new AssemblerChanges();
        // The kernel escapes the newlines and the UTF-8 bytes; the last line is the reset's start.
        live.Feed(7, 2_000_000, "ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\\x0a\\xe2\\x9c\\x93 ena: a line of no event\\x0aena 0000:00:05.0 eth0: Trigger reset is on"u8);
        live.Finish();
        live.Take(changes);

        ResetEvent e = changes.Resets.Should().ContainSingle().Subject.Event;
        e.Reason.Should().Be(ResetFamily.KeepAliveTimeout);
        e.Lines.Should().Equal(7);
        e.Ts.Should().Be("2.000000");
    }

    [Fact]
    public void Records_without_a_needle_are_counted_and_never_parsed()
    {
        var live = new KernelRecordAssembler();
        for (ulong s = 0; s < 1000; s++)
        {
            live.Feed(s, (long)s * 1000, "audit: type=1400 audit(1700000000.123:42): apparmor=\"DENIED\" operation=\"open\""u8);
        }

        live.Records.Should().Be(1000);
        live.CandidateRecords.Should().Be(0);
    }

    [Fact]
    public void A_flood_of_devices_and_open_resets_stays_within_the_caps_and_is_counted()
    {
        var live = new KernelRecordAssembler();
        var changes = new AssemblerChanges();
        int devices = EventAssembler.MaxDevices * 3;
        for (int i = 0; i < devices; i++)
        {
            // A reset opened on every device, none ever closed: past the cap the one idle longest ends.
            Feed(live, (ulong)i + 1, 1_000_000 + i, string.Create(CultureInfo.InvariantCulture, $"ena 0000:{i / 256:x2}:{i % 256:x2}.0 eth{i}: Keep alive watchdog timeout."));
            if (i % 100 == 0)
            {
                live.Take(changes);
                changes.Clear();
            }

            live.OpenResets.Should().BeLessThanOrEqualTo(EventAssembler.MaxOpen);
        }

        live.Take(changes);
        live.CappedEntries.Should().Be((devices - EventAssembler.MaxOpen) + (3L * (devices - EventAssembler.MaxDevices)),
            "every reset closed to make room, and each new device past the cap in the three identity maps (bus→if, if→bus, if→driver)");
    }

    [Fact]
    public void A_flood_of_lines_in_one_reset_keeps_at_most_the_cap_of_its_lines()
    {
        var live = new KernelRecordAssembler();
        var changes = new AssemblerChanges();
        Feed(live, 1, 1_000_000, "ena 0000:00:05.0 eth0: Keep alive watchdog timeout.");
        for (int i = 0; i < 5000; i++)
        {
            Feed(live, (ulong)i + 2, 1_000_001 + i, string.Create(CultureInfo.InvariantCulture, $"ena 0000:00:05.0 eth0: Free uncompleted tx skb qid 3 idx 0x{i:x}"));
        }

        live.Finish();
        live.Take(changes);

        changes.Resets.Should().ContainSingle().Which.Event.Lines.Should().HaveCount(EventAssembler.MaxLinesPerReset);
    }

    private static void Feed(KernelRecordAssembler live, ulong seq, long ts, string text) => live.Feed(seq, ts, Escape(text));

    /// <summary>The text as /dev/kmsg prints it: bytes below 0x20, from 0x7f up and the backslash as \xNN.</summary>
    private static byte[] Escape(string text)
    {
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            sb.Append(b < 0x20 || b >= 0x7F || b == (byte)'\\' ? string.Create(CultureInfo.InvariantCulture, $"\\x{b:x2}") : ((char)b).ToString());
        }

        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>Each line of a log as a kernel record: its own text, its uptime stamp (or one a millisecond after the last).</summary>
    private static List<(long Ts, string Text)> Records(string[] lines)
    {
        var records = new List<(long, string)>();
        long ts = 1_000_000;
        foreach (string line in lines)
        {
            ShapedLine shaped = LineShape.Parse(line, LogFormat.Auto, 2026);
            if (shaped.Body.Trim().Length == 0)
            {
                continue;
            }

            ts = shaped.UptimeUs is { } up && up > ts ? up : ts + 1000;
            records.Add((ts, shaped.Body.Replace("\n", " ", StringComparison.Ordinal)));
        }

        return records;
    }

    private static string Dmesg(List<(long Ts, string Text)> records)
    {
        var sb = new StringBuilder();
        foreach ((long ts, string text) in records)
        {
            sb.Append(CultureInfo.InvariantCulture, $"[{ts / 1_000_000,5}.{ts % 1_000_000:D6}] {text}\n");
        }

        return sb.ToString();
    }

    /// <summary>Feeds the records with sequence numbers = line numbers, taking changes after batches of random size.</summary>
    private static (List<ResetEvent> Resets, List<StarvationEvent> Starvations, List<PrecursorEvent> Precursors) Live(List<(long Ts, string Text)> records, Random batches)
    {
        var live = new KernelRecordAssembler();
        var changes = new AssemblerChanges();
        var closed = new List<ResetEvent>();
        var starvations = new List<StarvationEvent>();
        var precursors = new List<PrecursorEvent>();
        var inFlight = new Dictionary<long, ResetEvent>();

        void Take()
        {
            live.Take(changes);
            foreach (AssembledReset r in changes.Resets)
            {
                if (r.Closed)
                {
                    inFlight.Remove(r.Id);
                    closed.Add(r.Event);
                }
                else
                {
                    inFlight[r.Id] = r.Event;
                }
            }

            foreach (long id in changes.Withdrawn)
            {
                inFlight.Remove(id);
            }

            starvations.AddRange(changes.Starvations.Select(s => s.Event));
            precursors.AddRange(changes.Precursors.Select(p => p.Event));
            changes.Clear();
        }

        int next = batches.Next(1, 8);
        for (int i = 0; i < records.Count; i++)
        {
            live.Feed((ulong)i + 1, records[i].Ts, Escape(records[i].Text));
            if (--next == 0)
            {
                Take();
                next = batches.Next(1, 8);
            }
        }

        live.Finish();
        Take();
        inFlight.Should().BeEmpty("every reset shown in flight closes or is withdrawn");
        closed.Sort((a, b) => (a.Lines.LastOrDefault()).CompareTo(b.Lines.LastOrDefault()));
        starvations.Sort((a, b) => (a.Line ?? 0).CompareTo(b.Line ?? 0));
        precursors.Sort((a, b) => (a.Line ?? 0).CompareTo(b.Line ?? 0));
        return (closed, starvations, precursors);
    }

    /// <summary>A scanned event as the live path locates it: in /dev/kmsg, at its first record.</summary>
    private static ResetEvent AsLive(ResetEvent e) => e with { Line = e.Lines.Count > 0 ? e.Lines[0] : e.Line };

    private static bool Same(ResetEvent a, ResetEvent b) => a with { Lines = [] } == b with { Lines = [] } && a.Lines.SequenceEqual(b.Lines);
}
