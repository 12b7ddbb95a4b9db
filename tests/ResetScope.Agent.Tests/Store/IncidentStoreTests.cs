using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ResetScope.Agent.Store;
using ResetScope.Testing;

namespace ResetScope.Agent.Tests.Store;

// File modes are the point of several tests; the agent is Linux-only.
[UnsupportedOSPlatform("windows")]
public sealed class IncidentStoreTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly DateTimeOffset s_t0 = new(2026, 7, 14, 10, 10, 22, TimeSpan.Zero);

    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Open_creates_the_directory_0700_and_the_database_wal_and_shm_0600()
    {
        string path = Path.Combine(_temp.Directory, "a", "b", IncidentStore.FileName);

        using IncidentStore store = IncidentStore.Open(path);
        store.Add(TempStore.Sample(s_t0));

        store.FilePath.Should().Be(path);
        File.GetUnixFileMode(Path.GetDirectoryName(path)!).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.GetUnixFileMode(path).Should().Be(Mode0600);
        File.Exists(path + "-wal").Should().BeTrue("the store is open in WAL mode");
        File.GetUnixFileMode(path + "-wal").Should().Be(Mode0600);
        File.GetUnixFileMode(path + "-shm").Should().Be(Mode0600);
    }

    [Fact]
    public void An_existing_directory_keeps_its_mode()
    {
        File.SetUnixFileMode(_temp.Directory, (UnixFileMode)0b111_101_101);

        using IncidentStore store = IncidentStore.Open(_temp.Path);

        File.GetUnixFileMode(_temp.Directory).Should().Be((UnixFileMode)0b111_101_101, "--store /tmp/x.db must not chmod /tmp");
    }

    [Fact]
    public void Wider_modes_on_an_existing_store_and_its_wal_and_shm_are_narrowed_on_open()
    {
        using (IncidentStore first = IncidentStore.Open(_temp.Path))
        {
            first.Add(TempStore.Sample(s_t0));
        }

        File.SetUnixFileMode(_temp.Path, (UnixFileMode)0b110_100_100);
        using IncidentStore writer = IncidentStore.Open(_temp.Path);
        writer.Add(TempStore.Sample(s_t0));
        File.SetUnixFileMode(_temp.Path + "-wal", (UnixFileMode)0b110_110_110);
        File.SetUnixFileMode(_temp.Path + "-shm", (UnixFileMode)0b110_110_110);

        using IncidentStore second = IncidentStore.Open(_temp.Path);

        File.GetUnixFileMode(_temp.Path).Should().Be(Mode0600);
        File.GetUnixFileMode(_temp.Path + "-wal").Should().Be(Mode0600);
        File.GetUnixFileMode(_temp.Path + "-shm").Should().Be(Mode0600);
    }

    [Fact]
    public void The_file_is_in_wal_mode_with_incremental_vacuum_and_marked_as_a_store()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        using SqliteConnection raw = _temp.Raw();

        TempStore.Scalar(raw, "PRAGMA journal_mode").Should().Be("wal");
        TempStore.Scalar(raw, "PRAGMA auto_vacuum").Should().Be(2L, "2 is INCREMENTAL");
        TempStore.Scalar(raw, "PRAGMA application_id").Should().Be(0x52537363L);
        TempStore.Scalar(raw, "SELECT max(version) FROM schema_version").Should().Be((long)IncidentStore.SchemaVersion);
        TempStore.Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents' AND sql LIKE '%created_utc%'").Should().Be(2L);
    }

    [Fact]
    public void Added_incidents_come_back_whole_and_lists_are_newest_first()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        Incident reset = TempStore.Sample(s_t0);
        Incident nearMiss = TempStore.Sample(s_t0.AddMinutes(5), IncidentKind.NearMiss, "CPU 39 held 3.1 s by kubelet; NAPI waited") with { Driver = null, Dev = null };
        Incident starvation = TempStore.Sample(s_t0.AddMinutes(1).ToOffset(TimeSpan.FromHours(2)), IncidentKind.Starvation, "soft lockup on CPU 7");

        long a = store.Add(reset);
        long b = store.Add(nearMiss);
        long c = store.Add(starvation);

        new[] { a, b, c }.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        store.Get(a).Should().Be(reset with { Id = a });
        store.Get(b).Should().Be(nearMiss with { Id = b });
        store.Get(c).Should().Be(starvation with { Id = c });
        store.Get(c)!.CreatedUtc.Offset.Should().Be(TimeSpan.Zero, "times come back in UTC");
        store.Get(c + 1).Should().BeNull();

        IReadOnlyList<IncidentSummary> all = store.List();
        all.Select(i => i.Id).Should().Equal(b, c, a);
        all[0].Should().Be(new IncidentSummary(b, s_t0.AddMinutes(5), IncidentKind.NearMiss, null, null, null, null, nearMiss.Summary, Encoding.UTF8.GetByteCount(nearMiss.BundleJson)));
        store.List(since: s_t0.AddMinutes(1)).Select(i => i.Id).Should().Equal(b, c);
        store.List(limit: 1).Select(i => i.Id).Should().Equal(b);
        store.List(kind: IncidentKind.Reset).Select(i => i.Id).Should().Equal(a);
        store.Count().Should().Be(3);
        store.Count(since: s_t0.AddMinutes(2)).Should().Be(1);
        store.Count(kind: IncidentKind.Starvation).Should().Be(1);
        store.Count(since: s_t0.AddMinutes(2), kind: IncidentKind.Reset).Should().Be(0);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("")]
    [InlineData("{\"unterminated\": ")]
    [InlineData("{} {}")]
    public void A_bundle_that_is_not_one_json_object_is_refused_and_nothing_is_stored(string bundle)
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);

        Action add = () => store.Add(TempStore.Sample(s_t0, bundle: bundle), new KmsgCursor("boot", 5));

        add.Should().Throw<ArgumentException>().WithMessage("*bundle*");
        store.Count().Should().Be(0);
        store.LoadCursor().Should().BeNull();
    }

    [Fact]
    public void An_incident_that_already_has_an_id_is_refused()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);

        Action add = () => store.Add(TempStore.Sample(s_t0) with { Id = 7 });

        add.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void The_cursor_is_saved_alone_and_with_an_incident()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        store.LoadCursor().Should().BeNull();

        store.SaveCursor(new KmsgCursor("boot-a", 10));
        store.LoadCursor().Should().Be(new KmsgCursor("boot-a", 10));

        store.Add(TempStore.Sample(s_t0), new KmsgCursor("boot-b", ulong.MaxValue));
        store.LoadCursor().Should().Be(new KmsgCursor("boot-b", ulong.MaxValue));

        store.Add(TempStore.Sample(s_t0));
        store.LoadCursor().Should().Be(new KmsgCursor("boot-b", ulong.MaxValue), "an incident without a cursor leaves it where it was");
    }

    [Fact]
    public void The_incident_and_its_cursor_commit_together_or_not_at_all()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        store.Add(TempStore.Sample(s_t0), new KmsgCursor("boot", 1));
        using (SqliteConnection raw = _temp.Raw())
        {
            // The cursor write fails after the incident row went in: the whole Add must roll back.
            TempStore.Scalar(raw, "CREATE TRIGGER fail_cursor BEFORE UPDATE ON state BEGIN SELECT RAISE(ABORT, 'injected cursor failure'); END");
        }

        Action add = () => store.Add(TempStore.Sample(s_t0.AddSeconds(1)), new KmsgCursor("boot", 2));

        add.Should().Throw<SqliteException>().WithMessage("*injected cursor failure*");
        store.Count().Should().Be(1);
        store.LoadCursor().Should().Be(new KmsgCursor("boot", 1));
    }

    [Fact]
    public void A_reopened_store_has_its_incidents_and_cursor_and_never_reuses_an_id()
    {
        long last;
        using (IncidentStore store = IncidentStore.Open(_temp.Path))
        {
            store.Add(TempStore.Sample(s_t0));
            last = store.Add(TempStore.Sample(s_t0.AddDays(1)), new KmsgCursor("boot", 77));
        }

        using (IncidentStore reopened = IncidentStore.Open(_temp.Path))
        {
            reopened.Count().Should().Be(2);
            reopened.Get(last)!.CreatedUtc.Should().Be(s_t0.AddDays(1));
            reopened.LoadCursor().Should().Be(new KmsgCursor("boot", 77));

            // Retention removes the newest too when the size limit says so; its id must not come back.
            reopened.ApplyRetention(TimeSpan.MaxValue, 0, TimeProvider.System).Remaining.Should().Be(0);
            reopened.Add(TempStore.Sample(s_t0)).Should().BeGreaterThan(last);
        }
    }

    [Fact]
    public void OpenExisting_does_not_create_a_store()
    {
        IncidentStore.OpenExisting(_temp.Path).Should().BeNull();
        File.Exists(_temp.Path).Should().BeFalse();

        IncidentStore.Open(_temp.Path).Dispose();
        using IncidentStore? existing = IncidentStore.OpenExisting(_temp.Path);
        existing.Should().NotBeNull();
    }

    [Fact]
    public void A_second_store_on_the_same_file_sees_what_the_first_commits()
    {
        using IncidentStore agent = IncidentStore.Open(_temp.Path);
        using IncidentStore cli = IncidentStore.Open(_temp.Path);

        long id = agent.Add(TempStore.Sample(s_t0));

        cli.Get(id).Should().NotBeNull();
    }

    [Fact]
    public void Retention_by_age_deletes_what_is_older_than_now_minus_max_age()
    {
        var clock = new ManualTimeProvider(s_t0);
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        store.Add(TempStore.Sample(s_t0.AddDays(-10)));
        store.Add(TempStore.Sample(s_t0.AddDays(-5)));
        long kept1 = store.Add(TempStore.Sample(s_t0.AddDays(-3)));
        long kept2 = store.Add(TempStore.Sample(s_t0.AddHours(-1)));

        RetentionResult result = store.ApplyRetention(TimeSpan.FromDays(3), long.MaxValue, clock);

        result.DeletedByAge.Should().Be(2);
        result.DeletedBySize.Should().Be(0);
        result.Remaining.Should().Be(2);
        store.List().Select(i => i.Id).Should().BeEquivalentTo([kept1, kept2], "exactly 3 days old is kept");

        clock.Advance(TimeSpan.FromDays(2));
        store.ApplyRetention(TimeSpan.FromDays(3), long.MaxValue, clock).DeletedByAge.Should().Be(1);
        store.List().Select(i => i.Id).Should().Equal(kept2);
    }

    [Fact]
    public void Retention_by_size_deletes_the_oldest_until_database_and_wal_fit()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        var added = new List<(long Id, DateTimeOffset Created)>();
        string bundle = JsonSerializer.Serialize(new { window = new string('x', 16 * 1024) });
        for (int i = 0; i < 40; i++)
        {
            // Created out of id order on purpose, with ties: "oldest" is by creation time, then by id.
            DateTimeOffset created = s_t0.AddMinutes(i % 2 == 0 ? i : i - 3);
            added.Add((store.Add(TempStore.Sample(created, bundle: bundle)), created));
        }

        long limit = 200 * 1024;
        long before = BytesOnDisk();
        before.Should().BeGreaterThan(limit * 2);

        RetentionResult result = store.ApplyRetention(TimeSpan.MaxValue, limit, TimeProvider.System);

        BytesOnDisk().Should().BeLessThanOrEqualTo(limit);
        result.BytesAfter.Should().Be(BytesOnDisk());
        result.BytesBefore.Should().Be(before);
        result.DeletedByAge.Should().Be(0);
        result.Remaining.Should().BeInRange(5, 12, "a 16 KiB incident takes about 5 pages of 4 KiB, the schema a few");
        result.DeletedBySize.Should().Be(40 - (int)result.Remaining);
        long[] newestFirst = [.. added.OrderByDescending(a => a.Created).ThenByDescending(a => a.Id).Select(a => a.Id)];
        store.List().Select(i => i.Id).Should().Equal(newestFirst.Take((int)result.Remaining), "the oldest went first");

        using SqliteConnection raw = _temp.Raw();
        TempStore.Scalar(raw, "PRAGMA integrity_check").Should().Be("ok");
        TempStore.Scalar(raw, "PRAGMA freelist_count").Should().Be(0L, "freed pages went back to the file system");
    }

    [Fact]
    public void Retention_to_zero_bytes_empties_the_store_and_stops()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        store.Add(TempStore.Sample(s_t0));
        store.Add(TempStore.Sample(s_t0));

        RetentionResult result = store.ApplyRetention(TimeSpan.MaxValue, 0, TimeProvider.System);

        result.DeletedBySize.Should().Be(2);
        result.Remaining.Should().Be(0);
        store.Add(TempStore.Sample(s_t0)).Should().BeGreaterThan(0, "the store still works");
    }

    private long BytesOnDisk() =>
        new FileInfo(_temp.Path).Length + (File.Exists(_temp.Path + "-wal") ? new FileInfo(_temp.Path + "-wal").Length : 0);

    [Fact]
    public void A_file_that_is_not_sqlite_is_a_one_line_error_and_is_left_alone()
    {
        File.WriteAllText(_temp.Path, "this is a kernel log, not a database\n");
        File.SetUnixFileMode(_temp.Path, (UnixFileMode)0b110_100_100);

        Action open = () => IncidentStore.Open(_temp.Path);

        open.Should().Throw<IncidentStoreException>()
            .Which.Message.Should().Be($"{_temp.Path} is not a SQLite database; move it away, or pass --store with another path");
        File.ReadAllText(_temp.Path).Should().Be("this is a kernel log, not a database\n");
        File.GetUnixFileMode(_temp.Path).Should().Be((UnixFileMode)0b110_100_100);
    }

    [Fact]
    public void A_file_with_the_sqlite_magic_but_garbage_after_it_is_not_a_database_either()
    {
        byte[] bytes = new byte[4096];
        "SQLite format 3\0"u8.CopyTo(bytes);
        new Random(7).NextBytes(bytes.AsSpan(16));
        File.WriteAllBytes(_temp.Path, bytes);

        Action open = () => IncidentStore.Open(_temp.Path);

        open.Should().Throw<IncidentStoreException>().Which.Message.Should().StartWith(_temp.Path).And.NotContain("\n");
    }

    [Fact]
    public void Another_programs_sqlite_database_is_refused()
    {
        using (SqliteConnection raw = _temp.Raw())
        {
            TempStore.Scalar(raw, "CREATE TABLE photos (id INTEGER PRIMARY KEY)");
        }

        Action open = () => IncidentStore.Open(_temp.Path);

        open.Should().Throw<IncidentStoreException>().WithMessage("*is a SQLite database but not a ResetScope incident store*");
    }

    [Fact]
    public void A_store_from_a_newer_resetscope_is_refused()
    {
        IncidentStore.Open(_temp.Path).Dispose();
        using (SqliteConnection raw = _temp.Raw())
        {
            TempStore.Scalar(raw, "INSERT INTO schema_version VALUES (99, '2030-01-01T00:00:00Z')");
        }

        Action open = () => IncidentStore.Open(_temp.Path);

        open.Should().Throw<IncidentStoreException>()
            .Which.Message.Should().Be($"{_temp.Path} has store schema version 99, newer than this resetscope understands ({IncidentStore.SchemaVersion}); upgrade resetscope, or pass --store with another path");
    }

    [Fact]
    public void A_directory_where_nothing_can_be_created_is_a_one_line_error()
    {
        // Root ignores directory modes, so a path under sysfs (where even root cannot create files) stands in.
        string path = "/sys/resetscope-test/" + IncidentStore.FileName;

        Action open = () => IncidentStore.Open(path);

        open.Should().Throw<IncidentStoreException>()
            .Which.Message.Should().StartWith($"cannot create the incident store {path}: ").And.EndWith("; run as root, or pass --store with a path in a writable directory").And.NotContain("\n");

        if (!Environment.IsPrivilegedProcess)
        {
            string readOnly = Path.Combine(_temp.Directory, "ro");
            Directory.CreateDirectory(readOnly);
            File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            Action openReadOnly = () => IncidentStore.Open(Path.Combine(readOnly, IncidentStore.FileName));
            openReadOnly.Should().Throw<IncidentStoreException>().WithMessage("*permission denied*");
            File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Fact]
    public void A_directory_given_as_the_store_is_a_one_line_error()
    {
        Action open = () => IncidentStore.Open(_temp.Directory);

        open.Should().Throw<IncidentStoreException>().WithMessage($"{_temp.Directory} is a directory*");
    }

    [Fact]
    public void The_export_is_the_incident_fields_and_the_bundle_verbatim()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        string bundle = """{"event":{"kind":"reset","dev":"eth0"},   "odd spacing kept":[1,2.50,"ü"],"window":{"before":[{"t":-1}],"after":[]}}""";
        long id = store.Add(TempStore.Sample(s_t0, bundle: bundle));
        using var output = new MemoryStream();

        store.WriteExport(id, output);

        string text = Encoding.UTF8.GetString(output.ToArray());
        text.Should().Contain(bundle, "the bundle is written byte for byte as stored");
        text.Should().EndWith("}\n");
        using JsonDocument export = JsonDocument.Parse(text);
        JsonElement root = export.RootElement;
        root.GetProperty("format").GetString().Should().Be("resetscope-incident");
        root.GetProperty("format_version").GetInt32().Should().Be(IncidentStore.ExportFormatVersion);
        JsonElement incident = root.GetProperty("incident");
        incident.GetProperty("id").GetInt64().Should().Be(id);
        incident.GetProperty("created_utc").GetString().Should().Be("2026-07-14T10:10:22Z");
        incident.GetProperty("kind").GetString().Should().Be("reset");
        incident.GetProperty("driver").GetString().Should().Be("ena");
        incident.GetProperty("dev").GetString().Should().Be("eth0");
        incident.GetProperty("reason").GetString().Should().Be("netdev-watchdog");
        incident.GetProperty("ena_reason").GetString().Should().Be("SUSPECTED_POLL_STARVATION");
        incident.GetProperty("summary").GetString().Should().Be(TempStore.Sample(s_t0).Summary);
        root.GetProperty("bundle").GetRawText().Should().Be(bundle);
    }

    [Fact]
    public void Exporting_an_unknown_id_writes_nothing()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        using var output = new MemoryStream();

        Action export = () => store.WriteExport(42, output);

        export.Should().Throw<IncidentStoreException>().Which.Message.Should().Be($"no incident 42 in {_temp.Path}; 'resetscope incidents list' shows the stored ids");
        output.Length.Should().Be(0);
    }

    [Fact]
    public void The_default_path_is_var_lib_for_root_and_xdg_data_home_otherwise()
    {
        var env = new Dictionary<string, string?> { ["HOME"] = "/home/ops" };

        IncidentStore.DefaultPath(privileged: true, n => env.GetValueOrDefault(n)).Should().Be("/var/lib/resetscope/incidents.db");
        IncidentStore.DefaultPath(privileged: false, n => env.GetValueOrDefault(n)).Should().Be("/home/ops/.local/share/resetscope/incidents.db");
        env["XDG_DATA_HOME"] = "/data/ops";
        IncidentStore.DefaultPath(privileged: false, n => env.GetValueOrDefault(n)).Should().Be("/data/ops/resetscope/incidents.db");
        env["XDG_DATA_HOME"] = "relative/ignored";
        IncidentStore.DefaultPath(privileged: false, n => env.GetValueOrDefault(n)).Should().Be("/home/ops/.local/share/resetscope/incidents.db");
    }
}
