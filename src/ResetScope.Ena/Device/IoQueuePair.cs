namespace ResetScope.Ena.Device;

/// <summary>
/// The memory a queue pair shares between driver and device: Tx and Rx submission rings (req_ids the driver
/// posts) and completion rings (req_ids the device returns), with producer/consumer indices that only grow
/// (ring slot = index % size), plus the queue's MSI-X mask. Shaped like ixy's rings: flat arrays, no objects
/// per packet.
/// </summary>
public sealed class IoQueuePair
{
    public IoQueuePair(int qid, int txSize, int rxSize)
    {
        if (!int.IsPow2(txSize) || !int.IsPow2(rxSize))
        {
            throw new ArgumentException($"ring sizes must be powers of two (got Tx {txSize}, Rx {rxSize})");
        }

        Qid = qid;
        TxMask = txSize - 1;
        RxMask = rxSize - 1;
        TxSize = txSize;
        RxSize = rxSize;
        TxSq = new ushort[txSize];
        TxSqSubmitNs = new long[txSize];
        TxCq = new ushort[txSize];
        TxCqFlags = new byte[txSize];
        RxSq = new ushort[rxSize];
        RxCq = new ushort[rxSize];
        RxCqFlags = new byte[rxSize];
        FillIdentity();
    }

    // While every req_id comes back in order, slot i of each ring holds req_id i. Starting from that state
    // lets the simulator skip writing slots in steady ticks and stay exact when it stops skipping.
    private void FillIdentity()
    {
        for (int i = 0; i < TxSize; i++)
        {
            TxSq[i] = (ushort)i;
            TxCq[i] = (ushort)i;
        }

        for (int i = 0; i < RxSize; i++)
        {
            RxSq[i] = (ushort)i;
            RxCq[i] = (ushort)i;
        }
    }

    public int Qid { get; }

    public int TxSize { get; }

    public int RxSize { get; }

    /// <summary>Ring sizes are powers of two (as ENA requires): slot = index &amp; mask.</summary>
    public int TxMask { get; }

    public int RxMask { get; }

    // Tx submission: the driver writes req_ids at TxSqTail and rings the doorbell; the device consumes at TxSqHead.
    public readonly ushort[] TxSq;
    public readonly long[] TxSqSubmitNs;
    public ulong TxSqTail;
    public ulong TxSqHead;

    // Tx completion: the device writes at TxCqTail; the driver consumes at TxCqHead.
    public readonly ushort[] TxCq;
    public readonly byte[] TxCqFlags;
    public ulong TxCqTail;
    public ulong TxCqHead;

    // Rx submission: posted buffers.
    public readonly ushort[] RxSq;
    public ulong RxSqTail;
    public ulong RxSqHead;

    // Rx completion.
    public readonly ushort[] RxCq;
    public readonly byte[] RxCqFlags;
    public ulong RxCqTail;
    public ulong RxCqHead;

    /// <summary>The queue exists on the device (created by admin command, gone after destroy or device reset).</summary>
    public bool Created;

    /// <summary>The MSI-X vector is unmasked; the device masks it when it fires.</summary>
    public bool InterruptUnmasked;

    /// <summary>The driver asked for a re-fire after a lost interrupt (2.16.0+ lost-interrupt kick).</summary>
    public bool LostInterruptKick;

    public int TxCqPending => (int)(TxCqTail - TxCqHead);

    public int RxCqPending => (int)(RxCqTail - RxCqHead);

    public int RxPosted => (int)(RxSqTail - RxSqHead);

    public void ResetIndices()
    {
        TxSqTail = TxSqHead = TxCqTail = TxCqHead = 0;
        RxSqTail = RxSqHead = RxCqTail = RxCqHead = 0;
        InterruptUnmasked = false;
        LostInterruptKick = false;
        Array.Clear(TxCqFlags);
        Array.Clear(RxCqFlags);
        FillIdentity();
    }
}

/// <summary>Flags the device sets in a completion descriptor.</summary>
public static class CompletionFlags
{
    /// <summary>MBZ bits set: a malformed descriptor.</summary>
    public const byte Malformed = 1;

    /// <summary>The "first" bit set on a non-first Rx descriptor.</summary>
    public const byte FirstBitOnNonFirst = 2;

    /// <summary>The packet spans more descriptors than allowed (Rx).</summary>
    public const byte TooManyDescs = 4;
}
