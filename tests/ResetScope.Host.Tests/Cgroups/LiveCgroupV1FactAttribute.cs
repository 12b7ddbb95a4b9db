namespace ResetScope.Host.Tests.Cgroups;

/// <summary>A fact that runs only as root on a host with a writable cgroup-v1 memory hierarchy; otherwise it is skipped with the reason.</summary>
public sealed class LiveCgroupV1FactAttribute : FactAttribute
{
    public const string MemoryMount = "/sys/fs/cgroup/memory";

    public LiveCgroupV1FactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "live memcg test: needs Linux";
        }
        else if (Environment.UserName != "root")
        {
            Skip = "live memcg test: needs root to create cgroups";
        }
        else if (!File.Exists(Path.Combine(MemoryMount, "cgroup.procs")) || !File.Exists(Path.Combine(MemoryMount, "memory.usage_in_bytes")))
        {
            Skip = $"live memcg test: no cgroup-v1 memory hierarchy at {MemoryMount}";
        }
    }
}
