using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using ResetScope.Agent.CrashWriter;
using ResetScope.Agent.Store;

namespace ResetScope.Agent.Tests.Store;

/// <summary>
/// Issue 5: "kill -9 during incident writes, then the store opens consistent with every committed incident". A
/// child process writes incidents in a loop and prints each id once committed; it is killed with SIGKILL at
/// different moments, restarted (resuming after the stored kmsg cursor), killed again, and after every kill the
/// file is checked as SQLite and as a store.
/// </summary>
public sealed class IncidentStoreCrashTests : IDisposable
{
    // How many committed ids to read before each kill: 0 kills it while it starts (maybe inside the schema's creation),
    // the others land in an insert, a cursor update, a 96 KiB bundle or a checkpoint, wherever the writer happens to be.
    private static readonly int[] s_killAfter = [0, 1, 3, 7, 16, 2, 31, 5, 48, 11];

    private static readonly TimeSpan s_lineTimeout = TimeSpan.FromSeconds(60);

    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Kill_9_while_writing_loses_no_committed_incident_and_corrupts_nothing()
    {
        // n → id as the child reported it after commit.
        var committed = new Dictionary<ulong, long>();
        for (int round = 0; round < s_killAfter.Length; round++)
        {
            using Process child = StartWriter();
            try
            {
                for (int i = 0; i < s_killAfter[round]; i++)
                {
                    string? line = await child.StandardOutput.ReadLineAsync().WaitAsync(s_lineTimeout);
                    if (line is null)
                    {
                        // Only now: stderr is read to its end, which comes when the writer exits.
                        string error = await child.StandardError.ReadToEndAsync().WaitAsync(s_lineTimeout);
                        Assert.Fail($"the writer stopped on its own in round {round}: {error}");
                    }

                    Record(committed, line);
                }
            }
            finally
            {
                child.Kill();
            }

            await child.WaitForExitAsync().WaitAsync(s_lineTimeout);

            // Lines already in the pipe were printed after their commit, so they count as committed too.
            string rest = await child.StandardOutput.ReadToEndAsync().WaitAsync(s_lineTimeout);
            foreach (string line in rest.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Record(committed, line);
            }

            AssertConsistent(committed, round);
        }

        committed.Count.Should().BeGreaterThan(s_killAfter.Sum() / 2, "the rounds did write");
    }

    private void AssertConsistent(Dictionary<ulong, long> committed, int round)
    {
        // SQLite first, through a plain connection, before the store's own open has had a chance to tidy anything.
        // (A writer killed before it got going may not have created the file at all.)
        if (!File.Exists(_temp.Path))
        {
            committed.Should().BeEmpty();
            return;
        }

        using (var raw = new SqliteConnection($"Data Source={_temp.Path};Mode=ReadWrite;Pooling=False"))
        {
            raw.Open();
            TempStore.Scalar(raw, "PRAGMA integrity_check").Should().Be("ok", $"round {round}");
            TempStore.Scalar(raw, "PRAGMA foreign_key_check").Should().BeNull();
        }

        using IncidentStore store = IncidentStore.Open(_temp.Path);
        foreach ((ulong n, long id) in committed)
        {
            store.Get(id).Should().Be(CrashIncidents.Make(n) with { Id = id }, $"incident #{n} (id {id}) was reported committed before round {round}'s kill");
        }

        // Nothing partial, nothing twice: every stored incident is exactly one the writer made, numbered 0..max
        // without a gap, and the cursor names the last of them (it was committed in the same transaction).
        IReadOnlyList<IncidentSummary> all = store.List(limit: int.MaxValue);
        var numbers = new List<ulong>();
        foreach (IncidentSummary summary in all)
        {
            Incident incident = store.Get(summary.Id)!;
            ulong n = CrashIncidents.NumberOf(incident);
            incident.Should().Be(CrashIncidents.Make(n) with { Id = summary.Id });
            numbers.Add(n);
        }

        numbers.Sort();
        numbers.Should().Equal(Enumerable.Range(0, numbers.Count).Select(i => (ulong)i), $"round {round}: no incident lost or stored twice across restarts");
        KmsgCursor? cursor = store.LoadCursor();
        if (numbers.Count == 0)
        {
            cursor.Should().BeNull();
        }
        else
        {
            cursor.Should().Be(new KmsgCursor(CrashIncidents.BootId, numbers[^1]));
        }
    }

    private static void Record(Dictionary<ulong, long> committed, string line)
    {
        string[] parts = line.Split(' ');
        parts.Should().HaveCount(2, $"'{line}' is what the writer prints");
        ulong n = ulong.Parse(parts[1], CultureInfo.InvariantCulture);
        committed.Should().NotContainKey(n, "a restarted writer resumes after the cursor, so never writes a number twice");
        committed[n] = long.Parse(parts[0], CultureInfo.InvariantCulture);
    }

    private Process StartWriter()
    {
        // The writer is built with the tests and copied beside them, with its runtimeconfig and deps files.
        string writer = Path.Combine(AppContext.BaseDirectory, "ResetScope.Agent.CrashWriter.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(writer);
        start.ArgumentList.Add(_temp.Path);
        return Process.Start(start)!;
    }
}
