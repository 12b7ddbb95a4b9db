using System.Text.RegularExpressions;

namespace ResetScope.Deploy.Tests;

/// <summary>
/// The JIT agent's .NET runtime settings (a small gen0 budget, no tiered recompiles) are what bench/agent measured, and
/// the launcher sets them. The systemd unit and the DaemonSet run the NativeAOT binary, which needs none: no JIT, and the
/// same RSS with or without the gen0 budget (bench/agent/README.md). Copied there they would mislead, and
/// DOTNET_GCgen0size=0x100000 would not even be read: NativeAOT takes the value as hex digits only, without "0x".
/// </summary>
public sealed partial class AgentRuntimeSettingsTests
{
    private static readonly Dictionary<string, string> s_expected = new()
    {
        ["DOTNET_GCgen0size"] = "0x100000",
        ["DOTNET_TieredCompilation"] = "0",
        ["DOTNET_TieredPGO"] = "0",
        ["DOTNET_gcConcurrent"] = "0",
        ["MALLOC_MMAP_THRESHOLD_"] = "65536",
    };

    [GeneratedRegex(@"((?:DOTNET|MALLOC)_\w+)=(?:""\$\{\1:-)?([0-9a-fx]+)")]
    private static partial Regex Setting();

    private static Dictionary<string, string> Settings(string text) =>
        Setting().Matches(text).Where(m => m.Groups[2].Value.Length > 0).GroupBy(m => m.Groups[1].Value).ToDictionary(g => g.Key, g => g.First().Groups[2].Value);

    [Fact]
    public void The_launcher_sets_them_for_the_agent()
    {
        string launcher = Repo.Read("resetscope");
        Settings(launcher[launcher.IndexOf("if [ \"${1:-}\" = agent ]", StringComparison.Ordinal)..]).Should().Equal(s_expected);
    }

    [Fact]
    public void The_systemd_unit_sets_none()
    {
        string[] environment = Repo.Read("deploy/systemd/resetscope-agent.service").Split('\n').Where(l => l.StartsWith("Environment=", StringComparison.Ordinal)).ToArray();
        environment.Should().NotBeEmpty().And.NotContain(l => l.Contains("DOTNET_", StringComparison.Ordinal) || l.Contains("MALLOC_", StringComparison.Ordinal));
    }

    [Fact]
    public void The_DaemonSet_sets_none()
    {
        string manifest = Repo.Read("deploy/kubernetes/daemonset.yaml");
        Regex.Matches(manifest, @"- name: ((?:DOTNET|MALLOC)_\w+)").Select(m => m.Groups[1].Value).Should().BeEmpty();
    }
}
