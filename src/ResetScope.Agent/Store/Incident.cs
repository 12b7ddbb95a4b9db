namespace ResetScope.Agent.Store;

/// <summary>What an incident is about; stored and printed by its JSON name.</summary>
public enum IncidentKind
{
    Reset,
    NearMiss,
    Starvation,
}

public static class IncidentKinds
{
    public static string ToJsonName(this IncidentKind kind) => kind switch
    {
        IncidentKind.Reset => "reset",
        IncidentKind.NearMiss => "near-miss",
        IncidentKind.Starvation => "starvation",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an incident kind"),
    };

    public static bool TryParse(string? name, out IncidentKind kind)
    {
        switch (name)
        {
            case "reset":
                kind = IncidentKind.Reset;
                return true;
            case "near-miss":
                kind = IncidentKind.NearMiss;
                return true;
            case "starvation":
                kind = IncidentKind.Starvation;
                return true;
            default:
                kind = default;
                return false;
        }
    }
}

/// <summary>
/// One stored incident: the few fields that are listed and searched, and the bundle the agent built (the event,
/// the recorder window before and after it, host facts, findings) as one JSON object the store keeps verbatim.
/// </summary>
public sealed record Incident
{
    /// <summary>Assigned by the store on <see cref="IncidentStore.Add"/>; 0 before that. Never reused.</summary>
    public long Id { get; init; }

    public required DateTimeOffset CreatedUtc { get; init; }

    public required IncidentKind Kind { get; init; }

    public string? Driver { get; init; }

    public string? Dev { get; init; }

    /// <summary>The trigger family (ARCHITECTURE.md, "Event JSON": <c>reason</c>).</summary>
    public string? Reason { get; init; }

    /// <summary>The driver's own reset reason name, when known.</summary>
    public string? EnaReason { get; init; }

    /// <summary>One line for lists and alerts.</summary>
    public required string Summary { get; init; }

    /// <summary>A JSON object; <see cref="IncidentStore.Add"/> refuses anything else.</summary>
    public required string BundleJson { get; init; }
}

/// <summary>An incident without its bundle, as <see cref="IncidentStore.List"/> returns it.</summary>
public sealed record IncidentSummary(
    long Id,
    DateTimeOffset CreatedUtc,
    IncidentKind Kind,
    string? Driver,
    string? Dev,
    string? Reason,
    string? EnaReason,
    string Summary,
    long BundleBytes);

/// <summary>
/// Where the agent is in the kernel log: the boot (/proc/sys/kernel/random/boot_id) and the sequence number of the
/// last /dev/kmsg record fully handled. Sequence numbers restart at each boot, so one without the other means nothing.
/// </summary>
public sealed record KmsgCursor
{
    public KmsgCursor(string bootId, ulong sequence)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bootId);
        BootId = bootId;
        Sequence = sequence;
    }

    public string BootId { get; }

    public ulong Sequence { get; }
}

/// <summary>What <see cref="IncidentStore.ApplyRetention"/> did. Bytes are the database plus its WAL on disk.</summary>
public sealed record RetentionResult(int DeletedByAge, int DeletedBySize, long Remaining, long BytesBefore, long BytesAfter);
