using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>
/// Class 8 of the issue "scan on logs nobody here wrote": the catalogue's own examples, mutated the way real logs are
/// (strip prefixes, wrap at 72/76/80 columns, interleave another stream, elide, repeat). For each class: the event
/// survives the mutation, or the scan says which mutated line it could not use and why; and nothing is ever invented
/// (<see cref="Mutations.Judge"/>). Fixed seeds: a failure replays the same cases; the message shows the shrunk case,
/// its input line by line, the expected event and what the scanner reported.
/// </summary>
public class MutationPropertyTests
{
    private const int Tests = 1000;

    private static Config Config(ulong seed) => FsCheck.Config.QuickThrowOnFailure
        .WithMaxTest(Tests)
        .WithQuietOnSuccess(true)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));

    private static Arbitrary<Case> Cases(int bases, int collectors) =>
        Arb.From(
            from b in Gen.Choose(0, bases - 1)
            from v in Gen.Choose(0, 999)
            from c in Gen.Choose(0, collectors - 1)
            from p in Gen.ArrayOf(Gen.Choose(0, 999), 12)
            select new Case(b, v, c, p),
            k => k.Shrink());

    /// <summary>Generates a base event in a collector shape, applies the mutation, scans, judges.</summary>
    private static void Holds(Func<BaseEvent, Collector, Case, Mutated> mutate, ulong seed)
    {
        Prop.ForAll(Cases(Mutations.Bases.Count, Mutations.Collectors.Count), k =>
        {
            BaseEvent b = Mutations.Build(k.Base, k.Variant);
            Collector c = Mutations.Collectors[k.Collector];
            Mutated m = mutate(b, c, k);
            FileScanResult r = Scan.Text(m.Text);
            string? verdict = Mutations.Judge(m, r);
            return Prop.Label(verdict is null, verdict is null ? "holds" : Mutations.Explain(k, m, r, verdict));
        }).Check(Config(seed));
    }

    [Fact]
    public void Every_base_event_unmutated_in_every_collector_shape_is_exactly_its_event()
    {
        var failures = new List<string>();
        for (int b = 0; b < Mutations.Bases.Count; b++)
        {
            for (int v = 0; v < 8; v++)
            {
                foreach (Collector c in Mutations.Collectors)
                {
                    Mutated m = Mutations.Unmutated(Mutations.Build(b, v), c);
                    FileScanResult r = Scan.Text(m.Text);
                    ExpectedReset e = m.Base.Expected;
                    bool exact = r.Resets.Count == 1 && r.UnusableLines == 0 && r.Resets[0].Event is var x
                        && x.Reason == e.Reason && x.Driver == e.Driver && x.Dev == e.Dev && x.Pci == e.Pci && x.Queue == e.Queue && x.Outcome == e.Outcome
                        && x.ThresholdUsec == e.ThresholdUsec && x.SinceNapiUsec == e.SinceNapiUsec && x.NapiScheduled == e.NapiScheduled
                        && x.NapiCpu == e.NapiCpu && x.DriverVersion == e.DriverVersion && x.Repeats == 1;
                    if (!exact)
                    {
                        failures.Add(Mutations.Explain(new Case(b, v, Mutations.Collectors.ToList().IndexOf(c), []), m, r, "NOT EXACT"));
                    }
                }
            }
        }

        failures.Should().BeEmpty("the base events are what the mutations start from; {0} of {1} differ", failures.Count, Mutations.Bases.Count * 8 * Mutations.Collectors.Count);
    }

    /// <summary>Class 1: the whole <c>drv BUS ifname: </c> prefix gone from some lines, or reduced to <c>ifname: </c> (corpus 008).</summary>
    [Fact]
    public void Stripped_device_prefixes_keep_the_event_or_are_reported_unusable()
    {
        Holds(Mutations.StripPrefix, seed: 8001);
    }

    /// <summary>Class 2: every line longer than 72, 76 or 80 columns wrapped, mail style (with or without the format=flowed space) or terminal style mid-word (corpus 015, 019, 020, 033, 014).</summary>
    [Fact]
    public void Lines_wrapped_at_72_76_or_80_columns_keep_the_event_or_are_reported_unusable()
    {
        Holds(Mutations.Wrap, seed: 8002);
    }

    /// <summary>Class 3: another device's and unrelated kernel lines between the event's lines; another program's output glued to the start of a console line (corpus 040, 045, 047).</summary>
    [Fact]
    public void Another_stream_interleaved_keeps_the_event_or_is_reported_unusable()
    {
        Holds((b, c, k) => Mutations.Interleave(b, c, k, Mutations.Foreign), seed: 8003);
    }

    /// <summary>Class 4: "...", "[...]", "..", "." lines; a run of repeated lines replaced by one; a line cut at a random point and ended with "..." (corpus 005, 008, 019, 021, 043).</summary>
    [Fact]
    public void Elisions_keep_the_event_or_are_reported_unusable()
    {
        Holds(Mutations.Elide, seed: 8004);
    }

    /// <summary>Class 5: a line or the whole excerpt pasted twice, with the same timestamps: the same records, so the same one reset.</summary>
    [Fact]
    public void A_repeated_paste_does_not_add_a_reset()
    {
        Holds(Mutations.Repeat, seed: 8005);
    }

    /// <summary>Issue item 5 mixed into the events: VF switches, link and carrier changes, bond failover, banners, counters, storage resets, WATCHDOG=1.</summary>
    [Fact]
    public void Look_alike_lines_interleaved_add_no_reset_and_change_no_field()
    {
        Holds((b, c, k) => Mutations.Interleave(b, c, k, Mutations.LookAlikes), seed: 8006);
    }

    /// <summary>
    /// Class 5, issue item 2: one ongoing stall fires the kernel ≥ 6.8 NETDEV WATCHDOG every ~5 s with a growing
    /// "timed out N ms": one event with repeats = firings, ts of the first, last_ts of the last, stalled_ms the largest.
    /// A new stall on the same queue after the queue recovered (the count starts again near 5000 ms) is a new event.
    /// </summary>
    [Fact]
    public void Watchdog_firings_of_one_stall_are_one_event_with_repeats_first_and_last_ts_and_the_longest_stall()
    {
        Prop.ForAll(Cases(Mutations.WatchdogDevices.Length, Mutations.Collectors.Count - 1), k =>
        {
            Mutations.Firings f = Mutations.WatchdogFirings(k);
            FileScanResult r = Scan.Text(f.Text);
            var want = new List<(int Repeats, string? Ts, string? LastTs, long StalledMs)> { Stall(f, 0, f.First.Count) };
            if (f.Second.Count > 0)
            {
                want.Add(Stall(f, f.First.Count, f.Second.Count));
            }

            var problems = new List<string>();
            if (r.Resets.Count != want.Count)
            {
                problems.Add($"{r.Resets.Count} event(s), expected {want.Count}");
            }

            for (int i = 0; i < Math.Min(want.Count, r.Resets.Count); i++)
            {
                ResetEvent x = r.Resets[i].Event;
                (int repeats, string? ts, string? lastTs, long stalled) = want[i];
                if (x.Repeats != repeats || x.Ts != ts || x.LastTs != lastTs || x.StalledMs != stalled || x.Reason != ResetFamily.NetdevWatchdog
                    || x.Queue != f.Queue || x.Dev != f.Dev || x.Driver != f.Driver || x.Pci != f.Pci)
                {
                    problems.Add($"event {i + 1}: expected repeats={repeats} ts={Fmt.V(ts)} last_ts={Fmt.V(lastTs)} stalled_ms={stalled} reason=netdev-watchdog queue={f.Queue} dev={f.Dev} driver={f.Driver} pci={Fmt.V(f.Pci)}");
                }
            }

            string Explain() =>
                $"""
                {string.Join("; ", problems)}
                  {k}; collector {f.Collector.Name}; first stall {f.First.Count} firing(s){(f.Second.Count > 0 ? $", then a new stall of {f.Second.Count}" : string.Empty)}
                  scanner: {Fmt.Scan(r)}
                  input:
                {string.Join("\n", f.Lines.Select((l, i) => $"  {i + 1,3} | {l}"))}
                """;
            return Prop.Label(problems.Count == 0, problems.Count == 0 ? "holds" : Explain());
        }).Check(Config(8007));
    }

    /// <summary>What one stall must give: repeats, the first firing's ts and the last's (as the scanner writes a lone firing's ts), the longest stall.</summary>
    private static (int Repeats, string? Ts, string? LastTs, long StalledMs) Stall(Mutations.Firings f, int from, int count)
    {
        (long At, long Ms)[] all = [.. f.First.Concat(f.Second)];
        int perRecord = f.Lines.Count / all.Length;
        string? TsOf(int i) => Scan.Text(string.Join("\n", f.Lines.Skip(i * perRecord).Take(perRecord)) + "\n").Resets.Single().Event.Ts;
        return (count, TsOf(from), count > 1 ? TsOf(from + count - 1) : null, all.Skip(from).Take(count).Max(x => x.Ms));
    }

    [Fact]
    public void Mail_wrap_keeps_every_character_and_the_flowed_space()
    {
        string line = "[ 1234.567890] ena 0000:00:05.0 eth0: The number of lost tx completions is above the threshold (248 > 128). Reset the device";

        string[] flowed = [.. Mutations.WrapLine(line, 72, Mutations.WrapStyle.MailFlowed)];
        string[] mail = [.. Mutations.WrapLine(line, 72, Mutations.WrapStyle.Mail)];
        string[] terminal = [.. Mutations.WrapLine(line, 72, Mutations.WrapStyle.Terminal)];

        flowed.Should().HaveCount(2).And.OnlyContain(l => l.Length <= 72);
        flowed[0].Should().EndWith(" ");
        string.Concat(flowed).Should().Be(line);
        string.Join(" ", mail).Should().Be(line);
        terminal[0].Should().HaveLength(72);
        string.Concat(terminal).Should().Be(line);
    }
}
