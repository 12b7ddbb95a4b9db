using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ResetScope.Agent.Store;
using ResetScope.Cli.Rendering;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ResetScope.Cli.Commands;

/// <summary>
/// <c>resetscope incidents list|show|export|check</c>: the incidents the agent stored. Read-only towards incidents
/// (opening a store may still narrow its file modes or bring its schema up to date).
/// </summary>
public static class IncidentsCommand
{
    /// <summary>node-problem-detector's custom plugin protocol: 0 OK, 1 problem, 2 unknown.</summary>
    private const int CheckOk = 0;
    private const int CheckProblem = 1;
    private const int CheckUnknown = 2;

    public static Command Create(IConsole console, TimeProvider time)
    {
        var store = new Option<string>("--store")
        {
            Description = $"the incident store (default: {IncidentStore.SystemPath} as root, else $XDG_DATA_HOME or ~/.local/share/resetscope/{IncidentStore.FileName})",
            DefaultValueFactory = _ => IncidentStore.DefaultPath(),
            Recursive = true,
        };
        var incidents = new Command("incidents", "The incidents `resetscope agent` stored: list them, show one, export one for a ticket, or check for node-problem-detector.")
        {
            store, List(console, time, store), Show(console, store), Export(console, store), Check(console, time, store),
        };
        return incidents;
    }

    private static Command List(IConsole console, TimeProvider time, Option<string> store)
    {
        var since = new Option<string?>("--since") { Description = "only incidents this recent (e.g. 1h, 30m, 7d) or since a UTC time (e.g. 2026-07-14T10:00Z)" };
        var limit = new Option<int>("--limit") { Description = "at most this many, newest first", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "JSON lines: one object per incident" };
        var list = new Command("list", "List stored incidents, newest first.") { since, limit, json };
        list.SetAction(parse =>
        {
            string path = parse.GetValue(store)!;
            DateTimeOffset? from = parse.GetValue(since) is string s ? ParseSince(s, time) : null;
            int max = parse.GetValue(limit);
            if (max <= 0)
            {
                throw new UserFacingException($"--limit: {max} is not a positive number");
            }

            using IncidentStore? opened = OpenExisting(path);
            if (opened is null)
            {
                (parse.GetValue(json) ? console.Error : console.Out).WriteLine($"no incidents stored yet at {path} (the agent writes them)");
                return ExitCodes.Ok;
            }

            IReadOnlyList<IncidentSummary> found = StoreCall(() => opened.List(from, max));
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines(console.Out);
                foreach (IncidentSummary i in found)
                {
                    lines.Write(w => WriteSummaryJson(w, i, bundle: null));
                }
            }
            else
            {
                long total = StoreCall(() => opened.Count(from));
                WriteListTable(console, found, total, parse.GetValue(since));
            }

            console.Out.Flush();
            return ExitCodes.Ok;
        });
        return list;
    }

    private static Command Show(IConsole console, Option<string> store)
    {
        var id = new Argument<long>("ID") { Description = "the incident's id, as `incidents list` shows it" };
        var json = new Option<bool>("--json") { Description = "one JSON line: the incident's fields and its bundle" };
        var show = new Command("show", "Show one incident: its fields and the bundle the agent recorded (event, recorder window, host facts, findings).") { id, json };
        show.SetAction(parse =>
        {
            Incident incident = Get(parse.GetValue(store)!, parse.GetValue(id));
            if (parse.GetValue(json))
            {
                using var lines = new JsonLines(console.Out);
                lines.Write(w => WriteSummaryJson(w, Summarize(incident), incident.BundleJson));
            }
            else
            {
                WriteShow(console, incident);
            }

            console.Out.Flush();
            return ExitCodes.Ok;
        });
        return show;
    }

    private static Command Export(IConsole console, Option<string> store)
    {
        var id = new Argument<long>("ID") { Description = "the incident's id, as `incidents list` shows it" };
        var output = new Option<string?>("--output", "-o") { Description = "write to this file (mode 0600) instead of stdout" };
        var export = new Command("export", "Write one incident as a self-contained JSON bundle to attach to a ticket (see docs/incidents.md).") { id, output };
        export.SetAction(parse =>
        {
            string path = parse.GetValue(store)!;
            long incidentId = parse.GetValue(id);
            using IncidentStore opened = OpenExisting(path) ?? throw new UserFacingException(NoStore(path));

            // Whole in memory first, so an unknown id or a store error leaves no half-written file behind.
            using var buffer = new MemoryStream();
            StoreCall(() =>
            {
                opened.WriteExport(incidentId, buffer);
                return 0;
            });
            if (parse.GetValue(output) is string file)
            {
                WriteFile(file, buffer);
            }
            else
            {
                console.Out.Write(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
                console.Out.Flush();
            }

            return ExitCodes.Ok;
        });
        return export;
    }

    private static Command Check(IConsole console, TimeProvider time, Option<string> store)
    {
        var within = new Option<string>("--within") { Description = "how far back a reset counts (e.g. 10m, 1h)", DefaultValueFactory = _ => "10m" };
        var check = new Command(
            "check",
            "node-problem-detector custom plugin: exit 0 when no NIC reset was stored within --within, 1 (naming the latest) when one was, 2 when the store cannot be read.")
        {
            within,
        };
        check.SetAction(parse =>
        {
            string text = parse.GetValue(within)!;
            if (!TryParseDuration(text, out TimeSpan window))
            {
                throw new UserFacingException($"--within: '{text}' is not a duration such as 10m, 1h or 1d");
            }

            // NPD shows stdout (it keeps the first 80 characters by default), so stdout stays short; the reason goes to stderr.
            string path = parse.GetValue(store)!;
            IncidentStore? opened;
            IReadOnlyList<IncidentSummary> resets;
            long count;
            DateTimeOffset now = time.GetUtcNow();
            try
            {
                opened = IncidentStore.OpenExisting(path);
                if (opened is null)
                {
                    console.Out.WriteLine("unknown: no incident store (is the resetscope agent running?)");
                    console.Error.WriteLine($"resetscope: {NoStore(path)}");
                    return CheckUnknown;
                }

                using (opened)
                {
                    resets = opened.List(now - window, 1, IncidentKind.Reset);
                    count = resets.Count == 0 ? 0 : opened.Count(now - window, IncidentKind.Reset);
                }
            }
            catch (IncidentStoreException e)
            {
                console.Out.WriteLine("unknown: incident store unreadable");
                console.Error.WriteLine($"resetscope: {e.Message}");
                return CheckUnknown;
            }

            if (resets.Count == 0)
            {
                console.Out.WriteLine($"no NIC reset in the last {text}");
                return CheckOk;
            }

            IncidentSummary latest = resets[0];
            string what = string.Join(", ", new[] { latest.Driver, latest.EnaReason ?? latest.Reason }.Where(s => !string.IsNullOrEmpty(s)));
            string more = count > 1 ? string.Create(CultureInfo.InvariantCulture, $" ({count} in {text})") : "";
            console.Out.WriteLine($"NIC reset on {latest.Dev ?? "?"}{(what.Length > 0 ? $" ({what})" : "")} {Ago(now - latest.CreatedUtc)} ago: incident {latest.Id}{more}");
            return CheckProblem;
        });
        return check;
    }

    private static IncidentStore? OpenExisting(string path) => StoreCall(() => IncidentStore.OpenExisting(path));

    private static Incident Get(string path, long id)
    {
        using IncidentStore opened = OpenExisting(path) ?? throw new UserFacingException(NoStore(path));
        return StoreCall(() => opened.Get(id)) ?? throw new UserFacingException(opened.UnknownIncident(id).Message);
    }

    private static string NoStore(string path) => $"no incident store at {path}; the agent creates it, or pass --store with the agent's store";

    /// <summary>The store's user errors are this CLI's exit 2 (one line on stderr).</summary>
    private static T StoreCall<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (IncidentStoreException e)
        {
            throw new UserFacingException(e.Message);
        }
    }

    private static void WriteFile(string file, MemoryStream content)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                // The bundle holds what the store holds (command lines, cgroup names): same owner-only mode.
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var stream = new FileStream(file, options);
            stream.Write(content.GetBuffer(), 0, (int)content.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string reason = e is UnauthorizedAccessException ? "permission denied" : e.Message.ReplaceLineEndings(" ");
            throw new UserFacingException($"cannot write {file}: {reason}; pass -o with a writable path, or leave it out for stdout");
        }
    }

    private static void WriteListTable(IConsole console, IReadOnlyList<IncidentSummary> found, long total, string? since)
    {
        IAnsiConsole ansi = Terminal.For(console, out bool terminal);
        string scope = since is null ? "" : $" since {since}";
        if (found.Count == 0)
        {
            ansi.WriteLine($"No incidents{scope}.");
            return;
        }

        var table = new Table { Border = terminal ? TableBorder.Rounded : TableBorder.Ascii };
        foreach (string h in new[] { "ID", "CREATED (UTC)", "KIND", "DRIVER", "DEV", "REASON", "ENA REASON", "SUMMARY" })
        {
            table.AddColumn(new TableColumn(h).NoWrap());
        }

        foreach (IncidentSummary i in found)
        {
            table.AddRow(Cells(
                i.Id.ToString(CultureInfo.InvariantCulture),
                HumanTime(i.CreatedUtc),
                i.Kind.ToJsonName(),
                i.Driver,
                i.Dev,
                i.Reason,
                i.EnaReason,
                i.Summary));
        }

        ansi.Write(table);
        string shown = found.Count < total ? $"{found.Count} of {total} incidents{scope} shown (--limit)" : $"{total} incident{(total == 1 ? "" : "s")}{scope}";
        ansi.WriteLine($"{shown}; 'resetscope incidents show ID' for one.");
    }

    private static void WriteShow(IConsole console, Incident i)
    {
        IAnsiConsole ansi = Terminal.For(console, out bool terminal);
        var table = new Table { Border = terminal ? TableBorder.Rounded : TableBorder.Ascii, ShowHeaders = false };
        table.AddColumn(new TableColumn("field").NoWrap());
        table.AddColumn(new TableColumn("value"));
        table.AddRow(Cells("incident", i.Id.ToString(CultureInfo.InvariantCulture)));
        table.AddRow(Cells("created (UTC)", HumanTime(i.CreatedUtc)));
        table.AddRow(Cells("kind", i.Kind.ToJsonName()));
        table.AddRow(Cells("driver", i.Driver));
        table.AddRow(Cells("dev", i.Dev));
        table.AddRow(Cells("reason", i.Reason));
        table.AddRow(Cells("ena_reason", i.EnaReason));
        table.AddRow(Cells("summary", i.Summary));
        ansi.Write(table);

        // The bundle's shape belongs to the agent that wrote it; shown as indented JSON rather than guessed at.
        ansi.WriteLine("bundle:");
        using JsonDocument bundle = JsonDocument.Parse(i.BundleJson);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            bundle.WriteTo(w);
        }

        console.Out.Flush();
        console.Out.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        console.Out.WriteLine($"Export it for a ticket with 'resetscope incidents export {i.Id} -o incident-{i.Id}.json'.");
    }

    private static IRenderable[] Cells(params string?[] values) =>
        [.. values.Select(v => (IRenderable)new Text(v is null ? "-" : OneLine(v)))];

    /// <summary>Control characters (a summary can hold anything) would break the table's lines.</summary>
    private static string OneLine(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        return string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c));
    }

    private static IncidentSummary Summarize(Incident i) =>
        new(i.Id, i.CreatedUtc, i.Kind, i.Driver, i.Dev, i.Reason, i.EnaReason, i.Summary, Encoding.UTF8.GetByteCount(i.BundleJson));

    /// <summary>One incident as a JSON line: <c>"kind":"incident"</c> like every other line type, the incident's own kind in <c>"incident"</c>.</summary>
    private static void WriteSummaryJson(Utf8JsonWriter w, IncidentSummary i, string? bundle)
    {
        w.WriteStartObject();
        w.WriteString("kind", "incident");
        w.WriteNumber("id", i.Id);
        w.WriteString("incident", i.Kind.ToJsonName());
        w.WriteString("created_utc", IncidentStore.FormatJsonTime(i.CreatedUtc));
        w.WriteString("driver", i.Driver);
        w.WriteString("dev", i.Dev);
        w.WriteString("reason", i.Reason);
        w.WriteString("ena_reason", i.EnaReason);
        w.WriteString("summary", i.Summary);
        w.WriteNumber("bundle_bytes", i.BundleBytes);
        if (bundle is not null)
        {
            // Re-emitted compact, so the line stays one line whatever whitespace the stored bundle has.
            using JsonDocument document = JsonDocument.Parse(bundle);
            w.WritePropertyName("bundle");
            document.WriteTo(w);
        }

        w.WriteEndObject();
    }

    private static string HumanTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Ago(TimeSpan span) => span switch
    {
        { TotalSeconds: < 0 } => "0s",
        { TotalMinutes: < 1 } => $"{(int)span.TotalSeconds}s",
        { TotalHours: < 1 } => $"{(int)span.TotalMinutes}m",
        { TotalDays: < 1 } => $"{(int)span.TotalHours}h{span.Minutes:00}m",
        _ => $"{(int)span.TotalDays}d",
    };

    private static DateTimeOffset ParseSince(string text, TimeProvider time)
    {
        if (TryParseDuration(text, out TimeSpan back))
        {
            return time.GetUtcNow() - back;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset at))
        {
            return at;
        }

        throw new UserFacingException($"--since: '{text}' is neither a duration (such as 1h, 30m, 7d) nor a time (such as 2026-07-14T10:00Z)");
    }

    /// <summary>A number and a unit (s, m, h, d, w), repeated: <c>90s</c>, <c>10m</c>, <c>1h30m</c>, <c>7d</c>.</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        ReadOnlySpan<char> rest = text.AsSpan().Trim();
        if (rest.IsEmpty)
        {
            return false;
        }

        while (!rest.IsEmpty)
        {
            int digits = 0;
            while (digits < rest.Length && (char.IsAsciiDigit(rest[digits]) || rest[digits] == '.'))
            {
                digits++;
            }

            if (digits == 0 || digits == rest.Length
                || !double.TryParse(rest[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
            {
                return false;
            }

            double seconds = rest[digits] switch
            {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                'w' => 7 * 86400,
                _ => double.NaN,
            };
            if (double.IsNaN(seconds) || value * seconds > TimeSpan.FromDays(365 * 100).TotalSeconds)
            {
                return false;
            }

            duration += TimeSpan.FromSeconds(value * seconds);
            rest = rest[(digits + 1)..];
        }

        return true;
    }
}
