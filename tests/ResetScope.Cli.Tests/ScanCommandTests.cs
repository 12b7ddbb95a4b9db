using System.Text.Json;
using ResetScope.Testing;

namespace ResetScope.Cli.Tests;

public sealed class ScanCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-scan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string SimulatedLog(string scenario)
    {
        (_, string log, _) = TestConsole.Run("simulate", scenario, "--log-only");
        string path = Path.Combine(_dir, scenario + ".log");
        File.WriteAllText(path, log);
        return path;
    }

    [Fact]
    public void Human_output_is_a_table_of_resets_and_cadence()
    {
        // A fixed path, because the table shows it.
        string dir = "/tmp/resetscope-scan-golden";
        Directory.CreateDirectory(dir);
        string log = Path.Combine(dir, "pinterest-2025.log");
        File.Copy(SimulatedLog("pinterest-2025"), log, overwrite: true);
        try
        {
            (int exit, string output, string error) = TestConsole.Run("scan", log);

            exit.Should().Be(0);
            error.Should().BeEmpty();
            GoldenFile.AssertMatches(output, "scan-pinterest-2025.txt");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Json_is_the_event_lines_then_a_summary()
    {
        string log = SimulatedLog("missing-tx-completions");

        (int exit, string output, _) = TestConsole.Run("scan", "--json", log);

        exit.Should().Be(0);
        string[] lines = output.TrimEnd('\n').Split('\n');
        JsonElement[] objects = lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        objects.Single(o => o.GetProperty("kind").GetString() == "reset").GetProperty("ena_reason").GetString().Should().Be("MISS_TX_CMPL");
        objects.Where(o => o.GetProperty("kind").GetString() == "precursor").Should().NotBeEmpty("2.17's [1/2]/[2/2] notices come before the reset");
        objects[^1].GetProperty("kind").GetString().Should().Be("summary");
    }

    [Fact]
    public void An_unreadable_input_is_one_line_and_the_others_go_on()
    {
        string log = SimulatedLog("keepalive-loss");
        string missing = Path.Combine(_dir, "missing.log");

        (int exit, string output, string error) = TestConsole.Run("scan", "--json", missing, log);

        exit.Should().Be(0);
        error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle().Which.Should().Contain(missing);
        output.Should().Contain("\"ena_reason\":\"KEEP_ALIVE_TO\"");
    }

    [Fact]
    public void Nothing_readable_exits_2()
    {
        (int exit, _, string error) = TestConsole.Run("scan", Path.Combine(_dir, "nope.log"));

        exit.Should().Be(2);
        error.Should().NotBeEmpty();
    }

    [Fact]
    public void Json_and_csv_together_are_a_usage_error()
    {
        (int exit, _, string error) = TestConsole.Run("scan", "--json", "--csv", "x.log");

        exit.Should().Be(2);
        error.Should().Be("resetscope: --json and --csv exclude each other; choose one\n");
    }
}
