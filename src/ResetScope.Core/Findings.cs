using System.Text.Json;

namespace ResetScope.Core;

/// <summary>What a diagnosis can name as the cause, or a contributor, of a reset (ARCHITECTURE.md, Diagnosis).</summary>
public enum FindingKind
{
    CpuStarvation,
    ZombieMemcgs,
    CrashLoop,
    IrqPlacement,
    StealTime,
    DeviceFault,
    NearMiss,

    /// <summary>The EC2 instance's network allowances (bandwidth, PPS, conntrack, link-local) shaped or dropped packets.</summary>
    AllowanceExceeded,
}

/// <summary>One record or sample a finding rests on: where it is and what it says.</summary>
public sealed record Evidence(string Source, string Text);

/// <summary>
/// A ranked, evidenced statement about a reset or a host: what, how sure (0–1), on which evidence, and what an
/// operator should do. No finding without evidence.
/// </summary>
public sealed record Finding
{
    public Finding(FindingKind kind, string title, double confidence, IReadOnlyList<Evidence> evidence, string remedy)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(confidence, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(confidence, 1);
        if (evidence.Count == 0)
        {
            throw new ArgumentException("a finding needs evidence", nameof(evidence));
        }

        Kind = kind;
        Title = title;
        Confidence = confidence;
        Evidence = evidence;
        Remedy = remedy;
    }

    public FindingKind Kind { get; }

    public string Title { get; }

    public double Confidence { get; }

    public IReadOnlyList<Evidence> Evidence { get; private init; }

    public string Remedy { get; }

    /// <summary>The CPU the finding is about, when it is about one.</summary>
    public int? Cpu { get; init; }

    /// <summary>Who: a thread, unit or cgroup, when the finding names one.</summary>
    public string? Subject { get; init; }

    /// <summary>The same finding resting on more evidence (a later source that corroborates it).</summary>
    public Finding WithEvidence(IEnumerable<Evidence> more) => this with { Evidence = [.. Evidence, .. more] };

    public static string KindName(FindingKind kind) => kind switch
    {
        FindingKind.CpuStarvation => "cpu-starvation",
        FindingKind.ZombieMemcgs => "zombie-memcgs",
        FindingKind.CrashLoop => "crash-loop",
        FindingKind.IrqPlacement => "irq-placement",
        FindingKind.StealTime => "steal-time",
        FindingKind.DeviceFault => "device-fault",
        FindingKind.AllowanceExceeded => "allowance-exceeded",
        _ => "near-miss",
    };

    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("kind", "finding");
        w.WriteString("finding", KindName(Kind));
        w.WriteString("title", Title);
        w.WriteNumber("confidence", Math.Round(Confidence, 3));
        if (Cpu is int cpu)
        {
            w.WriteNumber("cpu", cpu);
        }
        else
        {
            w.WriteNull("cpu");
        }

        w.WriteString("subject", Subject);
        w.WriteString("remedy", Remedy);
        w.WriteStartArray("evidence");
        foreach (Evidence e in Evidence)
        {
            w.WriteStartObject();
            w.WriteString("source", e.Source);
            w.WriteString("text", e.Text);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
