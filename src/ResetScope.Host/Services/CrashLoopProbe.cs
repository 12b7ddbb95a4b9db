using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ResetScope.Host.Services;

/// <summary>
/// One unit's restart loop as seen in "Scheduled restart job, restart counter is at N." lines.
/// <paramref name="Restarts"/> counts restarts between the first and the last line (counter increments; after a counter
/// reset — the unit was started by hand or systemd restarted — the new counter value; a repeated value is a duplicate line
/// and adds nothing); <paramref name="RestartsPerHour"/> is that over the time between the first and last timestamped line.
/// </summary>
public sealed record UnitRestartLoop(
    string Unit,
    int MaxCounter,
    int Lines,
    DateTimeOffset? First,
    DateTimeOffset? Last,
    long Restarts,
    double? RestartsPerHour,
    int CounterResets);

/// <summary>Restart loops found in one log source, and what could not be read.</summary>
public sealed record CrashLoopReport(string? Source, IReadOnlyList<UnitRestartLoop> Units, IReadOnlyList<string> Problems);

/// <summary>systemd's NRestarts for a unit, or why it is unavailable.</summary>
public sealed record SystemdRestartCount(string Unit, long? NRestarts, string? Unavailable);

/// <summary>A container as the runtime lists it.</summary>
public sealed record ContainerEntry(string Id, string Image, string Name, string State, string Created, int? Attempt);

/// <summary>Containers from a runtime (docker or crictl), or why none could be listed.</summary>
public sealed record ContainerRestartReport(string? Runtime, IReadOnlyList<ContainerEntry> Containers, string? Unavailable)
{
    /// <summary>Containers per image, most first: a crash loop that makes a new container per restart shows as many containers of one image.</summary>
    public IReadOnlyList<(string Image, int Containers, int NotRunning)> PerImage => Containers
        .GroupBy(c => c.Image, StringComparer.Ordinal)
        .Select(g => (g.Key, g.Count(), g.Count(c => !c.State.Equals("running", StringComparison.OrdinalIgnoreCase) && !c.State.StartsWith("Up", StringComparison.Ordinal) && !c.State.Equals("CONTAINER_RUNNING", StringComparison.Ordinal))))
        .OrderByDescending(t => t.Item2)
        .ThenBy(t => t.Key, StringComparer.Ordinal)
        .ToList();
}

/// <summary>
/// Crash-looping services: systemd's restart lines in the journal or syslog, systemd NRestarts when systemd is PID 1,
/// container listings when docker or crictl is on PATH. Roots and PATH are injectable so tests can use fixtures.
/// </summary>
public sealed partial class CrashLoopProbe
{
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(10);

    private readonly string _procRoot;
    private readonly string _runRoot;
    private readonly string _logRoot;
    private readonly string? _path;

    public CrashLoopProbe(string procRoot = "/proc", string runRoot = "/run", string logRoot = "/var/log", string? pathVariable = null)
    {
        _procRoot = procRoot;
        _runRoot = runRoot;
        _logRoot = logRoot;
        _path = pathVariable ?? Environment.GetEnvironmentVariable("PATH");
    }

    /// <summary>The command name of PID 1 (from <c>&lt;procRoot&gt;/1/comm</c>), null when unreadable.</summary>
    public string? Pid1Comm => TryReadLine(Path.Combine(_procRoot, "1", "comm"));

    /// <summary>As sd_booted(): PID 1 is systemd and <c>&lt;runRoot&gt;/systemd/system</c> exists.</summary>
    public bool SystemdIsPid1 => Pid1Comm == "systemd" && Directory.Exists(Path.Combine(_runRoot, "systemd", "system"));

    /// <summary>
    /// Parses restart lines ("&lt;unit&gt;: Scheduled restart job, restart counter is at N.") from journal or syslog text.
    /// Timestamps understood at the start of a line: ISO 8601 (journalctl -o short-iso / short-iso-precise, RFC 3339 syslog),
    /// seconds since the epoch (-o short-unix), and BSD syslog "Mmm dd HH:mm:ss" (year <paramref name="syslogYear"/>, UTC
    /// unless <paramref name="syslogOffset"/>). Lines without a timestamp still count; rates then stay null.
    /// </summary>
    public static IReadOnlyList<UnitRestartLoop> ParseRestartLines(IEnumerable<string> lines, int syslogYear, TimeSpan? syslogOffset = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var perUnit = new Dictionary<string, Accumulator>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (string line in lines)
        {
            Match m = RestartLine().Match(line);
            if (!m.Success || !int.TryParse(m.Groups["n"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int counter))
            {
                continue;
            }

            string unit = m.Groups["unit"].Value;
            if (!perUnit.TryGetValue(unit, out Accumulator? acc))
            {
                acc = new Accumulator();
                perUnit[unit] = acc;
                order.Add(unit);
            }

            acc.Add(counter, ParseTimestamp(line.AsSpan(0, m.Index), syslogYear, syslogOffset ?? TimeSpan.Zero));
        }

        return order
            .Select(u => perUnit[u].ToLoop(u))
            .OrderByDescending(l => l.MaxCounter)
            .ThenBy(l => l.Unit, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Restart loops from the journal (<c>journalctl -o short-iso</c> for systemd's own messages, from <paramref name="since"/>
    /// when given) when it has entries, else from <c>syslog</c>/<c>messages</c> under the log root (whole file; rotated files
    /// are not read).
    /// </summary>
    public CrashLoopReport ReadRestartLoops(int? syslogYear = null, DateTimeOffset? since = null)
    {
        var problems = new List<string>();
        int year = syslogYear ?? DateTime.UtcNow.Year;
        if (FindOnPath("journalctl") is { } journalctl)
        {
            List<string> args = ["-o", "short-iso", "--no-pager", "-q"];
            if (since is { } t)
            {
                args.AddRange(["--since", t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC"]);
            }

            args.Add("SYSLOG_IDENTIFIER=systemd");
            CommandResult r = Run(journalctl, args);
            string[] lines = r.Stdout.Split('\n');
            if (r.ExitCode == 0 && lines.Any(l => l.Length > 0 && !l.StartsWith("-- ", StringComparison.Ordinal)))
            {
                return new CrashLoopReport("journalctl", ParseRestartLines(lines, year), problems);
            }

            problems.Add($"journalctl: {FirstLine(r.Stderr) ?? FirstLine(r.Stdout) ?? "no entries"}");
        }
        else
        {
            problems.Add("journalctl: not on PATH");
        }

        foreach (string name in new[] { "syslog", "messages" })
        {
            string path = Path.Combine(_logRoot, name);
            if (!File.Exists(path))
            {
                continue;
            }

            try
            {
                return new CrashLoopReport(path, ParseRestartLines(File.ReadLines(path), year), problems);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{path}: {e.Message}");
            }
        }

        problems.Add($"no syslog or messages file under {_logRoot}");
        return new CrashLoopReport(null, [], problems);
    }

    /// <summary>systemd's NRestarts for <paramref name="unit"/>; unavailable (with the reason) unless systemd is PID 1.</summary>
    public SystemdRestartCount NRestarts(string unit)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        if (!SystemdIsPid1)
        {
            return new SystemdRestartCount(unit, null, $"systemd is not PID 1 (PID 1 is {Pid1Comm ?? "unknown"}): NRestarts unavailable, use the journal or syslog restart lines");
        }

        if (FindOnPath("systemctl") is not { } systemctl)
        {
            return new SystemdRestartCount(unit, null, "systemctl: not on PATH");
        }

        CommandResult r = Run(systemctl, ["show", "-p", "NRestarts", "--value", unit]);
        return r.ExitCode == 0 && long.TryParse(r.Stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long n)
            ? new SystemdRestartCount(unit, n, null)
            : new SystemdRestartCount(unit, null, $"systemctl show: {FirstLine(r.Stderr) ?? FirstLine(r.Stdout) ?? $"exit {r.ExitCode}"}");
    }

    /// <summary>Lists containers with docker (<c>docker ps -a</c>) or crictl (<c>crictl ps -a -o json</c>) when either is on PATH and answers.</summary>
    public ContainerRestartReport ContainerRestarts()
    {
        var reasons = new List<string>();
        if (FindOnPath("docker") is { } docker)
        {
            CommandResult r = Run(docker, ["ps", "-a", "--no-trunc", "--format", "{{.ID}}\t{{.Image}}\t{{.Names}}\t{{.State}}\t{{.CreatedAt}}"]);
            if (r.ExitCode == 0)
            {
                return new ContainerRestartReport("docker", ParseDockerPs(r.Stdout), null);
            }

            reasons.Add($"docker: {FirstLine(r.Stderr) ?? $"exit {r.ExitCode}"}");
        }

        if (FindOnPath("crictl") is { } crictl)
        {
            CommandResult r = Run(crictl, ["ps", "-a", "-o", "json"]);
            if (r.ExitCode == 0)
            {
                return new ContainerRestartReport("crictl", ParseCrictlJson(r.Stdout), null);
            }

            reasons.Add($"crictl: {FirstLine(r.Stderr) ?? $"exit {r.ExitCode}"}");
        }

        return new ContainerRestartReport(null, [], reasons.Count == 0 ? "no container runtime (docker, crictl) on PATH" : string.Join("; ", reasons));
    }

    /// <summary>Parses <c>docker ps -a --format '{{.ID}}\t{{.Image}}\t{{.Names}}\t{{.State}}\t{{.CreatedAt}}'</c>.</summary>
    internal static List<ContainerEntry> ParseDockerPs(string text)
    {
        var list = new List<ContainerEntry>();
        foreach (string line in text.Split('\n'))
        {
            string[] f = line.TrimEnd('\r').Split('\t');
            if (f.Length >= 5)
            {
                list.Add(new ContainerEntry(f[0], f[1], f[2], f[3], f[4], null));
            }
        }

        return list;
    }

    /// <summary>Parses <c>crictl ps -a -o json</c>: containers[].{id, metadata.name, metadata.attempt, image.image, state, createdAt}.</summary>
    internal static List<ContainerEntry> ParseCrictlJson(string json)
    {
        var list = new List<ContainerEntry>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("containers", out JsonElement containers) || containers.ValueKind != JsonValueKind.Array)
            {
                return list;
            }

            foreach (JsonElement c in containers.EnumerateArray())
            {
                string id = Str(c, "id");
                string image = c.TryGetProperty("image", out JsonElement img) ? Str(img, "image") : string.Empty;
                string name = string.Empty;
                int? attempt = null;
                if (c.TryGetProperty("metadata", out JsonElement md))
                {
                    name = Str(md, "name");
                    if (md.TryGetProperty("attempt", out JsonElement a) && a.ValueKind == JsonValueKind.Number && a.TryGetInt32(out int n))
                    {
                        attempt = n;
                    }
                }

                list.Add(new ContainerEntry(id, image, name, Str(c, "state"), Str(c, "createdAt"), attempt));
            }
        }
        catch (JsonException)
        {
        }

        return list;

        static string Str(JsonElement e, string name)
            => e.TryGetProperty(name, out JsonElement v) ? v.ValueKind == JsonValueKind.String ? v.GetString() ?? string.Empty : v.GetRawText() : string.Empty;
    }

    internal static DateTimeOffset? ParseTimestamp(ReadOnlySpan<char> prefix, int syslogYear, TimeSpan syslogOffset)
    {
        prefix = prefix.TrimStart();
        int space = prefix.IndexOf(' ');
        ReadOnlySpan<char> first = space < 0 ? prefix : prefix[..space];

        // ISO 8601: 2026-11-22T06:51:14+0000, 2026-11-22T06:51:14.123456+00:00
        if (first.Length >= 19 && first[4] == '-' && first[10] == 'T')
        {
            string iso = first.ToString();
            if (iso.Length >= 5 && (iso[^5] == '+' || iso[^5] == '-') && char.IsAsciiDigit(iso[^1]) && iso[^3] != ':')
            {
                iso = iso[..^2] + ":" + iso[^2..];
            }

            return DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset t) ? t : null;
        }

        // short-unix: 1763794274.123456
        if (first.Length >= 9 && char.IsAsciiDigit(first[0])
            && double.TryParse(first, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double unix))
        {
            return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(unix * 1000));
        }

        // BSD syslog: "Nov 22 06:51:14" (day may be space-padded)
        if (prefix.Length >= 15)
        {
            string bsd = string.Join(' ', prefix[..Math.Min(prefix.Length, 16)].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(3));
            if (DateTime.TryParseExact($"{syslogYear} {bsd}", "yyyy MMM d HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTime local))
            {
                return new DateTimeOffset(local, syslogOffset);
            }
        }

        return null;
    }

    [GeneratedRegex(@"(?<unit>[^\s:\[\]]+): Scheduled restart job, restart counter is at (?<n>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex RestartLine();

    private string? FindOnPath(string name)
    {
        if (string.IsNullOrEmpty(_path))
        {
            return null;
        }

        foreach (string dir in _path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static CommandResult Run(string exe, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using Process p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(s_commandTimeout))
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
                return new CommandResult(-1, string.Empty, $"{Path.GetFileName(exe)} did not finish within {s_commandTimeout.TotalSeconds:0} s");
            }

            p.WaitForExit();
            return new CommandResult(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return new CommandResult(-1, string.Empty, e.Message);
        }
    }

    private static string? FirstLine(string text)
        => text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0);

    private static string? TryReadLine(string path)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault()?.Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private sealed record CommandResult(int ExitCode, string Stdout, string Stderr);

    private sealed class Accumulator
    {
        private int _max;
        private int _lines;
        private int? _previous;
        private long _restarts;
        private int _resets;
        private DateTimeOffset? _first;
        private DateTimeOffset? _last;

        public void Add(int counter, DateTimeOffset? time)
        {
            _lines++;
            _max = Math.Max(_max, counter);
            if (_previous is int p)
            {
                if (counter > p)
                {
                    _restarts += counter - p;
                }
                else if (counter < p)
                {
                    _resets++;
                    _restarts += counter;
                }
            }

            _previous = counter;
            if (time is { } t)
            {
                _first ??= t;
                _last = t;
            }
        }

        public UnitRestartLoop ToLoop(string unit)
        {
            double? perHour = _first is { } f && _last is { } l && l > f ? _restarts / (l - f).TotalHours : null;
            return new UnitRestartLoop(unit, _max, _lines, _first, _last, _restarts, perHour, _resets);
        }
    }
}
