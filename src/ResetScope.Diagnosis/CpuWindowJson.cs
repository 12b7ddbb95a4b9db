using System.Text.Json;

namespace ResetScope.Diagnosis;

/// <summary>A CPU window's figures as JSON properties, the same in doctor's lines and in an incident's bundle.</summary>
public static class CpuWindowJson
{
    public static void WriteFields(Utf8JsonWriter w, CpuWindow c)
    {
        w.WriteNumber("cpu", c.Cpu);
        w.WriteNumber("seconds", Math.Round(c.Seconds, 3));
        w.WriteNumber("user_pct", Math.Round(c.UserPct, 2));
        w.WriteNumber("sys_pct", Math.Round(c.SysPct, 2));
        w.WriteNumber("irq_pct", Math.Round(c.IrqPct, 2));
        w.WriteNumber("soft_pct", Math.Round(c.SoftPct, 2));
        w.WriteNumber("steal_pct", Math.Round(c.StealPct, 2));
        w.WriteNumber("idle_pct", Math.Round(c.IdlePct, 2));
        w.WriteNumber("softirq_wait_ms", Math.Round(c.SoftirqThreadWaitMs, 1));
        w.WriteNumber("longest_softirq_wait_ms", Math.Round(c.LongestSoftirqWaitMs, 1));
        w.WriteNumber("time_squeeze", c.TimeSqueezeDelta);
    }
}
