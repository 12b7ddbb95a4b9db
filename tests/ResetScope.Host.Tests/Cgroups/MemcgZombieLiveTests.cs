using ResetScope.Host.Cgroups;
using ResetScope.Testing.Live;
using Xunit.Abstractions;

namespace ResetScope.Host.Tests.Cgroups;

/// <summary>Live, on this machine: makes N dying memcgs with the spec §3.5 recipe and checks the probe sees exactly N more zombies.</summary>
public sealed class MemcgZombieLiveTests
{
    private const int N = 40;

    private readonly ITestOutputHelper _output;

    public MemcgZombieLiveTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [LiveCgroupV1Fact]
    public void Removed_memcgs_holding_page_cache_are_counted_as_exactly_N_new_zombies()
    {
        string mount = LiveCgroupV1FactAttribute.MemoryMount;
        var probe = new MemcgZombieProbe(); // the real /proc and /sys/fs/cgroup/memory
        using var watcher = new MemcgChurnWatcher(mount);
        using var memcgs = new DyingMemcgs();
        MemcgV1Sample before = probe.SampleV1();
        memcgs.Create(N);
        MemcgV1Sample populated = probe.SampleV1();
        memcgs.ChargeAndRemove();
        MemcgV1Sample after = probe.SampleV1();

        MemcgZombieResult during = MemcgZombieProbe.AnalyzeV1(populated, before);
        MemcgZombieResult result = MemcgZombieProbe.AnalyzeV1(after, before);
        _output.WriteLine($"before: num_cgroups {before.KernelCount}, dirs {before.LiveDirectories}, zombies {before.Zombies}");
        _output.WriteLine($"with {N} cgroups made: num_cgroups {populated.KernelCount}, dirs {populated.LiveDirectories}, churn {string.Join(", ", during.Attribution)}");
        _output.WriteLine($"after rmdir: num_cgroups {after.KernelCount}, dirs {after.LiveDirectories}, zombies {after.Zombies}, growth {result.Growth}");

        during.Attribution.Should().ContainSingle(a => a.Path == "" && a.Appeared == N && a.Disappeared == 0);
        result.Growth.Should().Be(N);
        result.Zombies.Should().Be(before.Zombies!.Value + N);

        // Listings before and after cannot see cgroups that came and went in between; the inotify watcher can.
        result.Attribution.Should().NotContain(a => a.Path == "" && a.Appeared > 0, "every test cgroup is gone again");
        watcher.WaitForEvents(2 * N, TimeSpan.FromSeconds(30)).Should().BeTrue($"{2 * N} create/remove events expected, saw {watcher.Events}");
        IReadOnlyList<MemcgAttribution> churn = watcher.Snapshot();
        _output.WriteLine($"watcher: {watcher.Events} events, {watcher.Errors} errors; {string.Join(", ", churn)}");
        churn.Should().Contain(new MemcgAttribution("", 2 * N, MemcgAttributionBasis.CreationChurn, N, N));
    }
}
