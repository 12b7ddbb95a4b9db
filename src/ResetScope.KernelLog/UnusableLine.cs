namespace ResetScope.KernelLog;

/// <summary>A line that looked like part of an event but could not be used, and why (<see cref="UnusableReason"/>).</summary>
public sealed record UnusableLine(int Line, string Reason, string Text);

/// <summary>Why a line that looked like part of an event was not used; the names are part of the scan JSON.</summary>
public static class UnusableReason
{
    /// <summary>Cut short (elided with "...", a length cap, a wrap whose rest is missing) before it says which message it is.</summary>
    public const string CutShort = "cut-short";

    /// <summary>The message says neither the driver nor the device, and no neighbouring line tells which one.</summary>
    public const string NoDevice = "no-device";

    /// <summary>The text of a catalogue message is there, but damaged (OCR, a mangled prefix, bytes lost in transit).</summary>
    public const string Damaged = "damaged";

    /// <summary>The continuation of a wrapped message whose first part is not in the input (or sits beyond the reader's block).</summary>
    public const string Orphan = "orphan-continuation";

    /// <summary>Every reason, in the order the summary lists them.</summary>
    public static IReadOnlyList<string> All { get; } = [CutShort, Damaged, NoDevice, Orphan];
}
