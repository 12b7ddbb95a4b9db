using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ResetScope.Core;
using ResetScope.Diagnosis;
using ResetScope.Host;
using ResetScope.Host.Cgroups;
using ResetScope.Host.Services;
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
        var command = new Command("doctor", "Check this host: what ResetScope can read here (kernel, NICs and drivers, kernel log, cgroups, privileges).")
        {
            json, procRoot, sysRoot, kmsg, logRoot,
        };
        command.SetAction(parse =>
        {
            string proc = parse.GetValue(procRoot)!;
            if (!Directory.Exists(proc))
            {
                throw new UserFacingException($"{proc}: no such directory; --proc-root must point at a procfs tree");
            }

            HostFacts facts = HostFacts.Read(proc, parse.GetValue(sysRoot)!, parse.GetValue(kmsg)!);
            KernelLogSummary log = ReadKernelLog(parse.GetValue(kmsg)!);
            IReadOnlyList<Finding> findings = CurrentStateFindings(proc, parse.GetValue(sysRoot)!, parse.GetValue(logRoot), facts, log);
            if (parse.GetValue(json))
            {
                WriteJson(console.Out, facts, log, findings);
            }
            else
            {
                WriteHuman(console.Out, facts, log, findings);
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

    /// <summary>
    /// Findings from the host's state now: zombie memcgs and who leaked them, crash-looping units, joined with
    /// the latest reset. Per-core sampling (starvation, steal, near misses) is not wired into doctor yet.
    /// </summary>
    private static IReadOnlyList<Finding> CurrentStateFindings(string proc, string sys, string? logRoot, HostFacts facts, KernelLogSummary log)
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
        };
        return Diagnoser.Diagnose(input);
    }

    private static void WriteHuman(TextWriter w, HostFacts f, KernelLogSummary log, IReadOnlyList<Finding> findings)
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
            w.WriteLine($"  interface       {nic.Name}: {driver}{bus}, {nic.TxQueues} Tx queue(s)");
        }

        string cg = (f.CgroupV1Memory, f.CgroupV2) switch
        {
            (true, true) => "v1 memory hierarchy and a v2 hierarchy",
            (true, false) => "v1 memory hierarchy",
            (false, true) => "v2 hierarchy",
            _ => "none found",
        };
        w.WriteLine($"  memory cgroups  {cg}");
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
        w.WriteLine();
        if (findings.Count == 0)
        {
            w.WriteLine("Findings: none — no zombie memory cgroups piling up and no crash-looping unit.");
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

        w.WriteLine("Not in this build yet: per-core sampling, so no CPU-starvation, steal-time or near-miss findings from doctor (the kernel log's soft lockups are listed above).");
    }

    private static void WriteJson(TextWriter w, HostFacts f, KernelLogSummary log, IReadOnlyList<Finding> findings)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer))
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
            j.WriteString("triage", "kernel log only; per-core sampling and findings not in this build");
            j.WriteEndObject();
        }

        w.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        w.Write('\n');
        foreach (ResetEvent e in log.Resets)
        {
            buffer.SetLength(0);
            using (var j = new Utf8JsonWriter(buffer))
            {
                EventJson.Write(j, e);
            }

            w.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            w.Write('\n');
        }

        foreach (Finding x in findings)
        {
            buffer.SetLength(0);
            using (var j = new Utf8JsonWriter(buffer))
            {
                x.WriteJson(j);
            }

            w.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            w.Write('\n');
        }
    }
}
