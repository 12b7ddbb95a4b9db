using System.Diagnostics;
using Xunit;

namespace ResetScope.Testing;

/// <summary>A fact that needs a program (gzip, promtool, ...); skipped, with the reason, when it is not on PATH.</summary>
public sealed class ExternalToolFactAttribute : FactAttribute
{
    public ExternalToolFactAttribute(string tool, string package)
    {
        if (ExternalTool.Find(tool) is null)
        {
            Skip = $"{tool} not installed (run-tests installs the {package} package)";
        }
    }
}

/// <summary>The theory form of <see cref="ExternalToolFactAttribute"/>.</summary>
public sealed class ExternalToolTheoryAttribute : TheoryAttribute
{
    public ExternalToolTheoryAttribute(string tool, string package)
    {
        if (ExternalTool.Find(tool) is null)
        {
            Skip = $"{tool} not installed (run-tests installs the {package} package)";
        }
    }
}

public static class ExternalTool
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

    /// <summary>Runs <paramref name="tool"/> with <paramref name="input"/> on stdin; returns its exit code and stdout.</summary>
    public static (int Code, byte[] Stdout) Run(string tool, byte[] input, params string[] args)
    {
        (int code, byte[] stdout, _) = RunCore(tool, input, args);
        return (code, stdout);
    }

    /// <summary>Runs <paramref name="tool"/> to its end with no input; returns its exit code, standard output and standard error as text.</summary>
    public static (int Code, string Stdout, string Stderr) RunText(string tool, params string[] args)
    {
        (int code, byte[] stdout, string stderr) = RunCore(tool, null, args);
        return (code, System.Text.Encoding.UTF8.GetString(stdout), stderr);
    }

    private static (int Code, byte[] Stdout, string Stderr) RunCore(string tool, byte[]? input, string[] args)
    {
        var start = new ProcessStartInfo(Find(tool) ?? throw new InvalidOperationException($"{tool} not installed"))
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using Process p = Process.Start(start)!;
        Task write = input is null ? Task.CompletedTask : Task.Run(() =>
        {
            p.StandardInput.BaseStream.Write(input);
            p.StandardInput.Close();
        });
        Task<string> err = p.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(output);
        write.Wait();
        p.WaitForExit();
        return (p.ExitCode, output.ToArray(), err.Result);
    }

    /// <summary><paramref name="data"/> compressed by the real tool (<c>tool -c ARGS &lt; data</c>).</summary>
    public static byte[] Compress(string tool, byte[] data, params string[] args)
    {
        (int code, byte[] gz) = Run(tool, data, ["-c", .. args]);
        if (code != 0)
        {
            throw new InvalidOperationException($"{tool} exited with {code}");
        }

        return gz;
    }
}
