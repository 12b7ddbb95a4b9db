using System.Text;
using ResetScope.Core;
using ResetScope.Host.Kmsg;
using ResetScope.KernelLog;

namespace ResetScope.Agent.Service;

/// <summary>A reset as the watcher sees it now: the event so far and the kmsg sequence numbers of its lines.</summary>
public sealed record WatchedReset(string Key, ResetEvent Event, ulong FirstSequence, IReadOnlyList<ulong> Sequences);

/// <summary>What one rescan found that had not been reported before (resets are reported whenever they change).</summary>
public sealed record WatchResult(IReadOnlyList<WatchedReset> Resets, IReadOnlyList<(StarvationEvent Event, ulong Sequence)> Starvations, IReadOnlyList<(PrecursorEvent Event, ulong Sequence)> Precursors);

/// <summary>
/// Finds resets in the kernel log as it arrives: keeps the recent kernel records (150 s, at most 20,000) and,
/// after new ones arrive, re-runs the same scanner <c>scan</c> uses over them — a reset spans several records
/// (trigger, reset start, stats dump, completion), and re-scanning the recent lines assembles it exactly as a
/// scan of the whole log would. Events are identified by their first record's sequence number.
/// </summary>
public sealed class KernelEventWatcher
{
    // The assembler never joins lines more than 120 s apart into one reset: a little more than that is enough.
    private const long KeepUs = 150_000_000;
    private const int KeepRecords = 20_000;

    private readonly List<KmsgRecord> _records = [];
    private readonly Dictionary<string, ResetEvent> _resets = [];
    private readonly HashSet<ulong> _starvations = [];
    private readonly HashSet<ulong> _precursors = [];

    public int Held => _records.Count;

    /// <summary>The kernel's time stamp (µs since boot) of a held record, or null when it is no longer held.</summary>
    public long? TimestampOf(ulong sequence)
    {
        int lo = 0;
        int hi = _records.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ulong s = _records[mid].Sequence;
            if (s == sequence)
            {
                return _records[mid].TimestampUs;
            }

            if (s < sequence)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return null;
    }

    /// <summary>Adds a record the caller trusts as the kernel's.</summary>
    public void Add(in KmsgRecord record)
    {
        _records.Add(record);
        long horizon = record.TimestampUs - KeepUs;
        int drop = 0;
        while (drop < _records.Count - 1 && (_records[drop].TimestampUs < horizon || _records.Count - drop > KeepRecords))
        {
            drop++;
        }

        if (drop > 0)
        {
            _records.RemoveRange(0, drop);
        }
    }

    /// <summary>Re-scans the held records; returns resets that are new or changed, and new starvation and precursor events.</summary>
    public WatchResult Rescan()
    {
        var text = new StringBuilder();
        var lineToSeq = new List<ulong> { 0 }; // line numbers are 1-based
        foreach (KmsgRecord r in _records)
        {
            int lines = r.AppendAsDmesg(text);
            for (int i = 0; i < lines; i++)
            {
                lineToSeq.Add(r.Sequence);
            }
        }

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text.ToString()));
        ScanReport? report = ScanRunner.Scan(["-"], new ScanOptions { Format = LogFormat.Auto, Parallelism = 1 }, TextWriter.Null, stream);
        var resets = new List<WatchedReset>();
        var starvations = new List<(StarvationEvent, ulong)>();
        var precursors = new List<(PrecursorEvent, ulong)>();
        if (report is null)
        {
            return new WatchResult(resets, starvations, precursors);
        }

        ulong Seq(int? line) => line is int l && l > 0 && l < lineToSeq.Count ? lineToSeq[l] : 0;

        foreach (ScannedReset scanned in report.Resets)
        {
            ResetEvent e = scanned.Event;
            List<ulong> seqs = e.Lines.Select(l => Seq(l)).Distinct().ToList();
            ulong first = seqs.Count > 0 ? seqs.Min() : Seq(e.Line);
            ResetEvent located = e with { File = "/dev/kmsg", Line = (int)Math.Min(first, int.MaxValue), Lines = seqs.Select(s => (int)Math.Min(s, int.MaxValue)).ToList() };
            string key = $"{e.Driver}|{e.Dev ?? e.Pci}|{first}";
            if (!_resets.TryGetValue(key, out ResetEvent? known) || !Same(known, located))
            {
                _resets[key] = located;
                resets.Add(new WatchedReset(key, located, first, seqs));
            }
        }

        foreach (StarvationEvent s in report.Starvations)
        {
            ulong seq = Seq(s.Line);
            if (_starvations.Add(seq))
            {
                starvations.Add((s with { File = "/dev/kmsg", Line = (int)Math.Min(seq, int.MaxValue) }, seq));
            }
        }

        foreach (PrecursorEvent p in report.Precursors)
        {
            ulong seq = Seq(p.Line);
            if (_precursors.Add(seq))
            {
                precursors.Add((p with { File = "/dev/kmsg", Line = (int)Math.Min(seq, int.MaxValue) }, seq));
            }
        }

        // Forget events whose records have left the window: their keys cannot come back.
        ulong oldest = _records.Count > 0 ? _records[0].Sequence : 0;
        foreach (string key in _resets.Where(kv => (ulong)(kv.Value.Line ?? 0) < oldest).Select(kv => kv.Key).ToList())
        {
            _resets.Remove(key);
        }

        _starvations.RemoveWhere(s => s < oldest);
        _precursors.RemoveWhere(s => s < oldest);
        return new WatchResult(resets, starvations, precursors);
    }

    private static bool Same(ResetEvent a, ResetEvent b) => a with { Lines = [] } == b with { Lines = [] } && a.Lines.SequenceEqual(b.Lines);
}
