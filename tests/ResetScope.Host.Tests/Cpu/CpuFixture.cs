using System.Globalization;
using System.Text;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>A writable copy of a fixture tree under fixtures/cpu (tests rewrite files to check re-reads at offset 0).</summary>
internal sealed class CpuFixture : IDisposable
{
    private CpuFixture(string root)
    {
        Root = root;
    }

    public string Root { get; }

    public static CpuFixture Copy(string name)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "fixtures", "cpu", name);
        string root = Path.Combine(Path.GetTempPath(), "resetscope-cpu-" + Guid.NewGuid().ToString("N"));
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(root, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return new CpuFixture(root);
    }

    public static CpuFixture Empty()
    {
        string root = Path.Combine(Path.GetTempPath(), "resetscope-cpu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        return new CpuFixture(root);
    }

    /// <summary>Overwrites in place (truncate + write, same inode), as procfs content changes under a kept-open fd.</summary>
    public void Write(string relative, string content)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    public void Delete(string relative) => File.Delete(Path.Combine(Root, relative));

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
}

/// <summary>
/// A generated 96-CPU host (CPU 50 offline) whose every value is a formula of the CPU / queue number, so tests can state
/// exact expectations. ENA eth0 has 32 Tx-Rx IRQs (IRQ 100 + q) delivered on CPU 3q, plus the management IRQ 99;
/// ksoftirqd/N is pid 1000 + N; napi/eth0-(8193 + q) is pid 5000 + q.
/// </summary>
internal static class Host96
{
    public const int Cpus = 96;
    public const int OfflineCpu = 50;
    public const int Queues = 32;

    public static bool IsOnline(int cpu) => cpu != OfflineCpu;

    public static ulong User(int cpu) => 1000UL + (ulong)cpu;

    public static ulong Nice(int cpu) => (ulong)(cpu % 3);

    public static ulong System(int cpu) => 2000UL + (2UL * (ulong)cpu);

    public static ulong Idle(int cpu) => 100_000UL + (10UL * (ulong)cpu);

    public static ulong IoWait(int cpu) => (ulong)cpu;

    public static ulong Irq(int cpu) => (ulong)(cpu % 5);

    public static ulong SoftIrq(int cpu) => 300UL + (ulong)cpu;

    public static ulong Steal(int cpu) => (ulong)(cpu % 7);

    public static ulong NetRx(int cpu) => IsOnline(cpu) ? 10_000UL + (11UL * (ulong)cpu) : 0;

    public static ulong NetTx(int cpu) => IsOnline(cpu) ? 3UL * (ulong)cpu : 0;

    public static ulong OtherSoftirq(int kind, int cpu) => IsOnline(cpu) ? (1000UL * (ulong)kind) + (ulong)cpu : 0;

    public static ulong Processed(int cpu) => 0x1000UL + (ulong)cpu;

    public static ulong TimeSqueeze(int cpu) => 2UL * (ulong)cpu;

    public static int QueueCpu(int queue) => 3 * queue;

    public static ulong IrqCount(int queue, int cpu) => cpu == QueueCpu(queue) ? 1_000_000UL + (ulong)queue : (ulong)queue;

    public static ulong KsoftirqdWait(int cpu) => 2000UL * (ulong)cpu;

    public static ulong NapiWait(int queue) => 77_000UL + (ulong)queue;

    public static CpuFixture Create()
    {
        CpuFixture f = CpuFixture.Empty();
        IFormatProvider inv = CultureInfo.InvariantCulture;

        var stat = new StringBuilder();
        ulong[] sum = new ulong[8];
        var lines = new StringBuilder();
        for (int c = 0; c < Cpus; c++)
        {
            if (!IsOnline(c))
            {
                continue;
            }

            ulong[] v = [User(c), Nice(c), System(c), Idle(c), IoWait(c), Irq(c), SoftIrq(c), Steal(c)];
            for (int i = 0; i < 8; i++)
            {
                sum[i] += v[i];
            }

            lines.Append(inv, $"cpu{c} {string.Join(' ', v)} 0 0\n");
        }

        stat.Append(inv, $"cpu  {string.Join(' ', sum)} 0 0\n").Append(lines).Append("intr 0 0 0\nctxt 1\n");
        f.Write("stat", stat.ToString());

        string[] kinds = ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];
        var softirqs = new StringBuilder("          ");
        for (int c = 0; c < Cpus; c++)
        {
            softirqs.Append(inv, $" CPU{c,-9}");
        }

        softirqs.Append('\n');
        for (int k = 0; k < kinds.Length; k++)
        {
            softirqs.Append(inv, $"{kinds[k] + ":",12}");
            for (int c = 0; c < Cpus; c++)
            {
                ulong v = k == 3 ? NetRx(c) : k == 2 ? NetTx(c) : OtherSoftirq(k, c);
                softirqs.Append(inv, $" {v,10}");
            }

            softirqs.Append('\n');
        }

        f.Write("softirqs", softirqs.ToString());

        var softnet = new StringBuilder();
        for (int c = 0; c < Cpus; c++)
        {
            if (IsOnline(c))
            {
                // 15 columns: processed dropped time_squeeze, six legacy zeros, received_rps flow_limit backlog_len,
                // CPU index, input_pkt_queue len, process_queue len.
                softnet.Append(inv, $"{Processed(c):x8} {c % 2:x8} {TimeSqueeze(c):x8} 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 {c:x8} 00000000 00000000\n");
            }
        }

        f.Write("net/softnet_stat", softnet.ToString());

        var irq = new StringBuilder("     ");
        for (int c = 0; c < Cpus; c++)
        {
            if (IsOnline(c))
            {
                irq.Append(inv, $"      CPU{c,-4}");
            }
        }

        irq.Append('\n');
        irq.Append(" 99:");
        for (int c = 0; c < Cpus; c++)
        {
            if (IsOnline(c))
            {
                irq.Append(inv, $" {(c == 0 ? 12UL : 0UL),10}");
            }
        }

        irq.Append("  PCI-MSIX-0000:00:05.0   0-edge      ena-mgmnt@pci:0000:00:05.0\n");
        f.Write("irq/99/effective_affinity_list", "0\n");
        for (int q = 0; q < Queues; q++)
        {
            irq.Append(inv, $"{100 + q,3}:");
            for (int c = 0; c < Cpus; c++)
            {
                if (IsOnline(c))
                {
                    irq.Append(inv, $" {IrqCount(q, c),10}");
                }
            }

            irq.Append(inv, $"  PCI-MSIX-0000:00:05.0   {q + 1}-edge      eth0-Tx-Rx-{q}\n");
            f.Write($"irq/{100 + q}/effective_affinity_list", $"{QueueCpu(q)}\n");
            f.Write($"irq/{100 + q}/smp_affinity_list", "0-95\n");
        }

        irq.Append("NMI:          0   Non-maskable interrupts\n");
        f.Write("interrupts", irq.ToString());

        f.Write("pressure/cpu", "some avg10=1.00 avg60=2.00 avg300=3.00 total=456789\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");

        for (int c = 0; c < Cpus; c++)
        {
            f.Write($"{1000 + c}/comm", $"ksoftirqd/{c}\n");
            f.Write($"{1000 + c}/schedstat", $"{1000 * c} {KsoftirqdWait(c)} {c}\n");
        }

        for (int q = 0; q < Queues; q++)
        {
            f.Write($"{5000 + q}/comm", $"napi/eth0-{8193 + q}\n");
            f.Write($"{5000 + q}/schedstat", $"{q} {NapiWait(q)} {q + 1}\n");
        }

        f.Write("1/comm", "systemd\n");
        f.Write("1/schedstat", "1 2 3\n");
        return f;
    }
}
