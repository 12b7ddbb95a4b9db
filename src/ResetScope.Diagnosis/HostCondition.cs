using ResetScope.Host.Cgroups;
using ResetScope.Host.Services;

namespace ResetScope.Diagnosis;

/// <summary>
/// The host's slow-moving state the diagnosis joins with a reset: dying memory cgroups (and who made them) and
/// crash-looping units. Read by doctor once and by the agent at each incident.
/// </summary>
public sealed record HostCondition(MemcgZombieResult? Memcgs, IReadOnlyList<CrashLoop> CrashLoops)
{
    public ZombieMemcgs? Zombies => Memcgs is not { } z ? null
        : new ZombieMemcgs(z.KernelCount, z.LiveDirectories, (long)(z.GrowthPerHour ?? 0), z.Hierarchy.ToString().ToLowerInvariant())
        {
            Attribution = z.Attribution.Select(a => (a.Path, a.Count)).ToList(),
        };

    /// <param name="logRoot">Read restart lines from syslog files here instead of the journal (a fixture or an offline copy).</param>
    public static HostCondition Read(string procRoot, string sysRoot, string? logRoot = null) => new(ReadMemcgs(procRoot, sysRoot), ReadCrashLoops(procRoot, logRoot));

    public static MemcgZombieResult? ReadMemcgs(string procRoot, string sysRoot)
    {
        var memcg = new MemcgZombieProbe(procRoot, Path.Combine(sysRoot, "fs/cgroup/memory"), Path.Combine(sysRoot, "fs/cgroup/unified"));
        try
        {
            return memcg.HasV1Memory ? MemcgZombieProbe.AnalyzeV1(memcg.SampleV1())
                : memcg.HasV2 ? MemcgZombieProbe.AnalyzeV2(memcg.SampleV2())
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static List<CrashLoop> ReadCrashLoops(string procRoot, string? logRoot)
    {
        // An explicit log root is a fixture or an offline copy: then do not ask this machine's journal.
        CrashLoopProbe loops = logRoot is null ? new CrashLoopProbe(procRoot) : new CrashLoopProbe(procRoot, logRoot: logRoot, pathVariable: "");
        CrashLoopReport report = loops.ReadRestartLoops();
        return report.Units.Select(u => new CrashLoop(u.Unit, u.MaxCounter, u.RestartsPerHour ?? 0,
            $"{u.Unit}: Scheduled restart job, restart counter is at {u.MaxCounter} ({u.Lines} restart lines)") { Source = report.Source ?? "journal" }).ToList();
    }
}
