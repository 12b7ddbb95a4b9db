using System.Globalization;
using ResetScope.Core;

namespace ResetScope.KernelLog;

/// <summary>A reset as found, plus what cadence needs that the JSON does not carry.</summary>
public sealed record ScannedReset(ResetEvent Event, long? UptimeUs);

/// <summary>
/// Groups the matched lines of one file into events: per device, precursors → trigger → start →
/// stats dump → completion/failure become one <see cref="ResetEvent"/>. Not thread-safe; one per file.
/// </summary>
internal sealed class EventAssembler : IDeviceDirectory
{
    /// <summary>Lines further apart than this (when both carry a time) never belong to the same reset.</summary>
    private const long MaxGapUs = 120_000_000;

    /// <summary>
    /// Two watchdog firings whose stalls began further apart than this are two stalls: the queue transmitted in between
    /// (a new stall starts at least one watchdog timeout, ≥ 1 s, after the last transmit). The slack covers jiffies and
    /// whole-second syslog stamps.
    /// </summary>
    private const long SameStallSlackUs = 2_000_000;

    /// <summary>A line of a driver this many candidate lines back still counts as a neighbour of a bare message.</summary>
    private const int NeighbourLines = 32;

    /// <summary>Fingerprints of finished resets kept to drop an excerpt pasted twice (same lines, same stamps).</summary>
    private const int MaxFingerprints = 4096;

    private static readonly Dictionary<ResetFamily, (string Counter, string Reason)[]> s_counterReasons = new()
    {
        [ResetFamily.KeepAliveTimeout] = [("wd_expired", "KEEP_ALIVE_TO"), ("missing_admin_interrupt", "MISSING_ADMIN_INTERRUPT")],
        [ResetFamily.TxCompletionTimeout] = [("missing_tx_cmpl", "MISS_TX_CMPL"), ("suspected_poll_starvation", "SUSPECTED_POLL_STARVATION"), ("missing_intr", "MISS_INTERRUPT"), ("missing_first_intr", "MISS_FIRST_INTERRUPT")],
        [ResetFamily.NetdevWatchdog] = [("os_netdev_wd", "OS_NETDEV_WD"), ("suspected_poll_starvation", "SUSPECTED_POLL_STARVATION")],
        [ResetFamily.UnresponsiveDevice] = [("admin_to", "ADMIN_TO"), ("missing_admin_interrupt", "MISSING_ADMIN_INTERRUPT")],
    };

    private readonly string _file;
    private readonly string? _fallbackHost;
    private readonly Dictionary<string, Open> _open = [];
    private readonly Dictionary<string, Pending> _pending = [];
    private readonly Dictionary<string, Dictionary<string, long>> _lastStats = [];
    private readonly Dictionary<string, string> _busToIf = [];
    private readonly Dictionary<string, string> _ifToBus = [];
    private readonly Dictionary<string, string> _ifToDriver = [];
    private readonly Dictionary<string, RecentDevices> _recent = [];
    private readonly HashSet<string> _fingerprints = [];
    private readonly Dictionary<string, (string Print, int Line)> _lastClosedLine = [];
    private StarvationEvent? _lastRcu;
    private int _lastRcuLine;

    public EventAssembler(string file, string? fallbackHost)
    {
        _file = file;
        _fallbackHost = fallbackHost;
    }

    public List<ScannedReset> Resets { get; } = [];

    public List<PrecursorEvent> Precursors { get; } = [];

    public List<StarvationEvent> Starvations { get; } = [];

    public long StatsDumpLines { get; private set; }

    public long MatchedLines { get; private set; }

    /// <summary>Lines listed with their reason; the rest are only counted.</summary>
    public const int MaxUnusableListed = 100;

    public List<UnusableLine> Unusable { get; } = [];

    public long UnusableCount { get; private set; }

    /// <summary>Every unusable line counted by reason (listed or not).</summary>
    public Dictionary<string, long> UnusableByReason { get; } = new(StringComparer.Ordinal);

    /// <summary>Notes a line that looked like part of an event but could not be used.</summary>
    public void NoteUnusable(int lineNo, string reason, string text)
    {
        UnusableCount++;
        UnusableByReason[reason] = UnusableByReason.GetValueOrDefault(reason) + 1;
        if (Unusable.Count < MaxUnusableListed)
        {
            Unusable.Add(new UnusableLine(lineNo, reason, text.Length > 240 ? text[..240] : text));
        }
    }

    public string? DriverOf(string ifname) => _ifToDriver.GetValueOrDefault(ifname);

    public bool HasNeighbour(string driver, int lineNo) => NeighbourDevice(driver, lineNo).Count > 0;

    public void OnLine(int lineNo, in ShapedLine shaped, LineMatch match)
    {
        if (match.Kind != MatchKind.Signature && match.Kind != MatchKind.StatsDump)
        {
            TryRcuCpu(lineNo, shaped.Body);
            return;
        }

        MatchedLines++;
        if (match.Kind == MatchKind.StatsDump)
        {
            OnStats(match);
            return;
        }

        Signature sig = match.Signature!;
        if (sig.Role == SignatureRole.Starvation)
        {
            OnStarvation(lineNo, shaped, match);
            return;
        }

        if (!TryIdentify(match, lineNo, out string key, out string driver, out string? bus, out string? dev))
        {
            NoteUnusable(lineNo, UnusableReason.NoDevice, shaped.Body);
            return;
        }

        AdoptNameless(key, driver, bus, dev);

        Open? open = FindOpen(key, driver, sig.Role);
        if (open is not null && TooFarApart(open, shaped))
        {
            Close(open);
            open = null;
        }

        if (open is not null ? open.IsDuplicate(shaped) : IsCopyOfLastClosed(key, lineNo, shaped))
        {
            return; // the same line pasted twice (same stamp and text; without stamps, right after itself)
        }

        // Evidence with a family that comes before any reset (MMIO read timeouts at probe time) waits for the next one.
        SignatureRole role = open is null && sig.PrecursorWhenAlone ? SignatureRole.Precursor : sig.Role;
        switch (role)
        {
            case SignatureRole.Precursor:
                Precursors.Add(new PrecursorEvent
                {
                    File = _file,
                    Line = lineNo,
                    Ts = shaped.Ts,
                    Driver = driver,
                    Dev = dev ?? bus,
                    Queue = match.Fields.Queue,
                    Text = shaped.Body,
                });
                Pending p = _pending.TryGetValue(key, out Pending? existing) ? existing : _pending[key] = new Pending();
                p.Merge(match.Fields, sig.Family, lineNo, shaped);
                if (sig.EnaReason is not null || sig.EnaReasonByVersion is not null)
                {
                    p.Contributions.Add(sig);
                }

                break;

            case SignatureRole.Trigger:
                // The driver repeats its checks every tick until the reset starts (e.g. the keep-alive line while
                // "FW isn't responsive" postpones it): a trigger before the start line belongs to the same reset.
                if (open is not null && (open.Started || IsAnotherStall(open, match, shaped)))
                {
                    Close(open);
                    open = null;
                }

                open ??= Begin(key, driver, bus, dev, shaped);
                open.NoteStall(sig, match.Fields, shaped);
                open.TriggerIds.Add(sig.Id);
                open.TriggerText ??= shaped.Body;
                open.TriggerLine ??= lineNo;
                Apply(open, lineNo, shaped, match);
                break;

            case SignatureRole.Start:
                if (open is not null && open.StartIds.Contains(sig.Id))
                {
                    Close(open);
                    open = null;
                }

                open ??= Begin(key, driver, bus, dev, shaped);
                open.Started = true;
                open.StartIds.Add(sig.Id);
                Apply(open, lineNo, shaped, match);
                break;

            case SignatureRole.Detail:
                if (open is not null)
                {
                    Apply(open, lineNo, shaped, match);
                }

                break;

            case SignatureRole.Failure:
                if (open is null && !sig.ImpliesReset)
                {
                    break;
                }

                open ??= Begin(key, driver, bus, dev, shaped);
                open.FailureSeen = true;
                Apply(open, lineNo, shaped, match);
                break;

            case SignatureRole.Completion:
                if (open is null && !sig.ImpliesReset)
                {
                    break;
                }

                open ??= Begin(key, driver, bus, dev, shaped);
                open.Completed = true;
                Apply(open, lineNo, shaped, match);
                if (match.Fields.Status is { } status)
                {
                    open.Status = status;
                }

                Close(open);
                break;

            case SignatureRole.Cancel:
                if (open is not null)
                {
                    // Not a reset after all (gve kicked the queue; ENA dropped the request during suspend): keep the trigger as a precursor.
                    _open.Remove(open.Key);
                    if (open.TriggerLine is { } tl)
                    {
                        Precursors.Add(new PrecursorEvent { File = _file, Line = tl, Ts = open.FirstTs, Driver = open.Driver, Dev = open.Dev ?? open.Bus, Queue = open.Queue, Text = open.TriggerText ?? string.Empty });
                    }
                }

                break;

            default:
                break;
        }
    }

    public void Finish()
    {
        foreach (Open o in _open.Values.ToList())
        {
            Close(o);
        }

        Resets.Sort((a, b) => (a.Event.Line ?? 0).CompareTo(b.Event.Line ?? 0));
        Precursors.Sort((a, b) => (a.Line ?? 0).CompareTo(b.Line ?? 0));
        Starvations.Sort((a, b) => (a.Line ?? 0).CompareTo(b.Line ?? 0));
    }

    /// <summary>Which device the line is about; false for a bare message while two devices of its driver are near.</summary>
    private bool TryIdentify(LineMatch match, int lineNo, out string key, out string driver, out string? bus, out string? dev)
    {
        Signature sig = match.Signature!;
        driver = match.Fields.DriverName ?? match.Prefix.Driver ?? sig.Driver;
        bus = match.Prefix.Bus;
        dev = match.Fields.Ifname ?? match.Prefix.Ifname;
        if (match.DeviceInferred && dev is null && bus is null)
        {
            // A bare message of this driver: its neighbours say which device (the open event, else the device just named).
            (int count, string? nDev, string? nBus) = NeighbourDevice(driver, lineNo);
            if (count > 1)
            {
                key = string.Empty;
                return false;
            }

            (dev, bus) = (nDev, nBus);
        }

        if (dev is null && bus is not null && _busToIf.TryGetValue(bus, out string? known))
        {
            dev = known;
        }

        if (dev is not null && bus is not null)
        {
            _busToIf[bus] = dev;
            _ifToBus[dev] = bus;
        }

        if (bus is null && dev is not null && _ifToBus.TryGetValue(dev, out string? b))
        {
            bus = b;
        }

        if (dev is not null && !match.DeviceInferred)
        {
            _ifToDriver[dev] = driver;
        }

        if (dev is not null || bus is not null)
        {
            if (!_recent.TryGetValue(driver, out RecentDevices? recent))
            {
                _recent[driver] = recent = new RecentDevices();
            }

            recent.Seen(dev, bus, lineNo);
        }

        key = $"{driver}|{dev ?? bus ?? string.Empty}";
        return true;
    }

    /// <summary>A reset whose lines so far named no device (pasted bare) takes the device of the next line of its driver that does.</summary>
    private void AdoptNameless(string key, string driver, string? bus, string? dev)
    {
        if (key.Length > driver.Length + 1 && !_open.ContainsKey(key) && _open.Remove($"{driver}|", out Open? nameless))
        {
            nameless.Adopt(key, bus, dev);
            _open[key] = nameless;
        }
    }

    /// <summary>
    /// A line that names a device of a catalogued driver without being an event line (a counter dump, an info line, a line
    /// cut short): what it says about the device still ties the other lines to it.
    /// </summary>
    public void NoteDevice(string driver, string? bus, string? dev)
    {
        if (bus is null || dev is null)
        {
            return;
        }

        _busToIf[bus] = dev;
        _ifToBus[dev] = bus;
        _ifToDriver[dev] = driver;
        AdoptNameless($"{driver}|{dev}", driver, bus, dev);
    }

    /// <summary>The devices of a driver near a line: the open events of it, else the ones its lines just named (0, 1 or 2 = several).</summary>
    private (int Count, string? Dev, string? Bus) NeighbourDevice(string driver, int lineNo)
    {
        Open? only = null;
        foreach (Open o in _open.Values)
        {
            if (o.Driver == driver)
            {
                if (only is not null)
                {
                    return (2, null, null);
                }

                only = o;
            }
        }

        if (only is not null)
        {
            return (1, only.Dev, only.Bus);
        }

        return _recent.TryGetValue(driver, out RecentDevices? recent) ? recent.Near(lineNo, NeighbourLines) : (0, null, null);
    }

    /// <summary>
    /// A watchdog firing on a queue that transmitted since the open event's firing (its stall began later), or on another
    /// queue, is another stall: the drivers that do not reset (r8169, virtio_net, mtk_soc_eth) fire every ~5 s while one
    /// stall lasts and again for the next.
    /// </summary>
    private static bool IsAnotherStall(Open open, LineMatch match, in ShapedLine shaped)
    {
        LineFields f = match.Fields;
        if (open.StallQueue is not { } q || (!match.Signature!.WatchdogFiring && f.StalledMs is null))
        {
            return false;
        }

        if (f.Queue is { } n && n != q)
        {
            return true;
        }

        if (f.StalledMs is not { } ms || open.LastStalledMs is not { } lastMs)
        {
            return false;
        }

        if (shaped.UptimeUs is { } up && open.LastStallUptime is { } lastUp)
        {
            return Math.Abs((up - (ms * 1000)) - (lastUp - (lastMs * 1000))) > SameStallSlackUs;
        }

        if (shaped.Time is { } t && open.LastStallTime is { } lastT)
        {
            return Math.Abs(((t - lastT).Ticks / 10) - ((ms - lastMs) * 1000)) > SameStallSlackUs;
        }

        // No stamps: one stall only grows (the driver's line of the same firing prints the same figure).
        return ms < lastMs;
    }

    private Open? FindOpen(string key, string driver, SignatureRole role)
    {
        if (_open.TryGetValue(key, out Open? o))
        {
            return o;
        }

        if (role is SignatureRole.Completion or SignatureRole.Failure or SignatureRole.Detail or SignatureRole.Start or SignatureRole.Cancel)
        {
            // A line that names the device differently (bus only, or no device at all): the one open event of that driver.
            Open? only = null;
            foreach (Open candidate in _open.Values)
            {
                if (candidate.Driver == driver)
                {
                    if (only is not null)
                    {
                        return null;
                    }

                    only = candidate;
                }
            }

            string device = key[(key.IndexOf('|', StringComparison.Ordinal) + 1)..];
            if (only is not null && (device.Length == 0 || only.Dev is null || only.Bus == device || only.Dev == device || only.Bus is null))
            {
                return only;
            }
        }

        return null;
    }

    /// <summary>
    /// A line of a device whose reset just closed that repeats the reset's last line: with stamps, the same stamp and text
    /// anywhere after it; without, the same text on the very next line (nothing else can tell a copy from a new line).
    /// </summary>
    private bool IsCopyOfLastClosed(string key, int lineNo, in ShapedLine shaped) =>
        _lastClosedLine.TryGetValue(key, out (string Print, int Line) last) && last.Print == Open.Print(shaped)
        && (IsStamp(shaped.Ts) || lineNo == last.Line + 1);

    /// <summary>A timestamp that tells one moment from another (a dmesg -H delta does not: "+0.000004" recurs).</summary>
    private static bool IsStamp(string? ts) => ts is not null && !ts.StartsWith('+');

    private static bool TooFarApart(Open open, in ShapedLine line)
    {
        if (open.LastTime is { } a && line.Time is { } b)
        {
            return Math.Abs((b - a).Ticks / 10) > MaxGapUs;
        }

        if (open.LastUptime is { } ua && line.UptimeUs is { } ub)
        {
            return ub < ua || ub - ua > MaxGapUs;
        }

        return false;
    }

    private Open Begin(string key, string driver, string? bus, string? dev, in ShapedLine shaped)
    {
        var o = new Open(key, driver, bus, dev) { FirstTs = shaped.Ts };
        _open[key] = o;
        _lastClosedLine.Remove(key);

        // Precursors that named the device, else ones that named only the driver ("ena: Reg read32 timeout occurred").
        if ((_pending.Remove(key, out Pending? p) || _pending.Remove($"{driver}|", out p)) && !p.IsStale(shaped))
        {
            o.FromPrecursors = p;
        }

        return o;
    }

    private static void Apply(Open o, int lineNo, in ShapedLine shaped, LineMatch match)
    {
        Signature sig = match.Signature!;
        o.Lines.Add(lineNo);
        o.Remember(shaped);
        o.LastLine = lineNo;
        o.LastTs = shaped.Ts;
        o.LastTime = shaped.Time ?? o.LastTime;
        o.LastUptime = shaped.UptimeUs ?? o.LastUptime;
        o.Host ??= shaped.Host;
        if (o.Family is null && sig.Family != ResetFamily.Other)
        {
            o.Family = sig.Family;
        }

        if (sig.SuccessEvenOnFailure)
        {
            o.SuccessEvenOnFailure = true;
        }

        if (sig.EnaReason is not null || sig.EnaReasonByVersion is not null)
        {
            o.Contributions.Add(sig);
        }

        LineFields f = match.Fields;
        o.Queue ??= f.Queue;
        o.ThresholdUsec ??= f.ThresholdUsec;
        o.SinceNapiUsec ??= f.SinceNapiUsec;
        o.NapiScheduled ??= f.NapiScheduled;
        o.NapiCpu ??= f.NapiCpu;
        o.DriverVersion ??= f.DriverVersion;
        if (f.StalledMs is { } stalled)
        {
            o.StalledMs = Math.Max(o.StalledMs ?? 0, stalled);
        }

        o.Bus ??= match.Prefix.Bus;
        o.Dev ??= f.Ifname ?? match.Prefix.Ifname;
    }

    private void OnStats(LineMatch match)
    {
        StatsDumpLines++;
        string driver = match.Prefix.Driver ?? string.Empty;
        NoteDevice(driver, match.Prefix.Bus, match.Prefix.Ifname);
        string? dev = match.Prefix.Ifname;
        string? bus = match.Prefix.Bus;
        if (dev is null && bus is not null)
        {
            _busToIf.TryGetValue(bus, out dev);
        }

        string key = $"{driver}|{dev ?? bus ?? string.Empty}";
        if (!_open.TryGetValue(key, out Open? open))
        {
            return;
        }

        string msg = match.Prefix.Message;
        int colon = msg.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && long.TryParse(msg.AsSpan(colon + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            open.Stats ??= [];
            open.Stats[msg[..colon]] = value;
        }
    }

    private void OnStarvation(int lineNo, in ShapedLine shaped, LineMatch match)
    {
        LineFields f = match.Fields;
        var e = new StarvationEvent
        {
            File = _file,
            Line = lineNo,
            Ts = shaped.Ts,
            Type = match.Signature!.StarvationType ?? "other",
            Cpu = f.Cpu,
            Comm = f.Comm,
            Pid = f.Pid,
            DurationS = f.DurationS,
        };
        Starvations.Add(e);
        if (e.Type == "rcu-stall" && e.Cpu is null)
        {
            _lastRcu = e;
            _lastRcuLine = lineNo;
        }
    }

    /// <summary>RCU stall reports name the stalled CPU on the next line(s): "rcu: \t5-....: (...)" or "{ 5}".</summary>
    private void TryRcuCpu(int lineNo, string body)
    {
        if (_lastRcu is null || lineNo - _lastRcuLine > 4)
        {
            return;
        }

        ReadOnlySpan<char> s = body.AsSpan();
        if (s.StartsWith("rcu:", StringComparison.Ordinal))
        {
            s = s[4..];
        }

        s = s.TrimStart();
        int i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }

        if (i > 0 && i < s.Length && s[i] == '-' && int.TryParse(s[..i], NumberStyles.None, CultureInfo.InvariantCulture, out int cpu))
        {
            int idx = Starvations.IndexOf(_lastRcu);
            if (idx >= 0)
            {
                Starvations[idx] = _lastRcu with { Cpu = cpu };
            }

            _lastRcu = null;
        }
    }

    private void Close(Open o)
    {
        _open.Remove(o.Key);

        // What later lines said about the device (a bus-only completion, a counter dump) completes the event's identity.
        if (o.Dev is null && o.Bus is not null && _busToIf.TryGetValue(o.Bus, out string? ifname))
        {
            o.Dev = ifname;
        }

        if (o.Bus is null && o.Dev is not null && _ifToBus.TryGetValue(o.Dev, out string? busOfIf))
        {
            o.Bus = busOfIf;
        }

        if (o.LastPrint is { } lastPrint && _lastClosedLine.Count < MaxFingerprints)
        {
            _lastClosedLine[o.Key] = (lastPrint, o.LastLine);
        }

        ResetOutcome outcome = ResetOutcome.Unknown;
        if (o.FailureSeen)
        {
            outcome = ResetOutcome.Failed;
        }
        else if (o.Status is { } status)
        {
            outcome = status == 0 ? ResetOutcome.Completed : ResetOutcome.Failed;
        }
        else if (o.Completed)
        {
            outcome = ResetOutcome.Completed;
        }

        Pending? pre = o.FromPrecursors;
        var lines = new SortedSet<int>(o.Lines);

        // Per-queue precursors (missing Tx completions) describe the reset's queue only when the reset is about a queue:
        // a keep-alive or admin-queue reset is device-wide, whatever queues were slow just before.
        bool queueReset = o.Family is null or ResetFamily.TxCompletionTimeout or ResetFamily.NetdevWatchdog;
        if (pre is not null && queueReset && (o.Queue is null || pre.Queue is null || pre.Queue == o.Queue))
        {
            // What the event's own lines do not print, the precursors just before it (same device, same queue) may.
            if (o.SinceNapiUsec is null && pre.SinceNapiUsec is not null)
            {
                o.SinceNapiUsec = pre.SinceNapiUsec;
                lines.Add(pre.SinceNapiLine);
            }

            if (o.NapiScheduled is null && pre.NapiScheduled is not null)
            {
                o.NapiScheduled = pre.NapiScheduled;
                lines.Add(pre.NapiScheduledLine);
            }

            if (o.NapiCpu is null && pre.NapiCpu is not null)
            {
                o.NapiCpu = pre.NapiCpu;
                lines.Add(pre.NapiCpuLine);
            }

            if (o.Queue is null && pre.Queue is not null)
            {
                o.Queue = pre.Queue;
                lines.Add(pre.QueueLine);
            }

            if (o.ThresholdUsec is null && pre.ThresholdUsec is not null)
            {
                // "Missing Tx timeout value 5000 msecs" on the missing-Tx lines is the threshold the reset crossed.
                o.ThresholdUsec = pre.ThresholdUsec;
                lines.Add(pre.ThresholdLine);
            }

        }

        if (pre is not null && o.Family is null && pre.Family is { } fam)
        {
            // e.g. e1000e/igb "Detected ... Unit Hang" then "Reset adapter": the hang is the trigger; ENA MMIO read
            // timeouts then "Can not reset device" at probe time: the device did not answer.
            o.Family = fam;
            lines.Add(pre.FamilyLine);
        }

        if (pre is not null)
        {
            o.Contributions.InsertRange(0, pre.Contributions);
        }

        string? enaReason = o.Driver == "ena" ? DecideReason(o) : null;

        // One stall that fired the watchdog again and again is one event, dated by its first firing.
        bool repeated = o.Firings > 1;
        var e = new ResetEvent
        {
            File = _file,
            Line = o.LastLine,
            Ts = repeated ? o.FirstFiringTs : o.LastTs,
            Time = repeated ? o.FirstFiringTime : o.LastTime,
            Host = o.Host ?? _fallbackHost,
            Driver = o.Driver,
            Pci = SignatureMatcher.IsPciAddress(o.Bus) ? o.Bus : null,
            Dev = o.Dev,
            Queue = o.Queue,
            Reason = o.Family ?? ResetFamily.Other,
            EnaReason = enaReason,
            ThresholdUsec = o.ThresholdUsec,
            SinceNapiUsec = o.SinceNapiUsec,
            NapiScheduled = o.NapiScheduled,
            NapiCpu = o.NapiCpu,
            Outcome = outcome,
            DriverVersion = o.DriverVersion,
            Repeats = Math.Max(1, o.Firings),
            LastTs = repeated ? o.LastTs : null,
            StalledMs = o.StalledMs,
            Lines = [.. lines],
        };

        // An excerpt pasted twice gives the same reset twice, stamps and all: keep one. Without stamps the counter dump
        // tells them apart (a second reset moves its counters); with neither, two copies read like a reset loop and stay two.
        string? counters = o.Stats is null ? null : string.Join(',', o.Stats.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        if ((IsStamp(e.Ts) && IsStamp(o.FirstTs)) || counters is not null)
        {
            string print = string.Join('|', o.Key, o.FirstTs, e.Ts, o.TriggerText, e.Reason, e.Outcome, e.Queue, o.Lines.Count, counters);
            if (_fingerprints.Contains(print))
            {
                return;
            }

            if (_fingerprints.Count < MaxFingerprints)
            {
                _fingerprints.Add(print);
            }
        }

        Resets.Add(new ScannedReset(e, repeated ? o.FirstFiringUptime : o.LastUptime));
        if (o.Stats is not null)
        {
            _lastStats[o.Key] = o.Stats;
        }
    }

    private string? DecideReason(Open o)
    {
        Signature? best = null;
        string? bestReason = null;
        foreach (Signature s in o.Contributions)
        {
            string? r = s.ReasonFor(o.DriverVersion);
            bool versionKnown = DriverVersion.TryParse(o.DriverVersion, out _);
            if (r is null && s.EnaReasonByVersion is not null && versionKnown)
            {
                continue; // this version does not imply a reason with that line
            }

            if (best is null || s.ReasonPriority > best.ReasonPriority)
            {
                best = s;
                bestReason = r;
            }
        }

        if (best is not null)
        {
            return bestReason;
        }

        // No line names the reason: the per-reason counters of the stats dump (2.10.0+) can.
        if (o.Stats is null || o.Family is not { } family || !s_counterReasons.TryGetValue(family, out (string Counter, string Reason)[]? candidates))
        {
            return null;
        }

        _lastStats.TryGetValue(o.Key, out Dictionary<string, long>? previous);
        string? found = null;
        int hits = 0;
        foreach ((string counter, string reason) in candidates)
        {
            if (!o.Stats.TryGetValue(counter, out long now))
            {
                continue;
            }

            long before = previous is not null && previous.TryGetValue(counter, out long b) ? b : 0;
            if (now > before)
            {
                found = reason;
                hits++;
            }
        }

        return hits == 1 ? found : null;
    }

    private sealed class Open(string key, string driver, string? bus, string? dev)
    {
        public string Key { get; private set; } = key;
        public string Driver { get; } = driver;
        public string? Bus { get; set; } = bus;
        public string? Dev { get; set; } = dev;
        public List<int> Lines { get; } = [];
        public HashSet<string> TriggerIds { get; } = [];
        public HashSet<string> StartIds { get; } = [];
        public List<Signature> Contributions { get; } = [];
        public string? TriggerText { get; set; }
        public int? TriggerLine { get; set; }
        public bool Started { get; set; }
        public bool Completed { get; set; }
        public bool FailureSeen { get; set; }
        public bool SuccessEvenOnFailure { get; set; }
        public long? Status { get; set; }
        public ResetFamily? Family { get; set; }
        public int? Queue { get; set; }
        public long? ThresholdUsec { get; set; }
        public long? SinceNapiUsec { get; set; }
        public bool? NapiScheduled { get; set; }
        public int? NapiCpu { get; set; }
        public string? DriverVersion { get; set; }
        public string? Host { get; set; }
        public string? FirstTs { get; set; }
        public int LastLine { get; set; }
        public string? LastTs { get; set; }
        public DateTimeOffset? LastTime { get; set; }
        public long? LastUptime { get; set; }
        public Dictionary<string, long>? Stats { get; set; }
        public Pending? FromPrecursors { get; set; }
        public long? StalledMs { get; set; }

        /// <summary>Kernel NETDEV WATCHDOG lines folded into this event, and the first of them.</summary>
        public int Firings { get; private set; }
        public string? FirstFiringTs { get; private set; }
        public DateTimeOffset? FirstFiringTime { get; private set; }
        public long? FirstFiringUptime { get; private set; }

        /// <summary>The stall the event is about (queue, length and when it was printed), from its latest watchdog line.</summary>
        public int? StallQueue { get; private set; }
        public long? LastStalledMs { get; private set; }
        public long? LastStallUptime { get; private set; }
        public DateTimeOffset? LastStallTime { get; private set; }

        private HashSet<string>? _seen;

        public void NoteStall(Signature sig, LineFields f, in ShapedLine shaped)
        {
            // Without stamps the same figure again is the same firing pasted twice, not a later one.
            bool again = f.StalledMs is { } same && same == LastStalledMs && shaped.UptimeUs is null && shaped.Time is null;
            if (sig.WatchdogFiring && !again)
            {
                if (Firings++ == 0)
                {
                    FirstFiringTs = shaped.Ts;
                    FirstFiringTime = shaped.Time;
                    FirstFiringUptime = shaped.UptimeUs;
                }
            }

            if (sig.WatchdogFiring || f.StalledMs is not null)
            {
                StallQueue = f.Queue ?? StallQueue;
                if (f.StalledMs is { } ms)
                {
                    LastStalledMs = ms;
                    LastStallUptime = shaped.UptimeUs;
                    LastStallTime = shaped.Time;
                }
            }
        }

        /// <summary>
        /// True for a line already in the event with the same stamp (a paste repeated), or, without stamps, the same text as
        /// the event's line just before it (no driver prints a reset line twice in a row).
        /// </summary>
        public bool IsDuplicate(in ShapedLine shaped) => IsStamp(shaped.Ts)
            ? _seen is not null && _seen.Contains(shaped.Ts + "\n" + shaped.Body)
            : shaped.Body == _lastBody;

        private string? _lastBody;

        /// <summary>The event's last line as <see cref="Print"/> gives it.</summary>
        public string? LastPrint { get; private set; }

        /// <summary>A line's identity for telling a pasted copy: stamp and text, or the text alone when there is no stamp.</summary>
        public static string Print(in ShapedLine shaped) => IsStamp(shaped.Ts) ? shaped.Ts + "\n" + shaped.Body : shaped.Body;

        public void Adopt(string key, string? bus, string? dev)
        {
            Key = key;
            Bus ??= bus;
            Dev ??= dev;
        }

        public void Remember(in ShapedLine shaped)
        {
            _lastBody = shaped.Body;
            LastPrint = Print(shaped);
            if (IsStamp(shaped.Ts))
            {
                (_seen ??= new HashSet<string>(StringComparer.Ordinal)).Add(shaped.Ts + "\n" + shaped.Body);
            }
        }
    }

    private sealed class Pending
    {
        private DateTimeOffset? _time;
        private long? _uptime;

        public int? Queue { get; private set; }
        public long? ThresholdUsec { get; private set; }
        public int ThresholdLine { get; private set; }
        public long? SinceNapiUsec { get; private set; }
        public bool? NapiScheduled { get; private set; }
        public int? NapiCpu { get; private set; }
        public ResetFamily? Family { get; private set; }
        public int QueueLine { get; private set; }
        public int SinceNapiLine { get; private set; }
        public int NapiScheduledLine { get; private set; }
        public int NapiCpuLine { get; private set; }
        public int FamilyLine { get; private set; }
        public List<Signature> Contributions { get; } = [];

        public void Merge(LineFields f, ResetFamily family, int lineNo, in ShapedLine shaped)
        {
            // The latest precursor describes the state closest to the reset.
            if (f.Queue is { } q)
            {
                Queue = q;
                QueueLine = lineNo;
            }

            if (f.SinceNapiUsec is { } sn)
            {
                SinceNapiUsec = sn;
                SinceNapiLine = lineNo;
            }

            if (f.ThresholdUsec is { } th)
            {
                ThresholdUsec = th;
                ThresholdLine = lineNo;
            }

            if (f.NapiScheduled is { } ns)
            {
                NapiScheduled = ns;
                NapiScheduledLine = lineNo;
            }

            if (f.NapiCpu is { } cpu)
            {
                NapiCpu = cpu;
                NapiCpuLine = lineNo;
            }

            if (family != ResetFamily.Other)
            {
                Family = family;
                FamilyLine = lineNo;
            }

            _time = shaped.Time ?? _time;
            _uptime = shaped.UptimeUs ?? _uptime;
        }

        public bool IsStale(in ShapedLine now)
        {
            if (_time is { } a && now.Time is { } b)
            {
                return Math.Abs((b - a).Ticks / 10) > MaxGapUs;
            }

            if (_uptime is { } ua && now.UptimeUs is { } ub)
            {
                return ub < ua || ub - ua > MaxGapUs;
            }

            return false;
        }
    }

    /// <summary>The last two devices a driver's lines named, and where.</summary>
    private sealed class RecentDevices
    {
        private (string? Dev, string? Bus, int Line) _last;
        private (string? Dev, string? Bus, int Line) _before;

        public void Seen(string? dev, string? bus, int lineNo)
        {
            if ((_last.Dev ?? _last.Bus) != (dev ?? bus))
            {
                _before = _last;
            }

            _last = (dev, bus, lineNo);
        }

        public (int Count, string? Dev, string? Bus) Near(int lineNo, int window)
        {
            bool last = _last.Line > 0 && Math.Abs(lineNo - _last.Line) <= window;
            bool before = _before.Line > 0 && Math.Abs(lineNo - _before.Line) <= window;
            return last && before ? (2, null, null) : last ? (1, _last.Dev, _last.Bus) : (0, null, null);
        }
    }
}
