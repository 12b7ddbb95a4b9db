using System.Diagnostics;
using ResetScope.Agent.Metrics;
using ResetScope.Core;
using ResetScope.Testing;

namespace ResetScope.Agent.Tests.Metrics;

public sealed class AgentMetricsTests
{
    private static readonly DateTimeOffset s_start = new(2026, 7, 14, 10, 0, 0, TimeSpan.Zero);

    private static ResetEvent Reset(string dev, string? enaReason = "SUSPECTED_POLL_STARVATION") => new()
    {
        Driver = "ena",
        Dev = dev,
        Reason = ResetFamily.NetdevWatchdog,
        EnaReason = enaReason,
        Outcome = ResetOutcome.Completed,
    };

    /// <summary>Every family of the contract with a few series; the names, types and labels are the contract.</summary>
    internal static AgentMetrics Populated(TimeProvider time)
    {
        var m = new AgentMetrics(time, version: "1.2.3-test");
        m.ResetSeen(Reset("eth0"));
        m.ResetSeen(Reset("eth0"));
        m.ResetSeen(new ResetEvent { Driver = "ixgbe", Dev = "eth1", Reason = ResetFamily.TxCompletionTimeout, Outcome = ResetOutcome.Unknown });
        m.ResetSeen(new ResetEvent { Reason = ResetFamily.Other, Outcome = ResetOutcome.Failed });
        m.NearMiss(39);
        m.Starvation("soft-lockup", 39);
        m.Starvation(new StarvationEvent { Type = "hung-task", Cpu = null });
        m.Starvation("softirq-wait", 3);
        m.SetNapiThreadWait(3, "ksoftirqd/3", 1.25);
        m.SetNapiThreadWait(3, "napi/eth0-8193", 0.000125);
        m.SetZombies("v1", 1234);
        m.RecorderSample(s_start.AddSeconds(30.5));
        m.RecorderSample(s_start.AddSeconds(31.5));
        m.RecorderGap();
        m.IncidentWritten("reset");
        m.KmsgRecord(fromKernel: true);
        m.KmsgRecord(fromKernel: true);
        m.KmsgRecord(fromKernel: false);
        m.KmsgLost(17);
        m.IncidentDropped("starvation");
        m.KernelLogCapped(3);
        return m;
    }

    [Fact]
    public void The_exposition_is_the_metric_contract()
    {
        AgentMetrics m = Populated(new ManualTimeProvider(s_start));

        GoldenFile.AssertMatches(PrometheusTextSerializer.WriteToString(m.Registry), "agent-metrics.prom");
    }

    [Fact]
    public void A_fresh_agent_shows_every_family_with_zeros_where_label_sets_are_known()
    {
        var m = new AgentMetrics(new ManualTimeProvider(s_start), version: "v");
        List<StrictExpositionParser.Family> families = StrictExpositionParser.Parse(PrometheusTextSerializer.WriteToString(m.Registry));

        families.Select(f => (f.Name, f.Type)).Should().Equal(
            ("resetscope_resets_total", "counter"),
            ("resetscope_near_misses_total", "counter"),
            ("resetscope_starvation_events_total", "counter"),
            ("resetscope_napi_thread_wait_seconds_total", "counter"),
            ("resetscope_memcg_zombies", "gauge"),
            ("resetscope_recorder_gaps_total", "counter"),
            ("resetscope_recorder_samples_total", "counter"),
            ("resetscope_incidents_total", "counter"),
            ("resetscope_kmsg_records_total", "counter"),
            ("resetscope_kmsg_lost_records_total", "counter"),
            ("resetscope_incidents_dropped_total", "counter"),
            ("resetscope_kernel_log_capped_total", "counter"),
            ("resetscope_agent_start_time_seconds", "gauge"),
            ("resetscope_agent_last_sample_timestamp_seconds", "gauge"),
            ("resetscope_build_info", "gauge"),
            ("resetscope_metrics_series_dropped_total", "counter"));
        families.Single(f => f.Name == "resetscope_incidents_total").Samples.Select(s => (s.Label("kind"), s.Value))
            .Should().Equal(("near-miss", 0.0), ("reset", 0.0), ("starvation", 0.0));
        families.Single(f => f.Name == "resetscope_agent_start_time_seconds").Samples.Single().Value.Should().Be(s_start.ToUnixTimeSeconds());
        families.Single(f => f.Name == "resetscope_agent_last_sample_timestamp_seconds").Samples.Should().BeEmpty("no sample yet is not a sample at 1970");
        families.Single(f => f.Name == "resetscope_build_info").Samples.Single().Should().Match<StrictExpositionParser.Sample>(s => s.Label("version") == "v" && s.Value == 1);
    }

    [Fact]
    public void Without_a_version_the_build_info_names_the_assembly_version()
    {
        var m = new AgentMetrics(new ManualTimeProvider(s_start));
        string version = m.Registry.Families.Single(f => f.Name == AgentMetrics.BuildInfo).GetSeries().Single().LabelValues[0];
        version.Should().NotBeNullOrEmpty().And.NotBe("unknown");
    }

    [Fact]
    public void Hostile_log_text_in_a_reset_stays_inside_its_label_values()
    {
        var m = new AgentMetrics(new ManualTimeProvider(s_start), version: "v");
        m.ResetSeen(new ResetEvent
        {
            Driver = "ena\"} evil_metric 1\n# TYPE evil_metric counter\nevil_metric 1",
            Dev = "<script>alert('x')</script>\\",
            EnaReason = "a=\"b\",c=\"d\"\r\n\0",
            Reason = ResetFamily.KeepAliveTimeout,
            Outcome = ResetOutcome.Completed,
        });

        string text = PrometheusTextSerializer.WriteToString(m.Registry);
        List<StrictExpositionParser.Family> families = StrictExpositionParser.Parse(text);

        families.Should().HaveCount(16).And.OnlyContain(f => f.Name.StartsWith("resetscope_", StringComparison.Ordinal));
        StrictExpositionParser.Sample reset = families[0].Samples.Should().ContainSingle().Subject;
        reset.Labels.Select(l => l.Key).Should().Equal("driver", "dev", "reason", "ena_reason", "outcome");
        reset.Label("driver").Should().Be("ena\"} evil_metric 1\n# TYPE evil_metric counter\nevil_metric 1");
        reset.Label("dev").Should().Be("<script>alert('x')</script>\\");
        reset.Label("ena_reason").Should().Be("a=\"b\",c=\"d\"\uFFFD\n\uFFFD");
        text.Split('\n').Should().NotContain(l => l.StartsWith("evil", StringComparison.Ordinal) || l.StartsWith("# TYPE evil", StringComparison.Ordinal));
    }

    [ExternalToolFact("promtool", "prometheus")]
    public void Promtool_accepts_the_exposition_hostile_labels_included()
    {
        AgentMetrics m = Populated(new ManualTimeProvider(s_start));
        m.ResetSeen(Reset("eth0\"} evil 1\n<b>&amp;</b>\\\t\0\r\uD800", enaReason: "x\",y=\"z"));
        string text = PrometheusTextSerializer.WriteToString(m.Registry);

        (int exit, string output) = Run(ExternalTool.Find("promtool")!, ["check", "metrics"], text);

        exit.Should().Be(0, output);
        output.Trim().Should().BeEmpty();
    }

    private static (int Exit, string Output) Run(string file, string[] args, string stdin)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            throw new TimeoutException($"{file} did not finish in 30 s");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
