using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>Any values printed through a catalogue format come back out of the matcher unchanged (units converted).</summary>
public class CatalogueFieldPropertyTests
{
    private static readonly Signature[] s_withFields = [.. Catalogue.All.Where(s => s.Fields.Any(f => f != SignatureField.Ignore))];

    [Fact]
    public void Printed_values_are_the_decoded_values()
    {
        var matcher = new SignatureMatcher(Catalogue.All);
        Gen<(Signature Sig, int[] Values)> cases =
            from sig in Gen.Elements(s_withFields)
            from values in Gen.ArrayOf(Gen.Choose(0, 2_000_000), sig.Fields.Count)
            select (sig, values);

        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            object[] args = [.. c.Sig.Fields.Select((f, i) => f switch
            {
                SignatureField.NapiScheduled => (object)(c.Values[i] % 2),
                SignatureField.DriverInfo => $"Elastic Network Adapter (ENA) v2.{c.Values[i] % 20}.{c.Values[i] % 7}g",
                SignatureField.Ifname => $"eth{c.Values[i] % 64}",
                SignatureField.DriverName => "ena",
                SignatureField.CommPid => $"comm:{c.Values[i]}",
                SignatureField.Status => -(c.Values[i] % 200),
                _ => c.Values[i],
            })];
            string body = c.Sig.Render(args);
            string message = c.Sig.Prefix switch
            {
                PrefixStyle.FreeBsd => "ena0: " + body,
                PrefixStyle.Dpdk => "ENA_DRIVER: f(): " + body,
                PrefixStyle.Kernel => body,
                _ => $"{(c.Sig.Driver == "*" ? "r8169" : c.Sig.Driver)} 0000:00:05.0 eth0: {body}",
            };

            LineMatch m = matcher.Match(message, allowPartial: false);
            if (m.Signature?.Id != c.Sig.Id)
            {
                return false;
            }

            for (int i = 0; i < c.Sig.Fields.Count; i++)
            {
                int v = c.Values[i];
                bool ok = c.Sig.Fields[i] switch
                {
                    SignatureField.Queue => m.Fields.Queue == v,
                    SignatureField.ThresholdUsec => m.Fields.ThresholdUsec == v,
                    SignatureField.ThresholdMsec => m.Fields.ThresholdUsec == v * 1000L,
                    SignatureField.SinceNapiUsec => m.Fields.SinceNapiUsec == v,
                    SignatureField.SinceNapiMsec => m.Fields.SinceNapiUsec == v * 1000L,
                    SignatureField.NapiScheduled => m.Fields.NapiScheduled == (v % 2 == 1),
                    SignatureField.NapiCpu => m.Fields.NapiCpu == v,
                    SignatureField.Status => m.Fields.Status == -(v % 200),
                    SignatureField.DriverInfo => m.Fields.DriverVersion == $"2.{v % 20}.{v % 7}g",
                    SignatureField.Ifname => m.Fields.Ifname == $"eth{v % 64}",
                    SignatureField.Cpu => m.Fields.Cpu == v,
                    SignatureField.CommPid => m.Fields.Comm == "comm" && m.Fields.Pid == v,
                    SignatureField.DurationS => m.Fields.DurationS == v,
                    _ => true,
                };
                if (!ok)
                {
                    return false;
                }
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000).WithQuietOnSuccess(true));
    }
}
