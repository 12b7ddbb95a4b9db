using System.Diagnostics;
using ResetScope.Host.Nic;

namespace ResetScope.Host.Tests.Nic;

/// <summary>The SIOCETHTOOL path on this machine's real interfaces.</summary>
public class EthtoolStatsTests
{
    private static string? NicWithDriver() => Directory.Exists("/sys/class/net")
        ? Directory.GetFileSystemEntries("/sys/class/net").Select(Path.GetFileName).FirstOrDefault(n => Directory.Exists($"/sys/class/net/{n}/device/driver"))
        : null;

    [Fact]
    public void A_real_NIC_lists_named_counters_as_ethtool_does()
    {
        if (NicWithDriver() is not { } nic)
        {
            return; // no NIC with a driver here
        }

        IReadOnlyList<(string Name, ulong Value)> stats = EthtoolStats.Read(nic);

        stats.Should().NotBeEmpty();
        stats.Select(s => s.Name).Should().OnlyHaveUniqueItems().And.OnlyContain(n => n.Length > 0);
        if (File.Exists("/usr/sbin/ethtool"))
        {
            var p = Process.Start(new ProcessStartInfo("/usr/sbin/ethtool", ["-S", nic]) { RedirectStandardOutput = true })!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            string[] names = output.Split('\n').Skip(1).Where(l => l.Contains(':', StringComparison.Ordinal)).Select(l => l.Trim()[..l.Trim().LastIndexOf(':')]).ToArray();
            stats.Select(s => s.Name).Should().Equal(names);
        }
    }

    [Fact]
    public void A_missing_interface_is_one_clear_error()
    {
        if (!Directory.Exists("/sys/class/net"))
        {
            return; // not Linux
        }

        FluentActions.Invoking(() => EthtoolStats.Read("nosuch0")).Should().Throw<IOException>().WithMessage("ethtool nosuch0: No such device*");
    }

    [Fact]
    public void An_interface_without_statistics_has_none()
    {
        if (!Directory.Exists("/sys/class/net/lo"))
        {
            return; // not Linux
        }

        EthtoolStats.Read("lo").Should().BeEmpty();
    }
}
