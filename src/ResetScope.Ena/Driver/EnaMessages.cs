using System.Globalization;

namespace ResetScope.Ena.Driver;

/// <summary>
/// The ENA Linux driver's log messages, byte for byte per generation (ena-driver.md §7.2). Each method returns
/// the message body; the caller adds the kernel prefix (<c>ena BDF if: </c> for netif/netdev, <c>ena BDF: </c>
/// for dev_*). Numbers are formatted as C's %d / %u would.
/// </summary>
public sealed class EnaMessages(DriverVersion v)
{
    private static string S(FormattableString f) => FormattableString.Invariant(f);

    public string KeepAliveTimeout(uint msecsSinceLast) => v.AtLeast(2, 12)
        ? S($"Keep alive watchdog timeout, {msecsSinceLast} msecs since last keep alive.")
        : "Keep alive watchdog timeout.";

    public static string AdminQueueNotRunning => "ENA admin queue is not in running state!";

    public string AdminNoCompletion(int cmd, int status) => v.AtLeast(2, 1, 1)
        ? S($"The ena device didn't send a completion for the admin cmd {cmd} status {status}")
        : S($"The ena device doesn't send any completion for the admin cmd {cmd} status {status}");

    public string AdminMissingMsix(int cmd) => v.AtLeast(2, 1, 1)
        ? S($"The ena device sent a completion but the driver didn't receive a MSI-X interrupt (cmd {cmd}), autopolling mode is OFF")
        : v.AtLeast(2, 1)
            ? S($"The ena device sent a completion but the driver didn't receive any MSI-X interrupt (cmd {cmd}), autopolling mode is OFF")
            : S($"The ena device have completion but the driver didn't receive any MSI-X interrupt (cmd {cmd})");

    public static string PollingTimeout => "Wait for completion (polling) timeout";

    public string RegReadTimeout(uint expectedReqId, uint expectedOffset, uint actualReqId, uint actualOffset) => v.AtLeast(2, 2, 11)
        ? S($"Reading reg failed for timeout. expected: req id[{expectedReqId}] offset[{expectedOffset}] actual: req id[{actualReqId}] offset[{actualOffset}]")
        : S($"reading reg failed for timeout. expected: req id[{expectedReqId}] offset[{expectedOffset}] actual: req id[{actualReqId}] offset[{actualOffset}]");

    public static string RegReadTimeoutOccurred => "Reg read timeout occurred";

    public static string RegRead32Timeout => "Reg read32 timeout occurred";

    public static string FwNotResponsive => "FW isn't responsive, skipping reset routine";

    public string DeviceVersion(int major, int minor) => v.AtLeast(2, 2, 11)
        ? S($"ENA device version: {major}.{minor}")
        : S($"ena device version: {major}.{minor}");

    public string ControllerVersion(int major, int minor, int subminor, int impl) => v.AtLeast(2, 2, 11)
        ? S($"ENA controller version: {major}.{minor}.{subminor} implementation version {impl}")
        : S($"ena controller version: {major}.{minor}.{subminor} implementation version {impl}");

    /// <summary>Whether the version lines come through pr_info (<c>ena: </c>) rather than the device prefix.</summary>
    public bool VersionLinesViaPrInfo => !v.AtLeast(2, 2, 11);

    public static string LargeLlq(bool enabled) => enabled ? "ENA Large LLQ is enabled" : "ENA Large LLQ is disabled";

    // ---- missing Tx completions -------------------------------------------------------------------

    /// <summary>The per-packet line (notice until 2.16.1; debug in 2.17.0).</summary>
    public string TxNotCompleted(int qid, int index, uint usecsSinceNapi, uint msecsSinceIntr, uint msecsSinceNapi, bool napiScheduled, uint timeoutMsecs)
    {
        int sched = napiScheduled ? 1 : 0;
        if (v.AtLeast(2, 17))
        {
            return S($"TX hasn't completed, qid: {qid}, index: {index}, {msecsSinceIntr} msecs since interrupt, {msecsSinceNapi} msecs since napi, napi scheduled: {sched}");
        }

        if (v.AtLeast(2, 9))
        {
            return S($"TX hasn't completed, qid {qid}, index {index}. {msecsSinceIntr} msecs since last interrupt, {msecsSinceNapi} msecs since last napi execution, napi scheduled: {sched}");
        }

        if (v.AtLeast(2, 7, 2))
        {
            return S($"TX hasn't completed, qid {qid}, index {index}. {usecsSinceNapi} usecs from last napi execution, napi scheduled: {sched}");
        }

        if (v.AtLeast(2, 5))
        {
            return S($"Found a Tx that wasn't completed on time, qid {qid}, index {index}. {usecsSinceNapi} usecs have passed since last napi execution. Missing Tx timeout value {timeoutMsecs} msecs");
        }

        return S($"Found a Tx that wasn't completed on time, qid {qid}, index {index}.");
    }

    public static string NewMissedSummary1(int count, int qid, uint msecsSinceIntr, uint msecsSinceNapi, bool napiScheduled)
        => S($"[1/2] {count} new missed TX completions, qid: {qid}, {msecsSinceIntr} msecs since interrupt, {msecsSinceNapi} msecs since napi, napi scheduled: {(napiScheduled ? 1 : 0)}");

    public static string NewMissedSummary2(int qid, uint highestPendingMsecs, int napiSchedChanges, int napiCpu)
        => S($"[2/2] qid: {qid}, highest TX completion pending time (msec): {highestPendingMsecs}, napi sched changes: {napiSchedChanges}, napi CPU: {napiCpu}");

    /// <summary>The threshold line(s). 2.17.0 prints two, the second with qid and CPU swapped.</summary>
    public IReadOnlyList<string> LostTxAboveThreshold(int missed, int threshold, uint timeoutMsecs, uint msecsSinceIntr, uint msecsSinceNapi, int qid, int napiCpu)
    {
        if (v.AtLeast(2, 17))
        {
            return
            [
                S($"[1/2] Lost TX completions are above threshold ({missed} > {threshold}), completion timeout: {timeoutMsecs} (msec), {msecsSinceIntr} msecs since interrupt, {msecsSinceNapi} msecs since napi, qid: {qid}"),
                // The driver passes (napi CPU, qid) to "qid: %d, napi CPU: %d": the labels are swapped.
                S($"[2/2] qid: {napiCpu}, napi CPU: {qid}"),
            ];
        }

        if (v.AtLeast(2, 16))
        {
            return [S($"Lost TX completions are above the threshold ({missed} > {threshold}). Completion transmission timeout: {timeoutMsecs} (msec). {msecsSinceIntr} msecs since last interrupt, {msecsSinceNapi} msecs since last napi execution. qid {qid}.")];
        }

        if (v.AtLeast(2, 9))
        {
            return [S($"Lost TX completions are above the threshold ({missed} > {threshold}). Completion transmission timeout: {timeoutMsecs} (msec). {msecsSinceIntr} msecs since last interrupt, {msecsSinceNapi} msecs since last napi execution.")];
        }

        if (v.AtLeast(2, 7, 2))
        {
            return [S($"Lost TX completions are above the threshold ({missed} > {threshold}). Completion transmission timeout: {timeoutMsecs}.")];
        }

        if (v.AtLeast(1, 2))
        {
            return [S($"The number of lost tx completions is above the threshold ({missed} > {threshold}). Reset the device")];
        }

        return [S($"The number of lost tx completion is above the threshold ({missed} > {threshold}). Reset the device")];
    }

    /// <summary>"Resetting the device" follows the Tx lines from 2.7.2.</summary>
    public bool PrintsResettingTheDevice => v.AtLeast(2, 7, 2);

    public static string ResettingTheDevice => "Resetting the device";

    public static string NoCompletionDescriptors(int qid) => S($"No completion descriptors found in CQ {qid}");

    /// <summary>"Completion descriptors found in CQ %d" (2.9.0–2.15.0).</summary>
    public string? CompletionDescriptorsFound(int qid) => v.AtLeast(2, 9) && !v.AtLeast(2, 16) ? S($"Completion descriptors found in CQ {qid}") : null;

    public string MsixIssueTx(int qid) => v.AtLeast(2, 16)
        ? S($"Potential MSIX issue on Tx side Queue = {qid}.")
        : S($"Potential MSIX issue on Tx side Queue = {qid}. Reset the device");

    public static string MsixIssueRx(int qid) => S($"Potential MSIX issue on Rx side Queue = {qid}. Reset the device");

    // ---- netdev watchdog (ndo_tx_timeout) ------------------------------------------------------------

    /// <summary>The driver's tx-timeout line; null before 2.7.2, which prints only "Transmit time out".</summary>
    public string? TxQueuePaused(int qid, uint thresholdUsecs, uint usecsSinceNapi, bool napiScheduled, int napiCpu, uint msecsSinceIntr)
    {
        int sched = napiScheduled ? 1 : 0;
        if (v.AtLeast(2, 17))
        {
            return S($"TX q {qid} is paused for too long (threshold {thresholdUsecs}). usecs since napi {usecsSinceNapi}. napi scheduled: {sched}. napi CPU: {napiCpu}. msecs since interrupt: {msecsSinceIntr}");
        }

        if (v.AtLeast(2, 12))
        {
            return S($"TX q {qid} is paused for too long (threshold {thresholdUsecs}). Time since last napi {usecsSinceNapi} usec. napi scheduled: {sched}. msecs since last interrupt: {msecsSinceIntr}");
        }

        if (v.AtLeast(2, 7, 2))
        {
            return S($"TX q {qid} is paused for too long (threshold {thresholdUsecs}). Time since last napi {usecsSinceNapi} usec. napi scheduled: {sched}");
        }

        return null;
    }

    public static string TransmitTimeOut => "Transmit time out";

    public static string NapiStarved => "napi handler hasn't been called for a long time but is scheduled";

    // ---- device-initiated -----------------------------------------------------------------------

    public static string DeviceRequestedReset => "The device has detected an unhealthy state, reset is requested";

    public static string RefreshCapabilities => "Received requet to refresh capabilities";

    // ---- descriptors and req_ids -------------------------------------------------------------------

    public string InvalidTxReqId(int reqId, int qid) => v.AtLeast(2, 13)
        ? S($"Invalid req_id {reqId} in qid {qid}, queue type: regular")
        : v.AtLeast(2, 6)
            ? S($"Invalid req_id {reqId} in qid {qid}")
            : S($"Invalid req_id: {reqId}");

    public static string InvalidReqIdCom(int reqId) => S($"Invalid req id {reqId}");

    public static string CorruptedTxDescriptor(int qid, int reqId) => S($"Corrupted TX descriptor on q_id: {qid}, req_id: {reqId}");

    public static string TxDescriptorDump(uint w0, uint w1, int phase, int mbz6)
        => string.Create(CultureInfo.InvariantCulture, $"TX descriptor value[0x{w0:x8} 0x{w1:x8}] phase[{phase}] MBZ6[{mbz6}]");

    public static string BadRxReqId(int descriptor, int qid, int reqId) => S($"Bad req_id in descriptor #{descriptor} on q_id: {qid}, req_id: {reqId}");

    public static string CorruptedRxDescriptor(int descriptor, int qid, int reqId) => S($"Corrupted RX descriptor #{descriptor} on q_id: {qid}, req_id: {reqId}");

    public static string RxDescriptorDump(uint w0, uint w1, uint w2, uint w3, int phase, int first, int last, int mbz7, int mbz17)
        => string.Create(CultureInfo.InvariantCulture, $"RX descriptor value[0x{w0:x8} 0x{w1:x8} 0x{w2:x8} 0x{w3:x8}] phase[{phase}] first[{first}] last[{last}] MBZ7[{mbz7}] MBZ17[{mbz17}]");

    public string? EmptyRxRefill(int qid) => v.AtLeast(2, 2, 11) ? S($"Trigger refill for ring {qid}") : S($"trigger refill for ring {qid}");

    // ---- the reset path -------------------------------------------------------------------------

    public static string TriggerResetIsOn => "Trigger reset is on";

    public static string DeviceResetFailed => "Device reset failed";

    public static string ResetIndicationOn => "Reset indication didn't turn on";

    public static string ResetIndicationOff => "Reset indication didn't turn off";

    public static string DeviceNotReady => "Device isn't ready, can't reset device";

    public static string CanNotResetDevice => "Can not reset device";

    public static string CanNotInitializeDevice => "Can not initialize device";

    /// <summary>The restore-failure line (dev_err).</summary>
    public string RestoreFailed => v.AtLeast(2, 17) ? "Restore attempt failed." : "Reset attempt failed. Can not reset the device";

    /// <summary>Per-packet "Free uncompleted" line, or null when this generation prints a per-queue summary instead.</summary>
    public string? FreeUncompletedTx(int qid, int index, uint msecsSinceSubmission)
    {
        if (v.AtLeast(2, 15))
        {
            return null;
        }

        if (v.AtLeast(2, 10))
        {
            return string.Create(CultureInfo.InvariantCulture, $"Free uncompleted tx skb qid {qid}, idx 0x{index:x}, {msecsSinceSubmission} msecs since submission");
        }

        return v.AtLeast(2, 2, 11)
            ? string.Create(CultureInfo.InvariantCulture, $"Free uncompleted tx skb qid {qid} idx 0x{index:x}")
            : string.Create(CultureInfo.InvariantCulture, $"free uncompleted tx skb qid {qid} idx 0x{index:x}");
    }

    public string? FreedUncompletedSummary(int count, int qid, uint longestMsecs) => v.AtLeast(2, 17)
        ? S($"Freed {count} uncompleted tx pkts, qid {qid}, longest msecs since submission {longestMsecs}")
        : v.AtLeast(2, 15)
            ? S($"Freed {count} uncompleted tx skbs, qid {qid}, longest msecs since submission {longestMsecs}")
            : null;

    /// <summary>The completion line (dev_err). Up to 2.13.0 it says "successfully" even after a failed restore.</summary>
    public string ResetCompleted(int status)
    {
        if (v.AtLeast(2, 13, 1))
        {
            return S($"Device reset completed, status: {status}, Driver info: {v.DriverInfo}");
        }

        return v.AtLeast(2, 0, 2)
            ? S($"Device reset completed successfully, Driver info: {v.DriverInfo}")
            : "Device reset completed successfully";
    }
}
