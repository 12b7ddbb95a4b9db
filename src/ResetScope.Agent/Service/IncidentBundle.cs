using System.Globalization;
using System.Text;
using System.Text.Json;
using ResetScope.Core;
using ResetScope.Diagnosis;
using ResetScope.Diagnosis.Recording;
using ResetScope.Host;

namespace ResetScope.Agent.Service;

/// <summary>What an incident's bundle holds; written as one JSON object (docs/incidents.md).</summary>
public sealed record IncidentContent
{
    public required string Kind { get; init; }

    public required string EventKey { get; init; }

    public required string BootId { get; init; }

    public required DateTimeOffset DetectedUtc { get; init; }

    public ResetEvent? Reset { get; init; }

    public StarvationEvent? Starvation { get; init; }

    /// <summary>For near misses: the CPU and how long its softirq thread waited at once.</summary>
    public (int Cpu, double WaitMs)? NearMiss { get; init; }

    public bool Injected { get; init; }

    /// <summary>From the kernel's record time to the incident's commit, µs (both on the monotonic clock).</summary>
    public long? LatencyUs { get; init; }

    public required HostFacts Host { get; init; }

    public required IReadOnlyList<Finding> Findings { get; init; }

    public required RecorderExtract Before { get; init; }

    public RecorderExtract? After { get; init; }

    public IReadOnlyList<string> Gaps { get; init; } = [];

    public IReadOnlyList<string> Triggers { get; init; } = [];

    /// <summary>Events of the same kind and CPU folded into this incident while it was open (itself included).</summary>
    public int Repeats { get; init; } = 1;

    /// <summary>What the agent could not do around this incident (incidents dropped by the caps).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>A stretch of the recorder: every CPU's summary and the sample-by-sample series of the CPUs that matter.</summary>
public sealed record RecorderExtract(DateTimeOffset From, DateTimeOffset To, IReadOnlyDictionary<int, CpuWindow> Windows, IReadOnlyDictionary<int, List<(long Timestamp, CpuCounters Counters, ulong TimeSqueeze)>> Series, Func<long, DateTimeOffset> ToUtc);

public static class IncidentBundle
{
    public static string Write(IncidentContent c)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("format", 1);
            w.WriteString("kind", c.Kind);
            w.WriteString("event_key", c.EventKey);
            w.WriteString("boot_id", c.BootId);
            w.WriteString("detected", Time(c.DetectedUtc));
            w.WriteBoolean("injected", c.Injected);
            w.WriteNumber("repeats", c.Repeats);
            if (c.LatencyUs is long l)
            {
                w.WriteNumber("latency_us", l);
            }
            else
            {
                w.WriteNull("latency_us");
            }

            w.WritePropertyName("event");
            if (c.Reset is { } r)
            {
                EventJson.Write(w, r);
            }
            else if (c.Starvation is { } s)
            {
                EventJson.Write(w, s);
            }
            else if (c.NearMiss is { } n)
            {
                w.WriteStartObject();
                w.WriteString("kind", "near-miss");
                w.WriteNumber("cpu", n.Cpu);
                w.WriteNumber("wait_ms", Math.Round(n.WaitMs, 1));
                w.WriteEndObject();
            }
            else
            {
                w.WriteNullValue();
            }

            w.WritePropertyName("host");
            WriteHost(w, c.Host);
            w.WriteStartArray("findings");
            foreach (Finding f in c.Findings)
            {
                f.WriteJson(w);
            }

            w.WriteEndArray();
            w.WritePropertyName("window_before");
            WriteExtract(w, c.Before);
            w.WritePropertyName("window_after");
            if (c.After is { } after)
            {
                WriteExtract(w, after);
            }
            else
            {
                w.WriteNullValue();
            }

            w.WriteStartArray("recorder_gaps");
            foreach (string g in c.Gaps)
            {
                w.WriteStringValue(g);
            }

            w.WriteEndArray();
            w.WriteStartArray("recorder_triggers");
            foreach (string t in c.Triggers)
            {
                w.WriteStringValue(t);
            }

            w.WriteEndArray();
            w.WriteStartArray("notes");
            foreach (string n in c.Notes)
            {
                w.WriteStringValue(n);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteHost(Utf8JsonWriter w, HostFacts f)
    {
        w.WriteStartObject();
        w.WriteString("kernel", f.KernelRelease);
        w.WriteNumber("cpus", f.Cpus);
        f.WriteInterfacesJson(w);
        w.WriteEndObject();
    }

    private static void WriteExtract(Utf8JsonWriter w, RecorderExtract x)
    {
        w.WriteStartObject();
        w.WriteString("from", Time(x.From));
        w.WriteString("to", Time(x.To));
        w.WriteStartArray("cpus");
        foreach (CpuWindow c in x.Windows.Values.OrderBy(c => c.Cpu))
        {
            w.WriteStartObject();
            CpuWindowJson.WriteFields(w, c);
            w.WriteStartArray("threads");
            foreach (ThreadActivity t in c.Threads)
            {
                w.WriteStartObject();
                w.WriteNumber("pid", t.Pid);
                w.WriteNumber("tid", t.Tid);
                w.WriteString("comm", t.Comm);
                w.WriteString("cgroup", t.Unit);
                w.WriteNumber("user_ms", Math.Round(t.UserMs, 1));
                w.WriteNumber("sys_ms", Math.Round(t.SysMs, 1));
                w.WriteStartArray("kernel_functions");
                foreach ((string function, int samples) in t.KernelFunctions)
                {
                    w.WriteStartObject();
                    w.WriteString("function", function);
                    w.WriteNumber("samples", samples);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("series");
        foreach ((int cpu, List<(long Timestamp, CpuCounters Counters, ulong TimeSqueeze)> samples) in x.Series.OrderBy(s => s.Key))
        {
            w.WriteStartObject();
            w.WriteNumber("cpu", cpu);
            w.WriteString("columns", "time user nice system idle iowait irq softirq steal softirq_thread_wait_ns time_squeeze (USER_HZ ticks, cumulative)");
            w.WriteStartArray("samples");
            foreach ((long ts, CpuCounters k, ulong squeeze) in samples)
            {
                w.WriteStartArray();
                w.WriteStringValue(Time(x.ToUtc(ts)));
                w.WriteNumberValue(k.User);
                w.WriteNumberValue(k.Nice);
                w.WriteNumberValue(k.System);
                w.WriteNumberValue(k.Idle);
                w.WriteNumberValue(k.Iowait);
                w.WriteNumberValue(k.Irq);
                w.WriteNumberValue(k.Softirq);
                w.WriteNumberValue(k.Steal);
                w.WriteNumberValue(k.SoftirqThreadWaitNs);
                w.WriteNumberValue(squeeze);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
