using ResetScope.Core;
using ResetScope.Ena.Device;
using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Driver;

public sealed partial class EnaAdapter
{
    private static readonly AdminOpcode[] s_createQueuePair = [AdminOpcode.CreateCq, AdminOpcode.CreateSq, AdminOpcode.CreateCq, AdminOpcode.CreateSq];

    /// <summary>ena_fw_reset_device: the reset work item (under rtnl_lock): destroy, restore, report.</summary>
    private async Task ResetWorkAsync()
    {
        _resetQueued = false;
        if (!TriggerReset)
        {
            if (!_v.AtLeast(2, 2, 11))
            {
                DevErr("device reset schedule while reset bit is off");
            }

            return;
        }

        ResetEpisode episode = CurrentEpisode ??= NewEpisode();
        episode.WorkStartedNs = _k.NowNs;
        if (_v.TriggerLineInWorker)
        {
            NetErr(EnaMessages.TriggerResetIsOn);
            if (PendingReason != ResetReason.Normal)
            {
                DumpStats();
            }
        }

        episode.Reason = PendingReason;
        int rc = await DestroyAsync(graceful: false).ConfigureAwait(false);
        int restore = await RestoreAsync().ConfigureAwait(false);
        rc = rc != 0 ? rc : restore;
        if (_v.HasResetFail && rc != 0)
        {
            Stats.ResetFail++;
        }

        DevErr(_m.ResetCompleted(rc));
        episode.Status = rc;
        episode.CompletedNs = _k.NowNs;
        CurrentEpisode = null;
    }

    /// <summary>ena_destroy_device.</summary>
    private async Task<int> DestroyAsync(bool graceful)
    {
        if (!DeviceRunning)
        {
            return 0;
        }

        CarrierOff();
        _k.DeleteTimer(_timer);
        _devUpBeforeReset = DevUp;
        if (!graceful)
        {
            AdminRunning = false;
        }

        int rc = 0;
        bool deviceReset = false;
        if (DevUp)
        {
            (rc, deviceReset) = await DownAsync().ConfigureAwait(false);
        }

        if (!deviceReset)
        {
            rc = await DevResetAsync(PendingReason).ConfigureAwait(false);
        }

        // Free the management IRQ, disable MSI-X, abort what is outstanding, destroy admin queue and AENQ.
        _dev.ManagementVectorEnabled = false;
        foreach ((int _, Completion waiter) in _adminWaiters)
        {
            Stats.AdminAborted++;
            waiter.Complete();
        }

        _adminWaiters.Clear();
        _adminDone.Clear();
        AdminRunning = false;
        PendingReason = ResetReason.Normal;
        TriggerReset = false;
        DeviceRunning = false;
        return rc;
    }

    /// <summary>ena_down: stop the queues, disable NAPI (waiting for a scheduled poll), reset the device, drop Tx.</summary>
    private async Task<(int Rc, bool DeviceReset)> DownAsync()
    {
        DevUp = false;
        Stats.InterfaceDown++;
        CarrierOff();
        for (int q = 0; q < _tx.Length; q++)
        {
            _netdev.TxStopped[q] = true;
        }

        // napi_disable() waits until a scheduled poll has run: on a starved CPU this is where the reset waits.
        foreach (Napi napi in _napi)
        {
            await _k.WaitForNapiIdle(napi);
            napi.Disabled = true;
        }

        int rc = 0;
        bool deviceReset = false;
        if (TriggerReset)
        {
            rc = await DevResetAsync(PendingReason).ConfigureAwait(false);
            if (rc != 0)
            {
                NetErr(EnaMessages.DeviceResetFailed);
            }

            deviceReset = true;
            AdminRunning = false;
        }

        // Destroy IO queues: the admin queue no longer runs, so these fail fast; the device reset dropped them anyway.
        for (int q = 0; q < _tx.Length; q++)
        {
            _qp[q].Created = false;
        }

        FreeTxBuffers();
        for (int q = 0; q < _rx.Length; q++)
        {
            _rx[q].Reset();
            _qp[q].ResetIndices();
        }

        return (rc, deviceReset);
    }

    /// <summary>ena_free_all_tx_bufs: packets still in the rings are dropped, with the generation's log lines.</summary>
    private void FreeTxBuffers()
    {
        ulong now = _k.Jiffies;
        for (int q = 0; q < _tx.Length; q++)
        {
            TxRing ring = _tx[q];
            int freed = 0;
            ulong longest = 0;
            for (int i = 0; i < ring.Size; i++)
            {
                ulong sent = ring.SentJiffies[i];
                if (sent == 0)
                {
                    continue;
                }

                ulong age = now - sent;
                longest = Math.Max(longest, age);
                if (freed == 0 && _v.ShowsIfdownMessages && _m.FreeUncompletedTx(q, i, _k.Clock.ToMsecs(age)) is { } line)
                {
                    // The first one at notice level; the rest are netif_dbg and do not print.
                    NetLog(KernelLevel.Notice, line);
                }

                freed++;
            }

            if (freed > 0 && _m.FreedUncompletedSummary(freed, q, _k.Clock.ToMsecs(longest)) is { } summary)
            {
                NetLog(KernelLevel.Info, summary);
            }

            TxPacketsDroppedByResets += freed;
            if (CurrentEpisode is { } e)
            {
                e.TxPacketsFreed += freed;
            }

            ring.Reset();
        }
    }

    /// <summary>
    /// ena_com_dev_reset: DEV_STS ready? write DEV_RESET with the reason, wait for RESET_IN_PROGRESS, clear, wait
    /// for it to drop — polling with 5–10 ms sleeps, each phase bounded by the CAPS reset timeout.
    /// </summary>
    private async Task<int> DevResetAsync(ResetReason reason)
    {
        uint stat = ReadRegister(Registers.DevSts);
        uint caps = ReadRegister(Registers.Caps);
        if (stat == 0xFFFFFFFF || caps == 0xFFFFFFFF)
        {
            NetErr(EnaMessages.RegRead32Timeout);
            return -62;
        }

        if ((stat & Registers.DevStsReady) == 0)
        {
            NetErr(EnaMessages.DeviceNotReady);
            return -22;
        }

        uint timeout100Ms = (caps >> 1) & 0x1F;
        if (timeout100Ms == 0)
        {
            NetErr("Invalid timeout value");
            return -22;
        }

        uint r = (uint)reason;
        _dev.WriteDevCtl(Registers.DevCtlDevReset | ((r & 0xF) << 28) | (((r >> 4) & 0xF) << 24));
        if (await WaitForResetStateAsync(timeout100Ms, Registers.DevStsResetInProgress).ConfigureAwait(false) != 0)
        {
            NetErr(EnaMessages.ResetIndicationOn);
            return -62;
        }

        _dev.WriteDevCtl(0);
        if (await WaitForResetStateAsync(timeout100Ms, 0).ConfigureAwait(false) != 0)
        {
            NetErr(EnaMessages.ResetIndicationOff);
            return -62;
        }

        if (reason != ResetReason.Normal && CurrentEpisode is { } e)
        {
            e.DeviceInternalNs = _dev.LastInternalResetNs;
        }

        return 0;
    }

    private async Task<int> WaitForResetStateAsync(uint timeout100Ms, uint expected)
    {
        ulong stamp = _k.Jiffies + _k.Clock.FromUsecs(100_000UL * timeout100Ms);
        while (true)
        {
            uint val = ReadRegister(Registers.DevSts);
            if (val == 0xFFFFFFFF)
            {
                NetErr(EnaMessages.RegReadTimeoutOccurred);
                return -62;
            }

            if ((val & Registers.DevStsResetInProgress) == expected)
            {
                return 0;
            }

            if (Jiffies.TimeAfter(_k.Jiffies, stamp))
            {
                return -62;
            }

            await _k.SleepRange(AdminPollDelayNs, 2 * AdminPollDelayNs);
        }
    }

    /// <summary>ena_restore_device.</summary>
    private async Task<int> RestoreAsync()
    {
        OngoingReset = true;
        int rc = await DeviceInitAsync(logVersion: true).ConfigureAwait(false);
        if (rc != 0)
        {
            DevErr(EnaMessages.CanNotInitializeDevice);
            return await RestoreFailedAsync(rc).ConfigureAwait(false);
        }

        EnableManagementInterrupt();
        if (_devUpBeforeReset)
        {
            rc = await UpAsync().ConfigureAwait(false);
            if (rc != 0)
            {
                DevErr("Failed to create I/O queues");
                return await RestoreFailedAsync(rc).ConfigureAwait(false);
            }
        }

        DeviceRunning = true;
        OngoingReset = false;
        if (LinkUp)
        {
            _netdev.CarrierOn();
            if (CurrentEpisode is { } e)
            {
                e.CarrierOnNs = _k.NowNs;
            }
        }

        _k.ModTimer(_timer, _k.Clock.Round(_k.Jiffies + (ulong)_k.Clock.Hz, Config.TimerCpu, _k.Jiffies));
        LastKeepAliveJiffies = _k.Jiffies;
        MissingAdminInterrupt = false;
        return 0;
    }

    private async Task<int> RestoreFailedAsync(int rc)
    {
        // Clean up, leaving the device reset with DRIVER_INVALID_STATE; no timer, so nothing retries.
        AdminRunning = false;
        await DevResetAsync(ResetReason.DriverInvalidState).ConfigureAwait(false);
        DeviceRunning = false;
        OngoingReset = false;
        Dead = true;
        DevErr(_m.RestoreFailed);
        if (CurrentEpisode is { } e)
        {
            e.RestoreFailed = true;
        }

        return rc;
    }

    /// <summary>
    /// ena_device_init: MMIO read-less init, a device reset with reason NORMAL, version check, admin queue in
    /// polling mode, and the get/set-feature commands of a probe (each costs a 5–10 ms poll sleep).
    /// </summary>
    private async Task<int> DeviceInitAsync(bool logVersion)
    {
        int rc = await DevResetAsync(ResetReason.Normal).ConfigureAwait(false);
        if (rc != 0)
        {
            DevErr(EnaMessages.CanNotResetDevice);
            return rc;
        }

        if (logVersion && !ValidateVersion())
        {
            return -62;
        }

        AdminRunning = true;
        AdminPolling = true;
        _dev.AdminPolling = true;
        MissingAdminInterrupt = false;
        _dev.AenqGroups = AenqGroupsRequested();
        AdminOpcode[] init =
        [
            AdminOpcode.SetFeature,  // host attributes
            AdminOpcode.GetFeature,  // device attributes
            AdminOpcode.GetFeature,  // max queues
            AdminOpcode.GetFeature,  // offloads
            AdminOpcode.GetFeature,  // hw hints
            AdminOpcode.GetFeature,  // LLQ
            AdminOpcode.SetFeature,  // AENQ groups
            AdminOpcode.SetFeature,  // LLQ placement policy
        ];
        foreach (AdminOpcode op in init)
        {
            rc = await ExecuteAdminAsync(op).ConfigureAwait(false);
            if (rc != 0)
            {
                return rc;
            }
        }

        if (_v.AtLeast(2, 9))
        {
            DevLog(KernelLevel.Info, EnaMessages.LargeLlq(_dev.LargeLlq));
        }

        return 0;
    }

    /// <summary>The AENQ groups this generation asks for (ena_device_init): which events the device may send.</summary>
    private uint AenqGroupsRequested()
    {
        uint groups = (1u << (int)AenqGroup.LinkChange) | (1u << (int)AenqGroup.FatalError) | (1u << (int)AenqGroup.Warning)
            | (1u << (int)AenqGroup.Notification) | (1u << (int)AenqGroup.KeepAlive);
        if (_v.AtLeast(2, 6))
        {
            groups |= 1u << (int)AenqGroup.RefreshCapabilities;
        }

        if (_v.AtLeast(2, 9))
        {
            groups |= 1u << (int)AenqGroup.ConfNotifications;
        }

        if (_v.HandlesDeviceRequest)
        {
            groups |= 1u << (int)AenqGroup.DeviceRequestReset;
        }

        return groups;
    }

    /// <summary>ena_up: IO queues (4 admin commands per pair, interrupt mode), NAPI, Rx refill, unmask, schedule.</summary>
    private async Task<int> UpAsync()
    {
        for (int q = 0; q < _tx.Length; q++)
        {
            _qp[q].ResetIndices();
            _tx[q].Reset();
            _rx[q].Reset();
            foreach (AdminOpcode op in s_createQueuePair)
            {
                int rc = await ExecuteAdminAsync(op, q).ConfigureAwait(false);
                if (rc != 0)
                {
                    return rc;
                }
            }
        }

        if (!_v.PersistentQueueStats)
        {
            Array.Clear(TxStats);
            Array.Clear(RxStats);
        }

        for (int q = 0; q < _tx.Length; q++)
        {
            Refill(q);
            _napi[q].Enable();
            _tx[q].LastIntrJiffies = 0;
            _tx[q].FirstInterrupt = false;
        }

        Stats.InterfaceUp++;
        DevUp = true;
        for (int q = 0; q < _tx.Length; q++)
        {
            _netdev.TxStopped[q] = false;
            _qp[q].InterruptUnmasked = true;
            _k.NapiSchedule(_napi[q]);
        }

        return 0;
    }

    private void CarrierOff()
    {
        if (_netdev.Carrier && CurrentEpisode is { } e && e.CarrierOffNs is null)
        {
            e.CarrierOffNs = _k.NowNs;
        }

        _netdev.CarrierOff();
    }
}
