namespace ResetScope.Deploy.Tests;

/// <summary>
/// The agent's /metrics contract (the table in docs/deploy.md "Metrics"): every family's name and label
/// names. The alert rules and the dashboard may use nothing else, plus the labels Prometheus attaches to
/// every scraped series.
/// </summary>
internal static class MetricContract
{
    public static readonly IReadOnlyDictionary<string, string[]> Families = new Dictionary<string, string[]>
    {
        ["resetscope_resets_total"] = ["driver", "dev", "reason", "ena_reason", "outcome"],
        ["resetscope_near_misses_total"] = ["cpu"],
        ["resetscope_starvation_events_total"] = ["type", "cpu"],
        ["resetscope_napi_thread_wait_seconds_total"] = ["cpu", "thread"],
        ["resetscope_memcg_zombies"] = ["hierarchy"],
        ["resetscope_recorder_gaps_total"] = [],
        ["resetscope_recorder_samples_total"] = [],
        ["resetscope_incidents_total"] = ["kind"],
        ["resetscope_kmsg_records_total"] = ["origin"],
        ["resetscope_kmsg_lost_records_total"] = [],
        ["resetscope_incidents_dropped_total"] = ["kind"],
        ["resetscope_kernel_log_capped_total"] = [],
        ["resetscope_agent_start_time_seconds"] = [],
        ["resetscope_agent_last_sample_timestamp_seconds"] = [],
        ["resetscope_build_info"] = ["version"],
    };

    /// <summary>Labels every scraped series can carry: Prometheus' own, and the node name the scrape configs in docs/deploy.md add.</summary>
    public static readonly string[] TargetLabels = ["job", "instance", "node"];

    /// <summary>Prometheus' per-target health series, which the agent-health alerts and panels use.</summary>
    public const string Up = "up";

    public static IEnumerable<string> LabelsOf(string metric) =>
        metric == Up ? TargetLabels : Families[metric].Concat(TargetLabels);
}
