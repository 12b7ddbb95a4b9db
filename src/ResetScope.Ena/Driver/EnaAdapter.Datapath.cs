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
        for (int i = 0; i < n; i++)
        {
            ushort reqId = freeIds[(int)(use % (ulong)size)];
            use++;
            sent[reqId] = jiffies;
            timedOut[reqId] = false;
            int slot = (int)(tail % (ulong)size);
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
        bool countPending = _v.HasPendingTimedOut;
        while (done < budget && head != tail)
        {
            int slot = (int)(head % (ulong)size);
            int reqId = cq[slot];
            if (flags[slot] != 0 && _v.AtLeast(2, 10))
            {
                flags[slot] = 0;
                qp.TxCqHead = head + 1;
                ring.NextToClean = clean;
                NetErr(EnaMessages.CorruptedTxDescriptor(qid, reqId));
                NetErr(EnaMessages.TxDescriptorDump(0x00000000u | (uint)reqId, 0x80000001u, 1, 1));
                RequestReset(ResetReason.TxDescriptorMalformed, ResetFamily.Other, qid);
                return done;
            }

            flags[slot] = 0;
            if (reqId >= size || sent[reqId] == 0)
            {
                qp.TxCqHead = head + 1;
                ring.NextToClean = clean;
                if (reqId >= size)
                {
                    NetErr(EnaMessages.InvalidReqIdCom(reqId));
                }

                NetErr(_m.InvalidTxReqId(reqId, qid));
                TxStats[qid].BadReqId++;
                RequestReset(ResetReason.InvTxReqId, ResetFamily.Other, qid);
                return done;
            }

            if (countPending && ring.TimedOut[reqId])
            {
                ring.PendingTimedOut--;
            }

            sent[reqId] = 0;
            freeIds[(int)(clean % (ulong)size)] = (ushort)reqId;
            clean++;
            head++;
            done++;
        }

        qp.TxCqHead = head;
        ring.NextToClean = clean;
        ring.InUse -= done;
        TxStats[qid].PendingTimedoutPkts = (ulong)Math.Max(0, ring.PendingTimedOut);

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
        while (done < budget && head != tail)
        {
            int slot = (int)(head % (ulong)size);
            int reqId = qp.RxCq[slot];
            byte flags = qp.RxCqFlags[slot];
            qp.RxCqFlags[slot] = 0;
            if (flags != 0 && _v.AtLeast(2, 8, 3))
            {
                qp.RxCqHead = head + 1;
                NetErr(EnaMessages.CorruptedRxDescriptor(0, qid, reqId));
                if (_v.AtLeast(2, 13))
                {
                    NetErr(EnaMessages.RxDescriptorDump(0x00000000u, 0x80000003u | ((uint)reqId << 16), 0, 0, 1, 1, 1, 1, 0));
                }

                RequestReset(ResetReason.RxDescriptorMalformed, ResetFamily.Other, qid);
                return done;
            }

            if (reqId >= size || !ring.Posted[reqId])
            {
                qp.RxCqHead = head + 1;
                NetErr(EnaMessages.BadRxReqId(0, qid, reqId));
                RxStats[qid].BadReqId++;
                RequestReset(ResetReason.InvRxReqId, ResetFamily.Other, qid);
                return done;
            }

            ring.Posted[reqId] = false;
            ring.FreeIds[(int)(ring.NextToClean % (ulong)size)] = (ushort)reqId;
            ring.NextToClean++;
            head++;
            done++;
        }

        qp.RxCqHead = head;
        ref RxQueueStats st = ref RxStats[qid];
        st.Cnt += (ulong)done;
        st.Bytes += (ulong)done * (ulong)Config.PacketBytes;
        st.CsumGood += (ulong)done;
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
        for (int i = 0; i < free; i++)
        {
            ushort reqId = ring.FreeIds[(int)(ring.NextToUse % (ulong)size)];
            ring.NextToUse++;
            ring.Posted[reqId] = true;
            qp.RxSq[(int)(qp.RxSqTail % (ulong)size)] = reqId;
            qp.RxSqTail++;
        }
    }
}
