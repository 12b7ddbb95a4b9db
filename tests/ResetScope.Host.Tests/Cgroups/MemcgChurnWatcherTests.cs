using ResetScope.Host.Cgroups;

namespace ResetScope.Host.Tests.Cgroups;

/// <summary>The inotify churn watcher on a temporary tree: directories that come and go between two listings are still counted.</summary>
public sealed class MemcgChurnWatcherTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "resetscope-churn-" + Guid.NewGuid().ToString("N"));

    public MemcgChurnWatcherTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "system.slice", "docker"));
    }

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Counts_short_lived_directories_per_parent_and_ignores_files()
    {
        using var watcher = new MemcgChurnWatcher(_root);
        string docker = Path.Combine(_root, "system.slice", "docker");
        for (int i = 0; i < 5; i++)
        {
            string c = Path.Combine(docker, $"ctr{i}");
            Directory.CreateDirectory(c);
            Directory.Delete(c);
        }

        string unit = Path.Combine(_root, "system.slice", "ecs.service");
        Directory.CreateDirectory(unit);
        Directory.Delete(unit);
        Directory.CreateDirectory(unit); // the same name re-created on restart
        File.WriteAllText(Path.Combine(_root, "not-a-cgroup"), "x");

        watcher.WaitForEvents(13, TimeSpan.FromSeconds(30)).Should().BeTrue($"13 directory events expected, saw {watcher.Events}");
        watcher.Errors.Should().Be(0);
        watcher.Snapshot().Should().Equal(
            new MemcgAttribution("system.slice/docker", 10, MemcgAttributionBasis.CreationChurn, 5, 5),
            new MemcgAttribution("system.slice", 3, MemcgAttributionBasis.CreationChurn, 2, 1));
        watcher.Events.Should().Be(13, "the file is not a directory event");
    }
}
