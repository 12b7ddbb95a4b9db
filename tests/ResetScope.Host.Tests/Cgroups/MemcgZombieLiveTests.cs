using System.Diagnostics;
using System.Globalization;
using ResetScope.Host.Cgroups;
using Xunit.Abstractions;

namespace ResetScope.Host.Tests.Cgroups;

/// <summary>
/// Live, on this machine: makes N dying memcgs with the spec §3.5 recipe and checks the probe sees exactly N more zombies.
/// Each cgroup gets a shell that blocks on stdin until it has been moved into the cgroup, then writes 64 KiB of page cache
/// (charged to that memcg) and exits; the cgroup is then removed and stays dying while its pages are cached.
/// </summary>
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
        string tag = "resetscope-test-" + Guid.NewGuid().ToString("N");
        string scratch = Path.Combine(AppContext.BaseDirectory, tag);
        Directory.CreateDirectory(scratch);
        var made = new List<string>();
        var started = new List<Process>();
        var probe = new MemcgZombieProbe(); // the real /proc and /sys/fs/cgroup/memory
        using var watcher = new MemcgChurnWatcher(mount);
        try
        {
            MemcgV1Sample before = probe.SampleV1();
            for (int i = 0; i < N; i++)
            {
                string cg = Path.Combine(mount, $"{tag}-{i}");
                Directory.CreateDirectory(cg);
                made.Add(cg);
            }

            MemcgV1Sample populated = probe.SampleV1();
            for (int i = 0; i < N; i++)
            {
                string file = Path.Combine(scratch, "f" + i.ToString(CultureInfo.InvariantCulture));
                var psi = new ProcessStartInfo("/bin/sh")
                {
                    RedirectStandardInput = true,
                    UseShellExecute = false,
                };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add("read x; head -c 65536 /dev/urandom > \"$1\"");
                psi.ArgumentList.Add("sh");
                psi.ArgumentList.Add(file);
                Process p = Process.Start(psi)!;
                started.Add(p);
                File.WriteAllText(Path.Combine(made[i], "cgroup.procs"), p.Id.ToString(CultureInfo.InvariantCulture));
                p.StandardInput.Close(); // read returns at EOF: the shell, now inside the cgroup, writes the file and exits
                p.WaitForExit();
                p.ExitCode.Should().Be(0);
                new FileInfo(file).Length.Should().Be(65536);
                Directory.Delete(made[i]);
            }

            made.Clear();
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
        finally
        {
            foreach (Process p in started)
            {
                if (!p.HasExited)
                {
                    p.Kill();
                    p.WaitForExit();
                }

                p.Dispose();
            }

            foreach (string cg in made)
            {
                try
                {
                    Directory.Delete(cg);
                }
                catch (IOException e)
                {
                    _output.WriteLine($"could not remove {cg}: {e.Message}");
                }
            }

            Directory.Delete(scratch, recursive: true);
            using (Process sync = Process.Start("/bin/sync")!)
            {
                sync.WaitForExit();
            }

            File.WriteAllText("/proc/sys/vm/drop_caches", "1");
            _output.WriteLine($"after cleanup (drop_caches; freeing is asynchronous): zombies {probe.SampleV1().Zombies}");
        }
    }
}
