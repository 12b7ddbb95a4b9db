using System.Globalization;
using System.Text;
using ResetScope.Core;

namespace ResetScope.KernelLog;

/// <summary>A reset found in a record stream: in flight (<see cref="Closed"/> false, it may still change) or ended.</summary>
/// <param name="Id">The same for every version of one reset.</param>
/// <param name="Event">The event as <c>scan</c> would report it, with <c>line</c>/<c>lines</c> the records' sequence numbers.</param>
/// <param name="FirstSequence">The oldest record the event is made of.</param>
/// <param name="LastUptimeUs">The kernel time stamp of its newest record.</param>
public readonly record struct AssembledReset(long Id, ResetEvent Event, ulong FirstSequence, long? LastUptimeUs, bool Closed);

/// <summary>What records fed since the last <see cref="KernelRecordAssembler.Take"/> changed. Reused by the caller.</summary>
public sealed class AssemblerChanges
{
    public List<AssembledReset> Resets { get; } = [];

    /// <summary>Resets reported in flight that ended without an event (a cancelled reset request, a duplicate).</summary>
    public List<long> Withdrawn { get; } = [];

    public List<(StarvationEvent Event, ulong Sequence)> Starvations { get; } = [];

    public List<(PrecursorEvent Event, ulong Sequence)> Precursors { get; } = [];

    public bool IsEmpty => Resets.Count == 0 && Withdrawn.Count == 0 && Starvations.Count == 0 && Precursors.Count == 0;

    public void Clear()
    {
        Resets.Clear();
        Withdrawn.Clear();
        Starvations.Clear();
        Precursors.Clear();
    }
}

/// <summary>
/// The scanner over a live stream of kernel records (/dev/kmsg, the journal): each record goes through the same line
/// path and the same <see cref="EventAssembler"/> as a line of a file given to <c>scan</c>, once, when it arrives — O(1)
/// per record, no record kept. Records without a needle are counted and cost a prefilter pass over their bytes, nothing
/// more. The assembler's state is bounded (see <see cref="EventAssembler.MaxDevices"/>); what it finished is handed out
/// by <see cref="Take"/> and not kept. Line numbers are the records' sequence numbers, so an event's lines say which
/// records it is made of. Not thread-safe.
/// </summary>
public sealed class KernelRecordAssembler
{
    private readonly string _source;
    private readonly LogScanner _scanner = new(LogFormat.Kmsg);
    private readonly List<ScannedReset> _finished = [];
    private readonly List<ScannedReset> _inFlight = [];
    private readonly List<PrecursorEvent> _precursors = [];
    private readonly List<StarvationEvent> _starvations = [];
    private LogScanner.ScanState _state;
    private ulong _base;
    private bool _started;
    private int _lastLine;
    private long _lastUptime;
    private bool _ended;

    public KernelRecordAssembler(string source = "/dev/kmsg")
    {
        _source = source;
        _state = NewState();
    }

    /// <summary>Records fed.</summary>
    public long Records { get; private set; }

    /// <summary>Records the prefilter passed on to the parser.</summary>
    public long CandidateRecords { get; private set; }

    /// <summary>Resets open now.</summary>
    public int OpenResets => _state.Assembler.OpenCount;

    /// <summary>Entries the assembler's caps refused (devices, open resets, lines per reset); see <see cref="EventAssembler.MaxDevices"/>.</summary>
    public long CappedEntries => _capped + _state.Assembler.CappedEntries;

    private long _capped;

    /// <summary>One record: its sequence number, kernel time stamp (µs since boot) and text as /dev/kmsg prints it (\xNN-escaped).</summary>
    public void Feed(ulong sequence, long timestampUs, ReadOnlySpan<byte> escapedText)
    {
        Records++;
        if (!LogScanner.IsCandidate(escapedText))
        {
            return; // a needle never spans an escape: every needle is printable ASCII
        }

        FeedCandidate(sequence, timestampUs, KmsgEscapes.Decode(escapedText));
    }

    /// <summary>
    /// Moves into <paramref name="changes"/> what the records fed since the last call finished or changed: resets in flight
    /// (as they read now), ended ones, withdrawn ones, starvation and precursor lines. With <paramref name="uptimeUs"/>
    /// (the kernel clock now), resets idle longer than the assembler's gap are ended first.
    /// </summary>
    public void Take(AssemblerChanges changes, long? uptimeUs = null)
    {
        EventAssembler assembler = _state.Assembler;
        if (uptimeUs is { } now)
        {
            assembler.CloseIdle(now);
        }

        _finished.Clear();
        _inFlight.Clear();
        _precursors.Clear();
        _starvations.Clear();
        assembler.TakeFinished(_finished, _precursors, _starvations, _ended ? int.MaxValue : _lastLine, uptimeUs ?? _lastUptime);
        assembler.TakeInFlight(_inFlight, changes.Withdrawn);
        foreach (ScannedReset r in _finished)
        {
            changes.Resets.Add(Located(r, closed: true));
        }

        foreach (ScannedReset r in _inFlight)
        {
            changes.Resets.Add(Located(r, closed: false));
        }

        foreach (StarvationEvent s in _starvations)
        {
            ulong seq = Sequence(s.Line);
            changes.Starvations.Add((s with { File = _source, Line = Clamp(seq) }, seq));
        }

        foreach (PrecursorEvent p in _precursors)
        {
            ulong seq = Sequence(p.Line);
            changes.Precursors.Add((p with { File = _source, Line = Clamp(seq) }, seq));
        }
    }

    /// <summary>Ends every reset in flight (the stream stopped); <see cref="Take"/> then hands them out.</summary>
    public void Finish()
    {
        _state.Assembler.Finish();
        _ended = true; // nothing more can complete what is held back (an RCU stall's CPU line)
    }

    private void FeedCandidate(ulong sequence, long timestampUs, string text)
    {
        _ended = false;
        int lineNo = LineOf(sequence);
        CandidateRecords++;
        _lastUptime = timestampUs;
        string ts = Stamp(timestampUs);
        int start = 0;
        while (true)
        {
            // A record with embedded newlines reads as dmesg prints it: one line per line of text, each with the stamp.
            int nl = text.IndexOf('\n', start);
            string piece = nl < 0 ? (start == 0 ? text : text[start..]) : text[start..nl];
            if (nl < 0 && start == 0 || LogScanner.IsCandidate(Encoding.UTF8.GetBytes(piece)))
            {
                string body = LineShape.Clean(piece);
                _scanner.HandleRecordLine(_state, lineNo, new ShapedLine(body, ts, null, timestampUs, null, true));
            }

            if (nl < 0)
            {
                break;
            }

            start = nl + 1;
        }
    }

    private int LineOf(ulong sequence)
    {
        if (!_started)
        {
            _started = true;
            _base = sequence;
        }

        if (sequence < _base || sequence - _base >= int.MaxValue - 1)
        {
            // A stream that restarted its numbering, or 2^31 records in one run: begin again (device ties are lost).
            _capped++;
            _state.Assembler.Finish();
            _state.Assembler.TakeFinished(_finished, _precursors, _starvations, int.MaxValue, null);
            _finished.Clear();
            _precursors.Clear();
            _starvations.Clear();
            _state = NewState();
            _base = sequence;
        }

        int line = (int)(sequence - _base) + 1;
        _lastLine = Math.Max(_lastLine, line);
        return line;
    }

    private LogScanner.ScanState NewState() => new(_source, null, trackInFlight: true) { Format = LogFormat.Kmsg };

    private ulong Sequence(int? line) => line is int l and > 0 ? _base + (ulong)(l - 1) : _base;

    private static int Clamp(ulong sequence) => (int)Math.Min(sequence, int.MaxValue);

    private AssembledReset Located(ScannedReset r, bool closed)
    {
        ResetEvent e = r.Event;
        ulong first = e.Lines.Count > 0 ? Sequence(e.Lines[0]) : Sequence(e.Line);
        var lines = new List<int>(e.Lines.Count);
        foreach (int l in e.Lines)
        {
            lines.Add(Clamp(Sequence(l)));
        }

        return new AssembledReset(r.Id, e with { File = _source, Line = Clamp(first), Lines = lines }, first, r.LastUptimeUs, closed);
    }

    /// <summary>The stamp as dmesg prints it inside the brackets, so an event reads the same as from a scan of dmesg's output.</summary>
    private static string Stamp(long us) => string.Create(CultureInfo.InvariantCulture, $"{us / 1_000_000}.{us % 1_000_000:D6}");
}
