using ResetScope.Core;
using static ResetScope.KernelLog.SignatureField;
using static ResetScope.KernelLog.SignatureRole;

namespace ResetScope.KernelLog;

/// <summary>
/// The signature catalogue: every line the scanner understands, as data. Sources: ena-driver.md §2, §3,
/// §6 and §7.2 (ENA Linux by version, FreeBSD, DPDK), reset-signatures-and-triage.md §2.1 (NETDEV
/// WATCHDOG) and §2.4 (other drivers). Formats are the driver's printf strings without the trailing
/// newline; <see cref="Signature.Fields"/> lists what each conversion yields, in printed order.
/// </summary>
public static class Catalogue
{
    private const string Ena = "ena";

    public static IReadOnlyList<Signature> All { get; } = Build();

    private static Signature S(string id, string driver, SignatureRole role, string versions, string format, SignatureField[]? fields = null,
        ResetFamily family = ResetFamily.Other, string? reason = null, int priority = 1, PrefixStyle prefix = PrefixStyle.Linux,
        bool successEvenOnFailure = false, bool impliesReset = true, bool allowTrailing = false, string? starvation = null,
        (string, string)[]? reasonByVersion = null, string? note = null) => new()
        {
            Id = id,
            Driver = driver,
            Role = role,
            Versions = versions,
            Format = format,
            Fields = fields ?? [],
            Family = family,
            EnaReason = reason,
            ReasonPriority = priority,
            Prefix = prefix,
            SuccessEvenOnFailure = successEvenOnFailure,
            ImpliesReset = impliesReset,
            AllowTrailing = allowTrailing,
            StarvationType = starvation,
            EnaReasonByVersion = reasonByVersion,
            Note = note,
        };

    private static List<Signature> Build()
    {
        const ResetFamily Tx = ResetFamily.TxCompletionTimeout;
        const ResetFamily Ka = ResetFamily.KeepAliveTimeout;
        const ResetFamily Adm = ResetFamily.UnresponsiveDevice;
        const ResetFamily Wd = ResetFamily.NetdevWatchdog;
        const ResetFamily Dev = ResetFamily.DeviceRequested;
        (string, string)[] msixByVersion = [("1.5.0", "MISS_INTERRUPT"), ("2.13.0", "MISS_FIRST_INTERRUPT")];
        (string, string)[] admIntrByVersion = [("2.11.0", "MISSING_ADMIN_INTERRUPT")];

        return
        [
            // ---------------- Kernel netdev watchdog (reset-signatures §2.1) ----------------
            S("kernel.netdev-watchdog.v1", "*", Trigger, "kernel <= 6.4 (WARN_ONCE, once per boot)", "NETDEV WATCHDOG: %s (%s): transmit queue %u timed out",
                [Ifname, DriverName, Queue], Wd, prefix: PrefixStyle.Kernel),
            S("kernel.netdev-watchdog.v2", "*", Trigger, "kernel 2023 (WARN_ONCE)", "NETDEV WATCHDOG: %s (%s): transmit queue %u timed out %u ms",
                [Ifname, DriverName, Queue, Ignore], Wd, prefix: PrefixStyle.Kernel),
            S("kernel.netdev-watchdog.v3", "*", Trigger, "kernel >= 6.8 (+ stable backports; netdev_crit every time)", "NETDEV WATCHDOG: CPU: %d: transmit queue %u timed out %u ms",
                [Ignore, Queue, Ignore], Wd, note: "CPU is the CPU running the watchdog timer, not the NAPI CPU"),

            // ---------------- ENA Linux: keep-alive / admin (ena-driver §2.2, §2.3) ----------------
            S("ena.keep-alive.v1", Ena, Trigger, "1.1.2-2.11.1", "Keep alive watchdog timeout.", family: Ka, reason: "KEEP_ALIVE_TO"),
            S("ena.keep-alive.v2", Ena, Trigger, "2.12.0+", "Keep alive watchdog timeout, %u msecs since last keep alive.", [Ignore], Ka,
                note: "reason 1 (KEEP_ALIVE_TO) or 18 (MISSING_ADMIN_INTERRUPT): not in the line; decided from the stats dump when it shows one"),
            S("ena.admin-not-running", Ena, Trigger, "1.1.2+", "ENA admin queue is not in running state!", family: Adm, reason: "ADMIN_TO",
                note: "18 instead when a missing-MSI-X admin line preceded it (2.11.0+)"),
            S("ena.admin.polling-timeout", Ena, Precursor, "all", "Wait for completion (polling) timeout"),
            S("ena.admin.no-completion.v1", Ena, Precursor, "1.1.2-2.1.0", "The ena device doesn't send any completion for the admin cmd %d status %d", [Ignore, Ignore]),
            S("ena.admin.no-completion.v2", Ena, Precursor, "2.1.1+", "The ena device didn't send a completion for the admin cmd %d status %d", [Ignore, Ignore]),
            S("ena.admin.missing-msix.v1", Ena, Precursor, "1.1.2-2.0.3", "The ena device have completion but the driver didn't receive any MSI-X interrupt (cmd %d)", [Ignore],
                priority: 2, reasonByVersion: admIntrByVersion),
            S("ena.admin.missing-msix.v2", Ena, Precursor, "2.1.0", "The ena device sent a completion but the driver didn't receive any MSI-X interrupt (cmd %d), autopolling mode is %s", [Ignore, Ignore],
                priority: 2, reasonByVersion: admIntrByVersion),
            S("ena.admin.missing-msix.v3", Ena, Precursor, "2.1.1+", "The ena device sent a completion but the driver didn't receive a MSI-X interrupt (cmd %d), autopolling mode is %s", [Ignore, Ignore],
                priority: 2, reasonByVersion: admIntrByVersion),
            S("ena.admin.comp-ctx-null", Ena, Precursor, "all", "comp_ctx is NULL. Changing the admin queue running state"),
            S("ena.mmio.read-timeout.v1", Ena, Detail, "1.1.2-2.2.10", "reading reg failed for timeout. expected: req id[%hu] offset[%hu] actual: req id[%hu] offset[%hu]", [Ignore, Ignore, Ignore, Ignore]),
            S("ena.mmio.read-timeout.v2", Ena, Detail, "2.2.11+", "Reading reg failed for timeout. expected: req id[%u] offset[%u] actual: req id[%u] offset[%u]", [Ignore, Ignore, Ignore, Ignore]),
            S("ena.mmio.reg-read-timeout", Ena, Detail, "all", "Reg read timeout occurred"),
            S("ena.mmio.reg-read32-timeout", Ena, Detail, "all", "Reg read32 timeout occurred"),
            S("ena.fw-not-responsive", Ena, Detail, "2.6.0+", "FW isn't responsive, skipping reset routine"),

            // ---------------- ENA Linux: missing Tx completions (§2.4) ----------------
            S("ena.tx.found-not-completed.v1", Ena, Precursor, "1.1.2-2.4.1", "Found a Tx that wasn't completed on time, qid %d, index %d.", [Queue, Ignore]),
            S("ena.tx.found-not-completed.v2", Ena, Precursor, "2.5.0-2.7.1", "Found a Tx that wasn't completed on time, qid %d, index %d. %u usecs have passed since last napi execution. Missing Tx timeout value %u msecs",
                [Queue, Ignore, SinceNapiUsec, ThresholdMsec]),
            S("ena.tx.not-completed.v1", Ena, Precursor, "2.7.2-2.8.9", "TX hasn't completed, qid %d, index %d. %u usecs from last napi execution, napi scheduled: %d",
                [Queue, Ignore, SinceNapiUsec, NapiScheduled]),
            S("ena.tx.not-completed.v2", Ena, Precursor, "2.9.0-2.16.1", "TX hasn't completed, qid %d, index %d. %u msecs since last interrupt, %u msecs since last napi execution, napi scheduled: %d",
                [Queue, Ignore, Ignore, SinceNapiMsec, NapiScheduled]),
            S("ena.tx.not-completed.v3", Ena, Precursor, "2.17.0 (debug level)", "TX hasn't completed, qid: %d, index: %d, %u msecs since interrupt, %u msecs since napi, napi scheduled: %d",
                [Queue, Ignore, Ignore, SinceNapiMsec, NapiScheduled]),
            S("ena.tx.new-missed.1of2", Ena, Precursor, "2.17.0", "[1/2] %d new missed TX completions, qid: %d, %u msecs since interrupt, %u msecs since napi, napi scheduled: %d",
                [Ignore, Queue, Ignore, SinceNapiMsec, NapiScheduled]),
            S("ena.tx.new-missed.2of2", Ena, Precursor, "2.17.0", "[2/2] qid: %d, highest TX completion pending time (msec): %u, napi sched changes: %d, napi CPU: %d",
                [Queue, Ignore, Ignore, NapiCpu]),
            S("ena.tx.threshold.v1", Ena, Trigger, "1.1.2-1.1.3", "The number of lost tx completion is above the threshold (%d > %d). Reset the device", [Ignore, Ignore], Tx,
                note: "no reset reason field in these versions"),
            S("ena.tx.threshold.v2", Ena, Trigger, "1.2.0-2.7.1", "The number of lost tx completions is above the threshold (%d > %d). Reset the device", [Ignore, Ignore], Tx, "MISS_TX_CMPL"),
            S("ena.tx.threshold.v3", Ena, Trigger, "2.7.2-2.8.9", "Lost TX completions are above the threshold (%d > %d). Completion transmission timeout: %u.", [Ignore, Ignore, Ignore], Tx,
                note: "reason 3 or 15; the timeout unit is not stated in the line"),
            S("ena.tx.threshold.v4", Ena, Trigger, "2.9.0-2.15.0", "Lost TX completions are above the threshold (%d > %d). Completion transmission timeout: %u (msec). %u msecs since last interrupt, %u msecs since last napi execution.",
                [Ignore, Ignore, ThresholdMsec, Ignore, SinceNapiMsec], Tx),
            S("ena.tx.threshold.v5", Ena, Trigger, "2.16.0-2.16.1", "Lost TX completions are above the threshold (%d > %d). Completion transmission timeout: %u (msec). %u msecs since last interrupt, %u msecs since last napi execution. qid %d.",
                [Ignore, Ignore, ThresholdMsec, Ignore, SinceNapiMsec, Queue], Tx),
            S("ena.tx.threshold.1of2", Ena, Trigger, "2.17.0", "[1/2] Lost TX completions are above threshold (%d > %d), completion timeout: %u (msec), %u msecs since interrupt, %u msecs since napi, qid: %d",
                [Ignore, Ignore, ThresholdMsec, Ignore, SinceNapiMsec, Queue], Tx),
            S("ena.tx.threshold.2of2", Ena, Detail, "2.17.0", "[2/2] qid: %d, napi CPU: %d", [NapiCpu, Queue], Tx,
                note: "2.17.0 passes the arguments swapped: the number after 'qid:' is the CPU, the one after 'napi CPU:' the qid"),
            S("ena.tx.resetting", Ena, Start, "2.7.2+", "Resetting the device"),
            S("ena.tx.cq-empty", Ena, Detail, "2.9.0+", "No completion descriptors found in CQ %d", [Queue], Tx, "MISS_TX_CMPL", priority: 2),
            S("ena.tx.cq-not-empty", Ena, Detail, "2.9.0-2.15.0", "Completion descriptors found in CQ %d", [Queue], Tx, "MISS_INTERRUPT", priority: 2),
            S("ena.tx.msix.v1", Ena, Trigger, "1.5.0-2.15.0", "Potential MSIX issue on Tx side Queue = %d. Reset the device", [Queue], Tx, reasonByVersion: msixByVersion),
            S("ena.tx.msix.v2", Ena, Trigger, "2.16.0+", "Potential MSIX issue on Tx side Queue = %d.", [Queue], Tx,
                note: "reason 20/14/3 after CQ classification"),
            S("ena.rx.msix", Ena, Trigger, "1.5.0+", "Potential MSIX issue on Rx side Queue = %d. Reset the device", [Queue], reasonByVersion: msixByVersion),

            // ---------------- ENA Linux: netdev watchdog handler (§2.5) ----------------
            S("ena.tx-timeout.v1", Ena, Trigger, "1.1.2-2.7.1", "Transmit time out", family: Wd, reason: "OS_NETDEV_WD"),
            S("ena.tx-paused.v1", Ena, Trigger, "2.7.2-2.11.1", "TX q %d is paused for too long (threshold %u). Time since last napi %u usec. napi scheduled: %d",
                [Queue, ThresholdUsec, SinceNapiUsec, NapiScheduled], Wd, "OS_NETDEV_WD"),
            S("ena.tx-paused.v2", Ena, Trigger, "2.12.0-2.16.1", "TX q %d is paused for too long (threshold %u). Time since last napi %u usec. napi scheduled: %d. msecs since last interrupt: %u",
                [Queue, ThresholdUsec, SinceNapiUsec, NapiScheduled, Ignore], Wd, "OS_NETDEV_WD"),
            S("ena.tx-paused.v3", Ena, Trigger, "2.17.0", "TX q %d is paused for too long (threshold %u). usecs since napi %u. napi scheduled: %d. napi CPU: %d. msecs since interrupt: %u",
                [Queue, ThresholdUsec, SinceNapiUsec, NapiScheduled, NapiCpu, Ignore], Wd, "OS_NETDEV_WD"),
            S("ena.napi-starved", Ena, Trigger, "2.7.2+", "napi handler hasn't been called for a long time but is scheduled", family: Wd, reason: "SUSPECTED_POLL_STARVATION", priority: 2),
            S("ena.tx-timeout.invalid-queue", Ena, Trigger, "2.7.2+", "TX timeout on invalid queue %u", [Queue], Wd, "OS_NETDEV_WD"),
            S("ena.tx-timeout.no-queue", Ena, Trigger, "2.7.2+ (kernels < 5.6)", "timeout was called, but no offending queue was found", family: Wd, reason: "OS_NETDEV_WD"),

            // ---------------- ENA Linux: device events, bad descriptors (§2.6, §2.8) ----------------
            S("ena.device-request", Ena, Trigger, "2.12.0+", "The device has detected an unhealthy state, reset is requested", family: Dev, reason: "DEVICE_REQUEST"),
            S("ena.refresh-capabilities", Ena, Trigger, "2.6.0+", "Received requet to refresh capabilities", reason: "NORMAL"),
            S("ena.tx.invalid-req-id.v1", Ena, Trigger, "1.1.2-2.5.0", "Invalid req_id: %hu", [Ignore], reason: "INV_TX_REQ_ID"),
            S("ena.tx.invalid-req-id.v2", Ena, Trigger, "2.6.0-2.12.3", "Invalid req_id %u in qid %u", [Ignore, Queue], reason: "INV_TX_REQ_ID"),
            S("ena.tx.invalid-req-id.v3", Ena, Trigger, "2.13.0+", "Invalid req_id %u in qid %u, queue type: %s", [Ignore, Queue, Ignore], reason: "INV_TX_REQ_ID"),
            S("ena.tx.no-packet.v1", Ena, Trigger, "2.6.0-2.12.3", "tx_info doesn't have valid %s. qid %u req_id %u", [Ignore, Queue, Ignore], reason: "INV_TX_REQ_ID"),
            S("ena.tx.no-packet.v2", Ena, Trigger, "2.13.0+", "req id %u doesn't correspond to a packet. qid %u queue type: %s", [Ignore, Queue, Ignore], reason: "INV_TX_REQ_ID"),
            S("ena.com.invalid-req-id", Ena, Precursor, "ena_com", "Invalid req id %d", [Ignore]),
            S("ena.rx.invalid-req-id.old", Ena, Precursor, "1.2.0-2.2.x (no reset before 2.6.0)", "Invalid rx req_id: %hu", [Ignore]),
            S("ena.tx.desc-malformed", Ena, Trigger, "2.10.0+", "Corrupted TX descriptor on q_id: %d, req_id: %u", [Queue, Ignore], reason: "TX_DESCRIPTOR_MALFORMED"),
            S("ena.rx.too-many-descs", Ena, Trigger, "ena_com", "Too many RX cdescs (%u) > MAX(%u)", [Ignore, Ignore], reason: "TOO_MANY_RX_DESCS"),
            S("ena.rx.first-bit", Ena, Trigger, "2.8.3+", "First bit is on in descriptor #%u on q_id: %u, req_id: %u", [Ignore, Queue, Ignore], reason: "RX_DESCRIPTOR_MALFORMED"),
            S("ena.rx.desc-malformed", Ena, Trigger, "2.8.3+", "Corrupted RX descriptor #%u on q_id: %u, req_id: %u", [Ignore, Queue, Ignore], reason: "RX_DESCRIPTOR_MALFORMED"),
            S("ena.rx.bad-req-id", Ena, Trigger, "ena_com", "Bad req_id in descriptor #%u on q_id: %u, req_id: %u", [Ignore, Queue, Ignore], reason: "INV_RX_REQ_ID"),
            S("ena.rx.page-null.v1", Ena, Precursor, "<=2.5.0 (no reset)", "Page is NULL"),
            S("ena.rx.page-null.v2", Ena, Trigger, "2.6.0-2.13.3", "Page is NULL. qid %u req_id %u", [Queue, Ignore], reason: "INV_RX_REQ_ID"),
            S("ena.rx.page-null.v3", Ena, Trigger, "2.14.0+", "SKB: Page is NULL. qid %u req_id %u", [Queue, Ignore], reason: "INV_RX_REQ_ID"),
            S("ena.rx.desc-dump", Ena, Detail, "2.13.0+", "RX descriptor value[0x%08x 0x%08x 0x%08x 0x%08x] phase[%u] first[%u] last[%u] MBZ7[%u] MBZ17[%u]",
                [Ignore, Ignore, Ignore, Ignore, Ignore, Ignore, Ignore, Ignore, Ignore]),
            S("ena.tx.desc-dump", Ena, Detail, "2.13.0+", "TX descriptor value[0x%08x 0x%08x] phase[%u] MBZ6[%u]", [Ignore, Ignore, Ignore, Ignore]),
            S("ena.tx.prepare-failed.v1", Ena, Trigger, "<=2.2.10", "failed to prepare tx bufs", reason: "DRIVER_INVALID_STATE"),
            S("ena.tx.prepare-failed.v2", Ena, Trigger, "2.2.11+", "Failed to prepare tx bufs", reason: "DRIVER_INVALID_STATE"),

            // ---------------- ENA Linux: the reset itself (§2.0, §2.9, §3) ----------------
            S("ena.trigger-reset-on", Ena, Start, "all", "Trigger reset is on"),
            S("ena.destroy-failure", Ena, Start, "1.5.0+", "Destroy failure, restarting device"),
            S("ena.device-reset-failed", Ena, Detail, "all", "Device reset failed"),
            S("ena.reset-indication-on", Ena, Detail, "all", "Reset indication didn't turn on"),
            S("ena.reset-indication-off", Ena, Detail, "all", "Reset indication didn't turn off"),
            S("ena.device-not-ready", Ena, Detail, "all", "Device isn't ready, can't reset device"),
            S("ena.restore.init-failed", Ena, Detail, "all", "Can not initialize device"),
            S("ena.restore.validation-failed", Ena, Detail, "all", "Validation of device parameters failed"),
            S("ena.restore.msix-failed", Ena, Detail, "all", "Enable MSI-X failed"),
            S("ena.restore.io-queues-failed", Ena, Detail, "all", "Failed to create I/O queues"),
            S("ena.restore.flow-steering-failed", Ena, Detail, "2.13.0+", "Failed to restore flow steering rules"),
            S("ena.restore.hwts-failed", Ena, Detail, "2.15.0+", "Failed to restore HW timestamping configuration"),
            S("ena.reset-attempt-failed", Ena, Failure, "1.1.2-2.16.1 (restore); 2.17.0 (ena_close path)", "Reset attempt failed. Can not reset the device"),
            S("ena.restore-attempt-failed", Ena, Failure, "2.17.0", "Restore attempt failed."),
            S("ena.suspend-ignore.v1", Ena, Cancel, "1.3.0-2.2.10", "ignoring device reset request as the device is being suspended"),
            S("ena.suspend-ignore.v2", Ena, Cancel, "2.2.11+", "Ignoring device reset request as the device is being suspended"),
            S("ena.completed.v1", Ena, Completion, "1.1.2-1.6.0; upstream >= 5.7", "Device reset completed successfully", successEvenOnFailure: true),
            S("ena.completed.v2", Ena, Completion, "2.0.2-2.13.0", "Device reset completed successfully, Driver info: %s", [DriverInfo], successEvenOnFailure: true,
                note: "printed even when the restore failed: outcome = failed if a failure line precedes it"),
            S("ena.completed.v3", Ena, Completion, "2.13.1+", "Device reset completed, status: %d, Driver info: %s", [Status, DriverInfo]),

            // ---------------- ENA FreeBSD (§6.2): "ena0: msg" ----------------
            S("ena-fbsd.keep-alive", Ena, Trigger, "FreeBSD", "Keep alive watchdog timeout.", family: Ka, prefix: PrefixStyle.FreeBsd,
                note: "reason 1 or 18 (pending keep-alive in the AENQ): not in the line"),
            S("ena-fbsd.admin-not-running", Ena, Trigger, "FreeBSD", "ENA admin queue is not in running state!", family: Adm, reason: "ADMIN_TO", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.tx.msix", Ena, Trigger, "FreeBSD", "Potential MSIX issue on Tx side Queue = %d. Reset the device", [Queue], Tx, "MISS_INTERRUPT", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.rx.msix", Ena, Trigger, "FreeBSD", "Potential MSIX issue on Rx side Queue = %d. Reset the device", [Queue], reason: "MISS_INTERRUPT", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.tx.found-not-completed", Ena, Precursor, "FreeBSD", "Found a Tx that wasn't completed on time, qid %d, index %d. %d msecs have passed since last cleanup. Missing Tx timeout value %d msecs.",
                [Queue, Ignore, Ignore, ThresholdMsec], prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.tx.threshold", Ena, Trigger, "FreeBSD", "The number of lost tx completion is above the threshold (%d > %d). Reset the device", [Ignore, Ignore], Tx, "MISS_TX_CMPL",
                prefix: PrefixStyle.FreeBsd, note: "3, or 14 when the CQ line says completions were found"),
            S("ena-fbsd.tx.cq-empty", Ena, Detail, "FreeBSD", "No completion descriptors found in CQ %d", [Queue], Tx, "MISS_TX_CMPL", priority: 2, prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.tx.cq-not-empty", Ena, Detail, "FreeBSD", "Completion descriptors found in CQ %d", [Queue], Tx, "MISS_INTERRUPT", priority: 2, prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.tx.invalid-req-id", Ena, Trigger, "FreeBSD", "Invalid req_id %hu in qid %hu", [Ignore, Queue], reason: "INV_TX_REQ_ID", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.tx.desc-malformed", Ena, Trigger, "FreeBSD", "TX descriptor malformed. req_id %hu qid %hu", [Ignore, Queue], reason: "TX_DESCRIPTOR_MALFORMED", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.device-request", Ena, Trigger, "FreeBSD", "The device has detected an unhealthy state, reset is requested", family: Dev, reason: "DEVICE_REQUEST", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.fw-unresponsive", Ena, Detail, "FreeBSD", "FW unresponsive, skipping reset", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.trigger-reset-on", Ena, Start, "FreeBSD", "Trigger reset is on", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.reset-attempt-failed", Ena, Failure, "FreeBSD", "Reset attempt failed. Can not reset the device", prefix: PrefixStyle.FreeBsd),
            S("ena-fbsd.completed", Ena, Completion, "FreeBSD", "Device reset completed successfully, Driver info: %s", [DriverInfo], successEvenOnFailure: true, prefix: PrefixStyle.FreeBsd),

            // ---------------- ENA DPDK PMD (§6.1) ----------------
            S("ena-dpdk.keep-alive", Ena, Trigger, "DPDK 18.08+", "Keep alive timeout", family: Ka, reason: "KEEP_ALIVE_TO", prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.admin-not-running", Ena, Trigger, "DPDK 18.08+", "ENA admin queue is not in running state", family: Adm, reason: "ADMIN_TO", prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.tx.threshold", Ena, Trigger, "DPDK 21.11+", "The number of lost Tx completions is above the threshold (%d > %d). Trigger the device reset.", [Ignore, Ignore], Tx, "MISS_TX_CMPL", prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.tx.found-not-completed", Ena, Precursor, "DPDK 21.11+ (RTE_ETHDEV_DEBUG_TX)", "Found a Tx that wasn't completed on time, qid %d, index %d. Missing Tx outstanding for %<PRIu64> msecs.", [Queue, Ignore, Ignore], prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.tx.no-mbuf", Ena, Trigger, "DPDK", "tx_info doesn't have valid mbuf. queue %d:%d req_id %u", [Ignore, Queue, Ignore], reason: "INV_TX_REQ_ID", prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.tx.invalid-req-id", Ena, Trigger, "DPDK", "Invalid req_id: %hu in queue %d:%d", [Ignore, Ignore, Queue], reason: "INV_TX_REQ_ID", prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.tx.prepare-failed", Ena, Trigger, "DPDK", "Failed to prepare Tx buffers, rc: %d", [Ignore], reason: "DRIVER_INVALID_STATE", prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.alarm-failed", Ena, Trigger, "DPDK 24.03+", "Failed to retrigger control path alarm", reason: "GENERIC", prefix: PrefixStyle.Dpdk),
            S("ena-dpdk.trigger-reset-on", Ena, Start, "DPDK 18.08+", "Trigger reset is on", prefix: PrefixStyle.Dpdk,
                note: "the application must call rte_eth_dev_reset; the PMD prints no completion line"),
            S("ena-dpdk.device-reset-failed", Ena, Failure, "DPDK", "Device reset failed, rc: %d", [Ignore], prefix: PrefixStyle.Dpdk),

            // ---------------- Other drivers (reset-signatures §2.4) ----------------
            S("mlx5.tx-timeout", "mlx5_core", Trigger, "all", "TX timeout detected", family: Wd),
            S("mlx5.tx-timeout-queue", "mlx5_core", Detail, "devlink health tx reporter", "TX timeout on queue: %d, SQ: 0x%x, CQ: 0x%x, SQ Cons: 0x%x SQ Prod: 0x%x, usecs since last trans: %u",
                [Queue, Ignore, Ignore, Ignore, Ignore, Ignore], Wd),
            S("mlx5.eq-recover", "mlx5_core", Completion, "all", "Recover %d eqes on EQ 0x%x", [Ignore, Ignore], impliesReset: false),
            S("mlx5.err-cqe", "mlx5_core", Precursor, "all", "ERR CQE on SQ: 0x%x", [Ignore]),
            S("ixgbe.unit-hang", "ixgbe", Precursor, "all", "Detected Tx Unit Hang", family: Tx, allowTrailing: true),
            S("ixgbe.tx-hang", "ixgbe", Trigger, "all", "tx hang %d detected on queue %d, resetting adapter", [Ignore, Queue], Tx),
            S("ixgbe.tx-timeout", "ixgbe", Trigger, "all", "initiating reset due to tx timeout", family: Wd),
            S("ixgbe.reset-adapter", "ixgbe", Start, "all", "Reset adapter"),
            S("ixgbevf.unit-hang", "ixgbevf", Precursor, "all", "Detected Tx Unit Hang", family: Tx, allowTrailing: true),
            S("ixgbevf.tx-hang", "ixgbevf", Trigger, "all", "tx hang %d detected on queue %d, resetting adapter", [Ignore, Queue], Tx,
                note: "ndo_tx_timeout is silent; the NETDEV WATCHDOG line is the other sign"),
            S("i40e.tx-timeout", "i40e", Trigger, "all", "tx_timeout: VSI_seid: %d, Q %d, NTC: 0x%x, HWB: 0x%x, NTU: 0x%x, TAIL: 0x%x, INT: 0x%x",
                [Ignore, Queue, Ignore, Ignore, Ignore, Ignore, Ignore], Wd),
            S("i40e.recovery.v1", "i40e", Start, "older", "tx_timeout recovery level %d, hung_queue %d", [Ignore, Queue], Wd),
            S("i40e.recovery.v2", "i40e", Start, "newer", "tx_timeout recovery level %d, txqueue %d", [Ignore, Queue], Wd),
            S("i40e.recovery-failed", "i40e", Failure, "all", "tx_timeout recovery unsuccessful", allowTrailing: true),
            S("ice.tx-timeout", "ice", Trigger, "all", "tx_timeout: VSI_num: %d, Q %u, NTC: 0x%x, HW_HEAD: 0x%x, NTU: 0x%x, INT: 0x%x",
                [Ignore, Queue, Ignore, Ignore, Ignore, Ignore], Wd),
            S("ice.recovery", "ice", Start, "all", "tx_timeout recovery level %d, txqueue %u", [Ignore, Queue], Wd),
            S("ice.recovery-failed", "ice", Failure, "all", "tx_timeout recovery unsuccessful", allowTrailing: true, note: "exact wording unverified; prefix match"),
            S("iavf.hw-reset", "iavf", Trigger, "all", "Hardware reset detected", family: Dev, note: "ndo_tx_timeout itself is silent"),
            S("gve.tx-timeout", "gve", Trigger, "2025+", "Timeout on tx queue, %d", [Queue], Wd),
            S("gve.kick", "gve", Cancel, "2025+", "Kicking queue %d", [Queue], note: "NAPI re-scheduled instead of a reset"),
            S("gve.reset", "gve", Start, "all", "Performing reset"),
            S("gve.reset-failed", "gve", Failure, "all", "Reset failed! !!! DISABLING ALL QUEUES !!!"),
            S("virtio_net.tx-timeout", "virtio_net", Trigger, "all", "TX timeout on queue: %u, sq: %s, vq: 0x%x, name: %s, %u usecs ago", [Queue, Ignore, Ignore, Ignore, Ignore], Wd),
            S("bnxt.tx-timeout", "bnxt_en", Trigger, "all", "TX timeout detected, starting reset task!", family: Wd),
            S("igb.unit-hang", "igb", Precursor, "all", "Detected Tx Unit Hang", family: Tx, allowTrailing: true),
            S("igb.reset-adapter", "igb", Start, "all", "Reset adapter", note: "wording unverified"),
            S("e1000e.unit-hang", "e1000e", Precursor, "all", "Detected Hardware Unit Hang:", family: Tx, allowTrailing: true),
            S("e1000e.reset-unexpectedly", "e1000e", Start, "all", "Reset adapter unexpectedly"),
            S("hv_netvsc.vf-gone", "hv_netvsc", Trigger, "all", "Data path switched from VF: %s", [Ignore], Dev, note: "host servicing took the VF away"),
            S("hv_netvsc.vf-unregistering", "hv_netvsc", Detail, "all", "VF unregistering: %s", [Ignore]),
            S("hv_netvsc.vf-waiting", "hv_netvsc", Detail, "all", "Waiting for the VF association from host"),
            S("hv_netvsc.vf-back", "hv_netvsc", Completion, "all", "Data path switched to VF: %s", [Ignore], impliesReset: false),
            S("hv_netvsc.vf-switch-failed", "hv_netvsc", Failure, "all", "Data path failed to switch %s VF: %s, err: %d", [Ignore, Ignore, Ignore]),
            S("vmxnet3.tx-hang", "vmxnet3", Trigger, "all", "tx hang", family: Wd),
            S("vmxnet3.resetting", "vmxnet3", Start, "all", "resetting"),
            S("tg3.tx-timeout", "tg3", Trigger, "all", "transmit timed out, resetting", family: Wd, note: "only with netif_msg_tx_err"),
            S("r8169.aspm-off", "r8169", Trigger, "6.x", "ASPM disabled on Tx timeout", family: Wd, note: "printed once; later timeouts show only NETDEV WATCHDOG"),
            S("r8169.txcfg-wait", "r8169", Detail, "all", "rtl_txcfg_empty_cond == %d (loop: %d, delay: %d).", [Ignore, Ignore, Ignore]),
            S("r8152.tx-timeout", "r8152", Trigger, "all", "Tx timeout", family: Wd,
                note: "from r8152.c rtl8152_tx_timeout; r8168/r8125 vendor drivers print only the kernel NETDEV WATCHDOG line (driver in parentheses)"),

            // ---------------- CPU starvation evidence ----------------
            S("cpu.soft-lockup", "kernel", Starvation, "all", "BUG: soft lockup - CPU#%d stuck for %us! [%s]", [Cpu, DurationS, CommPid], prefix: PrefixStyle.Kernel, starvation: "soft-lockup"),
            S("cpu.hard-lockup", "kernel", Starvation, "all", "Watchdog detected hard LOCKUP on cpu %d", [Cpu], prefix: PrefixStyle.Kernel, starvation: "nmi-watchdog"),
            S("cpu.rcu-stall", "kernel", Starvation, "all", "INFO: rcu_%s detected stalls on CPUs/tasks", [Ignore], prefix: PrefixStyle.Kernel, allowTrailing: true, starvation: "rcu-stall"),
            S("cpu.rcu-self-stall", "kernel", Starvation, "all", "INFO: rcu_%s self-detected stall on CPU", [Ignore], prefix: PrefixStyle.Kernel, allowTrailing: true, starvation: "rcu-stall"),
            S("cpu.hung-task", "kernel", Starvation, "all", "INFO: task %s blocked for more than %u seconds.", [CommPid, DurationS], prefix: PrefixStyle.Kernel, starvation: "hung-task"),
        ];
    }
}
