using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using ResetScope.Agent.Store;
using ResetScope.Cli.Commands;
using ResetScope.Testing;

namespace ResetScope.Cli.Tests;

[UnsupportedOSPlatform("windows")]
public sealed class IncidentsCommandTests : IDisposable
{
    private static readonly DateTimeOffset s_now = new(2026, 7, 14, 12, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-incidents-").FullName;
    private readonly ManualTimeProvider _clock = new(s_now);

    public IncidentsCommandTests()
    {
        StorePath = Path.Combine(_dir, IncidentStore.FileName);
    }

    private string StorePath { get; }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Three incidents with fixed times, so ids 1–3 and the golden files are stable.</summary>
    private void Prepare()
    {
        using IncidentStore store = IncidentStore.Open(StorePath);
        store.Add(new Incident
        {
            CreatedUtc = s_now.AddDays(-2),
            Kind = IncidentKind.Reset,
            Driver = "ena",
            Dev = "eth0",
            Reason = "tx-completion-timeout",
            EnaReason = "MISS_TX_CMPL",
            Summary = "eth0 reset: 128 Tx completions missing on queue 2",
            BundleJson = """{"event":{"kind":"reset","dev":"eth0","queue":2},"findings":[]}""",
        });
        store.Add(new Incident
        {
            CreatedUtc = s_now.AddMinutes(-40),
            Kind = IncidentKind.NearMiss,
            Driver = "ena",
            Dev = "eth0",
            Summary = "CPU 39 held 3.1 s by kubelet while queue 5's NAPI waited",
            BundleJson = """{"window":{"cpu":39,"before":[{"t":-1,"busy":1.0}],"after":[]}}""",
        });
        store.Add(new Incident
        {
            CreatedUtc = s_now.AddMinutes(-4),
            Kind = IncidentKind.Reset,
            Driver = "ena",
            Dev = "eth1",
            Reason = "netdev-watchdog",
            EnaReason = "SUSPECTED_POLL_STARVATION",
            Summary = "eth1 reset: TX q 5 paused 6.6 s, NAPI starved on CPU 39 (kubelet, SCHED_FIFO)",
            BundleJson = """{"event":{"kind":"reset","dev":"eth1","queue":5,"ena_reason":"SUSPECTED_POLL_STARVATION"},"host":{"kernel":"6.8.0","cpus":48},"findings":[{"finding":"cpu-starvation","cpu":39,"subject":"kubelet"}]}""",
        });
    }

    [Fact]
    public void List_is_a_table_newest_first()
    {
        Prepare();

        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath);

        exit.Should().Be(0);
        error.Should().BeEmpty();
        GoldenFile.AssertMatches(output, "incidents-list.txt");
    }

    [Fact]
    public void List_since_a_duration_counts_back_from_now_and_limit_says_what_was_left_out()
    {
        Prepare();

        (int exit, string output, _) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath, "--since", "1h");
        exit.Should().Be(0);
        output.Should().Contain("| 3 ").And.Contain("| 2 ").And.NotContain("| 1 ").And.EndWith("2 incidents since 1h; 'resetscope incidents show ID' for one.\n");

        (_, output, _) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath, "--since", "2026-07-14T11:30Z", "--limit", "5");
        output.Should().EndWith("1 incident since 2026-07-14T11:30Z; 'resetscope incidents show ID' for one.\n");

        (_, output, _) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath, "--limit", "1");
        output.Should().EndWith("1 of 3 incidents shown (--limit); 'resetscope incidents show ID' for one.\n");

        (_, output, _) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath, "--since", "1m");
        output.Should().Be("No incidents since 1m.\n");
    }

    [Fact]
    public void List_json_is_one_incident_per_line()
    {
        Prepare();

        (int exit, string output, _) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath, "--json");

        exit.Should().Be(0);
        JsonElement[] lines = [.. output.TrimEnd('\n').Split('\n').Select(l => JsonDocument.Parse(l).RootElement)];
        lines.Select(l => l.GetProperty("id").GetInt64()).Should().Equal(3, 2, 1);
        lines.Should().OnlyContain(l => l.GetProperty("kind").GetString() == "incident");
        JsonElement latest = lines[0];
        latest.GetProperty("incident").GetString().Should().Be("reset");
        latest.GetProperty("created_utc").GetString().Should().Be("2026-07-14T11:56:00Z");
        latest.GetProperty("dev").GetString().Should().Be("eth1");
        latest.GetProperty("ena_reason").GetString().Should().Be("SUSPECTED_POLL_STARVATION");
        latest.GetProperty("bundle_bytes").GetInt64().Should().BeGreaterThan(100);
        lines[1].GetProperty("reason").ValueKind.Should().Be(JsonValueKind.Null);
        latest.TryGetProperty("bundle", out _).Should().BeFalse("lists leave bundles out");
    }

    [Fact]
    public void List_without_a_store_says_so_and_creates_nothing()
    {
        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath);

        exit.Should().Be(0);
        error.Should().BeEmpty();
        output.Should().Be($"no incidents stored yet at {StorePath} (the agent writes them)\n");
        File.Exists(StorePath).Should().BeFalse();

        (exit, output, error) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath, "--json");
        exit.Should().Be(0);
        output.Should().BeEmpty("stdout carries JSON lines only");
        error.Should().Contain("no incidents stored yet");
    }

    [Fact]
    public void A_store_that_is_not_a_database_is_exit_2_and_one_line()
    {
        File.WriteAllText(StorePath, "not a database at all, just text\n");

        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", "list", "--store", StorePath);

        exit.Should().Be(2);
        output.Should().BeEmpty();
        error.Should().Be($"resetscope: {StorePath} is not a SQLite database; move it away, or pass --store with another path\n");
    }

    [Fact]
    public void Show_is_the_fields_and_the_bundle_indented()
    {
        Prepare();

        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", "show", "3", "--store", StorePath);

        exit.Should().Be(0);
        error.Should().BeEmpty();
        GoldenFile.AssertMatches(output, "incidents-show.txt");
    }

    [Fact]
    public void Show_json_is_one_line_with_the_bundle()
    {
        Prepare();

        (int exit, string output, _) = TestConsole.Run(_clock, "incidents", "show", "1", "--store", StorePath, "--json");

        exit.Should().Be(0);
        output.TrimEnd('\n').Should().NotContain("\n");
        JsonElement line = JsonDocument.Parse(output).RootElement;
        line.GetProperty("id").GetInt64().Should().Be(1);
        line.GetProperty("ena_reason").GetString().Should().Be("MISS_TX_CMPL");
        line.GetProperty("bundle").GetProperty("event").GetProperty("queue").GetInt32().Should().Be(2);
    }

    [Theory]
    [InlineData("show")]
    [InlineData("export")]
    public void An_unknown_id_is_exit_2_and_one_line(string verb)
    {
        Prepare();

        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", verb, "42", "--store", StorePath);

        exit.Should().Be(2);
        output.Should().BeEmpty();
        error.Should().Be($"resetscope: no incident 42 in {StorePath}; 'resetscope incidents list' shows the stored ids\n");
    }

    [Theory]
    [InlineData("show")]
    [InlineData("export")]
    public void Show_or_export_without_a_store_is_exit_2(string verb)
    {
        (int exit, _, string error) = TestConsole.Run(_clock, "incidents", verb, "1", "--store", StorePath);

        exit.Should().Be(2);
        error.Should().Be($"resetscope: no incident store at {StorePath}; the agent creates it, or pass --store with the agent's store\n");
        File.Exists(StorePath).Should().BeFalse();
    }

    [Fact]
    public void Export_writes_the_stores_bundle_to_stdout_or_to_a_0600_file()
    {
        Prepare();
        string expected;
        using (IncidentStore store = IncidentStore.Open(StorePath))
        using (var buffer = new MemoryStream())
        {
            store.WriteExport(3, buffer);
            expected = Encoding.UTF8.GetString(buffer.ToArray());
        }

        (int exit, string output, _) = TestConsole.Run(_clock, "incidents", "export", "3", "--store", StorePath);
        exit.Should().Be(0);
        output.Should().Be(expected);
        JsonDocument.Parse(output).RootElement.GetProperty("bundle").GetProperty("host").GetProperty("cpus").GetInt32().Should().Be(48);

        string file = Path.Combine(_dir, "ticket-1234.json");
        (exit, output, _) = TestConsole.Run(_clock, "incidents", "export", "3", "--store", StorePath, "-o", file);
        exit.Should().Be(0);
        output.Should().BeEmpty();
        File.ReadAllText(file).Should().Be(expected);
        File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [Fact]
    public void Export_of_an_unknown_id_leaves_no_file()
    {
        Prepare();
        string file = Path.Combine(_dir, "ticket.json");

        (int exit, _, _) = TestConsole.Run(_clock, "incidents", "export", "9", "--store", StorePath, "-o", file);

        exit.Should().Be(2);
        File.Exists(file).Should().BeFalse();
    }

    [Fact]
    public void Check_names_the_latest_reset_within_the_window()
    {
        Prepare();

        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", "check", "--within", "10m", "--store", StorePath);

        exit.Should().Be(1);
        error.Should().BeEmpty();
        output.Should().Be("NIC reset on eth1 (ena, SUSPECTED_POLL_STARVATION) 4m ago: incident 3\n");

        (exit, output, _) = TestConsole.Run(_clock, "incidents", "check", "--within", "3d", "--store", StorePath);
        exit.Should().Be(1);
        output.Should().Be("NIC reset on eth1 (ena, SUSPECTED_POLL_STARVATION) 4m ago: incident 3 (2 in 3d)\n");
    }

    [Fact]
    public void Check_is_ok_when_only_older_resets_or_near_misses_are_stored()
    {
        Prepare();
        _clock.Advance(TimeSpan.FromMinutes(7));
        using (IncidentStore store = IncidentStore.Open(StorePath))
        {
            store.Add(new Incident { CreatedUtc = _clock.GetUtcNow(), Kind = IncidentKind.NearMiss, Summary = "CPU 3 held 2 s", BundleJson = "{}" });
        }

        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", "check", "--within", "10m", "--store", StorePath);

        exit.Should().Be(0, "the last reset is 11 minutes old and a near miss is not a reset");
        error.Should().BeEmpty();
        output.Should().Be("no NIC reset in the last 10m\n");
    }

    [Fact]
    public void Check_is_unknown_when_the_store_cannot_be_read()
    {
        (int exit, string output, string error) = TestConsole.Run(_clock, "incidents", "check", "--store", StorePath);
        exit.Should().Be(2);
        output.Should().Be("unknown: no incident store (is the resetscope agent running?)\n");
        error.Should().Contain(StorePath);

        File.WriteAllText(StorePath, "garbage that is long enough to not be sqlite\n");
        (exit, output, error) = TestConsole.Run(_clock, "incidents", "check", "--store", StorePath);
        exit.Should().Be(2);
        output.Should().Be("unknown: incident store unreadable\n");
        error.Should().Be($"resetscope: {StorePath} is not a SQLite database; move it away, or pass --store with another path\n");
    }

    [Theory]
    [InlineData("list", "--since", "yesterday-ish")]
    [InlineData("list", "--limit", "0")]
    [InlineData("check", "--within", "10 minutes")]
    public void Bad_arguments_are_exit_2(string verb, string option, string value)
    {
        Prepare();

        (int exit, _, string error) = TestConsole.Run(_clock, "incidents", verb, option, value, "--store", StorePath);

        exit.Should().Be(2);
        error.Should().StartWith($"resetscope: {option}: ");
    }

    [Theory]
    [InlineData("10m", 600)]
    [InlineData("90s", 90)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5h", 5400)]
    [InlineData("2d", 172800)]
    [InlineData("1w", 604800)]
    [InlineData(" 10m ", 600)]
    public void Durations_parse(string text, double seconds)
    {
        IncidentsCommand.TryParseDuration(text, out TimeSpan d).Should().BeTrue();
        d.Should().Be(TimeSpan.FromSeconds(seconds));
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("m")]
    [InlineData("10x")]
    [InlineData("10 m")]
    [InlineData("-5m")]
    [InlineData("99999999w")]
    public void Non_durations_do_not_parse(string text)
    {
        IncidentsCommand.TryParseDuration(text, out _).Should().BeFalse();
    }
}
