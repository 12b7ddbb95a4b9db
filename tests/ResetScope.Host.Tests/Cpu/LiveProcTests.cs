using ResetScope.Host.Cpu;
using Xunit.Abstractions;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>The probes on this machine's real /proc: structural facts only (values differ per machine and per moment).</summary>
public class LiveProcTests
{
    private readonly ITestOutputHelper _output;

    public LiveProcTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public void Real_proc_cpu_count_matches_and_counters_never_decrease_between_two_samples()
    {
        if (!File.Exists("/proc/stat"))
        {
            _output.WriteLine("skipped: /proc/stat is absent (not Linux), nothing to sample");
            return;
        }

        int statCpus = File.ReadLines("/proc/stat").Count(l => l.StartsWith("cpu", StringComparison.Ordinal) && l.Length > 3 && char.IsAsciiDigit(l[3]));
        using var sampler = new PerCpuSampler();
        PerCpuSample a = sampler.CreateSample();
        PerCpuSample b = sampler.CreateSample();

        sampler.Sample(a);
        for (int spin = 0; spin < 200_000; spin++)
        {
            _ = spin.GetHashCode(); // burn a little CPU between samples; no sleeping
        }

        sampler.Sample(b);

        sampler.Stat.OnlineCount.Should().Be(statCpus);
        a.Online.Count(o => o).Should().Be(statCpus);
        Environment.ProcessorCount.Should().BeLessThanOrEqualTo(statCpus, "affinity masks and CPU quotas can only lower the runtime's count");
        b.Timestamp.Should().BeGreaterThanOrEqualTo(a.Timestamp);
        b.Total.Total.Should().BeGreaterThanOrEqualTo(a.Total.Total);
        for (int c = 0; c < a.CpuSlots; c++)
        {
            if (!a.Online[c] || !b.Online[c])
            {
                continue;
            }

            b.Cpu[c].User.Should().BeGreaterThanOrEqualTo(a.Cpu[c].User);
            b.Cpu[c].System.Should().BeGreaterThanOrEqualTo(a.Cpu[c].System);
            b.Cpu[c].Idle.Should().BeGreaterThanOrEqualTo(a.Cpu[c].Idle);
            b.Cpu[c].SoftIrq.Should().BeGreaterThanOrEqualTo(a.Cpu[c].SoftIrq);
            b.Cpu[c].Steal.Should().BeGreaterThanOrEqualTo(a.Cpu[c].Steal);
            b.Softirq(SoftirqKind.NetRx, c).Should().BeGreaterThanOrEqualTo(a.Softirq(SoftirqKind.NetRx, c));
            b.Softirq(SoftirqKind.Timer, c).Should().BeGreaterThanOrEqualTo(a.Softirq(SoftirqKind.Timer, c));
            if (a.SoftnetPresent[c] && b.SoftnetPresent[c])
            {
                b.Softnet[c].Processed.Should().BeGreaterThanOrEqualTo(a.Softnet[c].Processed);
            }

            if (a.Ksoftirqd[c].Valid && b.Ksoftirqd[c].Valid)
            {
                b.Ksoftirqd[c].OnCpuNs.Should().BeGreaterThanOrEqualTo(a.Ksoftirqd[c].OnCpuNs);
                b.Ksoftirqd[c].RunQueueWaitNs.Should().BeGreaterThanOrEqualTo(a.Ksoftirqd[c].RunQueueWaitNs);
            }
        }

        sampler.Softnet.Rows.Should().Be(statCpus, "softnet_stat has one row per online CPU");
        sampler.Threads.Threads.Count(t => t.Kind == SoftirqThreadKind.Ksoftirqd).Should().BeGreaterThanOrEqualTo(statCpus);
        if (sampler.Psi.Available)
        {
            b.PsiSome.TotalMicroseconds.Should().BeGreaterThanOrEqualTo(a.PsiSome.TotalMicroseconds);
        }

        sampler.Interrupts.Irqs.Should().NotBeEmpty();
        _output.WriteLine($"cpus={statCpus} irqs={sampler.Interrupts.Irqs.Count} nicQueues={sampler.Interrupts.NicQueues.Count} threads={sampler.Threads.Threads.Count} psi={sampler.Psi.Available}");
    }

    [Fact]
    public void Real_proc_steady_state_cycles_allocate_zero_bytes()
    {
        if (!File.Exists("/proc/stat"))
        {
            _output.WriteLine("skipped: /proc/stat is absent (not Linux), nothing to sample");
            return;
        }

        using var sampler = new PerCpuSampler();
        PerCpuSample slot = sampler.CreateSample();
        for (int i = 0; i < 50; i++)
        {
            sampler.Sample(slot);
        }

        const int Cycles = 200;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Cycles; i++)
        {
            sampler.Sample(slot);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0, "kept-open fds re-read at offset 0 into reused buffers");
    }
}
