using ResetScope.Agent.Metrics;

namespace ResetScope.Agent.Tests.Metrics;

public sealed class MetricsRegistryTests
{
    [Theory]
    [InlineData("requests")]
    [InlineData("9_total")]
    [InlineData("a-b_total")]
    [InlineData("a b_total")]
    [InlineData("")]
    public void Bad_counter_names_are_refused(string name)
    {
        var registry = new MetricsRegistry();
        FluentActions.Invoking(() => registry.AddCounter(name, "h")).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("__name__")]
    [InlineData("1cpu")]
    [InlineData("dev-name")]
    [InlineData("")]
    public void Bad_label_names_are_refused(string label)
    {
        var registry = new MetricsRegistry();
        FluentActions.Invoking(() => registry.AddGauge("g", "h", label)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Names_and_labels_are_registered_once()
    {
        var registry = new MetricsRegistry();
        registry.AddGauge("g", "h", "a");
        FluentActions.Invoking(() => registry.AddGauge("g", "h")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => registry.AddGauge("g2", "h", "a", "a")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => registry.AddCounter(MetricsRegistry.SeriesDroppedName, "h")).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void The_label_count_must_match_the_declaration()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "h", "a", "b");
        FluentActions.Invoking(() => f.WithLabels("x")).Should().Throw<ArgumentException>().WithMessage("t_total takes 2 label value(s) (a, b), not 1*");
    }

    [Fact]
    public void Counters_only_go_up()
    {
        var registry = new MetricsRegistry();
        Counter c = registry.AddCounter("t_total", "h").WithLabels();
        FluentActions.Invoking(() => c.Add(-1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => c.Add(double.NaN)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => c.Set(-0.5)).Should().Throw<ArgumentOutOfRangeException>();
        c.Set(10);
        c.Set(4); // a total kept elsewhere restarted: a counter reset, allowed
        c.Value.Should().Be(4);
    }

    [Fact]
    public void Past_the_cap_new_label_sets_are_dropped_and_counted()
    {
        var registry = new MetricsRegistry(maxSeriesPerFamily: 3);
        CounterFamily f = registry.AddCounter("t_total", "h", "v");
        GaugeFamily g = registry.AddGauge("g", "h", "v");
        for (int i = 0; i < 10; i++)
        {
            f.WithLabels("v" + i).Inc();
        }

        f.WithLabels("v0").Inc(); // existing series still update
        g.WithLabels("only").Set(7);

        f.Count.Should().Be(3);
        f.GetSeries().Select(s => (s.LabelValues[0], s.Value)).Should().Equal(("v0", 2.0), ("v1", 1.0), ("v2", 1.0));
        string text = PrometheusTextSerializer.WriteToString(registry);
        text.Should().EndWith(
            "# HELP resetscope_metrics_series_dropped_total New label sets refused because the family already had the maximum number of series.\n" +
            "# TYPE resetscope_metrics_series_dropped_total counter\n" +
            "resetscope_metrics_series_dropped_total{family=\"t_total\"} 7\n");
    }

    [Fact]
    public void Hostile_input_cannot_grow_memory_past_the_cap()
    {
        var registry = new MetricsRegistry(maxSeriesPerFamily: 100);
        CounterFamily f = registry.AddCounter("t_total", "h", "v");
        string big = new('x', 10_000);
        for (int i = 0; i < 5_000; i++)
        {
            f.WithLabels(big + i).Inc(); // cut to 256 chars: all one series
            f.WithLabels(i + big).Inc();
        }

        f.Count.Should().Be(100);
        f.GetSeries().Should().OnlyContain(s => s.LabelValues[0].Length <= 256);
    }

    [Fact]
    public async Task Concurrent_updates_from_several_threads_all_count()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "h", "cpu");
        GaugeFamily g = registry.AddGauge("g", "h");
        const int Threads = 4;
        const int PerThread = 50_000;

        using var start = new Barrier(Threads);
        Task[] workers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < PerThread; i++)
            {
                f.WithLabels((i % 8).ToString(System.Globalization.CultureInfo.InvariantCulture)).Add(0.5);
                g.WithLabels().Inc();
                if (i % 1000 == 0)
                {
                    _ = PrometheusTextSerializer.WriteToString(registry); // scrapes race with updates
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        f.GetSeries().Should().HaveCount(8).And.OnlyContain(s => s.Value == Threads * PerThread / 8 * 0.5);
        g.WithLabels().Value.Should().Be(Threads * PerThread);
    }
}
