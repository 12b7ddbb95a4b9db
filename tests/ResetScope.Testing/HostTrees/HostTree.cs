using System.Globalization;
using System.Text;

namespace ResetScope.Testing.HostTrees;

/// <summary>What the generated host is going through.</summary>
public enum HostState
{
    /// <summary>The Pinterest incident: kubelet burns CPU 39 (queue 5's NAPI CPU) in a memcg walk over 68,680 memcgs leaked by a crash-looping ecs.service.</summary>
    Pinterest,

    /// <summary>Every CPU mostly idle, softirq threads run at once, no zombie pile-up, no crash loop.</summary>
    Healthy,

    /// <summary>Healthy, except that kubelet holds CPU 39 from 3 s to 5.5 s: ksoftirqd/39 waits 2.5 s at once, then runs.</summary>
    NearMiss,
}

/// <summary>
/// A generated /proc, /sys and /var/log tree of a 96-CPU ENA host (eth0, 32 queues, queue q's IRQ on CPU (3q + 24) mod 96,
/// so queue 5 is on CPU 39), whose counters are functions of time: <see cref="WriteAt"/> rewrites every changing file in
/// place (same inode, as procfs changes under a kept-open fd). Used with <see cref="FixtureClock"/> so doctor samples
/// it in virtual time.
/// </summary>
public sealed class HostTree : IDisposable
{
    public const int Cpus = 96;
    public const int Queues = 32;
    public const int NapiCpu = 39;
    public const int KubeletPid = 4242;
    public const int KubeletTid = 4250;
    public const int JavaPid = 7100;
    public const int JavaCpu = 12;
    public const int LiveMemcgs = 240;
    public const int PinterestMemcgs = 68_680;
    public const int HealthyMemcgs = 242;

    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;
    private readonly HostState _state;

    private HostTree(HostState state, string root)
    {
        _state = state;
        Root = root;
    }

    public string Root { get; }

    public string Proc => Path.Combine(Root, "proc");

    public string Sys => Path.Combine(Root, "sys");

    public string Log => Path.Combine(Root, "log");

    /// <summary>ethtool -S captures, one per interface (<c>eth0.txt</c>).</summary>
    public string Ethtool => Path.Combine(Root, "ethtool");

    /// <summary>A /dev/kmsg capture (empty unless <see cref="Create"/> got a kernel log).</summary>
    public string Kmsg => Path.Combine(Root, "kmsg");

    public static int QueueCpu(int queue) => ((3 * queue) + 24) % Cpus;

    /// <summary>Builds the tree at time 0. <paramref name="dmesg"/> ("[secs.usecs] text" lines) becomes kernel records in <see cref="Kmsg"/>.</summary>
    public static HostTree Create(HostState state, string? dmesg = null)
    {
        var tree = new HostTree(state, Path.Combine(Path.GetTempPath(), "resetscope-host-" + Guid.NewGuid().ToString("N")));
        tree.WriteStatic(dmesg);
        tree.WriteAt(TimeSpan.Zero);
        return tree;
    }

    /// <summary>Rewrites every counter as it reads <paramref name="t"/> into the sampling window.</summary>
    public void WriteAt(TimeSpan t)
    {
        double s = t.TotalSeconds;
        long Ticks(double perSecond) => (long)Math.Round(perSecond * s);
        bool pinterest = _state == HostState.Pinterest;
        double held = _state == HostState.NearMiss ? Math.Clamp(s - 3, 0, 2.5) : 0; // seconds CPU 39 has been held so far

        // /proc/stat in USER_HZ (100 ticks per CPU-second): user nice system idle iowait irq softirq steal guest guest_nice.
        var stat = new StringBuilder();
        var lines = new StringBuilder();
        long[] sum = new long[8];
        for (int c = 0; c < Cpus; c++)
        {
            bool hog = pinterest && c == NapiCpu;
            long[] v = hog
                ? [500_000, 0, 900_000 + Ticks(100), 8_000_000, 100, 200, 3_000, 0]
                : [500_000 + Ticks(15), 0, 300_000 + Ticks(4), 8_000_000 + Ticks(80), 100, 200, 3_000 + Ticks(1), 0];
            if (c == NapiCpu && held > 0)
            {
                long h = (long)Math.Round(held * 100);
                v = [500_000 + Ticks(15) - (long)Math.Round(held * 15), 0, 300_000 + Ticks(4) + h - (long)Math.Round(held * 4), 8_000_000 + Ticks(80) - (long)Math.Round(held * 80), 100, 200, 3_000 + Ticks(1) - (long)Math.Round(held * 1), 0];
            }

            for (int i = 0; i < 8; i++)
            {
                sum[i] += v[i];
            }

            lines.Append(s_inv, $"cpu{c} {string.Join(' ', v)} 0 0\n");
        }

        stat.Append(s_inv, $"cpu  {string.Join(' ', sum)} 0 0\n").Append(lines).Append("intr 0\nctxt 1\nbtime 1752480000\n");
        Write("proc/stat", stat.ToString());

        // ksoftirqd/N run-queue wait (run_delay, ns): on the hog's CPU it waits almost all the time.
        for (int c = 0; c < Cpus; c++)
        {
            long waitNs = pinterest && c == NapiCpu ? 40_000_000 + (long)(0.95e9 * s) : 40_000_000 + (long)(1e6 * s);
            if (c == NapiCpu && held > 0)
            {
                waitNs += (long)(held * 1e9);
            }

            Write($"proc/{1000 + c}/schedstat", string.Create(s_inv, $"{5_000_000_000 + (long)(5e6 * s)} {waitNs} {100_000 + Ticks(50)}\n"));
        }

        // Threads: kubelet on the NAPI CPU (all sys when the memcgs pile up), a java worker elsewhere.
        WriteTask(KubeletPid, KubeletTid, "kubelet", NapiCpu, 20_000 + Ticks(pinterest ? 0 : 2), 50_000 + Ticks(pinterest ? 100 : 1) + (long)Math.Round(held * 100));
        WriteTask(JavaPid, JavaPid + 1, "java", JavaCpu, 80_000 + Ticks(40), 10_000 + Ticks(5));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void WriteStatic(string? dmesg)
    {
        bool pinterest = _state == HostState.Pinterest;
        Write("proc/sys/kernel/osrelease", "5.4.0-1045-aws\n");
        Write("proc/uptime", "86500.00 8000000.00\n");

        for (int c = 0; c < Cpus; c++)
        {
            Write($"proc/{1000 + c}/comm", $"ksoftirqd/{c}\n");
        }

        Write($"proc/{KubeletPid}/comm", "kubelet\n");
        Write($"proc/{KubeletPid}/cmdline", "/usr/bin/kubelet\0--config=/etc/kubernetes/kubelet.yaml\0");
        Write($"proc/{KubeletPid}/cgroup", "11:memory:/system.slice/kubelet.service\n4:cpu,cpuacct:/system.slice/kubelet.service\n0::/system.slice/kubelet.service\n");
        Write($"proc/{KubeletPid}/task/{KubeletTid}/stack", pinterest
            ? "[<0>] mem_cgroup_nr_lru_pages+0x5e/0x90\n[<0>] memcg_stat_show+0x1a4/0x6b0\n[<0>] seq_read+0xd8/0x430\n[<0>] vfs_read+0x91/0x140\n[<0>] ksys_read+0x59/0xd0\n[<0>] do_syscall_64+0x57/0x190\n[<0>] entry_SYSCALL_64_after_hwframe+0x44/0xa9\n"
            : "[<0>] futex_wait_queue_me+0xc4/0x120\n[<0>] futex_wait+0x10a/0x250\n[<0>] do_syscall_64+0x57/0x190\n");
        Write($"proc/{JavaPid}/comm", "java\n");
        Write($"proc/{JavaPid}/cmdline", "java\0-jar\0/opt/app/worker.jar\0");
        Write($"proc/{JavaPid}/cgroup", "11:memory:/kubepods/pod7/worker\n0::/kubepods/pod7/worker\n");

        string[] kinds = ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];
        var softirqs = new StringBuilder("          ");
        for (int c = 0; c < Cpus; c++)
        {
            softirqs.Append(s_inv, $" CPU{c,-9}");
        }

        softirqs.Append('\n');
        foreach (string kind in kinds)
        {
            softirqs.Append(s_inv, $"{kind + ":",12}");
            for (int c = 0; c < Cpus; c++)
            {
                softirqs.Append(s_inv, $" {1000 + c,10}");
            }

            softirqs.Append('\n');
        }

        Write("proc/softirqs", softirqs.ToString());
        var softnet = new StringBuilder();
        for (int c = 0; c < Cpus; c++)
        {
            softnet.Append(s_inv, $"{0x10000 + c:x8} 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 {c:x8} 00000000 00000000\n");
        }

        Write("proc/net/softnet_stat", softnet.ToString());

        var irq = new StringBuilder("     ");
        for (int c = 0; c < Cpus; c++)
        {
            irq.Append(s_inv, $"      CPU{c,-4}");
        }

        irq.Append("\n 99:");
        for (int c = 0; c < Cpus; c++)
        {
            irq.Append(s_inv, $" {(c == 0 ? 12 : 0),10}");
        }

        irq.Append("  PCI-MSIX-0000:00:05.0   0-edge      ena-mgmnt@pci:0000:00:05.0\n");
        Write("proc/irq/99/effective_affinity_list", "0\n");
        for (int q = 0; q < Queues; q++)
        {
            irq.Append(s_inv, $"{100 + q,3}:");
            for (int c = 0; c < Cpus; c++)
            {
                irq.Append(s_inv, $" {(c == QueueCpu(q) ? 1_000_000 + q : 0),10}");
            }

            irq.Append(s_inv, $"  PCI-MSIX-0000:00:05.0   {q + 1}-edge      eth0-Tx-Rx-{q}\n");
            Write($"proc/irq/{100 + q}/effective_affinity_list", string.Create(s_inv, $"{QueueCpu(q)}\n"));
        }

        Write("proc/interrupts", irq.ToString());

        // Memory cgroups: the kernel's count vs the directories that are still there (240 with the root and two parents).
        Write("proc/cgroups", string.Create(s_inv, $"#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t11\t{(pinterest ? PinterestMemcgs : HealthyMemcgs)}\t1\n"));
        string memory = Path.Combine(Sys, "fs/cgroup/memory");
        for (int i = 0; i < LiveMemcgs - 3; i++)
        {
            Directory.CreateDirectory(Path.Combine(memory, i < 100 ? $"kubepods/pod{i}" : $"system.slice/unit{i}.service"));
        }

        // sysfs: eth0 on ENA 2.11.0g with 32 Tx queues.
        Write("sys/module/ena/version", "2.11.0g\n");
        Directory.CreateDirectory(Path.Combine(Sys, "bus/pci/drivers/ena"));
        Directory.CreateDirectory(Path.Combine(Sys, "devices/pci0000:00/0000:00:05.0"));
        string eth0 = Path.Combine(Sys, "class/net/eth0");
        for (int q = 0; q < Queues; q++)
        {
            Directory.CreateDirectory(Path.Combine(eth0, "queues", $"tx-{q}"));
        }

        Directory.CreateSymbolicLink(Path.Combine(eth0, "device"), Path.Combine(Sys, "devices/pci0000:00/0000:00:05.0"));
        Directory.CreateSymbolicLink(Path.Combine(Sys, "devices/pci0000:00/0000:00:05.0/driver"), Path.Combine(Sys, "bus/pci/drivers/ena"));

        var syslog = new StringBuilder();
        if (pinterest)
        {
            for (int n = 7600; n <= 7694; n++)
            {
                syslog.Append(s_inv, $"Jul 14 {10 + ((n - 7600) / 60):D2}:{(n - 7600) % 60:D2}:05 ip-10-0-1-5 systemd[1]: ecs.service: Scheduled restart job, restart counter is at {n}.\n");
            }
        }
        else
        {
            syslog.Append("Jul 14 10:00:05 ip-10-0-1-5 systemd[1]: Started Daily apt download activities.\n");
        }

        Write("log/syslog", syslog.ToString());
        Write("kmsg", dmesg is null ? "" : ToKmsg(dmesg));

        // eth0's ethtool -S: one reset for poll starvation on queue 5 in the Pinterest state, nothing otherwise.
        var ethtool = new StringBuilder("NIC statistics:\n");
        ethtool.Append(s_inv, $"     total_resets: {(pinterest ? 1 : 0)}\n     reset_fail: 0\n     tx_timeout: {(pinterest ? 1 : 0)}\n     wd_expired: 0\n     admin_q_pause: 0\n");
        ethtool.Append(s_inv, $"     suspected_poll_starvation: {(pinterest ? 1 : 0)}\n     missing_tx_cmpl: 0\n     os_netdev_wd: 0\n     missing_admin_interrupt: 0\n     admin_to: 0\n");
        ethtool.Append("     suspend: 0\n     resume: 0\n     interface_down: 1\n     interface_up: 2\n");
        ethtool.Append("     bw_in_allowance_exceeded: 0\n     bw_out_allowance_exceeded: 0\n     pps_allowance_exceeded: 0\n     conntrack_allowance_exceeded: 0\n     linklocal_allowance_exceeded: 0\n     conntrack_allowance_available: 136098\n");
        for (int q = 0; q < Queues; q++)
        {
            ethtool.Append(s_inv, $"     queue_{q}_tx_cnt: {1_000_000 + q}\n     queue_{q}_tx_missed_tx: {(pinterest && q == 5 ? 1280 : 0)}\n     queue_{q}_tx_unmask_interrupt: {900_000 + q}\n");
        }

        Write("ethtool/eth0.txt", ethtool.ToString());
    }

    /// <summary>"[secs.usecs] text" lines as /dev/kmsg records of the kernel facility.</summary>
    public static string ToKmsg(string dmesg)
    {
        var records = new StringBuilder();
        int seq = 1000;
        foreach (string line in dmesg.Split('\n'))
        {
            int close = line.IndexOf("] ", StringComparison.Ordinal);
            if (!line.StartsWith('[') || close < 0 || !double.TryParse(line[1..close], NumberStyles.Float, s_inv, out double seconds))
            {
                continue;
            }

            records.Append(s_inv, $"4,{seq++},{(long)Math.Round(seconds * 1e6)},-;{line[(close + 2)..]}\n");
        }

        return records.ToString();
    }

    private void WriteTask(int pid, int tid, string comm, int cpu, long utime, long stime)
    {
        var fields = new StringBuilder();
        fields.Append(s_inv, $"{tid} ({comm}) R");
        for (int field = 4; field <= 52; field++)
        {
            long v = field switch
            {
                14 => utime,
                15 => stime,
                39 => cpu,
                _ => 0,
            };
            fields.Append(s_inv, $" {v}");
        }

        Write($"proc/{pid}/task/{tid}/stat", fields.Append('\n').ToString());
    }

    private void Write(string relative, string content)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }
}
