namespace ResetScope.Deploy.Tests;

/// <summary>The name checker the rule and dashboard tests rely on catches what it should.</summary>
public class PromQlNamesTests
{
    [Fact]
    public void It_finds_metrics_matchers_and_grouping_labels()
    {
        PromQlNames n = PromQlNames.Scan("sum without (ena_reason) (increase(resetscope_resets_total{outcome=\"failed\", dev=~\"eth.*\"}[15m]) unless resetscope_resets_total offset 15m) > 0");

        n.Selectors.Should().BeEquivalentTo(new[] { ("resetscope_resets_total", new List<string> { "outcome", "dev" }), ("resetscope_resets_total", new List<string>()) });
        n.GroupingLabels.Should().Equal("ena_reason");
    }

    [Fact]
    public void Strings_durations_and_grafana_variables_are_not_names()
    {
        PromQlNames n = PromQlNames.Scan("topk(10, rate(resetscope_napi_thread_wait_seconds_total{instance=~\"$instance\", thread=\"ksoftirqd/0 {x}\"}[$__rate_interval])) > bool 0.5");

        n.Selectors.Select(s => s.Metric).Should().Equal("resetscope_napi_thread_wait_seconds_total");
        n.Selectors[0].Labels.Should().Equal("instance", "thread");
    }

    [Theory]
    [InlineData("rate(resetscope_resets[5m])", "metric resetscope_resets is not in the contract")]
    [InlineData("resetscope_memcg_zombies{cgroup=\"v1\"}", "label cgroup is not a label of resetscope_memcg_zombies")]
    [InlineData("sum by (queue) (resetscope_resets_total)", "grouping label queue is on none of the expression's metrics")]
    [InlineData("node_cpu_seconds_total", "metric node_cpu_seconds_total is not in the contract")]
    public void Names_outside_the_contract_are_reported(string expr, string problem)
    {
        PromQlNames.Unknown(expr).Should().Equal(problem);
    }

    [Fact]
    public void Target_labels_and_up_are_allowed()
    {
        PromQlNames.Unknown("sum by (instance, node) (up{job=\"resetscope\"}) and on (instance) resetscope_build_info{version!=\"\"}").Should().BeEmpty();
    }
}
