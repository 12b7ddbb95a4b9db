using System.Globalization;

namespace ResetScope.Host.Nic;

/// <summary>What sysfs says about one interface: per-queue watchdog timeouts, carrier bounces, RPS/XPS masks.</summary>
public sealed record NicQueueState(string Interface, long? CarrierChanges, IReadOnlyList<long> TxTimeouts, IReadOnlyList<string> RpsCpus, IReadOnlyList<string> XpsCpus)
{
    /// <summary>Sum of /sys/class/net/IF/queues/tx-N/tx_timeout: every netdev-watchdog firing, even where the log printed it once per boot.</summary>
    public long TxTimeoutTotal => TxTimeouts.Sum();
}

/// <summary>
/// Reads /sys/class/net/&lt;if&gt;: carrier_changes (most resets bounce carrier), queues/tx-*/tx_timeout (the
/// kernel counts every dev_watchdog timeout there), queues/rx-*/rps_cpus and queues/tx-*/xps_cpus; and
/// irqbalance's banned CPUs from its configuration. Slow cadence; root path injectable.
/// </summary>
public sealed class NicSysfsProbe(string sysRoot = "/sys", string etcRoot = "/etc")
{
    public NicQueueState Read(string iface)
    {
        string dir = Path.Combine(sysRoot, "class/net", iface);
        string queues = Path.Combine(dir, "queues");
        return new NicQueueState(
            iface,
            ReadLong(Path.Combine(dir, "carrier_changes")),
            Ordered(queues, "tx-").Select(q => ReadLong(Path.Combine(q, "tx_timeout")) ?? 0).ToList(),
            Ordered(queues, "rx-").Select(q => ReadText(Path.Combine(q, "rps_cpus")) ?? "").ToList(),
            Ordered(queues, "tx-").Select(q => ReadText(Path.Combine(q, "xps_cpus")) ?? "").ToList());
    }

    /// <summary>
    /// CPUs irqbalance keeps IRQs off: IRQBALANCE_BANNED_CPULIST (a list, newer irqbalance) or
    /// IRQBALANCE_BANNED_CPUS (a hex mask) from /etc/default/irqbalance or /etc/sysconfig/irqbalance.
    /// </summary>
    public IReadOnlyList<int> IrqbalanceBannedCpus()
    {
        foreach (string file in new[] { "default/irqbalance", "sysconfig/irqbalance" })
        {
            string path = Path.Combine(etcRoot, file);
            string? text = ReadText(path);
            if (text is null)
            {
                continue;
            }

            foreach (string raw in text.Split('\n'))
            {
                string line = raw.Trim();
                if (line.StartsWith("IRQBALANCE_BANNED_CPULIST=", StringComparison.Ordinal))
                {
                    return ParseList(Unquote(line["IRQBALANCE_BANNED_CPULIST=".Length..]));
                }

                if (line.StartsWith("IRQBALANCE_BANNED_CPUS=", StringComparison.Ordinal))
                {
                    return ParseMask(Unquote(line["IRQBALANCE_BANNED_CPUS=".Length..]));
                }
            }
        }

        return [];
    }

    /// <summary>A sysfs CPU mask ("ff,00000001") as CPU numbers.</summary>
    public static IReadOnlyList<int> ParseMask(string mask)
    {
        string hex = mask.Replace(",", "", StringComparison.Ordinal).Trim();
        var cpus = new List<int>();
        for (int i = 0; i < hex.Length; i++)
        {
            int nibble = int.Parse(hex[hex.Length - 1 - i].ToString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            for (int b = 0; b < 4; b++)
            {
                if ((nibble & (1 << b)) != 0)
                {
                    cpus.Add(i * 4 + b);
                }
            }
        }

        return cpus;
    }

    /// <summary>A CPU list ("0-3,8,10-11").</summary>
    public static IReadOnlyList<int> ParseList(string list)
    {
        var cpus = new List<int>();
        foreach (string part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split('-');
            int from = int.Parse(range[0], CultureInfo.InvariantCulture);
            int to = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : from;
            for (int c = from; c <= to; c++)
            {
                cpus.Add(c);
            }
        }

        return cpus;
    }

    private static string Unquote(string s) => s.Trim().Trim('"', '\'');

    private static IEnumerable<string> Ordered(string queues, string prefix)
    {
        if (!Directory.Exists(queues))
        {
            return [];
        }

        return Directory.GetDirectories(queues, prefix + "*")
            .OrderBy(d => int.TryParse(Path.GetFileName(d)[prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : int.MaxValue);
    }

    private static long? ReadLong(string path) =>
        long.TryParse(ReadText(path), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : null;

    private static string? ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // absent on old kernels or virtual devices: a fact, not an error
        }
    }
}
