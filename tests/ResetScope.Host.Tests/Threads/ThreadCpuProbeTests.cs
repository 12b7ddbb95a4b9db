using System.Text;
using ResetScope.Host.Threads;
using ResetScope.Testing;

namespace ResetScope.Host.Tests.Threads;

public sealed class ThreadCpuProbeTests : IDisposable
{
    private readonly string _proc = Directory.CreateTempSubdirectory("resetscope-threads-").FullName;

    public void Dispose() => Directory.Delete(_proc, recursive: true);

    private static string Stat(int tid, string comm, ulong utime, ulong stime, int cpu, int threads = 1)
    {
        // Fields 3..52 after "(comm)": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime ...
        var f = new List<string> { "R", "1", "1", "0", "0", "-1", "4194560", "0", "0", "0", "0", utime.ToString(), stime.ToString() };
        while (f.Count < 36)
        {
            f.Add("0");
        }

        f[17] = threads.ToString(); // field 20: num_threads
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
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
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
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
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
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();

        Thread(4200, 4200, "stress", 50, 0, 0);
        File.WriteAllText(Path.Combine(_proc, "4200", "cmdline"), "stress\0--cpu\01\0"); // exec'd since

        probe.Scan().Single().Command.Should().Be("stress --cpu 1");
    }

    [Fact]
    public void Entries_that_are_not_ids_and_threads_without_a_readable_stat_are_skipped()
    {
        Thread(300, 300, "ok", 0, 0, 0);
        Thread(301, 301, "gone", 0, 0, 1);
        Directory.CreateDirectory(Path.Combine(_proc, "self", "task", "1"));
        Directory.CreateDirectory(Path.Combine(_proc, "12345678901", "task", "1"));
        File.WriteAllText(Path.Combine(_proc, "uptime"), "1.0 1.0\n");
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();

        Thread(300, 300, "ok", 7, 0, 0);
        File.Delete(Path.Combine(_proc, "301", "task", "301", "stat")); // exited between the listing and the read

        probe.Scan().Should().Equal(new ThreadUsage(300, 300, "ok", 0, 70, 0, "/kubepods.slice/kubelet.service"));
    }

    [Fact]
    public void A_scan_of_threads_that_did_not_run_allocates_only_its_result_list()
    {
        for (int pid = 1000; pid < 1200; pid++)
        {
            Thread(pid, pid, "idle-" + pid, 5, 5, pid % 2);
            Thread(pid, pid + 100_000, "worker", 5, 5, pid % 2);
        }

        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();
        probe.Scan().Should().BeEmpty(); // warmed up: maps sized, code compiled

        long before = GC.GetAllocatedBytesForCurrentThread();
        List<ThreadUsage> usage = probe.Scan();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        usage.Should().BeEmpty();
        allocated.Should().BeLessThanOrEqualTo(64, "400 threads read, none reported: only the empty list is new");
    }

    [Theory]
    [InlineData("12:memory:/kubepods/burstable/pod1\n4:cpu,cpuacct:/kubepods/cpu\n0::/\n", "/kubepods/burstable/pod1")]
    [InlineData("4:cpu,cpuacct:/system.slice/cron.service\n2:pids:/x\n0::/\n", "/system.slice/cron.service")]
    [InlineData("12:memory:/v1-memory\n0::/system.slice/ssh.service\n", "/system.slice/ssh.service")]
    [InlineData("0::/\n", null)]
    public void The_cgroup_is_the_v2_one_unless_root_else_v1_memory_else_cpu(string cgroupFile, string? expected)
    {
        Thread(500, 501, "worker", 0, 0, 0, cgroupFile.TrimEnd('\n'));
        Thread(500, 502, "worker2", 0, 0, 1, cgroupFile.TrimEnd('\n'));
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();

        Thread(500, 501, "worker", 1, 0, 0, cgroupFile.TrimEnd('\n'));
        Thread(500, 502, "worker2", 2, 0, 1, cgroupFile.TrimEnd('\n'));

        probe.Scan().Select(u => (u.Tid, u.Cgroup)).Should().Equal((502, expected), (501, expected));
    }

    /// <summary>/proc/&lt;pid&gt;/stat: the whole process (its threads' CPU time summed).</summary>
    private void Process(int pid, string comm, ulong utime, ulong stime, int threads) =>
        File.WriteAllText(Path.Combine(_proc, pid.ToString(), "stat"), Stat(pid, comm, utime, stime, 0, threads));

    [Fact]
    public void A_process_whose_own_cpu_time_did_not_move_is_not_read_thread_by_thread()
    {
        Thread(700, 700, "idle", 10, 10, 0);
        Thread(700, 701, "idle-worker", 5, 5, 1);
        Process(700, "idle", 15, 15, threads: 2);
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();

        // A task file that changed under a process that did not: the process's figures are the ones trusted.
        Thread(700, 701, "idle-worker", 9, 5, 1);

        probe.Scan().Should().BeEmpty();
    }

    [Fact]
    public void A_process_whose_cpu_time_moved_has_its_threads_read_and_reported()
    {
        Thread(710, 710, "web", 10, 10, 0);
        Thread(710, 711, "web-worker", 5, 5, 1);
        Process(710, "web", 15, 15, threads: 2);
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();
        probe.Scan().Should().BeEmpty();

        Thread(710, 711, "web-worker", 25, 5, 1);
        Process(710, "web", 35, 15, threads: 2);

        probe.Scan().Should().Equal(new ThreadUsage(710, 711, "web-worker", 1, 200, 0, "/kubepods.slice/kubelet.service"));
    }

    [Fact]
    public void A_thread_that_exited_is_forgotten_and_one_reusing_its_id_starts_afresh()
    {
        Thread(720, 720, "svc", 10, 10, 0);
        Thread(720, 721, "svc-worker", 50, 50, 1);
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100);
        probe.Scan();
        Directory.Delete(Path.Combine(_proc, "720", "task", "721"), recursive: true);
        probe.Scan().Should().BeEmpty();

        Thread(720, 721, "svc-worker", 1, 0, 1); // a new thread with the old id: no delta against the dead one's figures
        probe.Scan().Should().BeEmpty("a thread first seen only primes");

        Thread(720, 721, "svc-worker", 3, 0, 1);
        probe.Scan().Should().Equal(new ThreadUsage(720, 721, "svc-worker", 1, 20, 0, "/kubepods.slice/kubelet.service"));
    }

    private int OpenFilesUnder(string dir) =>
        Directory.GetFiles("/proc/self/fd").Count(fd => new FileInfo(fd).LinkTarget is string target && target.StartsWith(dir, StringComparison.Ordinal));

    [LinuxFact]
    public void Process_stat_files_stay_open_between_scans_up_to_the_cap_and_close_on_dispose()
    {
        for (int pid = 800; pid < 805; pid++)
        {
            Thread(pid, pid, "p" + pid, 1, 1, 0);
            Process(pid, "p" + pid, 1, 1, threads: 1);
        }

        var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100, maxOpenStats: 3);
        probe.Scan();
        OpenFilesUnder(_proc).Should().Be(3, "three of the five processes' stat files are kept");

        Thread(804, 804, "p804", 5, 1, 0); // one kept open or not, each is read afresh
        Process(804, "p804", 5, 1, threads: 1);
        Thread(800, 800, "p800", 3, 1, 0);
        Process(800, "p800", 3, 1, threads: 1);
        probe.Scan().Select(u => (u.Pid, u.UserMs)).Should().Equal((804, 40.0), (800, 20.0));

        probe.Dispose();
        OpenFilesUnder(_proc).Should().Be(0);
    }

    [LinuxFact]
    public void A_process_that_went_away_has_its_kept_stat_file_closed()
    {
        Thread(810, 810, "gone-soon", 1, 1, 0);
        Process(810, "gone-soon", 1, 1, threads: 1);
        using var probe = new ThreadCpuProbe(_proc, clockTicksPerSecond: 100, maxOpenStats: 8);
        probe.Scan();
        OpenFilesUnder(_proc).Should().Be(1);

        Directory.Delete(Path.Combine(_proc, "810"), recursive: true);
        probe.Scan();

        OpenFilesUnder(_proc).Should().Be(0);
    }

    [LinuxFact]
    public void Reads_the_real_proc()
    {
        using var probe = new ThreadCpuProbe();
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
