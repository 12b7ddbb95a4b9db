using System.Globalization;
using System.Reflection;
using ResetScope.Core;

namespace ResetScope.Agent.Metrics;

/// <summary>
/// The agent's metrics, exactly the contract in briefs/metrics.md (names, types, labels), behind typed methods so
/// callers never spell a metric or label name. Series whose label sets are known up front start at 0, so
/// <c>rate()</c> and <c>increase()</c> see the first event instead of a series appearing at 1.
/// </summary>
public sealed class AgentMetrics
{
    public const string ResetsTotal = "resetscope_resets_total";
    public const string NearMissesTotal = "resetscope_near_misses_total";
    public const string StarvationEventsTotal = "resetscope_starvation_events_total";
    public const string NapiThreadWaitSecondsTotal = "resetscope_napi_thread_wait_seconds_total";
    public const string MemcgZombies = "resetscope_memcg_zombies";
    public const string RecorderGapsTotal = "resetscope_recorder_gaps_total";
    public const string RecorderSamplesTotal = "resetscope_recorder_samples_total";
    public const string IncidentsTotal = "resetscope_incidents_total";
    public const string KmsgRecordsTotal = "resetscope_kmsg_records_total";
    public const string KmsgLostRecordsTotal = "resetscope_kmsg_lost_records_total";
    public const string IncidentsDroppedTotal = "resetscope_incidents_dropped_total";
    public const string KernelLogCappedTotal = "resetscope_kernel_log_capped_total";
    public const string AgentStartTimeSeconds = "resetscope_agent_start_time_seconds";
    public const string AgentLastSampleTimestampSeconds = "resetscope_agent_last_sample_timestamp_seconds";
    public const string BuildInfo = "resetscope_build_info";

    // CPU numbers as label strings, made once: the recorder sets per-CPU series every second.
    private static readonly string?[] s_cpuLabels = new string?[1024];

    private readonly CounterFamily _resets;
    private readonly CounterFamily _nearMisses;
    private readonly CounterFamily _starvation;
    private readonly CounterFamily _napiWait;
    private readonly GaugeFamily _zombies;
    private readonly Counter _recorderGaps;
    private readonly Counter _recorderSamples;
    private readonly CounterFamily _incidents;
    private readonly Counter _kmsgKernel;
    private readonly Counter _kmsgUser;
    private readonly Counter _kmsgLost;
    private readonly CounterFamily _incidentsDropped;
    private readonly Counter _kernelLogCapped;
    private readonly GaugeFamily _lastSample;

    /// <param name="time">The agent's clock; its "now" at construction is the start time.</param>
    /// <param name="version">The <c>version</c> label of <c>resetscope_build_info</c>; the assembly's informational version when null.</param>
    /// <param name="registry">Where to register; a new registry with the default series cap when null.</param>
    public AgentMetrics(TimeProvider time, string? version = null, MetricsRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        Registry = registry ?? new MetricsRegistry();
        MetricsRegistry r = Registry;

        _resets = r.AddCounter(ResetsTotal,
            "Network-driver resets seen in the kernel log since the agent started (reason: trigger family; ena_reason: the driver's reset reason name or empty; outcome: completed, failed or unknown).",
            "driver", "dev", "reason", "ena_reason", "outcome");
        _nearMisses = r.AddCounter(NearMissesTotal,
            "NAPI-relevant run-queue waits of at least 1 s that stayed under the 5 s reset threshold.",
            "cpu");
        _starvation = r.AddCounter(StarvationEventsTotal,
            "Soft lockups, RCU stalls and hung tasks from the kernel log, and softirq starvation the recorder saw (type=\"softirq-wait\").",
            "type", "cpu");
        _napiWait = r.AddCounter(NapiThreadWaitSecondsTotal,
            "Cumulative run-queue wait of the ksoftirqd/N and napi/<if>-<id> threads (schedstat), in seconds.",
            "cpu", "thread");
        _zombies = r.AddGauge(MemcgZombies,
            "Dying memory cgroups: the kernel's count minus the live directories.",
            "hierarchy");
        _recorderGaps = r.AddCounter(RecorderGapsTotal,
            "Times the recorder's own sampling was late (it was starved too).").WithLabels();
        _recorderSamples = r.AddCounter(RecorderSamplesTotal, "Recorder samples taken.").WithLabels();
        _incidents = r.AddCounter(IncidentsTotal, "Incidents written to the store.", "kind");
        CounterFamily kmsg = r.AddCounter(KmsgRecordsTotal, "/dev/kmsg records read, by origin (kernel or user space).", "origin");
        _kmsgKernel = kmsg.WithLabels("kernel");
        _kmsgUser = kmsg.WithLabels("user");
        _kmsgLost = r.AddCounter(KmsgLostRecordsTotal, "/dev/kmsg records overwritten before the agent read them.").WithLabels();
        _incidentsDropped = r.AddCounter(IncidentsDroppedTotal,
            "Incidents not stored because more than the per-minute cap, or too many awaiting their window after, came at once (a flood of events).",
            "kind");
        _kernelLogCapped = r.AddCounter(KernelLogCappedTotal,
            "Kernel-log assembler entries refused by its caps (devices remembered, resets open at once, lines per reset).").WithLabels();
        Gauge start = r.AddGauge(AgentStartTimeSeconds, "Unix time the agent started, in seconds.").WithLabels();
        // Created by the first sample: before it, no series is better than a sample "taken" in 1970.
        _lastSample = r.AddGauge(AgentLastSampleTimestampSeconds, "Unix time of the last recorder sample, in seconds.");
        Gauge build = r.AddGauge(BuildInfo, "Always 1; the version label names the agent build.", "version")
            .WithLabels(version ?? typeof(AgentMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");

        start.Set(UnixSeconds(time.GetUtcNow()));
        build.Set(1);
        foreach (string kind in (ReadOnlySpan<string>)["reset", "near-miss", "starvation"])
        {
            _incidents.WithLabels(kind);
            _incidentsDropped.WithLabels(kind);
        }
    }

    public MetricsRegistry Registry { get; }

    /// <summary>A reset: labels from the event (unknown driver/dev/driver reason are empty).</summary>
    public void ResetSeen(ResetEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        _resets.WithLabels(e.Driver, e.Dev, e.Reason.ToJsonName(), e.EnaReason, e.Outcome.ToJsonName()).Inc();
    }

    public void NearMiss(int cpu) => _nearMisses.WithLabels(CpuLabel(cpu)).Inc();

    /// <summary>A starvation event; <paramref name="cpu"/> is null when the evidence names none (hung tasks), and the label is then empty.</summary>
    public void Starvation(string type, int? cpu) => _starvation.WithLabels(type, cpu is { } c ? CpuLabel(c) : null).Inc();

    public void Starvation(StarvationEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Starvation(e.Type, e.Cpu);
    }

    /// <summary>The thread's cumulative run-queue wait as schedstat reports it (a total, not a step).</summary>
    public void SetNapiThreadWait(int cpu, string thread, double seconds) => _napiWait.WithLabels(CpuLabel(cpu), thread).Set(seconds);

    /// <param name="hierarchy">"v1" or "v2".</param>
    public void SetZombies(string hierarchy, long n) => _zombies.WithLabels(hierarchy).Set(n);

    public void RecorderGap() => _recorderGaps.Inc();

    /// <summary>A recorder sample was taken at <paramref name="at"/>.</summary>
    public void RecorderSample(DateTimeOffset at)
    {
        _recorderSamples.Inc();
        _lastSample.WithLabels().Set(UnixSeconds(at));
    }

    /// <param name="kind">"reset", "near-miss" or "starvation".</param>
    public void IncidentWritten(string kind) => _incidents.WithLabels(kind).Inc();

    public void KmsgRecord(bool fromKernel) => (fromKernel ? _kmsgKernel : _kmsgUser).Inc();

    public void KmsgLost(ulong n) => _kmsgLost.Add(n);

    /// <param name="kind">"reset", "near-miss" or "starvation".</param>
    public void IncidentDropped(string kind) => _incidentsDropped.WithLabels(kind).Inc();

    public void KernelLogCapped(long n) => _kernelLogCapped.Add(n);

    private static double UnixSeconds(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;

    private static string CpuLabel(int cpu)
    {
        if ((uint)cpu >= (uint)s_cpuLabels.Length)
        {
            return cpu.ToString(CultureInfo.InvariantCulture);
        }

        return s_cpuLabels[cpu] ??= cpu.ToString(CultureInfo.InvariantCulture);
    }
}
