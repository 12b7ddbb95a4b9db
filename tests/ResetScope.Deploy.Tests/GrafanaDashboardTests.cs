using System.Text.Json;
using System.Text.RegularExpressions;

namespace ResetScope.Deploy.Tests;

/// <summary>deploy/grafana/resetscope-dashboard.json.</summary>
public partial class GrafanaDashboardTests
{
    private static JsonElement Dashboard()
    {
        using JsonDocument doc = JsonDocument.Parse(Repo.Read("deploy/grafana/resetscope-dashboard.json"));
        return doc.RootElement.Clone();
    }

    private static IEnumerable<JsonElement> Panels() => Dashboard().GetProperty("panels").EnumerateArray();

    /// <summary>Every PromQL expression: panel targets and annotation queries.</summary>
    private static IEnumerable<(string Where, string Expr)> Queries()
    {
        foreach (JsonElement panel in Panels().Where(p => p.TryGetProperty("targets", out _)))
        {
            foreach (JsonElement target in panel.GetProperty("targets").EnumerateArray())
            {
                yield return (panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!);
            }
        }

        foreach (JsonElement annotation in Dashboard().GetProperty("annotations").GetProperty("list").EnumerateArray().Where(a => a.TryGetProperty("expr", out _)))
        {
            yield return ($"annotation {annotation.GetProperty("name").GetString()}", annotation.GetProperty("expr").GetString()!);
        }
    }

    /// <summary>Grafana's variables replaced by values Prometheus accepts.</summary>
    private static string AsPromQl(string expr) => expr.Replace("$__rate_interval", "1m", StringComparison.Ordinal)
        .Replace("$instance", ".*", StringComparison.Ordinal).Replace("$node", ".*", StringComparison.Ordinal);

    [Fact]
    public void It_is_a_dashboard_with_unique_panel_ids_data_source_and_node_variables()
    {
        JsonElement d = Dashboard();
        d.GetProperty("uid").GetString().Should().Be("resetscope-agent");
        d.GetProperty("schemaVersion").GetInt32().Should().BeInRange(36, 41);
        Panels().Select(p => p.GetProperty("id").GetInt32()).Should().OnlyHaveUniqueItems();
        Panels().Where(p => !p.TryGetProperty("gridPos", out _) || !p.TryGetProperty("type", out _)).Should().BeEmpty("every panel has a type and a position");
        Panels().Where(p => p.GetProperty("type").GetString() != "row")
            .Should().OnlyContain(p => p.GetProperty("datasource").GetProperty("uid").GetString() == "${datasource}");

        string[] variables = d.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()!).ToArray();
        variables.Should().Equal("datasource", "node", "instance");
        Queries().Should().OnlyContain(q => q.Expr.Contains("instance=~\"$instance\"", StringComparison.Ordinal) && q.Expr.Contains("node=~\"$node\"", StringComparison.Ordinal),
            "every query follows the node and instance selection");
    }

    [Fact]
    public void Its_queries_use_only_metrics_and_labels_of_the_agent_contract_and_show_every_metric()
    {
        var used = new HashSet<string>();
        foreach ((string where, string expr) in Queries())
        {
            List<string> unknown = PromQlNames.Unknown(AsPromQl(expr));
            unknown.Should().BeEmpty($"{where}: {PromQlNames.Describe(unknown)}");
            used.UnionWith(PromQlNames.Scan(expr).Selectors.Select(s => s.Metric));
        }

        foreach (JsonElement variable in Dashboard().GetProperty("templating").GetProperty("list").EnumerateArray().Where(v => v.GetProperty("type").GetString() == "query"))
        {
            Match m = LabelValues().Match(variable.GetProperty("query").GetProperty("query").GetString()!);
            m.Success.Should().BeTrue();
            PromQlNames.Unknown(AsPromQl(m.Groups["selector"].Value)).Should().BeEmpty();
            MetricContract.TargetLabels.Should().Contain(m.Groups["label"].Value);
        }

        used.Should().Contain(MetricContract.Families.Keys, "the dashboard shows every metric the agent exports");
    }

    [Fact]
    public void Legends_name_only_labels_the_query_keeps()
    {
        foreach (JsonElement panel in Panels().Where(p => p.TryGetProperty("targets", out _)))
        {
            foreach (JsonElement target in panel.GetProperty("targets").EnumerateArray())
            {
                string expr = target.GetProperty("expr").GetString()!;
                PromQlNames names = PromQlNames.Scan(expr);
                string[] legendLabels = LegendLabel().Matches(target.GetProperty("legendFormat").GetString() ?? "").Select(m => m.Groups[1].Value).ToArray();

                // With an aggregation the result keeps only its `by` labels; without one, the series' own labels.
                IEnumerable<string> kept = names.GroupingLabels.Count > 0
                    ? names.GroupingLabels
                    : names.Selectors.Where(s => s.Metric != "").SelectMany(s => MetricContract.LabelsOf(s.Metric));
                legendLabels.Should().BeSubsetOf(kept, $"{panel.GetProperty("title")}: {expr}");
            }
        }
    }

    [ToolFact("promtool", "Debian package prometheus; ./run-tests installs it when run as root")]
    public void Its_queries_parse_as_PromQL()
    {
        // promtool has no query linter, but `check rules` parses every recording rule's expression.
        string dir = Directory.CreateTempSubdirectory("resetscope-dashboard-").FullName;
        try
        {
            var rules = new System.Text.StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
            int n = 0;
            foreach ((string _, string expr) in Queries())
            {
                rules.Append("      - record: dashboard_query_").Append(n++).Append('\n')
                    .Append("        expr: ").Append(JsonSerializer.Serialize(AsPromQl(expr))).Append('\n');
            }

            string file = Path.Combine(dir, "dashboard.rules.yml");
            File.WriteAllText(file, rules.ToString());

            Repo.Result r = Repo.Run("promtool", "check", "rules", file);

            r.ExitCode.Should().Be(0, r.ToString());
            r.Stdout.Should().Contain($"SUCCESS: {n} rules found");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"^label_values\((?<selector>.+),\s*(?<label>\w+)\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\{\{\s*(\w+)\s*\}\}")]
    private static partial Regex LegendLabel();
}
