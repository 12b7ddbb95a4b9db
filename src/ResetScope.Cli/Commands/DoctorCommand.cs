using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ResetScope.Cli.Rendering;
using ResetScope.Core;
using ResetScope.Diagnosis;
using ResetScope.Diagnosis.Recording;
using ResetScope.Host;
using ResetScope.Host.Cgroups;
using ResetScope.Host.Cpu;
using ResetScope.Host.Nic;
using ResetScope.Host.Recorder;
using ResetScope.Host.Services;
using Spectre.Console;
using ResetScope.Host.Kmsg;
using ResetScope.KernelLog;

namespace ResetScope.Cli.Commands;

/// <summary>
/// <c>resetscope doctor</c>. This build reports what ResetScope can read on this host — kernel, CPUs, NICs and
/// their drivers, the kernel log, cgroup hierarchies, privileges. Reset triage (kernel-log scan, per-core
/// sampling, ranked findings) is not in this build yet, and the command says so rather than pretending.
/// </summary>
public static class DoctorCommand
{
    public static Command Create(IConsole console, IRecorderClock clock)
    {
        var json = new Option<bool>("--json") { Description = "one JSON object with the host facts" };
        var procRoot = new Option<string>("--proc-root") { Description = "where procfs is mounted", DefaultValueFactory = _ => "/proc" };
        var sysRoot = new Option<string>("--sys-root") { Description = "where sysfs is mounted", DefaultValueFactory = _ => "/sys" };
        var kmsg = new Option<string>("--kmsg") { Description = "the kernel log device", DefaultValueFactory = _ => "/dev/kmsg" };
        var logRoot = new Option<string?>("--log-root") { Description = "read service restart lines from syslog/messages here instead of the journal" };
        var ethtoolDir = new Option<string?>("--ethtool-dir") { Description = "read each interface's ethtool -S from DIR/<iface>.txt (a capture) instead of asking the NIC" };
        var sample = new Option<string>("--sample") { Description = "how long to sample every CPU (e.g. 10s; 0 to skip)", DefaultValueFactory = _ => "10s" };
        var command = new Command("doctor", "Check this host: what ResetScope can read here (kernel, NICs and drivers, kernel log, cgroups, privileges).")
        {
            json, procRoot, sysRoot, kmsg, logRoot, sample, ethtoolDir,
        };
        command.SetAction(parse =>
        {
            string proc = parse.GetValue(procRoot)!;
            if (!Directory.Exists(proc))
            {
                throw new UserFacingException($"{proc}: no such directory; --proc-root must point at a procfs tree");
            }

            HostFacts facts = HostFacts.Read(proc, parse.GetValue(sysRoot)!);
            KernelLogSummary log = ReadKernelLog(parse.GetValue(kmsg)!, parse.GetResult(kmsg) is null || parse.GetResult(kmsg)!.Implicit);
            TimeSpan duration = Durations.Parse(parse.GetValue(sample)!, "--sample", TimeSpan.FromHours(1));
            CpuSampling? cpus = null;
            if (duration > TimeSpan.Zero)
            {
                try
                {
                    cpus = SampleCpus(proc, duration, console, clock);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
                {
                    console.Error.WriteLine($"resetscope: doctor: CPUs not sampled: {e.Message}");
                }
            }
            HostCondition host = HostCondition.Read(proc, parse.GetValue(sysRoot)!, parse.GetValue(logRoot));
            IReadOnlyList<NicCounters> counters = ReadCounters(facts, parse.GetValue(sysRoot)!, parse.GetValue(ethtoolDir));
            MemcgZombieResult? memcgs = host.Memcgs;
            IReadOnlyList<Finding> findings = Findings(facts, log, cpus, host, counters);
            if (parse.GetValue(json))
            {
                WriteJson(console.Out, facts, log, findings, cpus, memcgs, counters);
            }
            else
            {
                WriteHuman(console.Out, facts, log, findings, cpus, memcgs, counters, new NicSysfsProbe(parse.GetValue(sysRoot)!));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>What the kernel log since boot says: where it came from, records read, lost, and the resets and starvation it holds.</summary>
    private sealed record KernelLogSummary(string Source, int Records, ulong Lost, string? Problem, IReadOnlyList<ResetEvent> Resets, IReadOnlyList<StarvationEvent> Starvations, int UserSpaceRecords);

    /// <summary>/dev/kmsg (or a capture of it); when the device cannot be opened, dmesg -x, then the journal's kernel lines.</summary>
    private static KernelLogSummary ReadKernelLog(string path, bool fallBack)
    {
        List<KmsgRecord>? records = null;
        ulong lost = 0;
        string source = path;
        var problems = new List<string>();
        try
        {
            using var reader = new KmsgReader(KmsgSource.Open(path));
            records = reader.ReadAll();
            lost = reader.Lost;
        }
        catch (IOException e)
        {
            problems.Add(e.Message);
        }

        if (records is null && fallBack)
        {
            records = KernelLogFallback.FromDmesg(out string? dmesgProblem);
            source = "dmesg -x";
            if (records is null)
            {
                problems.Add(dmesgProblem!);
                string? journal = KernelLogFallback.FromJournal(out string? journalProblem);
                if (journal is null)
                {
                    problems.Add(journalProblem!);
                }
                else
                {
                    (IReadOnlyList<ResetEvent> r, IReadOnlyList<StarvationEvent> st) = Scan(journal);
                    return new KernelLogSummary("journalctl -k -b", journal.Count(c => c == '\n'), 0, null, r, st, 0);
                }
            }
        }

        if (records is null)
        {
            return new KernelLogSummary(path, 0, 0, string.Join("; ", problems), [], [], 0);
        }

        // Only kernel-facility records can be driver events; user-space writes are counted, never scanned.
        var text = new System.Text.StringBuilder();
        int user = 0;
        foreach (KmsgRecord r in records)
        {
            if (!r.FromKernel)
            {
                user++;
                continue;
            }

            r.AppendAsDmesg(text);
        }

        (IReadOnlyList<ResetEvent> resets, IReadOnlyList<StarvationEvent> starvations) = Scan(text.ToString());
        return new KernelLogSummary(source, records.Count, lost, null, resets, starvations, user);
    }

    private static (IReadOnlyList<ResetEvent> Resets, IReadOnlyList<StarvationEvent> Starvations) Scan(string text)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        ScanReport? report = ScanRunner.Scan(["-"], new ScanOptions { Format = LogFormat.Auto, Parallelism = 1 }, TextWriter.Null, stream);
        return (report?.Resets.Select(x => x.Event).ToList() ?? [], report?.Starvations.ToList() ?? []);
    }

    /// <summary>
    /// Runs the flight recorder over every CPU for <paramref name="duration"/> (1 s, 100 ms after a trigger; threads
    /// swept each second, kernel stacks of the threads on starved CPUs) and returns each CPU's window and the NIC
    /// queue → CPU map.
    /// </summary>
    private static CpuSampling SampleCpus(string proc, TimeSpan duration, IConsole console, IRecorderClock clock)
    {
        var options = new CpuRecorderOptions { Retention = duration + TimeSpan.FromSeconds(2), FastFor = TimeSpan.FromSeconds(5), FastBursts = 2 + (int)(duration.TotalSeconds / 5) };
        using var recorder = new CpuRecorder(proc, clock.Time, options);
        TimeProvider time = clock.Time;
        long start = time.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * time.TimestampFrequency);

        void TakeSamples(Action<double>? progress)
        {
            recorder.Tick();
            while (time.GetTimestamp() < end)
            {
                clock.WaitUntil(Math.Min(recorder.DueAt, end));
                recorder.Tick();
                progress?.Invoke(Math.Min(1, time.GetElapsedTime(start).TotalSeconds / duration.TotalSeconds));
            }
        }

        if (console is SystemConsole && !Console.IsErrorRedirected)
        {
            AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }).Progress().AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask task = ctx.AddTask($"sampling {recorder.Cpus} CPUs", maxValue: 1);
                    TakeSamples(f => task.Value = f);
                });
        }
        else
        {
            TakeSamples(null);
        }

        return new CpuSampling(recorder.Windows(start, time.GetTimestamp()), new Dictionary<int, int>(recorder.QueueCpus), [.. recorder.Gaps], recorder.Samples, [.. recorder.Triggers]);
    }

    private sealed record CpuSampling(IReadOnlyDictionary<int, CpuWindow> Windows, IReadOnlyDictionary<int, int> QueueCpus, IReadOnlyList<RecorderGap> Gaps, long Samples, IReadOnlyList<RecorderTrigger> Triggers);

    /// <summary>
    /// Findings: the host's state (zombie memcgs and who leaked them, crash-looping units) and, when sampled,
    /// every CPU's window (starvation and its consumer, steal, near misses, IRQ placement), joined with the
    /// latest reset in the kernel log.
    /// </summary>
    /// <summary>An ENA interface's own counters (ethtool -S), or why they could not be read.</summary>
    private sealed record NicCounters(NetInterface Nic, string Source, EnaCounters? Counters, string? Problem);

    private static List<NicCounters> ReadCounters(HostFacts facts, string sys, string? captures)
    {
        var list = new List<NicCounters>();
        foreach (NetInterface nic in facts.Interfaces.Where(n => n.Driver == "ena"))
        {
            string source = captures is null ? $"ethtool -S {nic.Name}" : Path.Combine(captures, nic.Name + ".txt");
            EnaCounters? counters = captures is null
                ? EnaCounters.TryRead(nic.Name, out string? problem, sys)
                : EnaCounters.TryRead(nic.Name, out problem, sys, iface => File.Exists(source) ? EthtoolStats.ParseText(File.ReadAllText(source)) : throw new IOException($"{source}: no such file"));
            list.Add(new NicCounters(nic, source, counters, problem));
        }

        return list;
    }

    private static IReadOnlyList<Finding> Findings(HostFacts facts, KernelLogSummary log, CpuSampling? cpus, HostCondition host, IReadOnlyList<NicCounters> counters)
    {
        ResetEvent? reset = log.Resets.Count > 0 ? log.Resets[^1] : null;
        NicCounters? device = counters.FirstOrDefault(c => c.Counters is not null && (reset is null || reset.Dev == c.Nic.Name || reset.Pci == c.Nic.BusId))
            ?? counters.FirstOrDefault(c => c.Counters is not null);
        var input = new DiagnosisInput
        {
            Reset = log.Resets.Count > 0 ? log.Resets[^1] : null,
            ResetSource = log.Resets.Count > 0 ? $"{log.Source} [{log.Resets[^1].Ts}]" : null,
            Zombies = host.Zombies,
            CrashLoops = host.CrashLoops,
            KernelRelease = facts.KernelRelease,
            QueueCpus = cpus?.QueueCpus ?? new Dictionary<int, int>(),
            CpuWindows = cpus?.Windows ?? new Dictionary<int, CpuWindow>(),
            DeviceCounters = device is { Counters: { } c } ? DeviceCounters.From(c, device.Source, device.Nic.Name, device.Nic.BusId) : null,
        };
        return Diagnoser.Diagnose(input);
    }

    private static void WriteHuman(TextWriter w, HostFacts f, KernelLogSummary log, IReadOnlyList<Finding> findings, CpuSampling? cpus, MemcgZombieResult? memcgs, IReadOnlyList<NicCounters> enaCounters, NicSysfsProbe nics)
    {
        string uptime = f.UptimeSeconds is double u ? string.Create(CultureInfo.InvariantCulture, $" · up {u / 3600:0.0} h") : "";
        w.WriteLine($"resetscope doctor · kernel {f.KernelRelease ?? "unknown"} · {f.Cpus} CPUs{uptime}");
        w.WriteLine(log.Problem is null
            ? $"  kernel log      {log.Records} records since boot from {log.Source} ({log.UserSpaceRecords} written from user space, ignored){(log.Lost > 0 ? $", {log.Lost} lost to overwrites" : "")}"
            : $"  kernel log      not readable: {log.Problem}");
        foreach (NetInterface nic in f.Interfaces)
        {
            string driver = nic.Driver is null ? "no driver (virtual)" : nic.Driver + (nic.DriverVersion is { } v ? $" {v}" : "");
            string bus = nic.BusId is null ? "" : $" at {nic.BusId}";
            NicQueueState q = nics.Read(nic.Name);
            string counters = q.CarrierChanges is long cc ? $"; netdev watchdog timeouts {q.TxTimeoutTotal}, carrier changes {cc}" : "";
            w.WriteLine($"  interface       {nic.Name}: {driver}{bus}, {nic.TxQueues} Tx queue(s){counters}");
            if (enaCounters.FirstOrDefault(c => c.Nic == nic) is { } ec)
            {
                w.WriteLine(ec.Counters is { } k
                    ? $"  ena counters    {nic.Name} since the driver loaded: {k.Summary()}"
                    : $"  ena counters    {nic.Name}: not read ({ec.Problem})");
            }
        }

        string cg = (f.CgroupV1Memory, f.CgroupV2) switch
        {
            (true, true) => "v1 memory hierarchy and a v2 hierarchy",
            (true, false) => "v1 memory hierarchy",
            (false, true) => "v2 hierarchy",
            _ => "none found",
        };
        string dying = memcgs is { } m
            ? string.Create(CultureInfo.InvariantCulture, $": {m.KernelCount} known to the kernel, {m.LiveDirectories} live, {m.Zombies} dying")
            : "";
        w.WriteLine($"  memory cgroups  {cg}{dying}");
        IReadOnlyList<int> banned = nics.IrqbalanceBannedCpus();
        if (banned.Count > 0)
        {
            w.WriteLine($"  irqbalance      keeps IRQs off CPU(s) {string.Join(",", banned)}");
        }

        w.WriteLine($"  privileges      {(f.IsRoot ? "root" : "unprivileged: /dev/kmsg needs CAP_SYSLOG, kernel stacks need root")}");
        List<NetInterface> ena = f.Interfaces.Where(n => n.Driver == "ena").ToList();
        w.WriteLine();
        if (log.Problem is null)
        {
            w.WriteLine(log.Resets.Count == 0
                ? "No network-driver reset in the kernel log since boot."
                : $"Network-driver resets since boot: {log.Resets.Count}");
            foreach (ResetEvent e in log.Resets)
            {
                string q = e.Queue is int qq ? $" queue {qq}" : "";
                w.WriteLine($"  [{e.Ts}] {e.Driver} {e.Dev ?? e.Pci}{q}: {e.Reason.ToJsonName()}{(e.EnaReason is { } er ? $" ({er})" : "")}, {e.Outcome.ToJsonName()}");
            }

            foreach (StarvationEvent s in log.Starvations)
            {
                w.WriteLine($"  [{s.Ts}] CPU starvation evidence: {s.Type}{(s.Cpu is int c ? $" on CPU {c}" : "")}{(s.Comm is { } comm ? $" ({comm})" : "")}");
            }
        }

        w.WriteLine(ena.Count > 0
            ? $"ENA interfaces: {string.Join(", ", ena.Select(n => n.Name))}."
            : "No ENA interface on this host; `resetscope simulate` runs the ENA reset mechanism anywhere.");
        if (cpus is not null)
        {
            CpuWindow busiest = cpus.Windows.Values.OrderByDescending(x => x.NotIdlePct).First();
            CpuWindow waitiest = cpus.Windows.Values.OrderByDescending(x => x.LongestSoftirqWaitMs).First();
            string fast = cpus.Triggers.Count == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", at 100 ms after {cpus.Triggers.Count} trigger(s) such as {cpus.Triggers[0].Why}");
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  sampled         {cpus.Windows.Count} CPUs for {busiest.Seconds:0.#} s ({cpus.Samples} samples{fast}): busiest CPU {busiest.Cpu} at {busiest.NotIdlePct:0.#} % ({busiest.SysPct:0.#} % sys, {busiest.SoftPct:0.#} % soft, {busiest.StealPct:0.#} % steal); longest ksoftirqd wait {waitiest.LongestSoftirqWaitMs:0} ms on CPU {waitiest.Cpu}; {cpus.QueueCpus.Count} NIC queue IRQ(s) mapped{(cpus.Gaps.Count > 0 ? $"; the sampler itself was late {cpus.Gaps.Count} time(s)" : "")}"));
        }

        w.WriteLine();
        if (findings.Count == 0)
        {
            w.WriteLine(cpus is null
                ? "Findings: none — no zombie memory cgroups piling up and no crash-looping unit (CPUs not sampled: --sample 0)."
                : "Findings: none — no CPU starved softirq work, no zombie memory cgroups piling up, no crash-looping unit.");
        }
        else
        {
            w.WriteLine("Findings (most likely first):");
            int n = 1;
            foreach (Finding x in findings)
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {n++}. {x.Title}  [{Finding.KindName(x.Kind)}, confidence {x.Confidence:0.00}]"));
                foreach (Evidence e in x.Evidence)
                {
                    w.WriteLine($"       evidence: {e.Text} ({e.Source})");
                }

                w.WriteLine($"       do: {x.Remedy}");
            }
        }

        if (!f.IsRoot)
        {
            w.WriteLine();
            w.WriteLine("Unprivileged, so these were not checked:");
            if (log.Problem is not null)
            {
                w.WriteLine("  - resets in the kernel log: /dev/kmsg needs root or CAP_SYSLOG (or run `resetscope scan /var/log/kern.log`)");
            }

            w.WriteLine("  - the kernel functions a starving thread runs: /proc/<pid>/task/<tid>/stack needs root (CAP_SYS_ADMIN since Linux 4.20, not only CAP_SYS_PTRACE)");
        }
    }

    private static void WriteJson(TextWriter w, HostFacts f, KernelLogSummary log, IReadOnlyList<Finding> findings, CpuSampling? cpus, MemcgZombieResult? memcgs, IReadOnlyList<NicCounters> counters)
    {
        using var lines = new JsonLines(w);
        lines.Write(j =>
        {
            j.WriteStartObject();
            j.WriteString("kind", "host");
            j.WriteString("kernel", f.KernelRelease);
            j.WriteNumber("cpus", f.Cpus);
            if (f.UptimeSeconds is double u)
            {
                j.WriteNumber("uptime_s", u);
            }
            else
            {
                j.WriteNull("uptime_s");
            }

            j.WriteBoolean("kernel_log_readable", log.Problem is null);
            j.WriteString("kernel_log_source", log.Source);
            j.WriteString("kernel_log_problem", log.Problem);
            j.WriteNumber("kernel_log_records", log.Records);
            j.WriteNumber("kernel_log_lost", log.Lost);
            j.WriteNumber("resets_since_boot", log.Resets.Count);
            f.WriteInterfacesJson(j);
            j.WriteBoolean("cgroup_v1_memory", f.CgroupV1Memory);
            j.WriteBoolean("cgroup_v2", f.CgroupV2);
            if (memcgs is { } m)
            {
                j.WriteString("memcg_hierarchy", m.Hierarchy.ToString().ToLowerInvariant());
                j.WriteNumber("memcg_kernel_count", m.KernelCount);
                j.WriteNumber("memcg_live", m.LiveDirectories);
                j.WriteNumber("memcg_zombies", m.Zombies);
            }
            else
            {
                j.WriteNull("memcg_hierarchy");
                j.WriteNull("memcg_kernel_count");
                j.WriteNull("memcg_live");
                j.WriteNull("memcg_zombies");
            }

            j.WriteStartArray("ena_counters");
            foreach (NicCounters c in counters)
            {
                j.WriteStartObject();
                j.WriteString("dev", c.Nic.Name);
                j.WriteString("source", c.Source);
                j.WriteString("problem", c.Problem);
                if (c.Counters is { } k)
                {
                    j.WriteNumber("total_resets", k.TotalResets ?? 0);
                    j.WriteNumber("reset_fail", k.ResetFail ?? 0);
                    j.WriteStartObject("resets_by_reason");
                    foreach (EnaReasonCount r in k.ResetsByReason)
                    {
                        j.WriteNumber(r.Counter.EnaReason, r.Value);
                    }

                    j.WriteEndObject();
                    j.WriteString("summary", k.Summary());
                }

                j.WriteEndObject();
            }

            j.WriteEndArray();
            j.WriteBoolean("root", f.IsRoot);
            j.WriteNumber("sampled_cpus", cpus?.Windows.Count ?? 0);
            j.WriteNumber("samples", cpus?.Samples ?? 0);
            j.WriteNumber("sampler_gaps", cpus?.Gaps.Count ?? 0);
            j.WriteNumber("fast_triggers", cpus?.Triggers.Count ?? 0);
            j.WriteNumber("findings", findings.Count);
            j.WriteEndObject();
        });
        foreach (ResetEvent e in log.Resets)
        {
            lines.Write(j =>
            {
                EventJson.Write(j, e);
            });
        }

        foreach (CpuWindow c in cpus?.Windows.Values.OrderBy(x => x.Cpu) ?? Enumerable.Empty<CpuWindow>())
        {
            lines.Write(j =>
            {
                j.WriteStartObject();
                j.WriteString("kind", "cpu");
                CpuWindowJson.WriteFields(j, c);
                j.WriteString("top_thread", c.Threads.Count > 0 ? c.Threads[0].Comm : null);
                j.WriteEndObject();
            });
        }

        foreach (Finding x in findings)
        {
            lines.Write(j =>
            {
                x.WriteJson(j);
            });
        }
    }
}
