namespace ResetScope.Ena.Device;

/// <summary>
/// The device as the driver reaches it: BAR0 registers (read-less MMIO), the admin queue, the AENQ, and the
/// IO queue pairs' shared rings. <see cref="EnaDevice"/> is the modelled device; a live backend (real threads,
/// a TAP datapath) implements the same surface, so the driver code does not change.
/// </summary>
public interface IEnaDeviceBackend
{
    IoQueuePair[] Queues { get; }

    /// <summary>The device accepted the KEEP_ALIVE AENQ group (the driver's wd_state).</summary>
    bool KeepAliveEnabled { get; }

    /// <summary>AENQ groups the driver asked for (bit per <see cref="AenqGroup"/>); the device sends only those.</summary>
    uint AenqGroups { get; set; }

    AenqEntry[] Aenq { get; }

    ulong AenqHead { get; set; }

    ulong AenqTail { get; }

    Queue<AdminCompletion> AdminCompletionQueue { get; }

    bool AdminPolling { get; set; }

    bool ManagementVectorEnabled { get; set; }

    /// <summary>What the device itself spent on its last reset.</summary>
    long LastInternalResetNs { get; }

    bool LargeLlq { get; }

    /// <summary>The device runs after the driver enabled the management vector and AENQ.</summary>
    void Start();

    void SubmitAdmin(int commandId, AdminOpcode opcode, int argument);

    bool TryMmioRead(uint offset, out uint value, out ushort lastOffset);

    void WriteDevCtl(uint value);

    /// <summary>Whether a steady jiffy on this queue would complete cleanly within <paramref name="withinNs"/>.</summary>
    bool CompletesCleanly(IoQueuePair q, long withinNs);
}
