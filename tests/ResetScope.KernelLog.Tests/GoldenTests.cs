using ResetScope.KernelLog;
using ResetScope.Testing;

namespace ResetScope.KernelLog.Tests;

/// <summary>A realistic mixed log (several drivers and versions) and its exact JSON lines, reviewed by hand.</summary>
public class GoldenTests
{
    [Fact]
    public void Mixed_kernel_log_gives_the_reviewed_json_lines()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "mixed-kern.log");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = ScanRunner.Run([path], new ScanOptions { Output = ScanOutput.Json, ReferenceYear = 2026 }, stdout, stderr);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr.ToString());
        GoldenFile.AssertMatches(stdout.ToString().Replace(path, "mixed-kern.log", StringComparison.Ordinal), "mixed-kern.jsonl");
    }
}
