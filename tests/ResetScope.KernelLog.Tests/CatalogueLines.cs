using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>Builds a kernel message for a catalogue entry from its format string, and the fields it must yield.</summary>
internal static class CatalogueLines
{
    public const int Queue = 5;
    public const long ThresholdUsec = 5_000_000;
    public const long ThresholdMsec = 5_000;
    public const long SinceNapiUsec = 6_596_000;
    public const long SinceNapiMsec = 6_596;
    public const int NapiCpu = 39;
    public const int Cpu = 39;
    public const string DriverInfo = "Elastic Network Adapter (ENA) v2.11.0g";

    public static Signature Get(string id) => Catalogue.All.Single(s => s.Id == id);

    /// <summary>The argument values, in printed order, for the entry's conversions.</summary>
    public static object[] Args(Signature s) => [.. s.Fields.Select(f => f switch
    {
        SignatureField.Queue => (object)Queue,
        SignatureField.ThresholdUsec => ThresholdUsec,
        SignatureField.ThresholdMsec => ThresholdMsec,
        SignatureField.SinceNapiUsec => SinceNapiUsec,
        SignatureField.SinceNapiMsec => SinceNapiMsec,
        SignatureField.NapiScheduled => 1,
        SignatureField.NapiCpu => NapiCpu,
        SignatureField.Status => 0,
        SignatureField.DriverInfo => DriverInfo,
        SignatureField.Ifname => "eth0",
        SignatureField.DriverName => "ena",
        SignatureField.Cpu => Cpu,
        SignatureField.CommPid => "kubelet:1234",
        SignatureField.DurationS => 22,
        _ => 7,
    })];

    /// <summary>The whole message as the driver prints it, device prefix included.</summary>
    public static string Message(Signature s)
    {
        string text = s.Render(Args(s));
        return s.Prefix switch
        {
            PrefixStyle.FreeBsd => "ena0: " + text,
            PrefixStyle.Dpdk => "ENA_DRIVER: ena_timer_wd_callback(): " + text,
            PrefixStyle.Kernel => s.StarvationType switch
            {
                "soft-lockup" => "watchdog: " + text,
                "nmi-watchdog" => "NMI watchdog: " + text,
                "rcu-stall" => "rcu: " + text + ":",
                _ => text,
            },
            _ => $"{s.Driver switch { "*" => "r8169", var d => d }} {Bus(s)} {Ifname(s)}: {text}",
        };
    }

    public static string Bus(Signature s) => s.Driver switch
    {
        "ena" => "0000:00:05.0",
        "virtio_net" => "virtio0",
        "hv_netvsc" => "6045bd8e-7a3b-6045-bd8e-7a3b6045bd8e",
        "r8152" => "2-1:1.0",
        "*" => "0000:02:00.0",
        _ => "0000:03:00.0",
    };

    public static string Ifname(Signature s) => s.Prefix switch
    {
        PrefixStyle.FreeBsd => "ena0",
        PrefixStyle.Kernel => "eth0",
        _ => s.Driver switch
        {
            "ena" => "eth0",
            "*" => "enp2s0",
            _ => "eth1",
        },
    };

    public static string? ExpectedDriver(Signature s) => s.Prefix == PrefixStyle.Kernel ? "ena" : s.Driver == "*" ? "r8169" : s.Driver;

    public static string? ExpectedDev(Signature s) => s.Prefix == PrefixStyle.Dpdk ? null : Ifname(s);

    public static string? ExpectedPci(Signature s) => s.Prefix is PrefixStyle.Kernel or PrefixStyle.FreeBsd or PrefixStyle.Dpdk ? null
        : SignatureMatcherProbe.IsPci(Bus(s)) ? Bus(s) : null;

    public static bool ProducesReset(Signature s) => s.Role switch
    {
        SignatureRole.Trigger or SignatureRole.Start => true,
        SignatureRole.Completion or SignatureRole.Failure => s.ImpliesReset,
        _ => false,
    };

    public static T? If<T>(Signature s, SignatureField f, T value)
        where T : struct => s.Fields.Contains(f) ? value : null;

    public static ResetOutcome ExpectedOutcome(Signature s) => s.Role switch
    {
        SignatureRole.Completion => ResetOutcome.Completed,
        SignatureRole.Failure => ResetOutcome.Failed,
        _ => ResetOutcome.Unknown,
    };

    public static string? ExpectedEnaReason(Signature s) =>
        ExpectedDriver(s) != "ena" || s.EnaReasonByVersion is not null ? null : s.EnaReason;
}

internal static class SignatureMatcherProbe
{
    public static bool IsPci(string bus) => System.Text.RegularExpressions.Regex.IsMatch(bus, @"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$");
}
