using ResetScope.Testing;

namespace ResetScope.KernelLog.Tests;

/// <summary>Where the vendored held-out corpus sits (test output, checkout) and where the shared original is.</summary>
internal static class Corpus
{
    /// <summary>The copy the tests read: corpus/kernel-logs in the test output directory.</summary>
    public static string Dir { get; } = Path.Combine(AppContext.BaseDirectory, "corpus", "kernel-logs");

    public static string ExpectedJson => Path.Combine(Dir, "expected.json");

    public static string CheckPy => Path.Combine(Dir, "check.py");

    /// <summary>The corpus log files, by name, in ordinal order.</summary>
    public static IReadOnlyList<string> LogFiles { get; } =
        [.. Directory.EnumerateFiles(Dir, "*.log").Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal)];

    /// <summary>The checkout: the nearest directory above the test output that holds ResetScope.slnx.</summary>
    public static string? RepositoryRoot { get; } = FindRoot();

    /// <summary>The vendored copy in the checkout (what git holds).</summary>
    public static string? SourceDir => RepositoryRoot is { } r ? Path.Combine(r, "tests", "ResetScope.KernelLog.Tests", "corpus", "kernel-logs") : null;

    /// <summary>The shared original: ../shared/corpus/kernel-logs from the repository root.</summary>
    public static string? SharedDir => RepositoryRoot is { } r ? Path.GetFullPath(Path.Combine(r, "..", "shared", "corpus", "kernel-logs")) : null;

    /// <summary>The files that make up the corpus (everything but this repository's README and attribute files).</summary>
    public static bool IsCorpusFile(string name) => name is not ("README.md" or ".gitattributes" or ".editorconfig");

    private static string? FindRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "ResetScope.slnx")))
            {
                return d.FullName;
            }
        }

        return null;
    }
}

/// <summary>A fact that needs python3 (to run the corpus's own check.py); skipped, with the reason, when it is missing.</summary>
public sealed class Python3FactAttribute : FactAttribute
{
    public Python3FactAttribute()
    {
        if (ExternalTool.Find("python3") is null)
        {
            Skip = "python3 not installed: the corpus's check.py cannot run (the C# port of its rules still runs per file)";
        }
    }
}

/// <summary>A fact that compares with the shared corpus beside the checkout; skipped, with the reason, when that folder is not there.</summary>
public sealed class SharedCorpusFactAttribute : FactAttribute
{
    public SharedCorpusFactAttribute()
    {
        if (Corpus.SharedDir is not { } d || !Directory.Exists(d))
        {
            Skip = $"no shared corpus at {Corpus.SharedDir ?? "../shared/corpus/kernel-logs (repository root not found)"}: nothing to compare the vendored copy with";
        }
    }
}
