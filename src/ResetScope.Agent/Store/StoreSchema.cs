using Microsoft.Data.Sqlite;

namespace ResetScope.Agent.Store;

/// <summary>
/// The store's tables, as an ordered list of migrations. A store records every migration applied to it in
/// <c>schema_version</c>; opening applies the missing ones in one transaction and refuses a store newer than this
/// build, so an older resetscope never half-understands a newer file.
/// </summary>
internal static class StoreSchema
{
    /// <summary>"RSsc" at offset 68 of the database header, so another program's SQLite file is not taken for a store.</summary>
    public const int ApplicationId = 0x52537363;

    // Append only: a migration that has shipped is never edited, a change is a new entry.
    private static readonly string[][] s_migrations =
    [
        [
            // AUTOINCREMENT: an id may be on a ticket, so one deleted by retention is never given to another incident.
            """
            CREATE TABLE incidents (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                created_utc TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('reset', 'near-miss', 'starvation')),
                driver TEXT,
                dev TEXT,
                reason TEXT,
                ena_reason TEXT,
                summary TEXT NOT NULL,
                bundle_json TEXT NOT NULL CHECK (json_type(bundle_json) = 'object'),
                bundle_bytes INTEGER NOT NULL
            )
            """,
            "CREATE INDEX incidents_created_utc ON incidents (created_utc)",
            // `incidents check` asks for the latest reset, which the kind-first index answers without a scan.
            "CREATE INDEX incidents_kind_created_utc ON incidents (kind, created_utc)",
            "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        ],
    ];

    public static int Current => s_migrations.Length;

    /// <summary>True when the file is empty or already a store; false for someone else's SQLite database.</summary>
    public static bool IsOursOrEmpty(SqliteConnection connection)
    {
        long applicationId = Scalar<long>(connection, "PRAGMA application_id");
        if (applicationId == ApplicationId)
        {
            return true;
        }

        return applicationId == 0 && Scalar<long>(connection, "SELECT count(*) FROM sqlite_master") == 0;
    }

    /// <summary>Brings the schema up to <see cref="Current"/>; throws for a store written by a newer resetscope.</summary>
    public static void Migrate(SqliteConnection connection, string path)
    {
        // Read first without a write lock: the common case (nothing to do) must not wait for a busy agent.
        int version = Version(connection);
        if (version == Current)
        {
            return;
        }

        ThrowIfNewer(version, path);
        using SqliteTransaction transaction = connection.BeginTransaction();

        // Another process may have migrated between the read and the lock.
        version = Version(connection);
        ThrowIfNewer(version, path);
        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_utc TEXT NOT NULL)");
        for (int v = version + 1; v <= Current; v++)
        {
            foreach (string sql in s_migrations[v - 1])
            {
                Execute(connection, sql);
            }

            // The applied time is a note for people reading the file with sqlite3, not input to any logic.
            using SqliteCommand insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO schema_version (version, applied_utc) VALUES ($v, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";
            insert.Parameters.AddWithValue("$v", v);
            insert.ExecuteNonQuery();
        }

        Execute(connection, $"PRAGMA application_id = {ApplicationId}");
        transaction.Commit();
    }

    private static int Version(SqliteConnection connection)
    {
        if (Scalar<long>(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'") == 0)
        {
            return 0;
        }

        return (int)Scalar<long>(connection, "SELECT coalesce(max(version), 0) FROM schema_version");
    }

    private static void ThrowIfNewer(int version, string path)
    {
        if (version > Current)
        {
            throw new IncidentStoreException(
                $"{path} has store schema version {version}, newer than this resetscope understands ({Current}); upgrade resetscope, or pass --store with another path");
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static T Scalar<T>(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }
}
