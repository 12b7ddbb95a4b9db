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

namespace ResetScope.Agent.Service;

/// <summary>An incident the agent committed: its id, kind, one-line summary and how long it took from the kernel record.</summary>
public sealed record CommittedIncident(long Id, IncidentKind Kind, string Summary, long? LatencyUs);

/// <summary>
/// The agent's work, one <see cref="Step"/> at a time on one thread: drain /dev/kmsg (resuming after the persisted
/// cursor), find resets, starvation and precursor lines as they arrive, run the flight recorder, and for each reset,
/// near miss or starvation event commit an incident (the event, the recorder window before it, host facts,
/// findings) — completed with the window after it once that has passed — and update the metrics. The caller owns
/// the loop and the waiting (<see cref="AgentRunner"/> in production, a manual clock in tests).
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
    private readonly KernelEventWatcher _watcher = new();
    private readonly HashSet<string> _known = [];
    private readonly Dictionary<string, Pending> _pending = [];
    private readonly List<Unfinished> _unfinished = [];
    private readonly Dictionary<string, ResetEvent> _latest = [];
    private readonly HashSet<ulong> _injected = [];
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
    private ulong? _resumeAfter;
    private ulong? _lastSeq;
    private ulong _lostSeen;
    private int _gapsSeen;
    private bool _fresh;
    private long _lastResetTs = long.MinValue;

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

    /// <summary>Incidents committed since start, oldest first.</summary>
    public IReadOnlyList<CommittedIncident> Committed => _committed;

    /// <summary>Raised after each commit (on the agent's thread).</summary>
    public event Action<CommittedIncident>? IncidentCommitted;

    /// <summary>The earliest time (a timestamp of the injected clock) at which <see cref="Step"/> has timed work to do.</summary>
    public long NextDeadline
    {
        get
        {
            long next = Recorder.DueAt;
            foreach (Pending p in _pending.Values)
            {
                next = Math.Min(next, p.FirstSeen + Ticks(_options.Settle));
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
        if (_fresh)
        {
            _fresh = false;
            Handle(_watcher.Rescan());
        }

        long now = _time.GetTimestamp();
        if (_pending.Count > 0)
        {
            foreach (Pending p in _pending.Values.Where(p => now - p.FirstSeen >= Ticks(_options.Settle)).ToList())
            {
                CommitReset(p.Reset);
            }
        }

        if (now >= Recorder.DueAt)
        {
            Sample();
        }

        if (_unfinished.Count > 0)
        {
            foreach (Unfinished u in _unfinished.Where(u => now >= u.Due).ToList())
            {
                Finish(u);
            }
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
            if (SafeCursor() is { } cursor)
            {
                _store.SaveCursor(cursor);
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
        foreach (Pending p in _pending.Values.ToList())
        {
            CommitReset(p.Reset);
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
        while (_kmsg.Next() is { } record)
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
            KmsgRecord trusted = record;
            if (!record.FromKernel)
            {
                if (_options.TrustedTestTag is not { } tag || !record.Text.StartsWith(tag, StringComparison.Ordinal))
                {
                    continue; // user space can write anything to /dev/kmsg: never a driver event
                }

                trusted = record with { Facility = 0, Text = record.Text[tag.Length..] };
                _injected.Add(record.Sequence);
            }

            _watcher.Add(trusted);
            _fresh = true;
        }

        if (_kmsg.Lost > _lostSeen)
        {
            _metrics.KmsgLost(_kmsg.Lost - _lostSeen);
            _lostSeen = _kmsg.Lost;
        }
    }

    private void Handle(WatchResult found)
    {
        // Every reset in flight is pending before any is committed, so a commit's cursor never skips one.
        foreach (WatchedReset r in found.Resets)
        {
            _latest[r.Key] = r.Event;
            if (_known.Contains(r.Key))
            {
                continue; // committed already (maybe before a restart); Finish picks up the latest version
            }

            _pending[r.Key] = _pending.TryGetValue(r.Key, out Pending? p) ? p with { Reset = r } : new Pending(r, _time.GetTimestamp());
        }

        foreach (Pending p in _pending.Values.Where(p => p.Reset.Event.Outcome != ResetOutcome.Unknown).ToList())
        {
            CommitReset(p.Reset);
        }

        foreach ((StarvationEvent e, ulong seq) in found.Starvations)
        {
            string key = $"starvation|{e.Type}|{seq}";
            if (_known.Add(key))
            {
                _metrics.Starvation(e);
                Commit(IncidentKind.Starvation, key, $"{e.Type}{(e.Cpu is int c ? $" on CPU {c}" : "")}{(e.Comm is { } comm ? $" ({comm})" : "")}", null, e, null, null, _injected.Contains(seq), seq);
            }
        }

        foreach ((PrecursorEvent e, ulong _) in found.Precursors)
        {
            int cpu = e.Queue is int q && Recorder.QueueCpus.TryGetValue(q, out int c) ? c : -1;
            Recorder.Trigger(cpu, e.Text);
        }
    }

    private void CommitReset(WatchedReset r)
    {
        _pending.Remove(r.Key);
        if (!_known.Add(r.Key))
        {
            return;
        }

        ResetEvent e = r.Event;
        _lastResetTs = _time.GetTimestamp();
        _metrics.ResetSeen(e);
        _otlp?.Reset(e);
        string summary = Summary(e);
        bool injected = r.Sequences.Any(_injected.Contains);
        // Latency runs from the record that made the reset known in full (its newest) to the commit.
        Commit(IncidentKind.Reset, r.Key, summary, e, null, null, r.Key, injected, r.Sequences.Count > 0 ? r.Sequences.Max() : r.FirstSequence, r.FirstSequence);
        int cpu = e.NapiCpu ?? (e.Queue is int qq && Recorder.QueueCpus.TryGetValue(qq, out int c) ? c : -1);
        Recorder.Trigger(cpu, summary);
    }

    private void Commit(IncidentKind kind, string key, string summary, ResetEvent? reset, StarvationEvent? starvation, (int Cpu, double WaitMs)? nearMiss, string? resetKey, bool injected, ulong? sequence, ulong? hold = null)
    {
        long now = _time.GetTimestamp();
        long from = now - Ticks(_options.WindowBefore);
        IncidentContent content = Content(kind, key, reset, starvation, nearMiss, injected, from, now, null);
        long? latency = sequence is ulong seq && _watcher.TimestampOf(seq) is long us ? Math.Max(0, _monotonicUs() - us) : null;
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
        _unfinished.Add(new Unfinished(id, kind, key, resetKey, starvation, nearMiss, injected, from, now, now + Ticks(_options.WindowAfter), content.LatencyUs, incident, hold));
        var committed = new CommittedIncident(id, kind, incident.Summary, latency);
        _committed.Add(committed);
        IncidentCommitted?.Invoke(committed);
    }

    /// <summary>The window after has passed: rewrite the bundle with it and the latest version of the event.</summary>
    private void Finish(Unfinished u)
    {
        _unfinished.Remove(u);
        ResetEvent? reset = u.ResetKey is { } k && _latest.TryGetValue(k, out ResetEvent? latest) ? latest : null;
        long now = _time.GetTimestamp();
        IncidentContent content = Content(u.Kind, u.Key, reset, u.Starvation, u.NearMiss, u.Injected, u.From, u.At, Extract(u.At, now, Recorder.Windows(u.At, now))) with { LatencyUs = u.LatencyUs };
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
            Commit(IncidentKind.NearMiss, key, string.Create(CultureInfo.InvariantCulture, $"near miss: CPU {cpu}'s softirq work waited {run / 1000:0.0} s (a reset needs 5 s)"), null, null, (cpu, run), null, false, null);
        }
        else
        {
            var e = new StarvationEvent { File = "flight recorder", Type = "softirq-wait", Cpu = cpu, DurationS = Math.Round(run / 1000, 3) };
            _metrics.Starvation(e);
            Commit(IncidentKind.Starvation, key, string.Create(CultureInfo.InvariantCulture, $"softirq work on CPU {cpu} waited {run / 1000:0.0} s"), null, e, null, null, false, null);
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

        IEnumerable<ulong> held = _pending.Values.Select(p => p.Reset.FirstSequence)
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

    private sealed record Pending(WatchedReset Reset, long FirstSeen);

    private sealed record Unfinished(long Id, IncidentKind Kind, string Key, string? ResetKey, StarvationEvent? Starvation, (int Cpu, double WaitMs)? NearMiss, bool Injected, long From, long At, long Due, long? LatencyUs, Incident Incident, ulong? FirstSequence);
}
