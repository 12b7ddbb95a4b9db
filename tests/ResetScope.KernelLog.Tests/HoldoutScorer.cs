using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace ResetScope.KernelLog.Tests;

/// <summary>
/// A faithful C# port of corpus/kernel-logs/check.py's scoring: per file, greedy in input order; an expected reset
/// takes the first unused found reset with the same reason, the same dev when the expected dev is non-null and the
/// same queue when the expected queue is non-null; <c>repeats: N</c> counts as N resets on either side; field
/// accuracy over <see cref="Fields"/> with check.py's light normalisation; starvation matched by type. Values are
/// kept as Python would see them (null, string, integer, float, bool) so that the comparisons agree with check.py's,
/// and <see cref="SummaryLines"/> prints check.py's closing lines (a test holds the two to the same text).
/// </summary>
internal static class HoldoutScorer
{
    public static readonly string[] Fields = ["driver", "pci", "queue", "threshold_usec", "since_napi_usec", "napi_scheduled", "outcome", "driver_version"];

    private static readonly Dictionary<string, string[]> s_aliases = new()
    {
        ["driver"] = ["drv"],
        ["napi_scheduled"] = ["napi_sched"],
        ["driver_version"] = ["drv_version"],
        ["since_napi_usec"] = ["since_napi"],
    };

    private static readonly string[] s_starvTypes = ["soft-lockup", "rcu-stall", "hung-task"];

    /// <summary>One JSON object as check.py holds it: key → Python value (null, string, BigInteger, double, bool, or raw JSON text for lists/objects).</summary>
    public sealed class Obj(Dictionary<string, object?> values, string raw)
    {
        public Dictionary<string, object?> Values { get; } = values;

        /// <summary>The JSON text it was read from (for failure messages).</summary>
        public string Raw { get; } = raw;

        /// <summary>Python's <c>d.get(k)</c>.</summary>
        public object? Get(string key) => Values.TryGetValue(key, out object? v) ? v : null;

        public bool Has(string key) => Values.ContainsKey(key);
    }

    public sealed record FieldMismatch(string File, object? ExpectedTs, string Field, object? Expected, object? Found);

    /// <summary>The score of one file, with what was left over on each side (the greedy match's leftovers).</summary>
    public sealed record FileScore
    {
        public required string File { get; init; }
        public required IReadOnlyList<Obj> ExpectedResets { get; init; }
        public required IReadOnlyList<Obj> FoundResets { get; init; }
        public required IReadOnlyList<(Obj Expected, Obj Found)> Matched { get; init; }
        public required IReadOnlyList<Obj> Missing { get; init; }
        public required IReadOnlyList<Obj> FalsePositives { get; init; }
        public required IReadOnlyList<FieldMismatch> Mismatches { get; init; }
        public required int FieldsCorrect { get; init; }
        public required int FieldsScored { get; init; }
        public required IReadOnlyList<string?> ExpectedStarvation { get; init; }
        public required IReadOnlyList<string?> FoundStarvation { get; init; }
        public required IReadOnlyList<string?> MissingStarvation { get; init; }
        public int StarvationMatched => ExpectedStarvation.Count - MissingStarvation.Count;
    }

    public sealed record Report
    {
        public required IReadOnlyList<FileScore> Files { get; init; }

        /// <summary>Found events of files that are not in expected.json: (file, resets, starvation), all resets false positives.</summary>
        public required IReadOnlyList<(string File, int Resets, int Starvation)> Extra { get; init; }

        public required int BadLines { get; init; }
        public required int UnknownKind { get; init; }
        public required IReadOnlyDictionary<string, (int Correct, int Scored)> PerField { get; init; }
    }

    /// <summary>check.py's expected.json, in file order.</summary>
    public static List<(string File, Obj? Entry)> ReadExpected(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        var list = new List<(string, Obj?)>();
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            list.Add((p.Name, p.Value.ValueKind == JsonValueKind.Object ? ToObj(p.Value) : null));
        }

        return list;
    }

    /// <summary>Parses one output line as check.py does: stripped, blank lines skipped; null when it is not a JSON object (a "bad line").</summary>
    public static Obj? ParseLine(string raw)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(raw);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? ToObj(doc.RootElement) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static Report Score(string expectedJson, IEnumerable<string> outputLines)
    {
        List<(string File, Obj? Entry)> expected = ReadExpected(expectedJson);
        var known = expected.Select(e => e.File).ToList();
        var knownSet = new HashSet<string>(known, StringComparer.Ordinal);
        var foundR = new Dictionary<string, List<Obj>>(StringComparer.Ordinal);
        var foundS = new Dictionary<string, List<string?>>(StringComparer.Ordinal);
        var order = new List<string>();
        int bad = 0;
        int unknownKind = 0;
        foreach (string line in outputLines)
        {
            string raw = PyStrip(line);
            if (raw.Length == 0)
            {
                continue;
            }

            Obj? ev = ParseLine(raw);
            if (ev is null)
            {
                bad++;
                continue;
            }

            string f = ResolveFile(ev.Get("file"), knownSet) ?? "None";
            (string? cls, string? st) = Classify(ev);
            if (cls == "reset")
            {
                object? n = ToInt(ev.Get("repeats"));
                int times = n is BigInteger b ? (int)BigInteger.Max(1, BigInteger.Min(b, 1_000_000)) : 1;
                Add(foundR, f, order).AddRange(Enumerable.Repeat(ev, times));
            }
            else if (cls == "starvation")
            {
                Add(foundS, f, order).Add(st);
            }
            else
            {
                unknownKind++;
            }
        }

        var perField = Fields.ToDictionary(k => k, _ => (0, 0));
        var files = new List<FileScore>();
        foreach ((string fname, Obj? entry) in expected)
        {
            var expR = new List<Obj>();
            foreach (Obj e in ObjList(entry?.Get("resets")))
            {
                object? n = ToInt(e.Get("repeats"));
                int times = n is BigInteger b ? (int)BigInteger.Max(1, BigInteger.Min(b, 1_000_000)) : 1;
                expR.AddRange(Enumerable.Repeat(e, times));
            }

            List<Obj> expS = ObjList(entry?.Get("starvation"));
            List<Obj> fr = foundR.GetValueOrDefault(fname) ?? [];
            List<string?> fs = foundS.GetValueOrDefault(fname) ?? [];
            bool[] used = new bool[fr.Count];
            var matched = new List<(Obj, Obj)>();
            var missing = new List<Obj>();
            var mismatches = new List<FieldMismatch>();
            int fc = 0;
            int fn = 0;
            foreach (Obj e in expR)
            {
                string? eReason = NormReason(e.Get("reason"));
                string? eDev = NormStr(e.Get("dev"));
                object? eQ = ToInt(e.Get("queue"));
                bool found = false;
                for (int i = 0; i < fr.Count; i++)
                {
                    Obj ev = fr[i];
                    if (used[i] || NormReason(Get(ev, "reason")) != eReason)
                    {
                        continue;
                    }

                    if (eDev is not null && NormStr(Get(ev, "dev")) != eDev)
                    {
                        continue;
                    }

                    if (eQ is not null && !PyEquals(ToInt(Get(ev, "queue")), eQ))
                    {
                        continue;
                    }

                    used[i] = true;
                    found = true;
                    matched.Add((e, ev));
                    foreach (string k in Fields)
                    {
                        bool ok = PyEquals(NormField(k, e.Get(k)), NormField(k, Get(ev, k)));
                        fn++;
                        (int c, int s) = perField[k];
                        perField[k] = (c + (ok ? 1 : 0), s + 1);
                        if (ok)
                        {
                            fc++;
                        }
                        else
                        {
                            mismatches.Add(new FieldMismatch(fname, e.Get("ts"), k, e.Get(k), Get(ev, k)));
                        }
                    }

                    break;
                }

                if (!found)
                {
                    missing.Add(e);
                }
            }

            bool[] sUsed = new bool[fs.Count];
            var sMissing = new List<string?>();
            var expKinds = new List<string?>();
            foreach (Obj e in expS)
            {
                string? kind = NormStarv(e.Get("kind"));
                expKinds.Add(kind);
                int at = -1;
                for (int i = 0; i < fs.Count; i++)
                {
                    if (!sUsed[i] && fs[i] == kind)
                    {
                        at = i;
                        break;
                    }
                }

                if (at >= 0)
                {
                    sUsed[at] = true;
                }
                else
                {
                    sMissing.Add(kind);
                }
            }

            files.Add(new FileScore
            {
                File = fname,
                ExpectedResets = expR,
                FoundResets = fr,
                Matched = matched,
                Missing = missing,
                FalsePositives = [.. fr.Where((_, i) => !used[i])],
                Mismatches = mismatches,
                FieldsCorrect = fc,
                FieldsScored = fn,
                ExpectedStarvation = expKinds,
                FoundStarvation = fs,
                MissingStarvation = sMissing,
            });
        }

        var extra = order.Where(f => !knownSet.Contains(f)).Distinct().OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => (f, foundR.GetValueOrDefault(f)?.Count ?? 0, foundS.GetValueOrDefault(f)?.Count ?? 0)).ToList();
        return new Report { Files = files, Extra = extra, BadLines = bad, UnknownKind = unknownKind, PerField = perField };
    }

    /// <summary>check.py's closing lines: the three "total:" lines, "per field:" and "holdout:".</summary>
    public static IReadOnlyList<string> SummaryLines(Report r)
    {
        int re = r.Files.Sum(f => f.ExpectedResets.Count);
        int rf = r.Files.Sum(f => f.FoundResets.Count) + r.Extra.Sum(x => x.Resets);
        int rm = r.Files.Sum(f => f.Matched.Count);
        int fp = r.Files.Sum(f => f.FalsePositives.Count) + r.Extra.Sum(x => x.Resets);
        int se = r.Files.Sum(f => f.ExpectedStarvation.Count);
        int sf = r.Files.Sum(f => f.FoundStarvation.Count) + r.Extra.Sum(x => x.Starvation);
        int sm = r.Files.Sum(f => f.StarvationMatched);
        int fc = r.Files.Sum(f => f.FieldsCorrect);
        int fn = r.Files.Sum(f => f.FieldsScored);
        return
        [
            I($"total: resets expected {re}, found {rf}, matched {rm}, false positives {fp}"),
            I($"total: starvation expected {se}, found {sf}, matched {sm}"),
            I($"total: field accuracy over matched resets {fc}/{fn} = {Pct(fc, fn):F1}%"),
            "per field: " + string.Join(", ", Fields.Select(k => I($"{k} {r.PerField[k].Correct}/{r.PerField[k].Scored}"))),
            HoldoutLine(rm, re, fp, sm, se, Pct(fc, fn)),
        ];
    }

    /// <summary>check.py's warning line, or null when it prints none.</summary>
    public static string? WarningLine(Report r) => r.BadLines > 0 || r.UnknownKind > 0
        ? I($"warning: {r.BadLines} unparsable line(s), {r.UnknownKind} event(s) with kind not reset/starvation (ignored)")
        : null;

    /// <summary>check.py's table: the header and one row per expected file, then a line per file not in expected.json.</summary>
    public static IReadOnlyList<string> TableLines(Report r)
    {
        int width = r.Files.Count > 0 ? r.Files.Max(f => f.File.Length) : 10;
        var lines = new List<string> { "file".PadRight(width) + "  resets exp/found/match   FP  field accuracy     starvation exp/found/match" };
        foreach (FileScore f in r.Files)
        {
            string fa = f.FieldsScored > 0 ? I($"{Pct(f.FieldsCorrect, f.FieldsScored),5:F1}%") : "   n/a";
            lines.Add(I($"{f.File.PadRight(width)}         {f.ExpectedResets.Count,3}/{f.FoundResets.Count,3}/{f.Matched.Count,3}  {f.FalsePositives.Count,3}  {fa} {I($"({f.FieldsCorrect}/{f.FieldsScored})"),-9}  {f.ExpectedStarvation.Count,3}/{f.FoundStarvation.Count,3}/{f.StarvationMatched,3}"));
        }

        foreach ((string file, int resets, int starvation) in r.Extra)
        {
            lines.Add(I($"{file.PadRight(width)}  (not in expected.json) resets found {resets} (all false positives), starvation found {starvation}"));
        }

        return lines;
    }

    public static string HoldoutLine(int matched, int expected, int falsePositives, int starvMatched, int starvExpected, double fieldPct) =>
        I($"holdout: {matched}/{expected} resets matched, {falsePositives} false positives, {starvMatched}/{starvExpected} starvation matched, field accuracy {fieldPct:F1}%");

    public static double Pct(int a, int b) => b == 0 ? 0.0 : 100.0 * a / b;

    private static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static List<T> Add<T>(Dictionary<string, List<T>> d, string key, List<string> order)
    {
        if (!d.TryGetValue(key, out List<T>? list))
        {
            d[key] = list = [];
        }

        order.Add(key);
        return list;
    }

    private static List<Obj> ObjList(object? v) => v is List<object?> list ? [.. list.OfType<Obj>()] : [];

    // ---------------- check.py's helpers, one for one ----------------

    /// <summary>Python's <c>str(v)</c> for the values JSON can hold.</summary>
    public static string PyStr(object? v) => v switch
    {
        null => "None",
        string s => s,
        bool b => b ? "True" : "False",
        BigInteger i => i.ToString(CultureInfo.InvariantCulture),
        double d => PyFloat(d),
        RawJson j => j.Text,
        _ => v.ToString() ?? string.Empty,
    };

    private static string PyFloat(double d)
    {
        if (double.IsNaN(d))
        {
            return "nan";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "inf" : "-inf";
        }

        string r = d.ToString("R", CultureInfo.InvariantCulture);
        if (r.Contains('E', StringComparison.Ordinal))
        {
            // Python: 1e+16, 1.5e-07
            string[] parts = r.Split('E');
            string exp = parts[1];
            string sign = exp.StartsWith('-') ? "-" : "+";
            string digits = exp.TrimStart('+', '-').PadLeft(2, '0');
            return parts[0] + "e" + sign + digits;
        }

        return r.Contains('.', StringComparison.Ordinal) ? r : r + ".0";
    }

    /// <summary>Python's <c>str.strip()</c> (whitespace as str.isspace sees it, near enough).</summary>
    public static string PyStrip(string s) => s.Trim();

    private static string NormToken(object? v) => PyStrip(PyStr(v)).ToLowerInvariant().Replace('_', '-').Replace(' ', '-');

    public static string? NormReason(object? v)
    {
        if (v is null)
        {
            return null;
        }

        string s = NormToken(v);
        return s switch
        {
            "unresponsive-device/admin-timeout" or "admin-timeout" => "unresponsive-device",
            "keepalive-timeout" => "keep-alive-timeout",
            "netdev-watchdog-timeout" => "netdev-watchdog",
            _ => s,
        };
    }

    public static string? NormStarv(object? v)
    {
        if (v is null)
        {
            return null;
        }

        string s = NormToken(v);
        return s switch
        {
            "softlockup" or "soft-lock-up" => "soft-lockup",
            "rcu" or "rcu-stall-detected" or "rcu-sched-stall" or "rcu-preempt-stall" => "rcu-stall",
            "hungtask" or "hung" or "blocked-task" => "hung-task",
            _ => s,
        };
    }

    /// <summary>check.py's <c>to_int</c>: null, an integer, a non-integral float, or the text when it is not a number.</summary>
    public static object? ToInt(object? v)
    {
        switch (v)
        {
            case null:
                return null;
            case bool b:
                return b ? BigInteger.One : BigInteger.Zero;
            case BigInteger:
                return v;
            case double d:
                return double.IsFinite(d) && d == Math.Floor(d) ? new BigInteger(d) : d;
            default:
                break;
        }

        string s = PyStrip(PyStr(v));
        if (s.Length == 0 || s.Equals("none", StringComparison.OrdinalIgnoreCase) || s.Equals("null", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return PyInt(s, hex: s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) is { } i ? i : PyStr(v);
    }

    /// <summary>Python's <c>int(s)</c> (or <c>int(s, 0)</c> for "0x..." text): sign, digits, single underscores between digits.</summary>
    private static BigInteger? PyInt(string s, bool hex)
    {
        int i = 0;
        bool negative = false;
        if (!hex && i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            negative = s[i] == '-';
            i++;
        }

        if (hex)
        {
            i = 2;
            if (i < s.Length && s[i] == '_')
            {
                i++; // int("0x_1f", 0) is allowed
            }
        }

        BigInteger value = BigInteger.Zero;
        int digits = 0;
        bool lastUnderscore = false;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '_')
            {
                if (digits == 0 || lastUnderscore)
                {
                    return null;
                }

                lastUnderscore = true;
                continue;
            }

            int d = hex ? HexDigit(c) : (c is >= '0' and <= '9' ? c - '0' : -1);
            if (d < 0)
            {
                return null;
            }

            value = (value * (hex ? 16 : 10)) + d;
            digits++;
            lastUnderscore = false;
        }

        if (digits == 0 || lastUnderscore)
        {
            return null;
        }

        return negative ? -value : value;

        static int HexDigit(char c) => c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
    }

    public static object? ToBool(object? v)
    {
        switch (v)
        {
            case null:
            case bool:
                return v;
            case BigInteger i:
                return !i.IsZero;
            case double d:
                return d != 0;
            default:
                break;
        }

        string s = PyStrip(PyStr(v)).ToLowerInvariant();
        return s switch
        {
            "true" or "yes" or "1" or "y" => true,
            "false" or "no" or "0" or "n" => false,
            "" or "none" or "null" => null,
            _ => s,
        };
    }

    public static string? NormStr(object? v)
    {
        if (v is null)
        {
            return null;
        }

        string s = PyStrip(PyStr(v));
        return s.Length == 0 || s.Equals("none", StringComparison.OrdinalIgnoreCase) || s.Equals("null", StringComparison.OrdinalIgnoreCase) ? null : s;
    }

    public static object? NormField(string name, object? v)
    {
        if (name is "queue" or "threshold_usec" or "since_napi_usec")
        {
            return ToInt(v);
        }

        if (name == "napi_scheduled")
        {
            return ToBool(v);
        }

        string? s = NormStr(v);
        if (s is null)
        {
            return null;
        }

        switch (name)
        {
            case "driver":
                return s.ToLowerInvariant().Replace('-', '_');
            case "pci":
                s = s.ToLowerInvariant();
                return s.Count(c => c == ':') == 1 ? "0000:" + s : s;
            case "outcome":
                s = NormToken(s);
                return s switch
                {
                    "not-in-excerpt" or "n/a" => "unknown",
                    "success" or "succeeded" or "complete" or "ok" => "completed",
                    "fail" or "failure" or "error" => "failed",
                    _ => s,
                };
            case "driver_version":
                s = s.ToLowerInvariant();
                return s.Length > 1 && s[0] == 'v' && char.IsDigit(s[1]) ? s[1..] : s;
            default:
                return s;
        }
    }

    /// <summary>check.py's <c>get</c>: the key when present (even if null), else its first present alias.</summary>
    public static object? Get(Obj ev, string name)
    {
        if (ev.Has(name))
        {
            return ev.Get(name);
        }

        foreach (string a in s_aliases.GetValueOrDefault(name) ?? [])
        {
            if (ev.Has(a))
            {
                return ev.Get(a);
            }
        }

        return null;
    }

    public static string? ResolveFile(object? name, HashSet<string> known)
    {
        if (name is null)
        {
            return null;
        }

        string trimmed = PyStrip(PyStr(name));
        string b = trimmed.EndsWith('/') ? string.Empty : trimmed[(trimmed.LastIndexOf('/') + 1)..];
        if (known.Contains(b))
        {
            return b;
        }

        return known.Contains(b + ".log") ? b + ".log" : b;
    }

    /// <summary>check.py's <c>classify</c>: ("reset" | "starvation" | null, starvation type).</summary>
    public static (string? Class, string? Starvation) Classify(Obj ev)
    {
        object? k = ev.Get("kind");
        string ks = k is not null ? NormToken(k) : string.Empty;
        if (ks is "reset" or "nic-reset")
        {
            return ("reset", null);
        }

        if (ks is "starvation" or "cpu-starvation")
        {
            foreach (string key in (string[])["starvation_kind", "subkind", "sub_kind", "type", "starvation_type", "reason"])
            {
                if (ev.Get(key) is not null)
                {
                    return ("starvation", NormStarv(ev.Get(key)));
                }
            }

            return ("starvation", null);
        }

        string? st = k is not null ? NormStarv(k) : null;
        return st is not null && s_starvTypes.Contains(st) ? ("starvation", st) : (null, null);
    }

    /// <summary>Python's <c>==</c> between the normalised values (1 == 1.0 == True; text only equals text).</summary>
    public static bool PyEquals(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (Number(a) is { } x && Number(b) is { } y)
        {
            return x.Big is { } bx && y.Big is { } by ? bx == by : x.Value == y.Value;
        }

        return a is string sa && b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);

        static (BigInteger? Big, double Value)? Number(object o) => o switch
        {
            bool b => (b ? BigInteger.One : BigInteger.Zero, b ? 1 : 0),
            BigInteger i => (i, (double)i),
            double d => (null, d),
            _ => null,
        };
    }

    /// <summary>A list or object nested in a value that check.py only ever passes through <c>str()</c>.</summary>
    public sealed record RawJson(string Text);

    private static Obj ToObj(JsonElement e)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (JsonProperty p in e.EnumerateObject())
        {
            d[p.Name] = ToValue(p.Value); // a repeated key: the last wins, as in json.loads
        }

        return new Obj(d, e.GetRawText());
    }

    private static object? ToValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => IsIntegerLiteral(e.GetRawText()) ? BigInteger.Parse(e.GetRawText(), CultureInfo.InvariantCulture) : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Object ? ToObj(x) : ToValue(x)).ToList(),
        JsonValueKind.Object => ToObj(e),
        _ => new RawJson(e.GetRawText()),
    };

    private static bool IsIntegerLiteral(string text) => text.All(c => c is '-' or (>= '0' and <= '9'));
}
