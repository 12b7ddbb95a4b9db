namespace ResetScope.Core;

/// <summary>
/// One kernel log record as printk stores it: a level, the printk clock (µs since boot), a sequence
/// number and the text without a trailing newline. <see cref="Origin"/> says who wrote it.
/// </summary>
public readonly record struct KernelRecord(long Sequence, long TimestampUs, KernelLevel Level, string Text, RecordOrigin Origin = RecordOrigin.Kernel)
{
    /// <summary>The line as <c>dmesg</c> prints it by default: <c>[ 1234.567890] text</c>.</summary>
    public string ToDmesgLine() => $"[{TimestampUs / 1_000_000,5}.{TimestampUs % 1_000_000:D6}] {Text}";

    /// <summary>The record as /dev/kmsg presents it: <c>prio,seq,usec,flags;text</c> (facility 0 = kernel).</summary>
    public string ToKmsgLine() => $"{(int)Level},{Sequence},{TimestampUs},-;{Text}";
}

/// <summary>Where a record came from: the kernel itself, a user-space write to /dev/kmsg, or a model.</summary>
public enum RecordOrigin : byte
{
    Kernel = 0,
    UserSpace = 1,
    Model = 2,
}
