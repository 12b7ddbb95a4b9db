namespace ResetScope.Ena.Driver;

/// <summary>The driver's Tx ring bookkeeping (struct ena_ring, Tx side): tx_info per req_id and free_ids.</summary>
public sealed class TxRing
{
    public TxRing(int qid, int size)
    {
        Qid = qid;
        Size = size;
        SentJiffies = new ulong[size];
        TimedOut = new bool[size];
        FreeIds = new ushort[size];
        Reset();
    }

    public int Qid { get; }

    public int Size { get; }

    /// <summary>tx_info[req_id].tx_sent_jiffies; 0 = free.</summary>
    public readonly ulong[] SentJiffies;

    /// <summary>tx_info[req_id].timed_out (print_once before 2.16).</summary>
    public readonly bool[] TimedOut;

    public readonly ushort[] FreeIds;
    public ulong NextToUse;
    public ulong NextToClean;
    public int InUse;

    /// <summary>ena_napi: last_napi_jiffies (in tx_stats), last_intr_jiffies, first_interrupt.</summary>
    public ulong LastNapiJiffies;
    public ulong LastIntrJiffies;
    public bool FirstInterrupt;

    /// <summary>rx_ring->cpu: where NAPI last re-armed the interrupt (2.17's "napi CPU").</summary>
    public int NapiCpu;

    /// <summary>Atomic pending_timedout_pkts (2.16+).</summary>
    public long PendingTimedOut;

    /// <summary>
    /// Every req_id has come back in the order it went out since the last reset, so free_ids is still the
    /// identity (free_ids[i] == i). The simulator's steady-tick shortcut relies on it.
    /// </summary>
    public bool InOrder = true;

    // lost-interrupt detection (2.16+): what the previous tick saw
    public bool PrevCqNonEmpty;
    public ulong PrevNapiJiffies;
    public bool LostInterruptKicked;

    public void Reset()
    {
        Array.Clear(SentJiffies);
        Array.Clear(TimedOut);
        for (int i = 0; i < Size; i++)
        {
            FreeIds[i] = (ushort)i;
        }

        NextToUse = 0;
        NextToClean = 0;
        InUse = 0;
        InOrder = true;
        PendingTimedOut = 0;
        PrevCqNonEmpty = false;
        LostInterruptKicked = false;
    }
}

/// <summary>The driver's Rx ring bookkeeping: posted buffers by req_id.</summary>
public sealed class RxRing
{
    public RxRing(int qid, int size)
    {
        Qid = qid;
        Size = size;
        Posted = new bool[size];
        FreeIds = new ushort[size];
        Reset();
    }

    public int Qid { get; }

    public int Size { get; }

    public readonly bool[] Posted;
    public readonly ushort[] FreeIds;
    public ulong NextToUse;
    public ulong NextToClean;
    public int NoInterruptEventCnt;
    public int EmptyRxQueue;

    /// <summary>free_ids is still the identity (see <see cref="TxRing.InOrder"/>).</summary>
    public bool InOrder = true;

    public void Reset()
    {
        Array.Clear(Posted);
        for (int i = 0; i < Size; i++)
        {
            FreeIds[i] = (ushort)i;
        }

        NextToUse = 0;
        NextToClean = 0;
        InOrder = true;
        NoInterruptEventCnt = 0;
        EmptyRxQueue = 0;
    }
}
