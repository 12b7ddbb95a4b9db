namespace ResetScope.Deploy.Tests;

/// <summary>deploy/systemd/resetscope-agent.service.</summary>
public class SystemdUnitTests
{
    private const string UnitPath = "deploy/systemd/resetscope-agent.service";

    /// <summary>Every Key=Value of the unit in order (comments and section headers dropped).</summary>
    internal static List<(string Key, string Value)> Settings() =>
        Repo.Read(UnitPath).Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && l[0] is not ('#' or ';' or '['))
            .Select(l => (l[..l.IndexOf('=')], l[(l.IndexOf('=') + 1)..]))
            .ToList();

    private static string Single(string key)
    {
        string[] values = Settings().Where(s => s.Key == key).Select(s => s.Value).ToArray();
        values.Should().ContainSingle($"{key}= should be set once in {UnitPath}");
        return values[0];
    }

    [ToolFact("systemd-analyze", "Debian package systemd")]
    public void Systemd_analyze_verifies_the_unit_with_the_built_binary_and_rates_it_exposure_3_or_better()
    {
        File.Exists(Repo.BuiltResetScope).Should().BeTrue($"the Cli build puts the resetscope executable at {Repo.BuiltResetScope}");

        Repo.Result r = Repo.Run("bash", Repo.Path("deploy/tests/verify-systemd.sh"), Repo.BuiltResetScope);

        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().Contain("verify: no warnings").And.Contain("capabilities: CAP_SYSLOG CAP_DAC_READ_SEARCH CAP_SYS_PTRACE")
            .And.MatchRegex(@"Overall exposure level for resetscope-agent\.service: ([0-2]\.\d|3\.0) ", r.ToString());
    }

    [Fact]
    public void The_agent_notifies_readiness_and_is_watched()
    {
        Single("Type").Should().Be("notify");
        Single("NotifyAccess").Should().Be("main");
        Single("WatchdogSec").Should().Be("30s");
        Single("Restart").Should().Be("on-failure");
        Single("ExecStart").Should().StartWith("/usr/bin/resetscope agent ")
            .And.Contain("--metrics-listen ${RESETSCOPE_METRICS_LISTEN}")
            .And.Contain("--store /var/lib/resetscope/incidents.db");
    }

    [Fact]
    public void It_holds_exactly_three_capabilities_and_no_way_to_gain_more()
    {
        string[] three = ["CAP_SYSLOG", "CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"];
        Single("CapabilityBoundingSet").Split(' ').Should().BeEquivalentTo(three);
        Single("AmbientCapabilities").Split(' ').Should().BeEquivalentTo(three);
        Single("NoNewPrivileges").Should().Be("yes");
        Single("DynamicUser").Should().Be("yes");
        Settings().Should().NotContain(s => s.Key == "User" && s.Value == "root");
    }

    [Fact]
    public void It_can_write_only_its_state_directory_and_still_read_what_it_watches()
    {
        Single("ProtectSystem").Should().Be("strict");
        Single("ProtectHome").Should().Be("yes");
        Single("PrivateTmp").Should().Be("yes");
        Single("StateDirectory").Should().Be("resetscope");
        Single("StateDirectoryMode").Should().Be("0700");
        Single("RestrictAddressFamilies").Split(' ').Should().BeEquivalentTo(["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]);
        Single("DevicePolicy").Should().Be("closed");
        Single("DeviceAllow").Should().Be("/dev/kmsg r");

        // Each of these would hide /dev/kmsg, other processes' /proc entries or /proc/stat, or the host's NICs.
        Settings().Select(s => s.Key).Should().NotContain(["ProtectKernelLogs", "PrivateDevices", "ProtectProc", "ProcSubset", "PrivateNetwork"]);

        // The native binary has no JIT: nothing writable may become executable (ReleasePackageTests runs it so).
        Single("MemoryDenyWriteExecute").Should().Be("yes");
    }

    [Fact]
    public void Its_resources_are_bounded_around_the_agent_budget()
    {
        Single("MemoryMax").Should().Be("128M");
        Single("MemoryHigh").Should().Be("80M");
        Single("CPUQuota").Should().Be("25%");
        int.Parse(Single("LimitNOFILE"), System.Globalization.CultureInfo.InvariantCulture).Should().BeInRange(1024, 65536);
    }
}
