using Microsoft.Data.Sqlite;
using ResetScope.Agent.Store;

namespace ResetScope.Agent.Tests.Store;

/// <summary>A temporary directory for real store files, removed with everything in it.</summary>
public sealed class TempStore : IDisposable
{
    public TempStore()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("resetscope-store-").FullName;
        Path = System.IO.Path.Combine(Directory, IncidentStore.FileName);
    }

    public string Directory { get; }

    public string Path { get; }

    public static Incident Sample(DateTimeOffset created, IncidentKind kind = IncidentKind.Reset, string summary = "eth0 reset: TX q 5 paused 6.6 s, NAPI starved on CPU 39", string? bundle = null) => new()
    {
        CreatedUtc = created,
        Kind = kind,
        Driver = "ena",
        Dev = "eth0",
        Reason = kind == IncidentKind.Reset ? "netdev-watchdog" : null,
        EnaReason = kind == IncidentKind.Reset ? "SUSPECTED_POLL_STARVATION" : null,
        Summary = summary,
        BundleJson = bundle ?? """{"event":{"kind":"reset","dev":"eth0","queue":5},"window":{"before":[],"after":[]},"findings":[]}""",
    };

    /// <summary>A plain connection, beside the store, to look at the file as SQLite sees it.</summary>
    public SqliteConnection Raw()
    {
        var connection = new SqliteConnection($"Data Source={Path};Pooling=False");
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
