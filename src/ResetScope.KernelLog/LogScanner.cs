using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Unicode;
using ResetScope.Core;

namespace ResetScope.KernelLog;

/// <summary>What scanning one input produced, plus the counts of what was skipped and why.</summary>
public sealed record FileScanResult
{
    public required string File { get; init; }
    public LogFormat Format { get; init; }
    public IReadOnlyList<ScannedReset> Resets { get; init; } = [];
    public IReadOnlyList<PrecursorEvent> Precursors { get; init; } = [];
    public IReadOnlyList<StarvationEvent> Starvations { get; init; } = [];
    public long Bytes { get; init; }
    public long Lines { get; init; }
    public long CandidateLines { get; init; }
    public long MatchedLines { get; init; }
    public long StatsDumpLines { get; init; }
    /// <summary>Candidate lines longer than <see cref="LogScanner.MaxCandidateLine"/> and lines longer than a whole block: counted, not parsed.</summary>
    public long LongLinesSkipped { get; init; }
    public long InvalidUtf8Lines { get; init; }
    public long JoinedWrappedLines { get; init; }

    /// <summary>Lines that looked like part of an event but could not be used (all of them, listed or not).</summary>
    public long UnusableLines { get; init; }

    /// <summary>The first <see cref="EventAssembler.MaxUnusableListed"/> of those lines, with why.</summary>
    public IReadOnlyList<UnusableLine> Unusable { get; init; } = [];

    /// <summary>All unusable lines counted by reason.</summary>
    public IReadOnlyDictionary<string, long> UnusableByReason { get; init; } = new Dictionary<string, long>();

    /// <summary>
    /// Candidate lines (those the prefilter passed to the parser) whose timestamp had no year (RFC 3164 syslog,
    /// journalctl short) and so took <see cref="Year"/> from <see cref="YearSource"/>.
    /// </summary>
    public long YearlessLines { get; init; }

    /// <summary>The year given to year-less timestamps; one less for a line dated more than a day after the write time.</summary>
    public int Year { get; init; }

    /// <summary>Where <see cref="Year"/> came from.</summary>
    public YearSource YearSource { get; init; }

    /// <summary>A one-line problem with this input (unreadable, truncated); null when it was read to the end.</summary>
    public string? Error { get; init; }

    /// <summary>A one-line remark that is not an error (trailing garbage after the last gzip member, ignored as gzip does); null for none.</summary>
    public string? Note { get; init; }

    /// <summary>True when nothing at all could be read.</summary>
    public bool Unreadable { get; init; }
}

/// <summary>
/// Scans one input stream on bytes: 1 MiB blocks, a multi-needle prefilter over whole blocks (lines without
/// any needle are never split, decoded or allocated), newline counting with the vectorised
/// <see cref="MemoryExtensions.Count{T}(ReadOnlySpan{T}, T)"/>; only candidate lines are decoded and matched.
/// </summary>
public sealed class LogScanner
{
    public const int BlockSize = 1 << 20;

    /// <summary>Candidate lines longer than this are counted and skipped (kernel records are ≤ 1 KiB; JSON ≤ a few KiB).</summary>
    public const int MaxCandidateLine = 16 * 1024;

    /// <summary>
    /// The prefilter needles: every catalogue line contains at least one of them (a test checks this). They are
    /// chosen for rare 3-byte starts so that unrelated lines rarely become candidates. "mit queue" catches the tail of
    /// a NETDEV WATCHDOG line whose start was wrapped onto the line before ("...eth0: NETDEV" / "WATCHDOG: CPU: 3:
    /// transmit queue 3 timed out 310210 ms"); "Found a Tx", "napi ", "req_id" … keep ENA's own messages candidates when a
    /// paste or a collector stripped the "ena BUS ifname: " prefix (a test checks every message long enough to be told
    /// without it).
    /// </summary>
    internal static readonly string[] Needles =
    [
        "ena ", "ena:", "ena0", "ena1", "ena2", "ena3", "ena4", "ena5", "ena6", "ena7", "ena8", "ena9", "rtl_", "req id ",
        "ENA ", "NETDEV W", "ERR CQE", "PMD:", "Found a Tx", "Page is NULL", "Destroy fail",
        "ENA_", "eout", "eset", "ckup", "Kicking",
        "Hang", "tx hang", "napi ", "paused fo",
        "LOCKUP", "comp_ctx", "cdescs", "mit queue",
        "rcu:", "rcu_", "req_id", "refresh cap", "Recover",
        "prepare tx",
        "INFO", "(): ", "MSIX",
    ];

    /// <summary>
    /// Teddy bucket per needle (the rows above): chosen by a greedy search that minimised the positions passing the
    /// fingerprint on the bench corpus (one per ~2,100 bytes, as before the stripped-prefix needles were added).
    /// </summary>
    private static readonly int[] s_buckets =
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        1, 1, 1, 1, 1, 1, 1,
        2, 2, 2, 2, 2,
        3, 3, 3, 3,
        4, 4, 4, 4,
        5, 5, 5, 5, 5,
        6,
        7, 7, 7,
    ];

    private static readonly NeedleSearcher s_searcher = new(
        [.. Needles.Select(Encoding.ASCII.GetBytes)],
        accept: static (hay, pos, needle) => needle >= 12 || AcceptEna(hay, pos), // the first twelve are the "ena" forms
        bucketOf: s_buckets);

    private readonly SignatureMatcher _matcher;
    private readonly LogFormat _format;
    private readonly int _referenceYear;
    private readonly DateTimeOffset? _notAfter;
    private readonly YearSource _yearSource;

    /// <param name="format">Input shape, or Auto to detect per input.</param>
    /// <param name="referenceYear">Year for syslog timestamps without one (default: this year).</param>
    /// <param name="catalogue">Signatures (default <see cref="Catalogue.All"/>).</param>
    /// <param name="notAfter">When the input was last written: year-less timestamps later than this are from the year before.</param>
    public LogScanner(LogFormat format = LogFormat.Auto, int? referenceYear = null, IReadOnlyList<Signature>? catalogue = null, DateTimeOffset? notAfter = null)
    {
        _matcher = catalogue is null ? SignatureMatcher.Default : new SignatureMatcher(catalogue);
        _format = format;
        _referenceYear = referenceYear ?? notAfter?.Year ?? DateTime.UtcNow.Year;
        _notAfter = notAfter;
        _yearSource = referenceYear is not null ? YearSource.Option : notAfter is not null ? YearSource.FileMtime : YearSource.CurrentDate;
    }

    /// <summary>Where the reference year came from, as the result tells it (default: read off the constructor's arguments).</summary>
    public YearSource YearSource
    {
        get => _yearSource;
        init => _yearSource = value;
    }

    /// <summary>
    /// Read .gz through <see cref="GzipMemberStream"/> (every member, truncation and corruption known exactly); false, or a
    /// runtime without the native zlib, uses GZipStream and a trailer heuristic instead.
    /// </summary>
    internal bool ExactGzip { get; init; } = true;

    /// <summary>"ena" only as a word followed by space, colon or a unit digit: not "renamed", "enabled", "Athena".</summary>
    private static bool AcceptEna(ReadOnlySpan<byte> hay, int pos)
    {
        if (pos > 0)
        {
            byte before = hay[pos - 1];
            if (char.IsAsciiLetterOrDigit((char)before) || before == (byte)'_' || before == (byte)'-')
            {
                return false;
            }
        }

        if (pos + 3 >= hay.Length)
        {
            return false;
        }

        byte after = hay[pos + 3];
        return after is (byte)' ' or (byte)':' or >= (byte)'0' and <= (byte)'9';
    }

    /// <summary>True when the prefilter would pass this line on to the parser.</summary>
    internal static bool IsCandidate(ReadOnlySpan<byte> line) => s_searcher.IndexOfAny(line) >= 0;

    /// <summary>Position of the first prefilter hit in a block, or -1 (benchmarks).</summary>
    internal static int IsCandidateAt(ReadOnlySpan<byte> block) => s_searcher.IndexOfAny(block);

    /// <summary>Scans a file or directory entry by path ("-" is not handled here).</summary>
    public FileScanResult ScanFile(string path, string displayName, string? host)
    {
        Stream? stream = null;
        try
        {
            stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0, Options = FileOptions.SequentialScan });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return new FileScanResult { File = displayName, Unreadable = true, Error = $"cannot open {displayName}: {ex.Message.TrimEnd('.')}; check the path and permissions" };
        }

        using (stream)
        {
            return ScanStream(stream, displayName, host);
        }
    }

    /// <summary>Scans a stream (plain or gzip, detected from the magic bytes).</summary>
    public FileScanResult ScanStream(Stream input, string displayName, string? host)
    {
        var state = new ScanState(displayName, host);
        byte[] buf = ArrayPool<byte>.Shared.Rent(BlockSize);
        GzipMemberStream? exact = null;
        GZipStream? approximate = null;
        try
        {
            int len = ReadFull(input, buf, 0, 2, out bool eof0);
            Stream source = input;
            bool gz = len >= 2 && buf[0] == 0x1F && buf[1] == 0x8B;
            if (gz)
            {
                exact = ExactGzip ? GzipMemberStream.TryOpen(buf.AsSpan(0, len), input) : null;
                approximate = exact is null ? new GZipStream(new PrefixedStream(buf.AsSpan(0, len).ToArray(), input), CompressionMode.Decompress) : null;
                source = (Stream?)exact ?? approximate!;
                len = 0;
                eof0 = false;
            }

            try
            {
                Run(source, buf, len, eof0, state);
            }
            catch (InvalidDataException ex)
            {
                state.Error = $"{displayName}: corrupt or truncated gzip data after {state.Bytes} decompressed bytes ({ex.Message.TrimEnd('.')}); results cover the readable part — re-copy the file";
            }
            catch (IOException ex)
            {
                state.Error = $"{displayName}: read error after {state.Bytes} bytes ({ex.Message.TrimEnd('.')}); results cover the readable part — check the device or re-copy the file";
                if (state.Bytes == 0)
                {
                    state.Unreadable = true;
                }
            }
            catch (UnauthorizedAccessException ex)
            {
                state.Error = $"cannot read {displayName}: {ex.Message.TrimEnd('.')}; check permissions";
                state.Unreadable = true;
            }

            if (exact is not null && state.Error is null)
            {
                state.Error = exact.Problem switch
                {
                    GzipProblem.Truncated => $"{displayName}: gzip data ends before its trailer (truncated file) after {state.Bytes} decompressed bytes; results cover the readable part — re-copy the file",
                    GzipProblem.Corrupt => $"{displayName}: corrupt gzip data after {state.Bytes} decompressed bytes ({exact.ProblemDetail}); results cover the readable part — re-copy the file",
                    _ => null,
                };
                if (exact.TrailingGarbage)
                {
                    state.Note = $"{displayName}: decompression OK, trailing garbage ignored after gzip member {exact.Members} (as gzip does)";
                }
            }

            if (approximate is not null && state.Error is null && !((PrefixedStream)approximate.BaseStream).TrailerMatches(state.Bytes))
            {
                state.Error = $"{displayName}: gzip data ends before its trailer (truncated file) after {state.Bytes} decompressed bytes; results cover the readable part — re-copy the file (approximate check without the native zlib: a multi-member .gz trips it too)";
            }
        }
        finally
        {
            exact?.Dispose();
            approximate?.Dispose();
            ArrayPool<byte>.Shared.Return(buf);
        }

        return state.ToResult(_format) with { Year = _referenceYear, YearSource = _yearSource };
    }

    private static int ReadFull(Stream s, byte[] buf, int offset, int count, out bool eof)
    {
        int total = 0;
        eof = false;
        while (total < count)
        {
            int n = s.Read(buf, offset + total, count - total);
            if (n == 0)
            {
                eof = true;
                break;
            }

            total += n;
        }

        return total;
    }

    private void Run(Stream source, byte[] buf, int len, bool eof, ScanState state)
    {
        int capacity = BlockSize;
        bool skipping = false;
        bool skippedEndsWithNul = false;
        bool first = true;
        LogFormat format = _format;
        EventAssembler assembler = state.Assembler;
        while (true)
        {
            if (!eof && len < capacity)
            {
                len += ReadFull(source, buf, len, capacity - len, out eof);
            }

            state.Bytes += len - state.CarriedBytes;
            state.CarriedBytes = 0;
            var span = new ReadOnlySpan<byte>(buf, 0, len);
            if (first)
            {
                first = false;
                if (format == LogFormat.Auto)
                {
                    format = FormatDetector.Detect(span);
                }

                state.Format = format;
                if (format == LogFormat.JournalExport)
                {
                    JournalExportReader.Run(source, buf, len, eof, state, this);
                    return;
                }
            }

            int start = 0;
            if (skipping)
            {
                int nl = span.IndexOf((byte)'\n');
                if (nl < 0 && !eof)
                {
                    skippedEndsWithNul = len > 0 && buf[len - 1] == 0;
                    len = KeepTextAfterHole(buf, len, ref skipping);
                    state.CarriedBytes = len;
                    continue;
                }

                skipping = false;
                int end0 = nl < 0 ? len : nl;
                int lastNul = span[..end0].LastIndexOf((byte)0);
                if (lastNul >= 0 && lastNul + 1 < end0)
                {
                    // NUL padding (a crash left a hole in the file) followed by real text on the same "line": keep the text.
                    start = lastNul + 1;
                }
                else if (lastNul < 0 && skippedEndsWithNul && end0 > 0)
                {
                    start = 0; // the hole ended exactly at a block boundary
                }
                else
                {
                    state.LineCount++;
                    start = nl < 0 ? len : nl + 1;
                }
            }

            int lastNl = span[start..].LastIndexOf((byte)'\n');
            int end = eof ? len : (lastNl < 0 ? start : start + lastNl + 1);
            if (end == start && !eof)
            {
                if (start == 0 && len == capacity)
                {
                    // One line longer than the whole block: count it and drop it up to its newline.
                    state.LongLines++;
                    skipping = true;
                    skippedEndsWithNul = buf[len - 1] == 0;
                    len = KeepTextAfterHole(buf, len, ref skipping);
                    state.CarriedBytes = len;
                    continue;
                }
            }

            ProcessRegion(span[start..end], state, format, eof);
            if (eof)
            {
                break;
            }

            int tail = len - end;
            Buffer.BlockCopy(buf, end, buf, 0, tail);
            len = tail;
            state.CarriedBytes = tail;
        }

        assembler.Finish();
    }

    /// <summary>
    /// A block being dropped as part of an over-long line: if it ends in text after NUL padding (a crash hole), that
    /// text starts a real record — keep it at the front of the buffer and stop skipping. Returns the bytes kept.
    /// </summary>
    private static int KeepTextAfterHole(byte[] buf, int len, ref bool skipping)
    {
        int lastNul = buf.AsSpan(0, len).LastIndexOf((byte)0);
        int tail = len - (lastNul + 1);
        if (lastNul < 0 || tail == 0 || tail > MaxCandidateLine)
        {
            return 0;
        }

        Buffer.BlockCopy(buf, lastNul + 1, buf, 0, tail);
        skipping = false;
        return tail;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void ProcessRegion(ReadOnlySpan<byte> region, ScanState state, LogFormat format, bool isFinal)
    {
        int pos = 0;
        int counted = 0;
        long baseLines = state.LineCount;
        while (pos < region.Length)
        {
            int rel = s_searcher.IndexOfAny(region[pos..]);
            if (rel < 0)
            {
                break;
            }

            int hit = pos + rel;
            int ls = pos + region[pos..hit].LastIndexOf((byte)'\n') + 1;
            int le = region[hit..].IndexOf((byte)'\n');
            le = le < 0 ? region.Length : hit + le;
            baseLines += region[counted..ls].Count((byte)'\n');
            counted = ls;
            int next = HandleCandidate(region, ls, le, hit, (int)Math.Min(int.MaxValue, baseLines + 1), state, format);
            pos = next;
        }

        baseLines += region[counted..].Count((byte)'\n');
        if (isFinal && region.Length > 0 && region[^1] != (byte)'\n')
        {
            baseLines++;
        }

        state.LineCount = baseLines;
    }

    /// <summary>Parses one candidate line; returns where scanning continues (after a joined continuation line, if any).</summary>
    private int HandleCandidate(ReadOnlySpan<byte> region, int ls, int le, int hit, int lineNo, ScanState state, LogFormat format)
    {
        int resume = le + 1;
        ReadOnlySpan<byte> line = region[ls..le];
        state.Candidates++;
        if (line.Length > MaxCandidateLine)
        {
            state.LongLines++;

            // Text after NUL padding is a record of its own (crash holes in log files); anything else this long is skipped.
            int lastNul = region[ls..hit].LastIndexOf((byte)0);
            if (lastNul < 0 || le - (ls + lastNul + 1) > MaxCandidateLine)
            {
                return resume;
            }

            ls += lastNul + 1;
            line = region[ls..le];
        }

        if (IsKmsgDictionary(line, format))
        {
            return resume; // /dev/kmsg dictionary continuation ( SUBSYSTEM=..., DEVICE=...)
        }

        if (!Utf8.IsValid(line))
        {
            state.InvalidUtf8++;
        }

        ShapedLine shaped = LineShape.Parse(LineShape.Decode(line), format, _referenceYear, _notAfter);
        if (shaped.YearInferred)
        {
            state.YearlessLines++;
        }

        return HandleShaped(region, ls, le, lineNo, resume, state, format, shaped, joinable: true);
    }

    /// <summary>
    /// One line of a live record stream (a kernel record's text, its stamp known): what a candidate line of a file goes
    /// through, except joining with neighbours — a record is whole.
    /// </summary>
    internal void HandleRecordLine(ScanState state, int lineNo, in ShapedLine shaped)
    {
        state.Candidates++;
        HandleShaped(default, 0, 0, lineNo, 0, state, LogFormat.Kmsg, shaped, joinable: false);
    }

    private int HandleShaped(ReadOnlySpan<byte> region, int ls, int le, int lineNo, int resume, ScanState state, LogFormat format, ShapedLine shaped, bool joinable)
    {
        string body = FirstLine(shaped.Body);
        EventAssembler assembler = state.Assembler;
        bool elided = IsElided(body);
        LineMatch match = _matcher.Match(body, allowPartial: elided, assembler, lineNo);

        // Most candidates that match nothing are a catalogued driver's other lines ("ena 0000:00:05.0: ENA device version:
        // 0.10"): they start their own record, so only the cheap checks apply to them.
        DevicePrefix own = match.Kind == MatchKind.None ? SignatureMatcher.ParsePrefix(body) : default;
        bool ownDevice = own is { Style: PrefixStyle.Linux, Driver: { } ownDriver, Bus: not null } && _matcher.Knows(ownDriver);
        if (match.Kind is MatchKind.None && !ownDevice && _matcher.EmbeddedPrefixStart(body) is > 0 and int glued)
        {
            // Other output glued in front of the record on a console line: the record starts at its device prefix.
            LineMatch inner = _matcher.Match(body[glued..], allowPartial: elided, assembler, lineNo);
            if (inner.Kind == MatchKind.Signature)
            {
                match = inner;
                body = body[glued..];
            }
        }

        // A message read without its device prefix may be the tail of a wrapped line whose start names the device: join first.
        if (match.Kind is MatchKind.None or MatchKind.Unattributed || match.OpenEnded || (match.DeviceInferred && !shaped.HasRecordPrefix))
        {
            // A record wrapped onto the next physical line(s) by a mail client or a terminal, or this line is the
            // wrapped tail of a record that started on an earlier line (which had no needle of its own).
            if (joinable && TryJoin(region, ls, le, lineNo, format, assembler, ref shaped, out LineMatch joined, out int joinedLine, out int joinedEnd)
                && !(match.OpenEnded && (joined.Signature != match.Signature || joined.OpenEnded))
                && !(match.DeviceInferred && joined.DeviceInferred))
            {
                match = joined;
                body = shaped.Body;
                lineNo = joinedLine;
                resume = Math.Max(resume, joinedEnd + 1);
                state.Joined++;
            }
            else if (match.Kind == MatchKind.Signature)
            {
                // Open-ended and nothing to join: it stands as it is.
            }
            else if (match.Kind == MatchKind.None && _matcher.StartsLikeSignature(body, elided ? 1 : 12))
            {
                // Cut short with no continuation in sight: what is there may still say which message it is.
                match = _matcher.Match(body, allowPartial: true, assembler, lineNo);
                if (match.Kind == MatchKind.None)
                {
                    assembler.NoteUnusable(lineNo, UnusableReason.CutShort, body);
                }
            }
            else if (match.Kind == MatchKind.Unattributed)
            {
                assembler.NoteUnusable(lineNo, UnusableReason.NoDevice, body);
                match = LineMatch.NoMatch;
            }
            else if ((ownDevice ? _matcher.DamagedMessage(own) : _matcher.Unusable(body, shaped.HasRecordPrefix)) is { } why)
            {
                assembler.NoteUnusable(lineNo, why, body);
            }

            if (match.Kind == MatchKind.None && ownDevice && own.Ifname is { } ownIf)
            {
                assembler.NoteDevice(own.Driver!, own.Bus, ownIf); // not an event line, but it says which bus the interface is on
            }
        }

        if (shaped.Body.Length != body.Length && match.Signature?.Role != SignatureRole.Precursor)
        {
            shaped = shaped with { Body = body };
        }

        assembler.OnLine(lineNo, shaped, match);
        return Math.Min(resume, region.Length);
    }

    private static bool IsElided(string body) =>
        body.EndsWith("...", StringComparison.Ordinal) || body.EndsWith('…') || body.EndsWith("[...]", StringComparison.Ordinal);

    /// <summary>Physical lines one wrapped record may span (a 300-character ENA line wrapped at 72 columns is five).</summary>
    private const int MaxJoinedPieces = 5;

    /// <summary>
    /// Joins the candidate with the lines around it that carry no record prefix of their own — the earlier ones only when
    /// they had no needle (a line with a needle was a candidate itself and joined forward already) — and matches the
    /// whole. Each break is tried as a space (mail clients drop the space they wrap at) and as nothing (format=flowed keeps
    /// the space at the end of the line; terminals wrap inside words).
    /// </summary>
    private bool TryJoin(ReadOnlySpan<byte> region, int ls, int le, int lineNo, LogFormat format, IDeviceDirectory devices,
        ref ShapedLine shaped, out LineMatch match, out int startLine, out int end)
    {
        match = LineMatch.NoMatch;
        startLine = lineNo;
        end = le;
        bool bare = !shaped.HasRecordPrefix;

        // The pieces as (start, end) byte ranges, in order; the candidate is pieces[back].
        Span<(int Start, int End)> pieces = stackalloc (int, int)[MaxJoinedPieces];
        int back = 0;
        if (bare && SignatureMatcher.ParsePrefix(FirstLine(shaped.Body)).Bus is null)
        {
            // (A line that starts with a driver and a bus starts its record, stamps or not.)
            // Earlier pieces: needle-free lines back to the one that starts the record.
            int cursor = ls;
            Span<(int, int)> before = stackalloc (int, int)[MaxJoinedPieces - 1];
            while (back < MaxJoinedPieces - 1 && cursor >= 1)
            {
                int prevLe = cursor - 1;
                int prevLs = region[..prevLe].LastIndexOf((byte)'\n') + 1;
                ReadOnlySpan<byte> prev = region[prevLs..prevLe];
                if (prev.Length == 0 || prev.Length > MaxCandidateLine || IsCandidate(prev) || IsKmsgDictionary(prev, format))
                {
                    break;
                }

                before[back++] = (prevLs, prevLe);
                cursor = prevLs;
                if (LineShape.LooksLikeRecordStart(LineShape.Decode(prev)))
                {
                    break;
                }
            }

            for (int i = 0; i < back; i++)
            {
                pieces[i] = before[back - 1 - i];
            }
        }

        int count = back;
        pieces[count++] = (ls, le);

        // Later pieces: lines without a record prefix of their own.
        int next = le + 1;
        while (count < MaxJoinedPieces && next < region.Length)
        {
            int ne = region[next..].IndexOf((byte)'\n');
            ne = ne < 0 ? region.Length : next + ne;
            ReadOnlySpan<byte> piece = region[next..ne];
            if (piece.Length == 0 || piece.Length > MaxCandidateLine || IsKmsgDictionary(piece, format))
            {
                break;
            }

            string text = LineShape.Decode(piece);
            if (LineShape.LooksLikeRecordStart(text) || (bare && SignatureMatcher.ParsePrefix(LineShape.Clean(text)).Bus is not null))
            {
                break; // a record of its own (in a log without stamps: a line that starts with a driver and a bus)
            }

            pieces[count++] = (next, ne);
            next = ne + 1;
        }

        if (count == 1)
        {
            return false;
        }

        ShapedLine first = back == 0 ? shaped : LineShape.Parse(LineShape.Decode(region[pieces[0].Start..pieces[0].End]), format, _referenceYear, _notAfter);
        var texts = new List<string>(8) { FirstLine(first.Body) };
        var grown = new List<string>(8);
        for (int i = 1; i < count; i++)
        {
            string piece = LineShape.Clean(LineShape.Decode(region[pieces[i].Start..pieces[i].End]));
            grown.Clear();
            foreach (string t in texts)
            {
                // The break as nothing first: where both read as a message ("et" / "h1" in a kernel %s), a terminal cut a word.
                foreach (string joined in (string[])[t + piece.TrimStart(), t.TrimEnd() + " " + piece.Trim()])
                {
                    if (grown.Count < 8 && !grown.Contains(joined))
                    {
                        grown.Add(joined);
                    }
                }
            }

            (texts, grown) = (grown, texts);
            if (i < back)
            {
                continue; // the candidate itself is not in yet
            }

            // Several ways of joining may read as a message; the one whose device names are well formed wins. An open-ended
            // match ("Driver info: Elastic Network") is kept only until a later piece completes it.
            LineMatch? best = null;
            string? bestText = null;
            foreach (string t in texts)
            {
                LineMatch m = _matcher.Match(t, allowPartial: false, devices, lineNo - back);
                if (m.Kind == MatchKind.Signature && (best is null || JoinScore(m) > JoinScore(best)))
                {
                    best = m;
                    bestText = t;
                }
            }

            // A complete reading replaces an open-ended one; once complete, only a longer complete reading of the same
            // message that ends in free text ("... (ENA) v2.17" then ".0g" on the next line) replaces it.
            bool complete = match.Kind == MatchKind.Signature && !match.OpenEnded;
            if (best is not null && (!complete || (!best.OpenEnded && best.Signature == match.Signature)))
            {
                match = best;
                shaped = first with { Body = bestText! };
                startLine = lineNo - back;
                end = pieces[i].End;
            }

            if (match.Kind == MatchKind.Signature && !match.OpenEnded && !match.Signature!.Format.EndsWith("%s", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return match.Kind == MatchKind.Signature;
    }

    /// <summary>How plausible a joined reading is: it names the interface, interface names have no spaces, and a bus is not glued to a word.</summary>
    private static int JoinScore(LineMatch m)
    {
        int score = m.OpenEnded ? -1 : 0;
        string? ifname = m.Fields.Ifname ?? m.Prefix.Ifname;
        if (ifname is null)
        {
            score -= 1; // "virtio_net virtio0eth1:" reads as a bus with no interface; "virtio0 eth1:" names both
        }
        else if (ifname.Contains(' ', StringComparison.Ordinal))
        {
            score -= 2;
        }

        if (m.Prefix.Bus is { Length: > 12 } bus && SignatureMatcher.IsPciAddress(bus[..12]) && !SignatureMatcher.IsPciAddress(bus))
        {
            score -= 2;
        }

        return score;
    }

    /// <summary>A /dev/kmsg dictionary line (" SUBSYSTEM=net", " DEVICE=+pci:0000:00:05.0"); a space then other text is a wrapped message.</summary>
    private static bool IsKmsgDictionary(ReadOnlySpan<byte> line, LogFormat format)
    {
        if (format != LogFormat.Kmsg || line.Length < 3 || line[0] != (byte)' ')
        {
            return false;
        }

        ReadOnlySpan<byte> key = line.TrimStart((byte)' ');
        int eq = key.IndexOf((byte)'=');
        return eq > 0 && key[..eq].IndexOfAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"u8) < 0;
    }

    private static string FirstLine(string body)
    {
        int nl = body.IndexOf('\n', StringComparison.Ordinal);
        return nl < 0 ? body : body[..nl];
    }

    internal void ProcessExportRecord(ScanState state, int lineNo, string message, string? ts, DateTimeOffset? time, long? uptime, string? host)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(message);
        if (!IsCandidate(bytes))
        {
            return;
        }

        state.Candidates++;
        string body = FirstLine(message);
        var shaped = new ShapedLine(message, ts, time, uptime, host, true);
        LineMatch match = _matcher.Match(body, allowPartial: false, state.Assembler, lineNo);
        state.Assembler.OnLine(lineNo, shaped, match.Kind == MatchKind.Unattributed ? LineMatch.NoMatch : match);
    }

    /// <summary>Mutable per-input counters and the assembler.</summary>
    internal sealed class ScanState(string file, string? host, bool trackInFlight = false)
    {
        public EventAssembler Assembler { get; } = new(file, host) { TrackInFlight = trackInFlight };
        public string File { get; } = file;
        public LogFormat Format { get; set; }
        public long Bytes { get; set; }
        public int CarriedBytes { get; set; }
        public long LineCount { get; set; }
        public long Candidates { get; set; }
        public long LongLines { get; set; }
        public long InvalidUtf8 { get; set; }
        public long Joined { get; set; }
        public long YearlessLines { get; set; }
        public bool Unreadable { get; set; }
        public string? Error { get; set; }
        public string? Note { get; set; }

        public FileScanResult ToResult(LogFormat requested)
        {
            return new FileScanResult
            {
                File = File,
                Format = Format == LogFormat.Auto ? requested : Format,
                Resets = Assembler.Resets,
                Precursors = Assembler.Precursors,
                Starvations = Assembler.Starvations,
                Bytes = Bytes,
                Lines = LineCount,
                CandidateLines = Candidates,
                MatchedLines = Assembler.MatchedLines,
                StatsDumpLines = Assembler.StatsDumpLines,
                LongLinesSkipped = LongLines,
                InvalidUtf8Lines = InvalidUtf8,
                JoinedWrappedLines = Joined,
                UnusableLines = Assembler.UnusableCount,
                Unusable = Assembler.Unusable,
                UnusableByReason = Assembler.UnusableByReason,
                YearlessLines = YearlessLines,
                Error = Error,
                Note = Note,
                Unreadable = Unreadable,
            };
        }
    }

    /// <summary>
    /// The fallback when the native zlib cannot be loaded: replays already-read magic bytes, then the rest of the
    /// underlying stream, and notes a gzip stream that ends early.
    /// </summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner) : ForwardReadStream
    {
        private readonly byte[] _last8 = new byte[8];
        private int _prefixPos;
        private long _total;

        /// <summary>
        /// A complete gzip member ends with CRC32 and ISIZE (decompressed length mod 2^32). A stream cut short ends
        /// in deflate data instead, so its last four bytes match the decompressed length only by accident (2^-32).
        /// For multi-member files (cat a.gz b.gz) only the last member's size is there; those are reported as truncated.
        /// </summary>
        public bool TrailerMatches(long decompressed)
        {
            if (_total < 18)
            {
                return false;
            }

            uint isize = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_last8.AsSpan(4));
            return isize == (uint)decompressed;
        }

        private void Remember(ReadOnlySpan<byte> data)
        {
            _total += data.Length;
            if (data.Length >= 8)
            {
                data[^8..].CopyTo(_last8);
            }
            else
            {
                _last8.AsSpan(data.Length).CopyTo(_last8);
                data.CopyTo(_last8.AsSpan(8 - data.Length));
            }
        }

        public override int Read(Span<byte> buffer)
        {
            if (_prefixPos < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _prefixPos);
                prefix.AsSpan(_prefixPos, n).CopyTo(buffer);
                _prefixPos += n;
                Remember(buffer[..n]);
                return n;
            }

            int r = inner.Read(buffer);
            Remember(buffer[..r]);
            return r;
        }
    }
}
