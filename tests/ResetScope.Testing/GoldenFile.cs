using System.Runtime.CompilerServices;
using Xunit.Sdk;

namespace ResetScope.Testing;

/// <summary>
/// Golden-file comparison. The expected text lives in <c>golden/NAME</c> next to the test source; on a
/// mismatch the actual text is written beside it as <c>NAME.received</c> (git-ignored) so the difference can
/// be inspected and, if right, accepted by renaming. Set RESETSCOPE_ACCEPT_GOLDEN=1 to rewrite goldens.
/// </summary>
public static class GoldenFile
{
    public static void AssertMatches(string actual, string name, [CallerFilePath] string callerFile = "")
    {
        string directory = Path.Combine(Path.GetDirectoryName(SourcePath(callerFile))!, "golden");
        string expectedPath = Path.Combine(directory, name);
        string receivedPath = expectedPath + ".received";
        actual = Normalize(actual);

        if (Environment.GetEnvironmentVariable("RESETSCOPE_ACCEPT_GOLDEN") == "1")
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(expectedPath, actual);
            return;
        }

        if (!File.Exists(expectedPath))
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(receivedPath, actual);
            throw new XunitException($"golden file {expectedPath} does not exist; wrote {receivedPath}: review it and rename it to accept");
        }

        string expected = Normalize(File.ReadAllText(expectedPath));
        if (expected == actual)
        {
            if (File.Exists(receivedPath))
            {
                File.Delete(receivedPath);
            }

            return;
        }

        File.WriteAllText(receivedPath, actual);
        throw new XunitException($"output differs from {expectedPath} at {FirstDifference(expected, actual)}; wrote {receivedPath}");
    }

    /// <summary>
    /// CI builds map source paths to "/_/" (deterministic builds); map them back to the checkout, found by walking
    /// up from the test's output directory to the solution file.
    /// </summary>
    private static string SourcePath(string callerFile)
    {
        if (!callerFile.StartsWith("/_/", StringComparison.Ordinal))
        {
            return callerFile;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ResetScope.slnx")))
            {
                return Path.Combine(dir.FullName, callerFile[3..]);
            }
        }

        return callerFile;
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string FirstDifference(string expected, string actual)
    {
        string[] e = expected.Split('\n');
        string[] a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string el = i < e.Length ? e[i] : "<end of file>";
            string al = i < a.Length ? a[i] : "<end of file>";
            if (el != al)
            {
                return $"line {i + 1}:\n  expected: {el}\n  actual:   {al}";
            }
        }

        return "(no line difference)";
    }
}
