using System.Diagnostics;
using System.Globalization;
using ResetScope.Agent.Metrics;
using ResetScope.Agent.Store;
using ResetScope.Core;
using ResetScope.Diagnosis;
using ResetScope.Diagnosis.Recording;
using ResetScope.Host;
using ResetScope.Host.Kmsg;
using ResetScope.Host.Recorder;
using ResetScope.KernelLog;

namespace ResetScope.Agent.Service;

/// <summary>An incident the agent committed: its id, kind, one-line summary and how long it took from the kernel record.</summary>
public sealed record CommittedIncident(long Id, IncidentKind Kind, string Summary, long? LatencyUs);

/// <summary>
/// The agent's work, one <see cref="Step"/> at a time on one thread: drain /dev/kmsg (resuming after the persisted
/// cursor) into the same event assembler <c>scan</c> uses, one record at a time as it arrives (no record is kept), run
/// the flight recorder, and for each reset, near miss or starvation event commit an incident (the event, the
/// recorder window before it, host facts, findings) — completed with the window after it once that has passed — and
/// update the metrics. Everything it holds is capped (<see cref="AgentOptions"/>): a kernel-log flood of any length
/// costs CPU, not memory, and what a cap refuses is counted. The caller owns the loop and the waiting
/// (<see cref="AgentRunner"/> in production, a manual clock in tests).
/// </summary>
public sealed class AgentService : IDisposable
{
    private const double NearMissMs = 1000;
    private const double ResetMs = 5000;

    private readonly AgentOptions _options;
    private readonly KmsgReader _kmsg;
    private readonly IncidentStore _store;
    private readonly AgentMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly OtlpExport? _otlp;
    private readonly Func<long> _monotonicUs;
    private readonly KernelRecordAssembler _assembler = new("/dev/kmsg");
    private readonly AssemblerChanges _changes = new();
    private readonly KnownKeys _known = new(MaxKnownKeys);
    private readonly Dictionary<long, TrackedReset> _tracked = [];
    private readonly List<Unfinished> _unfinished = [];
    private readonly List<TrackedReset> _dueResets = [];
    private readonly List<Unfinished> _dueIncidents = [];
    private readonly SequenceRanges _injected = new(MaxInjectedRanges);
    private readonly Queue<long> _recentCommits = new();
    private readonly byte[]? _trustedTag;
    private readonly long[] _precursorTriggeredAt;
    private readonly HostFacts _facts;
    private readonly string _bootId;
    private readonly ulong[] _previousWait;
    private readonly double[] _waitRunMs;
    private readonly long[] _waitRunStart;
    private readonly string[] _ksoftirqdNames;
    private readonly List<CommittedIncident> _committed = [];
    private HostCondition? _condition;
    private long _conditionAt = long.MinValue;
    private long _loopsAt = long.MinValue;
    private IReadOnlyList<CrashLoop> _crashLoops = [];
    private long _retentionAt = long.MinValue;
    private long _cursorSavedAt = long.MinValue;
    private KmsgCursor? _savedCursor;
    private ulong? _resumeAfter;
    private ulong? _lastSeq;
    private ulong _lostSeen;
    private int _gapsSeen;
    private long _lastResetTs = long.MinValue;
    private bool _fed;
    private long _lastRecordUptimeUs = long.MinValue;
    private long _lastRecordMonotonicUs;
    private long _droppedIncidents;
    private long _droppedSinceCommit;
    private long _cappedSeen;

    /// <summary>Committed event keys remembered (so a record re-read after a restart is not committed twice).</summary>
    private const int MaxKnownKeys = 16_384;

    /// <summary>Runs of consecutive injected sequence numbers remembered (tests and labs tag every record they write).</summary>
    private const int MaxInjectedRanges = 1024;

    public AgentService(AgentOptions options, KmsgReader kmsg, IncidentStore store, AgentMetrics metrics, TimeProvider time, OtlpExport? otlp = null, Func<long>? monotonicUs = null)
    {
        _options = options;
        _kmsg = kmsg;
        _store = store;
        _metrics = metrics;
        _time = time;
        _otlp = otlp;
        _monotonicUs = monotonicUs ?? (() => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000));
        _facts = HostFacts.Read(options.ProcRoot, options.SysRoot);
        _bootId = options.BootId ?? ReadBootId(options.ProcRoot);
        Recorder = new CpuRecorder(options.ProcRoot, time, new CpuRecorderOptions
        {
            Normal = options.SampleInterval,
            Retention = options.Retention,
            ThreadSweep = options.ThreadSweep,
            ThreadSweepFast = TimeSpan.FromSeconds(1),
        });
        int cpus = Recorder.Cpus;
        _previousWait = new ulong[cpus];
        _waitRunMs = new double[cpus];
        _waitRunStart = new long[cpus];
        _ksoftirqdNames = Enumerable.Range(0, cpus).Select(c => string.Create(CultureInfo.InvariantCulture, $"ksoftirqd/{c}")).ToArray();
        _precursorTriggeredAt = Enumerable.Repeat(long.MinValue, cpus + 1).ToArray();
        _trustedTag = options.TrustedTestTag is { } tag ? KmsgEscaped(tag) : null;

        // Resume after the last record whose consequences were committed; events already stored are not stored twice.
        if (store.LoadCursor() is { } cursor && cursor.BootId == _bootId)
        {
            _resumeAfter = cursor.Sequence;
        }

        // Only incidents of this boot can hold its keys: no need to parse older bundles at start-up.
        DateTimeOffset? bootedAt = _facts.UptimeSeconds is double up ? time.GetUtcNow() - TimeSpan.FromSeconds(up + 60) : null;
        foreach (IncidentSummary s in store.List(since: bootedAt, limit: 1000))
        {
            if (store.Get(s.Id) is { } incident && BundleKey(incident.BundleJson) is (string boot, string key) && boot == _bootId)
            {
                _known.Add(key);
            }
        }
    }

    public CpuRecorder Recorder { get; }

    /// <summary>Incidents committed since start, oldest first (the newest 1,024).</summary>
    public IReadOnlyList<CommittedIncident> Committed => _committed;

    /// <summary>Raised after each commit (on the agent's thread).</summary>
    public event Action<CommittedIncident>? IncidentCommitted;

    /// <summary>The earliest time (a timestamp of the injected clock) at which <see cref="Step"/> has timed work to do.</summary>
    public long NextDeadline
    {
        get
        {
            long next = Recorder.DueAt;
            foreach (TrackedReset t in _tracked.Values)
            {
                if (!t.Committed)
                {
                    next = Math.Min(next, t.FirstSeen + Ticks(_options.Settle));
                }
            }

            foreach (Unfinished u in _unfinished)
            {
                next = Math.Min(next, u.Due);
            }

            return next;
        }
    }

    /// <summary>Does whatever is due now: read the kernel log, commit what it shows, sample, finish incidents.</summary>
    public void Step()
    {
        DrainKmsg();
        if (_fed || _assembler.OpenResets > 0)
        {
            // With resets open, the kernel clock's "now" lets the assembler end those no later record can join.
            long? uptimeNow = _lastRecordUptimeUs == long.MinValue ? null : _lastRecordUptimeUs + Math.Max(0, _monotonicUs() - _lastRecordMonotonicUs);
            _fed = false;
            _assembler.Take(_changes, uptimeNow);
            if (!_changes.IsEmpty)
            {
                Handle(_changes);
                _changes.Clear();
            }

            if (_assembler.CappedEntries > _cappedSeen)
            {
                _metrics.KernelLogCapped(_assembler.CappedEntries - _cappedSeen);
                _cappedSeen = _assembler.CappedEntries;
            }
        }

        long now = _time.GetTimestamp();
        if (_tracked.Count > 0)
        {
            // Into a scratch list kept across steps (Step runs per record under a flood): committing changes the map.
            _dueResets.Clear();
            long settle = Ticks(_options.Settle);
            foreach (TrackedReset t in _tracked.Values)
            {
                if (!t.Committed && now - t.FirstSeen >= settle)
                {
                    _dueResets.Add(t);
                }
            }

            foreach (TrackedReset t in _dueResets)
            {
                CommitReset(t);
            }

            _dueResets.Clear();
        }

        if (now >= Recorder.DueAt)
        {
            Sample();
        }

        if (_unfinished.Count > 0)
        {
            _dueIncidents.Clear();
            foreach (Unfinished u in _unfinished)
            {
                if (now >= u.Due)
                {
                    _dueIncidents.Add(u);
                }
            }

            foreach (Unfinished u in _dueIncidents)
            {
                Finish(u);
            }

            _dueIncidents.Clear();
        }

        if (_loopsAt == long.MinValue || now - _loopsAt >= Ticks(_options.CrashLoopsEvery))
        {
            _loopsAt = now;
            _crashLoops = HostCondition.ReadCrashLoops(_options.ProcRoot, _options.LogRoot);
        }

        if (_conditionAt == long.MinValue || now - _conditionAt >= Ticks(_options.HostConditionEvery))
        {
            _conditionAt = now;
            _condition = new HostCondition(HostCondition.ReadMemcgs(_options.ProcRoot, _options.SysRoot), _crashLoops);
            if (_condition.Memcgs is { } m)
            {
                _metrics.SetZombies(m.Hierarchy.ToString().ToLowerInvariant(), m.Zombies);
            }
        }

        if (_cursorSavedAt == long.MinValue || now - _cursorSavedAt >= Ticks(TimeSpan.FromSeconds(5)))
        {
            _cursorSavedAt = now;
            if (SafeCursor() is { } cursor && cursor != _savedCursor)
            {
                // A quiet kernel log leaves the cursor where it was: no SQLite transaction (and fsync) every 5 s for nothing.
                _store.SaveCursor(cursor);
                _savedCursor = cursor;
            }
        }

        if (_retentionAt == long.MinValue || now - _retentionAt >= Ticks(TimeSpan.FromHours(1)))
        {
            _retentionAt = now;
            _store.ApplyRetention(_options.IncidentMaxAge, _options.IncidentMaxBytes, _time);
        }
    }

    /// <summary>Commits what is still pending and saves the cursor (a clean stop).</summary>
    public void Flush()
    {
        _assembler.Finish();
        _assembler.Take(_changes);
        Handle(_changes);
        _changes.Clear();
        foreach (TrackedReset t in _tracked.Values.Where(t => !t.Committed).ToList())
        {
            CommitReset(t);
        }

        foreach (Unfinished u in _unfinished.ToList())
        {
            Finish(u);
        }

        if (SafeCursor() is { } cursor)
        {
            _store.SaveCursor(cursor);
        }
    }

    public void Dispose() => Recorder.Dispose();

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private void DrainKmsg()
    {
        // One read() per record until none is pending; each record is parsed in place and fed to the assembler at once.
        while (_kmsg.TryRead(out KmsgRecordView record))
        {
            if (_resumeAfter is ulong resume)
            {
                if (record.Sequence <= resume)
                {
                    continue;
                }

                if (record.Sequence > resume + 1)
                {
                    _metrics.KmsgLost(record.Sequence - resume - 1); // overwritten while the agent was down
                }

                _resumeAfter = null;
            }

            _lastSeq = record.Sequence;
            _metrics.KmsgRecord(record.FromKernel);
            ReadOnlySpan<byte> text = record.Text;
            if (!record.FromKernel)
            {
                if (_trustedTag is null || !text.StartsWith(_trustedTag))
                {
                    continue; // user space can write anything to /dev/kmsg: never a driver event
                }

                text = text[_trustedTag.Length..];
                _injected.Add(record.Sequence);
            }

            _assembler.Feed(record.Sequence, record.TimestampUs, text);
            _lastRecordUptimeUs = record.TimestampUs;
            _fed = true;
        }

        if (_fed)
        {
            _lastRecordMonotonicUs = _monotonicUs();
        }

        if (_kmsg.Lost > _lostSeen)
        {
            _metrics.KmsgLost(_kmsg.Lost - _lostSeen);
            _lostSeen = _kmsg.Lost;
        }
    }

    /// <summary>The tag as it reads in /dev/kmsg's escaped text.</summary>
    private static byte[] KmsgEscaped(string tag)
    {
        var bytes = new List<byte>();
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(tag))
        {
            if (b < 0x20 || b >= 0x7F || b == (byte)'\\')
            {
                bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"\\x{b:x2}")));
            }
            else
            {
                bytes.Add(b);
            }
        }

        return [.. bytes];
    }

    private void Handle(AssemblerChanges found)
    {
        long now = _time.GetTimestamp();
        foreach (long id in found.Withdrawn)
        {
            _tracked.Remove(id); // not a reset after all; an incident already committed for it stays
        }

        // Every reset in flight is tracked before any is committed, so a commit's cursor never skips one.
        foreach (AssembledReset r in found.Resets)
        {
            if (!_tracked.TryGetValue(r.Id, out TrackedReset? t))
            {
                // The key is fixed when the reset is first seen: its first record (and driver) do not change after.
                string key = string.Create(CultureInfo.InvariantCulture, $"{r.Event.Driver}|{r.FirstSequence}");
                t = new TrackedReset(key, now) { Committed = _known.Contains(key) }; // committed before a restart: Finish takes the latest version
                _tracked[r.Id] = t;
            }

            t.Event = r.Event;
            t.FirstSequence = r.FirstSequence;
            t.LastUptimeUs = r.LastUptimeUs;
            t.Closed = r.Closed;
        }

        foreach (TrackedReset t in _tracked.Values.Where(t => !t.Committed && (t.Closed || t.Event!.Outcome != ResetOutcome.Unknown)).ToList())
        {
            CommitReset(t);
        }

        foreach (long id in _tracked.Where(kv => kv.Value.Closed && kv.Value.Committed).Select(kv => kv.Key).ToList())
        {
            _tracked.Remove(id);
        }

        foreach ((StarvationEvent e, ulong seq) in found.Starvations)
        {
            string key = $"starvation|{e.Type}|{seq}";
            if (!_known.Add(key))
            {
                continue;
            }

            _metrics.Starvation(e);

            // A soft lockup reported every few seconds, a hung-task dump per task: one incident while the first is open.
            Unfinished? same = _unfinished.Find(u => u.Kind == IncidentKind.Starvation && u.Starvation is { } s && s.Type == e.Type && s.Cpu == e.Cpu);
            if (same is not null)
            {
                same.Repeats++;
                continue;
            }

            Commit(IncidentKind.Starvation, key, $"{e.Type}{(e.Cpu is int c ? $" on CPU {c}" : "")}{(e.Comm is { } comm ? $" ({comm})" : "")}", null, e, null, null, _injected.Contains(seq), null, seq);
        }

        foreach ((PrecursorEvent e, ulong _) in found.Precursors)
        {
            int cpu = e.Queue is int q && Recorder.QueueCpus.TryGetValue(q, out int c) ? c : -1;

            // A flood of "Found a Tx that wasn't completed on time" lines: one trigger per CPU per second is enough.
            ref long at = ref _precursorTriggeredAt[cpu < 0 || cpu >= Recorder.Cpus ? Recorder.Cpus : cpu];
            if (at == long.MinValue || now - at >= _time.TimestampFrequency)
            {
                at = now;
                Recorder.Trigger(cpu, e.Text);
            }
        }
    }

    private void CommitReset(TrackedReset t)
    {
        t.Committed = true;
        if (!_known.Add(t.Key))
        {
            return;
        }

        ResetEvent e = t.Event!;
        _lastResetTs = _time.GetTimestamp();
        _metrics.ResetSeen(e);
        _otlp?.Reset(e);
        string summary = Summary(e);
        bool injected = e.Lines.Any(l => _injected.Contains((ulong)l)) || _injected.Contains(t.FirstSequence);
        int cpu = e.NapiCpu ?? (e.Queue is int qq && Recorder.QueueCpus.TryGetValue(qq, out int c) ? c : -1);
        if (Commit(IncidentKind.Reset, t.Key, summary, e, null, null, t, injected, t.LastUptimeUs, t.FirstSequence))
        {
            Recorder.Trigger(cpu, summary);
        }
    }

    /// <summary>Stores an incident, or counts it as dropped when the incident caps are reached; true when stored.</summary>
    private bool Commit(IncidentKind kind, string key, string summary, ResetEvent? reset, StarvationEvent? starvation, (int Cpu, double WaitMs)? nearMiss, TrackedReset? tracked, bool injected, long? recordUptimeUs, ulong? hold = null)
    {
        long now = _time.GetTimestamp();
        while (_recentCommits.Count > 0 && now - _recentCommits.Peek() >= Ticks(TimeSpan.FromMinutes(1)))
        {
            _recentCommits.Dequeue();
        }

        if (_recentCommits.Count >= _options.MaxIncidentsPerMinute || _unfinished.Count >= _options.MaxUnfinishedIncidents)
        {
            // A flood of events: the incidents already open hold the recorder windows that matter; these are counted.
            _droppedIncidents++;
            _droppedSinceCommit++;
            _metrics.IncidentDropped(kind.ToJsonName());
            return false;
        }

        _recentCommits.Enqueue(now);
        long from = now - Ticks(_options.WindowBefore);
        IReadOnlyList<string> notes = _droppedSinceCommit == 0 ? [] :
            [string.Create(CultureInfo.InvariantCulture, $"{_droppedSinceCommit} incident(s) before this one were not stored: more than {_options.MaxIncidentsPerMinute} a minute or {_options.MaxUnfinishedIncidents} awaiting their window after ({_droppedIncidents} since start; resetscope_incidents_dropped_total)")];
        _droppedSinceCommit = 0;
        IncidentContent content = Content(kind, key, reset, starvation, nearMiss, injected, from, now, null) with { Notes = notes };
        long? latency = recordUptimeUs is long us ? Math.Max(0, _monotonicUs() - us) : null;
        content = content with { LatencyUs = latency };
        var incident = new Incident
        {
            CreatedUtc = _time.GetUtcNow(),
            Kind = kind,
            Driver = reset?.Driver,
            Dev = reset?.Dev ?? reset?.Pci,
            Reason = reset?.Reason.ToJsonName(),
            EnaReason = reset?.EnaReason,
            Summary = (injected ? "[injected] " : "") + summary,
            BundleJson = IncidentBundle.Write(content),
        };
        long id = _store.Add(incident, SafeCursor(hold));
        _metrics.IncidentWritten(kind.ToJsonName());
        _otlp?.Incident(kind.ToJsonName(), incident.Summary, [new("resetscope.incident.id", id), new("resetscope.event_key", key)], incident.CreatedUtc);
        _unfinished.Add(new Unfinished(id, kind, key, tracked, starvation, nearMiss, injected, from, now, now + Ticks(_options.WindowAfter), content.LatencyUs, incident, hold) { Notes = notes });
        var committed = new CommittedIncident(id, kind, incident.Summary, latency);
        if (_committed.Count >= MaxCommittedListed)
        {
            _committed.RemoveAt(0);
        }

        _committed.Add(committed);
        IncidentCommitted?.Invoke(committed);
        return true;
    }

    /// <summary>Incidents kept in <see cref="Committed"/> (the newest).</summary>
    private const int MaxCommittedListed = 1024;

    /// <summary>The window after has passed: rewrite the bundle with it and the latest version of the event.</summary>
    private void Finish(Unfinished u)
    {
        _unfinished.Remove(u);
        ResetEvent? reset = u.Reset?.Event;
        long now = _time.GetTimestamp();
        IncidentContent content = Content(u.Kind, u.Key, reset, u.Starvation, u.NearMiss, u.Injected, u.From, u.At, Extract(u.At, now, Recorder.Windows(u.At, now))) with
        {
            LatencyUs = u.LatencyUs,
            Repeats = u.Repeats,
            Notes = u.Notes,
        };
        _store.Update(u.Incident with
        {
            Id = u.Id,
            Summary = reset is null ? u.Incident.Summary : (u.Injected ? "[injected] " : "") + Summary(reset), // the outcome may have come since
            Reason = reset?.Reason.ToJsonName() ?? u.Incident.Reason,
            EnaReason = reset?.EnaReason ?? u.Incident.EnaReason,
            BundleJson = IncidentBundle.Write(content),
        });
    }

    private static string Summary(ResetEvent e) =>
        $"{e.Driver} {e.Dev ?? e.Pci}{(e.Queue is int q ? $" queue {q}" : "")}: {e.Reason.ToJsonName()}{(e.EnaReason is { } er ? $" ({er})" : "")}, {e.Outcome.ToJsonName()}";

    private IncidentContent Content(IncidentKind kind, string key, ResetEvent? reset, StarvationEvent? starvation, (int Cpu, double WaitMs)? nearMiss, bool injected, long from, long at, RecorderExtract? after)
    {
        IReadOnlyDictionary<int, CpuWindow> windows = Recorder.Windows(from, at);
        HostCondition condition = _condition ?? new HostCondition(HostCondition.ReadMemcgs(_options.ProcRoot, _options.SysRoot), _crashLoops);
        IReadOnlyList<Finding> findings = Diagnoser.Diagnose(new DiagnosisInput
        {
            Reset = reset,
            ResetSource = reset is null ? null : $"/dev/kmsg seq {reset.Line}",
            QueueCpus = Recorder.QueueCpus,
            CpuWindows = windows,
            Zombies = condition.Zombies,
            CrashLoops = condition.CrashLoops,
            KernelRelease = _facts.KernelRelease,
        });
        return new IncidentContent
        {
            Kind = kind.ToJsonName(),
            EventKey = key,
            BootId = _bootId,
            DetectedUtc = Recorder.ToUtc(at),
            Reset = reset,
            Starvation = starvation,
            NearMiss = nearMiss,
            Injected = injected,
            Host = _facts,
            Findings = findings,
            Before = Extract(from, at, windows, reset, nearMiss?.Cpu ?? starvation?.Cpu),
            After = after,
            Gaps = Recorder.Gaps.Where(g => g.ToTimestamp >= from).Select(g => string.Create(CultureInfo.InvariantCulture, $"{Recorder.ToUtc(g.FromTimestamp):O}: {g.Actual.TotalMilliseconds:0} ms between samples, {g.Expected.TotalMilliseconds:0} ms expected")).ToList(),
            Triggers = Recorder.Triggers.Where(t => t.Timestamp >= from).Select(t => $"{Recorder.ToUtc(t.Timestamp):O}: {t.Why}").ToList(),
        };
    }

    private RecorderExtract Extract(long from, long to, IReadOnlyDictionary<int, CpuWindow> windows, ResetEvent? reset = null, int? cpu = null)
    {
        // Sample-by-sample series for the CPUs that matter: the NAPI CPU, the event's CPU, and the three most starved.
        var cpus = new HashSet<int>();
        int? napi = reset?.NapiCpu ?? (reset?.Queue is int q && Recorder.QueueCpus.TryGetValue(q, out int c) ? c : null);
        if (napi is int n)
        {
            cpus.Add(n);
        }

        if (cpu is int e)
        {
            cpus.Add(e);
        }

        foreach (CpuWindow w in windows.Values.OrderByDescending(w => w.LongestSoftirqWaitMs).ThenByDescending(w => w.NotIdlePct - w.UserPct).Take(3))
        {
            cpus.Add(w.Cpu);
        }

        var series = cpus.Where(x => x >= 0 && x < Recorder.Cpus).ToDictionary(x => x, x => Recorder.Series(x, from, to));
        return new RecorderExtract(Recorder.ToUtc(from), Recorder.ToUtc(to), windows, series, Recorder.ToUtc);
    }

    private void Sample()
    {
        Recorder.Tick();
        _metrics.RecorderSample(_time.GetUtcNow());
        for (int g = _gapsSeen; g < Recorder.Gaps.Count; g++)
        {
            _metrics.RecorderGap();
        }

        _gapsSeen = Recorder.Gaps.Count;
        Host.Cpu.PerCpuSample s = Recorder.Latest!;
        long now = s.Timestamp;
        bool first = Recorder.Samples == 1;
        double intervalMs = Recorder.Interval.TotalMilliseconds;
        for (int cpu = 0; cpu < Recorder.Cpus; cpu++)
        {
            if (!s.Ksoftirqd[cpu].Valid)
            {
                continue;
            }

            ulong wait = s.Ksoftirqd[cpu].RunQueueWaitNs;
            _metrics.SetNapiThreadWait(cpu, _ksoftirqdNames[cpu], wait / 1e9);
            if (!first)
            {
                NearMissCheck(cpu, wait >= _previousWait[cpu] ? (wait - _previousWait[cpu]) / 1e6 : 0, intervalMs, now);
            }

            _previousWait[cpu] = wait;
        }

        for (int i = 0; i < s.NapiThreads.Length; i++)
        {
            if (s.NapiThreads[i].Valid)
            {
                Host.Cpu.SoftirqThread t = Recorder.Sampler.NapiThreads[i];
                _metrics.SetNapiThreadWait(t.Cpu, t.Comm, s.NapiThreads[i].RunQueueWaitNs / 1e9);
            }
        }
    }

    /// <summary>
    /// A softirq thread that kept waiting ≥ 1 s at once and then ran again without a reset: on a NIC queue's CPU a
    /// near miss (a reset needs 5 s), elsewhere softirq starvation.
    /// </summary>
    private void NearMissCheck(int cpu, double waitedMs, double intervalMs, long now)
    {
        bool stillWaiting = waitedMs >= 0.9 * intervalMs;
        if (stillWaiting)
        {
            if (_waitRunMs[cpu] == 0)
            {
                _waitRunStart[cpu] = now;
            }

            _waitRunMs[cpu] += waitedMs;
            return;
        }

        double run = _waitRunMs[cpu] + waitedMs;
        long start = _waitRunStart[cpu];
        _waitRunMs[cpu] = 0;
        if (run < NearMissMs || (_lastResetTs != long.MinValue && _lastResetTs >= start))
        {
            return;
        }

        bool nicCpu = Recorder.QueueCpus.Count == 0 || Recorder.QueueCpus.Values.Contains(cpu);
        string key = string.Create(CultureInfo.InvariantCulture, $"wait|{cpu}|{Recorder.ToUtc(start):O}");
        if (nicCpu && run < ResetMs)
        {
            _metrics.NearMiss(cpu);
            _ = Commit(IncidentKind.NearMiss, key, string.Create(CultureInfo.InvariantCulture, $"near miss: CPU {cpu}'s softirq work waited {run / 1000:0.0} s (a reset needs 5 s)"), null, null, (cpu, run), null, false, null);
        }
        else
        {
            var e = new StarvationEvent { File = "flight recorder", Type = "softirq-wait", Cpu = cpu, DurationS = Math.Round(run / 1000, 3) };
            _metrics.Starvation(e);
            _ = Commit(IncidentKind.Starvation, key, string.Create(CultureInfo.InvariantCulture, $"softirq work on CPU {cpu} waited {run / 1000:0.0} s"), null, e, null, null, false, null);
        }
    }

    /// <summary>
    /// The cursor that is safe to persist: just before the first record of any reset still pending or whose incident
    /// is not finished (a restart re-reads it whole: a committed one is recognized by its key, a pending one is not
    /// lost), else the last record read.
    /// </summary>
    private KmsgCursor? SafeCursor(ulong? hold = null)
    {
        if (_lastSeq is not ulong last)
        {
            return null;
        }

        IEnumerable<ulong> held = _tracked.Values.Where(t => !t.Committed).Select(t => t.FirstSequence)
            .Concat(_unfinished.Where(u => u.FirstSequence.HasValue).Select(u => u.FirstSequence!.Value));
        if (hold is ulong h)
        {
            held = held.Append(h);
        }

        ulong safe = last;
        foreach (ulong first in held)
        {
            if (first == 0)
            {
                return null; // sequence 0 is held: nothing before it to persist
            }

            safe = Math.Min(safe, first - 1);
        }

        return new KmsgCursor(_bootId, safe);
    }

    private static (string Boot, string Key)? BundleKey(string bundle)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(bundle);
            return doc.RootElement.TryGetProperty("boot_id", out var boot) && doc.RootElement.TryGetProperty("event_key", out var key)
                ? (boot.GetString() ?? "", key.GetString() ?? "")
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string ReadBootId(string procRoot)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procRoot, "sys/kernel/random/boot_id")).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown-boot";
        }
    }

    /// <summary>A reset the assembler reported: its latest version, and whether its incident is stored.</summary>
    private sealed class TrackedReset(string key, long firstSeen)
    {
        public string Key { get; } = key;

        public long FirstSeen { get; } = firstSeen;

        public ResetEvent? Event { get; set; }

        public ulong FirstSequence { get; set; }

        public long? LastUptimeUs { get; set; }

        public bool Closed { get; set; }

        public bool Committed { get; set; }
    }

    private sealed record Unfinished(long Id, IncidentKind Kind, string Key, TrackedReset? Reset, StarvationEvent? Starvation, (int Cpu, double WaitMs)? NearMiss, bool Injected, long From, long At, long Due, long? LatencyUs, Incident Incident, ulong? FirstSequence)
    {
        /// <summary>Events of the same kind and CPU folded into this incident while it was open (itself included).</summary>
        public int Repeats { get; set; } = 1;

        public IReadOnlyList<string> Notes { get; init; } = [];
    }

    /// <summary>A set of strings that forgets the oldest past its capacity.</summary>
    private sealed class KnownKeys(int capacity)
    {
        private readonly HashSet<string> _set = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        public bool Contains(string key) => _set.Contains(key);

        public bool Add(string key)
        {
            if (!_set.Add(key))
            {
                return false;
            }

            _order.Enqueue(key);
            if (_order.Count > capacity)
            {
                _set.Remove(_order.Dequeue());
            }

            return true;
        }
    }

    /// <summary>Sequence numbers as runs of consecutive ones; forgets the oldest runs past its capacity.</summary>
    private sealed class SequenceRanges(int capacity)
    {
        private readonly List<(ulong From, ulong To)> _runs = [];

        public void Add(ulong seq)
        {
            if (_runs.Count > 0 && _runs[^1].To + 1 == seq)
            {
                _runs[^1] = (_runs[^1].From, seq);
                return;
            }

            if (_runs.Count == capacity)
            {
                _runs.RemoveAt(0);
            }

            _runs.Add((seq, seq));
        }

        public bool Contains(ulong seq)
        {
            for (int i = _runs.Count - 1; i >= 0; i--)
            {
                if (seq >= _runs[i].From && seq <= _runs[i].To)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
