using ResetScope.Host.Cgroups;
using ResetScope.Testing;

namespace ResetScope.Host.Tests.Cgroups;

/// <summary>Zombie memcg counting and attribution on fixture trees (v1: Pinterest's 68,680 vs 240; v2: dying under ecs.service).</summary>
public sealed class MemcgZombieProbeTests : IDisposable
{
    private static readonly string s_fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "cgroups");

    private readonly string _root = Path.Combine(Path.GetTempPath(), "resetscope-memcg-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Pinterest_v1_host_has_68440_zombies()
    {
        (string proc, string memory) = PinterestV1Host();

        MemcgV1Sample sample = new MemcgZombieProbe(proc, memory, Path.Combine(_root, "no-v2")).SampleV1();
        MemcgZombieResult result = MemcgZombieProbe.AnalyzeV1(sample);

        sample.KernelCount.Should().Be(68_680);
        sample.LiveDirectories.Should().Be(240);
        result.Hierarchy.Should().Be(CgroupHierarchy.V1);
        result.Zombies.Should().Be(68_440);
        result.KernelCount.Should().Be(68_680);
        result.LiveDirectories.Should().Be(240);
        result.Growth.Should().BeNull("one sample has no growth");
        result.Attribution.Should().BeEmpty("v1 attribution needs two samples");
        result.Problems.Should().BeEmpty();
    }

    [Fact]
    public void Pinterest_v1_churn_between_two_samples_points_at_the_container_parent()
    {
        (string proc, string memory) = PinterestV1Host();
        var clock = new ManualTimeProvider(new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero));
        var probe = new MemcgZombieProbe(proc, memory, Path.Combine(_root, "no-v2"), clock);
        MemcgV1Sample before = probe.SampleV1();

        // Ten minutes of the ecs-agent loop: 4 containers removed, 6 created under system.slice/docker, one pod replaced;
        // the kernel now tracks 68,700 memcgs.
        for (int i = 0; i < 4; i++)
        {
            Directory.Delete(Path.Combine(memory, "system.slice", "docker", $"c{i:D2}"));
        }

        for (int i = 0; i < 6; i++)
        {
            Directory.CreateDirectory(Path.Combine(memory, "system.slice", "docker", $"n{i:D2}"));
        }

        Directory.Delete(Path.Combine(memory, "kubepods", "burstable", "pod000"));
        Directory.CreateDirectory(Path.Combine(memory, "kubepods", "burstable", "podnew"));
        File.WriteAllText(Path.Combine(proc, "cgroups"), File.ReadAllText(Path.Combine(proc, "cgroups")).Replace("\t68680\t", "\t68700\t", StringComparison.Ordinal));
        clock.Advance(TimeSpan.FromMinutes(10));
        MemcgV1Sample after = probe.SampleV1();

        MemcgZombieResult result = MemcgZombieProbe.AnalyzeV1(after, before);

        after.LiveDirectories.Should().Be(242);
        result.Zombies.Should().Be(68_458);
        result.Growth.Should().Be(18);
        result.Interval.Should().Be(TimeSpan.FromMinutes(10));
        result.GrowthPerHour.Should().BeApproximately(108, 1e-9);
        result.Attribution.Should().Equal(
            new MemcgAttribution("system.slice/docker", 10, MemcgAttributionBasis.CreationChurn, Appeared: 6, Disappeared: 4),
            new MemcgAttribution("kubepods/burstable", 2, MemcgAttributionBasis.CreationChurn, Appeared: 1, Disappeared: 1));
    }

    [Fact]
    public void V1_without_a_memory_line_says_so()
    {
        string proc = Path.Combine(_root, "proc");
        string memory = Path.Combine(_root, "memory");
        Directory.CreateDirectory(proc);
        Directory.CreateDirectory(memory);
        File.WriteAllText(Path.Combine(proc, "cgroups"), "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t3\t1\n");

        MemcgZombieResult result = MemcgZombieProbe.AnalyzeV1(new MemcgZombieProbe(proc, memory).SampleV1());

        result.Zombies.Should().Be(0);
        result.Problems.Should().Contain(p => p.Contains("no memory line", StringComparison.Ordinal));
    }

    [Fact]
    public void V2_tree_counts_dying_memcgs_per_subtree_and_attributes_them_to_ecs_service()
    {
        var probe = new MemcgZombieProbe(Path.Combine(_root, "no-proc"), Path.Combine(_root, "no-v1"), Path.Combine(s_fixtures, "v2-ecs", "unified"));

        MemcgV2Sample sample = probe.SampleV2();
        MemcgZombieResult result = MemcgZombieProbe.AnalyzeV2(sample);

        sample.MemoryControllerEnabled.Should().BeTrue();
        sample.Stats.Select(s => s.Path).Should().Equal(
            "", "kubepods.slice", "kubepods.slice/pod1", "system.slice", "system.slice/ecs.service",
            "system.slice/ecs.service/agent", "system.slice/sshd.service", "user.slice");
        MemcgZombieProbe.Subtree(sample, "system.slice").Should().Be(new CgroupStat("system.slice", 3, 5005, 5003));
        MemcgZombieProbe.Subtree(sample, "system.slice/ecs.service").Should().Be(new CgroupStat("system.slice/ecs.service", 1, 5002, 5000));
        MemcgZombieProbe.Subtree(sample, "kubepods.slice")!.DyingMemcgs.Should().Be(8);

        result.Hierarchy.Should().Be(CgroupHierarchy.V2);
        result.Zombies.Should().Be(5013, "nr_dying_subsys_memory of the root, not nr_dying_descendants (5015)");
        result.LiveDirectories.Should().Be(8);
        result.KernelCount.Should().Be(8 + 5013);
        result.Attribution.Should().Equal(
            new MemcgAttribution("system.slice/ecs.service", 5000, MemcgAttributionBasis.DyingDescendants),
            new MemcgAttribution("kubepods.slice/pod1", 7, MemcgAttributionBasis.DyingDescendants),
            new MemcgAttribution("system.slice", 3, MemcgAttributionBasis.DyingDescendants),
            new MemcgAttribution("", 2, MemcgAttributionBasis.DyingDescendants),
            new MemcgAttribution("kubepods.slice", 1, MemcgAttributionBasis.DyingDescendants));
        result.Problems.Should().BeEmpty();
    }

    [Fact]
    public void V2_growth_between_two_samples()
    {
        string unified = Path.Combine(_root, "unified");
        CopyTree(Path.Combine(s_fixtures, "v2-ecs", "unified"), unified);
        var clock = new ManualTimeProvider(new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero));
        var probe = new MemcgZombieProbe(Path.Combine(_root, "no-proc"), Path.Combine(_root, "no-v1"), unified, clock);
        MemcgV2Sample before = probe.SampleV2();

        Bump(Path.Combine(unified, "cgroup.stat"), 120);
        Bump(Path.Combine(unified, "system.slice", "cgroup.stat"), 120);
        Bump(Path.Combine(unified, "system.slice", "ecs.service", "cgroup.stat"), 120);
        clock.Advance(TimeSpan.FromMinutes(30));
        MemcgZombieResult result = MemcgZombieProbe.AnalyzeV2(probe.SampleV2(), before);

        result.Zombies.Should().Be(5133);
        result.Growth.Should().Be(120);
        result.GrowthPerHour.Should().BeApproximately(240, 1e-9);
        result.Attribution[0].Should().Be(new MemcgAttribution("system.slice/ecs.service", 5120, MemcgAttributionBasis.DyingDescendants));

        static void Bump(string path, int by)
        {
            string[] lines = File.ReadAllLines(path);
            for (int i = 0; i < lines.Length; i++)
            {
                string[] f = lines[i].Split(' ');
                if (f[0] is "nr_dying_descendants" or "nr_dying_subsys_memory")
                {
                    lines[i] = $"{f[0]} {long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture) + by}";
                }
            }

            File.WriteAllLines(path, lines);
        }
    }

    [Fact]
    public void V2_without_per_controller_counts_falls_back_to_nr_dying_descendants()
    {
        CgroupStat? s = MemcgZombieProbe.ParseCgroupStat("a", "nr_descendants 55\nnr_dying_descendants 35\n");

        s.Should().Be(new CgroupStat("a", 55, 35, null));
        s!.DyingMemcgs.Should().Be(35);
        MemcgZombieProbe.ParseCgroupStat("b", "garbage\n\0\xff").Should().BeNull();
    }

    [Fact]
    public void V2_without_the_memory_controller_is_flagged()
    {
        string unified = Path.Combine(_root, "unified");
        Directory.CreateDirectory(unified);
        File.WriteAllText(Path.Combine(unified, "cgroup.controllers"), "cpu pids\n");
        File.WriteAllText(Path.Combine(unified, "cgroup.stat"), "nr_descendants 0\nnr_dying_descendants 3\n");

        MemcgV2Sample sample = new MemcgZombieProbe(Path.Combine(_root, "p"), Path.Combine(_root, "m"), unified).SampleV2();

        sample.MemoryControllerEnabled.Should().BeFalse();
        sample.Zombies.Should().Be(3);
        sample.Problems.Should().ContainSingle(p => p.Contains("memory controller is not enabled", StringComparison.Ordinal));
    }

    [Fact]
    public void ForHost_picks_the_unified_tree_of_hybrid_and_pure_v2_hosts()
    {
        string hybrid = Path.Combine(_root, "hybrid");
        Directory.CreateDirectory(Path.Combine(hybrid, "fs", "cgroup", "unified"));
        File.WriteAllText(Path.Combine(hybrid, "fs", "cgroup", "unified", "cgroup.stat"), "nr_descendants 0\nnr_dying_descendants 1\n");
        string pure = Path.Combine(_root, "pure");
        Directory.CreateDirectory(Path.Combine(pure, "fs", "cgroup"));
        File.WriteAllText(Path.Combine(pure, "fs", "cgroup", "cgroup.controllers"), "memory\n");
        File.WriteAllText(Path.Combine(pure, "fs", "cgroup", "cgroup.stat"), "nr_descendants 0\nnr_dying_descendants 2\n");

        MemcgZombieProbe.ForHost(Path.Combine(_root, "proc"), hybrid).SampleV2().Zombies.Should().Be(1);
        MemcgZombieProbe.ForHost(Path.Combine(_root, "proc"), pure).SampleV2().Zombies.Should().Be(2);
        MemcgZombieProbe.ForHost(Path.Combine(_root, "proc"), pure).HasV1Memory.Should().BeFalse();
    }

    [Fact]
    public void This_machines_unified_tree_reads_and_says_whether_memory_is_on_it()
    {
        MemcgZombieProbe probe = MemcgZombieProbe.ForHost();
        if (!probe.HasV2)
        {
            return; // no cgroup v2 mount on this machine: nothing to read
        }

        MemcgV2Sample sample = probe.SampleV2();

        sample.Stats.Should().NotBeEmpty();
        sample.Stats[0].Path.Should().BeEmpty("the root comes first");
        sample.Zombies.Should().NotBeNull();
        sample.Problems.Any(p => p.Contains("memory controller is not enabled", StringComparison.Ordinal)).Should().Be(!sample.MemoryControllerEnabled);
    }

    [Theory]
    [InlineData("6.18.44-fc-v657", new string[0])]
    [InlineData("5.7.0", new string[0])]
    [InlineData("5.15.0-1051-aws", new string[0])]
    [InlineData("5.4.0-1045-aws", new[] { "numa-stat-walk" })]
    [InlineData("4.19.90-24.4.v2101.ky10.aarch64", new[] { "numa-stat-walk" })]
    [InlineData("4.14.248-189.473.amzn2.x86_64", new[] { "numa-stat-walk", "shrinker-per-memcg" })]
    [InlineData("3.10.0-1160.el7.x86_64", new[] { "numa-stat-walk", "shrinker-per-memcg", "memcg-id-exhaustion" })]
    [InlineData("4.6", new[] { "numa-stat-walk", "shrinker-per-memcg", "memcg-id-exhaustion" })]
    [InlineData("not-a-kernel", new string[0])]
    [InlineData("", new string[0])]
    public void Kernel_notes_by_release(string release, string[] ids)
    {
        KernelMemcgRisks.For(release).Select(n => n.Id).Should().Equal(ids);
    }

    [Fact]
    public void Numa_stat_note_extrapolates_the_cost_at_the_host_count()
    {
        KernelRiskNote note = KernelMemcgRisks.For("5.4.0-1045-aws", 68_680).Single();

        note.FixedIn.Should().Be(new Version(5, 7));
        note.Text.Should().Contain("0.697 s").And.Contain("≈ 4.79 s of one CPU per read at 68,680 memcgs");
        KernelMemcgRisks.ParseRelease("6.18.44-fc-v657").Should().Be(new Version(6, 18, 44));
    }

    /// <summary>
    /// A v1 host like Pinterest's: /proc/cgroups says 68,680 memory cgroups; the memory mount has 240 directories (the root
    /// included): system.slice with 55 units and docker/ with 4 containers, kubepods with burstable (100 pods) and besteffort (75).
    /// </summary>
    private (string Proc, string Memory) PinterestV1Host()
    {
        string proc = Path.Combine(_root, "proc");
        string memory = Path.Combine(_root, "memory");
        Directory.CreateDirectory(proc);
        File.Copy(Path.Combine(s_fixtures, "pinterest-v1", "proc", "cgroups"), Path.Combine(proc, "cgroups"));
        for (int i = 0; i < 55; i++)
        {
            Directory.CreateDirectory(Path.Combine(memory, "system.slice", $"unit{i:D2}.service"));
        }

        for (int i = 0; i < 4; i++)
        {
            Directory.CreateDirectory(Path.Combine(memory, "system.slice", "docker", $"c{i:D2}"));
        }

        for (int i = 0; i < 100; i++)
        {
            Directory.CreateDirectory(Path.Combine(memory, "kubepods", "burstable", $"pod{i:D3}"));
        }

        for (int i = 0; i < 75; i++)
        {
            Directory.CreateDirectory(Path.Combine(memory, "kubepods", "besteffort", $"pod{i:D3}"));
        }

        return (proc, memory);
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }
}
