using System.Diagnostics;

namespace ResetScope.Deploy.Tests;

/// <summary>The checkout these tests run from, and running the external tools that check deploy/.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(Path(relative));

    /// <summary>The <c>resetscope</c> executable built next to these tests (the Cli project reference puts it there).</summary>
    public static string BuiltResetScope => System.IO.Path.Combine(AppContext.BaseDirectory, "resetscope");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "ResetScope.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no ResetScope.slnx above {AppContext.BaseDirectory}");
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    /// <summary>Runs a program to completion (at most two minutes) with stdout and stderr captured.</summary>
    public static Result Run(string program, params string[] args) => RunWithin(TimeSpan.FromMinutes(2), program, args);

    /// <summary>Runs a program to completion, at most <paramref name="timeout"/>, with stdout and stderr captured.</summary>
    public static Result RunWithin(TimeSpan timeout, string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Root,
        };
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {timeout}");
        }

        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The full path of <paramref name="tool"/> on PATH, or null.</summary>
    public static string? Which(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(dir, tool);
            if (File.Exists(candidate) && !OperatingSystem.IsWindows() && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A fact that needs an external tool; skipped, saying where the tool comes from, when it is not on PATH.</summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(string tool, string whereFrom)
    {
        if (Repo.Which(tool) is null)
        {
            Skip = $"{tool} is not installed ({whereFrom})";
        }
    }
}
