using System.Globalization;
using System.Text.Json;
using ResetScope.Core;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Cli.Rendering;

/// <summary>Renders a simulation: the dmesg view, JSON lines, and the human timeline.</summary>
public static class SimulationRenderer
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary><c>--log-only</c>: the kernel log exactly as <c>dmesg</c> prints it.</summary>
    public static void WriteLog(TextWriter w, SimulationResult r)
    {
        foreach (KernelRecord rec in r.Records)
        {
            w.Write(rec.ToDmesgLine());
            w.Write('\n');
        }
    }

    /// <summary><c>--json</c>: kernel records, reset events (ARCHITECTURE.md), counters and impact, one object per line.</summary>
    public static void WriteJson(TextWriter w, SimulationResult r)
    {
        using var jsonLines = new JsonLines(w);
        void Line(Action<Utf8JsonWriter> write) => jsonLines.Write(write);

        foreach (KernelRecord rec in r.Records)
        {
            Line(j =>
            {
                j.WriteStartObject();
                j.WriteString("kind", "kernel");
                j.WriteNumber("seq", rec.Sequence);
                j.WriteNumber("usec", rec.TimestampUs);
                j.WriteString("level", rec.Level.ToDmesgName());
                j.WriteString("text", rec.Text);
                j.WriteEndObject();
            });
        }

        foreach (ResetEvent e in r.ResetEvents())
        {
            Line(j => EventJson.Write(j, e));
        }

        Line(j =>
        {
            j.WriteStartObject();
            j.WriteString("kind", "counters");
            j.WriteString("driver_version", r.Version.ToString());
            j.WriteStartObject("ethtool");
            foreach ((string name, ulong value) in r.Counters)
            {
                j.WriteNumber(name, value);
            }

            j.WriteEndObject();
            j.WriteStartArray("tx_timeout_per_queue");
            foreach (long t in r.TxTimeoutPerQueue)
            {
                j.WriteNumberValue(t);
            }

            j.WriteEndArray();
            j.WriteNumber("carrier_changes", r.CarrierChanges);
            j.WriteEndObject();
        });

        Line(j =>
        {
            j.WriteStartObject();
            j.WriteString("kind", "impact");
            j.WriteNumber("tx_offered", r.TxOffered);
            j.WriteNumber("tx_lost", r.TxDropped);
            j.WriteNumber("rx_offered", r.RxOffered);
            j.WriteNumber("rx_lost", r.RxDropped);
            j.WriteBoolean("device_dead", r.DeviceDead);
            j.WriteStartArray("resets");
            foreach (ResetEpisode e in r.Episodes)
            {
                j.WriteStartObject();
                j.WriteNumber("number", e.Number);
                j.WriteString("ena_reason", e.Reason.ToName());
                j.WriteString("reason", e.Family.ToJsonName());
                j.WriteNumber("detected_usec", e.DetectedNs / 1000);
                WriteNullable(j, "device_internal_usec", e.DeviceInternalNs / 1000);
                WriteNullable(j, "carrier_down_usec", e.CarrierOffNs is long off && e.CarrierOnNs is long on ? (on - off) / 1000 : null);
                WriteNullable(j, "driver_reset_usec", e.WorkStartedNs is long ws && e.CompletedNs is long c ? (c - ws) / 1000 : null);
                j.WriteNumber("tx_freed", e.TxPacketsFreed);
                j.WriteString("outcome", e.Outcome.ToJsonName());
                j.WriteEndObject();
            }

            j.WriteEndArray();
            if (r.Flow is { } f)
            {
                j.WriteStartObject("flow");
                j.WriteNumber("queue", f.Queue);
                j.WriteNumber("stalls", f.Stalls);
                j.WriteNumber("longest_stall_usec", f.LongestStallNs / 1000);
                j.WriteNumber("retransmissions", f.Retransmissions);
                j.WriteNumber("worst_recovery_lag_usec", f.WorstRecoveryLagNs / 1000);
                j.WriteBoolean("connection_lost", f.ConnectionLost);
                j.WriteEndObject();
            }

            if (r.Probe is { } p)
            {
                j.WriteStartObject("liveness");
                j.WriteNumber("queue", p.Queue);
                j.WriteNumber("window_usec", p.WindowNs / 1000);
                j.WriteNumber("longest_gap_usec", p.LongestGapNs == long.MaxValue ? -1 : p.LongestGapNs / 1000);
                j.WriteBoolean("failed", p.Failed);
                j.WriteEndObject();
            }

            j.WriteEndObject();
        });
    }

    private static void WriteNullable(Utf8JsonWriter j, string name, long? value)
    {
        if (value is long v)
        {
            j.WriteNumber(name, v);
        }
        else
        {
            j.WriteNull(name);
        }
    }

    /// <summary>The default view: what happened, in order, then the resets, counters and impact.</summary>
    public static void WriteTimeline(TextWriter w, SimulationResult r)
    {
        Scenario s = r.Scenario;
        w.WriteLine($"resetscope simulate · {s.Name} · ENA v{r.Version} · {s.Queues} queues × {s.RingSize} · {s.Cpus} CPUs · HZ={s.Hz} · kernel {s.Kernel} · seed {s.Seed}");
        if (s.Description.Length > 0)
        {
            w.WriteLine($"  {s.Description}");
        }

        w.WriteLine();
        w.WriteLine("Timeline (uptime seconds; kernel lines as dmesg shows them)");
        foreach (CpuEventSpec c in s.CpuEvents)
        {
            double at = (s.UptimeNs + c.StartNs) / 1e9;
            string who = c.Comm is null ? "" : $" by {c.Comm}" + (c.Pid is int pid ? $"[{pid}]" : "");
            string share = c.Kind == CpuHogKind.Contention ? $", softirq share {c.Share:0.##}" : "";
            w.WriteLine(string.Create(s_inv, $"  {at,12:0.000000}  ▶ CPU {c.Cpu} unavailable to softirqs for {c.DurationNs / 1e9:0.###} s ({KindName(c.Kind)}{share}){who}"));
        }

        foreach (FaultSpec fault in s.Faults)
        {
            double at = (s.UptimeNs + fault.StartNs) / 1e9;
            string span = fault.DurationNs is long d ? string.Create(s_inv, $" for {d / 1e9:0.###} s") : "";
            w.WriteLine(string.Create(s_inv, $"  {at,12:0.000000}  ▶ device fault: {FaultName(fault.Kind)}{(IsQueueFault(fault.Kind) ? $" on queue {fault.Queue}" : "")}{span}"));
        }

        int dump = 0;
        foreach (KernelRecord rec in r.Records)
        {
            if (IsStatsLine(rec.Text))
            {
                dump++;
                continue;
            }

            if (dump > 0)
            {
                w.WriteLine($"                 … {dump} statistics lines (the reset's counter dump; see --log-only)");
                dump = 0;
            }

            w.WriteLine($"  {rec.ToDmesgLine()}");
        }

        if (dump > 0)
        {
            w.WriteLine($"                 … {dump} statistics lines (the reset's counter dump; see --log-only)");
        }

        w.WriteLine();
        List<ResetEpisode> resets = r.Episodes.Where(e => e.Requests.Any(q => q != ResetReason.Normal) || e.CompletedNs is not null).ToList();
        w.WriteLine(resets.Count == 0 ? "Resets: none" : $"Resets: {resets.Count}");
        foreach (ResetEpisode e in resets)
        {
            string q = e.Queue is int qq ? $" queue {qq}" : "";
            w.WriteLine(string.Create(s_inv, $"  #{e.Number} detected at {e.DetectedNs / 1e9:0.000000}: {e.Reason.ToName()} ({e.Family.ToJsonName()}){q} → {e.Outcome.ToJsonName()}"));
            if (e.Requests.Count > 1)
            {
                w.WriteLine($"      reasons requested before the reset ran: {string.Join(", ", e.Requests.Select(x => x.ToName()))} (this driver keeps the {(r.Version.FirstReasonWins ? "first" : "last")})");
            }

            if (e.SinceNapiUsec is long sn)
            {
                w.WriteLine(string.Create(s_inv, $"      NAPI last ran {sn / 1e6:0.000} s before detection; napi scheduled: {(e.NapiScheduled == true ? "yes (an interrupt arrived, the poll never got CPU)" : "no")}"));
            }

            if (e.DeviceInternalNs is long di)
            {
                w.WriteLine(string.Create(s_inv, $"      device-internal reset {di / 1e6:0.###} ms"));
            }

            if (e.WorkStartedNs is long ws && e.CompletedNs is long c)
            {
                w.WriteLine(string.Create(s_inv, $"      driver reset work {(c - ws) / 1e6:0.#} ms (destroy + restore, under rtnl_lock)"));
            }

            if (e.CarrierOffNs is long off)
            {
                w.WriteLine(e.CarrierOnNs is long on
                    ? string.Create(s_inv, $"      carrier down {(on - off) / 1e6:0.#} ms; {e.TxPacketsFreed} Tx packets freed uncompleted")
                    : $"      carrier down and never back (the restore failed; nothing retries); {e.TxPacketsFreed} Tx packets freed uncompleted");
            }
        }

        w.WriteLine();
        w.WriteLine($"Counters (ethtool -S, non-zero global ones; driver {r.Version})");
        foreach ((string name, ulong value) in r.Counters.Where(c => !c.Name.StartsWith("queue_", StringComparison.Ordinal) && c.Value != 0))
        {
            w.WriteLine($"  {name}: {value}");
        }

        long timeouts = r.TxTimeoutPerQueue.Sum();
        w.WriteLine($"  sysfs tx_timeout (all queues): {timeouts}; carrier_changes: {r.CarrierChanges}");

        w.WriteLine();
        w.WriteLine("Workload impact");
        w.WriteLine(string.Create(s_inv, $"  Tx: {r.TxOffered} packets offered, {r.TxDropped} lost ({Pct(r.TxDropped, r.TxOffered)}); Rx: {r.RxOffered} offered, {r.RxDropped} lost ({Pct(r.RxDropped, r.RxOffered)})"));
        if (r.DeviceDead)
        {
            w.WriteLine("  the device is down for good: the restore failed and the driver does not retry (reload the driver or reboot)");
        }

        if (r.Flow is { } f)
        {
            w.WriteLine(f.Stalls == 0
                ? $"  TCP flow on queue {f.Queue}: never stalled"
                : string.Create(s_inv, $"  TCP flow on queue {f.Queue}: {f.Stalls} stall(s), longest {f.LongestStallNs / 1e9:0.000} s, {f.Retransmissions} retransmission(s) (RTO ≥ 200 ms, doubling); recovered at most {f.WorstRecoveryLagNs / 1e6:0.#} ms after the path came back{(f.ConnectionLost ? "; connection lost" : "")}"));
        }

        if (r.Probe is { } p)
        {
            string gap = p.LongestGapNs == long.MaxValue ? "never answered again" : string.Create(s_inv, $"longest gap between heartbeats {p.LongestGapNs / 1e9:0.000} s");
            w.WriteLine(string.Create(s_inv, $"  liveness probe on queue {p.Queue} (heartbeat every {p.PeriodNs / 1e9:0.###} s, window {p.WindowNs / 1e9:0.###} s): {(p.Failed ? "FAILED" : "held")}; {gap}"));
        }
    }

    private static string Pct(long part, long whole) => whole == 0 ? "0%" : string.Create(s_inv, $"{100.0 * part / whole:0.###}%");

    /// <summary>The ENA stats dump: <c>ena BDF if: name: 123</c> and nothing else after the prefix.</summary>
    public static bool IsStatsLine(string text)
    {
        if (!text.StartsWith("ena ", StringComparison.Ordinal))
        {
            return false;
        }

        int prefixEnd = text.IndexOf(": ", StringComparison.Ordinal);
        if (prefixEnd < 0)
        {
            return false;
        }

        ReadOnlySpan<char> body = text.AsSpan(prefixEnd + 2);
        int colon = body.IndexOf(": ", StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        ReadOnlySpan<char> name = body[..colon];
        ReadOnlySpan<char> value = body[(colon + 2)..];
        return !name.ContainsAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789_")
            && value.Length > 0 && !value.ContainsAnyExceptInRange('0', '9');
    }

    private static string KindName(CpuHogKind k) => k switch
    {
        CpuHogKind.NonPreemptible => "non-preemptible kernel work",
        CpuHogKind.RtTask => "a real-time task",
        _ => "contention",
    };

    private static string FaultName(FaultKind k) => ScenarioNames.Faults.First(kv => kv.Value == k).Key;

    private static bool IsQueueFault(FaultKind k) => k is FaultKind.WithholdTxCompletions or FaultKind.DelayTxCompletions or FaultKind.LoseQueueInterrupts
        or FaultKind.CorruptTxReqId or FaultKind.CorruptRxReqId or FaultKind.CorruptTxDescriptor or FaultKind.CorruptRxDescriptor;
}
