using System.Globalization;
using System.Reflection;
using ResetScope.Ena.Driver;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ResetScope.Ena.Simulation;

/// <summary>Bad scenario input: one line naming file, line and field.</summary>
public sealed class ScenarioException(string file, int line, string field, string problem)
    : Exception($"{file}:{line}: {field}: {problem}")
{
    public string File { get; } = file;

    public int LineNumber { get; } = line;

    public string Field { get; } = field;

    public string Problem { get; } = problem;
}

/// <summary>Reads scenarios from YAML files or the built-in set, validating every field with its position.</summary>
public static class ScenarioLoader
{
    private const string ResourcePrefix = "ResetScope.Ena.Scenarios.";

    public static IReadOnlyList<string> BuiltInNames { get; } = typeof(ScenarioLoader).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..^".yaml".Length])
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>A built-in name, or a path to a YAML file.</summary>
    public static Scenario Load(string nameOrPath)
    {
        if (BuiltInNames.Contains(nameOrPath))
        {
            using Stream s = typeof(ScenarioLoader).Assembly.GetManifestResourceStream(ResourcePrefix + nameOrPath + ".yaml")!;
            using var reader = new StreamReader(s);
            return Parse(reader.ReadToEnd(), nameOrPath + ".yaml");
        }

        if (!System.IO.File.Exists(nameOrPath))
        {
            throw new FileNotFoundException(
                $"{nameOrPath}: no such scenario file or built-in scenario; built-ins: {string.Join(", ", BuiltInNames)}");
        }

        return Parse(System.IO.File.ReadAllText(nameOrPath), nameOrPath);
    }

    public static Scenario Parse(string yaml, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ScenarioException(file, (int)e.Start.Line, "(syntax)", e.Message.Split('\n')[0]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ScenarioException(file, 1, "(document)", "a scenario is a YAML mapping (name:, duration:, ...)");
        }

        var r = new Reader(file);
        var s = new Scenario { Name = Path.GetFileNameWithoutExtension(file) };
        foreach ((YamlNode k, YamlNode v) in root.Children)
        {
            string key = ((YamlScalarNode)k).Value ?? "";
            s = key switch
            {
                "name" => s with { Name = r.String(v, key) },
                "description" => s with { Description = r.String(v, key) },
                "seed" => s with { Seed = (ulong)r.Long(v, key, 0, long.MaxValue) },
                "duration" => s with { DurationNs = r.Duration(v, key, min: 1_000_000) },
                "hz" => s with { Hz = r.OneOf(v, key, 100, 250, 300, 1000) },
                "driver_version" => s with { DriverVersion = r.Version(v, key) },
                "kernel" => s with { Kernel = r.String(v, key) },
                "watchdog_format" => s with { WatchdogFormat = r.Name(v, key, ScenarioNames.WatchdogFormats) },
                "host" => r.Host(v, s),
                "device" => r.Device(v, s),
                "traffic" => r.Traffic(v, s),
                "cpu_events" => s with { CpuEvents = r.List(v, key, r.CpuEvent) },
                "faults" => s with { Faults = r.List(v, key, r.Fault) },
                "admin_commands" => s with { AdminCommands = r.List(v, key, r.AdminCommand) },
                _ => throw r.Error(k, key, "unknown field (expected name, description, seed, duration, hz, driver_version, kernel, watchdog_format, host, device, traffic, cpu_events, faults, admin_commands)"),
            };
        }

        r.Validate(s, root);
        return s;
    }

    private sealed class Reader(string file)
    {
        public ScenarioException Error(YamlNode node, string field, string problem) => new(file, (int)node.Start.Line, field, problem);

        private string Scalar(YamlNode node, string field) => node is YamlScalarNode { Value: { } v }
            ? v
            : throw Error(node, field, "expected a single value");

        public string String(YamlNode node, string field) => Scalar(node, field);

        public long Long(YamlNode node, string field, long min, long max)
        {
            string text = Scalar(node, field);
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) || v < min || v > max)
            {
                throw Error(node, field, $"'{text}' is not a whole number from {min} to {max}");
            }

            return v;
        }

        public int Int(YamlNode node, string field, int min, int max) => (int)Long(node, field, min, max);

        public double Double(YamlNode node, string field, double min, double max)
        {
            string text = Scalar(node, field);
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < min || v > max)
            {
                throw Error(node, field, $"'{text}' is not a number from {min} to {max}");
            }

            return v;
        }

        public bool Bool(YamlNode node, string field)
        {
            string text = Scalar(node, field);
            return text switch
            {
                "true" or "yes" or "on" => true,
                "false" or "no" or "off" => false,
                _ => throw Error(node, field, $"'{text}' is not true or false"),
            };
        }

        public int OneOf(YamlNode node, string field, params int[] allowed)
        {
            int v = Int(node, field, int.MinValue, int.MaxValue);
            return allowed.Contains(v) ? v : throw Error(node, field, $"{v} is not one of {string.Join(", ", allowed)}");
        }

        public T Name<T>(YamlNode node, string field, IReadOnlyDictionary<string, T> names)
        {
            string text = Scalar(node, field);
            return names.TryGetValue(text, out T? v)
                ? v
                : throw Error(node, field, $"unknown value '{text}' (expected {string.Join(", ", names.Keys)})");
        }

        public string Version(YamlNode node, string field)
        {
            string text = Scalar(node, field);
            if (!DriverVersion.TryParse(text, out DriverVersion v) || !v.AtLeast(1, 1, 2) || v.AtLeast(2, 18))
            {
                throw Error(node, field, $"'{text}' is not an ENA Linux driver version from 1.1.2 to 2.17.x (e.g. 2.11.0g)");
            }

            return v.ToString();
        }

        /// <summary>"20s", "1.5s", "150ms", "50us", "2m", "1h", or a bare number of seconds.</summary>
        public long Duration(YamlNode node, string field, long min = 0)
        {
            string text = Scalar(node, field).Trim();
            (string number, double scale) = text switch
            {
                _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1e6),
                _ when text.EndsWith("us", StringComparison.Ordinal) => (text[..^2], 1e3),
                _ when text.EndsWith("ns", StringComparison.Ordinal) => (text[..^2], 1.0),
                _ when text.EndsWith('s') => (text[..^1], 1e9),
                _ when text.EndsWith('m') => (text[..^1], 60e9),
                _ when text.EndsWith('h') => (text[..^1], 3600e9),
                _ => (text, 1e9),
            };
            if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0 || double.IsInfinity(v))
            {
                throw Error(node, field, $"'{text}' is not a duration (e.g. 20s, 150ms, 50us)");
            }

            long ns = (long)Math.Round(v * scale);
            return ns >= min ? ns : throw Error(node, field, $"'{text}' is too short");
        }

        public IReadOnlyList<T> List<T>(YamlNode node, string field, Func<YamlMappingNode, string, T> item)
        {
            if (node is not YamlSequenceNode seq)
            {
                throw Error(node, field, "expected a list");
            }

            var list = new List<T>();
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string name = $"{field}[{i}]";
                list.Add(seq.Children[i] is YamlMappingNode m ? item(m, name) : throw Error(seq.Children[i], name, "expected a mapping"));
            }

            return list;
        }

        private Dictionary<string, YamlNode> Fields(YamlNode node, string field, params string[] allowed)
        {
            if (node is not YamlMappingNode m)
            {
                throw Error(node, field, "expected a mapping");
            }

            var d = new Dictionary<string, YamlNode>();
            foreach ((YamlNode k, YamlNode v) in m.Children)
            {
                string key = ((YamlScalarNode)k).Value ?? "";
                if (!allowed.Contains(key))
                {
                    throw Error(k, $"{field}.{key}", $"unknown field (expected {string.Join(", ", allowed)})");
                }

                d[key] = v;
            }

            return d;
        }

        public Scenario Host(YamlNode node, Scenario s)
        {
            foreach ((string k, YamlNode v) in Fields(node, "host", "cpus", "uptime", "serial_console"))
            {
                string f = "host." + k;
                s = k switch
                {
                    "cpus" => s with { Cpus = Int(v, f, 1, 4096) },
                    "uptime" => s with { UptimeNs = Duration(v, f, min: 1_000_000_000) },
                    _ => s with { SerialConsoleBaud = Scalar(v, f) == "none" ? 0 : Int(v, f, 1200, 4_000_000) },
                };
            }

            return s;
        }

        public Scenario Device(YamlNode node, Scenario s)
        {
            foreach ((string k, YamlNode v) in Fields(node, "device", "pci", "interface", "queues", "ring_size", "queue_cpus",
                "mgmt_cpu", "timer_cpu", "watchdog_cpu", "tx_completion_latency", "hints"))
            {
                string f = "device." + k;
                s = k switch
                {
                    "pci" => s with { Pci = Pci(v, f) },
                    "interface" => s with { Interface = String(v, f) },
                    "queues" => s with { Queues = Int(v, f, 1, 128) },
                    "ring_size" => s with { RingSize = OneOf(v, f, 256, 512, 1024, 2048, 4096, 8192) },
                    "queue_cpus" => s with { QueueCpus = IntList(v, f) },
                    "mgmt_cpu" => s with { ManagementCpu = Int(v, f, 0, 4095) },
                    "timer_cpu" => s with { TimerCpu = Int(v, f, 0, 4095) },
                    "watchdog_cpu" => s with { WatchdogCpu = Int(v, f, 0, 4095) },
                    "tx_completion_latency" => s with { TxCompletionLatencyNs = Duration(v, f) },
                    _ => Hints(v, f, s),
                };
            }

            return s;
        }

        private Scenario Hints(YamlNode node, string field, Scenario s)
        {
            foreach ((string k, YamlNode v) in Fields(node, field, "driver_watchdog_timeout_ms", "missing_tx_completion_timeout_ms", "missed_tx_completion_count_threshold_to_reset"))
            {
                string f = field + "." + k;
                s = k switch
                {
                    "driver_watchdog_timeout_ms" => s with { HintKeepAliveTimeoutMs = (uint)Int(v, f, 1, 0xFFFF) },
                    "missing_tx_completion_timeout_ms" => s with { HintMissingTxTimeoutMs = (uint)Int(v, f, 1, 0xFFFF) },
                    _ => s with { HintMissingTxThreshold = Int(v, f, 1, 0xFFFF) },
                };
            }

            return s;
        }

        private string Pci(YamlNode node, string field)
        {
            string text = Scalar(node, field);
            return System.Text.RegularExpressions.Regex.IsMatch(text, "^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]$")
                ? text
                : throw Error(node, field, $"'{text}' is not a PCI address like 0000:00:05.0");
        }

        private int[] IntList(YamlNode node, string field)
        {
            if (node is not YamlSequenceNode seq)
            {
                throw Error(node, field, "expected a list of CPU numbers");
            }

            return seq.Children.Select((c, i) => Int(c, $"{field}[{i}]", 0, 4095)).ToArray();
        }

        public Scenario Traffic(YamlNode node, Scenario s)
        {
            foreach ((string k, YamlNode v) in Fields(node, "traffic", "tx_pps", "rx_pps", "packet_bytes", "flow", "liveness"))
            {
                string f = "traffic." + k;
                switch (k)
                {
                    case "tx_pps": s = s with { TxPps = Double(v, f, 0, 10_000_000) }; break;
                    case "rx_pps": s = s with { RxPps = Double(v, f, 0, 10_000_000) }; break;
                    case "packet_bytes": s = s with { PacketBytes = Int(v, f, 64, 9001) }; break;
                    case "flow":
                        foreach ((string fk, YamlNode fv) in Fields(v, f, "queue", "rtt"))
                        {
                            s = fk == "queue" ? s with { FlowQueue = Int(fv, f + ".queue", 0, 127) } : s with { FlowRttNs = Duration(fv, f + ".rtt") };
                        }

                        s = s with { FlowQueue = s.FlowQueue ?? 0 };
                        break;
                    default:
                        foreach ((string pk, YamlNode pv) in Fields(v, f, "queue", "period", "window"))
                        {
                            s = pk switch
                            {
                                "queue" => s with { ProbeQueue = Int(pv, f + ".queue", 0, 127) },
                                "period" => s with { ProbePeriodNs = Duration(pv, f + ".period", 1_000_000) },
                                _ => s with { ProbeWindowNs = Duration(pv, f + ".window", 1_000_000) },
                            };
                        }

                        s = s with { ProbeQueue = s.ProbeQueue ?? 0 };
                        break;
                }
            }

            return s;
        }

        public CpuEventSpec CpuEvent(YamlMappingNode node, string field)
        {
            Dictionary<string, YamlNode> d = Fields(node, field, "cpu", "kind", "start", "duration", "share", "comm", "pid", "rt_throttling");
            YamlNode Need(string k) => d.TryGetValue(k, out YamlNode? v) ? v : throw Error(node, $"{field}.{k}", "missing");
            CpuHogKind kind = Name(Need("kind"), field + ".kind", ScenarioNames.CpuKinds);
            double share = d.TryGetValue("share", out YamlNode? sh) ? Double(sh, field + ".share", 0, 1) : 0;
            if (kind == CpuHogKind.Contention && !d.ContainsKey("share"))
            {
                throw Error(node, field + ".share", "contention needs the share of CPU time left to softirq work (0 to 1)");
            }

            return new CpuEventSpec(
                Int(Need("cpu"), field + ".cpu", 0, 4095),
                kind,
                Duration(Need("start"), field + ".start"),
                Duration(Need("duration"), field + ".duration", 1),
                share,
                d.TryGetValue("comm", out YamlNode? c) ? String(c, field + ".comm") : null,
                d.TryGetValue("pid", out YamlNode? p) ? Int(p, field + ".pid", 1, 4_194_304) : null,
                !d.TryGetValue("rt_throttling", out YamlNode? t) || Bool(t, field + ".rt_throttling"));
        }

        public FaultSpec Fault(YamlMappingNode node, string field)
        {
            Dictionary<string, YamlNode> d = Fields(node, field, "kind", "start", "duration", "queue", "delay", "hints");
            YamlNode Need(string k) => d.TryGetValue(k, out YamlNode? v) ? v : throw Error(node, $"{field}.{k}", "missing");
            FaultKind kind = Name(Need("kind"), field + ".kind", ScenarioNames.Faults);
            long delay = d.TryGetValue("delay", out YamlNode? dl) ? Duration(dl, field + ".delay") : 0;
            if (kind == FaultKind.DelayTxCompletions && delay == 0)
            {
                throw Error(node, field + ".delay", "delay-tx-completions needs a delay (e.g. 7s)");
            }

            (ushort, ushort, ushort, ushort) hints = default;
            if (d.TryGetValue("hints", out YamlNode? h))
            {
                foreach ((string hk, YamlNode hv) in Fields(h, field + ".hints", "driver_watchdog_timeout_ms", "missing_tx_completion_timeout_ms", "missed_tx_completion_count_threshold_to_reset", "netdev_wd_timeout_ms"))
                {
                    ushort value = (ushort)Int(hv, $"{field}.hints.{hk}", 0, 0xFFFF);
                    hints = hk switch
                    {
                        "driver_watchdog_timeout_ms" => hints with { Item1 = value },
                        "missing_tx_completion_timeout_ms" => hints with { Item2 = value },
                        "missed_tx_completion_count_threshold_to_reset" => hints with { Item3 = value },
                        _ => hints with { Item4 = value },
                    };
                }
            }
            else if (kind == FaultKind.UpdateHints)
            {
                throw Error(node, field + ".hints", "update-hints needs hints (e.g. { missing_tx_completion_timeout_ms: 10000 })");
            }

            return new FaultSpec(
                kind,
                Duration(Need("start"), field + ".start"),
                d.TryGetValue("duration", out YamlNode? du) ? Duration(du, field + ".duration", 1) : null,
                d.TryGetValue("queue", out YamlNode? q) ? Int(q, field + ".queue", 0, 127) : 0,
                delay) { Hints = hints };
        }

        public AdminCommandSpec AdminCommand(YamlMappingNode node, string field)
        {
            Dictionary<string, YamlNode> d = Fields(node, field, "at", "every");
            YamlNode at = d.TryGetValue("at", out YamlNode? a) ? a : throw Error(node, field + ".at", "missing");
            return new AdminCommandSpec(Duration(at, field + ".at"), d.TryGetValue("every", out YamlNode? e) ? Duration(e, field + ".every", 1_000_000) : null);
        }

        /// <summary>Cross-field checks, reported at the field that is wrong.</summary>
        public void Validate(Scenario s, YamlMappingNode root)
        {
            YamlNode At(string key) => root.Children.FirstOrDefault(kv => ((YamlScalarNode)kv.Key).Value == key).Value ?? root;
            if (s.QueueCpus is { } qc)
            {
                if (qc.Length != s.Queues)
                {
                    throw Error(At("device"), "device.queue_cpus", $"lists {qc.Length} CPUs for {s.Queues} queues");
                }

                if (qc.Any(c => c >= s.Cpus))
                {
                    throw Error(At("device"), "device.queue_cpus", $"names a CPU outside 0..{s.Cpus - 1}");
                }
            }

            foreach ((string name, int cpu) in new[] { ("device.mgmt_cpu", s.ManagementCpu), ("device.timer_cpu", s.TimerCpu), ("device.watchdog_cpu", s.WatchdogCpu) })
            {
                if (cpu >= s.Cpus)
                {
                    throw Error(At("device"), name, $"CPU {cpu} is outside 0..{s.Cpus - 1}");
                }
            }

            for (int i = 0; i < s.CpuEvents.Count; i++)
            {
                if (s.CpuEvents[i].Cpu >= s.Cpus)
                {
                    throw Error(At("cpu_events"), $"cpu_events[{i}].cpu", $"CPU {s.CpuEvents[i].Cpu} is outside 0..{s.Cpus - 1}");
                }
            }

            for (int i = 0; i < s.Faults.Count; i++)
            {
                if (s.Faults[i].Queue >= s.Queues)
                {
                    throw Error(At("faults"), $"faults[{i}].queue", $"queue {s.Faults[i].Queue} is outside 0..{s.Queues - 1}");
                }
            }

            if (s.FlowQueue >= s.Queues || s.ProbeQueue >= s.Queues)
            {
                throw Error(At("traffic"), "traffic", "flow or liveness queue is outside the device's queues");
            }
        }
    }
}
