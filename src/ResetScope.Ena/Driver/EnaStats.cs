namespace ResetScope.Ena.Driver;

/// <summary>The adapter-wide ethtool counters (ena-driver.md §4.1).</summary>
public sealed class GlobalStats
{
    public ulong TotalResets;
    public ulong ResetFail;
    public ulong TxTimeout;
    public ulong WdExpired;
    public ulong AdminQPause;
    public ulong BadTxReqId;
    public ulong BadRxReqId;
    public ulong BadRxDescNum;
    public ulong MissingIntr;
    public ulong SuspectedPollStarvation;
    public ulong MissingTxCmpl;
    public ulong RxDescMalformed;
    public ulong TxDescMalformed;
    public ulong InvalidState;
    public ulong OsNetdevWd;
    public ulong MissingAdminInterrupt;
    public ulong AdminTo;
    public ulong DeviceRequestReset;
    public ulong MissingFirstIntr;
    public ulong Suspend;
    public ulong Resume;
    public ulong InterfaceDown;
    public ulong InterfaceUp;

    // admin queue (ena_com) counters
    public ulong AdminAborted;
    public ulong AdminSubmitted;
    public ulong AdminCompleted;
    public ulong AdminOutOfSpace;
    public ulong AdminNoCompletion;
}

/// <summary>Per-queue Tx counters (queue_N_tx_*).</summary>
public struct TxQueueStats
{
    public ulong Cnt;
    public ulong Bytes;
    public ulong QueueStop;
    public ulong QueueWakeup;
    public ulong PrepareCtxErr;
    public ulong DmaMappingErr;
    public ulong Linearize;
    public ulong LinearizeFailed;
    public ulong NapiComp;
    public ulong TxPoll;
    public ulong Doorbells;
    public ulong BadReqId;
    public ulong LlqBufferCopy;
    public ulong MissedTx;
    public ulong UnmaskInterrupt;
    public ulong LostInterrupt;
    public ulong PendingTimedoutPkts;
}

/// <summary>Per-queue Rx counters (queue_N_rx_*).</summary>
public struct RxQueueStats
{
    public ulong Cnt;
    public ulong Bytes;
    public ulong RxCopybreakPkt;
    public ulong CsumGood;
    public ulong RefilPartial;
    public ulong CsumBad;
    public ulong PageAllocFail;
    public ulong SkbAllocFail;
    public ulong DmaMappingErr;
    public ulong BadDescNum;
    public ulong BadReqId;
    public ulong EmptyRxRing;
    public ulong CsumUnchecked;
}

/// <summary>
/// Lists counters by name in the order a driver generation prints them: <c>ethtool -S</c> and the
/// reset-time dump to the kernel log (ena-driver.md §4.1–4.3).
/// </summary>
public static class EnaStatsLayout
{
    public static IEnumerable<(string Name, ulong Value)> Global(DriverVersion v, GlobalStats s)
    {
        if (v.PerReasonCounters)
        {
            yield return ("total_resets", s.TotalResets);
            yield return ("reset_fail", s.ResetFail);
            yield return ("tx_timeout", s.TxTimeout);
            yield return ("wd_expired", s.WdExpired);
            yield return ("admin_q_pause", s.AdminQPause);
            yield return ("bad_tx_req_id", s.BadTxReqId);
            yield return ("bad_rx_req_id", s.BadRxReqId);
            yield return ("bad_rx_desc_num", s.BadRxDescNum);
            yield return ("missing_intr", s.MissingIntr);
            yield return ("suspected_poll_starvation", s.SuspectedPollStarvation);
            yield return ("missing_tx_cmpl", s.MissingTxCmpl);
            yield return ("rx_desc_malformed", s.RxDescMalformed);
            yield return ("tx_desc_malformed", s.TxDescMalformed);
            yield return ("invalid_state", s.InvalidState);
            yield return ("os_netdev_wd", s.OsNetdevWd);
            if (v.AtLeast(2, 11))
            {
                yield return ("missing_admin_interrupt", s.MissingAdminInterrupt);
                yield return ("admin_to", s.AdminTo);
            }

            if (v.AtLeast(2, 12))
            {
                yield return ("device_request_reset", s.DeviceRequestReset);
            }

            if (v.AtLeast(2, 13))
            {
                yield return ("missing_first_intr", s.MissingFirstIntr);
            }

            yield return ("suspend", s.Suspend);
            yield return ("resume", s.Resume);
            yield return ("interface_down", s.InterfaceDown);
            yield return ("interface_up", s.InterfaceUp);
        }
        else
        {
            yield return ("tx_timeout", s.TxTimeout);
            yield return ("suspend", s.Suspend);
            yield return ("resume", s.Resume);
            yield return ("wd_expired", s.WdExpired);
            yield return ("interface_up", s.InterfaceUp);
            yield return ("interface_down", s.InterfaceDown);
            yield return ("admin_q_pause", s.AdminQPause);
            if (v.HasResetFail)
            {
                yield return ("reset_fail", s.ResetFail);
            }
        }

        if (v.AtLeast(2, 2, 10))
        {
            // ENI shaping metrics: the device reports them; the model's device does not shape traffic.
            yield return ("bw_in_allowance_exceeded", 0);
            yield return ("bw_out_allowance_exceeded", 0);
            yield return ("pps_allowance_exceeded", 0);
            yield return ("conntrack_allowance_exceeded", 0);
            yield return ("linklocal_allowance_exceeded", 0);
            if (v.AtLeast(2, 8, 1))
            {
                yield return ("conntrack_allowance_available", 0);
            }
        }
    }

    public static IEnumerable<(string Name, ulong Value)> Admin(GlobalStats s)
    {
        yield return ("ena_admin_q_aborted_cmd", s.AdminAborted);
        yield return ("ena_admin_q_submitted_cmd", s.AdminSubmitted);
        yield return ("ena_admin_q_completed_cmd", s.AdminCompleted);
        yield return ("ena_admin_q_out_of_space", s.AdminOutOfSpace);
        yield return ("ena_admin_q_no_completion", s.AdminNoCompletion);
    }

    /// <summary>Tx per-queue stats; <paramref name="perQueueOnly"/> selects the ones the 2.14+ dump keeps at error level.</summary>
    public static IEnumerable<(string Name, ulong Value)> Tx(DriverVersion v, TxQueueStats t, bool perQueueOnly = false)
    {
        if (v.ReducedStatsDump)
        {
            yield return ("tx_poll", t.TxPoll);
            yield return ("doorbells", t.Doorbells);
            yield return ("unmask_interrupt", t.UnmaskInterrupt);
            if (v.HasPendingTimedOut)
            {
                yield return ("lost_interrupt", t.LostInterrupt);
            }

            if (perQueueOnly)
            {
                yield break;
            }

            yield return ("cnt", t.Cnt);
            yield return ("bytes", t.Bytes);
            yield return ("queue_stop", t.QueueStop);
            yield return ("queue_wakeup", t.QueueWakeup);
            yield return ("dma_mapping_err", t.DmaMappingErr);
            yield return ("linearize", t.Linearize);
            yield return ("linearize_failed", t.LinearizeFailed);
            yield return ("napi_comp", t.NapiComp);
            yield return ("prepare_ctx_err", t.PrepareCtxErr);
            yield return ("bad_req_id", t.BadReqId);
            yield return ("llq_buffer_copy", t.LlqBufferCopy);
            yield return ("missed_tx", t.MissedTx);
            if (v.HasPendingTimedOut)
            {
                yield return ("pending_timedout_pkts", t.PendingTimedoutPkts);
            }

            yield break;
        }

        yield return ("cnt", t.Cnt);
        yield return ("bytes", t.Bytes);
        yield return ("queue_stop", t.QueueStop);
        yield return ("prepare_ctx_err", t.PrepareCtxErr);
        yield return ("queue_wakeup", t.QueueWakeup);
        yield return ("dma_mapping_err", t.DmaMappingErr);
        yield return ("linearize", t.Linearize);
        yield return ("linearize_failed", t.LinearizeFailed);
        yield return ("napi_comp", t.NapiComp);
        yield return ("tx_poll", t.TxPoll);
        yield return ("doorbells", t.Doorbells);
        yield return ("bad_req_id", t.BadReqId);
        yield return ("llq_buffer_copy", t.LlqBufferCopy);
        yield return ("missed_tx", t.MissedTx);
        if (v.AtLeast(2, 2))
        {
            yield return ("unmask_interrupt", t.UnmaskInterrupt);
        }
    }

    public static IEnumerable<(string Name, ulong Value)> Rx(RxQueueStats r)
    {
        yield return ("cnt", r.Cnt);
        yield return ("bytes", r.Bytes);
        yield return ("rx_copybreak_pkt", r.RxCopybreakPkt);
        yield return ("csum_good", r.CsumGood);
        yield return ("refil_partial", r.RefilPartial);
        yield return ("csum_bad", r.CsumBad);
        yield return ("page_alloc_fail", r.PageAllocFail);
        yield return ("skb_alloc_fail", r.SkbAllocFail);
        yield return ("dma_mapping_err", r.DmaMappingErr);
        yield return ("bad_desc_num", r.BadDescNum);
        yield return ("bad_req_id", r.BadReqId);
        yield return ("empty_rx_ring", r.EmptyRxRing);
        yield return ("csum_unchecked", r.CsumUnchecked);
    }

    /// <summary><c>ethtool -S</c>: every counter, named as the driver names them.</summary>
    public static List<(string Name, ulong Value)> Ethtool(DriverVersion v, GlobalStats g, ReadOnlySpan<TxQueueStats> tx, ReadOnlySpan<RxQueueStats> rx)
    {
        var list = new List<(string, ulong)>();
        list.AddRange(Global(v, g));
        for (int q = 0; q < tx.Length; q++)
        {
            foreach ((string n, ulong val) in Tx(v, tx[q]))
            {
                list.Add(($"queue_{q}_tx_{n}", val));
            }

            foreach ((string n, ulong val) in Rx(rx[q]))
            {
                list.Add(($"queue_{q}_rx_{n}", val));
            }
        }

        list.AddRange(Admin(g));
        return list;
    }

    /// <summary>The lines ena_dump_stats_to_dmesg prints at error level on a reset.</summary>
    public static List<(string Name, ulong Value)> ResetDump(DriverVersion v, GlobalStats g, ReadOnlySpan<TxQueueStats> tx, ReadOnlySpan<RxQueueStats> rx)
    {
        // Up to 2.13 the dump is everything ethtool -S shows, all at error level.
        if (!v.ReducedStatsDump)
        {
            return Ethtool(v, g, tx, rx);
        }

        var list = new List<(string, ulong)>();
        list.AddRange(Global(v, g));
        list.AddRange(Admin(g));
        list.Add(("num_of_active_io_queues", (ulong)tx.Length));
        var totalTx = new TxQueueStats();
        var totalRx = new RxQueueStats();
        for (int q = 0; q < tx.Length; q++)
        {
            Accumulate(ref totalTx, tx[q]);
            Accumulate(ref totalRx, rx[q]);
        }

        foreach ((string n, ulong val) in Tx(v, totalTx))
        {
            list.Add(($"total_tx_{n}", val));
        }

        foreach ((string n, ulong val) in Rx(totalRx))
        {
            list.Add(($"total_rx_{n}", val));
        }

        for (int q = 0; q < tx.Length; q++)
        {
            foreach ((string n, ulong val) in Tx(v, tx[q], perQueueOnly: true))
            {
                list.Add(($"queue_{q}_tx_{n}", val));
            }
        }

        return list;
    }

    private static void Accumulate(ref TxQueueStats a, in TxQueueStats b)
    {
        a.Cnt += b.Cnt;
        a.Bytes += b.Bytes;
        a.QueueStop += b.QueueStop;
        a.QueueWakeup += b.QueueWakeup;
        a.PrepareCtxErr += b.PrepareCtxErr;
        a.DmaMappingErr += b.DmaMappingErr;
        a.Linearize += b.Linearize;
        a.LinearizeFailed += b.LinearizeFailed;
        a.NapiComp += b.NapiComp;
        a.TxPoll += b.TxPoll;
        a.Doorbells += b.Doorbells;
        a.BadReqId += b.BadReqId;
        a.LlqBufferCopy += b.LlqBufferCopy;
        a.MissedTx += b.MissedTx;
        a.UnmaskInterrupt += b.UnmaskInterrupt;
        a.LostInterrupt += b.LostInterrupt;
        a.PendingTimedoutPkts += b.PendingTimedoutPkts;
    }

    private static void Accumulate(ref RxQueueStats a, in RxQueueStats b)
    {
        a.Cnt += b.Cnt;
        a.Bytes += b.Bytes;
        a.RxCopybreakPkt += b.RxCopybreakPkt;
        a.CsumGood += b.CsumGood;
        a.RefilPartial += b.RefilPartial;
        a.CsumBad += b.CsumBad;
        a.PageAllocFail += b.PageAllocFail;
        a.SkbAllocFail += b.SkbAllocFail;
        a.DmaMappingErr += b.DmaMappingErr;
        a.BadDescNum += b.BadDescNum;
        a.BadReqId += b.BadReqId;
        a.EmptyRxRing += b.EmptyRxRing;
        a.CsumUnchecked += b.CsumUnchecked;
    }
}
