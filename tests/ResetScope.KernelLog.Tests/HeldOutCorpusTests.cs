using ResetScope.Testing;
using System.Numerics;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>
/// The held-out corpus (real kernel-log excerpts from public bug reports, corpus/kernel-logs/INDEX.md): each file
/// scanned exactly as <c>resetscope scan --json</c> prints it, scored with check.py's rules (<see cref="HoldoutScorer"/>),
/// and the real check.py over all files. Every expected reset found with every scored field exact, nothing invented.
/// </summary>
public class HeldOutCorpusTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string f in Corpus.LogFiles)
        {
            data.Add(f);
        }

        return data;
    }

    /// <summary>What <c>resetscope scan --json PATHS</c> prints (ScanRunner.Run with the CLI's defaults).</summary>
    private static (int Code, string Stdout, string Stderr) ScanJson(IReadOnlyList<string> paths)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = ScanRunner.Run(paths, new ScanOptions { Output = ScanOutput.Json }, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void The_vendored_corpus_has_every_file_that_expected_json_scores()
    {
        var expected = HoldoutScorer.ReadExpected(File.ReadAllText(Corpus.ExpectedJson)).Select(e => e.File).ToList();

        Corpus.LogFiles.Should().NotBeEmpty().And.Equal(expected.Order(StringComparer.Ordinal), "every .log file is scored and every scored file is there");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_expected_reset_is_found_with_exact_fields_and_nothing_is_invented(string file)
    {
        string path = Path.Combine(Corpus.Dir, file);
        (int code, string stdout, string stderr) = ScanJson([path]);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        HoldoutScorer.Report report = HoldoutScorer.Score(File.ReadAllText(Corpus.ExpectedJson), lines);
        HoldoutScorer.FileScore s = report.Files.Single(f => f.File == file);

        var problems = new List<string>();
        if (code != 0 || stderr.Length > 0)
        {
            problems.Add($"scan exited {code}, stderr: {stderr.TrimEnd()}");
        }

        if (report.BadLines > 0)
        {
            problems.Add($"{report.BadLines} output line(s) are not JSON objects");
        }

        problems.AddRange(s.Missing.Select(e => "missing:  expected " + Describe(e) + " — no found reset has this reason" +
            (HoldoutScorer.NormStr(e.Get("dev")) is null ? string.Empty : " and dev") + (e.Get("queue") is null ? string.Empty : " and queue")));
        problems.AddRange(s.FalsePositives.Distinct().Select(ev => "extra:    found " + Describe(ev) + Times(s.FalsePositives.Count(x => ReferenceEquals(x, ev)))));
        problems.AddRange(s.Mismatches.Select(m => $"field:    expected ts {Repr(m.ExpectedTs)}: {m.Field} expected {Repr(m.Expected)}, found {Repr(m.Found)}"));
        problems.AddRange(s.MissingStarvation.Select(k => $"starvation missing: {k ?? "null"} (found: [{string.Join(", ", s.FoundStarvation.Select(x => x ?? "null"))}])"));
        problems.AddRange(report.Extra.Where(x => x.Resets > 0).Select(x => $"extra:    {x.Resets} reset(s) attributed to a file not in expected.json: {x.File}"));

        if (problems.Count > 0)
        {
            var msg = new StringBuilder();
            msg.Append(file).Append(": expected ").Append(s.ExpectedResets.Count).Append(" reset(s), found ").Append(s.FoundResets.Count)
                .Append(", matched ").Append(s.Matched.Count).Append(", false positives ").Append(s.FalsePositives.Count)
                .Append(", fields ").Append(s.FieldsCorrect).Append('/').Append(s.FieldsScored)
                .Append("; starvation expected ").Append(s.ExpectedStarvation.Count).Append(", found ").Append(s.FoundStarvation.Count)
                .Append(", matched ").Append(s.StarvationMatched).Append('\n');
            foreach (string p in problems)
            {
                msg.Append("  ").Append(p).Append('\n');
            }

            msg.Append("scan --json reset lines:\n");
            foreach (string l in lines.Where(l => l.StartsWith("{\"kind\":\"reset\"", StringComparison.Ordinal)))
            {
                msg.Append("  ").Append(l.Replace(path, file, StringComparison.Ordinal)).Append('\n');
            }

            msg.Append("  ").Append(Summary(lines)).Append('\n');
            Assert.Fail(msg.ToString());
        }
    }

    [Python3Fact]
    public void Check_py_over_all_files_reports_every_reset_matched_no_false_positive_and_every_field_right()
    {
        (int resets, int starvation) = ExpectedTotals();
        string output = RunCheckPy(out _);

        string? holdout = output.Split('\n').LastOrDefault(l => l.StartsWith("holdout:", StringComparison.Ordinal));

        holdout.Should().Be(HoldoutScorer.HoldoutLine(resets, resets, 0, starvation, starvation, 100.0), "check.py said:\n{0}", output);
    }

    [Python3Fact]
    public void The_csharp_port_scores_exactly_as_check_py_does()
    {
        string output = RunCheckPy(out string[] jsonLines);
        HoldoutScorer.Report port = HoldoutScorer.Score(File.ReadAllText(Corpus.ExpectedJson), jsonLines);

        string[] python = [.. output.Split('\n').Where(l => l.StartsWith("total:", StringComparison.Ordinal) || l.StartsWith("per field:", StringComparison.Ordinal) || l.StartsWith("holdout:", StringComparison.Ordinal))];

        python.Should().Equal(HoldoutScorer.SummaryLines(port), "the port follows check.py rule for rule; check.py said:\n{0}", output);
    }

    [Python3Fact]
    public void The_csharp_port_scores_every_rule_edge_case_exactly_as_check_py_does()
    {
        string[] synthetic = EdgeCaseOutput();
        string output = RunCheckPy(synthetic);
        HoldoutScorer.Report port = HoldoutScorer.Score(File.ReadAllText(Corpus.ExpectedJson), synthetic);

        string[] all = output.Split('\n');
        string[] table = [.. all.TakeWhile(l => l.Length > 0)];
        string[] python = [.. all.Where(l => l.StartsWith("total:", StringComparison.Ordinal) || l.StartsWith("per field:", StringComparison.Ordinal) || l.StartsWith("warning:", StringComparison.Ordinal) || l.StartsWith("holdout:", StringComparison.Ordinal))];
        string[] expectedSummary = [.. HoldoutScorer.SummaryLines(port).Take(4), HoldoutScorer.WarningLine(port)!, HoldoutScorer.SummaryLines(port)[4]];

        table.Should().Equal(HoldoutScorer.TableLines(port), "check.py said:\n{0}", output);
        python.Should().Equal(expectedSummary, "check.py said:\n{0}", output);
        port.Files.Sum(f => f.Mismatches.Count).Should().Be(all.Count(l => l.StartsWith("  0", StringComparison.Ordinal)), "one mismatch line per field difference");
    }

    /// <summary>
    /// Found-event lines that exercise every rule of check.py, made from expected.json itself: exact copies, aliases
    /// and light normalisation (case, "-"/"_", missing PCI domain, "v" prefix, outcome synonyms, numeric and hex strings,
    /// yes/no), wrong values, missing and doubled events, repeats on either side, paths and names without ".log",
    /// starvation kinds in all accepted spellings, files not in expected.json, and lines that are not JSON objects.
    /// </summary>
    private static string[] EdgeCaseOutput()
    {
        var lines = new List<string> { "not json", "[1, 2]", "   ", "{\"kind\":\"summary\"}", "{\"kind\":\"precursor\",\"file\":\"001-ena-syslog-missing-tx-then-keepalive-1.5.0K.log\"}" };
        int n = 0;
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Corpus.ExpectedJson));
        foreach (JsonProperty file in doc.RootElement.EnumerateObject())
        {
            foreach (JsonElement e in file.Value.GetProperty("resets").EnumerateArray())
            {
                var o = new Dictionary<string, object?> { ["kind"] = (n % 4) switch { 0 => "reset", 1 => "RESET", 2 => "nic_reset", _ => " Nic Reset " } };
                foreach (JsonProperty p in e.EnumerateObject())
                {
                    o[p.Name] = Plain(p.Value);
                }

                o["file"] = (n % 3) switch { 0 => file.Name, 1 => "/var/log/x/" + file.Name, _ => file.Name[..^4] };
                switch (n++ % 9)
                {
                    case 0:
                        break;
                    case 1:
                        Rename(o, "driver", "drv");
                        Rename(o, "napi_scheduled", "napi_sched");
                        Rename(o, "driver_version", "drv_version");
                        Rename(o, "since_napi_usec", "since_napi");
                        break;
                    case 2:
                        o["driver"] = o["driver"] is string d ? " " + d.ToUpperInvariant().Replace('_', '-') + " " : null;
                        o["pci"] = o["pci"] is string pci ? pci["0000:".Length..].ToUpperInvariant() : "none";
                        o["outcome"] = o["outcome"] switch { "unknown" => "Not_In Excerpt", "completed" => "success", "failed" => "ERROR", var x => x };
                        o["driver_version"] = o["driver_version"] is string v ? "V" + v : "null";
                        break;
                    case 3:
                        o["queue"] = o["queue"] is long q ? (n % 2 == 0 ? $" {q} " : $"0x{q:x}") : "";
                        o["threshold_usec"] = o["threshold_usec"] is long t ? (double)t : null;
                        o["napi_scheduled"] = o["napi_scheduled"] is bool b ? (b ? "Yes" : "0") : "None";
                        o["reason"] = o["reason"] is string r ? r.ToUpperInvariant().Replace('-', '_') : null;
                        break;
                    case 4:
                        o["driver"] = "not-the-driver";
                        o["since_napi_usec"] = 1.5;
                        o["napi_scheduled"] = "maybe";
                        break;
                    case 5:
                        continue; // missing
                    case 6:
                        o["repeats"] = 2; // one event for two firings: one of them is a false positive
                        break;
                    case 7:
                        lines.Add(JsonSerializer.Serialize(o));
                        o["dev"] = "other0"; // a second event on another device: a false positive unless dev is null
                        o["queue"] = "1_000";
                        break;
                    default:
                        o["reason"] = o["reason"] is "netdev-watchdog" ? "netdev_watchdog_timeout" : "keepalive-timeout";
                        o["dev"] = o["dev"] is string dev ? $" {dev} " : "null";
                        break;
                }

                lines.Add(JsonSerializer.Serialize(o));
            }

            int k = 0;
            foreach (JsonElement st in file.Value.GetProperty("starvation").EnumerateArray())
            {
                string kind = st.GetProperty("kind").GetString()!;
                string? spelled = (k++ % 5) switch { 0 => kind, 1 => kind.Replace("-", string.Empty), 2 => kind.ToUpperInvariant().Replace('-', '_'), 3 => null, _ => "rcu" };
                lines.Add(spelled is null
                    ? JsonSerializer.Serialize(new { kind = "cpu-starvation", file = file.Name, reason = kind })
                    : (k % 2 == 0 ? JsonSerializer.Serialize(new { kind = spelled, file = file.Name }) : JsonSerializer.Serialize(new { kind = "starvation", file = file.Name, type = spelled })));
            }
        }

        lines.Add(JsonSerializer.Serialize(new { kind = "reset", file = "/tmp/unknown-file.log", reason = "other", repeats = 3 }));
        lines.Add(JsonSerializer.Serialize(new { kind = "soft-lockup", file = "unknown-file.log" }));
        return [.. lines];

        static object? Plain(JsonElement v) => v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetInt64(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };

        static void Rename(Dictionary<string, object?> o, string from, string to)
        {
            o[to] = o[from];
            o.Remove(from);
        }
    }

    [Fact]
    public void The_output_directory_copy_is_the_checkout_copy()
    {
        string? source = Corpus.SourceDir;
        source.Should().NotBeNull("the tests run from a build inside the checkout");

        CompareDirectories(source!, Corpus.Dir).Should().BeEmpty();
    }

    [SharedCorpusFact]
    public void The_vendored_copy_is_byte_identical_to_the_shared_corpus()
    {
        CompareDirectories(Corpus.SharedDir!, Corpus.SourceDir!).Should().BeEmpty("a changed shared corpus must be vendored again (see corpus/kernel-logs/README.md)");
    }

    /// <summary>Differences between the corpus files of two folders: missing, extra, or not byte-identical.</summary>
    private static List<string> CompareDirectories(string original, string copy)
    {
        static SortedSet<string> Names(string dir) => new(Directory.EnumerateFiles(dir).Select(p => Path.GetFileName(p)!).Where(Corpus.IsCorpusFile), StringComparer.Ordinal);
        SortedSet<string> a = Names(original);
        SortedSet<string> b = Names(copy);
        var diffs = new List<string>();
        diffs.AddRange(a.Except(b).Select(n => $"{n}: in {original}, not in {copy}"));
        diffs.AddRange(b.Except(a).Select(n => $"{n}: in {copy}, not in {original}"));
        foreach (string n in a.Intersect(b))
        {
            byte[] x = File.ReadAllBytes(Path.Combine(original, n));
            byte[] y = File.ReadAllBytes(Path.Combine(copy, n));
            if (!x.AsSpan().SequenceEqual(y))
            {
                int at = 0;
                while (at < Math.Min(x.Length, y.Length) && x[at] == y[at])
                {
                    at++;
                }

                diffs.Add($"{n}: differs at byte {at} ({x.Length} vs {y.Length} bytes)");
            }
        }

        return diffs;
    }

    private static (int Resets, int Starvation) ExpectedTotals()
    {
        HoldoutScorer.Report empty = HoldoutScorer.Score(File.ReadAllText(Corpus.ExpectedJson), []);
        return (empty.Files.Sum(f => f.ExpectedResets.Count), empty.Files.Sum(f => f.ExpectedStarvation.Count));
    }

    /// <summary>scan --json over every corpus log file at once (as <c>resetscope scan --json *.log</c>), scored by the real check.py.</summary>
    private static string RunCheckPy(out string[] jsonLines)
    {
        (int code, string stdout, string stderr) = ScanJson([.. Corpus.LogFiles.Select(f => Path.Combine(Corpus.Dir, f))]);
        code.Should().Be(0, stderr);
        jsonLines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return RunCheckPy(jsonLines);
    }

    /// <summary>The real check.py over these output lines.</summary>
    private static string RunCheckPy(IEnumerable<string> jsonLines)
    {
        string stdout = string.Join("\n", jsonLines) + "\n";
        string tmp = Path.Combine(Path.GetTempPath(), $"resetscope-holdout-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
        try
        {
            File.WriteAllText(tmp, stdout);
            (int pyCode, string pyOut, string pyErr) = ExternalTool.RunText("python3", Corpus.CheckPy, Corpus.ExpectedJson, tmp);
            pyCode.Should().Be(0, pyErr);
            pyOut.Should().NotContain("error:", "check.py must have read both inputs");
            return pyOut;
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    private static string Describe(HoldoutScorer.Obj e) =>
        $"ts {Repr(e.Get("ts"))} reason {Repr(e.Get("reason"))} dev {Repr(e.Get("dev"))} queue {Repr(e.Get("queue"))}" +
        (e.Get("line") is { } line ? $" (line {Repr(line)})" : string.Empty) +
        (e.Get("repeats") is BigInteger n && n > 1 ? $" repeats {n}" : string.Empty);

    private static string Times(int n) => n > 1 ? $" (counts {n} times: repeats)" : string.Empty;

    private static string Repr(object? v) => v switch
    {
        null => "null",
        string s => "'" + s + "'",
        bool b => b ? "true" : "false",
        _ => HoldoutScorer.PyStr(v),
    };

    private static string Summary(string[] lines)
    {
        string? summary = lines.LastOrDefault(l => l.StartsWith("{\"kind\":\"summary\"", StringComparison.Ordinal));
        if (summary is null)
        {
            return "(no summary line)";
        }

        HoldoutScorer.Obj? o = HoldoutScorer.ParseLine(summary);
        return o is null ? summary : $"summary: resets {Repr(o.Get("resets"))}, precursors {Repr(o.Get("precursors"))}, starvation {Repr(o.Get("starvation"))}, unusable_lines {Repr(o.Get("unusable_lines"))}";
    }
}
