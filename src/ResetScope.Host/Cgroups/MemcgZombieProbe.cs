using System.Globalization;

namespace ResetScope.Host.Cgroups;

/// <summary>Which cgroup hierarchy a zombie-memcg figure comes from.</summary>
public enum CgroupHierarchy
{
    V1,
    V2,
}

/// <summary>What an attribution entry counts.</summary>
public enum MemcgAttributionBasis
{
    /// <summary>v2: dying descendants held directly by this cgroup (not by a live child of it).</summary>
    DyingDescendants,

    /// <summary>v1: child directories that appeared or disappeared under this parent between two samples.</summary>
    CreationChurn,
}

/// <summary>
/// One place the zombies (v2) or the memcg churn that creates them (v1) point at.
/// <paramref name="Path"/> is relative to the hierarchy root ("" is the root itself).
/// <paramref name="Count"/> is dying descendants (v2) or Appeared + Disappeared (v1).
/// </summary>
public sealed record MemcgAttribution(string Path, long Count, MemcgAttributionBasis Basis, int Appeared = 0, int Disappeared = 0);

/// <summary>One cgroup's <c>cgroup.stat</c> on the unified hierarchy.</summary>
public sealed record CgroupStat(string Path, long NrDescendants, long NrDyingDescendants, long? NrDyingSubsysMemory)
{
    /// <summary>Dying memcgs below this cgroup: <c>nr_dying_subsys_memory</c> when the kernel prints it, else <c>nr_dying_descendants</c>.</summary>
    public long DyingMemcgs => NrDyingSubsysMemory ?? NrDyingDescendants;
}

/// <summary>A v1 sample: the kernel's memcg count and the directories that are still visible.</summary>
public sealed record MemcgV1Sample(DateTimeOffset Time, long? KernelCount, IReadOnlyList<string> Directories, IReadOnlyList<string> Problems)
{
    public int LiveDirectories => Directories.Count;

    /// <summary><c>num_cgroups − directories</c>, never negative; null when /proc/cgroups had no memory line.</summary>
    public long? Zombies => KernelCount is long k ? Math.Max(0, k - Directories.Count) : null;
}

/// <summary>A v2 sample: <c>cgroup.stat</c> of every cgroup in the unified tree (the root first).</summary>
public sealed record MemcgV2Sample(DateTimeOffset Time, IReadOnlyList<CgroupStat> Stats, bool MemoryControllerEnabled, IReadOnlyList<string> Problems)
{
    public int LiveDirectories => Stats.Count;

    /// <summary>Dying memcgs in the whole tree (from the root's cgroup.stat); null when the root's cgroup.stat was unreadable.</summary>
    public long? Zombies => Stats.Count > 0 && Stats[0].Path.Length == 0 ? Stats[0].DyingMemcgs : null;
}

/// <summary>
/// The zombie-memcg finding input: how many dying memcgs, how many are visible, what the kernel counts,
/// how that moved between two samples, and where they come from.
/// </summary>
public sealed record MemcgZombieResult(
    CgroupHierarchy Hierarchy,
    long Zombies,
    int LiveDirectories,
    long KernelCount,
    long? Growth,
    TimeSpan? Interval,
    IReadOnlyList<MemcgAttribution> Attribution,
    IReadOnlyList<string> Problems)
{
    /// <summary>Growth scaled to one hour; null without two samples a positive interval apart.</summary>
    public double? GrowthPerHour => Growth is long g && Interval is { TotalSeconds: > 0 } i ? g / i.TotalHours : null;
}

/// <summary>
/// Counts zombie (dying) memory cgroups.
/// v1: <c>/proc/cgroups</c> <c>memory</c> num_cgroups against the directories under the memory mount;
/// attribution by creation churn per parent between two samples.
/// v2: <c>cgroup.stat</c> in every cgroup of the unified tree; attribution to the cgroups that hold the dying descendants.
/// Every root is injectable so tests can run on fixture trees.
/// </summary>
public sealed class MemcgZombieProbe
{
    private static readonly EnumerationOptions s_recurse = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.ReparsePoint,
        ReturnSpecialDirectories = false,
    };

    private readonly string _procRoot;
    private readonly string _v1MemoryRoot;
    private readonly string _v2Root;
    private readonly TimeProvider _time;

    public MemcgZombieProbe(
        string procRoot = "/proc",
        string v1MemoryRoot = "/sys/fs/cgroup/memory",
        string v2Root = "/sys/fs/cgroup/unified",
        TimeProvider? time = null)
    {
        _procRoot = procRoot;
        _v1MemoryRoot = v1MemoryRoot;
        _v2Root = v2Root;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// A probe for the host under <paramref name="sysRoot"/>: v1 memory at fs/cgroup/memory, the unified tree at
    /// fs/cgroup/unified on hybrid hosts or at fs/cgroup itself on pure-v2 hosts.
    /// </summary>
    public static MemcgZombieProbe ForHost(string procRoot = "/proc", string sysRoot = "/sys", TimeProvider? time = null)
    {
        string cgroup = Path.Combine(sysRoot, "fs", "cgroup");
        string v2 = File.Exists(Path.Combine(cgroup, "cgroup.controllers")) ? cgroup : Path.Combine(cgroup, "unified");
        return new MemcgZombieProbe(procRoot, Path.Combine(cgroup, "memory"), v2, time);
    }

    /// <summary>True when memory is on a v1 hierarchy: then /proc/cgroups is the kernel's count; otherwise use <see cref="SampleV2"/>.</summary>
    public bool HasV1Memory => Directory.Exists(_v1MemoryRoot) && File.Exists(Path.Combine(_procRoot, "cgroups"));

    public bool HasV2 => File.Exists(Path.Combine(_v2Root, "cgroup.stat"));

    /// <summary>Reads <c>/proc/cgroups</c> and lists every directory under the v1 memory mount (the root included, as <c>find -type d</c> does).</summary>
    public MemcgV1Sample SampleV1()
    {
        var problems = new List<string>();
        long? kernel = ReadV1MemoryCount(Path.Combine(_procRoot, "cgroups"), problems);
        var dirs = new List<string>();
        if (Directory.Exists(_v1MemoryRoot))
        {
            dirs.Add(string.Empty);
            try
            {
                foreach (string d in Directory.EnumerateDirectories(_v1MemoryRoot, "*", s_recurse))
                {
                    dirs.Add(Path.GetRelativePath(_v1MemoryRoot, d));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{_v1MemoryRoot}: {e.Message}");
            }
        }
        else
        {
            problems.Add($"{_v1MemoryRoot}: no v1 memory hierarchy mounted there");
        }

        dirs.Sort(StringComparer.Ordinal);
        return new MemcgV1Sample(_time.GetUtcNow(), kernel, dirs, problems);
    }

    /// <summary>Reads <c>cgroup.stat</c> in every cgroup of the unified tree. Cgroups removed while walking are skipped.</summary>
    public MemcgV2Sample SampleV2()
    {
        var problems = new List<string>();
        var stats = new List<CgroupStat>();
        if (!Directory.Exists(_v2Root))
        {
            problems.Add($"{_v2Root}: no cgroup v2 hierarchy mounted there");
            return new MemcgV2Sample(_time.GetUtcNow(), stats, false, problems);
        }

        string? controllers = TryReadAll(Path.Combine(_v2Root, "cgroup.controllers"));
        bool memory = controllers is not null && controllers.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Contains("memory");
        if (!memory)
        {
            problems.Add($"{_v2Root}: the memory controller is not enabled on this hierarchy; dying counts are cgroups, not necessarily memcgs");
        }

        if (ReadCgroupStat(_v2Root, string.Empty) is { } root)
        {
            stats.Add(root);
        }
        else
        {
            problems.Add($"{Path.Combine(_v2Root, "cgroup.stat")}: unreadable");
        }

        var children = new List<CgroupStat>();
        try
        {
            foreach (string d in Directory.EnumerateDirectories(_v2Root, "*", s_recurse))
            {
                if (ReadCgroupStat(d, Path.GetRelativePath(_v2Root, d)) is { } s)
                {
                    children.Add(s);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{_v2Root}: {e.Message}");
        }

        children.Sort((a, b) => StringComparer.Ordinal.Compare(a.Path, b.Path));
        stats.AddRange(children);
        return new MemcgV2Sample(_time.GetUtcNow(), stats, memory, problems);
    }

    /// <summary>
    /// The v1 result for <paramref name="after"/>; with <paramref name="before"/>, growth and creation churn per parent
    /// directory (directories that appeared or disappeared between the samples), busiest parent first.
    /// </summary>
    public static MemcgZombieResult AnalyzeV1(MemcgV1Sample after, MemcgV1Sample? before = null)
    {
        ArgumentNullException.ThrowIfNull(after);
        var problems = new List<string>(after.Problems);
        long kernel = after.KernelCount ?? 0;
        if (after.KernelCount is null)
        {
            problems.Add("no memory line in /proc/cgroups: the kernel's memcg count is unknown");
        }

        long zombies = after.Zombies ?? 0;
        long? growth = null;
        TimeSpan? interval = null;
        var attribution = new List<MemcgAttribution>();
        if (before is not null)
        {
            growth = before.Zombies is long z0 && after.Zombies is long z1 ? z1 - z0 : null;
            interval = after.Time - before.Time;
            var old = new HashSet<string>(before.Directories, StringComparer.Ordinal);
            var now = new HashSet<string>(after.Directories, StringComparer.Ordinal);
            var perParent = new Dictionary<string, (int Appeared, int Disappeared)>(StringComparer.Ordinal);
            foreach (string d in after.Directories)
            {
                if (!old.Contains(d))
                {
                    (int a, int r) = perParent.GetValueOrDefault(ParentOf(d));
                    perParent[ParentOf(d)] = (a + 1, r);
                }
            }

            foreach (string d in before.Directories)
            {
                if (!now.Contains(d))
                {
                    (int a, int r) = perParent.GetValueOrDefault(ParentOf(d));
                    perParent[ParentOf(d)] = (a, r + 1);
                }
            }

            attribution.AddRange(perParent
                .Select(kv => new MemcgAttribution(kv.Key, kv.Value.Appeared + kv.Value.Disappeared, MemcgAttributionBasis.CreationChurn, kv.Value.Appeared, kv.Value.Disappeared))
                .OrderByDescending(a => a.Count)
                .ThenBy(a => a.Path, StringComparer.Ordinal));
        }

        return new MemcgZombieResult(CgroupHierarchy.V1, zombies, after.LiveDirectories, kernel, growth, interval, attribution, problems);
    }

    /// <summary>
    /// The v2 result for <paramref name="after"/>: the zombie count is the root's dying memcgs; attribution lists the cgroups
    /// that hold dying descendants themselves (their dying count minus what their live children account for), largest first.
    /// </summary>
    public static MemcgZombieResult AnalyzeV2(MemcgV2Sample after, MemcgV2Sample? before = null)
    {
        ArgumentNullException.ThrowIfNull(after);
        var problems = new List<string>(after.Problems);
        long zombies = after.Zombies ?? 0;
        long? growth = null;
        TimeSpan? interval = null;
        if (before is not null)
        {
            growth = before.Zombies is long z0 && after.Zombies is long z1 ? z1 - z0 : null;
            interval = after.Time - before.Time;
        }

        var byPath = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (CgroupStat s in after.Stats)
        {
            byPath[s.Path] = s.DyingMemcgs;
        }

        var heldByChildren = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (CgroupStat s in after.Stats)
        {
            if (s.Path.Length == 0)
            {
                continue;
            }

            string parent = ParentOf(s.Path);
            heldByChildren[parent] = heldByChildren.GetValueOrDefault(parent) + s.DyingMemcgs;
        }

        var attribution = after.Stats
            .Select(s => new MemcgAttribution(s.Path, s.DyingMemcgs - heldByChildren.GetValueOrDefault(s.Path), MemcgAttributionBasis.DyingDescendants))
            .Where(a => a.Count > 0)
            .OrderByDescending(a => a.Count)
            .ThenBy(a => a.Path, StringComparer.Ordinal)
            .ToList();

        long kernel = after.LiveDirectories + zombies;
        return new MemcgZombieResult(CgroupHierarchy.V2, zombies, after.LiveDirectories, kernel, growth, interval, attribution, problems);
    }

    /// <summary>Per-cgroup stats of the subtree at <paramref name="path"/> (relative to the v2 root), or null when absent.</summary>
    public static CgroupStat? Subtree(MemcgV2Sample sample, string path)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return sample.Stats.FirstOrDefault(s => s.Path == path);
    }

    internal static long? ReadV1MemoryCount(string cgroupsPath, List<string> problems)
    {
        string? text = TryReadAll(cgroupsPath);
        if (text is null)
        {
            problems.Add($"{cgroupsPath}: unreadable");
            return null;
        }

        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            string[] f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 3 && f[0] == "memory")
            {
                if (long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                {
                    if (f.Length >= 2 && f[1] == "0")
                    {
                        problems.Add("memory is not bound to a v1 hierarchy (hierarchy 0 in /proc/cgroups): num_cgroups counts the unified tree");
                    }

                    return n;
                }

                problems.Add($"{cgroupsPath}: memory line has no number in num_cgroups: '{line.Trim()}'");
                return null;
            }
        }

        problems.Add($"{cgroupsPath}: no memory line");
        return null;
    }

    internal static CgroupStat? ParseCgroupStat(string path, string text)
    {
        long? descendants = null;
        long? dying = null;
        long? dyingMemory = null;
        foreach (string line in text.Split('\n'))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !long.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            {
                continue;
            }

            switch (line.AsSpan(0, space))
            {
                case "nr_descendants":
                    descendants = v;
                    break;
                case "nr_dying_descendants":
                    dying = v;
                    break;
                case "nr_dying_subsys_memory":
                    dyingMemory = v;
                    break;
            }
        }

        return descendants is null && dying is null ? null : new CgroupStat(path, descendants ?? 0, dying ?? 0, dyingMemory);
    }

    private static CgroupStat? ReadCgroupStat(string dir, string relative)
        => TryReadAll(Path.Combine(dir, "cgroup.stat")) is { } text ? ParseCgroupStat(relative, text) : null;

    private static string ParentOf(string relative)
    {
        int slash = relative.LastIndexOf('/');
        return slash < 0 ? string.Empty : relative[..slash];
    }

    private static string? TryReadAll(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
