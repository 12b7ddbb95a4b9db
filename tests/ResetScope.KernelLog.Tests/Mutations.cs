using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ResetScope.Core;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>The decoded values a line of an event carries: cutting that line may turn them null, never into another value.</summary>
public enum Carry
{
    Reason,
    Queue,
    Outcome,
    Threshold,
    SinceNapi,
    NapiScheduled,
    NapiCpu,
    Version,
}

/// <summary>One line of a reset as the driver prints it: the dev_printk prefix parts and the message (Driver null: a kernel line without prefix).</summary>
public sealed record EventLine(string? Driver, string? Bus, string? Ifname, string Body, long AtUs, Carry[] Carries, bool Elidable = false)
{
    public string Message => Driver is null ? Body : Ifname is null ? $"{Driver} {Bus}: {Body}" : $"{Driver} {Bus} {Ifname}: {Body}";
}

/// <summary>The one reset a correct scan of the (unmutated) event reports.</summary>
public sealed record ExpectedReset
{
    public required ResetFamily Reason { get; init; }
    public required string Driver { get; init; }
    public string? Dev { get; init; }
    public string? Pci { get; init; }
    public int? Queue { get; init; }
    public ResetOutcome Outcome { get; init; }
    public long? ThresholdUsec { get; init; }
    public long? SinceNapiUsec { get; init; }
    public bool? NapiScheduled { get; init; }
    public int? NapiCpu { get; init; }
    public string? DriverVersion { get; init; }

    public override string ToString() => Fmt.Reset(Reason, Driver, Dev, Pci, Queue, Outcome, ThresholdUsec, SinceNapiUsec, NapiScheduled, NapiCpu, DriverVersion);
}

/// <summary>A realistic multi-line reset rendered from the catalogue's own formats, and the event it must give.</summary>
public sealed record BaseEvent(string Name, IReadOnlyList<EventLine> Lines, ExpectedReset Expected);

/// <summary>A collector shape (Shapes.cs's, with time): one kernel message at an absolute time → the physical lines a file holds.</summary>
public sealed record Collector(string Name, Func<string, long, int, bool, string[]> Render, bool ConsoleLike)
{
    public override string ToString() => Name;
}

/// <summary>A physical line of the mutated input: which event line (record) it belongs to, whether a mutation made or changed it.</summary>
public sealed record PLine(string Text, int? Record, bool Head, bool Mutated, bool Foreign = false);

/// <summary>A base event after mutation: the text to scan, which physical lines the mutation touched, and which carried values it destroyed.</summary>
/// <param name="MayHold">Resets the input may hold: 2 for an excerpt pasted twice with nothing (no stamps, no counter dump) to tell the copies from two resets in a row.</param>
public sealed record Mutated(BaseEvent Base, Collector Collector, string Description, IReadOnlyList<PLine> Lines, IReadOnlySet<Carry> Lost, int MayHold = 1)
{
    public string Text => string.Join("\n", Lines.Select(l => l.Text)) + "\n";

    /// <summary>1-based line numbers of the lines a mutation made or changed.</summary>
    public IReadOnlySet<int> MutatedLines => Lines.Select((l, i) => (l, i)).Where(x => x.l.Mutated).Select(x => x.i + 1).ToHashSet();

    /// <summary>Some line the scanner can still see (it passes the prefilter) names the token: a line cut to a bare prefix is noise.</summary>
    private bool Names(string? token) => token is not null && Lines.Any(l => !l.Foreign && LogScanner.IsCandidate(Encoding.UTF8.GetBytes(l.Text))
        && Regex.IsMatch(l.Text, $@"(?<![\w.:-]){Regex.Escape(token)}(?![\w.-])"));

    /// <summary>Some line of the event still names the interface (a token of its own, not split by a wrap).</summary>
    public bool DevNamed => Names(Base.Expected.Dev);

    public bool PciNamed => Names(Base.Expected.Pci);

    public bool DriverNamed => Names(Base.Expected.Driver);

    /// <summary>The input with the mutated lines marked, numbered as the scanner numbers them.</summary>
    public string Listing()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Lines.Count; i++)
        {
            sb.Append(Lines[i].Mutated ? " *" : "  ").Append((i + 1).ToString(CultureInfo.InvariantCulture).PadLeft(3)).Append(" | ").Append(Fmt.Visible(Lines[i].Text)).Append('\n');
        }

        return sb.ToString();
    }
}

/// <summary>Choices for one generated case; every number picks (modulo) from a list, 0 is always the simplest choice. Shrinks toward 0.</summary>
public sealed record Case(int Base, int Variant, int Collector, int[] P)
{
    /// <summary>The i-th choice among n (0 when there are fewer parameters).</summary>
    public int Pick(int i, int n) => n <= 0 ? 0 : (i < P.Length ? P[i] : 0) % n;

    public override string ToString() => $"Case(Base {Base}, Variant {Variant}, Collector {Collector}, P [{string.Join(", ", P)}])";

    public IEnumerable<Case> Shrink()
    {
        if (Base > 0)
        {
            yield return this with { Base = 0 };
        }

        if (Collector > 0)
        {
            yield return this with { Collector = 0 };
        }

        if (Variant > 0)
        {
            yield return this with { Variant = 0 };
            yield return this with { Variant = Variant / 2 };
        }

        for (int i = 0; i < P.Length; i++)
        {
            if (P[i] > 0)
            {
                int[] zero = [.. P];
                zero[i] = 0;
                yield return this with { P = zero };
                int[] half = [.. P];
                half[i] = P[i] / 2;
                yield return this with { P = half };
                int[] less = [.. P];
                less[i] = P[i] - 1;
                yield return this with { P = less };
            }
        }
    }
}

/// <summary>
/// The mutation toolkit: base events from the catalogue's formats (ENA of several generations, the kernel NETDEV
/// WATCHDOG with the driver lines of ixgbe, mlx5, i40e, virtio_net, tg3, r8125), collector shapes, and the mutations
/// real logs apply to them (issue "scan on logs nobody here wrote", class 8): strip the device prefix, wrap at 72/76/80
/// columns, interleave another stream, elide, repeat.
/// </summary>
public static class Mutations
{
    public const string Host = Shapes.Host;

    private static readonly string[] s_ifnames = ["eth0", "ens5", "eth1", "enp7s0"];
    private static readonly string[] s_buses = ["0000:00:05.0", "0000:00:06.0", "0000:20:03.0"];

    private static string R(string id, params object[] args) => CatalogueLines.Get(id).Render(args);

    // ---------------------------------------------------------------- base events

    /// <summary>Builders of the base events; each takes a variant number that picks interface, bus, queue and version details.</summary>
    public static readonly IReadOnlyList<(string Name, Func<int, BaseEvent> Build)> Bases =
    [
        ("ena-1.5-lost-tx", EnaLostTx15),
        ("ena-2.10-lost-tx", EnaLostTx210),
        ("ena-2.17-lost-tx", EnaLostTx217),
        ("ena-keep-alive", EnaKeepAlive),
        ("ena-tx-paused", EnaTxPaused),
        ("ixgbe-netdev-watchdog", v => KernelWatchdog(v, "ixgbe")),
        ("mlx5-netdev-watchdog", v => KernelWatchdog(v, "mlx5_core")),
        ("i40e-netdev-watchdog", v => KernelWatchdog(v, "i40e")),
        ("virtio_net-netdev-watchdog", v => KernelWatchdog(v, "virtio_net")),
        ("tg3-netdev-watchdog", v => KernelWatchdog(v, "tg3")),
        ("r8125-netdev-watchdog-6.8", R8125Watchdog68),
        ("ixgbe-tx-hang", IxgbeTxHang),
    ];

    public static BaseEvent Build(int index, int variant) => Bases[index % Bases.Count].Build(variant);

    private static (string If, string Bus, int Q, Random Rng) Pick(int variant)
    {
        var rng = new Random(variant);
        return (s_ifnames[rng.Next(s_ifnames.Length)], s_buses[rng.Next(s_buses.Length)], rng.Next(8), rng);
    }

    private static BaseEvent EnaLostTx15(int v)
    {
        (string ifn, string bus, int q, Random rng) = Pick(v);
        int n = 1 + rng.Next(4);
        bool completes = v % 2 == 0;
        var lines = new List<EventLine>();
        for (int k = 0; k < n; k++)
        {
            lines.Add(new("ena", bus, ifn, R("ena.tx.found-not-completed.v1", q, 960 + k), k * 10, [Carry.Queue], Elidable: k < n - 1));
        }

        lines.Add(new("ena", bus, ifn, R("ena.tx.threshold.v2", 150 + rng.Next(900), 128), 1_000_000, [Carry.Reason]));
        lines.Add(new("ena", bus, ifn, R("ena.trigger-reset-on"), 1_000_100, []));
        lines.Add(new("ena", bus, ifn, "tx_timeout: 0", 1_000_200, [], Elidable: true));
        lines.Add(new("ena", bus, ifn, "wd_expired: 0", 1_000_300, [], Elidable: true));
        lines.Add(new("ena", bus, ifn, "interface_up: 3", 1_000_400, [], Elidable: true));
        if (completes)
        {
            lines.Add(new("ena", bus, null, R("ena.completed.v1"), 1_100_000, [Carry.Outcome]));
        }

        return new("ena-1.5-lost-tx", lines, new ExpectedReset
        {
            Reason = ResetFamily.TxCompletionTimeout, Driver = "ena", Dev = ifn, Pci = bus, Queue = q,
            Outcome = completes ? ResetOutcome.Completed : ResetOutcome.Unknown,
        });
    }

    private static BaseEvent EnaLostTx210(int v)
    {
        (string ifn, string bus, int q, Random rng) = Pick(v);
        int n = 1 + rng.Next(3);
        long napiMs = 5100 + rng.Next(20_000);
        bool completes = v % 3 != 0;
        var lines = new List<EventLine>();
        for (int k = 0; k < n; k++)
        {
            lines.Add(new("ena", bus, ifn, R("ena.tx.not-completed.v2", q, 17 + k, napiMs, napiMs, 1), k * 10, [Carry.Queue, Carry.SinceNapi, Carry.NapiScheduled], Elidable: k < n - 1));
        }

        lines.Add(new("ena", bus, ifn, R("ena.tx.threshold.v4", 129, 128, 5000, napiMs, napiMs), 1_000_000, [Carry.Reason, Carry.Threshold, Carry.SinceNapi]));
        lines.Add(new("ena", bus, ifn, R("ena.tx.resetting"), 1_000_010, []));
        lines.Add(new("ena", bus, ifn, R("ena.tx.cq-empty", q), 1_000_020, [Carry.Queue]));
        lines.Add(new("ena", bus, ifn, R("ena.trigger-reset-on"), 1_000_100, []));
        lines.Add(new("ena", bus, ifn, "total_resets: 1", 1_000_200, [], Elidable: true));
        lines.Add(new("ena", bus, ifn, "missing_tx_cmpl: 1", 1_000_300, [], Elidable: true));
        if (completes)
        {
            lines.Add(new("ena", bus, null, R("ena.completed.v2", "Elastic Network Adapter (ENA) v2.10.0g"), 1_100_000, [Carry.Outcome, Carry.Version]));
        }

        return new("ena-2.10-lost-tx", lines, new ExpectedReset
        {
            Reason = ResetFamily.TxCompletionTimeout, Driver = "ena", Dev = ifn, Pci = bus, Queue = q,
            Outcome = completes ? ResetOutcome.Completed : ResetOutcome.Unknown,
            ThresholdUsec = 5_000_000, SinceNapiUsec = napiMs * 1000, NapiScheduled = true, DriverVersion = completes ? "2.10.0g" : null,
        });
    }

    private static BaseEvent EnaLostTx217(int v)
    {
        (string ifn, string bus, int q, Random rng) = Pick(v);
        long napiMs = 5200 + rng.Next(20_000);
        int cpu = 8 + rng.Next(40);
        int freedQ = (q + 1 + rng.Next(6)) % 8;
        var lines = new List<EventLine>
        {
            new("ena", bus, ifn, R("ena.tx.threshold.1of2", 129, 128, 5000, napiMs, napiMs, q), 0, [Carry.Reason, Carry.Threshold, Carry.SinceNapi, Carry.Queue]),
            new("ena", bus, ifn, R("ena.tx.threshold.2of2", cpu, q), 10, [Carry.NapiCpu, Carry.Queue]),
            new("ena", bus, ifn, R("ena.tx.resetting"), 20, []),
            new("ena", bus, ifn, R("ena.trigger-reset-on"), 1_000_000, []),
            new("ena", bus, ifn, R("ena.tx-freed.v5", 12, freedQ, 6700), 1_000_100, []),
            new("ena", bus, null, R("ena.completed.v3", 0, "Elastic Network Adapter (ENA) v2.17.0g"), 1_100_000, [Carry.Outcome, Carry.Version]),
        };
        return new("ena-2.17-lost-tx", lines, new ExpectedReset
        {
            Reason = ResetFamily.TxCompletionTimeout, Driver = "ena", Dev = ifn, Pci = bus, Queue = q, Outcome = ResetOutcome.Completed,
            ThresholdUsec = 5_000_000, SinceNapiUsec = napiMs * 1000, NapiCpu = cpu, DriverVersion = "2.17.0g",
        });
    }

    private static BaseEvent EnaKeepAlive(int v)
    {
        (string ifn, string bus, _, Random rng) = Pick(v);
        int shape = v % 4;
        var lines = new List<EventLine>
        {
            new("ena", bus, ifn, shape == 1 ? R("ena.keep-alive.v2", 6000 + rng.Next(4000)) : R("ena.keep-alive.v1"), 0, [Carry.Reason]),
            new("ena", bus, ifn, R("ena.trigger-reset-on"), 2_000, []),
            new("ena", bus, ifn, "suspend: 0", 3_000, [], Elidable: true),
            new("ena", bus, ifn, "wd_expired: 1", 4_000, [], Elidable: true),
        };
        ResetOutcome outcome = ResetOutcome.Completed;
        string? version = null;
        switch (shape)
        {
            case 0:
                lines.Add(new("ena", bus, null, R("ena.completed.v2", "Elastic Network Adapter (ENA) v2.4.0g"), 200_000, [Carry.Outcome, Carry.Version]));
                version = "2.4.0g";
                break;
            case 1:
                lines.Add(new("ena", bus, null, R("ena.completed.v3", 0, "Elastic Network Adapter (ENA) v2.14.0g"), 200_000, [Carry.Outcome, Carry.Version]));
                version = "2.14.0g";
                break;
            case 2:
                outcome = ResetOutcome.Unknown;
                break;
            default:
                lines.Add(new("ena", bus, null, R("ena.restore.io-queues-failed"), 150_000, [Carry.Outcome]));
                lines.Add(new("ena", bus, null, R("ena.reset-attempt-failed"), 150_100, [Carry.Outcome]));
                lines.Add(new("ena", bus, null, R("ena.completed.v2", "Elastic Network Adapter (ENA) v2.4.0g"), 200_000, [Carry.Outcome, Carry.Version]));
                outcome = ResetOutcome.Failed;
                version = "2.4.0g";
                break;
        }

        return new("ena-keep-alive", lines, new ExpectedReset
        {
            Reason = ResetFamily.KeepAliveTimeout, Driver = "ena", Dev = ifn, Pci = bus, Outcome = outcome, DriverVersion = version,
        });
    }

    private static BaseEvent EnaTxPaused(int v)
    {
        (string ifn, string bus, int q, Random rng) = Pick(v);
        long since = 5_000_000 + rng.Next(4_000_000);
        var lines = new List<EventLine>();
        if (v % 2 == 1)
        {
            lines.Add(new(null, null, null, R("kernel.netdev-watchdog.v1", ifn, "ena", q), 0, [Carry.Reason, Carry.Queue]));
            lines.Add(new(null, null, null, "WARNING: CPU: 3 PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21f/0x230", 100, [], Elidable: true));
        }

        lines.Add(new("ena", bus, ifn, R("ena.tx-paused.v1", q, 5_000_000, since, 1), 200, [Carry.Reason, Carry.Queue, Carry.Threshold, Carry.SinceNapi, Carry.NapiScheduled]));
        lines.Add(new("ena", bus, ifn, R("ena.napi-starved"), 300, [Carry.Reason]));
        lines.Add(new("ena", bus, null, R("ena.completed.v2", "Elastic Network Adapter (ENA) v2.11.0g"), 5_000_000, [Carry.Outcome, Carry.Version]));
        return new("ena-tx-paused", lines, new ExpectedReset
        {
            Reason = ResetFamily.NetdevWatchdog, Driver = "ena", Dev = ifn, Pci = bus, Queue = q, Outcome = ResetOutcome.Completed,
            ThresholdUsec = 5_000_000, SinceNapiUsec = since, NapiScheduled = true, DriverVersion = "2.11.0g",
        });
    }

    private static BaseEvent KernelWatchdog(int v, string driver)
    {
        (string ifn, string bus, int q, Random rng) = Pick(v);
        if (driver == "virtio_net")
        {
            bus = "virtio0";
        }

        int ms = 5000 + rng.Next(4000);
        var lines = new List<EventLine>
        {
            new(null, null, null, v % 2 == 0 ? R("kernel.netdev-watchdog.v1", ifn, driver, q) : R("kernel.netdev-watchdog.v2", ifn, driver, q, ms), 0, [Carry.Reason, Carry.Queue]),
            new(null, null, null, "WARNING: CPU: 3 PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21f/0x230", 100, [], Elidable: true),
        };
        switch (driver)
        {
            case "ixgbe":
                lines.Add(new(driver, bus, ifn, R("ixgbe.tx-timeout"), 1_000, [Carry.Reason]));
                lines.Add(new(driver, bus, ifn, R("ixgbe.reset-adapter"), 1_100, []));
                break;
            case "mlx5_core":
                lines.Add(new(driver, bus, ifn, R("mlx5.tx-timeout"), 1_000, [Carry.Reason]));
                lines.Add(new(driver, bus, ifn, R("mlx5.tx-timeout-queue", q, 0x1a2, 0x3b4, 0x0, 0x5, 27_541_000), 1_100, [Carry.Queue]));
                break;
            case "i40e":
                lines.Add(new(driver, bus, ifn, R("i40e.tx-timeout", 390, q, 0x1, 0x2, 0x3, 0x4, 0x1), 1_000, [Carry.Reason, Carry.Queue]));
                lines.Add(new(driver, bus, ifn, R("i40e.recovery.v2", 1, q), 1_100, [Carry.Queue]));
                break;
            case "virtio_net":
                lines.Add(new(driver, bus, ifn, R("virtio_net.tx-timeout", q, $"output.{q}", 1, $"output.{q}", ms * 1000L), 1_000, [Carry.Reason, Carry.Queue]));
                break;
            default:
                lines.Add(new(driver, bus, ifn, R("tg3.tx-timeout"), 1_000, [Carry.Reason]));
                break;
        }

        return new($"{driver}-netdev-watchdog", lines, new ExpectedReset
        {
            Reason = ResetFamily.NetdevWatchdog, Driver = driver, Dev = ifn, Pci = driver == "virtio_net" ? null : bus, Queue = q, Outcome = ResetOutcome.Unknown,
        });
    }

    private static BaseEvent R8125Watchdog68(int v)
    {
        (string ifn, string bus, int q, Random rng) = Pick(v);
        var lines = new List<EventLine>
        {
            new("r8125", bus, ifn, R("kernel.netdev-watchdog.v3", rng.Next(8), q, 5010 + rng.Next(600)), 0, [Carry.Reason, Carry.Queue]),
            new("r8125", bus, ifn, "rtl_rxtx_empty_cond == 0 (loop: 42, delay: 100).", 53_000, []),
        };
        return new("r8125-netdev-watchdog-6.8", lines, new ExpectedReset
        {
            Reason = ResetFamily.NetdevWatchdog, Driver = "r8125", Dev = ifn, Pci = bus, Queue = q, Outcome = ResetOutcome.Unknown,
        });
    }

    private static BaseEvent IxgbeTxHang(int v)
    {
        (string ifn, string bus, int q, _) = Pick(v);
        var lines = new List<EventLine>
        {
            new("ixgbe", bus, ifn, R("ixgbe.unit-hang"), 0, []),
            new(null, null, null, $"  Tx Queue             <{q}>", 10, [], Elidable: true),
            new(null, null, null, "  TDH, TDT             <1a>, <2b>", 20, [], Elidable: true),
            new("ixgbe", bus, ifn, R("ixgbe.tx-hang", 1, q), 1_000, [Carry.Reason, Carry.Queue]),
            new("ixgbe", bus, ifn, R("ixgbe.reset-adapter"), 1_100, []),
        };
        return new("ixgbe-tx-hang", lines, new ExpectedReset
        {
            Reason = ResetFamily.TxCompletionTimeout, Driver = "ixgbe", Dev = ifn, Pci = bus, Queue = q, Outcome = ResetOutcome.Unknown,
        });
    }

    // ---------------------------------------------------------------- collectors

    private static readonly DateTime s_wall = new(2026, 7, 14, 10, 10, 22, DateTimeKind.Utc);
    private const long UptimeBaseUs = 86_492_786_178;

    private static string Uptime(long us) => string.Create(CultureInfo.InvariantCulture, $"[{us / 1_000_000,5}.{us % 1_000_000:D6}]");

    private static string Wall(long us, string format) => s_wall.AddTicks(us * 10).ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Collector shapes with time (the layouts of Shapes.cs); the bool says whether the message names a device (kmsg adds SUBSYSTEM/DEVICE lines).</summary>
    public static readonly IReadOnlyList<Collector> Collectors =
    [
        new("dmesg", (m, us, _, _) => [$"{Uptime(UptimeBaseUs + us)} {m}"], ConsoleLike: true),
        new("dmesg-no-timestamp", (m, _, _, _) => [m], ConsoleLike: true),
        new("syslog", (m, us, _, _) => [$"{Wall(us, "MMM d HH:mm:ss").PadMonthDay()} {Host} kernel: {m}"], ConsoleLike: false),
        new("journal-short", (m, us, _, _) => [$"{Wall(us, "MMM dd HH:mm:ss")} {Host} kernel: {m}"], ConsoleLike: false),
        new("syslog-kernel-ts", (m, us, _, _) => [$"{Wall(us, "MMM d HH:mm:ss").PadMonthDay()} {Host} kernel: {Uptime(UptimeBaseUs + us)} {m}"], ConsoleLike: false),
        new("rfc3339", (m, us, _, _) => [$"{Wall(us, "yyyy-MM-dd'T'HH:mm:ss.ffffff")}+00:00 {Host} kernel: {m}"], ConsoleLike: false),
        new("kmsg", (m, us, seq, dev) => dev ? [$"4,{seq},{UptimeBaseUs + us},-;{m}", " SUBSYSTEM=net", " DEVICE=n2"] : [$"4,{seq},{UptimeBaseUs + us},-;{m}"], ConsoleLike: false),
    ];

    /// <summary>"Jul 4" → "Jul  4" (rsyslog pads the day with a space).</summary>
    private static string PadMonthDay(this string s) => s.Length > 4 && s[5] == ' ' ? s[..4] + " " + s[4..] : s;

    // ---------------------------------------------------------------- the pipeline

    /// <summary>Messages of an event before rendering: text, time, which event line, whether a mutation changed it.</summary>
    public sealed record Msg(string Text, long AtUs, int? Record, bool Mutated, bool NamesDevice, bool Foreign = false);

    public static List<Msg> Messages(BaseEvent b) => [.. b.Lines.Select((l, i) => new Msg(l.Message, l.AtUs, i, false, l.Driver is not null))];

    public static List<PLine> Render(IEnumerable<Msg> messages, Collector c)
    {
        var lines = new List<PLine>();
        int seq = 1500;
        foreach (Msg m in messages)
        {
            string[] physical = c.Render(m.Text, m.AtUs, seq++, m.NamesDevice);
            for (int i = 0; i < physical.Length; i++)
            {
                lines.Add(new PLine(physical[i], m.Record, Head: i == 0, m.Mutated, m.Foreign));
            }
        }

        return lines;
    }

    public static Mutated Unmutated(BaseEvent b, Collector c) => new(b, c, "none", Render(Messages(b), c), new HashSet<Carry>());

    // ---------------------------------------------------------------- class 1: strip the device prefix

    /// <summary>Strips the device prefix from the chosen lines: the whole <c>drv BUS ifname: </c>, or down to <c>ifname: </c>.</summary>
    public static Mutated StripPrefix(BaseEvent b, Collector c, Case k)
    {
        int[] prefixed = [.. b.Lines.Select((l, i) => (l, i)).Where(x => x.l.Driver is not null).Select(x => x.i)];
        int first = prefixed[k.Pick(0, prefixed.Length)];
        int count = 1 + k.Pick(1, prefixed.Length);
        var chosen = new HashSet<int>(Enumerable.Range(0, count).Select(j => prefixed[(Array.IndexOf(prefixed, first) + j) % prefixed.Length]));
        bool toIfname = k.Pick(2, 2) == 0;
        var notes = new List<string>();
        List<Msg> msgs = Messages(b);
        for (int i = 0; i < msgs.Count; i++)
        {
            if (!chosen.Contains(i))
            {
                continue;
            }

            EventLine l = b.Lines[i];
            bool ifOnly = toIfname && l.Ifname is not null;
            msgs[i] = msgs[i] with { Text = ifOnly ? $"{l.Ifname}: {l.Body}" : l.Body, Mutated = true };
            notes.Add($"line {i + 1} {(ifOnly ? "prefix reduced to 'ifname: '" : "prefix gone")}");
        }

        return new(b, c, "strip-prefix: " + string.Join(", ", notes), Render(msgs, c), new HashSet<Carry>());
    }

    // ---------------------------------------------------------------- class 2: wrap

    public enum WrapStyle
    {
        /// <summary>Mail client, format=flowed: break at the last space, keep the space at the end of the line.</summary>
        MailFlowed,

        /// <summary>Mail client: break at the last space and drop it.</summary>
        Mail,

        /// <summary>Terminal: cut at exactly W columns, mid-word.</summary>
        Terminal,
    }

    public static readonly int[] WrapWidths = [72, 76, 80];

    public static IEnumerable<string> WrapLine(string line, int width, WrapStyle style)
    {
        while (line.Length > width)
        {
            if (style == WrapStyle.Terminal)
            {
                yield return line[..width];
                line = line[width..];
                continue;
            }

            int sp = line.LastIndexOf(' ', width - 1);
            if (sp <= 0)
            {
                break; // one word longer than the width: mail clients leave it long
            }

            yield return style == WrapStyle.MailFlowed ? line[..(sp + 1)] : line[..sp];
            line = line[(sp + 1)..];
        }

        yield return line;
    }

    /// <summary>Wraps every physical line longer than the width.</summary>
    public static Mutated Wrap(BaseEvent b, Collector c, Case k)
    {
        int width = WrapWidths[k.Pick(0, WrapWidths.Length)];
        var style = (WrapStyle)k.Pick(1, 3);
        var lines = new List<PLine>();
        foreach (PLine l in Render(Messages(b), c))
        {
            string[] parts = [.. WrapLine(l.Text, width, style)];
            bool wrapped = parts.Length > 1;
            lines.AddRange(parts.Select((p, i) => l with { Text = p, Head = l.Head && i == 0, Mutated = wrapped }));
        }

        return new(b, c, $"wrap at {width} ({style})", lines, new HashSet<Carry>());
    }

    // ---------------------------------------------------------------- class 3: interleave another stream

    /// <summary>Another device's lines and unrelated kernel lines (none of them part of a reset).</summary>
    public static readonly string[] Foreign =
    [
        "ena 0000:00:07.0 eth3: Found a Tx that wasn't completed on time, qid 1, index 12.",
        "ixgbe 0000:03:00.1 eth2: NIC Link is Up 10 Gbps, Flow Control: RX/TX",
        "IPv6: ADDRCONF(NETDEV_CHANGE): eth2: link becomes ready",
        "audit: type=1400 audit(1689329422.123:456): apparmor=\"DENIED\" operation=\"open\" profile=\"snap.lxd\" name=\"/proc/1/environ\"",
        "EXT4-fs (nvme0n1p1): re-mounted. Opts: (null). Quota mode: none.",
        "ena 0000:00:07.0 eth3: queue_0_tx_cnt: 724709",
        "perf: interrupt took too long (2505 > 2500), lowering kernel.perf_event_max_sample_rate to 79750",
        "i40e 0000:3b:00.1 eth5: NIC Link is Down",
    ];

    /// <summary>Another program's output, printed on the serial console without a newline just before a kernel line.</summary>
    public static readonly string[] Glued =
    [
        "root@ip-10-0-1-5:~# ",
        "[  5]   3.00-4.00   sec   112 MBytes   941 Mbits/sec    0    345 KBytes       ",
        "\u001b[0;32m  OK  \u001b[0m] Started Session 3 of user ubuntu.",
        "root@lede:/# /etc/init",
        "ip-10-0-1-5 login: ",
    ];

    /// <summary>Look-alikes (issue item 5): resets and watchdogs of other kinds, link and VF events, driver banners.</summary>
    public static readonly string[] LookAlikes =
    [
        "hv_netvsc 6045bd8e-7a3b-6045-bd8e-7a3b6045bd8e eth3: Data path switched from VF: enP1s1",
        "hv_netvsc 6045bd8e-7a3b-6045-bd8e-7a3b6045bd8e eth3: VF unregistering: enP1s1",
        "hv_netvsc 6045bd8e-7a3b-6045-bd8e-7a3b6045bd8e eth3: Data path switched to VF: enP1s1",
        "hv_netvsc 6045bd8e-7a3b-6045-bd8e-7a3b6045bd8e eth3: VF registering: enP1s1",
        "hv_pci 3e5a4f2b-1c2d-4e5f-8a9b-0c1d2e3f4a5b: PCI VMBus probing: Using version 0x10004",
        "hv_netvsc 6045bd8e-7a3b-6045-bd8e-7a3b6045bd8e eth3: VF slot 1 removed",
        "ixgbe 0000:03:00.1 eth2: NIC Link is Down",
        "IPv6: ADDRCONF(NETDEV_UP): eth2: link is not ready",
        "bond0: (slave eth2): link status definitely down, disabling slave",
        "bond0: (slave eth4): making interface the new active one",
        "ena: Elastic Network Adapter (ENA) v2.11.0g",
        "ena 0000:00:07.0: Elastic Network Adapter (ENA) found at mem febf4000, mac addr 02:5c:aa:bb:cc:dd",
        "ena 0000:00:07.0 eth3: tx_timeout: 1",
        "usb 2-1: reset SuperSpeed USB device number 3 using xhci_hcd",
        "ata3: hard resetting link",
        "nvme nvme0: I/O 17 QID 2 timeout, reset controller",
        "sd 2:0:0:0: [sda] tag#12 timing out command, waited 180s",
        "systemd-journald[300]: Sent WATCHDOG=1 notification.",
    ];

    /// <summary>Puts foreign lines (rendered in the same collector, at the neighbour's time) between the event's lines, or glues another program's output to the start of a line on a console.</summary>
    public static Mutated Interleave(BaseEvent b, Collector c, Case k, IReadOnlyList<string> pool)
    {
        bool glue = k.Pick(0, 3) == 2 && c.ConsoleLike && ReferenceEquals(pool, Foreign);
        List<Msg> msgs = Messages(b);
        if (glue)
        {
            List<PLine> lines = Render(msgs, c);
            int[] heads = [.. lines.Select((l, i) => (l, i)).Where(x => x.l.Head).Select(x => x.i)];
            int n = 1 + k.Pick(1, Math.Min(2, heads.Length));
            var notes = new List<string>();
            var lost = new HashSet<Carry>();
            for (int j = 0; j < n; j++)
            {
                int at = heads[(k.Pick(2, heads.Length) + (j * 2)) % heads.Length];
                string g = Glued[k.Pick(3 + j, Glued.Length)];
                lines[at] = lines[at] with { Text = g + lines[at].Text, Mutated = true };
                notes.Add($"'{Fmt.Visible(g)}' glued to line {at + 1}");
                if (!LogScanner.IsCandidate(Encoding.UTF8.GetBytes(lines[at].Text)) && lines[at].Record is int record)
                {
                    // Glued into a word ("/etc/initena 0000:..."): no longer a line anyone can tell from a word.
                    lost.UnionWith(b.Lines[record].Carries);
                }
            }

            return new(b, c, "interleave (serial console): " + string.Join(", ", notes.Distinct()), lines, lost);
        }

        int inserts = 1 + k.Pick(1, 4);
        var notesI = new List<string>();
        for (int j = 0; j < inserts; j++)
        {
            int after = k.Pick(2 + j, msgs.Count);
            string text = pool[k.Pick(6 + j, pool.Count)];
            Msg near = msgs[after];
            msgs.Insert(after + 1, new Msg(text, near.AtUs, null, true, text.Contains(" eth", StringComparison.Ordinal), Foreign: true));
            notesI.Add($"'{text}' after message {after + 1}");
        }

        return new(b, c, (ReferenceEquals(pool, Foreign) ? "interleave: " : "look-alikes: ") + string.Join("; ", notesI), Render(msgs, c), new HashSet<Carry>());
    }

    // ---------------------------------------------------------------- class 4: elide

    public static readonly string[] ElisionLines = ["...", "[...]", "..", ".", "... [several repeats of the above message]"];

    /// <summary>Human elisions: marker lines between the event's lines, a run of repeated lines replaced by a marker, or a line cut at a random point and ended with "...".</summary>
    public static Mutated Elide(BaseEvent b, Collector c, Case k)
    {
        int mode = k.Pick(0, 3);
        var lost = new HashSet<Carry>();
        List<Msg> msgs = Messages(b);
        string marker = ElisionLines[k.Pick(1, ElisionLines.Length)];
        if (mode == 1 && b.Lines.Any(l => l.Elidable))
        {
            int[] elidable = [.. b.Lines.Select((l, i) => (l, i)).Where(x => x.l.Elidable).Select(x => x.i)];
            int start = elidable[k.Pick(2, elidable.Length)];
            int end = start;
            while (end + 1 < b.Lines.Count && b.Lines[end + 1].Elidable && end - start < k.Pick(3, 4))
            {
                end++;
            }

            foreach (Carry x in b.Lines.Skip(start).Take(end - start + 1).SelectMany(l => l.Carries))
            {
                lost.Add(x);
            }

            List<PLine> rendered = Render(msgs, c);
            int at = rendered.FindIndex(l => l.Record == start);
            rendered.RemoveAll(l => l.Record is { } r && r >= start && r <= end);
            rendered.Insert(at, new PLine(marker, null, true, true));
            return new(b, c, $"elide: event lines {start + 1}..{end + 1} replaced by '{marker}'", rendered, lost);
        }

        if (mode == 2)
        {
            // Cut inside the message body, after at least 8 of its characters: the line still shows which device and
            // message it began (a cut that leaves only "r..." is no longer a line of the event, just noise).
            int i = k.Pick(2, msgs.Count);
            string text = msgs[i].Text;
            int prefix = text.Length - b.Lines[i].Body.Length;
            int from = prefix + Math.Min(8, b.Lines[i].Body.Length - 1);
            int cut = from + k.Pick(3, Math.Max(1, text.Length - from));
            string end = k.Pick(4, 4) == 3 ? " [...]" : "...";
            msgs[i] = msgs[i] with { Text = text[..cut] + end, Mutated = true };
            foreach (Carry x in b.Lines[i].Carries)
            {
                lost.Add(x);
            }

            return new(b, c, $"elide: event line {i + 1} cut after {cut} characters and ended with '{end}'", Render(msgs, c), lost);
        }

        List<PLine> lines = Render(msgs, c);
        int[] heads = [.. lines.Select((l, idx) => (l, idx)).Where(x => x.l.Head).Select(x => x.idx)];
        int n = 1 + k.Pick(5, 3);
        var positions = new SortedSet<int>(Enumerable.Range(0, n).Select(j => heads[k.Pick(6 + j, heads.Length)]));
        foreach ((int before, int j) in positions.Reverse().Select((p, j) => (p, j)))
        {
            lines.Insert(before, new PLine(ElisionLines[k.Pick(9 + j, ElisionLines.Length)], null, true, true));
        }

        var notes = lines.Select((l, idx) => (l, idx)).Where(x => x.l.Mutated).Select(x => x.idx + 1).ToList();
        return new(b, c, $"elide: marker lines inserted at {string.Join(", ", notes)}", lines, lost);
    }

    // ---------------------------------------------------------------- class 5: repeat

    /// <summary>A line, or the whole excerpt, pasted twice (same timestamps: the same records, not new ones).</summary>
    public static Mutated Repeat(BaseEvent b, Collector c, Case k)
    {
        List<PLine> lines = Render(Messages(b), c);
        if (k.Pick(0, 2) == 1)
        {
            // Without stamps or counters, two copies of a reset read exactly like a reset loop (ENA keep-alive crash loops do).
            bool indistinct = c.Name == "dmesg-no-timestamp" && !b.Lines.Any(l => System.Text.RegularExpressions.Regex.IsMatch(l.Body, @"^[a-z_0-9]+: \d+$"));
            return new(b, c, "repeat: the whole excerpt pasted twice", [.. lines, .. lines.Select(l => l with { Mutated = true })], new HashSet<Carry>(), indistinct ? 2 : 1);
        }

        int record = k.Pick(1, b.Lines.Count);
        PLine[] copy = [.. lines.Where(l => l.Record == record).Select(l => l with { Mutated = true })];
        int after = lines.FindLastIndex(l => l.Record == record);
        lines.InsertRange(after + 1, copy);
        return new(b, c, $"repeat: event line {record + 1} pasted twice", lines, new HashSet<Carry>());
    }

    // ---------------------------------------------------------------- repeated NETDEV WATCHDOG firings

    /// <summary>The devices of kernel ≥ 6.8 watchdog lines (netdev_crit, printed at every firing).</summary>
    public static readonly (string Driver, string Bus, string If)[] WatchdogDevices =
    [
        ("mtk_soc_eth", "1e100000.ethernet", "eth0"),
        ("r8125", "0000:22:04.0", "eth4"),
        ("ena", "0000:90:00.0", "eth0"),
        ("igb", "0000:01:00.0", "eth1"),
        ("virtio_net", "virtio1", "ens3"),
    ];

    /// <summary>Firings of one ongoing stall every ~5 s with growing "timed out N ms"; optionally a second stall on the same queue after the queue recovered.</summary>
    public sealed record Firings(Collector Collector, string Driver, string? Pci, string Dev, int Queue, IReadOnlyList<(long AtUs, long Ms)> First, IReadOnlyList<(long AtUs, long Ms)> Second, IReadOnlyList<string> Lines)
    {
        public string Text => string.Join("\n", Lines) + "\n";
    }

    public static Firings WatchdogFirings(Case k)
    {
        (string drv, string bus, string ifn) = WatchdogDevices[k.Base % WatchdogDevices.Length];
        Collector c = Collectors.Where(x => x.Name != "dmesg-no-timestamp").ElementAt(k.Collector % (Collectors.Count - 1));
        var rng = new Random(k.Variant);
        int q = k.Pick(0, 16);
        int cpu = k.Pick(1, 8);
        int n = 2 + k.Pick(2, 11);
        long ms0 = 5000 + k.Pick(3, 400) * 1000L + rng.Next(300);
        var first = new List<(long, long)>();
        long at = 0;
        for (int i = 0; i < n; i++)
        {
            long jitter = rng.Next(-40_000, 40_000);
            first.Add((at, ms0 + (i * 5000) + (jitter / 1000)));
            at += 5_000_000 + jitter;
        }

        var second = new List<(long, long)>();
        if (k.Pick(4, 2) == 1)
        {
            at += 60_000_000 + rng.Next(600_000_000); // the queue recovered; a new stall starts later
            int m = 1 + k.Pick(5, 6);
            for (int i = 0; i < m; i++)
            {
                second.Add((at, 5000 + (i * 5000) + rng.Next(400)));
                at += 5_000_000 + rng.Next(-40_000, 40_000);
            }
        }

        var lines = new List<string>();
        int seq = 7000;
        foreach ((long t, long ms) in first.Concat(second))
        {
            string msg = $"{drv} {bus} {ifn}: {R("kernel.netdev-watchdog.v3", cpu, q, ms)}";
            lines.AddRange(c.Render(msg, t, seq++, true));
        }

        return new Firings(c, drv, SignatureMatcher.IsPciAddress(bus) ? bus : null, ifn, q, first, second, lines);
    }

    // ---------------------------------------------------------------- judging

    /// <summary>
    /// The property of every mutation class: nothing is invented (no more resets than the event has, repeats counted; no
    /// reason other than the event's or "other"; no value of dev, driver, pci, queue or a decoded field other than the
    /// event's; no outcome other than the event's or unknown unless a line that carried the outcome was cut), and either
    /// the event survives (one reset, same reason, dev when a line still names the interface, queue, outcome, decoded
    /// fields; a field may be null only if a line that carried it was cut) or the scan lists one of the mutated lines
    /// among the lines it could not use, with a reason. Returns null when it holds, else what went wrong.
    /// </summary>
    public static string? Judge(Mutated m, FileScanResult r)
    {
        ExpectedReset e = m.Base.Expected;
        var invented = new List<string>();
        int effective = r.Resets.Sum(x => Math.Max(1, x.Event.Repeats));
        if (effective > m.MayHold)
        {
            invented.Add($"{r.Resets.Count} reset(s){(effective != r.Resets.Count ? $" ({effective} counting repeats)" : string.Empty)} where the input holds {m.MayHold}");
        }

        foreach (ResetEvent x in r.Resets.Select(s => s.Event))
        {
            void Diff<T>(string name, T? actual, T? expected)
            {
                if (actual is not null && !Equals(actual, expected))
                {
                    invented.Add($"line {x.Line}: {name} {Fmt.V(actual)} (event: {Fmt.V(expected)})");
                }
            }

            if (x.Reason != e.Reason && x.Reason != ResetFamily.Other)
            {
                invented.Add($"line {x.Line}: reason {x.Reason.ToJsonName()} (event: {e.Reason.ToJsonName()})");
            }

            Diff("driver", x.Driver, e.Driver);
            Diff("dev", x.Dev, e.Dev);
            Diff("pci", x.Pci, e.Pci);
            Diff("queue", x.Queue, e.Queue);
            Diff("threshold_usec", x.ThresholdUsec, e.ThresholdUsec);
            Diff("since_napi_usec", x.SinceNapiUsec, e.SinceNapiUsec);
            Diff("napi_scheduled", x.NapiScheduled, e.NapiScheduled);
            Diff("napi_cpu", x.NapiCpu, e.NapiCpu);
            Diff("driver_version", x.DriverVersion, e.DriverVersion);
            if (!m.Lost.Contains(Carry.Outcome) && x.Outcome != e.Outcome && x.Outcome != ResetOutcome.Unknown)
            {
                invented.Add($"line {x.Line}: outcome {x.Outcome.ToJsonName()} (event: {e.Outcome.ToJsonName()})");
            }
        }

        if (invented.Count > 0)
        {
            return "INVENTED: " + string.Join("; ", invented);
        }

        var lostWhat = new List<string>();
        if (r.Resets.Count == 0)
        {
            lostWhat.Add("no reset found");
        }
        else
        {
            ResetEvent x = r.Resets[0].Event;
            void Need<T>(string name, T? actual, T? expected, bool mayBeNull)
            {
                if (!Equals(actual, expected) && !(actual is null && mayBeNull))
                {
                    lostWhat.Add($"{name} {Fmt.V(actual)} (event: {Fmt.V(expected)})");
                }
            }

            if (x.Reason != e.Reason)
            {
                lostWhat.Add($"reason {x.Reason.ToJsonName()} (event: {e.Reason.ToJsonName()})");
            }

            Need("driver", x.Driver, e.Driver, !m.DriverNamed);
            Need("dev", x.Dev, e.Dev, !m.DevNamed);
            Need("pci", x.Pci, e.Pci, !m.PciNamed);
            Need("queue", x.Queue, e.Queue, m.Lost.Contains(Carry.Queue));
            Need("threshold_usec", x.ThresholdUsec, e.ThresholdUsec, m.Lost.Contains(Carry.Threshold));
            Need("since_napi_usec", x.SinceNapiUsec, e.SinceNapiUsec, m.Lost.Contains(Carry.SinceNapi));
            Need("napi_scheduled", x.NapiScheduled, e.NapiScheduled, m.Lost.Contains(Carry.NapiScheduled));
            Need("napi_cpu", x.NapiCpu, e.NapiCpu, m.Lost.Contains(Carry.NapiCpu));
            Need("driver_version", x.DriverVersion, e.DriverVersion, m.Lost.Contains(Carry.Version));
            if (x.Outcome != e.Outcome && !m.Lost.Contains(Carry.Outcome))
            {
                lostWhat.Add($"outcome {x.Outcome.ToJsonName()} (event: {e.Outcome.ToJsonName()})");
            }
        }

        if (lostWhat.Count == 0)
        {
            return null;
        }

        IReadOnlySet<int> mutatedLines = m.MutatedLines;
        if (r.UnusableLines > 0 && r.Unusable.Any(u => mutatedLines.Contains(u.Line) && !string.IsNullOrWhiteSpace(u.Reason)))
        {
            return null;
        }

        return "LOST, and no mutated line is listed as unusable: " + string.Join("; ", lostWhat);
    }

    /// <summary>The failure text: what was generated, what a correct scan reports, what the scanner did, the input.</summary>
    public static string Explain(Case k, Mutated m, FileScanResult r, string verdict) =>
        $"""
        {verdict}
          {k}
          base: {m.Base.Name}; collector: {m.Collector.Name}; mutation: {m.Description}{(m.Lost.Count > 0 ? $"; values whose carrier line was cut: {string.Join(", ", m.Lost)}" : string.Empty)}
          expected: 1 reset {m.Base.Expected}
          scanner:  {Fmt.Scan(r)}
          input ({m.Lines.Count} lines, * = made or changed by the mutation):
        {m.Listing()}
        """;
}

/// <summary>Short renderings for failure messages.</summary>
internal static class Fmt
{
    public static string V(object? v) => v switch
    {
        null => "null",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "null",
    };

    public static string Reset(ResetFamily reason, string? driver, string? dev, string? pci, int? queue, ResetOutcome outcome, long? threshold, long? since, bool? napi, int? napiCpu, string? version) =>
        $"reason={reason.ToJsonName()} driver={V(driver)} dev={V(dev)} pci={V(pci)} queue={V(queue)} outcome={outcome.ToJsonName()}" +
        (threshold is null ? string.Empty : $" threshold_usec={V(threshold)}") + (since is null ? string.Empty : $" since_napi_usec={V(since)}") +
        (napi is null ? string.Empty : $" napi_scheduled={V(napi)}") + (napiCpu is null ? string.Empty : $" napi_cpu={V(napiCpu)}") +
        (version is null ? string.Empty : $" driver_version={V(version)}");

    public static string Event(ResetEvent e) =>
        $"[line {e.Line} ts={V(e.Ts)} {Reset(e.Reason, e.Driver, e.Dev, e.Pci, e.Queue, e.Outcome, e.ThresholdUsec, e.SinceNapiUsec, e.NapiScheduled, e.NapiCpu, e.DriverVersion)} repeats={e.Repeats} last_ts={V(e.LastTs)} stalled_ms={V(e.StalledMs)} lines={string.Join(",", e.Lines)}]";

    public static string Scan(FileScanResult r) =>
        $"{r.Resets.Count} reset(s) {string.Join(" ", r.Resets.Select(x => Event(x.Event)))}; precursors {r.Precursors.Count}; unusable {r.UnusableLines}" +
        (r.Unusable.Count == 0 ? string.Empty : " [" + string.Join("; ", r.Unusable.Select(u => $"line {u.Line} {u.Reason}")) + "]");

    public static string Visible(string s) => s.Replace("\u001b", "\\e", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal) + (s.EndsWith(' ') ? "⏎" : string.Empty);
}
