using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ResetScope.Cli.Rendering;
using ResetScope.Core;
using ResetScope.Diagnosis;
using ResetScope.Host;
using ResetScope.Host.Cgroups;
using ResetScope.Host.Cpu;
using ResetScope.Host.Nic;
using ResetScope.Host.Recorder;
using ResetScope.Host.Services;
using ResetScope.Host.Threads;
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
    public static Command Create(IConsole console)
    {
        var json = new Option<bool>("--json") { Description = "one JSON object with the host facts" };
        var procRoot = new Option<string>("--proc-root") { Description = "where procfs is mounted", DefaultValueFactory = _ => "/proc" };
        var sysRoot = new Option<string>("--sys-root") { Description = "where sysfs is mounted", DefaultValueFactory = _ => "/sys" };
        var kmsg = new Option<string>("--kmsg") { Description = "the kernel log device", DefaultValueFactory = _ => "/dev/kmsg" };
        var logRoot = new Option<string?>("--log-root") { Description = "read service restart lines from syslog/messages here instead of the journal" };
        var sample = new Option<string>("--sample") { Description = "how long to sample every CPU (e.g. 10s; 0 to skip)", DefaultValueFactory = _ => "10s" };
        var command = new Command("doctor", "Check this host: what ResetScope can read here (kernel, NICs and drivers, kernel log, cgroups, privileges).")
        {
            json, procRoot, sysRoot, kmsg, logRoot, sample,
        };
        command.SetAction(parse =>
        {
            string proc = parse.GetValue(procRoot)!;
            if (!Directory.Exists(proc))
            {
                throw new UserFacingException($"{proc}: no such directory; --proc-root must point at a procfs tree");
            }

            HostFacts facts = HostFacts.Read(proc, parse.GetValue(sysRoot)!);
            KernelLogSummary log = ReadKernelLog(parse.GetValue(kmsg)!);
            TimeSpan duration = ParseSampleDuration(parse.GetValue(sample)!);
            CpuSampling? cpus = null;
            if (duration > TimeSpan.Zero)
            {
                try
                {
                    cpus = SampleCpus(proc, duration, console);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
                {
                    console.Error.WriteLine($"resetscope: doctor: CPUs not sampled: {e.Message}");
                }
            }
            IReadOnlyList<Finding> findings = Findings(proc, parse.GetValue(sysRoot)!, parse.GetValue(logRoot), facts, log, cpus);
            if (parse.GetValue(json))
            {
                WriteJson(console.Out, facts, log, findings, cpus);
            }
            else
            {
                WriteHuman(console.Out, facts, log, findings, cpus, new NicSysfsProbe(parse.GetValue(sysRoot)!));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>What the kernel log since boot says: records read, lost, and the resets and starvation it holds.</summary>
    private sealed record KernelLogSummary(int Records, ulong Lost, string? Problem, IReadOnlyList<ResetEvent> Resets, IReadOnlyList<StarvationEvent> Starvations, int UserSpaceRecords);

    private static KernelLogSummary ReadKernelLog(string path)
    {
        List<KmsgRecord> records;
        ulong lost;
        try
        {
            using var reader = new KmsgReader(DevKmsg.Open(path));
            records = reader.ReadAll();
            lost = reader.Lost;
        }
        catch (IOException e)
        {
            return new KernelLogSummary(0, 0, e.Message, [], [], 0);
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

            foreach (string line in r.Text.Split('\n'))
            {
                text.Append('[').Append((r.TimestampUs / 1_000_000).ToString(CultureInfo.InvariantCulture).PadLeft(5)).Append('.')
                    .Append((r.TimestampUs % 1_000_000).ToString("D6", CultureInfo.InvariantCulture)).Append("] ").Append(line).Append('\n');
            }
        }

        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
        ScanReport? report = ScanRunner.Scan(["-"], new ScanOptions { Format = LogFormat.Auto, Parallelism = 1 }, TextWriter.Null, stream);
        return new KernelLogSummary(records.Count, lost, null, report?.Resets.Select(x => x.Event).ToList() ?? [], report?.Starvations.ToList() ?? [], user);
    }

    private static TimeSpan ParseSampleDuration(string text)
    {
        string t = text.Trim();
        double scale = t.EndsWith("ms", StringComparison.Ordinal) ? 0.001 : t.EndsWith('m') ? 60 : 1;
        string number = t.TrimEnd('s', 'm');
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0 || v * scale > 3600)
        {
            throw new UserFacingException($"--sample: '{text}' is not a duration from 0 to 1h (e.g. 10s)");
        }

        return TimeSpan.FromSeconds(v * scale);
    }

    /// <summary>
    /// Samples every CPU once a second for <paramref name="duration"/> (/proc/stat, ksoftirqd run-queue wait) and
    /// the threads that ran, and returns each CPU's window and the NIC queue → CPU map.
    /// </summary>
    private static CpuSampling SampleCpus(string proc, TimeSpan duration, IConsole console)
    {
        using var sampler = new PerCpuSampler(proc);
        int cpus = sampler.CpuSlots;
        var threads = new ThreadCpuProbe(proc);
        threads.Scan();
        var used = new Dictionary<(int Pid, int Tid, int Cpu), ThreadUsage>();
        var blame = new Dictionary<(int Pid, int Tid, int Cpu), double>();
        int count = Math.Max(2, (int)Math.Ceiling(duration.TotalSeconds) + 1);
        var stamps = new long[count];
        var series = new CpuCounters[cpus * count];
        var recorder = new FlightRecorder<long>(count, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100), TimeSpan.Zero, TimeProvider.System);

        void TakeSamples(Action<int>? progress)
        {
            for (int i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    TimeSpan wait = TimeProvider.System.GetElapsedTime(TimeProvider.System.GetTimestamp(), recorder.DueAt);
                    if (wait > TimeSpan.Zero)
                    {
                        Thread.Sleep(wait);
                    }
                }

                PerCpuSample s = sampler.Sample();
                if (i > 0)
                {
                    // Threads are swept every sample so that a hog which exits before the window ends still counts,
                    // and each second's use is charged to the CPU the thread was on then.
                    foreach (ThreadUsage u in threads.Scan())
                    {
                        // Blame: this second's use weighted by how long that CPU's ksoftirqd waited in it.
                        if ((uint)u.Cpu < (uint)cpus)
                        {
                            double waitedMs = ((long)s.Ksoftirqd[u.Cpu].RunQueueWaitNs - (long)series[u.Cpu * count + i - 1].SoftirqThreadWaitNs) / 1e6;
                            blame[(u.Pid, u.Tid, u.Cpu)] = blame.GetValueOrDefault((u.Pid, u.Tid, u.Cpu)) + (u.UserMs + u.SysMs) * Math.Max(0, waitedMs);
                        }

                        used[(u.Pid, u.Tid, u.Cpu)] = used.TryGetValue((u.Pid, u.Tid, u.Cpu), out ThreadUsage? prior)
                            ? u with { UserMs = prior.UserMs + u.UserMs, SysMs = prior.SysMs + u.SysMs }
                            : u;
                    }
                }

                recorder.Next() = s.Timestamp;
                stamps[i] = (long)(s.Timestamp * (1e9 / System.Diagnostics.Stopwatch.Frequency));
                for (int cpu = 0; cpu < cpus; cpu++)
                {
                    CpuTimes t = s.Cpu[cpu];
                    series[cpu * count + i] = new CpuCounters(t.User, t.Nice, t.System, t.Idle, t.IoWait, t.Irq, t.SoftIrq, t.Steal, s.Ksoftirqd[cpu].RunQueueWaitNs);
                }

                progress?.Invoke(i + 1);
            }
        }

        if (console is SystemConsole && !Console.IsErrorRedirected)
        {
            AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }).Progress().AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask task = ctx.AddTask($"sampling {cpus} CPUs", maxValue: count);
                    TakeSamples(n => task.Value = n);
                });
        }
        else
        {
            TakeSamples(null);
        }

        List<ThreadUsage> usage = [.. used.Values.OrderByDescending(u => u.UserMs + u.SysMs)];
        var windows = new Dictionary<int, CpuWindow>();
        string source = string.Create(CultureInfo.InvariantCulture, $"{count} samples of {proc}, 1 s apart");
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            List<ThreadActivity> here = usage.Where(u => u.Cpu == cpu)
                .OrderByDescending(u => blame.GetValueOrDefault((u.Pid, u.Tid, u.Cpu)))
                .ThenByDescending(u => u.UserMs + u.SysMs)
                .Take(5)
                .Select(u => new ThreadActivity(u.Pid, u.Tid, Name(u), u.Cgroup, u.UserMs, u.SysMs)
                {
                    Blame = blame.TryGetValue((u.Pid, u.Tid, u.Cpu), out double b) && b > 0 ? b : null,
                    KernelFunctions = threads.KernelFunction(u.Pid, u.Tid) is { } f ? [(f, 1)] : [],
                }).ToList();
            windows[cpu] = CpuWindowBuilder.Build(cpu, stamps, series.AsSpan(cpu * count, count), here, source);
        }

        var queueCpus = new Dictionary<int, int>();
        foreach (NicQueueIrq q in sampler.Interrupts.NicQueues)
        {
            if (q.Cpu >= 0 && q.Kind is NicIrqKind.EnaTxRx or NicIrqKind.Mlx5Completion or NicIrqKind.GveNotify or NicIrqKind.VirtioInput)
            {
                queueCpus.TryAdd(q.Queue, q.Cpu);
            }
        }

        return new CpuSampling(windows, queueCpus, recorder.Gaps);
    }

    // Interpreters and runtimes all look alike by comm: name them by what they run.
    private static string Name(ThreadUsage u) => u.Comm is "dotnet" or "python3" or "python" or "java" or "node" or "sh" or "bash" or "perl" or "ruby" && u.Command is { } c
        ? $"{u.Comm} ({c})"
        : u.Comm;

    private sealed record CpuSampling(IReadOnlyDictionary<int, CpuWindow> Windows, IReadOnlyDictionary<int, int> QueueCpus, IReadOnlyList<RecorderGap> Gaps);

    /// <summary>
    /// Findings: the host's state (zombie memcgs and who leaked them, crash-looping units) and, when sampled,
    /// every CPU's window (starvation and its consumer, steal, near misses, IRQ placement), joined with the
    /// latest reset in the kernel log.
    /// </summary>
    private static IReadOnlyList<Finding> Findings(string proc, string sys, string? logRoot, HostFacts facts, KernelLogSummary log, CpuSampling? cpus)
    {
        var memcg = new MemcgZombieProbe(proc, Path.Combine(sys, "fs/cgroup/memory"), Path.Combine(sys, "fs/cgroup/unified"));
        MemcgZombieResult? z = memcg.HasV1Memory ? MemcgZombieProbe.AnalyzeV1(memcg.SampleV1())
            : memcg.HasV2 ? MemcgZombieProbe.AnalyzeV2(memcg.SampleV2())
            : null;

        // An explicit log root is a fixture or an offline copy: then do not ask this machine's journal.
        CrashLoopProbe loops = logRoot is null ? new CrashLoopProbe(proc) : new CrashLoopProbe(proc, logRoot: logRoot, pathVariable: "");
        CrashLoopReport report = loops.ReadRestartLoops();

        var input = new DiagnosisInput
        {
            Reset = log.Resets.Count > 0 ? log.Resets[^1] : null,
            ResetSource = log.Resets.Count > 0 ? $"/dev/kmsg [{log.Resets[^1].Ts}]" : null,
            Zombies = z is null ? null : new ZombieMemcgs(z.KernelCount, z.LiveDirectories, (long)(z.GrowthPerHour ?? 0), z.Hierarchy.ToString().ToLowerInvariant())
            {
                Attribution = z.Attribution.Select(a => (a.Path, a.Count)).ToList(),
            },
            CrashLoops = report.Units.Select(u => new CrashLoop(u.Unit, u.MaxCounter, u.RestartsPerHour ?? 0,
                $"{u.Unit}: Scheduled restart job, restart counter is at {u.MaxCounter} ({u.Lines} restart lines)") { Source = report.Source ?? "journal" }).ToList(),
            KernelRelease = facts.KernelRelease,
            QueueCpus = cpus?.QueueCpus ?? new Dictionary<int, int>(),
            CpuWindows = cpus?.Windows ?? new Dictionary<int, CpuWindow>(),
        };
        return Diagnoser.Diagnose(input);
    }

    private static void WriteHuman(TextWriter w, HostFacts f, KernelLogSummary log, IReadOnlyList<Finding> findings, CpuSampling? cpus, NicSysfsProbe nics)
    {
        string uptime = f.UptimeSeconds is double u ? string.Create(CultureInfo.InvariantCulture, $" · up {u / 3600:0.0} h") : "";
        w.WriteLine($"resetscope doctor · kernel {f.KernelRelease ?? "unknown"} · {f.Cpus} CPUs{uptime}");
        w.WriteLine(log.Problem is null
            ? $"  kernel log      {log.Records} records since boot ({log.UserSpaceRecords} written from user space, ignored){(log.Lost > 0 ? $", {log.Lost} lost to overwrites" : "")}"
            : $"  kernel log      not readable: {log.Problem}");
        foreach (NetInterface nic in f.Interfaces)
        {
            string driver = nic.Driver is null ? "no driver (virtual)" : nic.Driver + (nic.DriverVersion is { } v ? $" {v}" : "");
            string bus = nic.BusId is null ? "" : $" at {nic.BusId}";
            NicQueueState q = nics.Read(nic.Name);
            string counters = q.CarrierChanges is long cc ? $"; netdev watchdog timeouts {q.TxTimeoutTotal}, carrier changes {cc}" : "";
            w.WriteLine($"  interface       {nic.Name}: {driver}{bus}, {nic.TxQueues} Tx queue(s){counters}");
        }

        string cg = (f.CgroupV1Memory, f.CgroupV2) switch
        {
            (true, true) => "v1 memory hierarchy and a v2 hierarchy",
            (true, false) => "v1 memory hierarchy",
            (false, true) => "v2 hierarchy",
            _ => "none found",
        };
        w.WriteLine($"  memory cgroups  {cg}");
        IReadOnlyList<int> banned = nics.IrqbalanceBannedCpus();
        if (banned.Count > 0)
        {
            w.WriteLine($"  irqbalance      keeps IRQs off CPU(s) {string.Join(",", banned)}");
        }

        w.WriteLine($"  privileges      {(f.IsRoot ? "root" : "unprivileged: kernel stacks and /dev/kmsg need root or CAP_SYSLOG/CAP_SYS_PTRACE")}");
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
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  sampled         {cpus.Windows.Count} CPUs for {busiest.Seconds:0.#} s: busiest CPU {busiest.Cpu} at {busiest.NotIdlePct:0.#} % ({busiest.SysPct:0.#} % sys, {busiest.SoftPct:0.#} % soft, {busiest.StealPct:0.#} % steal); longest ksoftirqd wait {waitiest.LongestSoftirqWaitMs:0} ms on CPU {waitiest.Cpu}; {cpus.QueueCpus.Count} NIC queue IRQ(s) mapped{(cpus.Gaps.Count > 0 ? $"; the sampler itself was late {cpus.Gaps.Count} time(s)" : "")}"));
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
            w.WriteLine("Unprivileged: kernel stacks of the busiest threads and /dev/kmsg need root (or CAP_SYS_PTRACE / CAP_SYSLOG).");
        }
    }

    private static void WriteJson(TextWriter w, HostFacts f, KernelLogSummary log, IReadOnlyList<Finding> findings, CpuSampling? cpus)
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
            j.WriteString("kernel_log_problem", log.Problem);
            j.WriteNumber("kernel_log_records", log.Records);
            j.WriteNumber("kernel_log_lost", log.Lost);
            j.WriteNumber("resets_since_boot", log.Resets.Count);
            j.WriteStartArray("interfaces");
            foreach (NetInterface n in f.Interfaces)
            {
                j.WriteStartObject();
                j.WriteString("name", n.Name);
                j.WriteString("driver", n.Driver);
                j.WriteString("driver_version", n.DriverVersion);
                j.WriteString("bus", n.BusId);
                j.WriteNumber("tx_queues", n.TxQueues);
                j.WriteEndObject();
            }

            j.WriteEndArray();
            j.WriteBoolean("cgroup_v1_memory", f.CgroupV1Memory);
            j.WriteBoolean("cgroup_v2", f.CgroupV2);
            j.WriteBoolean("root", f.IsRoot);
            j.WriteNumber("sampled_cpus", cpus?.Windows.Count ?? 0);
            j.WriteNumber("sampler_gaps", cpus?.Gaps.Count ?? 0);
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
                j.WriteNumber("cpu", c.Cpu);
                j.WriteNumber("seconds", Math.Round(c.Seconds, 3));
                j.WriteNumber("user_pct", Math.Round(c.UserPct, 2));
                j.WriteNumber("sys_pct", Math.Round(c.SysPct, 2));
                j.WriteNumber("irq_pct", Math.Round(c.IrqPct, 2));
                j.WriteNumber("soft_pct", Math.Round(c.SoftPct, 2));
                j.WriteNumber("steal_pct", Math.Round(c.StealPct, 2));
                j.WriteNumber("idle_pct", Math.Round(c.IdlePct, 2));
                j.WriteNumber("softirq_wait_ms", Math.Round(c.SoftirqThreadWaitMs, 1));
                j.WriteNumber("longest_softirq_wait_ms", Math.Round(c.LongestSoftirqWaitMs, 1));
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
