using System.Globalization;
using ResetScope.Core;

namespace ResetScope.KernelLog;

/// <summary>Dimensions resets can be grouped by (<c>--group-by</c>); manifest columns add fleet dimensions.</summary>
public enum GroupKey
{
    Host,
    Dev,
    Driver,
    Reason,
    File,
    Az,
    InstanceType,
    Ami,
    Kernel,
}

/// <summary>How often resets happen within one group.</summary>
public sealed record CadenceGroup
{
    public required IReadOnlyList<(string Name, string? Value)> Key { get; init; }
    public int Count { get; init; }
    public string? First { get; init; }
    public string? Last { get; init; }
    public double? MinIntervalS { get; init; }
    public double? MedianIntervalS { get; init; }

    /// <summary>Runs of ≥ 3 resets each within <see cref="Cadence.BurstGapS"/> of the previous one.</summary>
    public int Bursts { get; init; }

    public int MaxBurst { get; init; }

    /// <summary>At least 4 intervals whose coefficient of variation is ≤ 0.15.</summary>
    public bool Periodic { get; init; }

    public double? PeriodS { get; init; }
    public int Completed { get; init; }
    public int Failed { get; init; }
    public int Unknown { get; init; }

    public string KeyText => string.Join(" ", Key.Select(k => $"{k.Name}={k.Value ?? "-"}"));
}

public static class Cadence
{
    public const double BurstGapS = 60;
    private const double PeriodicCv = 0.15;

    public static GroupKey[] DefaultGroupBy { get; } = [GroupKey.Host, GroupKey.Dev];

    public static string Name(GroupKey k) => k switch
    {
        GroupKey.InstanceType => "instance_type",
        _ => k.ToString().ToLowerInvariant(),
    };

    public static bool TryParseGroupBy(string? text, out GroupKey[] keys)
    {
        keys = DefaultGroupBy;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        var list = new List<GroupKey>();
        foreach (string part in text.Split([',', '|', '+'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            GroupKey? k = part.ToLowerInvariant().Replace("-", "_", StringComparison.Ordinal) switch
            {
                "host" => GroupKey.Host,
                "dev" or "device" => GroupKey.Dev,
                "driver" => GroupKey.Driver,
                "reason" => GroupKey.Reason,
                "file" => GroupKey.File,
                "az" => GroupKey.Az,
                "instance_type" => GroupKey.InstanceType,
                "ami" => GroupKey.Ami,
                "kernel" => GroupKey.Kernel,
                _ => null,
            };
            if (k is null)
            {
                return false;
            }

            list.Add(k.Value);
        }

        keys = [.. list];
        return keys.Length > 0;
    }

    public static IReadOnlyList<CadenceGroup> Compute(IEnumerable<ScannedReset> resets, IReadOnlyList<GroupKey> groupBy, HostManifest? manifest)
    {
        var groups = new Dictionary<string, List<ScannedReset>>(StringComparer.Ordinal);
        var keys = new Dictionary<string, (string, string?)[]>(StringComparer.Ordinal);
        foreach (ScannedReset r in resets)
        {
            (string, string?)[] key = [.. groupBy.Select(k => (Name(k), Value(k, r.Event, manifest)))];
            string text = string.Join("\u0001", key.Select(k => k.Item2 ?? "\u0000"));
            if (!groups.TryGetValue(text, out List<ScannedReset>? list))
            {
                groups[text] = list = [];
                keys[text] = key;
            }

            list.Add(r);
        }

        var result = new List<CadenceGroup>();
        foreach ((string text, List<ScannedReset> list) in groups)
        {
            result.Add(Summarise(keys[text], list));
        }

        result.Sort((a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.KeyText, b.KeyText));
        return result;
    }

    private static string? Value(GroupKey k, ResetEvent e, HostManifest? manifest) => k switch
    {
        GroupKey.Host => e.Host,
        GroupKey.Dev => e.Dev ?? e.Pci,
        GroupKey.Driver => e.Driver,
        GroupKey.Reason => e.Reason.ToJsonName(),
        GroupKey.File => e.File,
        GroupKey.Az => manifest?.Find(e.Host)?.Az,
        GroupKey.InstanceType => manifest?.Find(e.Host)?.InstanceType,
        GroupKey.Ami => manifest?.Find(e.Host)?.Ami,
        GroupKey.Kernel => manifest?.Find(e.Host)?.Kernel,
        _ => null,
    };

    private static CadenceGroup Summarise((string, string?)[] key, List<ScannedReset> list)
    {
        // Times are comparable within one clock: wall time across files, uptime only within one file.
        var domains = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (ScannedReset r in list)
        {
            if (r.Event.Time is { } t)
            {
                Add("wall", t.ToUnixTimeMilliseconds() / 1000.0);
            }
            else if (r.UptimeUs is { } up)
            {
                Add("uptime:" + r.Event.File, up / 1e6);
            }
        }

        var intervals = new List<double>();
        int bursts = 0, maxBurst = 0;
        foreach (List<double> times in domains.Values)
        {
            times.Sort();
            int run = 1;
            for (int i = 1; i < times.Count; i++)
            {
                double d = times[i] - times[i - 1];
                intervals.Add(d);
                if (d <= BurstGapS)
                {
                    run++;
                }
                else
                {
                    CountRun(run);
                    run = 1;
                }
            }

            CountRun(run);
        }

        intervals.Sort();
        double? min = intervals.Count > 0 ? intervals[0] : null;
        double? median = intervals.Count == 0 ? null
            : intervals.Count % 2 == 1 ? intervals[intervals.Count / 2]
            : (intervals[(intervals.Count / 2) - 1] + intervals[intervals.Count / 2]) / 2;
        bool periodic = false;
        if (intervals.Count >= 4)
        {
            double mean = intervals.Average();
            double sd = Math.Sqrt(intervals.Sum(x => (x - mean) * (x - mean)) / intervals.Count);
            periodic = mean > 0 && sd / mean <= PeriodicCv;
        }

        List<ScannedReset> ordered = [.. list.OrderBy(r => r.Event.Time ?? DateTimeOffset.MaxValue).ThenBy(r => r.Event.File, StringComparer.Ordinal).ThenBy(r => r.Event.Line)];
        return new CadenceGroup
        {
            Key = key,
            Count = list.Count,
            First = Describe(ordered[0].Event),
            Last = Describe(ordered[^1].Event),
            MinIntervalS = min,
            MedianIntervalS = median,
            Bursts = bursts,
            MaxBurst = maxBurst,
            Periodic = periodic,
            PeriodS = periodic ? median : null,
            Completed = list.Count(r => r.Event.Outcome == ResetOutcome.Completed),
            Failed = list.Count(r => r.Event.Outcome == ResetOutcome.Failed),
            Unknown = list.Count(r => r.Event.Outcome == ResetOutcome.Unknown),
        };

        void Add(string domain, double seconds)
        {
            if (!domains.TryGetValue(domain, out List<double>? l))
            {
                domains[domain] = l = [];
            }

            l.Add(seconds);
        }

        void CountRun(int run)
        {
            if (run >= 3)
            {
                bursts++;
            }

            maxBurst = Math.Max(maxBurst, run);
        }
    }

    private static string Describe(ResetEvent e)
    {
        if (e.Time is { } t)
        {
            return t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);
        }

        return $"{e.File}:{e.Line}" + (e.Ts is null ? string.Empty : $" [{e.Ts}]");
    }
}

/// <summary>One row of the host manifest CSV.</summary>
public sealed record HostInfo(string Host, string? Az, string? InstanceType, string? Ami, string? Kernel, string? Path);

/// <summary>
/// Host manifest: CSV with a header naming at least <c>host</c>; optional <c>az</c>, <c>instance_type</c>,
/// <c>ami</c>, <c>kernel</c> and <c>path</c> (a path prefix whose files belong to that host).
/// </summary>
public sealed class HostManifest
{
    private readonly Dictionary<string, HostInfo> _byHost = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<HostInfo> _withPath = [];

    public IReadOnlyCollection<HostInfo> Hosts => _byHost.Values;

    public static HostManifest Parse(TextReader reader, string name)
    {
        var m = new HostManifest();
        string? header = reader.ReadLine() ?? throw new FormatException($"host manifest {name} is empty; it needs a header line such as host,az,instance_type,ami,kernel");
        string[] cols = SplitCsv(header).Select(c => c.Trim().ToLowerInvariant()).ToArray();
        int hostCol = Array.IndexOf(cols, "host");
        if (hostCol < 0)
        {
            throw new FormatException($"host manifest {name} has no 'host' column in its header; add one (host,az,instance_type,ami,kernel[,path])");
        }

        string? Col(string[] row, string col)
        {
            int i = Array.IndexOf(cols, col);
            return i >= 0 && i < row.Length && row[i].Trim().Length > 0 ? row[i].Trim() : null;
        }

        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            string[] row = SplitCsv(line);
            string? host = Col(row, "host");
            if (host is null)
            {
                continue;
            }

            var info = new HostInfo(host, Col(row, "az"), Col(row, "instance_type"), Col(row, "ami"), Col(row, "kernel"), Col(row, "path"));
            m._byHost[host] = info;
            if (info.Path is not null)
            {
                m._withPath.Add(info);
            }
        }

        return m;
    }

    public HostInfo? Find(string? host) => host is not null && _byHost.TryGetValue(host, out HostInfo? h) ? h : null;

    /// <summary>The host a file belongs to: a manifest <c>path</c> prefix, else a path component equal to a known host.</summary>
    public string? HostForPath(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        string full = System.IO.Path.GetFullPath(path);
        HostInfo? best = null;
        foreach (HostInfo h in _withPath)
        {
            string p = System.IO.Path.GetFullPath(h.Path!);
            if ((full.StartsWith(p, StringComparison.Ordinal) || path.StartsWith(h.Path!, StringComparison.Ordinal)) && (best is null || h.Path!.Length > best.Path!.Length))
            {
                best = h;
            }
        }

        if (best is not null)
        {
            return best.Host;
        }

        foreach (string part in full.Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            if (_byHost.ContainsKey(part))
            {
                return _byHost[part].Host;
            }
        }

        return null;
    }

    private static string[] SplitCsv(string line)
    {
        var fields = new List<string>();
        var sb = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    sb.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }

        fields.Add(sb.ToString());
        return [.. fields];
    }
}
