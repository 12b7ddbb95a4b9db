namespace ResetScope.Cli.Tests;

/// <summary>doctor on a fixture tree: an ENA host with four queues, unreadable kernel log.</summary>
public sealed class DoctorCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"resetscope-doctor-{Guid.NewGuid():N}");

    public DoctorCommandTests()
    {
        Write("proc/sys/kernel/osrelease", "5.4.0-1045-aws\n");
        Write("proc/stat", "cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\ncpu1 1 2 3 4 5 6 7 8 0 0\nintr 0\n");
        Write("proc/uptime", "7200.00 14000.00\n");
        Write("sys/module/ena/version", "2.11.0g\n");
        Directory.CreateDirectory(Path.Combine(_root, "sys/bus/pci/drivers/ena"));
        Directory.CreateDirectory(Path.Combine(_root, "sys/devices/pci0000:00/0000:20:03.0"));
        string eth0 = Path.Combine(_root, "sys/class/net/eth0");
        for (int q = 0; q < 4; q++)
        {
            Directory.CreateDirectory(Path.Combine(eth0, "queues", $"tx-{q}"));
        }

        Directory.CreateSymbolicLink(Path.Combine(eth0, "device"), Path.Combine(_root, "sys/devices/pci0000:00/0000:20:03.0"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "sys/devices/pci0000:00/0000:20:03.0/driver"), Path.Combine(_root, "sys/bus/pci/drivers/ena"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void Reports_the_host_its_ENA_interface_and_what_it_cannot_read()
    {
        (int exit, string output, _) = TestConsole.Run("doctor", "--sample", "0", "--proc-root", Path.Combine(_root, "proc"), "--sys-root", Path.Combine(_root, "sys"), "--kmsg", Path.Combine(_root, "no-kmsg"));

        exit.Should().Be(0);
        output.Should().StartWith("resetscope doctor · kernel 5.4.0-1045-aws · 2 CPUs · up 2.0 h\n");
        output.Should().Contain($"  kernel log      not readable: {Path.Combine(_root, "no-kmsg")}: ");
        output.Should().Contain("  interface       eth0: ena 2.11.0g at 0000:20:03.0, 4 Tx queue(s)\n");
        output.Should().Contain("ENA interfaces: eth0.\n");
        output.Should().Contain("Findings: none");
    }

    [Fact]
    public void A_Pinterest_like_host_shows_the_zombie_memcgs_and_the_crash_looping_unit()
    {
        Write("proc/cgroups", "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t11\t68680\t1\n");
        string memory = Path.Combine(_root, "sys/fs/cgroup/memory");
        for (int i = 0; i < 237; i++)
        {
            Directory.CreateDirectory(Path.Combine(memory, i < 100 ? $"kubepods/pod{i}" : $"system.slice/unit{i}.service"));
        }

        var syslog = new System.Text.StringBuilder();
        for (int n = 7600; n <= 7694; n++)
        {
            syslog.Append(System.Globalization.CultureInfo.InvariantCulture, $"Jul 14 {10 + (n - 7600) / 60:D2}:{(n - 7600) % 60:D2}:05 ip-10-0-1-5 systemd[1]: ecs.service: Scheduled restart job, restart counter is at {n}.\n");
        }

        Write("log/syslog", syslog.ToString());

        (int exit, string output, _) = TestConsole.Run("doctor", "--sample", "0", "--proc-root", Path.Combine(_root, "proc"), "--sys-root", Path.Combine(_root, "sys"),
            "--kmsg", Path.Combine(_root, "no-kmsg"), "--log-root", Path.Combine(_root, "log"));

        exit.Should().Be(0);
        output.Should().Contain("Findings (most likely first):\n  1. 68440 zombie memory cgroups, leaked by ecs.service  [zombie-memcgs, confidence 0.70]\n");
        output.Should().Contain("  2. ecs.service is crash-looping (");
        output.Should().Contain("68680 memcgs known to the kernel vs 240 live directories: 68440 dying (zombie)");
        output.Should().Contain("kernel 5.4.0-1045-aws < 5.7: reading v1 memory.numa_stat walks every memcg");
    }

    [Fact]
    public void Json_is_one_object()
    {
        (int exit, string output, _) = TestConsole.Run("doctor", "--sample", "0", "--json", "--proc-root", Path.Combine(_root, "proc"), "--sys-root", Path.Combine(_root, "sys"));

        exit.Should().Be(0);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        doc.RootElement.GetProperty("kernel").GetString().Should().Be("5.4.0-1045-aws");
        doc.RootElement.GetProperty("interfaces")[0].GetProperty("driver_version").GetString().Should().Be("2.11.0g");
    }

    [Fact]
    public void A_missing_proc_root_is_one_line_and_exit_2()
    {
        (int exit, _, string error) = TestConsole.Run("doctor", "--sample", "0", "--proc-root", Path.Combine(_root, "nope"));

        exit.Should().Be(2);
        error.Should().Be($"resetscope: {Path.Combine(_root, "nope")}: no such directory; --proc-root must point at a procfs tree\n");
    }
}
