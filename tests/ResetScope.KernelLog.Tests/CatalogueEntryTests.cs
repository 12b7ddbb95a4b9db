using FluentAssertions;
using ResetScope.Core;
using ResetScope.KernelLog;
using Xunit;

namespace ResetScope.KernelLog.Tests;

/// <summary>Every catalogue entry, rendered from its own format string, in every input shape, yields exactly its fields.</summary>
public class CatalogueEntryTests
{
    public static TheoryData<string, string> EntriesByShape()
    {
        var data = new TheoryData<string, string>();
        foreach (Signature s in Catalogue.All)
        {
            foreach (string shape in Shapes.All.Keys)
            {
                data.Add(s.Id, shape);
            }
        }

        return data;
    }

    public static TheoryData<string> Entries()
    {
        var data = new TheoryData<string>();
        foreach (Signature s in Catalogue.All)
        {
            data.Add(s.Id);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void The_message_rendered_from_the_format_matches_that_entry_and_no_other(string id)
    {
        Signature s = CatalogueLines.Get(id);
        var matcher = new SignatureMatcher(Catalogue.All);

        LineMatch m = matcher.Match(CatalogueLines.Message(s), allowPartial: false);

        m.Kind.Should().Be(MatchKind.Signature);
        m.Signature!.Id.Should().Be(id);
        m.Partial.Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Every_entry_contains_a_prefilter_needle(string id)
    {
        string message = CatalogueLines.Message(CatalogueLines.Get(id));

        LogScanner.IsCandidate(System.Text.Encoding.UTF8.GetBytes(message)).Should().BeTrue(message);
    }

    public static TheoryData<string> DistinctiveEntries()
    {
        var data = new TheoryData<string>();
        foreach (Signature s in Catalogue.All.Where(s => s.Prefix is PrefixStyle.Linux or PrefixStyle.FreeBsd && s.Role != SignatureRole.Detail && s.LiteralLength >= 24))
        {
            data.Add(s.Id);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DistinctiveEntries))]
    public void Every_entry_long_enough_to_be_told_without_its_device_prefix_still_has_a_needle_without_it(string id)
    {
        Signature s = CatalogueLines.Get(id);
        string stripped = "eth1: " + s.Render(CatalogueLines.Args(s));

        LogScanner.IsCandidate(System.Text.Encoding.UTF8.GetBytes(stripped)).Should().BeTrue(stripped);
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Every_entry_names_one_field_per_conversion(string id)
    {
        Signature s = CatalogueLines.Get(id);

        s.Fields.Count.Should().Be(PrintfPattern.ConversionCount(s.Format));
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void The_entry_in_a_gzip_file_gives_the_same_events_as_in_plain_text(string id)
    {
        string text = Shapes.All["syslog-kernel-ts"](CatalogueLines.Message(CatalogueLines.Get(id)));

        FileScanResult plain = Scan.Text(text);
        FileScanResult gz = Scan.Bytes(Scan.Gzip(text), name: "kern.log.1.gz");

        gz.Error.Should().BeNull();
        gz.Resets.Select(r => r.Event with { File = "kern.log" }).Should().BeEquivalentTo(plain.Resets.Select(r => r.Event));
        gz.Precursors.Select(p => p with { File = "kern.log" }).Should().BeEquivalentTo(plain.Precursors);
        gz.Starvations.Select(x => x with { File = "kern.log" }).Should().BeEquivalentTo(plain.Starvations);
    }

    [Theory]
    [MemberData(nameof(EntriesByShape))]
    public void The_entry_in_this_shape_gives_exactly_the_expected_event(string id, string shape)
    {
        Signature s = CatalogueLines.Get(id);
        string text = Shapes.All[shape](CatalogueLines.Message(s));

        FileScanResult r = Scan.Text(text);

        r.Error.Should().BeNull();
        if (CatalogueLines.ProducesReset(s))
        {
            r.Resets.Should().ContainSingle();
            ResetEvent e = r.Resets[0].Event;
            int line = shape == "dmesg-H" || shape == "serial-interleaved" ? 2 : shape == "journal-export" ? 6 : 1;
            e.Line.Should().Be(line);
            e.Lines.Should().Equal(line);
            e.Driver.Should().Be(CatalogueLines.ExpectedDriver(s));
            e.Dev.Should().Be(CatalogueLines.ExpectedDev(s));
            e.Pci.Should().Be(CatalogueLines.ExpectedPci(s));
            e.Host.Should().Be(Shapes.WithHost.Contains(shape) ? Shapes.Host : null);
            e.Reason.Should().Be(s.Family);
            e.EnaReason.Should().Be(CatalogueLines.ExpectedEnaReason(s));
            e.Queue.Should().Be(CatalogueLines.If(s, SignatureField.Queue, CatalogueLines.Queue));
            e.ThresholdUsec.Should().Be(CatalogueLines.If(s, SignatureField.ThresholdUsec, CatalogueLines.ThresholdUsec) ?? CatalogueLines.If(s, SignatureField.ThresholdMsec, CatalogueLines.ThresholdMsec * 1000));
            e.SinceNapiUsec.Should().Be(CatalogueLines.If(s, SignatureField.SinceNapiUsec, CatalogueLines.SinceNapiUsec) ?? CatalogueLines.If(s, SignatureField.SinceNapiMsec, CatalogueLines.SinceNapiMsec * 1000));
            e.NapiScheduled.Should().Be(CatalogueLines.If(s, SignatureField.NapiScheduled, true));
            e.NapiCpu.Should().Be(CatalogueLines.If(s, SignatureField.NapiCpu, CatalogueLines.NapiCpu));
            e.Outcome.Should().Be(CatalogueLines.ExpectedOutcome(s));
            e.DriverVersion.Should().Be(s.Fields.Contains(SignatureField.DriverInfo) ? "2.11.0g" : null);
            r.Precursors.Should().BeEmpty();
            r.Starvations.Should().BeEmpty();
        }
        else if (s.Role == SignatureRole.Precursor || s.PrecursorWhenAlone)
        {
            r.Resets.Should().BeEmpty();
            r.Precursors.Should().ContainSingle();
            PrecursorEvent p = r.Precursors[0];
            p.Driver.Should().Be(CatalogueLines.ExpectedDriver(s));
            p.Dev.Should().Be(CatalogueLines.ExpectedDev(s));
            p.Queue.Should().Be(CatalogueLines.If(s, SignatureField.Queue, CatalogueLines.Queue));
            p.Text.Should().Be(CatalogueLines.Message(s));
        }
        else if (s.Role == SignatureRole.Starvation)
        {
            r.Resets.Should().BeEmpty();
            r.Starvations.Should().ContainSingle();
            StarvationEvent st = r.Starvations[0];
            st.Type.Should().Be(s.StarvationType);
            st.Cpu.Should().Be(CatalogueLines.If(s, SignatureField.Cpu, CatalogueLines.Cpu));
            st.Comm.Should().Be(s.Fields.Contains(SignatureField.CommPid) ? "kubelet" : null);
            st.Pid.Should().Be(CatalogueLines.If(s, SignatureField.CommPid, 1234));
            st.DurationS.Should().Be(CatalogueLines.If(s, SignatureField.DurationS, 22.0));
        }
        else
        {
            // Detail, Cancel and device-less completions add to an open reset; alone they are not one.
            r.Resets.Should().BeEmpty();
            r.Precursors.Should().BeEmpty();
            r.Starvations.Should().BeEmpty();
        }
    }
}

