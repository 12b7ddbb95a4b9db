using System.Globalization;
using ResetScope.Core;

namespace ResetScope.KernelLog;

/// <summary>A reset as found, plus what cadence and a live reader need that the JSON does not carry.</summary>
public sealed record ScannedReset(ResetEvent Event, long? UptimeUs)
{
    /// <summary>Which reset this is within one assembler: the same while it is in flight and once it is closed.</summary>
    public long Id { get; init; }

    /// <summary>The kernel time stamp (µs since boot) of the reset's newest line, when lines carry one.</summary>
    public long? LastUptimeUs { get; init; }
}

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

    /// <summary>
    /// Devices (and driver|device keys) remembered in each identity map, resets open at once, and line numbers and
    /// stamped lines kept per open reset: no input, however long or strange, grows the assembler past these. A new
    /// device past the cap is not remembered (its lines still make events; only the cross-line ties are lost); a reset
    /// opened past the cap closes the one idle longest.
    /// </summary>
    internal const int MaxDevices = 1024;

    internal const int MaxOpen = 256;

    internal const int MaxLinesPerReset = 512;

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
    private readonly List<long> _withdrawn = [];
    private StarvationEvent? _lastRcu;
    private int _lastRcuLine;
    private long? _lastRcuUptime;
    private long _nextId = 1;

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

    /// <summary>
    /// For a live reader: keep the ids of resets that were open and then ended without an event (cancelled, or a copy of
    /// one already closed), to be taken with <see cref="TakeInFlight"/>. Off for files (nobody saw them open).
    /// </summary>
    public bool TrackInFlight { get; init; }

    /// <summary>Entries refused by the caps (<see cref="MaxDevices"/>, <see cref="MaxOpen"/>, <see cref="MaxLinesPerReset"/>).</summary>
    public long CappedEntries { get; private set; }

    /// <summary>Resets open now.</summary>
    public int OpenCount => _open.Count;

    /// <summary>
    /// The resets in flight whose lines changed since the last call, as they read now, and the ids of those that ended
    /// without an event (see <see cref="TrackInFlight"/>).
    /// </summary>
    public void TakeInFlight(List<ScannedReset> changed, List<long> withdrawn)
    {
        foreach (Open o in _open.Values)
        {
            if (o.Dirty)
            {
                o.Dirty = false;
                changed.Add(Build(o));
            }
        }

        withdrawn.AddRange(_withdrawn);
        _withdrawn.Clear();
    }

    /// <summary>
    /// Closes the resets whose newest line is more than the assembler's gap (120 s) older than <paramref name="uptimeUs"/>:
    /// no later line can join them, so a live reader need not wait for the next line of the device to see them end.
    /// </summary>
    public void CloseIdle(long uptimeUs)
    {
        List<Open>? idle = null;
        foreach (Open o in _open.Values)
        {
            if (o.LastUptime is { } last && uptimeUs - last > MaxGapUs)
            {
                (idle ??= []).Add(o);
            }
        }

        if (idle is not null)
        {
            foreach (Open o in idle)
            {
                Close(o);
            }
        }
    }

    /// <summary>
    /// Moves the events finished so far into the lists (a live reader's way to keep the assembler small). An RCU stall
    /// report whose CPU line may still follow (within four lines of it, <paramref name="lineNo"/> being the newest line
    /// fed, and printed in the same burst) stays until that line came, or until <paramref name="uptimeUs"/> is a second
    /// past it.
    /// </summary>
    public void TakeFinished(List<ScannedReset> resets, List<PrecursorEvent> precursors, List<StarvationEvent> starvations, int lineNo, long? uptimeUs)
    {
        resets.AddRange(Resets);
        Resets.Clear();
        precursors.AddRange(Precursors);
        Precursors.Clear();
        bool holdRcu = _lastRcu is not null && lineNo - _lastRcuLine <= 4 && !(uptimeUs is { } now && _lastRcuUptime is { } at && now - at > 1_000_000);
        StarvationEvent? held = null;
        foreach (StarvationEvent e in Starvations)
        {
            if (holdRcu && ReferenceEquals(e, _lastRcu))
            {
                held = e;
            }
            else
            {
                starvations.Add(e);
            }
        }

        Starvations.Clear();
        if (held is not null)
        {
            Starvations.Add(held);
        }
        else
        {
            _lastRcu = null;
        }
    }

    private void Withdraw(Open o)
    {
        if (TrackInFlight)
        {
            _withdrawn.Add(o.Id);
        }
    }

    /// <summary>Sets a map entry unless it is a new key past <see cref="MaxDevices"/> (counted).</summary>
    private void Remember<TValue>(Dictionary<string, TValue> map, string key, TValue value)
    {
        if (map.Count >= MaxDevices && !map.ContainsKey(key))
        {
            CappedEntries++;
            return;
        }

        map[key] = value;
    }

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
                if (!_pending.TryGetValue(key, out Pending? p))
                {
                    p = new Pending();
                    Remember(_pending, key, p);
                }

                p.Merge(match.Fields, sig.Family, lineNo, shaped);
                if ((sig.EnaReason is not null || sig.EnaReasonByVersion is not null) && !p.Contributions.Contains(sig))
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
                    Withdraw(open);
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
            Remember(_busToIf, bus, dev);
            Remember(_ifToBus, dev, bus);
        }

        if (bus is null && dev is not null && _ifToBus.TryGetValue(dev, out string? b))
        {
            bus = b;
        }

        if (dev is not null && !match.DeviceInferred)
        {
            Remember(_ifToDriver, dev, driver);
        }

        if (dev is not null || bus is not null)
        {
            if (!_recent.TryGetValue(driver, out RecentDevices? recent))
            {
                recent = new RecentDevices();
                Remember(_recent, driver, recent);
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

        Remember(_busToIf, bus, dev);
        Remember(_ifToBus, dev, bus);
        Remember(_ifToDriver, dev, driver);
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
        if (_open.Count >= MaxOpen)
        {
            CloseLongestIdle();
        }

        var o = new Open(key, driver, bus, dev) { FirstTs = shaped.Ts, Id = _nextId++ };
        _open[key] = o;
        _lastClosedLine.Remove(key);

        // Precursors that named the device, else ones that named only the driver ("ena: Reg read32 timeout occurred").
        if ((_pending.Remove(key, out Pending? p) || _pending.Remove($"{driver}|", out p)) && !p.IsStale(shaped))
        {
            o.FromPrecursors = p;
        }

        return o;
    }

    /// <summary>Past <see cref="MaxOpen"/> open resets, the one whose newest line is oldest ends as it stands.</summary>
    private void CloseLongestIdle()
    {
        Open? oldest = null;
        foreach (Open o in _open.Values)
        {
            if (oldest is null || o.LastLine < oldest.LastLine)
            {
                oldest = o;
            }
        }

        if (oldest is not null)
        {
            CappedEntries++;
            Close(oldest);
        }
    }

    private static void Apply(Open o, int lineNo, in ShapedLine shaped, LineMatch match)
    {
        Signature sig = match.Signature!;
        o.Dirty = true;
        if (o.Lines.Count < MaxLinesPerReset)
        {
            o.Lines.Add(lineNo);
        }

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

        if ((sig.EnaReason is not null || sig.EnaReasonByVersion is not null) && !o.Contributions.Contains(sig))
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
            string name = msg[..colon];
            if (open.Stats.Count < MaxLinesPerReset || open.Stats.ContainsKey(name))
            {
                open.Stats[name] = value;
            }
            else
            {
                CappedEntries++;
            }
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
            _lastRcuUptime = shaped.UptimeUs;
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
        if (o.LastPrint is { } lastPrint && _lastClosedLine.Count < MaxFingerprints)
        {
            _lastClosedLine[o.Key] = (lastPrint, o.LastLine);
        }

        ScannedReset built = Build(o);
        ResetEvent e = built.Event;

        // An excerpt pasted twice gives the same reset twice, stamps and all: keep one. Without stamps the counter dump
        // tells them apart (a second reset moves its counters); with neither, two copies read like a reset loop and stay two.
        string? counters = o.Stats is null ? null : string.Join(',', o.Stats.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        if ((IsStamp(e.Ts) && IsStamp(o.FirstTs)) || counters is not null)
        {
            string print = string.Join('|', o.Key, o.FirstTs, e.Ts, o.TriggerText, e.Reason, e.Outcome, e.Queue, o.Lines.Count, counters);
            if (_fingerprints.Contains(print))
            {
                Withdraw(o);
                return;
            }

            if (_fingerprints.Count < MaxFingerprints)
            {
                _fingerprints.Add(print);
            }
        }

        Resets.Add(built);
        if (o.Stats is not null && (_lastStats.Count < MaxDevices || _lastStats.ContainsKey(o.Key)))
        {
            _lastStats[o.Key] = o.Stats;
        }
    }

    /// <summary>
    /// The event an open reset makes as of now — what <see cref="Close"/> stores, and what a live reader is shown while
    /// the reset is in flight. Reads the open reset and the device maps; changes neither.
    /// </summary>
    private ScannedReset Build(Open o)
    {
        // What later lines said about the device (a bus-only completion, a counter dump) completes the event's identity.
        string? dev = o.Dev;
        string? bus = o.Bus;
        if (dev is null && bus is not null && _busToIf.TryGetValue(bus, out string? ifname))
        {
            dev = ifname;
        }

        if (bus is null && dev is not null && _ifToBus.TryGetValue(dev, out string? busOfIf))
        {
            bus = busOfIf;
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
        long? sinceNapi = o.SinceNapiUsec;
        bool? napiScheduled = o.NapiScheduled;
        int? napiCpu = o.NapiCpu;
        int? queue = o.Queue;
        long? threshold = o.ThresholdUsec;
        ResetFamily? family = o.Family;

        // Per-queue precursors (missing Tx completions) describe the reset's queue only when the reset is about a queue:
        // a keep-alive or admin-queue reset is device-wide, whatever queues were slow just before.
        bool queueReset = family is null or ResetFamily.TxCompletionTimeout or ResetFamily.NetdevWatchdog;
        if (pre is not null && queueReset && (queue is null || pre.Queue is null || pre.Queue == queue))
        {
            // What the event's own lines do not print, the precursors just before it (same device, same queue) may.
            if (sinceNapi is null && pre.SinceNapiUsec is not null)
            {
                sinceNapi = pre.SinceNapiUsec;
                lines.Add(pre.SinceNapiLine);
            }

            if (napiScheduled is null && pre.NapiScheduled is not null)
            {
                napiScheduled = pre.NapiScheduled;
                lines.Add(pre.NapiScheduledLine);
            }

            if (napiCpu is null && pre.NapiCpu is not null)
            {
                napiCpu = pre.NapiCpu;
                lines.Add(pre.NapiCpuLine);
            }

            if (queue is null && pre.Queue is not null)
            {
                queue = pre.Queue;
                lines.Add(pre.QueueLine);
            }

            if (threshold is null && pre.ThresholdUsec is not null)
            {
                // "Missing Tx timeout value 5000 msecs" on the missing-Tx lines is the threshold the reset crossed.
                threshold = pre.ThresholdUsec;
                lines.Add(pre.ThresholdLine);
            }
        }

        if (pre is not null && family is null && pre.Family is { } fam)
        {
            // e.g. e1000e/igb "Detected ... Unit Hang" then "Reset adapter": the hang is the trigger; ENA MMIO read
            // timeouts then "Can not reset device" at probe time: the device did not answer.
            family = fam;
            lines.Add(pre.FamilyLine);
        }

        string? enaReason = o.Driver == "ena" ? DecideReason(o, family, pre) : null;

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
            Pci = SignatureMatcher.IsPciAddress(bus) ? bus : null,
            Dev = dev,
            Queue = queue,
            Reason = family ?? ResetFamily.Other,
            EnaReason = enaReason,
            ThresholdUsec = threshold,
            SinceNapiUsec = sinceNapi,
            NapiScheduled = napiScheduled,
            NapiCpu = napiCpu,
            Outcome = outcome,
            DriverVersion = o.DriverVersion,
            Repeats = Math.Max(1, o.Firings),
            LastTs = repeated ? o.LastTs : null,
            StalledMs = o.StalledMs,
            Lines = [.. lines],
        };
        return new ScannedReset(e, repeated ? o.FirstFiringUptime : o.LastUptime) { Id = o.Id, LastUptimeUs = o.LastUptime };
    }

    private string? DecideReason(Open o, ResetFamily? family, Pending? pre)
    {
        Signature? best = null;
        string? bestReason = null;
        IEnumerable<Signature> contributions = pre is null ? o.Contributions : pre.Contributions.Concat(o.Contributions);
        foreach (Signature s in contributions)
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
        if (o.Stats is null || family is not { } fam || !s_counterReasons.TryGetValue(fam, out (string Counter, string Reason)[]? candidates))
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
        public long Id { get; init; }

        /// <summary>A line was applied since a live reader last took the reset.</summary>
        public bool Dirty { get; set; }

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
            if (IsStamp(shaped.Ts) && (_seen is null || _seen.Count < MaxLinesPerReset))
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
