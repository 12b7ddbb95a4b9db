using System.Text.Json;
using ResetScope.Testing;
using ResetScope.Testing.HostTrees;

namespace ResetScope.Cli.Tests;

/// <summary>
/// doctor end to end on generated 96-CPU host trees, sampled for 10 s of virtual time: the Pinterest state, a healthy
/// host, and keep-alive resets while every CPU was idle.
/// </summary>
public sealed class DoctorHostTreeTests
{
    private static string Dmesg(string scenario)
    {
        (int exit, string log, _) = TestConsole.Run("simulate", scenario, "--log-only");
        exit.Should().Be(0);
        return log;
    }

    private static (string Output, FixtureClock Clock) Doctor(HostTree tree, params string[] extra)
    {
        var clock = new FixtureClock(tree.WriteAt);
        string[] args = ["doctor", "--sample", "10s", "--proc-root", tree.Proc, "--sys-root", tree.Sys, "--kmsg", tree.Kmsg, "--log-root", tree.Log, "--ethtool-dir", tree.Ethtool, .. extra];
        (int exit, string output, string error) = TestConsole.Run(clock, args);
        exit.Should().Be(0, error);
        error.Should().BeEmpty();
        // What the tree says, not who ran the test: privileges are the test process's own.
        output = output.Replace(tree.Root, "<tree>", StringComparison.Ordinal);
        int unprivileged = output.IndexOf("\nUnprivileged, so these were not checked:", StringComparison.Ordinal);
        output = unprivileged < 0 ? output : output[..(unprivileged + 1)];
        output = System.Text.RegularExpressions.Regex.Replace(output, "(?m)^  privileges .*\n", "");
        return (output, clock);
    }

    [Fact]
    public void The_Pinterest_host_is_explained_as_kubelet_starving_the_NAPI_CPU_over_zombie_memcgs_from_ecs()
    {
        using HostTree tree = HostTree.Create(HostState.Pinterest, Dmesg("pinterest-2025"));

        (string output, _) = Doctor(tree);

        GoldenFile.AssertMatches(output, "doctor-pinterest-96.txt");
    }

    [Fact]
    public void The_Pinterest_host_ranks_starvation_by_kubelet_then_the_zombies_ecs_leaked()
    {
        using HostTree tree = HostTree.Create(HostState.Pinterest, Dmesg("pinterest-2025"));

        (string output, _) = Doctor(tree, "--json");

        JsonElement[] findings = Lines(output).Where(l => l.GetProperty("kind").GetString() == "finding").ToArray();
        findings[0].GetProperty("finding").GetString().Should().Be("cpu-starvation");
        findings[0].GetProperty("cpu").GetInt32().Should().Be(HostTree.NapiCpu);
        findings[0].GetProperty("subject").GetString().Should().Be("kubelet");
        Texts(findings[0]).Should().Contain(t => t.Contains("kubelet (pid 4242, /system.slice/kubelet.service) used", StringComparison.Ordinal)
            && t.EndsWith("on CPU 39, mostly in mem_cgroup_nr_lru_pages", StringComparison.Ordinal));
        findings[1].GetProperty("finding").GetString().Should().Be("zombie-memcgs");
        findings[1].GetProperty("subject").GetString().Should().Be("ecs.service");
        Texts(findings[1]).Should().Contain("68680 memcgs known to the kernel vs 240 live directories: 68440 dying (zombie)");
    }

    [Fact]
    public void The_recorder_goes_to_100_ms_when_the_NAPI_CPUs_softirq_thread_waits()
    {
        using HostTree tree = HostTree.Create(HostState.Pinterest, Dmesg("pinterest-2025"));

        (string output, FixtureClock clock) = Doctor(tree, "--json");

        JsonElement host = Lines(output)[0];
        host.GetProperty("fast_triggers").GetInt32().Should().BeGreaterThan(0);
        // 1 s until the first wait is seen, then 100 ms for the 5 s fast period, re-triggered while the wait goes on.
        clock.Steps.Take(3).Should().Equal(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.1), TimeSpan.FromSeconds(1.2));
        host.GetProperty("samples").GetInt32().Should().Be(92);
    }

    [Fact]
    public void A_healthy_host_has_no_findings_and_says_what_it_checked()
    {
        using HostTree tree = HostTree.Create(HostState.Healthy);

        (string output, FixtureClock clock) = Doctor(tree);

        output.Should().Contain("No network-driver reset in the kernel log since boot.\n");
        output.Should().Contain("  memory cgroups  v1 memory hierarchy: 242 known to the kernel, 240 live, 2 dying\n");
        output.Should().Contain("  sampled         96 CPUs for 10 s (11 samples): busiest CPU 0 at 20 % (4 % sys, 1 % soft, 0 % steal); longest ksoftirqd wait 1 ms on CPU 0; 32 NIC queue IRQ(s) mapped\n");
        output.Should().EndWith("Findings: none — no CPU starved softirq work, no zombie memory cgroups piling up, no crash-looping unit.\n");
        clock.Steps.Should().HaveCount(10, "one sample a second when nothing triggers");
    }

    [Fact]
    public void Keep_alive_resets_while_every_CPU_was_idle_are_the_device_not_starvation()
    {
        using HostTree tree = HostTree.Create(HostState.Healthy, Dmesg("keepalive-loss"));

        (string output, _) = Doctor(tree, "--json");

        JsonElement[] findings = Lines(output).Where(l => l.GetProperty("kind").GetString() == "finding").ToArray();
        findings.Should().ContainSingle();
        findings[0].GetProperty("finding").GetString().Should().Be("device-fault");
        findings[0].GetProperty("title").GetString().Should().Be("the device or hypervisor, not this host: keep-alive-timeout while every CPU was available");
    }

    private static JsonElement[] Lines(string output) => output.TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToArray();

    private static IEnumerable<string> Texts(JsonElement finding) => finding.GetProperty("evidence").EnumerateArray().Select(e => e.GetProperty("text").GetString()!);
}
