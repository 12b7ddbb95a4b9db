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

        Finding? deviceFault = null;
        if (reset is { Reason: ResetFamily.KeepAliveTimeout or ResetFamily.UnresponsiveDevice or ResetFamily.DeviceRequested }
            && input.CpuWindows.Count > 0 && input.CpuWindows.Values.All(cw => cw.LongestBusyS < 1 && cw.LongestSoftirqWaitMs < NearMissMs))
        {
            findings.Add(deviceFault = new Finding(FindingKind.DeviceFault, $"the device or hypervisor, not this host: {reset.Reason.ToJsonName()} while every CPU was available", 0.75,
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

        if (input.DeviceCounters is { } counters)
        {
            ApplyDeviceCounters(findings, input, counters, reset is null ? [] : [starvation, deviceFault]);
        }

        return findings.OrderByDescending(f => f.Confidence).ToList();
    }

    /// <summary>
    /// What the NIC's own counters add: ENI allowances that shaped traffic (a finding of their own), a failed restore
    /// (a device-fault finding), and corroboration of the reset and of the queue that lost Tx completions (evidence
    /// on the findings about them).
    /// </summary>
    private static void ApplyDeviceCounters(List<Finding> findings, DiagnosisInput input, DeviceCounters dc, Finding?[] aboutReset)
    {
        ResetEvent? reset = input.Reset;
        string iface = dc.Interface ?? reset?.Dev ?? "the interface";

        // Corroboration first, while the findings about the reset are still the objects we hold.
        var resetEvidence = new List<Evidence>();
        if (reset?.EnaReason is { } reason
            && dc.ResetsByReason.FirstOrDefault(r => r.EnaReason == reason) is { Counter: not null, Value: > 0 } counted)
        {
            string total = dc.TotalResets is ulong t ? $", total_resets {t}" : "";
            resetEvidence.Add(new Evidence(dc.Source, $"the driver counted {counted.Value} {reason} reset(s) ({counted.Counter} {counted.Value}{total})"));
        }

        (int Queue, ulong Missed, ulong Total)? lossy = ConcentratedLoss(dc.MissedTxByQueue);
        Evidence? lossEvidence = lossy is { } l
            ? new Evidence(dc.Source, $"queue {l.Queue} has {l.Missed} of the {l.Total} missed Tx completions (missed_tx) on {dc.MissedTxByQueue.Count} queues")
            : null;
        int? lossyCpu = lossy is { } lq && input.QueueCpus.TryGetValue(lq.Queue, out int c) ? c : null;

        for (int i = 0; i < findings.Count; i++)
        {
            Finding f = findings[i];
            bool isAboutReset = aboutReset.Any(r => ReferenceEquals(r, f));
            var more = new List<Evidence>();
            if (isAboutReset)
            {
                more.AddRange(resetEvidence);
            }

            if (lossEvidence is not null
                && ((isAboutReset && reset!.Queue == lossy!.Value.Queue)
                    || (f.Kind is FindingKind.CpuStarvation or FindingKind.NearMiss && f.Cpu is int cpu && cpu == lossyCpu)))
            {
                more.Add(lossEvidence);
            }

            if (more.Count > 0)
            {
                findings[i] = f.WithEvidence(more);
            }
        }

        if (dc.ResetFail is ulong failed && failed > 0)
        {
            var evidence = new List<Evidence> { new(dc.Source, $"reset_fail {failed}: {failed} reset(s) whose destroy or restore failed; the driver does not retry") };
            if (reset is { Outcome: ResetOutcome.Failed })
            {
                evidence.Add(new Evidence(input.ResetSource ?? "kernel log", $"the {reset.EnaReason ?? reset.Reason.ToJsonName()} reset ended in failure"));
            }

            findings.Add(new Finding(FindingKind.DeviceFault, $"restore failed on {iface}: the interface stays down until the driver is reloaded", 0.9, evidence,
                $"If {iface} is down (ip link show {iface}), bring the device back: `devlink dev reload pci/{dc.Pci ?? reset?.Pci ?? "<BDF>"}` (driver 2.16.0+ built with devlink), "
                + "else reload the driver (`modprobe -r ena && modprobe ena`, from the console: it takes down every ENA interface), re-attach the ENI, or reboot. "
                + "Then find why the reset was needed.")
            {
                Subject = iface,
            });
        }

        var exceeded = dc.AllowanceExceeded.Where(a => a.Value > 0).ToList();
        if (exceeded.Count > 0)
        {
            var remedies = new List<string>();
            if (exceeded.Any(a => a.Counter is "bw_in_allowance_exceeded" or "bw_out_allowance_exceeded" or "pps_allowance_exceeded"))
            {
                remedies.Add("for bandwidth and packets per second, a larger instance size (or a network-optimised type) or spreading the traffic over more instances");
            }

            if (exceeded.Any(a => a.Counter == "conntrack_allowance_exceeded"))
            {
                remedies.Add("for connection tracking, fewer tracked connections (security-group rules that allow all traffic both ways are not tracked; shorter idle timeouts) or a larger instance");
            }

            if (exceeded.Any(a => a.Counter == "linklocal_allowance_exceeded"))
            {
                remedies.Add("for link-local traffic, a local DNS cache and fewer instance-metadata calls");
            }

            findings.Add(new Finding(FindingKind.AllowanceExceeded,
                $"the EC2 instance's network allowance shaped or dropped packets on {iface} ({string.Join(", ", exceeded.Select(a => $"{a.Counter} {a.Value}"))})", 0.5,
                exceeded.Select(a => new Evidence(dc.Source, $"{a.Counter} {a.Value}: {AllowanceMeaning(a.Counter)}")).ToList(),
                $"Not a driver problem: the instance exceeded what its type allows. Remedy {string.Join("; ", remedies)}.")
            {
                Subject = iface,
            });
        }
    }

    /// <summary>The queue with more than half of all missed Tx completions, if one has.</summary>
    private static (int Queue, ulong Missed, ulong Total)? ConcentratedLoss(IReadOnlyDictionary<int, ulong> missedTx)
    {
        ulong total = missedTx.Values.Aggregate(0UL, (a, v) => a + v);
        if (total == 0)
        {
            return null;
        }

        KeyValuePair<int, ulong> top = missedTx.OrderByDescending(q => q.Value).ThenBy(q => q.Key).First();
        return top.Value * 2 > total ? (top.Key, top.Value, total) : null;
    }

    private static string AllowanceMeaning(string counter) => counter switch
    {
        "bw_in_allowance_exceeded" => "packets queued or dropped because inbound bandwidth exceeded the instance's maximum",
        "bw_out_allowance_exceeded" => "packets queued or dropped because outbound bandwidth exceeded the instance's maximum",
        "pps_allowance_exceeded" => "packets queued or dropped because packets per second (both directions) exceeded the instance's maximum",
        "conntrack_allowance_exceeded" => "packets dropped because connection tracking reached the instance's maximum; new connections fail",
        "linklocal_allowance_exceeded" => "packets dropped because traffic to link-local services (DNS resolver, instance metadata, time sync) exceeded the per-ENI packets per second",
        _ => "packets shaped by the instance's allowance",
    };

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
