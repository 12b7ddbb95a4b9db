using System.Globalization;

namespace ResetScope.Host;

/// <summary>A network interface and the driver bound to it.</summary>
public sealed record NetInterface(string Name, string? Driver, string? DriverVersion, string? BusId, int TxQueues);

/// <summary>What a host is, as far as triage needs to know up front.</summary>
public sealed record HostFacts
{
    public string? KernelRelease { get; init; }
    public int Cpus { get; init; }
    public double? UptimeSeconds { get; init; }
    public IReadOnlyList<NetInterface> Interfaces { get; init; } = [];
    public bool CgroupV1Memory { get; init; }
    public bool CgroupV2 { get; init; }
    public bool IsRoot { get; init; }

    /// <summary>
    /// Reads the facts from <paramref name="procRoot"/> and <paramref name="sysRoot"/> (normally /proc and /sys).
    /// Missing files are facts too: they leave the field empty instead of failing.
    /// </summary>
    /// <summary>Writes the <c>"interfaces"</c> array property (name, driver, driver_version, bus, tx_queues), as doctor and incidents show it.</summary>
    public void WriteInterfacesJson(System.Text.Json.Utf8JsonWriter w)
    {
        w.WriteStartArray("interfaces");
        foreach (NetInterface n in Interfaces)
        {
            w.WriteStartObject();
            w.WriteString("name", n.Name);
            w.WriteString("driver", n.Driver);
            w.WriteString("driver_version", n.DriverVersion);
            w.WriteString("bus", n.BusId);
            w.WriteNumber("tx_queues", n.TxQueues);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    public static HostFacts Read(string procRoot = "/proc", string sysRoot = "/sys")
    {
        return new HostFacts
        {
            KernelRelease = ReadLine(Path.Combine(procRoot, "sys/kernel/osrelease")),
            Cpus = CountCpus(Path.Combine(procRoot, "stat")),
            UptimeSeconds = ReadLine(Path.Combine(procRoot, "uptime")) is { } up
                && double.TryParse(up.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double u) ? u : null,
            Interfaces = ReadInterfaces(Path.Combine(sysRoot, "class/net"), Path.Combine(sysRoot, "module")),
            CgroupV1Memory = Directory.Exists(Path.Combine(sysRoot, "fs/cgroup/memory")),
            CgroupV2 = File.Exists(Path.Combine(sysRoot, "fs/cgroup/cgroup.controllers")) || File.Exists(Path.Combine(sysRoot, "fs/cgroup/unified/cgroup.controllers")),
            IsRoot = Environment.UserName == "root",
        };
    }

    private static string? ReadLine(string path)
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

    private static int CountCpus(string statPath)
    {
        try
        {
            return File.ReadLines(statPath).Count(l => l.StartsWith("cpu", StringComparison.Ordinal) && l.Length > 3 && char.IsAsciiDigit(l[3]));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Environment.ProcessorCount;
        }
    }

    private static List<NetInterface> ReadInterfaces(string classNet, string modules)
    {
        var list = new List<NetInterface>();
        if (!Directory.Exists(classNet))
        {
            return list;
        }

        foreach (string dir in Directory.GetFileSystemEntries(classNet).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            string? driver = null;
            string? bus = null;
            string driverLink = Path.Combine(dir, "device", "driver");
            try
            {
                if (new DirectoryInfo(driverLink).LinkTarget is { } target)
                {
                    driver = Path.GetFileName(target);
                }
                else if (Directory.Exists(driverLink) || File.Exists(Path.Combine(driverLink, "name")))
                {
                    driver = ReadLine(Path.Combine(driverLink, "name"));
                }

                if (new DirectoryInfo(Path.Combine(dir, "device")).LinkTarget is { } device)
                {
                    bus = Path.GetFileName(device);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            int txQueues = Directory.Exists(Path.Combine(dir, "queues"))
                ? Directory.GetDirectories(Path.Combine(dir, "queues"), "tx-*").Length
                : 0;
            string? version = driver is null ? null : ReadLine(Path.Combine(modules, driver, "version"));
            list.Add(new NetInterface(name, driver, version, bus, txQueues));
        }

        return list;
    }
}
