using ResetScope.Host.Services;

namespace ResetScope.Host.Tests.Services;

/// <summary>Crash-loop detection: restart lines from journal/syslog fixtures, NRestarts degradation, container runtimes.</summary>
public sealed class CrashLoopProbeTests : IDisposable
{
    private static readonly string s_journal = Path.Combine(AppContext.BaseDirectory, "fixtures", "cgroups", "journal");

    private readonly string _root = Path.Combine(Path.GetTempPath(), "resetscope-crashloop-" + Guid.NewGuid().ToString("N"));

    public CrashLoopProbeTests()
    {
        Directory.CreateDirectory(_root);
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Journal_with_a_crash_looping_ecs_service_among_unrelated_lines()
    {
        IReadOnlyList<UnitRestartLoop> loops = CrashLoopProbe.ParseRestartLines(
            File.ReadLines(Path.Combine(s_journal, "ecs-crashloop.short-iso.txt")), syslogYear: 2025);

        var t0 = new DateTimeOffset(2025, 3, 14, 10, 0, 0, TimeSpan.Zero);
        loops.Should().HaveCount(2, "the 'fake: ... counter is at many.' line is not a restart line");
        UnitRestartLoop ecs = loops[0];
        ecs.Unit.Should().Be("ecs.service");
        ecs.MaxCounter.Should().Be(7694);
        ecs.Lines.Should().Be(15);
        ecs.First.Should().Be(t0);
        ecs.Last.Should().Be(t0.AddSeconds(210));
        ecs.Restarts.Should().Be(14);
        ecs.RestartsPerHour.Should().BeApproximately(240, 1e-9, "one restart every 15 s");
        ecs.CounterResets.Should().Be(0);

        loops[1].Should().Be(new UnitRestartLoop("node-exporter.service", 2, 2, t0.AddSeconds(87), t0.AddSeconds(147), 1, 60, 0));
    }

    [Fact]
    public void Syslog_with_bsd_timestamps_across_midnight_and_a_counter_reset()
    {
        IReadOnlyList<UnitRestartLoop> loops = CrashLoopProbe.ParseRestartLines(
            File.ReadLines(Path.Combine(s_journal, "ecs-crashloop.syslog")), syslogYear: 2025, syslogOffset: TimeSpan.FromHours(-5));

        UnitRestartLoop ecs = loops.Should().ContainSingle().Subject;
        ecs.Unit.Should().Be("ecs.service");
        ecs.MaxCounter.Should().Be(43);
        ecs.Lines.Should().Be(5);
        ecs.First.Should().Be(new DateTimeOffset(2025, 3, 4, 23, 59, 50, TimeSpan.FromHours(-5)));
        ecs.Last.Should().Be(new DateTimeOffset(2025, 3, 5, 0, 0, 40, TimeSpan.FromHours(-5)));
        ecs.CounterResets.Should().Be(1);
        ecs.Restarts.Should().Be(4, "41→42→43, reset to 1 (one restart), 1→2");
        ecs.RestartsPerHour.Should().BeApproximately(4 / (50.0 / 3600), 1e-9);
    }

    [Theory]
    [InlineData("1741946400.250000 host systemd[1]: a.service: Scheduled restart job, restart counter is at 3.", "2025-03-14T10:00:00.25+00:00")]
    [InlineData("2025-03-14T12:00:00.123456+02:00 host systemd[1]: a.service: Scheduled restart job, restart counter is at 3.", "2025-03-14T10:00:00.123456+00:00")]
    [InlineData("2025-03-14T10:00:00+0000 host systemd[1]: a.service: Scheduled restart job, restart counter is at 3.", "2025-03-14T10:00:00+00:00")]
    [InlineData("Mar 14 10:00:00 host systemd[1]: a.service: Scheduled restart job, restart counter is at 3.", "2025-03-14T10:00:00+00:00")]
    [InlineData("a.service: Scheduled restart job, restart counter is at 3.", null)]
    [InlineData("[ 1234.567890] host systemd[1]: a.service: Scheduled restart job, restart counter is at 3.", null)]
    public void Timestamps_of_every_journal_and_syslog_shape(string line, string? expected)
    {
        UnitRestartLoop loop = CrashLoopProbe.ParseRestartLines([line], syslogYear: 2025).Single();

        loop.Unit.Should().Be("a.service");
        loop.MaxCounter.Should().Be(3);
        loop.First.Should().Be(expected is null ? null : DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
        loop.RestartsPerHour.Should().BeNull("one line has no interval");
    }

    [Fact]
    public void User_units_and_templated_units_keep_their_names()
    {
        IReadOnlyList<UnitRestartLoop> loops = CrashLoopProbe.ParseRestartLines(
        [
            "2025-03-14T10:00:00+0000 h systemd[1200]: pulse@1000.service: Scheduled restart job, restart counter is at 5.",
            "2025-03-14T10:00:00+0000 h systemd[1]: run-r1b2c3.scope: Scheduled restart job, restart counter is at 9.",
        ], syslogYear: 2025);

        loops.Select(l => (l.Unit, l.MaxCounter)).Should().Equal(("run-r1b2c3.scope", 9), ("pulse@1000.service", 5));
    }

    [Fact]
    public void NRestarts_is_unavailable_when_pid1_is_not_systemd()
    {
        string proc = FakeProc("process_api");

        SystemdRestartCount r = new CrashLoopProbe(proc, Path.Combine(_root, "run"), _root, pathVariable: "/usr/bin:/bin").NRestarts("ecs.service");

        r.NRestarts.Should().BeNull();
        r.Unavailable.Should().Be("systemd is not PID 1 (PID 1 is process_api): NRestarts unavailable, use the journal or syslog restart lines");
    }

    [Fact]
    public void NRestarts_is_unavailable_when_systemd_comm_but_not_booted_with_it()
    {
        var probe = new CrashLoopProbe(FakeProc("systemd"), Path.Combine(_root, "run"), _root);

        probe.SystemdIsPid1.Should().BeFalse("sd_booted() also needs /run/systemd/system");
        probe.NRestarts("ecs.service").Unavailable.Should().StartWith("systemd is not PID 1");
    }

    [Fact]
    public void NRestarts_runs_systemctl_show_when_systemd_is_pid1()
    {
        string run = Path.Combine(_root, "run");
        Directory.CreateDirectory(Path.Combine(run, "systemd", "system"));
        string bin = FakeCommand("systemctl", "[ \"$*\" = \"show -p NRestarts --value ecs.service\" ] && echo 7694 && exit 0\necho \"bad args: $*\" >&2\nexit 1");
        var probe = new CrashLoopProbe(FakeProc("systemd"), run, _root, pathVariable: bin);

        probe.NRestarts("ecs.service").Should().Be(new SystemdRestartCount("ecs.service", 7694, null));
        probe.NRestarts("other.service").Unavailable.Should().Be("systemctl show: bad args: show -p NRestarts --value other.service");
    }

    [Fact]
    public void NRestarts_on_this_machine_degrades_cleanly_when_systemd_is_not_pid1()
    {
        var probe = new CrashLoopProbe();
        if (probe.SystemdIsPid1)
        {
            probe.NRestarts("this-unit-does-not-exist-resetscope.service").Unavailable.Should().BeNull("systemd answers 0 for unknown units");
            return;
        }

        SystemdRestartCount r = probe.NRestarts("ecs.service");
        r.NRestarts.Should().BeNull();
        r.Unavailable.Should().StartWith("systemd is not PID 1 (PID 1 is ");
    }

    [Fact]
    public void Restart_loops_fall_back_from_an_empty_journal_to_syslog()
    {
        string bin = FakeCommand("journalctl", "echo 'No journal files were found.' >&2\necho '-- No entries --'\nexit 0");
        string log = Path.Combine(_root, "log");
        Directory.CreateDirectory(log);
        File.Copy(Path.Combine(s_journal, "ecs-crashloop.syslog"), Path.Combine(log, "syslog"));

        CrashLoopReport report = new CrashLoopProbe(FakeProc("process_api"), _root, log, bin).ReadRestartLoops(syslogYear: 2025);

        report.Source.Should().Be(Path.Combine(log, "syslog"));
        report.Units.Should().ContainSingle(u => u.Unit == "ecs.service" && u.MaxCounter == 43);
        report.Problems.Should().Equal("journalctl: No journal files were found.");
    }

    [Fact]
    public void Restart_loops_from_journalctl_when_it_has_entries()
    {
        string fixture = Path.Combine(s_journal, "ecs-crashloop.short-iso.txt");
        string bin = FakeCommand("journalctl", $"cat '{fixture}'");

        CrashLoopReport report = new CrashLoopProbe(FakeProc("systemd"), _root, Path.Combine(_root, "nolog"), bin).ReadRestartLoops(syslogYear: 2025);

        report.Source.Should().Be("journalctl");
        report.Units[0].Should().Match<UnitRestartLoop>(u => u.Unit == "ecs.service" && u.MaxCounter == 7694 && u.Restarts == 14);
        report.Problems.Should().BeEmpty();
    }

    [Fact]
    public void Journal_read_since_a_time_passes_it_in_utc()
    {
        string fixture = Path.Combine(s_journal, "ecs-crashloop.short-iso.txt");
        string argsFile = Path.Combine(_root, "args");
        string bin = FakeCommand("journalctl", $"printf '%s|' \"$@\" > '{argsFile}'\ncat '{fixture}'");

        CrashLoopReport report = new CrashLoopProbe(FakeProc("systemd"), _root, _root, bin)
            .ReadRestartLoops(2025, since: new DateTimeOffset(2025, 3, 14, 11, 0, 0, TimeSpan.FromHours(1)));

        File.ReadAllText(argsFile).Should().Be("-o|short-iso|--no-pager|-q|--since|2025-03-14 10:00:00 UTC|SYSLOG_IDENTIFIER=systemd|");
        report.Units.Should().HaveCount(2);
    }

    [Fact]
    public void No_log_source_at_all_is_reported()
    {
        CrashLoopReport report = new CrashLoopProbe(FakeProc("process_api"), _root, Path.Combine(_root, "nolog"), pathVariable: string.Empty).ReadRestartLoops();

        report.Source.Should().BeNull();
        report.Units.Should().BeEmpty();
        report.Problems.Should().Equal("journalctl: not on PATH", $"no syslog or messages file under {Path.Combine(_root, "nolog")}");
    }

    [Fact]
    public void Containers_unavailable_without_a_runtime()
    {
        ContainerRestartReport r = new CrashLoopProbe(FakeProc("process_api"), _root, _root, pathVariable: string.Empty).ContainerRestarts();

        r.Runtime.Should().BeNull();
        r.Unavailable.Should().Be("no container runtime (docker, crictl) on PATH");
    }

    [Fact]
    public void Docker_listing_shows_one_image_with_a_container_per_restart()
    {
        string bin = FakeCommand("docker", string.Join('\n',
            "printf 'a1\\tamazon/amazon-ecs-agent:latest\\tecs-agent\\trunning\\t2025-03-14 10:03:31 +0000 UTC\\n'",
            "printf 'a0\\tamazon/amazon-ecs-agent:latest\\tecs-agent-old1\\texited\\t2025-03-14 10:03:16 +0000 UTC\\n'",
            "printf 'a9\\tamazon/amazon-ecs-agent:latest\\tecs-agent-old2\\texited\\t2025-03-14 10:03:01 +0000 UTC\\n'",
            "printf 'b1\\tprom/node-exporter:v1.8.0\\tnode-exporter\\trunning\\t2025-03-01 00:00:00 +0000 UTC\\n'"));

        ContainerRestartReport r = new CrashLoopProbe(FakeProc("process_api"), _root, _root, bin).ContainerRestarts();

        r.Runtime.Should().Be("docker");
        r.Unavailable.Should().BeNull();
        r.Containers.Should().HaveCount(4);
        r.Containers[1].Should().Be(new ContainerEntry("a0", "amazon/amazon-ecs-agent:latest", "ecs-agent-old1", "exited", "2025-03-14 10:03:16 +0000 UTC", null));
        r.PerImage.Should().Equal(("amazon/amazon-ecs-agent:latest", 3, 2), ("prom/node-exporter:v1.8.0", 1, 0));
    }

    [Fact]
    public void Docker_without_a_daemon_is_unavailable_with_its_message()
    {
        string bin = FakeCommand("docker", "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1");

        ContainerRestartReport r = new CrashLoopProbe(FakeProc("process_api"), _root, _root, bin).ContainerRestarts();

        r.Runtime.Should().BeNull();
        r.Unavailable.Should().Be("docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?");
    }

    [Fact]
    public void Crictl_json_carries_the_restart_attempt()
    {
        const string json = """
            {"containers":[
              {"id":"c1","podSandboxId":"p","metadata":{"name":"ecs-agent","attempt":41},"image":{"image":"amazon/amazon-ecs-agent:latest"},"state":"CONTAINER_EXITED","createdAt":"1741946400000000000"},
              {"id":"c2","metadata":{"name":"app","attempt":0},"image":{"image":"app:1"},"state":"CONTAINER_RUNNING","createdAt":"1741946300000000000"}
            ]}
            """;

        List<ContainerEntry> list = CrashLoopProbe.ParseCrictlJson(json);

        list.Should().Equal(
            new ContainerEntry("c1", "amazon/amazon-ecs-agent:latest", "ecs-agent", "CONTAINER_EXITED", "1741946400000000000", 41),
            new ContainerEntry("c2", "app:1", "app", "CONTAINER_RUNNING", "1741946300000000000", 0));
        new ContainerRestartReport("crictl", list, null).PerImage.Should().Equal(("amazon/amazon-ecs-agent:latest", 1, 1), ("app:1", 1, 0));
        CrashLoopProbe.ParseCrictlJson("{not json").Should().BeEmpty();
    }

    [Fact]
    public void Containers_on_this_machine_are_listed_or_reported_unavailable()
    {
        ContainerRestartReport r = new CrashLoopProbe().ContainerRestarts();

        (r.Runtime is not null ^ r.Unavailable is not null).Should().BeTrue($"either a runtime answered or there is a reason (got runtime {r.Runtime}, reason {r.Unavailable})");
    }

    private string FakeProc(string pid1Comm)
    {
        string proc = Path.Combine(_root, "proc-" + pid1Comm);
        Directory.CreateDirectory(Path.Combine(proc, "1"));
        File.WriteAllText(Path.Combine(proc, "1", "comm"), pid1Comm + "\n");
        return proc;
    }

    private string FakeCommand(string name, string body)
    {
        string bin = Path.Combine(_root, "bin-" + name);
        Directory.CreateDirectory(bin);
        string path = Path.Combine(bin, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return bin;
    }
}
