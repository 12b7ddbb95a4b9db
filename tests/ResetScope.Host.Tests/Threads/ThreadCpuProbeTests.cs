using System.Text;
using ResetScope.Host.Threads;
using ResetScope.Testing;

namespace ResetScope.Host.Tests.Threads;

public sealed class ThreadCpuProbeTests : IDisposable
{
    private readonly string _proc = Directory.CreateTempSubdirectory("resetscope-threads-").FullName;

    public void Dispose() => Directory.Delete(_proc, recursive: true);

    private static string Stat(int tid, string comm, ulong utime, ulong stime, int cpu)
    {
        // Fields 3..52 after "(comm)": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime ...
        var f = new List<string> { "R", "1", "1", "0", "0", "-1", "4194560", "0", "0", "0", "0", utime.ToString(), stime.ToString() };
        while (f.Count < 36)
        {
            f.Add("0");
        }

        f.Add(cpu.ToString()); // field 39: processor
        f.AddRange(["0", "0", "0", "0"]);
        return $"{tid} ({comm}) {string.Join(' ', f)}\n";
    }

    private void Thread(int pid, int tid, string comm, ulong utime, ulong stime, int cpu, string cgroup = "0::/kubepods.slice/kubelet.service")
    {
        string task = Path.Combine(_proc, pid.ToString(), "task", tid.ToString());
        Directory.CreateDirectory(task);
        File.WriteAllText(Path.Combine(task, "stat"), Stat(tid, comm, utime, stime, cpu));
        File.WriteAllText(Path.Combine(_proc, pid.ToString(), "cgroup"), cgroup + "\n");
    }

    [Fact]
    public void Comm_may_hold_spaces_and_parentheses()
    {
        byte[] stat = Encoding.UTF8.GetBytes(Stat(42, "weird) (name", 1234, 5678, 39));

        ThreadCpuProbe.TryParseStat(stat, out string comm, out ulong user, out ulong sys, out int cpu).Should().BeTrue();

        (comm, user, sys, cpu).Should().Be(("weird) (name", 1234UL, 5678UL, 39));
    }

    [Fact]
    public void Reports_what_each_thread_used_since_the_previous_scan_busiest_first()
    {
        Thread(2413, 2417, "kubelet", 100, 1000, 39);
        Thread(880, 880, "containerd", 10, 10, 3, "0::/system.slice/containerd.service");
        var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan().Should().BeEmpty("the first scan only primes");

        Thread(2413, 2417, "kubelet", 102, 1654, 39);
        Thread(880, 880, "containerd", 11, 10, 3, "0::/system.slice/containerd.service");
        List<ThreadUsage> usage = probe.Scan();

        usage.Should().Equal(
            new ThreadUsage(2413, 2417, "kubelet", 39, 20, 6540, "/kubepods.slice/kubelet.service"),
            new ThreadUsage(880, 880, "containerd", 3, 10, 0, "/system.slice/containerd.service"));
    }

    [Fact]
    public void A_process_that_exited_before_the_scan_keeps_the_command_line_it_had_when_first_seen()
    {
        Thread(4100, 4100, "dotnet", 0, 0, 1);
        File.WriteAllText(Path.Combine(_proc, "4100", "cmdline"), "dotnet\0resetscope.dll\0lab\0burn\0--cpu\01\0");
        var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();

        Thread(4100, 4100, "dotnet", 300, 0, 1);
        File.WriteAllText(Path.Combine(_proc, "4100", "cmdline"), ""); // a zombie's cmdline reads empty

        probe.Scan().Single().Command.Should().Be("dotnet resetscope.dll lab burn --cpu 1");
    }

    [Fact]
    public void A_command_line_read_at_the_scan_wins_over_the_one_first_seen()
    {
        Thread(4200, 4200, "sh", 0, 0, 0);
        File.WriteAllText(Path.Combine(_proc, "4200", "cmdline"), "sh\0-c\0run\0");
        var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();

        Thread(4200, 4200, "stress", 50, 0, 0);
        File.WriteAllText(Path.Combine(_proc, "4200", "cmdline"), "stress\0--cpu\01\0"); // exec'd since

        probe.Scan().Single().Command.Should().Be("stress --cpu 1");
    }

    [LinuxFact]
    public void Reads_the_real_proc()
    {
        var probe = new ThreadCpuProbe();
        probe.Scan();
        long spin = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < 50)
        {
            spin++;
        }

        List<ThreadUsage> usage = probe.Scan();

        usage.Should().Contain(u => u.Pid == Environment.ProcessId, "this test just burnt CPU");
    }
}
