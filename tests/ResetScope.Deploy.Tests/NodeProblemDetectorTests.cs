using System.Globalization;
using System.Text.Json;

namespace ResetScope.Deploy.Tests;

/// <summary>deploy/node-problem-detector/resetscope-nic-reset.json: a custom-plugin-monitor config.</summary>
public class NodeProblemDetectorTests
{
    private static JsonElement Config()
    {
        using JsonDocument doc = JsonDocument.Parse(Repo.Read("deploy/node-problem-detector/resetscope-nic-reset.json"));
        return doc.RootElement.Clone();
    }

    /// <summary>Go's time.ParseDuration for the forms used here (e.g. 1m, 20s, 500ms).</summary>
    private static TimeSpan Duration(JsonElement e)
    {
        string s = e.GetString()!;
        return s.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(double.Parse(s[..^2], CultureInfo.InvariantCulture))
            : s.EndsWith('s') ? TimeSpan.FromSeconds(double.Parse(s[..^1], CultureInfo.InvariantCulture))
            : s.EndsWith('m') ? TimeSpan.FromMinutes(double.Parse(s[..^1], CultureInfo.InvariantCulture))
            : throw new FormatException($"not a duration: {s}");
    }

    [Fact]
    public void It_is_a_custom_plugin_config_with_sane_timing()
    {
        JsonElement c = Config();
        c.GetProperty("plugin").GetString().Should().Be("custom");
        c.GetProperty("source").GetString().Should().NotBeNullOrWhiteSpace();
        JsonElement pc = c.GetProperty("pluginConfig");
        TimeSpan interval = Duration(pc.GetProperty("invoke_interval"));
        TimeSpan timeout = Duration(pc.GetProperty("timeout"));
        timeout.Should().BeLessThan(interval, "an invocation must finish before the next one starts");
        pc.GetProperty("max_output_length").GetInt32().Should().BeInRange(80, 1024);
        pc.GetProperty("concurrency").GetInt32().Should().BeGreaterThan(0);

        foreach (JsonElement rule in c.GetProperty("rules").EnumerateArray())
        {
            Duration(rule.GetProperty("timeout")).Should().BeLessThanOrEqualTo(timeout, "node-problem-detector rejects a rule timeout above the plugin's");
        }
    }

    [Fact]
    public void It_raises_NICResetRecently_through_resetscope_incidents_check()
    {
        JsonElement c = Config();
        JsonElement condition = c.GetProperty("conditions").EnumerateArray().Single();
        condition.GetProperty("type").GetString().Should().Be("NICResetRecently");
        condition.GetProperty("reason").GetString().Should().NotBeNullOrWhiteSpace("the default reason while the check exits 0");
        condition.GetProperty("message").GetString().Should().NotBeNullOrWhiteSpace();

        JsonElement[] rules = c.GetProperty("rules").EnumerateArray().ToArray();
        rules.Select(r => r.GetProperty("type").GetString()).Should().BeEquivalentTo(["temporary", "permanent"]);
        rules.Single(r => r.GetProperty("type").GetString() == "permanent").GetProperty("condition").GetString().Should().Be("NICResetRecently");

        // The binary the systemd install puts on the node, and the check the agent's store answers.
        string execStart = SystemdUnitTests.Settings().Single(s => s.Key == "ExecStart").Value;
        foreach (JsonElement rule in rules)
        {
            rule.GetProperty("reason").GetString().Should().NotBeNullOrWhiteSpace();
            rule.GetProperty("path").GetString().Should().Be(execStart.Split(' ')[0]);
            rule.GetProperty("args").EnumerateArray().Select(a => a.GetString()).Should().Equal("incidents", "check", "--within", "10m");
        }
    }
}
