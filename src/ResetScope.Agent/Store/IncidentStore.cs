using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace ResetScope.Agent.Store;

/// <summary>
/// The agent's incidents and its place in the kernel log, in one SQLite file: write-ahead log with a full sync at
/// each commit, so a kill -9 (or a power cut) at any moment keeps every committed incident and corrupts nothing.
/// The file and its -wal/-shm are readable by their owner only: bundles hold command lines and cgroup names.
/// Safe to use from several threads; one writer process at a time (others wait up to 10 s for its lock).
/// </summary>
public sealed class IncidentStore : IDisposable
{
    public const string FileName = "incidents.db";

    /// <summary>Where the agent keeps its store when it runs as root.</summary>
    public const string SystemPath = "/var/lib/resetscope/" + FileName;

    /// <summary>The <c>format_version</c> of <see cref="WriteExport"/>'s bundle; raised when a field changes meaning or goes away.</summary>
    public const int ExportFormatVersion = 1;

    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerReadWrite | UnixFileMode.UserExecute;

    // Fixed width, so text order is time order and the created_utc index serves range queries; ticks, so nothing is lost.
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
    private const string CursorBootKey = "kmsg.boot_id";
    private const string CursorSequenceKey = "kmsg.seq";

    private const string SummaryColumns = "id, created_utc, kind, driver, dev, reason, ena_reason, summary, bundle_bytes";

    private static readonly byte[] s_sqliteMagic = "SQLite format 3\0"u8.ToArray();

    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();
    private bool _disposed;

    private IncidentStore(string filePath, SqliteConnection connection)
    {
        FilePath = filePath;
        _connection = connection;
    }

    /// <summary>The store's absolute path.</summary>
    public string FilePath { get; }

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => StoreSchema.Current;

    /// <summary>
    /// <see cref="SystemPath"/> as root; otherwise <c>$XDG_DATA_HOME/resetscope/incidents.db</c>, or
    /// <c>~/.local/share/resetscope/incidents.db</c> when that is unset.
    /// </summary>
    public static string DefaultPath() => DefaultPath(Environment.IsPrivilegedProcess, Environment.GetEnvironmentVariable);

    internal static string DefaultPath(bool privileged, Func<string, string?> environment)
    {
        if (privileged)
        {
            return SystemPath;
        }

        // The XDG base directory spec says to ignore a relative XDG_DATA_HOME.
        string? dataHome = environment("XDG_DATA_HOME");
        if (string.IsNullOrEmpty(dataHome) || !Path.IsPathRooted(dataHome))
        {
            string home = environment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            dataHome = Path.Combine(home, ".local", "share");
        }

        return Path.Combine(dataHome, "resetscope", FileName);
    }

    /// <summary>
    /// Opens the store at <paramref name="path"/>, creating it (directory 0700, file 0600) when it does not exist, and
    /// brings its schema up to date. Throws <see cref="IncidentStoreException"/> when it cannot be used.
    /// </summary>
    public static IncidentStore Open(string path) => OpenCore(path, create: true)!;

    /// <summary>As <see cref="Open"/>, but null when there is no file at <paramref name="path"/>: readers must not create an empty store.</summary>
    public static IncidentStore? OpenExisting(string path) => OpenCore(path, create: false);

    private static IncidentStore? OpenCore(string path, bool create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new IncidentStoreException($"{full} is a directory, not an incident store; pass --store with a file path such as {Path.Combine(full, FileName)}");
        }

        if (!File.Exists(full))
        {
            if (!create)
            {
                return null;
            }

            CreateFile(full);
        }

        // Before anything is changed: a file that is not ours keeps its mode and its bytes.
        CheckHeader(full);
        RestrictMode(full);
        RestrictMode(full + "-wal");
        RestrictMode(full + "-shm");

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,

            // Never create: the file exists with its mode set, and one deleted meanwhile should fail, not come back 0644.
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = 10,
        }.ToString());
        try
        {
            connection.Open();
            if (!StoreSchema.IsOursOrEmpty(connection))
            {
                throw new IncidentStoreException($"{full} is a SQLite database but not a ResetScope incident store; pass --store with another path");
            }

            Configure(connection, full);
            StoreSchema.Migrate(connection, full);

            // SQLite gives -wal and -shm the database's mode; checked all the same, as they hold the same data.
            RestrictMode(full + "-wal");
            RestrictMode(full + "-shm");
            return new IncidentStore(full, connection);
        }
        catch (SqliteException e) when (Translate(e, "open", full) is { } user)
        {
            connection.Dispose();
            throw user;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Adds <paramref name="incident"/> and, in the same transaction, moves the kmsg cursor to
    /// <paramref name="cursor"/>: after a crash the agent resumes right after the last record whose incident was
    /// committed, so nothing is lost and nothing is stored twice. Returns the new id.
    /// </summary>
    public long Add(Incident incident, KmsgCursor? cursor = null)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(incident.Summary);
        if (incident.Id != 0)
        {
            throw new ArgumentException($"incident {incident.Id} is already stored; the store assigns ids", nameof(incident));
        }

        string kind = incident.Kind.ToJsonName();
        ValidateBundle(incident.BundleJson);
        return Guard("add an incident to", () =>
        {
            using SqliteTransaction transaction = _connection.BeginTransaction();
            using SqliteCommand insert = Command(
                """
                INSERT INTO incidents (created_utc, kind, driver, dev, reason, ena_reason, summary, bundle_json, bundle_bytes)
                VALUES ($created, $kind, $driver, $dev, $reason, $ena_reason, $summary, $bundle, $bundle_bytes)
                RETURNING id
                """,
                [("$created", FormatTime(incident.CreatedUtc)), ("$kind", kind), .. Columns(incident)]);
            long id = (long)insert.ExecuteScalar()!;
            if (cursor is not null)
            {
                WriteCursor(cursor);
            }

            transaction.Commit();
            return id;
        });
    }

    /// <summary>The columns an incident's own fields fill, as command parameters.</summary>
    private static (string, object?)[] Columns(Incident incident) =>
    [
        ("$driver", incident.Driver),
        ("$dev", incident.Dev),
        ("$reason", incident.Reason),
        ("$ena_reason", incident.EnaReason),
        ("$summary", incident.Summary),
        ("$bundle", incident.BundleJson),
        ("$bundle_bytes", (long)Encoding.UTF8.GetByteCount(incident.BundleJson)),
    ];

    /// <summary>
    /// Rewrites a stored incident's searchable fields, summary and bundle (the agent completes an incident with the
    /// recorder window after its event); its id, time and kind stay.
    /// </summary>
    public void Update(Incident incident)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ValidateBundle(incident.BundleJson);
        Guard("update an incident in", () =>
        {
            using SqliteTransaction transaction = _connection.BeginTransaction();
            using SqliteCommand update = Command(
                """
                UPDATE incidents SET driver = $driver, dev = $dev, reason = $reason, ena_reason = $ena_reason, summary = $summary,
                    bundle_json = $bundle, bundle_bytes = $bundle_bytes
                WHERE id = $id
                """,
                [("$id", incident.Id), .. Columns(incident)]);
            if (update.ExecuteNonQuery() != 1)
            {
                throw UnknownIncident(incident.Id);
            }

            transaction.Commit();
            return 0;
        });
    }

    /// <summary>Moves the kmsg cursor on its own, for records that made no incident.</summary>
    public void SaveCursor(KmsgCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        Guard("save the kernel log position in", () =>
        {
            using SqliteTransaction transaction = _connection.BeginTransaction();
            WriteCursor(cursor);
            transaction.Commit();
            return 0;
        });
    }

    /// <summary>The last saved kmsg cursor, or null when none was ever saved.</summary>
    public KmsgCursor? LoadCursor() => Guard("read the kernel log position from", () =>
    {
        string? boot = null;
        string? sequence = null;
        using SqliteCommand select = Command("SELECT key, value FROM state WHERE key IN ($boot, $seq)", ("$boot", CursorBootKey), ("$seq", CursorSequenceKey));
        using SqliteDataReader reader = select.ExecuteReader();
        while (reader.Read())
        {
            if (reader.GetString(0) == CursorBootKey)
            {
                boot = reader.GetString(1);
            }
            else
            {
                sequence = reader.GetString(1);
            }
        }

        if (boot is null || sequence is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(boot) || !ulong.TryParse(sequence, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seq))
        {
            throw new IncidentStoreException($"{FilePath}: the saved kernel log position is malformed ('{boot}', '{sequence}'); delete the state rows with sqlite3 to start from the live log");
        }

        return new KmsgCursor(boot, seq);
    });

    /// <summary>Incidents newest first, created at or after <paramref name="since"/> when given, optionally of one kind.</summary>
    public IReadOnlyList<IncidentSummary> List(DateTimeOffset? since = null, int limit = 100, IncidentKind? kind = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return Guard("list the incidents in", () =>
        {
            using SqliteCommand select = Command(
                $"SELECT {SummaryColumns} FROM incidents WHERE ($since IS NULL OR created_utc >= $since) AND ($kind IS NULL OR kind = $kind) ORDER BY created_utc DESC, id DESC LIMIT $limit",
                ("$since", since is { } s ? FormatTime(s) : null),
                ("$kind", kind?.ToJsonName()),
                ("$limit", limit));
            using SqliteDataReader reader = select.ExecuteReader();
            var result = new List<IncidentSummary>();
            while (reader.Read())
            {
                result.Add(new IncidentSummary(
                    reader.GetInt64(0),
                    ParseTime(reader.GetString(1)),
                    ParseKind(reader.GetString(2)),
                    NullableString(reader, 3),
                    NullableString(reader, 4),
                    NullableString(reader, 5),
                    NullableString(reader, 6),
                    reader.GetString(7),
                    reader.GetInt64(8)));
            }

            return (IReadOnlyList<IncidentSummary>)result;
        });
    }

    /// <summary>How many incidents there are, created at or after <paramref name="since"/> when given, optionally of one kind.</summary>
    public long Count(DateTimeOffset? since = null, IncidentKind? kind = null) => Guard("count the incidents in", () =>
    {
        using SqliteCommand count = Command(
            "SELECT count(*) FROM incidents WHERE ($since IS NULL OR created_utc >= $since) AND ($kind IS NULL OR kind = $kind)",
            ("$since", since is { } s ? FormatTime(s) : null),
            ("$kind", kind?.ToJsonName()));
        return (long)count.ExecuteScalar()!;
    });

    /// <summary>The incident with <paramref name="id"/>, bundle included, or null.</summary>
    public Incident? Get(long id) => Guard("read an incident from", () =>
    {
        using SqliteCommand select = Command(
            "SELECT id, created_utc, kind, driver, dev, reason, ena_reason, summary, bundle_json FROM incidents WHERE id = $id",
            ("$id", id));
        using SqliteDataReader reader = select.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new Incident
        {
            Id = reader.GetInt64(0),
            CreatedUtc = ParseTime(reader.GetString(1)),
            Kind = ParseKind(reader.GetString(2)),
            Driver = NullableString(reader, 3),
            Dev = NullableString(reader, 4),
            Reason = NullableString(reader, 5),
            EnaReason = NullableString(reader, 6),
            Summary = reader.GetString(7),
            BundleJson = reader.GetString(8),
        };
    });

    /// <summary>
    /// Writes incident <paramref name="id"/> as one JSON document to attach to a ticket: the format and its version,
    /// the incident's fields, and the bundle exactly as stored. Throws <see cref="IncidentStoreException"/> for an
    /// unknown id before writing anything.
    /// </summary>
    public void WriteExport(long id, Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        Incident incident = Get(id) ?? throw UnknownIncident(id);
        // Relaxed escaping: the file is read by people and JSON tools, never embedded in HTML, so "ü" stays "ü".
        var options = new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var w = new Utf8JsonWriter(output, options))
        {
            w.WriteStartObject();
            w.WriteString("format", "resetscope-incident");
            w.WriteNumber("format_version", ExportFormatVersion);
            w.WriteStartObject("incident");
            w.WriteNumber("id", incident.Id);
            w.WriteString("created_utc", FormatJsonTime(incident.CreatedUtc));
            w.WriteString("kind", incident.Kind.ToJsonName());
            WriteStringOrNull(w, "driver", incident.Driver);
            WriteStringOrNull(w, "dev", incident.Dev);
            WriteStringOrNull(w, "reason", incident.Reason);
            WriteStringOrNull(w, "ena_reason", incident.EnaReason);
            w.WriteString("summary", incident.Summary);
            w.WriteEndObject();

            // Verbatim: whatever the agent that wrote it put there, including fields this build does not know.
            w.WritePropertyName("bundle");
            w.WriteRawValue(incident.BundleJson);
            w.WriteEndObject();
        }

        output.Write("\n"u8);
        output.Flush();
    }

    /// <summary>The one-line error for an id the store does not have.</summary>
    public IncidentStoreException UnknownIncident(long id) =>
        new($"no incident {id} in {FilePath}; 'resetscope incidents list' shows the stored ids");

    /// <summary>
    /// Deletes incidents created before now − <paramref name="maxAge"/>, then the oldest until the store would take at
    /// most <paramref name="maxBytes"/> on disk, gives the freed pages back to the file system and truncates the WAL.
    /// </summary>
    /// <remarks>
    /// The size loop measures the database as it will be after the checkpoint (pages in use × page size) rather than
    /// the files: a reader holding an old snapshot can keep the WAL from being truncated, and deleting more incidents
    /// would not help that.
    /// </remarks>
    public RetentionResult ApplyRetention(TimeSpan maxAge, long maxBytes, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAge, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentNullException.ThrowIfNull(time);
        return Guard("apply retention to", () =>
        {
            long before = BytesOnDisk();
            DateTimeOffset now = time.GetUtcNow();
            int byAge = 0;
            if (maxAge < now - DateTimeOffset.MinValue)
            {
                using SqliteCommand delete = Command("DELETE FROM incidents WHERE created_utc < $cutoff", ("$cutoff", FormatTime(now - maxAge)));
                byAge = delete.ExecuteNonQuery();
            }

            Execute("PRAGMA incremental_vacuum");
            int bySize = 0;
            for (long size = LogicalBytes(); size > maxBytes; size = LogicalBytes())
            {
                int rows = OldestRowsCovering(size - maxBytes);
                if (rows == 0)
                {
                    break;
                }

                using SqliteCommand delete = Command("DELETE FROM incidents WHERE id IN (SELECT id FROM incidents ORDER BY created_utc, id LIMIT $n)", ("$n", rows));
                bySize += delete.ExecuteNonQuery();
                Execute("PRAGMA incremental_vacuum");
            }

            Execute("PRAGMA wal_checkpoint(TRUNCATE)");
            using SqliteCommand count = Command("SELECT count(*) FROM incidents");
            long remaining = (long)count.ExecuteScalar()!;
            return new RetentionResult(byAge, bySize, remaining, before, BytesOnDisk());
        });
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _disposed = true;
                _connection.Dispose();
            }
        }
    }

    internal static void ValidateBundle(string bundleJson)
    {
        ArgumentNullException.ThrowIfNull(bundleJson);
        JsonValueKind kind;
        try
        {
            using JsonDocument document = JsonDocument.Parse(bundleJson, new JsonDocumentOptions { MaxDepth = 256 });
            kind = document.RootElement.ValueKind;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new ArgumentException($"the incident bundle is not valid JSON: {e.Message}", nameof(bundleJson), e);
        }

        if (kind != JsonValueKind.Object)
        {
            throw new ArgumentException($"the incident bundle must be a JSON object, not {kind}", nameof(bundleJson));
        }
    }

    /// <summary>The time format of the JSON the store writes: UTC, as many fractional digits as needed.</summary>
    public static string FormatJsonTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static void CreateFile(string path)
    {
        string directory = Path.GetDirectoryName(path)!;
        try
        {
            // The agent runs on Linux; the guards keep the analyzer (and a curious Windows build) content.
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
                using FileStream plain = new(path, FileMode.CreateNew, FileAccess.Write);
                return;
            }

            if (!Directory.Exists(directory))
            {
                // Only directories made here get 0700: an existing one (say /tmp for --store /tmp/x.db) is not ours to change.
                Directory.CreateDirectory(directory, OwnerOnlyDirectory);
            }

            // Created 0600 by open(2) itself, so there is no moment at which the file is readable by others.
            using var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerReadWrite,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first; it is checked like any existing store.
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IncidentStoreException($"cannot create the incident store {path}: {Reason(e)}; run as root, or pass --store with a path in a writable directory", e);
        }
    }

    private static void CheckHeader(string path)
    {
        Span<byte> header = stackalloc byte[16];
        int read;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IncidentStoreException($"cannot read the incident store {path}: {Reason(e)}; run as the user the agent runs as (root for {SystemPath}), or pass --store", e);
        }

        // An empty file is a new database to SQLite (and what CreateFile leaves).
        if (read != 0 && (read < header.Length || !header.SequenceEqual(s_sqliteMagic)))
        {
            throw new IncidentStoreException($"{path} is not a SQLite database; move it away, or pass --store with another path");
        }
    }

    private static void RestrictMode(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            if (File.Exists(path) && File.GetUnixFileMode(path) != OwnerReadWrite)
            {
                File.SetUnixFileMode(path, OwnerReadWrite);
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IncidentStoreException($"cannot restrict {path} to mode 0600: {Reason(e)}; run as the file's owner, or chmod 600 it", e);
        }
    }

    private static void Configure(SqliteConnection connection, string path)
    {
        using SqliteCommand command = connection.CreateCommand();

        // Must come before the first table exists (it is ignored after): lets retention hand freed pages back.
        command.CommandText = "PRAGMA auto_vacuum = INCREMENTAL";
        command.ExecuteNonQuery();
        command.CommandText = "PRAGMA journal_mode = WAL";
        string mode = (string)command.ExecuteScalar()!;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new IncidentStoreException($"{path}: SQLite cannot use a write-ahead log there (journal mode stays '{mode}'); put the store on a local file system with --store");
        }

        // FULL: a commit is on disk when Add returns, even across a power cut, not just across a crash.
        command.CommandText = "PRAGMA synchronous = FULL";
        command.ExecuteNonQuery();
        command.CommandText = "PRAGMA foreign_keys = ON";
        command.ExecuteNonQuery();
    }

    private void WriteCursor(KmsgCursor cursor)
    {
        using SqliteCommand upsert = Command(
            "INSERT INTO state (key, value) VALUES ($boot_key, $boot), ($seq_key, $seq) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            ("$boot_key", CursorBootKey),
            ("$boot", cursor.BootId),
            ("$seq_key", CursorSequenceKey),
            ("$seq", cursor.Sequence.ToString(CultureInfo.InvariantCulture)));
        upsert.ExecuteNonQuery();
    }

    /// <summary>How many of the oldest incidents hold about <paramref name="bytes"/>; at least one while any is left.</summary>
    private int OldestRowsCovering(long bytes)
    {
        // Payload plus a little for the row and index entries; an underestimate only costs another turn of the loop.
        using SqliteCommand select = Command("SELECT bundle_bytes + length(CAST(summary AS BLOB)) + 64 FROM incidents ORDER BY created_utc, id");
        using SqliteDataReader reader = select.ExecuteReader();
        int rows = 0;
        long covered = 0;
        while (covered < bytes && reader.Read())
        {
            covered += reader.GetInt64(0);
            rows++;
        }

        return rows;
    }

    private long LogicalBytes()
    {
        using SqliteCommand pages = Command("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
        return (long)pages.ExecuteScalar()!;
    }

    private long BytesOnDisk()
    {
        var db = new FileInfo(FilePath);
        var wal = new FileInfo(FilePath + "-wal");
        return (db.Exists ? db.Length : 0) + (wal.Exists ? wal.Length : 0);
    }

    private void Execute(string sql)
    {
        using SqliteCommand command = Command(sql);
        command.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach ((string name, object? value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private T Guard<T>(string doing, Func<T> action)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                return action();
            }
            catch (SqliteException e) when (Translate(e, doing, FilePath) is { } user)
            {
                throw user;
            }
        }
    }

    /// <summary>The user's side of a SQLite failure, or null for one that is a bug here (an internal failure).</summary>
    private static IncidentStoreException? Translate(SqliteException e, string doing, string path) => e.SqliteErrorCode switch
    {
        SQLitePCL.raw.SQLITE_FULL => new($"cannot {doing} {path}: the disk is full; free space, or lower the store's size limit", e),
        SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM or SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_AUTH =>
            new($"cannot {doing} {path}: {Detail(e)}; run as root, or pass --store with a path in a writable directory", e),
        SQLitePCL.raw.SQLITE_NOTADB => new($"{path} is not a SQLite database; move it away, or pass --store with another path", e),
        SQLitePCL.raw.SQLITE_CORRUPT => new($"{path} is corrupt ({Detail(e)}); move it away (the agent starts a new one), or try sqlite3's .recover on it", e),
        SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED => new($"{path} is locked by another process (another resetscope agent?); stop it, or pass --store with another path", e),
        SQLitePCL.raw.SQLITE_IOERR => new($"cannot {doing} {path}: I/O error ({Detail(e)}); check the disk and its file system", e),
        _ => null,
    };

    /// <summary>SQLite's own words without the "SQLite Error N: '...'." wrapping.</summary>
    private static string Detail(SqliteException e)
    {
        string m = e.Message;
        int first = m.IndexOf('\'', StringComparison.Ordinal);
        int last = m.LastIndexOf('\'');
        return first >= 0 && last > first ? m[(first + 1)..last] : m;
    }

    private static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        _ => e.Message.ReplaceLineEndings(" "),
    };

    private static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static IncidentKind ParseKind(string text) =>
        IncidentKinds.TryParse(text, out IncidentKind kind) ? kind : throw new InvalidDataException($"unknown incident kind '{text}' in the store");

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
