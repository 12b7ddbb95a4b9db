using YamlDotNet.RepresentationModel;

namespace ResetScope.Deploy.Tests;

/// <summary>deploy/prometheus: the alert rules and their promtool unit tests.</summary>
public class PrometheusRulesTests
{
    private const string Rules = "deploy/prometheus/resetscope.rules.yml";
    private const string RuleTests = "deploy/prometheus/resetscope.rules.test.yml";

    internal static YamlMappingNode LoadYaml(string relative)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(Repo.Read(relative));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static IEnumerable<YamlMappingNode> AlertRules() =>
        ((YamlSequenceNode)LoadYaml(Rules)["groups"]).Cast<YamlMappingNode>()
            .SelectMany(g => ((YamlSequenceNode)g["rules"]).Cast<YamlMappingNode>())
            .Where(r => r.Children.ContainsKey("alert"));

    [ToolFact("promtool", "Debian package prometheus; ./run-tests installs it when run as root")]
    public void Promtool_check_rules_accepts_every_rule()
    {
        Repo.Result r = Repo.Run("promtool", "check", "rules", Repo.Path(Rules));

        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().MatchRegex(@"SUCCESS: \d+ rules found", r.ToString());
    }

    [ToolFact("promtool", "Debian package prometheus; ./run-tests installs it when run as root")]
    public void Promtool_unit_tests_pass()
    {
        Repo.Result r = Repo.Run("promtool", "test", "rules", Repo.Path(RuleTests));

        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().Contain("SUCCESS").And.NotContain("FAILED");
    }

    [ToolFact("promtool", "Debian package prometheus; ./run-tests installs it when run as root")]
    public void The_script_runs_both_promtool_checks()
    {
        Repo.Result r = Repo.Run("bash", Repo.Path("deploy/tests/promtool.sh"));

        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().Contain("rules found").And.Contain("Unit Testing");
    }

    [Fact]
    public void Every_alert_has_a_unit_test_where_it_fires_and_one_where_it_stays_silent()
    {
        var fires = new HashSet<string>();
        var silent = new HashSet<string>();
        foreach (YamlMappingNode test in ((YamlSequenceNode)LoadYaml(RuleTests)["tests"]).Cast<YamlMappingNode>())
        {
            foreach (YamlMappingNode check in ((YamlSequenceNode)test["alert_rule_test"]).Cast<YamlMappingNode>())
            {
                string name = check["alertname"].ToString();
                (((YamlSequenceNode)check["exp_alerts"]).Children.Count > 0 ? fires : silent).Add(name);
            }
        }

        string[] alerts = AlertRules().Select(r => r["alert"].ToString()).ToArray();
        alerts.Should().HaveCountGreaterThanOrEqualTo(10);
        fires.Should().BeEquivalentTo(alerts, "every alert needs a test that expects it to fire");
        silent.Should().BeEquivalentTo(alerts, "every alert needs a test that expects it to stay silent");
    }

    [Fact]
    public void Rules_use_only_metrics_and_labels_of_the_agent_contract()
    {
        foreach (YamlMappingNode rule in AlertRules())
        {
            string expr = rule["expr"].ToString();
            PromQlNames.Scan(expr).Selectors.Should().NotBeEmpty();
            List<string> unknown = PromQlNames.Unknown(expr);
            unknown.Should().BeEmpty($"{rule["alert"]}: {PromQlNames.Describe(unknown)}");
        }
    }

    [Fact]
    public void Every_alert_has_a_severity_and_a_runbook_section_in_the_deploy_guide()
    {
        string guide = Repo.Read("docs/deploy.md");
        foreach (YamlMappingNode rule in AlertRules())
        {
            string alert = rule["alert"].ToString();
            ((YamlMappingNode)rule["labels"])["severity"].ToString().Should().BeOneOf("warning", "critical");
            var annotations = (YamlMappingNode)rule["annotations"];
            annotations.Children.Keys.Select(k => k.ToString()).Should().BeEquivalentTo(["summary", "description", "runbook"], alert);
            string runbook = annotations["runbook"].ToString();
            runbook.Should().StartWith("docs/deploy.md#", alert);

            // GitHub's anchor for a heading "### NICResetRate" is "nicresetrate".
            string anchor = runbook["docs/deploy.md#".Length..];
            guide.Split('\n').Should().Contain(l => l.StartsWith('#') && l.TrimStart('#').Trim().ToLowerInvariant() == anchor,
                $"docs/deploy.md needs a heading for {alert}'s runbook anchor #{anchor}");
        }
    }
}
