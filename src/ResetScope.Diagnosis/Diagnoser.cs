using System.Globalization;
using ResetScope.Core;

namespace ResetScope.Diagnosis;

/// <summary>
/// Joins a reset to the CPU that should have run its NAPI and to what ran there, then names causes with
/// evidence: CPU starvation and its consumer, zombie memcgs and who leaked them, crash-looping units, IRQ
/// placement, steal time, a device fault when the CPUs were fine, and near misses. Findings are ranked by
/// confidence; each one carries the records and samples it rests on.
/// </summary>
public static class Diagnoser
{
    private const double BusyPct = 90;
    private const double NearMissMs = 1000;
    private const double SoftirqWaitMs = 500;
    private const double WatchdogMs = 5000;

    private static readonly string[] s_memcgFunctions =
        ["mem_cgroup", "memcg", "css_next_descendant", "shrink_", "list_lru", "cgroup_rstat"];

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    public static IReadOnlyList<Finding> Diagnose(DiagnosisInput input)
    {
        var findings = new List<Finding>();
        ResetEvent? reset = input.Reset;
        (int? napiCpu, string cpuSource) = NapiCpu(input);
        CpuWindow? window = napiCpu is int c && input.CpuWindows.TryGetValue(c, out CpuWindow? w) ? w : null;
        ThreadActivity? consumer = window is null ? null : Holder(window);
        bool memcgHot = consumer?.KernelFunctions.Any(f => s_memcgFunctions.Any(m => f.Function.StartsWith(m, StringComparison.Ordinal))) == true;

        Finding? starvation = Starvation(input, reset, napiCpu, cpuSource, window, consumer, memcgHot);
        if (starvation is not null)
        {
            findings.Add(starvation);
        }

        if (input.Zombies is { } z && z.Zombies >= 1000 && z.Zombies >= 10 * Math.Max(1, z.Live))
        {
            (string Where, long Dying)? top = z.Attribution.Count > 0 ? z.Attribution[0] : null;
            CrashLoop? leaker = top is { } t ? input.CrashLoops.FirstOrDefault(l => t.Where.Contains(l.Unit, StringComparison.Ordinal)) : null;
            leaker ??= input.CrashLoops.OrderByDescending(l => l.RestartsPerHour).FirstOrDefault();
            var evidence = new List<Evidence>
            {
                new($"{z.Hierarchy} memory cgroups", $"{z.KernelCount} memcgs known to the kernel vs {z.Live} live directories: {z.Zombies} dying (zombie)"),
            };
            if (z.GrowthPerHour > 0)
            {
                evidence.Add(new("flight recorder", $"growing by {z.GrowthPerHour} per hour"));
            }

            if (top is { } tt)
            {
                evidence.Add(new("cgroup attribution", $"{tt.Dying} dying under {tt.Where}"));
            }

            if (memcgHot)
            {
                evidence.Add(new("kernel stacks", $"{consumer!.Comm} spends its time in {consumer.KernelFunctions[0].Function}, which walks every memcg, dying ones included"));
            }

            double confidence = 0.6 + (memcgHot ? 0.25 : 0) + (leaker is not null ? 0.1 : 0);
            string who = leaker?.Unit ?? top?.Where ?? "an unknown creator";
            findings.Add(new Finding(FindingKind.ZombieMemcgs, $"{z.Zombies} zombie memory cgroups, leaked by {who}", Math.Min(confidence, 0.97), evidence,
                $"Stop what keeps creating cgroups ({who}); release the zombies with `sync; echo 1 > /proc/sys/vm/drop_caches` or a reboot.{KernelNote(input.KernelRelease, z.KernelCount)}")
            {
                Subject = who,
            });
        }

        foreach (CrashLoop loop in input.CrashLoops.Where(l => l.RestartsPerHour >= 6 || l.RestartCounter >= 10).OrderByDescending(l => l.RestartsPerHour))
        {
            bool leaks = input.Zombies?.Attribution.Any(a => a.Where.Contains(loop.Unit, StringComparison.Ordinal)) == true;
            findings.Add(new Finding(FindingKind.CrashLoop, $"{loop.Unit} is crash-looping ({F(loop.RestartsPerHour)} restarts/hour, counter at {loop.RestartCounter})",
                leaks ? 0.85 : 0.6, [new Evidence(loop.Source, loop.Evidence)],
                $"Find why {loop.Unit} exits (journalctl -u {loop.Unit}); disable it if the host does not need it (systemctl disable --now {loop.Unit}). Each restart makes a new cgroup.")
            {
                Subject = loop.Unit,
            });
        }

        if (input.QueueCpus.Count > 1 && input.QueueCpus.Values.Distinct().Count() == 1)
        {
            int only = input.QueueCpus.Values.First();
            findings.Add(new Finding(FindingKind.IrqPlacement, $"all {input.QueueCpus.Count} NIC queues are served by CPU {only}", 0.7,
                [new Evidence("/proc/interrupts + effective_affinity_list", $"every Tx-Rx IRQ has effective affinity {only}")],
                "Spread the queue IRQs over CPUs (irqbalance, or write /proc/irq/N/smp_affinity_list), keeping them off CPUs that run heavy work.")
            {
                Cpu = only,
            });
        }
        else if (starvation is not null && consumer is not null && napiCpu is int nc)
        {
            int queues = input.QueueCpus.Count(q => q.Value == nc);
            findings.Add(new Finding(FindingKind.IrqPlacement, $"{consumer.Comm} shares CPU {nc} with {queues} NIC queue IRQ(s)", 0.5,
                [new Evidence(cpuSource, $"queue IRQs on CPU {nc}: {queues}"), new Evidence(window!.Source, $"{consumer.Comm} used {F(consumer.SysMs + consumer.UserMs)} ms there")],
                $"Keep {consumer.Comm} off the NIC's CPUs (cpuset/taskset) or ban CPU {nc} for irqbalance (IRQBALANCE_BANNED_CPUS).")
            {
                Cpu = nc,
                Subject = consumer.Comm,
            });
        }

        if (window is { StealPct: >= 10 })
        {
            findings.Add(new Finding(FindingKind.StealTime, $"CPU {window.Cpu} lost {F(window.StealPct)} % to steal", 0.5,
                [new Evidence(window.Source, $"steal {F(window.StealPct)} % over {F(window.Seconds)} s")],
                "The hypervisor ran something else on this vCPU: check the instance's CPU credits or move to a larger or non-burstable type.")
            {
                Cpu = window.Cpu,
            });
        }

        if (reset is { Reason: ResetFamily.KeepAliveTimeout or ResetFamily.UnresponsiveDevice or ResetFamily.DeviceRequested }
            && input.CpuWindows.Count > 0 && input.CpuWindows.Values.All(cw => cw.LongestBusyS < 1 && cw.LongestSoftirqWaitMs < NearMissMs))
        {
            findings.Add(new Finding(FindingKind.DeviceFault, $"the device or hypervisor, not this host: {reset.Reason.ToJsonName()} while every CPU was available", 0.75,
                [new Evidence(input.ResetSource ?? "kernel log", $"{reset.EnaReason ?? reset.Reason.ToJsonName()} reset"),
                 new Evidence("flight recorder", $"no CPU busy ≥ 1 s and no softirq thread waited ≥ 1 s in the window ({input.CpuWindows.Count} CPUs)")],
                "Open a support case with the instance id, the reset time and this report; the driver reset itself was the right response.")
            {
                Subject = reset.Dev,
            });
        }

        if (reset is null)
        {
            // Softirq work that had to wait on any CPU, NIC queue or not (RPS/RFS steer packets to other CPUs too).
            foreach (CpuWindow cw in input.CpuWindows.Values.Where(x => x.LongestSoftirqWaitMs >= SoftirqWaitMs).OrderByDescending(x => x.LongestSoftirqWaitMs))
            {
                if (input.QueueCpus.Values.Contains(cw.Cpu) && cw.LongestSoftirqWaitMs is >= NearMissMs and < WatchdogMs)
                {
                    continue; // reported below as a near miss of that queue
                }

                ThreadActivity? hog = Holder(cw);
                var evidence = new List<Evidence>
                {
                    new(cw.Source, $"ksoftirqd/{cw.Cpu} waited {F(cw.LongestSoftirqWaitMs)} ms at once to run ({F(cw.SoftirqThreadWaitMs)} ms in total)"),
                    new(cw.Source, $"CPU {cw.Cpu}: {F(cw.UserPct)} % user, {F(cw.SysPct)} % sys, {F(cw.SoftPct)} % soft, {F(cw.StealPct)} % steal"),
                };
                if (hog is not null)
                {
                    evidence.Add(new Evidence(cw.Source, $"{hog.Comm} (pid {hog.Pid}) used {F(hog.UserMs)} ms user + {F(hog.SysMs)} ms sys on CPU {cw.Cpu}"));
                }

                findings.Add(new Finding(FindingKind.CpuStarvation,
                    $"CPU {cw.Cpu} kept softirq work waiting {F(cw.LongestSoftirqWaitMs / 1000)} s{(hog is null ? "" : $", held by {hog.Comm}")}",
                    cw.LongestSoftirqWaitMs >= NearMissMs ? 0.6 : 0.45, evidence,
                    hog is null
                        ? $"Find what holds CPU {cw.Cpu} (real-time tasks, long non-preemptible kernel work) and keep it off CPUs that serve network softirqs."
                        : $"Keep {hog.Comm} (pid {hog.Pid}) off CPU {cw.Cpu} or lower its priority; softirq work there (NAPI, RPS, timers) waits behind it.")
                {
                    Cpu = cw.Cpu,
                    Subject = hog?.Comm,
                });
            }

            foreach ((int queue, int cpu) in input.QueueCpus.OrderBy(q => q.Key))
            {
                if (input.CpuWindows.TryGetValue(cpu, out CpuWindow? cw) && cw.LongestSoftirqWaitMs is >= NearMissMs and < WatchdogMs
                    && !findings.Any(f => f.Kind == FindingKind.NearMiss && f.Cpu == cpu))
                {
                    ThreadActivity? hog = Holder(cw);
                    var evidence = new List<Evidence> { new(cw.Source, $"ksoftirqd/{cpu} waited {F(cw.LongestSoftirqWaitMs)} ms at once, {F(cw.SoftirqThreadWaitMs)} ms in total") };
                    if (hog is not null)
                    {
                        evidence.Add(new Evidence(cw.Source, $"{hog.Comm} (pid {hog.Pid}) used {F(hog.UserMs)} ms user + {F(hog.SysMs)} ms sys on CPU {cpu}"));
                    }

                    findings.Add(new Finding(FindingKind.NearMiss, $"near miss: queue {queue}'s NAPI on CPU {cpu} waited {F(cw.LongestSoftirqWaitMs / 1000)} s (a reset needs 5 s){(hog is null ? "" : $", held by {hog.Comm}")}", 0.6,
                        evidence,
                        $"Whatever held CPU {cpu} came within {F((WatchdogMs - cw.LongestSoftirqWaitMs) / 1000)} s of resetting the NIC{(hog is null ? "; see the CPU's top threads" : $": keep {hog.Comm} off it")}.")
                    {
                        Cpu = cpu,
                        Subject = hog?.Comm,
                    });
                }
            }
        }

        return findings.OrderByDescending(f => f.Confidence).ToList();
    }

    /// <summary>The thread that used the CPU most in the window — never ksoftirqd or a NAPI thread, which are the victims.</summary>
    private static ThreadActivity? Holder(CpuWindow w) => w.Threads
        .Where(t => !t.Comm.StartsWith("ksoftirqd/", StringComparison.Ordinal) && !t.Comm.StartsWith("napi/", StringComparison.Ordinal))
        .OrderByDescending(t => t.Blame ?? t.SysMs + t.UserMs)
        .FirstOrDefault();

    /// <summary>The NAPI CPU: as printed (2.17's "napi CPU:"), else from the IRQ map for the reset's queue.</summary>
    private static (int? Cpu, string Source) NapiCpu(DiagnosisInput input)
    {
        if (input.Reset is { NapiCpu: int printed })
        {
            return (printed, input.ResetSource ?? "kernel log");
        }

        if (input.Reset is { Queue: int q } && input.QueueCpus.TryGetValue(q, out int cpu))
        {
            return (cpu, "/proc/interrupts + effective_affinity_list");
        }

        return (null, "");
    }

    private static Finding? Starvation(DiagnosisInput input, ResetEvent? reset, int? napiCpu, string cpuSource, CpuWindow? w, ThreadActivity? consumer, bool memcgHot)
    {
        if (napiCpu is not int cpu || w is null)
        {
            return null;
        }

        double busy = w.SysPct + w.IrqPct + w.SoftPct + w.StealPct;
        bool cpuBusy = w.LongestBusyS >= 1 && busy >= BusyPct * Math.Min(1, w.LongestBusyS / Math.Max(w.Seconds, 1e-9));
        bool softirqStarved = w.LongestSoftirqWaitMs >= NearMissMs;
        bool logSays = reset is { NapiScheduled: true, SinceNapiUsec: long since, ThresholdUsec: long threshold } && since > threshold;
        if (!cpuBusy && !softirqStarved && !logSays)
        {
            return null;
        }

        var evidence = new List<Evidence>();
        if (reset is not null)
        {
            string detail = reset.SinceNapiUsec is long s
                ? $"queue {reset.Queue}: NAPI last ran {F(s / 1e6)} s before the reset{(reset.NapiScheduled == true ? ", scheduled but not run" : "")} ({reset.EnaReason ?? reset.Reason.ToJsonName()})"
                : $"queue {reset.Queue} reset ({reset.EnaReason ?? reset.Reason.ToJsonName()})";
            evidence.Add(new Evidence(input.ResetSource ?? "kernel log", detail));
            evidence.Add(new Evidence(cpuSource, $"queue {reset.Queue}'s NAPI runs on CPU {cpu}"));
        }

        evidence.Add(new Evidence(w.Source, $"CPU {cpu}: {F(w.SysPct)} % sys, {F(w.SoftPct)} % soft, {F(w.IrqPct)} % irq, {F(w.StealPct)} % steal over {F(w.Seconds)} s; busy ≥ {BusyPct} % for {F(w.LongestBusyS)} s"));
        if (w.SoftirqThreadWaitMs > 0)
        {
            evidence.Add(new Evidence(w.Source, $"ksoftirqd/{cpu} waited {F(w.SoftirqThreadWaitMs)} ms to run (longest {F(w.LongestSoftirqWaitMs)} ms)"));
        }

        string who = "";
        if (consumer is not null)
        {
            string unit = consumer.Unit is null ? "" : $", {consumer.Unit}";
            string func = consumer.KernelFunctions.Count > 0 ? $", mostly in {consumer.KernelFunctions[0].Function}" : "";
            evidence.Add(new Evidence(w.Source, $"{consumer.Comm} (pid {consumer.Pid}{unit}) used {F(consumer.SysMs)} ms sys + {F(consumer.UserMs)} ms user on CPU {cpu}{func}"));
            who = $" by {consumer.Comm}";
        }

        double confidence = 0.45 + (cpuBusy ? 0.25 : 0) + (softirqStarved ? 0.15 : 0) + (logSays ? 0.1 : 0) + (consumer is not null ? 0.03 : 0);
        string remedy = consumer is null
            ? $"Find what runs on CPU {cpu} (per-thread CPU and kernel stacks) and keep it off the NIC's CPUs."
            : $"Keep {consumer.Comm} off CPU {cpu} (cpuset/taskset) or move the NIC IRQs away from it; then fix why it burns %sys{(memcgHot ? " (see the zombie-memcg finding)" : "")}.";
        return new Finding(FindingKind.CpuStarvation, $"CPU {cpu} starved the NIC's NAPI poll{who}", Math.Min(confidence, 0.98), evidence, remedy)
        {
            Cpu = cpu,
            Subject = consumer?.Comm,
        };
    }

    private static string KernelNote(string? release, long memcgs)
    {
        var notes = ResetScope.Host.Cgroups.KernelMemcgRisks.For(release, memcgs);
        return notes.Count == 0 ? "" : " " + string.Join(" ", notes.Select(n => n.Text));
    }
}
