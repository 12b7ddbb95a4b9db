using System.Globalization;
using ResetScope.Core;

namespace ResetScope.Host.Nic;

// ENA's `ethtool -S` decoded (ena-driver.md §4). API:
//
//   EnaCounters c = EnaCounters.Decode(EthtoolStats.Read("eth0"));   // any (name, value) list, in printed order
//   EnaCounters? c = EnaCounters.TryRead("eth0", out string? why);    // null + one-line reason: not ENA, ioctl failed
//   c.TotalResets, c.ResetFail, c.TxTimeout, c.WdExpired, …            // null when this generation does not print it
//   c.ResetsByReason                                                  // per-reason counters with ena_reason + family
//   c.Allowances                                                      // ENI *_allowance_exceeded (null before 2.2.10)
//   c.Queues[i].MissedTx, .PendingTimedoutPkts, .Tx["doorbells"], …   // queue_<n>_tx_<stat> / queue_<n>_rx_<stat>
//   c.All, c[name], c.Unknown                                         // nothing is dropped; unknown names are listed
//   EnaCountersDelta d = EnaCounters.Delta(before, after);            // d.Moved, d.Increase (an EnaCounters), d.Summary()
//   c.Summary()                                                       // what moved since the driver loaded

/// <summary>
/// A per-reason reset counter (2.10.0+; <c>wd_expired</c> since 1.1.2): its ethtool name, the reason it counts
/// (ena_regs_reset_reason_types value and name without ENA_REGS_RESET_, as the event JSON's <c>ena_reason</c>) and
/// the trigger families that request that reason. SUSPECTED_POLL_STARVATION comes from the Tx completion check or
/// the netdev watchdog, MISSING_ADMIN_INTERRUPT from the keep-alive or the admin-queue check: the counter cannot say which.
/// </summary>
public sealed record EnaResetCounter(string Name, int Reason, string EnaReason, IReadOnlyList<ResetFamily> Families)
{
    /// <summary>Every per-reason counter of §2.0/§4.1, in 2.17.0's printed order.</summary>
    public static IReadOnlyList<EnaResetCounter> All { get; } =
    [
        new("wd_expired", 1, "KEEP_ALIVE_TO", [ResetFamily.KeepAliveTimeout]),
        new("bad_tx_req_id", 5, "INV_TX_REQ_ID", [ResetFamily.Other]),
        new("bad_rx_req_id", 4, "INV_RX_REQ_ID", [ResetFamily.Other]),
        new("bad_rx_desc_num", 6, "TOO_MANY_RX_DESCS", [ResetFamily.Other]),
        new("missing_intr", 14, "MISS_INTERRUPT", [ResetFamily.TxCompletionTimeout]),
        new("suspected_poll_starvation", 15, "SUSPECTED_POLL_STARVATION", [ResetFamily.TxCompletionTimeout, ResetFamily.NetdevWatchdog]),
        new("missing_tx_cmpl", 3, "MISS_TX_CMPL", [ResetFamily.TxCompletionTimeout]),
        new("rx_desc_malformed", 16, "RX_DESCRIPTOR_MALFORMED", [ResetFamily.Other]),
        new("tx_desc_malformed", 17, "TX_DESCRIPTOR_MALFORMED", [ResetFamily.Other]),
        new("invalid_state", 8, "DRIVER_INVALID_STATE", [ResetFamily.Other]),
        new("os_netdev_wd", 10, "OS_NETDEV_WD", [ResetFamily.NetdevWatchdog]),
        new("missing_admin_interrupt", 18, "MISSING_ADMIN_INTERRUPT", [ResetFamily.KeepAliveTimeout, ResetFamily.UnresponsiveDevice]),
        new("admin_to", 2, "ADMIN_TO", [ResetFamily.UnresponsiveDevice]),
        new("device_request_reset", 19, "DEVICE_REQUEST", [ResetFamily.DeviceRequested]),
        new("missing_first_intr", 20, "MISS_FIRST_INTERRUPT", [ResetFamily.TxCompletionTimeout]),
    ];

    private static readonly Dictionary<string, EnaResetCounter> s_byName = All.ToDictionary(c => c.Name, StringComparer.Ordinal);
    private static readonly Dictionary<string, EnaResetCounter> s_byReason = All.ToDictionary(c => c.EnaReason, StringComparer.Ordinal);

    public static EnaResetCounter? ForName(string name) => s_byName.GetValueOrDefault(name);

    /// <summary>The counter of an <c>ena_reason</c> ("SUSPECTED_POLL_STARVATION"); null for reasons nothing counts (NORMAL, SHUTDOWN, …).</summary>
    public static EnaResetCounter? ForReason(string enaReason) => s_byReason.GetValueOrDefault(enaReason);
}

/// <summary>One per-reason counter's value.</summary>
public readonly record struct EnaReasonCount(EnaResetCounter Counter, ulong Value);

/// <summary>
/// The ENI shaping counters the device reports (2.2.10+): packets queued or dropped because the instance exceeded
/// its allowance. Not reset-related, but they explain drops (§4.1). Each is null when this generation does not print it.
/// </summary>
public sealed record EniAllowances(ulong? BwInExceeded, ulong? BwOutExceeded, ulong? PpsExceeded, ulong? ConntrackExceeded, ulong? LinklocalExceeded, ulong? ConntrackAvailable)
{
    /// <summary>The <c>*_allowance_exceeded</c> counters by name, in printed order (<c>conntrack_allowance_available</c> is a gauge, not one of them).</summary>
    public IEnumerable<(string Name, ulong Value)> Exceeded()
    {
        foreach ((string name, ulong? value) in new[]
        {
            ("bw_in_allowance_exceeded", BwInExceeded), ("bw_out_allowance_exceeded", BwOutExceeded), ("pps_allowance_exceeded", PpsExceeded),
            ("conntrack_allowance_exceeded", ConntrackExceeded), ("linklocal_allowance_exceeded", LinklocalExceeded),
        })
        {
            if (value is ulong v)
            {
                yield return (name, v);
            }
        }
    }
}

/// <summary>
/// One queue pair's counters: <c>queue_&lt;n&gt;_tx_&lt;stat&gt;</c> and <c>queue_&lt;n&gt;_rx_&lt;stat&gt;</c> keyed by
/// <c>stat</c>, every one kept (XDP, LPC, busy-poll and newer stats included); the ones §4.4 says to watch are typed.
/// </summary>
public sealed record EnaQueueCounters(int Queue, IReadOnlyDictionary<string, ulong> Tx, IReadOnlyDictionary<string, ulong> Rx)
{
    /// <summary>Tx packets newly found without a completion (§2.4 semantics by version).</summary>
    public ulong? MissedTx => Tx.TryGetValue("missed_tx", out ulong v) ? v : null;

    /// <summary>Timed-out Tx packets still outstanding now (a gauge, 2.16.0+); a reset when it exceeds 128.</summary>
    public ulong? PendingTimedoutPkts => Tx.TryGetValue("pending_timedout_pkts", out ulong v) ? v : null;

    public ulong? LostInterrupt => Tx.TryGetValue("lost_interrupt", out ulong v) ? v : null;

    public ulong? UnmaskInterrupt => Tx.TryGetValue("unmask_interrupt", out ulong v) ? v : null;

    public ulong? TxPoll => Tx.TryGetValue("tx_poll", out ulong v) ? v : null;

    public ulong? NapiComp => Tx.TryGetValue("napi_comp", out ulong v) ? v : null;

    public ulong? Doorbells => Tx.TryGetValue("doorbells", out ulong v) ? v : null;

    public ulong? QueueStop => Tx.TryGetValue("queue_stop", out ulong v) ? v : null;

    public ulong? QueueWakeup => Tx.TryGetValue("queue_wakeup", out ulong v) ? v : null;

    public ulong? TxBadReqId => Tx.TryGetValue("bad_req_id", out ulong v) ? v : null;

    public ulong? RxBadReqId => Rx.TryGetValue("bad_req_id", out ulong v) ? v : null;

    public ulong? RxBadDescNum => Rx.TryGetValue("bad_desc_num", out ulong v) ? v : null;

    public ulong? EmptyRxRing => Rx.TryGetValue("empty_rx_ring", out ulong v) ? v : null;

    public ulong? PageAllocFail => Rx.TryGetValue("page_alloc_fail", out ulong v) ? v : null;
}

/// <summary>
/// A decoded snapshot of an ENA interface's <c>ethtool -S</c> (ena-driver.md §4), any driver generation. Typed
/// views over the counters §4.4 says to watch; every (name, value) stays in <see cref="All"/>, and names the
/// decoder does not know (a newer driver) are also listed in <see cref="Unknown"/>.
/// </summary>
public sealed class EnaCounters
{
    private static readonly HashSet<string> s_knownGlobals = new(StringComparer.Ordinal)
    {
        "total_resets", "reset_fail", "tx_timeout", "wd_expired", "admin_q_pause", "suspend", "resume", "io_suspend", "io_resume",
        "interface_up", "interface_down", "rx_drops", "tx_drops", "num_of_active_io_queues",
        "ena_admin_q_aborted_cmd", "ena_admin_q_submitted_cmd", "ena_admin_q_completed_cmd", "ena_admin_q_out_of_space", "ena_admin_q_no_completion",
        "bw_in_allowance_exceeded", "bw_out_allowance_exceeded", "pps_allowance_exceeded", "conntrack_allowance_exceeded",
        "linklocal_allowance_exceeded", "conntrack_allowance_available",
    };

    // Families §4 names without listing them: ENA Express, PHC, and the reset dump's accumulated totals.
    private static readonly string[] s_knownGlobalPrefixes = ["ena_srd_", "phc_", "total_tx_", "total_rx_"];

    private static readonly HashSet<string> s_knownTx = new(StringComparer.Ordinal)
    {
        "tx_poll", "doorbells", "unmask_interrupt", "lost_interrupt", "cnt", "bytes", "queue_stop", "queue_wakeup", "dma_mapping_err",
        "linearize", "linearize_failed", "napi_comp", "prepare_ctx_err", "bad_req_id", "llq_buffer_copy", "missed_tx", "pending_timedout_pkts",
    };

    private static readonly HashSet<string> s_knownRx = new(StringComparer.Ordinal)
    {
        "cnt", "bytes", "rx_copybreak_pkt", "csum_good", "refil_partial", "csum_bad", "page_alloc_fail", "skb_alloc_fail",
        "dma_mapping_err", "bad_desc_num", "bad_req_id", "empty_rx_ring", "csum_unchecked",
    };

    // §4.2's "XDP/LPC/page-pool/busy-poll counters" (and AF_XDP), by the prefixes the driver gives them.
    private static readonly string[] s_knownQueuePrefixes = ["xdp_", "xsk_", "zc_", "lpc_", "bp_", "page_pool_", "pp_"];

    private readonly Dictionary<string, ulong> _byName;

    private EnaCounters(IReadOnlyList<(string Name, ulong Value)> all)
    {
        All = all;
        _byName = new Dictionary<string, ulong>(all.Count, StringComparer.Ordinal);
        var reasons = new List<EnaReasonCount>();
        var unknown = new List<(string, ulong)>();
        var queues = new SortedDictionary<int, (Dictionary<string, ulong> Tx, Dictionary<string, ulong> Rx)>();
        foreach ((string name, ulong value) in all)
        {
            // A driver never prints a name twice; if a list does, the first one stands.
            if (!_byName.TryAdd(name, value))
            {
                continue;
            }

            if (TryParseQueueName(name, out int queue, out bool tx, out string stat))
            {
                if (!queues.TryGetValue(queue, out var q))
                {
                    q = (new Dictionary<string, ulong>(StringComparer.Ordinal), new Dictionary<string, ulong>(StringComparer.Ordinal));
                    queues.Add(queue, q);
                }

                (tx ? q.Tx : q.Rx)[stat] = value;
                if (!(tx ? s_knownTx : s_knownRx).Contains(stat) && !StartsWithAny(stat, s_knownQueuePrefixes))
                {
                    unknown.Add((name, value));
                }

                continue;
            }

            if (EnaResetCounter.ForName(name) is { } counter)
            {
                reasons.Add(new EnaReasonCount(counter, value));
            }
            else if (!s_knownGlobals.Contains(name) && !StartsWithAny(name, s_knownGlobalPrefixes))
            {
                unknown.Add((name, value));
            }
        }

        ResetsByReason = reasons;
        Unknown = unknown;
        Queues = queues.Select(q => new EnaQueueCounters(q.Key, q.Value.Tx, q.Value.Rx)).ToList();
        Allowances = _byName.ContainsKey("bw_in_allowance_exceeded") || _byName.ContainsKey("pps_allowance_exceeded")
            ? new EniAllowances(Get("bw_in_allowance_exceeded"), Get("bw_out_allowance_exceeded"), Get("pps_allowance_exceeded"),
                Get("conntrack_allowance_exceeded"), Get("linklocal_allowance_exceeded"), Get("conntrack_allowance_available"))
            : null;
    }

    /// <summary>A snapshot with no counters: <c>Delta(Empty, c)</c> is everything counted since the driver loaded.</summary>
    public static EnaCounters Empty { get; } = new([]);

    /// <summary>Every counter as read, in the driver's order.</summary>
    public IReadOnlyList<(string Name, ulong Value)> All { get; }

    /// <summary>Names the decoder does not know (a newer driver), in printed order; their values are also in <see cref="All"/> and, per queue, in <see cref="Queues"/>.</summary>
    public IReadOnlyList<(string Name, ulong Value)> Unknown { get; }

    /// <summary>True when the names are ENA's: every generation prints <c>wd_expired</c> and <c>admin_q_pause</c>.</summary>
    public bool IsEna => _byName.ContainsKey("wd_expired") && _byName.ContainsKey("admin_q_pause");

    /// <summary>Resets requested with a non-NORMAL reason (2.10.0+; 2.10–2.16 may over-count several requests before one reset).</summary>
    public ulong? TotalResets => Get("total_resets");

    /// <summary>Reset runs whose destroy or restore failed (2.8.0+): the interface stays down until reloaded.</summary>
    public ulong? ResetFail => Get("reset_fail");

    public ulong? TxTimeout => Get("tx_timeout");

    public ulong? WdExpired => Get("wd_expired");

    public ulong? AdminQPause => Get("admin_q_pause");

    /// <summary>Admin commands that timed out (<c>ena_admin_q_no_completion</c>).</summary>
    public ulong? AdminNoCompletion => Get("ena_admin_q_no_completion");

    public ulong? Suspend => Get("suspend") ?? Get("io_suspend");

    public ulong? Resume => Get("resume") ?? Get("io_resume");

    public ulong? InterfaceUp => Get("interface_up");

    public ulong? InterfaceDown => Get("interface_down");

    /// <summary>The per-reason reset counters this generation prints, in printed order.</summary>
    public IReadOnlyList<EnaReasonCount> ResetsByReason { get; }

    public EniAllowances? Allowances { get; }

    /// <summary>Per-queue counters, by queue number.</summary>
    public IReadOnlyList<EnaQueueCounters> Queues { get; }

    /// <summary>Any counter by its ethtool name; null when not printed.</summary>
    public ulong? this[string name] => Get(name);

    /// <summary>The count of one <c>ena_reason</c>'s counter ("MISS_TX_CMPL" → <c>missing_tx_cmpl</c>); null when not printed.</summary>
    public ulong? ResetsFor(string enaReason) => EnaResetCounter.ForReason(enaReason) is { } c ? Get(c.Name) : null;

    /// <summary>Decodes a (name, value) list as <see cref="EthtoolStats.Read"/> returns it; never fails, whatever the names.</summary>
    public static EnaCounters Decode(IReadOnlyList<(string Name, ulong Value)> stats) => new(stats);

    /// <summary>
    /// Reads and decodes <paramref name="iface"/>'s counters; null with a one-line reason when the interface's driver
    /// is not ena (from sysfs), the ioctl fails, or the counters are not ENA's.
    /// </summary>
    public static EnaCounters? TryRead(string iface, out string? failure, string sysRoot = "/sys") => TryRead(iface, out failure, sysRoot, EthtoolStats.Read);

    /// <summary>As <see cref="TryRead(string, out string?, string)"/>, with the statistics read by <paramref name="read"/> (e.g. from an <c>ethtool -S</c> capture).</summary>
    public static EnaCounters? TryRead(string iface, out string? failure, string sysRoot, Func<string, IReadOnlyList<(string Name, ulong Value)>> read)
    {
        if (DriverOf(sysRoot, iface) is { } driver && driver != "ena")
        {
            failure = $"{iface}: driver {driver}, not ena";
            return null;
        }

        IReadOnlyList<(string Name, ulong Value)> stats;
        try
        {
            stats = read(iface);
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            failure = e.Message;
            return null;
        }

        EnaCounters counters = Decode(stats);
        if (!counters.IsEna)
        {
            failure = stats.Count == 0 ? $"{iface}: no ethtool statistics" : $"{iface}: {stats.Count} ethtool statistics, none of them ENA's";
            return null;
        }

        failure = null;
        return counters;
    }

    /// <summary>What moved between two snapshots of the same interface.</summary>
    public static EnaCountersDelta Delta(EnaCounters before, EnaCounters after) => new(before, after);

    /// <summary>What matters among everything counted since the driver loaded (or its counters last restarted).</summary>
    public string Summary() => Delta(Empty, this).Summary();

    /// <summary>Counters that hold a current level rather than a running count.</summary>
    internal static bool IsGauge(string name) =>
        name is "conntrack_allowance_available" or "num_of_active_io_queues" or "ena_srd_mode" or "ena_srd_resource_utilization"
        || (TryParseQueueName(name, out _, out bool tx, out string stat) && tx && stat == "pending_timedout_pkts");

    /// <summary><c>queue_&lt;n&gt;_tx_&lt;stat&gt;</c> or <c>queue_&lt;n&gt;_rx_&lt;stat&gt;</c>.</summary>
    internal static bool TryParseQueueName(string name, out int queue, out bool tx, out string stat)
    {
        queue = 0;
        tx = false;
        stat = "";
        ReadOnlySpan<char> s = name;
        if (!s.StartsWith("queue_", StringComparison.Ordinal))
        {
            return false;
        }

        s = s["queue_".Length..];
        int digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
        {
            digits++;
        }

        if (digits == 0 || !int.TryParse(s[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out queue))
        {
            return false;
        }

        s = s[digits..];
        if (s.Length > 4 && (s.StartsWith("_tx_", StringComparison.Ordinal) || s.StartsWith("_rx_", StringComparison.Ordinal)))
        {
            tx = s[1] == 't';
            stat = s[4..].ToString();
            return true;
        }

        return false;
    }

    private ulong? Get(string name) => _byName.TryGetValue(name, out ulong v) ? v : null;

    private static bool StartsWithAny(string s, string[] prefixes)
    {
        foreach (string p in prefixes)
        {
            if (s.StartsWith(p, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static string? DriverOf(string sysRoot, string iface)
    {
        try
        {
            string link = Path.Combine(sysRoot, "class/net", iface, "device/driver");
            return new DirectoryInfo(link).LinkTarget is { } target ? Path.GetFileName(target.TrimEnd('/')) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}

/// <summary>One counter that moved between two snapshots.</summary>
/// <param name="Change">After − before; for a running count that went backwards (the counters restarted), what it counted since: <paramref name="After"/>.</param>
/// <param name="Restarted">The running count went backwards: module reload, or (before 2.16.0) per-queue counters zeroed by a reset.</param>
public sealed record EnaCounterChange(string Name, ulong Before, ulong After, long Change, bool Restarted);

/// <summary>
/// What moved between two snapshots. A name missing before counts from 0 (a new queue, a newer driver); a name gone
/// after is not reported. Gauges (<c>pending_timedout_pkts</c>, <c>conntrack_allowance_available</c>) change either way.
/// </summary>
public sealed class EnaCountersDelta
{
    private const int QueuesNamed = 3;

    // Per-queue counters worth a word in the summary (§4.4 early warnings), in the order they are told.
    private static readonly (bool Tx, string Stat, string Label)[] s_queueWatch =
    [
        (true, "missed_tx", "missed_tx"), (true, "lost_interrupt", "lost_interrupt"), (true, "bad_req_id", "tx bad_req_id"),
        (false, "bad_req_id", "rx bad_req_id"), (false, "bad_desc_num", "bad_desc_num"), (false, "empty_rx_ring", "empty_rx_ring"),
        (false, "page_alloc_fail", "page_alloc_fail"),
    ];

    internal EnaCountersDelta(EnaCounters before, EnaCounters after)
    {
        Before = before;
        After = after;
        var moved = new List<EnaCounterChange>();
        var increase = new List<(string, ulong)>(after.All.Count);
        foreach ((string name, ulong value) in after.All)
        {
            ulong was = before[name] ?? 0;
            bool gauge = EnaCounters.IsGauge(name);
            bool restarted = !gauge && value < was;
            long change = gauge || !restarted ? Signed(value, was) : Clamp(value);
            increase.Add((name, gauge ? value : restarted ? value : value - was));
            if (value != was)
            {
                moved.Add(new EnaCounterChange(name, was, value, change, restarted));
            }
        }

        Moved = moved;
        Increase = EnaCounters.Decode(increase);
    }

    public EnaCounters Before { get; }

    public EnaCounters After { get; }

    /// <summary>Counters whose value changed, in the driver's order.</summary>
    public IReadOnlyList<EnaCounterChange> Moved { get; }

    /// <summary>Every counter of <see cref="After"/> as its increase (gauges: their value in After), decoded, so the typed views read as deltas.</summary>
    public EnaCounters Increase { get; }

    /// <summary>Some running count went backwards between the snapshots.</summary>
    public bool Restarted => Moved.Any(m => m.Restarted);

    /// <summary>
    /// One line of what moved that matters (§4.4): resets and their reasons, reset_fail, the watchdog and admin
    /// queue, per-queue loss, and the ENI allowances, e.g.
    /// "total_resets +1 (suspected_poll_starvation +1, reset_fail +0); missed_tx on queue 5 +1280; pps_allowance_exceeded +42".
    /// </summary>
    public string Summary()
    {
        EnaCounters d = Increase;
        var parts = new List<string>();
        if (d.TotalResets is ulong total && (total > 0 || d.ResetFail > 0))
        {
            var inner = d.ResetsByReason.Where(r => r.Value > 0).Select(r => $"{r.Counter.Name} +{r.Value}").ToList();
            inner.Add($"reset_fail +{d.ResetFail ?? 0}");
            parts.Add($"total_resets +{total} ({string.Join(", ", inner)})");
        }
        else if (d.TotalResets is null)
        {
            // Before 2.10.0 there is no total: the reason counters that exist, and interface_up (every reset brings it up again).
            parts.AddRange(d.ResetsByReason.Where(r => r.Value > 0).Select(r => $"{r.Counter.Name} +{r.Value}"));
            AddIfMoved(parts, "reset_fail", d.ResetFail);
            AddIfMoved(parts, "interface_up", d.InterfaceUp);
        }

        AddIfMoved(parts, "tx_timeout", d.TxTimeout);
        AddIfMoved(parts, "admin_q_pause", d.AdminQPause);
        AddIfMoved(parts, "ena_admin_q_no_completion", d.AdminNoCompletion);

        foreach ((bool tx, string stat, string name) in s_queueWatch)
        {
            var hit = d.Queues
                .Select(q => (q.Queue, Value: (tx ? q.Tx : q.Rx).GetValueOrDefault(stat)))
                .Where(x => x.Value > 0)
                .OrderByDescending(x => x.Value).ThenBy(x => x.Queue)
                .ToList();
            if (hit.Count > QueuesNamed)
            {
                ulong sum = hit.Aggregate(0UL, (a, x) => a + x.Value);
                parts.Add($"{name} +{sum} on {hit.Count} queues (most on queue {hit[0].Queue}: +{hit[0].Value})");
            }
            else
            {
                parts.AddRange(hit.OrderBy(x => x.Queue).Select(x => $"{name} on queue {x.Queue} +{x.Value}"));
            }
        }

        parts.AddRange(d.Queues.Where(q => q.PendingTimedoutPkts > 0).Select(q => $"pending_timedout_pkts on queue {q.Queue} at {q.PendingTimedoutPkts}"));
        if (d.Allowances is { } a)
        {
            parts.AddRange(a.Exceeded().Where(x => x.Value > 0).Select(x => $"{x.Name} +{x.Value}"));
        }

        int restarted = Moved.Count(m => m.Restarted);
        if (restarted > 0)
        {
            parts.Add($"{restarted} counter(s) restarted from 0");
        }

        return parts.Count == 0 ? "no reset, loss or allowance counter moved" : string.Join("; ", parts);
    }

    private static void AddIfMoved(List<string> parts, string name, ulong? increase)
    {
        if (increase is ulong v && v > 0)
        {
            parts.Add($"{name} +{v}");
        }
    }

    private static long Clamp(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;

    private static long Signed(ulong after, ulong before) => after >= before ? Clamp(after - before) : -Clamp(before - after);
}
