using ResetScope.Core;
using ResetScope.Ena.Device;
using ResetScope.Ena.Kernel;

namespace ResetScope.Ena.Driver;

public sealed partial class EnaAdapter
{
    /// <summary>ena_intr_msix_mgmnt: admin completions, then (once the device runs) the AENQ.</summary>
    public void ManagementInterrupt()
    {
        ProcessAdminCompletions();
        if (DeviceRunning)
        {
            ProcessAenq();
        }
    }

    private void ProcessAdminCompletions()
    {
        while (_dev.AdminCompletionQueue.TryDequeue(out AdminCompletion c))
        {
            _adminDone.Add(c.CommandId);
            if (_adminWaiters.Remove(c.CommandId, out Completion? waiter))
            {
                waiter.Complete();
            }
        }
    }

    /// <summary>ena_com_aenq_intr_handler: walk entries whose phase matches, dispatch by group, publish the head.</summary>
    private void ProcessAenq()
    {
        while (_dev.AenqHead < _dev.AenqTail)
        {
            ulong i = _dev.AenqHead;
            AenqEntry e = _dev.Aenq[i % EnaDevice.AenqDepth];
            if (e.Phase != ((i / EnaDevice.AenqDepth) % 2 == 0))
            {
                break;
            }

            _dev.AenqHead = i + 1;
            switch (e.Group)
            {
                case AenqGroup.KeepAlive:
                    LastKeepAliveJiffies = _k.Jiffies;
                    break;
                case AenqGroup.DeviceRequestReset when _v.HandlesDeviceRequest:
                    NetLog(KernelLevel.Warning, EnaMessages.DeviceRequestedReset);
                    RequestReset(ResetReason.DeviceRequest, ResetFamily.DeviceRequested);
                    break;
                case AenqGroup.RefreshCapabilities when _v.AtLeast(2, 6):
                    NetLog(KernelLevel.Info, EnaMessages.RefreshCapabilities);
                    (CurrentEpisode ??= NewEpisode()).Requests.Add(ResetReason.Normal);
                    TriggerReset = true;
                    break;
                case AenqGroup.LinkChange:
                    break;
                case AenqGroup.Notification when e.Syndrome == EnaDevice.UpdateHintsSyndrome && e.Data is { Length: >= 6 } hints:
                    UpdateHints(hints);
                    break;
                default:
                    NetErr("Unknown event was received or event with unimplemented handler");
                    break;
            }
        }
    }

    /// <summary>ena_update_hints: the device changes the detection thresholds (ms; 0 keeps the current value).</summary>
    private void UpdateHints(ushort[] h)
    {
        const ushort NoTimeout = 0xFFFF;
        if (h[1] != 0)
        {
            KeepAliveTimeout = h[1] == NoTimeout ? ulong.MaxValue / 2 : _k.Clock.FromMsecs(h[1]);
            _keepAliveDisabled = h[1] == NoTimeout;
        }

        if (h[2] != 0)
        {
            _missingTxDisabled = h[2] == NoTimeout;
            MissingTxTimeoutMs = h[2];
            MissingTxTimeout = _k.Clock.FromMsecs(h[2]);
        }

        if (h[3] != 0)
        {
            MissingTxThreshold = h[3];
        }

        if (h[5] != 0)
        {
            _netdev.WatchdogTimeo = _k.Clock.FromMsecs(h[5]);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // ena_com admin commands

    /// <summary>
    /// ena_com_execute_admin_command: submit and wait — polling with 5–10 ms sleeps during init, or the
    /// management interrupt with a timeout afterwards. A timeout stops the admin queue (running_state = false).
    /// </summary>
    private async Task<int> ExecuteAdminAsync(AdminOpcode opcode, int argument = -1)
    {
        if (!AdminRunning)
        {
            return -19; // -ENODEV
        }

        int id = ++_nextAdminCommand;
        Stats.AdminSubmitted++;
        _dev.SubmitAdmin(id, opcode, argument);
        long timeoutNs = (long)AdminTimeoutUs * 1000;
        if (AdminPolling)
        {
            ulong deadline = _k.Jiffies + _k.Clock.FromUsecs(AdminTimeoutUs);
            while (true)
            {
                ProcessAdminCompletions();
                if (_adminDone.Remove(id))
                {
                    Stats.AdminCompleted++;
                    return 0;
                }

                if (Jiffies.TimeAfter(_k.Jiffies, deadline))
                {
                    NetErr(EnaMessages.PollingTimeout);
                    Stats.AdminNoCompletion++;
                    AdminRunning = false;
                    return -62; // -ETIME
                }

                await _k.SleepRange(AdminPollDelayNs, 2 * AdminPollDelayNs);
            }
        }

        var completion = new Completion();
        _adminWaiters[id] = completion;
        bool completed = await _k.WaitForCompletion(completion, timeoutNs);
        if (completed && _adminDone.Remove(id))
        {
            Stats.AdminCompleted++;
            return 0;
        }

        _adminWaiters.Remove(id);

        // The wait expired: look at the completion queue ourselves.
        ProcessAdminCompletions();
        if (_adminDone.Remove(id))
        {
            if (_v.HasMissingAdminInterruptReason)
            {
                MissingAdminInterrupt = true;
            }

            NetErr(_m.AdminMissingMsix((int)opcode));
            AdminRunning = false;
            return -62;
        }

        NetErr(_m.AdminNoCompletion((int)opcode, 0));
        Stats.AdminNoCompletion++;
        AdminRunning = false;
        return -62;
    }

    /// <summary>A user-space request that reaches the admin queue (e.g. <c>ethtool -S</c> reading ENI stats).</summary>
    public Task<int> UserAdminCommandAsync() => DeviceRunning ? ExecuteAdminAsync(AdminOpcode.GetStats) : Task.FromResult(-19);

    // ---------------------------------------------------------------------------------------------
    // registers

    /// <summary>ena_com_reg_bar_read32 in read-less mode: ≈200 ms of spinning when the device does not answer.</summary>
    private uint ReadRegister(uint offset)
    {
        _mmioSeq++;
        if (_dev.TryMmioRead(offset, out uint value, out ushort lastOffset))
        {
            _k.Spin(MmioReadNs);
            return value;
        }

        _k.Spin(MmioTimeoutNs);
        NetErr(_m.RegReadTimeout(_mmioSeq, offset, (ushort)(_mmioSeq + 0xDEAD), lastOffset));
        return 0xFFFFFFFF;
    }

    /// <summary>ena_com_validate_version: read VERSION and CONTROLLER_VERSION and log them.</summary>
    private bool ValidateVersion()
    {
        uint ver = ReadRegister(Registers.Version);
        uint ctrl = ver == 0xFFFFFFFF ? 0xFFFFFFFF : ReadRegister(Registers.ControllerVersion);
        if (ver == 0xFFFFFFFF || ctrl == 0xFFFFFFFF)
        {
            NetErr(EnaMessages.RegReadTimeoutOccurred);
            return false;
        }

        LogVersion(KernelLevel.Info, _m.DeviceVersion((int)(ver >> 8) & 0xFF, (int)ver & 0xFF));
        LogVersion(KernelLevel.Info, _m.ControllerVersion((int)(ctrl >> 24), (int)(ctrl >> 16) & 0xFF, (int)(ctrl >> 8) & 0xFF, (int)ctrl & 0xFF));
        return true;
    }

    private void LogVersion(KernelLevel level, string text)
    {
        if (_m.VersionLinesViaPrInfo)
        {
            Log(level, "ena: " + text);
        }
        else
        {
            NetLog(level, text);
        }
    }

    /// <summary>The stats dump (ena_dump_stats_to_dmesg): one error line per counter.</summary>
    private void DumpStats()
    {
        _inStatsDump = true;
        try
        {
            foreach ((string name, ulong value) in EnaStatsLayout.ResetDump(_v, Stats, TxStats, RxStats))
            {
                NetErr(FormattableString.Invariant($"{name}: {value}"));
            }
        }
        finally
        {
            _inStatsDump = false;
        }
    }
}
