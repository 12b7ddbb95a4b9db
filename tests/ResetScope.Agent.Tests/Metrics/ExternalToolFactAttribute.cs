namespace ResetScope.Agent.Tests.Metrics;

/// <summary>A fact that needs a program from Debian's <c>prometheus</c> package; skipped, with the reason, when it is missing.</summary>
public sealed class ExternalToolFactAttribute : FactAttribute
{
    public ExternalToolFactAttribute(string tool)
    {
        if (ExternalTool.Find(tool) is null)
        {
            Skip = $"{tool} not installed (run-tests installs prometheus)";
        }
    }
}

internal static class ExternalTool
{
    public static string? Find(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}
