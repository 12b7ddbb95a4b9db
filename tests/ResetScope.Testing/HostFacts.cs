using Xunit;

namespace ResetScope.Testing;

/// <summary>A fact that needs Linux's /proc; skipped, with the reason, elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc/self/task"))
        {
            Skip = "needs Linux with /proc mounted";
        }
    }
}

/// <summary>
/// A fact that needs root on Linux (/dev/kmsg writes, cgroups, perf events, sysctl), optionally a number of CPUs
/// and some kernel files; skipped, with the reason, otherwise.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute(string why = "", int minCpus = 1, params string[] files)
    {
        string? missing = files.FirstOrDefault(f => !File.Exists(f));
        if (!OperatingSystem.IsLinux())
        {
            Skip = "needs Linux";
        }
        else if (Environment.UserName != "root")
        {
            Skip = why.Length == 0 ? "needs root (CI runs as root)" : $"needs root to {why} (CI runs as root)";
        }
        else if (Environment.ProcessorCount < minCpus)
        {
            Skip = $"needs {minCpus} CPUs, this host has {Environment.ProcessorCount}";
        }
        else if (missing is not null)
        {
            Skip = $"needs {missing}, which this kernel does not have";
        }
    }
}
