using System.Text.RegularExpressions;

namespace ResetScope.Deploy.Tests;

/// <summary>
/// The agent's .NET runtime settings (a small gen0 budget, no tiered recompiles) are what bench/agent measured; the
/// launcher, the systemd unit and the DaemonSet must all run it with the same ones.
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
    public void The_systemd_unit_sets_them()
    {
        string environment = string.Join("\n", Repo.Read("deploy/systemd/resetscope-agent.service").Split('\n').Where(l => l.StartsWith("Environment=DOTNET_", StringComparison.Ordinal)));
        Settings(environment).Should().Equal(s_expected);
    }

    [Fact]
    public void The_DaemonSet_sets_them()
    {
        string manifest = Repo.Read("deploy/kubernetes/daemonset.yaml");
        var env = Regex.Matches(manifest, @"- name: ((?:DOTNET|MALLOC)_\w+)\s+value: ""([^""]*)""").ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        env.Should().Equal(s_expected);
    }
}
