using ResetScope.Core;
using ResetScope.Ena.Device;
using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Driver;

public sealed partial class EnaAdapter
{
    /// <summary>
    /// ena_start_xmit for a burst of <paramref name="count"/> packets on queue <paramref name="qid"/> (xmit_more:
    /// one doorbell). Stops the netdev queue when fewer than sgl_size + 2 entries are free. Returns how many
    /// packets the ring took; the stack keeps or drops the rest.
    /// </summary>
    public int Xmit(int qid, int count)
    {
        if (!DevUp || _netdev.TxStopped[qid] || count <= 0)
        {
            return 0;
        }

        TxRing ring = _tx[qid];
        IoQueuePair qp = _qp[qid];
        int size = ring.Size;
        int room = size - ring.InUse - (Config.TxSglSize + 2);
        int n = Math.Min(count, Math.Max(room, 0) + 1);
        if (room < 0)
        {
            n = 0;
        }

        ulong jiffies = _k.Jiffies;
        long now = _k.NowNs;
        ulong use = ring.NextToUse;
        ulong tail = qp.TxSqTail;
        ushort[] freeIds = ring.FreeIds;
        ulong[] sent = ring.SentJiffies;
        bool[] timedOut = ring.TimedOut;
        ushort[] sq = qp.TxSq;
        long[] submitted = qp.TxSqSubmitNs;
        int mask = qp.TxMask;
        for (int i = 0; i < n; i++)
        {
            ushort reqId = freeIds[(int)use & mask];
            use++;
            sent[reqId] = jiffies;
            timedOut[reqId] = false;
            int slot = (int)tail & mask;
            sq[slot] = reqId;
            submitted[slot] = now;
            tail++;
        }

        ring.NextToUse = use;
        qp.TxSqTail = tail;
        ring.InUse += n;
        ref TxQueueStats st = ref TxStats[qid];
        st.Cnt += (ulong)n;
        st.Bytes += (ulong)n * (ulong)Config.PacketBytes;
        if (n > 0)
        {
            st.Doorbells++;
            _netdev.TransStart[qid] = jiffies;
        }

        if (size - ring.InUse < Config.TxSglSize + 2)
        {
            _netdev.TxStopped[qid] = true;
            st.QueueStop++;
        }

        return n;
    }

    /// <summary>ena_intr_msix_io: the queue's MSI-X handler (hardirq).</summary>
    public void QueueInterrupt(int qid)
    {
        TxRing ring = _tx[qid];
        if (_v.TracksInterruptTime)
        {
            ring.LastIntrJiffies = _k.Jiffies;
        }

        ring.FirstInterrupt = true;
        _k.NapiSchedule(_napi[qid]);
    }

    /// <summary>ena_io_poll.</summary>
    private int Poll(int qid, int budget)
    {
        TxRing ring = _tx[qid];
        ref TxQueueStats st = ref TxStats[qid];
        if (_v.NapiTimeAtEntry)
        {
            ring.LastNapiJiffies = _k.Jiffies;
        }

        if (!DevUp || TriggerReset)
        {
            _napi[qid].Complete();
            return 0;
        }

        int txBudget = ring.Size / 4;
        int txWork = CleanTx(qid, txBudget);
        int rxWork = TriggerReset ? 0 : CleanRx(qid, budget);
        int ret;
        if (TriggerReset)
        {
            _napi[qid].Complete();
            ret = 0;
        }
        else if (txWork < txBudget && rxWork < budget)
        {
            _napi[qid].Complete();
            _qp[qid].InterruptUnmasked = true;
            ring.NapiCpu = _napi[qid].Cpu;
            st.UnmaskInterrupt++;
            st.NapiComp++;
            ret = rxWork;
        }
        else
        {
            ret = budget;
        }

        st.TxPoll++;
        if (_v.TracksNapiTime && !_v.NapiTimeAtEntry)
        {
            ring.LastNapiJiffies = _k.Jiffies;
        }

        return ret;
    }

    /// <summary>ena_clean_tx_irq: reap Tx completions, validate req_ids and descriptors, wake the queue.</summary>
    private int CleanTx(int qid, int budget)
    {
        TxRing ring = _tx[qid];
        IoQueuePair qp = _qp[qid];
        int size = ring.Size;
        int done = 0;
        ulong head = qp.TxCqHead;
        ulong tail = qp.TxCqTail;
        ulong clean = ring.NextToClean;
        ulong[] sent = ring.SentJiffies;
        ushort[] freeIds = ring.FreeIds;
        ushort[] cq = qp.TxCq;
        byte[] flags = qp.TxCqFlags;
        bool[] timedOut = ring.TimedOut;
        bool countPending = _v.HasPendingTimedOut;
        int mask = qp.TxMask;
        int badReqId = -1;
        bool malformed = false;
        while (done < budget && head != tail)
        {
            int slot = (int)head & mask;
            int reqId = cq[slot];
            if (flags[slot] != 0 && _v.AtLeast(2, 10))
            {
                // The descriptor is consumed; its buffer stays in use until the reset frees it.
                flags[slot] = 0;
                head++;
                malformed = true;
                badReqId = reqId;
                break;
            }

            flags[slot] = 0;
            if (reqId >= size || sent[reqId] == 0)
            {
                head++;
                badReqId = reqId;
                break;
            }

            if (countPending && timedOut[reqId])
            {
                ring.PendingTimedOut--;
            }

            sent[reqId] = 0;
            if (reqId != ((int)clean & mask))
            {
                ring.InOrder = false;
            }

            freeIds[(int)clean & mask] = (ushort)reqId;
            clean++;
            head++;
            done++;
        }

        qp.TxCqHead = head;
        ring.NextToClean = clean;
        ring.InUse -= done;
        TxStats[qid].PendingTimedoutPkts = (ulong)Math.Max(0, ring.PendingTimedOut);
        if (malformed)
        {
            NetErr(EnaMessages.CorruptedTxDescriptor(qid, badReqId));
            NetErr(EnaMessages.TxDescriptorDump((uint)badReqId, 0x80000001u, 1, 1));
            RequestReset(ResetReason.TxDescriptorMalformed, ResetFamily.Other, qid);
            return done;
        }

        if (badReqId >= 0)
        {
            if (badReqId >= size)
            {
                NetErr(EnaMessages.InvalidReqIdCom(badReqId));
            }

            NetErr(_m.InvalidTxReqId(badReqId, qid));
            TxStats[qid].BadReqId++;
            RequestReset(ResetReason.InvTxReqId, ResetFamily.Other, qid);
            return done;
        }

        if (_netdev.TxStopped[qid] && size - ring.InUse >= MaxSkbFrags + 2 && DevUp)
        {
            _netdev.TxStopped[qid] = false;
            TxStats[qid].QueueWakeup++;
        }

        return done;
    }

    /// <summary>ena_clean_rx_irq: pass received packets up, validate descriptors, refill.</summary>
    private int CleanRx(int qid, int budget)
    {
        RxRing ring = _rx[qid];
        IoQueuePair qp = _qp[qid];
        int size = ring.Size;
        int done = 0;
        ulong head = qp.RxCqHead;
        ulong tail = qp.RxCqTail;
        int mask = qp.RxMask;
        ushort[] rxCq = qp.RxCq;
        byte[] rxFlags = qp.RxCqFlags;
        bool[] posted = ring.Posted;
        ushort[] freeIds = ring.FreeIds;
        ulong clean = ring.NextToClean;
        ResetReason error = ResetReason.Normal;
        int badReqId = 0;
        while (done < budget && head != tail)
        {
            int slot = (int)head & mask;
            int reqId = rxCq[slot];
            byte flags = rxFlags[slot];
            rxFlags[slot] = 0;
            if ((flags != 0 && _v.AtLeast(2, 8, 3)) || reqId >= size || !posted[reqId])
            {
                // Consumed, but its buffer stays posted (owned) until the reset frees it.
                head++;
                error = flags != 0 && _v.AtLeast(2, 8, 3) ? ResetReason.RxDescriptorMalformed : ResetReason.InvRxReqId;
                badReqId = reqId;
                break;
            }

            posted[reqId] = false;
            if (reqId != ((int)clean & mask))
            {
                ring.InOrder = false;
            }

            freeIds[(int)clean & mask] = (ushort)reqId;
            clean++;
            head++;
            done++;
        }

        qp.RxCqHead = head;
        ring.NextToClean = clean;
        ref RxQueueStats st = ref RxStats[qid];
        st.Cnt += (ulong)done;
        st.Bytes += (ulong)done * (ulong)Config.PacketBytes;
        st.CsumGood += (ulong)done;
        if (error == ResetReason.RxDescriptorMalformed)
        {
            NetErr(EnaMessages.CorruptedRxDescriptor(0, qid, badReqId));
            if (_v.AtLeast(2, 13))
            {
                NetErr(EnaMessages.RxDescriptorDump(0x00000000u, 0x80000003u | ((uint)badReqId << 16), 0, 0, 1, 1, 1, 1, 0));
            }

            RequestReset(ResetReason.RxDescriptorMalformed, ResetFamily.Other, qid);
            return done;
        }

        if (error == ResetReason.InvRxReqId)
        {
            NetErr(EnaMessages.BadRxReqId(0, qid, badReqId));
            RxStats[qid].BadReqId++;
            RequestReset(ResetReason.InvRxReqId, ResetFamily.Other, qid);
            return done;
        }

        if (done > 0)
        {
            Refill(qid);
        }

        return done;
    }

    /// <summary>ena_refill_rx_bufs: post every free buffer back to the device.</summary>
    private void Refill(int qid)
    {
        RxRing ring = _rx[qid];
        IoQueuePair qp = _qp[qid];
        int size = ring.Size;

        // The device keeps one entry empty (ena_com_free_q_entries = depth - 1 - used).
        int free = size - 1 - (int)(ring.NextToUse - ring.NextToClean);
        int mask = qp.RxMask;
        ulong use = ring.NextToUse;
        ulong tail = qp.RxSqTail;
        ushort[] freeIds = ring.FreeIds;
        bool[] posted = ring.Posted;
        ushort[] rxSq = qp.RxSq;
        for (int i = 0; i < free; i++)
        {
            ushort reqId = freeIds[(int)use & mask];
            use++;
            posted[reqId] = true;
            rxSq[(int)tail & mask] = reqId;
            tail++;
        }

        ring.NextToUse = use;
        qp.RxSqTail = tail;
    }

    /// <summary>
    /// An exact shortcut for a jiffy in which nothing can go differently from the step-by-step path: the queue
    /// is idle and in order, the device and CPU are healthy, and this jiffy's packets fit in one poll. It
    /// applies the same state changes and counters as Xmit → device → MSI-X → one NAPI poll, without touching
    /// each packet. Returns false (and changes nothing) when any precondition fails.
    /// </summary>
    public bool TrySteadyTick(int qid, int tx, int rx, long horizonNs, int maxPolls)
    {
        TxRing ring = _tx[qid];
        RxRing rxRing = _rx[qid];
        IoQueuePair qp = _qp[qid];
        Napi napi = _napi[qid];
        int size = ring.Size;
        if (!DevUp || TriggerReset || ring.InUse != 0 || !ring.InOrder || !rxRing.InOrder
            || qp.TxCqPending != 0 || qp.RxCqPending != 0 || !qp.InterruptUnmasked || qp.LostInterruptKick
            || napi.Scheduled || napi.Disabled || napi.IdleWaiter is not null || _netdev.TxStopped[qid]
            || tx >= size - (Config.TxSglSize + 2) || rx > qp.RxPosted
            || !_dev.CompletesCleanly(qp, horizonNs - _k.NowNs))
        {
            return false;
        }

        // Each poll cleans up to ring/4 Tx and NAPI_POLL_WEIGHT Rx; the one that stays under both completes NAPI.
        int polls = Math.Max(tx / (size / 4), rx / NapiWeight) + 1;
        if (polls > maxPolls)
        {
            return false;
        }

        if (tx == 0 && rx == 0)
        {
            return true;
        }

        ulong j = _k.Jiffies;
        ref TxQueueStats st = ref TxStats[qid];

        // ena_start_xmit ... ena_clean_tx_irq: every req_id goes out and comes back in order.
        ulong n = (ulong)tx;
        ring.NextToUse += n;
        ring.NextToClean += n;
        qp.TxSqTail += n;
        qp.TxSqHead += n;
        qp.TxCqTail += n;
        qp.TxCqHead += n;
        if (tx > 0)
        {
            st.Cnt += n;
            st.Bytes += n * (ulong)Config.PacketBytes;
            st.Doorbells++;
            _netdev.TransStart[qid] = j;
        }

        // The device fills posted Rx buffers; the poll passes them up and refills.
        if (rx > 0)
        {
            int mask = qp.RxMask;
            SetPosted(rxRing.Posted, (int)qp.RxSqHead & mask, rx, mask, false);
            ulong m = (ulong)rx;
            qp.RxSqHead += m;
            qp.RxCqTail += m;
            qp.RxCqHead += m;
            rxRing.NextToClean += m;
            ref RxQueueStats rs = ref RxStats[qid];
            rs.Cnt += m;
            rs.Bytes += m * (ulong)Config.PacketBytes;
            rs.CsumGood += m;
            int free = size - 1 - (int)(rxRing.NextToUse - rxRing.NextToClean);
            SetPosted(rxRing.Posted, (int)rxRing.NextToUse & mask, free, mask, true);
            rxRing.NextToUse += (ulong)free;
            qp.RxSqTail += (ulong)free;
        }

        // MSI-X, then one poll that finishes under budget and re-arms the interrupt.
        if (_v.TracksInterruptTime)
        {
            ring.LastIntrJiffies = j;
        }

        ring.FirstInterrupt = true;
        if (_v.TracksNapiTime)
        {
            ring.LastNapiJiffies = j;
        }

        ring.NapiCpu = napi.Cpu;
        st.UnmaskInterrupt++;
        st.NapiComp++;
        st.TxPoll += (ulong)polls;
        return true;
    }

    private const int NapiWeight = 64;

    private static void SetPosted(bool[] posted, int start, int count, int mask, bool value)
    {
        int first = Math.Min(count, mask + 1 - start);
        posted.AsSpan(start, first).Fill(value);
        if (count > first)
        {
            posted.AsSpan(0, count - first).Fill(value);
        }
    }
}
