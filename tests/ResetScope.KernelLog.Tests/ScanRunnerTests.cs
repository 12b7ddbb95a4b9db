using System.IO.Compression;
using System.Text;
using FluentAssertions;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>The API the CLI's <c>scan</c> verb calls: inputs, outputs, errors and exit codes.</summary>
public sealed class ScanRunnerTests : IDisposable
{
    private const string Pinterest =
        "Jul 14 10:10:17 ip-10-0-1-5 kernel: ena 0000:20:03.0 eth0: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1\n" +
        "Jul 14 10:10:17 ip-10-0-1-5 kernel: ena 0000:20:03.0 eth0: napi handler hasn't been called for a long time but is scheduled\n" +
        "Jul 14 10:10:22 ip-10-0-1-5 kernel: ena 0000:20:03.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g\n";

    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-scan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Out, string Err) Run(IReadOnlyList<string> paths, ScanOptions options, Stream? stdin = null)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ScanRunner.Run(paths, options, o, e, stdin);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Json_output_is_one_event_object_per_line_then_a_summary_exactly_as_the_architecture_shows()
    {
        string path = Write("kern.log", Pinterest);

        (int code, string stdout, string stderr) = Run([path], new ScanOptions { Output = ScanOutput.Json, ReferenceYear = 2026 });

        code.Should().Be(0);
        stderr.Should().BeEmpty();
        string[] lines = stdout.TrimEnd('\n').Split('\n');
        lines.Should().HaveCount(2);
        lines[0].Should().Be("{\"kind\":\"reset\",\"file\":\"" + path + "\",\"line\":3,\"ts\":\"Jul 14 10:10:22\",\"time\":\"2026-07-14T10:10:22Z\",\"host\":\"ip-10-0-1-5\",\"driver\":\"ena\",\"pci\":\"0000:20:03.0\",\"dev\":\"eth0\",\"queue\":5,\"reason\":\"netdev-watchdog\",\"ena_reason\":\"SUSPECTED_POLL_STARVATION\",\"threshold_usec\":5000000,\"since_napi_usec\":6596000,\"napi_scheduled\":true,\"napi_cpu\":null,\"outcome\":\"completed\",\"driver_version\":\"2.11.0g\",\"repeats\":1,\"last_ts\":null,\"stalled_ms\":null,\"lines\":[1,2,3]}");
        lines[1].Should().StartWith("{\"kind\":\"summary\",\"files\":1,\"unreadable\":0,\"errors\":0,\"bytes\":" + Encoding.UTF8.GetByteCount(Pinterest) + ",\"lines\":3,");
        lines[1].Should().Contain("\"resets\":1,\"precursors\":0,\"starvation\":0,");
        lines[1].Should().Contain("\"groups\":[{\"key\":{\"host\":\"ip-10-0-1-5\",\"dev\":\"eth0\"},\"count\":1,\"first\":\"2026-07-14T10:10:22Z\",\"last\":\"2026-07-14T10:10:22Z\",\"min_interval_s\":null,\"median_interval_s\":null,\"bursts\":0,\"max_burst\":1,\"periodic\":false,\"period_s\":null,\"completed\":1,\"failed\":0,\"unknown\":0}]}");
    }

    [Fact]
    public void Starvation_and_precursor_objects_come_in_line_order_before_the_reset_that_closes_later()
    {
        string path = Write("k.log",
            "[ 90.000000] watchdog: BUG: soft lockup - CPU#39 stuck for 22s! [kubelet:1234]\n" +
            "[ 95.000000] ena 0000:00:05.0 eth0: TX hasn't completed, qid 2, index 9. 5001 msecs since last interrupt, 5001 msecs since last napi execution, napi scheduled: 1\n" +
            "[ 96.000000] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n");

        (_, string stdout, _) = Run([path], new ScanOptions { Output = ScanOutput.Json });

        string[] lines = stdout.TrimEnd('\n').Split('\n');
        lines[0].Should().Be("{\"kind\":\"starvation\",\"file\":\"" + path + "\",\"line\":1,\"ts\":\"90.000000\",\"type\":\"soft-lockup\",\"cpu\":39,\"comm\":\"kubelet\",\"pid\":1234,\"duration_s\":22}");
        lines[1].Should().Be("{\"kind\":\"precursor\",\"file\":\"" + path + "\",\"line\":2,\"ts\":\"95.000000\",\"driver\":\"ena\",\"dev\":\"eth0\",\"queue\":2,\"text\":\"ena 0000:00:05.0 eth0: TX hasn't completed, qid 2, index 9. 5001 msecs since last interrupt, 5001 msecs since last napi execution, napi scheduled: 1\"}");
        lines[2].Should().StartWith("{\"kind\":\"reset\",");
        lines[3].Should().StartWith("{\"kind\":\"summary\",");
    }

    [Fact]
    public void Finding_resets_is_success_and_an_unreadable_input_gets_one_line_while_the_others_go_on()
    {
        string good = Write("good.log", Pinterest);
        string missing = Path.Combine(_dir, "missing.log");

        (int code, string stdout, string stderr) = Run([missing, good], new ScanOptions { Output = ScanOutput.Json });

        code.Should().Be(0);
        stderr.Should().Be($"resetscope scan: cannot read {missing}: no such file or directory; check the path\n");
        stdout.Split('\n').Count(l => l.StartsWith("{\"kind\":\"reset\"", StringComparison.Ordinal)).Should().Be(1);
    }

    [Fact]
    public void Exit_code_is_2_when_no_input_was_readable()
    {
        (int code, _, string stderr) = Run([Path.Combine(_dir, "nope.log")], new ScanOptions());

        code.Should().Be(2);
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle();
    }

    [Fact]
    public void A_truncated_gzip_among_good_files_is_one_error_line_and_exit_0()
    {
        byte[] gz;
        using (var ms = new MemoryStream())
        {
            using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            {
                var rnd = new Random(3);
                byte[] text = Encoding.UTF8.GetBytes(Pinterest + string.Concat(Enumerable.Range(0, 5000).Select(i => $"[ 9.{i:D6}] audit: noise {rnd.Next()}\n")));
                z.Write(text);
            }

            gz = ms.ToArray();
        }

        string cut = Path.Combine(_dir, "old.log.gz");
        File.WriteAllBytes(cut, gz[..(gz.Length * 2 / 3)]);
        string good = Write("kern.log", Pinterest);

        (int code, _, string stderr) = Run([cut, good], new ScanOptions { Output = ScanOutput.Csv });

        code.Should().Be(0);
        string[] errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        errors.Should().ContainSingle().Which.Should().Contain(cut).And.Contain("truncated");
    }

    [Fact]
    public void Directories_are_scanned_recursively_in_path_order_including_gzip()
    {
        Write("a/kern.log", Pinterest);
        string gzPath = Path.Combine(_dir, "b", "sub", "kern.log.1.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(gzPath)!);
        File.WriteAllBytes(gzPath, Scan.Gzip(Pinterest));

        ScanReport report = ScanRunner.Scan([_dir], new ScanOptions(), TextWriter.Null)!;

        report.Files.Select(f => Path.GetRelativePath(_dir, f.File)).Should().Equal("a/kern.log", "b/sub/kern.log.1.gz");
        report.Resets.Should().HaveCount(2);
    }

    [Fact]
    public void Dash_reads_stdin()
    {
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(Pinterest));

        (int code, string stdout, _) = Run(["-"], new ScanOptions { Output = ScanOutput.Json }, stdin);

        code.Should().Be(0);
        stdout.Should().StartWith("{\"kind\":\"reset\",\"file\":\"-\",\"line\":3,");
    }

    [Fact]
    public void Csv_has_a_header_and_one_row_per_event()
    {
        string path = Write("kern.log", Pinterest);

        (_, string stdout, _) = Run([path], new ScanOptions { Output = ScanOutput.Csv });

        string[] rows = stdout.TrimEnd('\n').Split('\n');
        rows[0].Should().Be("kind,file,line,ts,time,host,driver,pci,dev,queue,reason,ena_reason,threshold_usec,since_napi_usec,napi_scheduled,napi_cpu,outcome,driver_version,repeats,last_ts,stalled_ms,lines,type,cpu,comm,pid,duration_s,text");
        rows.Should().HaveCount(2);
        rows[1].Should().StartWith($"reset,{path},3,Jul 14 10:10:22,");
        rows[1].Should().Contain(",ip-10-0-1-5,ena,0000:20:03.0,eth0,5,netdev-watchdog,SUSPECTED_POLL_STARVATION,5000000,6596000,true,,completed,2.11.0g,1,,,1 2 3,");
    }

    [Fact]
    public void Human_output_is_a_table_with_the_reset_and_the_cadence()
    {
        string path = Write("kern.log", Pinterest);

        (_, string stdout, _) = Run([path], new ScanOptions());

        stdout.Should().Contain("WHERE").And.Contain($"{path}:3").And.Contain("SUSPECTED_POLL_STARVATION").And.Contain("Cadence by host+dev:");
    }

    [Fact]
    public void A_manifest_maps_paths_to_hosts_and_adds_fleet_dimensions_for_grouping()
    {
        string a = Write("ip-a/dmesg.log", "[ 10.0] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n");
        string b = Write("logs-b/dmesg.log", "[ 10.0] ena 0000:00:05.0 eth0: Keep alive watchdog timeout.\n");
        string manifest = Write("fleet.csv", $"host,az,instance_type,ami,kernel,path\nip-a,us-east-1a,p4d.24xlarge,ami-1,5.4.0,\nip-b,us-east-1b,p4d.24xlarge,ami-1,5.4.0,{Path.Combine(_dir, "logs-b")}\n");

        ScanReport report = ScanRunner.Scan([a, b], new ScanOptions { ManifestPath = manifest, GroupBy = [GroupKey.Az] }, TextWriter.Null)!;

        report.Resets.Select(r => r.Event.Host).Should().Equal("ip-a", "ip-b");
        report.Groups.Select(g => g.KeyText).Should().Equal("az=us-east-1a", "az=us-east-1b");
    }

    [Fact]
    public void A_manifest_without_a_host_column_is_a_one_line_usage_error()
    {
        string manifest = Write("bad.csv", "name,az\nx,y\n");

        (int code, _, string stderr) = Run([Write("k.log", Pinterest)], new ScanOptions { ManifestPath = manifest });

        code.Should().Be(2);
        stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain("no 'host' column");
    }

    [Fact]
    public void Progress_is_reported_once_per_input()
    {
        string a = Write("1.log", Pinterest);
        string b = Write("2.log", Pinterest);
        var seen = new List<ScanProgress>();
        var progress = new SyncProgress(seen);

        ScanRunner.Scan([a, b], new ScanOptions { Progress = progress, Parallelism = 1 }, TextWriter.Null);

        seen.Select(p => p.FilesDone).Should().Equal(1, 2);
        seen[^1].BytesDone.Should().Be(seen[^1].BytesTotal);
    }

    [Theory]
    [InlineData("dmesg", LogFormat.Dmesg)]
    [InlineData("dmesg-T", LogFormat.DmesgT)]
    [InlineData("short-monotonic", LogFormat.Syslog)]
    [InlineData("json", LogFormat.JournalJson)]
    [InlineData("kmsg", LogFormat.Kmsg)]
    public void Format_names_parse(string name, LogFormat expected)
    {
        LogFormatNames.TryParse(name, out LogFormat f).Should().BeTrue();
        f.Should().Be(expected);
    }

    [Fact]
    public void Unknown_format_and_group_names_are_rejected()
    {
        LogFormatNames.TryParse("xml", out _).Should().BeFalse();
        Cadence.TryParseGroupBy("host,colour", out _).Should().BeFalse();
    }

    private sealed class SyncProgress(List<ScanProgress> into) : IProgress<ScanProgress>
    {
        public void Report(ScanProgress value) => into.Add(value);
    }
}

public sealed class ParallelScanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-par-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Many_files_scanned_in_parallel_give_the_same_output_as_one_at_a_time()
    {
        for (int i = 0; i < 40; i++)
        {
            string text = string.Concat(Enumerable.Range(0, 200).Select(n => $"[ {n}.000000] audit: noise {i} {n}\n"))
                + $"[ 300.000000] ena 0000:00:05.0 eth{i % 3}: Keep alive watchdog timeout.\n[ 300.100000] ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g\n";
            File.WriteAllText(Path.Combine(_dir, $"host{i:D2}.log"), text);
        }

        var one = new StringWriter();
        var all = new StringWriter();
        ScanRunner.Run([_dir], new ScanOptions { Output = ScanOutput.Json, Parallelism = 1 }, one, TextWriter.Null);
        ScanRunner.Run([_dir], new ScanOptions { Output = ScanOutput.Json, Parallelism = 8 }, all, TextWriter.Null);

        all.ToString().Should().Be(one.ToString());
        one.ToString().Split('\n').Count(l => l.StartsWith("{\"kind\":\"reset\"", StringComparison.Ordinal)).Should().Be(40);
    }
}
