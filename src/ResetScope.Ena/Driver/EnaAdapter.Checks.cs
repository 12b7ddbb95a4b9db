using ResetScope.Core;
using ResetScope.Ena.Device;
using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Driver;

public sealed partial class EnaAdapter
{
    /// <summary>
    /// Requests a reset the way this generation does (ena-driver.md §2.0): last writer wins up to 2.16.1, first
    /// wins in 2.17.0; per-reason counters from 2.10.0 (once per call up to 2.16.1, once per reset in 2.17.0).
    /// </summary>
    private void RequestReset(ResetReason reason, ResetFamily family, int? queue = null, long? thresholdUsec = null,
        long? sinceNapiUsec = null, bool? napiScheduled = null, int? napiCpu = null)
    {
        ResetEpisode episode = CurrentEpisode ??= NewEpisode();
        episode.Requests.Add(reason);

        bool wins;
        if (_v.FirstReasonWins)
        {
            wins = PendingReason == ResetReason.Normal;
            if (wins)
            {
                PendingReason = reason;
                CountReason(reason);
            }
        }
        else
        {
            wins = true;
            PendingReason = reason;
            if (_v.PerReasonCounters)
            {
                CountReason(reason);
            }
        }

        if (wins)
        {
            episode.Reason = reason;
            episode.Family = family;
            episode.Queue = queue;
            episode.ThresholdUsec = thresholdUsec;
            episode.SinceNapiUsec = sinceNapiUsec;
            episode.NapiScheduled = napiScheduled;
            episode.NapiCpu = napiCpu;
        }

        TriggerReset = true;
    }

    private ResetEpisode NewEpisode()
    {
        var e = new ResetEpisode { Number = Episodes.Count + 1, DetectedNs = _k.NowNs };
        Episodes.Add(e);
        return e;
    }

    private void CountReason(ResetReason reason)
    {
        GlobalStats s = Stats;
        s.TotalResets++;
        switch (reason)
        {
            case ResetReason.KeepAliveTo: s.WdExpired++; break;
            case ResetReason.AdminTo: if (_v.AtLeast(2, 11)) { s.AdminTo++; } break;
            case ResetReason.MissTxCmpl: s.MissingTxCmpl++; break;
            case ResetReason.InvRxReqId: s.BadRxReqId++; break;
            case ResetReason.InvTxReqId: s.BadTxReqId++; break;
            case ResetReason.TooManyRxDescs: s.BadRxDescNum++; break;
            case ResetReason.DriverInvalidState: s.InvalidState++; break;
            case ResetReason.OsNetdevWd: s.OsNetdevWd++; break;
            case ResetReason.MissInterrupt: s.MissingIntr++; break;
            case ResetReason.SuspectedPollStarvation: s.SuspectedPollStarvation++; break;
            case ResetReason.RxDescriptorMalformed: s.RxDescMalformed++; break;
            case ResetReason.TxDescriptorMalformed: s.TxDescMalformed++; break;
            case ResetReason.MissingAdminInterrupt: if (_v.AtLeast(2, 11)) { s.MissingAdminInterrupt++; } break;
            case ResetReason.DeviceRequest: if (_v.AtLeast(2, 12)) { s.DeviceRequestReset++; } break;
            case ResetReason.MissFirstInterrupt: if (_v.AtLeast(2, 13)) { s.MissingFirstIntr++; } break;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // ena_timer_service

    private void TimerService()
    {
        CheckForMissingKeepAlive();
        CheckForAdminComState();
        if (_v.HasPendingTimedOut)
        {
            CheckForLostInterrupts();
        }

        CheckForMissingCompletions();
        CheckForEmptyRxRing();

        if (TriggerReset)
        {
            if (_v.ChecksFwResponsive && !ValidateVersion())
            {
                NetErr(EnaMessages.FwNotResponsive);
                _k.ModTimer(_timer, _k.Clock.Round(_k.Jiffies + (ulong)_k.Clock.Hz, Config.TimerCpu, _k.Jiffies));
                return;
            }

            if (!_v.TriggerLineInWorker)
            {
                NetErr(EnaMessages.TriggerResetIsOn);
                if (PendingReason != ResetReason.Normal || !_v.SkipsDumpForNormal)
                {
                    DumpStats();
                }
            }

            if (!_resetQueued)
            {
                _resetQueued = true;
                _k.QueueWork("ena", ResetWorkAsync);
            }

            return;
        }

        _k.ModTimer(_timer, _k.Clock.Round(_k.Jiffies + (ulong)_k.Clock.Hz, Config.TimerCpu, _k.Jiffies));
    }

    private void CheckForMissingKeepAlive()
    {
        if (!_dev.KeepAliveEnabled || _keepAliveDisabled)
        {
            return;
        }

        ulong expires = LastKeepAliveJiffies + KeepAliveTimeout;
        if (!_v.AtLeast(2, 2))
        {
            expires = _k.Clock.Round(expires, Config.TimerCpu, 0);
        }

        ulong now = _k.Jiffies;
        if (!Jiffies.TimeAfter(now, expires))
        {
            return;
        }

        NetErr(_m.KeepAliveTimeout(_k.Clock.ToMsecs(now - LastKeepAliveJiffies)));
        ResetReason reason = _v.ClassifiesKeepAlive && AenqHasKeepAlive() ? ResetReason.MissingAdminInterrupt : ResetReason.KeepAliveTo;
        if (!_v.PerReasonCounters)
        {
            Stats.WdExpired++;
        }

        RequestReset(reason, ResetFamily.KeepAliveTimeout);
    }

    /// <summary>ena_com_aenq_has_keep_alive: a valid KEEP_ALIVE entry waits in the AENQ (the interrupt was lost).</summary>
    private bool AenqHasKeepAlive()
    {
        for (ulong i = _dev.AenqHead; i < _dev.AenqTail; i++)
        {
            AenqEntry e = _dev.Aenq[i % EnaDevice.AenqDepth];
            bool expectedPhase = (i / EnaDevice.AenqDepth) % 2 == 0;
            if (e.Phase != expectedPhase)
            {
                break;
            }

            if (e.Group == AenqGroup.KeepAlive)
            {
                return true;
            }
        }

        return false;
    }

    private void CheckForAdminComState()
    {
        if (AdminRunning)
        {
            return;
        }

        NetErr(EnaMessages.AdminQueueNotRunning);
        if (!(_v.Major == 2 && _v.Minor == 10))
        {
            Stats.AdminQPause++;
        }

        ResetReason reason = _v.HasMissingAdminInterruptReason && MissingAdminInterrupt ? ResetReason.MissingAdminInterrupt : ResetReason.AdminTo;
        RequestReset(reason, ResetFamily.UnresponsiveDevice);
    }

    /// <summary>check_for_lost_interrupts (2.16.0+): kick a queue whose CQ holds work but whose NAPI is idle.</summary>
    private void CheckForLostInterrupts()
    {
        if (!DevUp || TriggerReset)
        {
            return;
        }

        for (int q = 0; q < _tx.Length; q++)
        {
            TxRing ring = _tx[q];
            IoQueuePair qp = _qp[q];
            bool cqNonEmpty = qp.TxCqPending > 0 || qp.RxCqPending > 0;
            bool stuck = !_napi[q].Scheduled && cqNonEmpty && ring.PrevCqNonEmpty && ring.LastNapiJiffies == ring.PrevNapiJiffies;
            if (stuck && !ring.LostInterruptKicked)
            {
                qp.LostInterruptKick = true;
                ring.LostInterruptKicked = true;
                TxStats[q].LostInterrupt++;
            }
            else if (!stuck)
            {
                ring.LostInterruptKicked = false;
            }

            ring.PrevCqNonEmpty = cqNonEmpty;
            ring.PrevNapiJiffies = ring.LastNapiJiffies;
        }
    }

    private void CheckForMissingCompletions()
    {
        if (!DevUp || TriggerReset || _missingTxDisabled)
        {
            return;
        }

        int n = _tx.Length;
        int budget = Math.Min(n, Config.MonitoredQueuesPerTick);
        int i = _nextMonitoredQueue;
        for (int examined = 0; examined < budget; examined++)
        {
            if (CheckMissingCompInTxQueue(i) || CheckForRxInterruptQueue(i))
            {
                _nextMonitoredQueue = (i + 1) % n;
                return;
            }

            i = (i + 1) % n;
        }

        _nextMonitoredQueue = i;
    }

    /// <summary>check_missing_comp_in_tx_queue, by generation (ena-driver.md §2.4). True when it requested a reset.</summary>
    private bool CheckMissingCompInTxQueue(int qid)
    {
        TxRing ring = _tx[qid];
        Napi napi = _napi[qid];
        ulong now = _k.Jiffies;
        ulong timeout = MissingTxTimeout;
        bool napiScheduled = napi.Scheduled;
        bool neverInterrupted = _v.TracksInterruptTime ? ring.LastIntrJiffies == 0 : !ring.FirstInterrupt;
        ResetReason reason = ResetReason.MissTxCmpl;
        int overdue = 0;
        int newMissed = 0;
        ulong highestPending = 0;
        bool firstInterruptMissing = false;
        ulong sinceNapi = now - ring.LastNapiJiffies;

        for (int i = 0; i < ring.Size; i++)
        {
            ulong sent = ring.SentJiffies[i];
            if (sent == 0)
            {
                continue;
            }

            ulong deadline = sent + timeout;
            ulong graceful = sent + 2 * timeout;

            if (neverInterrupted && Jiffies.TimeAfter(now, graceful) && _v.AtLeast(1, 5))
            {
                NetErr(_m.MsixIssueTx(qid));
                if (!_v.HasPendingTimedOut)
                {
                    RequestReset(_v.HasMissFirstInterruptReason ? ResetReason.MissFirstInterrupt : ResetReason.MissInterrupt, ResetFamily.TxCompletionTimeout, qid);
                    return true;
                }

                for (int j = i; j < ring.Size; j++)
                {
                    if (ring.SentJiffies[j] != 0 && !ring.TimedOut[j] && Jiffies.TimeAfter(now, ring.SentJiffies[j] + timeout))
                    {
                        ring.TimedOut[j] = true;
                        ring.PendingTimedOut++;
                    }
                }

                firstInterruptMissing = true;
                return MissingTxReset(qid, reason, napiScheduled, firstInterruptMissing);
            }

            if (!Jiffies.TimeAfter(now, deadline))
            {
                continue;
            }

            if (_v.HasStarvationHeuristic)
            {
                bool starved = _v.HasStarvationUnitBug
                    ? _k.Clock.ToUsecs(sinceNapi) > MissingTxTimeoutMs
                    : sinceNapi > timeout;
                if (starved && napiScheduled)
                {
                    if (!Jiffies.TimeAfter(now, graceful))
                    {
                        continue;
                    }

                    reason = ResetReason.SuspectedPollStarvation;
                }
            }

            highestPending = Math.Max(highestPending, now - sent);
            if (ring.TimedOut[i])
            {
                if (!_v.HasPendingTimedOut)
                {
                    overdue++;
                }

                continue;
            }

            ring.TimedOut[i] = true;
            newMissed++;
            overdue++;
            if (!_v.AtLeast(2, 17))
            {
                NetLog(KernelLevel.Notice, _m.TxNotCompleted(qid, i, _k.Clock.ToUsecs(sinceNapi),
                    _k.Clock.ToMsecs(now - ring.LastIntrJiffies), _k.Clock.ToMsecs(sinceNapi), napiScheduled, MissingTxTimeoutMs));
            }
        }

        if (_v.AtLeast(2, 17) && newMissed > 0)
        {
            NetLog(KernelLevel.Notice, EnaMessages.NewMissedSummary1(newMissed, qid, _k.Clock.ToMsecs(now - ring.LastIntrJiffies), _k.Clock.ToMsecs(sinceNapi), napiScheduled));
            NetLog(KernelLevel.Notice, EnaMessages.NewMissedSummary2(qid, _k.Clock.ToMsecs(highestPending), 0, ring.NapiCpu));
        }

        int missed;
        if (_v.HasPendingTimedOut)
        {
            ring.PendingTimedOut += newMissed;
            missed = (int)ring.PendingTimedOut;
        }
        else if (_v.CountsOnlyNewMissingTx)
        {
            missed = newMissed;
        }
        else
        {
            missed = overdue;
        }

        // missed_tx: a gauge up to 2.2.x, the overdue count added every scan in 2.4.0–2.8.2, new ones since 2.8.3.
        ref TxQueueStats st = ref TxStats[qid];
        if (!_v.AtLeast(2, 4))
        {
            st.MissedTx = (ulong)overdue;
        }
        else if (!_v.AtLeast(2, 8, 3))
        {
            st.MissedTx += (ulong)overdue;
        }
        else
        {
            st.MissedTx += (ulong)newMissed;
        }

        st.PendingTimedoutPkts = (ulong)Math.Max(0, ring.PendingTimedOut);

        if (missed <= MissingTxThreshold)
        {
            return false;
        }

        foreach (string line in _m.LostTxAboveThreshold(missed, MissingTxThreshold, MissingTxTimeoutMs,
            _k.Clock.ToMsecs(now - ring.LastIntrJiffies), _k.Clock.ToMsecs(sinceNapi), qid, ring.NapiCpu))
        {
            NetErr(line);
        }

        firstInterruptMissing = neverInterrupted;
        return MissingTxReset(qid, reason, napiScheduled, firstInterruptMissing);
    }

    /// <summary>The reset step of the missing-Tx check: stop NAPI, classify by the CQ, request the reason.</summary>
    private bool MissingTxReset(int qid, ResetReason reason, bool napiScheduled, bool firstInterruptMissing)
    {
        if (_m.PrintsResettingTheDevice)
        {
            NetErr(EnaMessages.ResettingTheDevice);
        }

        TriggerReset = true;
        if (!napiScheduled && _v.ClassifiesByCq)
        {
            reason = ClassifyByCompletionQueue(qid, firstInterruptMissing);
        }

        // The fields the threshold line prints: the timeout (ms, 2.7.2+) and ms since napi (2.9.0+).
        long? sinceNapiUs = _v.TracksInterruptTime ? 1000L * _k.Clock.ToMsecs(_k.Jiffies - _tx[qid].LastNapiJiffies) : null;
        long? thresholdUs = _v.HasStarvationHeuristic ? 1000L * MissingTxTimeoutMs : null;
        RequestReset(reason, ResetFamily.TxCompletionTimeout, qid, thresholdUsec: thresholdUs, sinceNapiUsec: sinceNapiUs,
            napiScheduled: _v.HasStarvationHeuristic ? napiScheduled : null, napiCpu: _v.AtLeast(2, 17) ? _tx[qid].NapiCpu : null);
        return true;
    }

    /// <summary>check_cdesc_in_tx_cq: no descriptors → the device did not complete (3); descriptors → lost interrupts (14/20).</summary>
    private ResetReason ClassifyByCompletionQueue(int qid, bool firstInterruptMissing)
    {
        IoQueuePair qp = _qp[qid];
        TxRing ring = _tx[qid];
        if (qp.TxCqPending == 0)
        {
            NetErr(EnaMessages.NoCompletionDescriptors(qid));
            return ResetReason.MissTxCmpl;
        }

        if (!_v.HasPendingTimedOut)
        {
            NetErr(_m.CompletionDescriptorsFound(qid)!);
            return ResetReason.MissInterrupt;
        }

        // 2.16+: drain the CQ; completed timed-out buffers no longer count.
        int size = ring.Size;
        int drained = 0;
        while (qp.TxCqHead != qp.TxCqTail && drained < size)
        {
            int reqId = qp.TxCq[(int)(qp.TxCqHead % (ulong)size)];
            qp.TxCqHead++;
            drained++;
            if (reqId < size && ring.SentJiffies[reqId] != 0)
            {
                if (ring.TimedOut[reqId])
                {
                    ring.PendingTimedOut--;
                }

                ring.SentJiffies[reqId] = 0;
                ring.FreeIds[(int)(ring.NextToClean % (ulong)size)] = (ushort)reqId;
                ring.NextToClean++;
                ring.InUse--;
            }
        }

        if (ring.PendingTimedOut > 0)
        {
            return ResetReason.MissTxCmpl;
        }

        return firstInterruptMissing ? ResetReason.MissFirstInterrupt : ResetReason.MissInterrupt;
    }

    /// <summary>check_for_rx_interrupt_queue: Rx completions waiting on a pair that never got an interrupt.</summary>
    private bool CheckForRxInterruptQueue(int qid)
    {
        if (!_v.AtLeast(1, 5))
        {
            return false;
        }

        TxRing ring = _tx[qid];
        bool interrupted = _v.TracksInterruptTime ? ring.LastIntrJiffies != 0 : ring.FirstInterrupt;
        if (interrupted || _qp[qid].RxCqPending == 0)
        {
            return false;
        }

        RxRing rx = _rx[qid];
        rx.NoInterruptEventCnt++;
        if (rx.NoInterruptEventCnt != MaxNoInterruptIterations)
        {
            return false;
        }

        NetErr(EnaMessages.MsixIssueRx(qid));
        RequestReset(_v.HasMissFirstInterruptReason ? ResetReason.MissFirstInterrupt : ResetReason.MissInterrupt, ResetFamily.TxCompletionTimeout, qid);
        return true;
    }

    private void CheckForEmptyRxRing()
    {
        if (!DevUp || TriggerReset)
        {
            return;
        }

        for (int q = 0; q < _rx.Length; q++)
        {
            RxRing ring = _rx[q];
            int used = (int)(ring.NextToUse - ring.NextToClean);
            if (used == 0)
            {
                ring.EmptyRxQueue++;
                if (ring.EmptyRxQueue >= EmptyRxRefill)
                {
                    RxStats[q].EmptyRxRing++;
                    NetErr(_m.EmptyRxRefill(q)!);
                    _k.NapiSchedule(_napi[q]);
                    ring.EmptyRxQueue = 0;
                }
            }
            else
            {
                ring.EmptyRxQueue = 0;
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // ena_tx_timeout (ndo_tx_timeout), called by the kernel's dev_watchdog

    private void TxTimeout(int txqueue)
    {
        if (!_v.HasStarvationHeuristic)
        {
            if (TriggerReset)
            {
                return;
            }

            TriggerReset = true;
            Stats.TxTimeout++;
            NetErr(EnaMessages.TransmitTimeOut);
            RequestReset(ResetReason.OsNetdevWd, ResetFamily.NetdevWatchdog, txqueue);
            return;
        }

        if (!_v.FirstReasonWins)
        {
            // test_and_set_bit(ENA_FLAG_TRIGGER_RESET): a reset already pending swallows the call, uncounted.
            if (TriggerReset)
            {
                return;
            }

            TriggerReset = true;
        }

        ResetReason reason = ResetReason.OsNetdevWd;
        long? threshold = null, sinceNapi = null;
        bool? scheduled = null;
        int? cpu = null;
        if (txqueue >= _tx.Length)
        {
            NetErr(FormattableString.Invariant($"TX timeout on invalid queue {txqueue}"));
        }
        else
        {
            TxRing ring = _tx[txqueue];
            uint thresholdUs = _k.Clock.ToUsecs(_netdev.WatchdogTimeo);
            uint sinceNapiUs = _k.Clock.ToUsecs(_k.Jiffies - ring.LastNapiJiffies);
            bool napiScheduled = _napi[txqueue].Scheduled;
            uint sinceIntrMs = _k.Clock.ToMsecs(_k.Jiffies - ring.LastIntrJiffies);
            NetErr(_m.TxQueuePaused(txqueue, thresholdUs, sinceNapiUs, napiScheduled, ring.NapiCpu, sinceIntrMs)!);
            if (thresholdUs < sinceNapiUs && napiScheduled)
            {
                NetErr(EnaMessages.NapiStarved);
                reason = ResetReason.SuspectedPollStarvation;
            }

            threshold = thresholdUs;
            sinceNapi = sinceNapiUs;
            scheduled = napiScheduled;
            cpu = _v.AtLeast(2, 17) ? ring.NapiCpu : null;
        }

        Stats.TxTimeout++;
        RequestReset(reason, ResetFamily.NetdevWatchdog, txqueue, threshold, sinceNapi, scheduled, cpu);
    }
}
