using System.Text.Json;

namespace ResetScope.Core;

/// <summary>
/// A network-driver reset: one event however many lines it spans (ARCHITECTURE.md, "Event JSON").
/// Fields the source does not show stay null.
/// </summary>
public sealed record ResetEvent
{
    public string? File { get; init; }
    public int? Line { get; init; }
    public string? Ts { get; init; }
    public DateTimeOffset? Time { get; init; }
    public string? Host { get; init; }
    public string? Driver { get; init; }
    public string? Pci { get; init; }
    public string? Dev { get; init; }
    public int? Queue { get; init; }
    public ResetFamily Reason { get; init; }
    public string? EnaReason { get; init; }
    public long? ThresholdUsec { get; init; }
    public long? SinceNapiUsec { get; init; }
    public bool? NapiScheduled { get; init; }
    public int? NapiCpu { get; init; }
    public ResetOutcome Outcome { get; init; }
    public string? DriverVersion { get; init; }

    /// <summary>How many times the kernel printed its NETDEV WATCHDOG line for this one ongoing stall (1 when once).</summary>
    public int Repeats { get; init; } = 1;

    /// <summary>The last firing's timestamp as written when <see cref="Repeats"/> &gt; 1 (<see cref="Ts"/> is the first's); else null.</summary>
    public string? LastTs { get; init; }

    /// <summary>The longest stall a line of the event printed ("timed out N ms", virtio_net "N usecs ago"), in ms.</summary>
    public long? StalledMs { get; init; }

    public IReadOnlyList<int> Lines { get; init; } = [];
}

/// <summary>A line that often precedes a reset (per-packet "not completed on time", hang dumps). Never a reset.</summary>
public sealed record PrecursorEvent
{
    public string? File { get; init; }
    public int? Line { get; init; }
    public string? Ts { get; init; }
    public string? Driver { get; init; }
    public string? Dev { get; init; }
    public int? Queue { get; init; }
    public required string Text { get; init; }
}

/// <summary>Evidence that a CPU could not run what it should have (soft lockup, RCU stall, hung task, NMI watchdog).</summary>
public sealed record StarvationEvent
{
    public string? File { get; init; }
    public int? Line { get; init; }
    public string? Ts { get; init; }
    public required string Type { get; init; }
    public int? Cpu { get; init; }
    public string? Comm { get; init; }
    public int? Pid { get; init; }
    public double? DurationS { get; init; }
}

/// <summary>Writes events as the one-object-per-line JSON of ARCHITECTURE.md, field order included.</summary>
public static class EventJson
{
    public static void Write(Utf8JsonWriter w, ResetEvent e)
    {
        w.WriteStartObject();
        w.WriteString("kind", "reset");
        WriteStringOrNull(w, "file", e.File);
        WriteNumberOrNull(w, "line", e.Line);
        WriteStringOrNull(w, "ts", e.Ts);
        if (e.Time is { } t)
        {
            w.WriteString("time", t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteNull("time");
        }

        WriteStringOrNull(w, "host", e.Host);
        WriteStringOrNull(w, "driver", e.Driver);
        WriteStringOrNull(w, "pci", e.Pci);
        WriteStringOrNull(w, "dev", e.Dev);
        WriteNumberOrNull(w, "queue", e.Queue);
        w.WriteString("reason", e.Reason.ToJsonName());
        WriteStringOrNull(w, "ena_reason", e.EnaReason);
        WriteNumberOrNull(w, "threshold_usec", e.ThresholdUsec);
        WriteNumberOrNull(w, "since_napi_usec", e.SinceNapiUsec);
        if (e.NapiScheduled is { } s)
        {
            w.WriteBoolean("napi_scheduled", s);
        }
        else
        {
            w.WriteNull("napi_scheduled");
        }

        WriteNumberOrNull(w, "napi_cpu", e.NapiCpu);
        w.WriteString("outcome", e.Outcome.ToJsonName());
        WriteStringOrNull(w, "driver_version", e.DriverVersion);
        w.WriteNumber("repeats", e.Repeats);
        WriteStringOrNull(w, "last_ts", e.LastTs);
        WriteNumberOrNull(w, "stalled_ms", e.StalledMs);
        w.WriteStartArray("lines");
        foreach (int line in e.Lines)
        {
            w.WriteNumberValue(line);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void Write(Utf8JsonWriter w, PrecursorEvent e)
    {
        w.WriteStartObject();
        w.WriteString("kind", "precursor");
        WriteStringOrNull(w, "file", e.File);
        WriteNumberOrNull(w, "line", e.Line);
        WriteStringOrNull(w, "ts", e.Ts);
        WriteStringOrNull(w, "driver", e.Driver);
        WriteStringOrNull(w, "dev", e.Dev);
        WriteNumberOrNull(w, "queue", e.Queue);
        w.WriteString("text", e.Text);
        w.WriteEndObject();
    }

    public static void Write(Utf8JsonWriter w, StarvationEvent e)
    {
        w.WriteStartObject();
        w.WriteString("kind", "starvation");
        WriteStringOrNull(w, "file", e.File);
        WriteNumberOrNull(w, "line", e.Line);
        WriteStringOrNull(w, "ts", e.Ts);
        w.WriteString("type", e.Type);
        WriteNumberOrNull(w, "cpu", e.Cpu);
        WriteStringOrNull(w, "comm", e.Comm);
        WriteNumberOrNull(w, "pid", e.Pid);
        if (e.DurationS is { } d)
        {
            w.WriteNumber("duration_s", d);
        }
        else
        {
            w.WriteNull("duration_s");
        }

        w.WriteEndObject();
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
