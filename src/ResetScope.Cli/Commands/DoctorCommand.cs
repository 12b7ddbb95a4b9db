using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ResetScope.Host;

namespace ResetScope.Cli.Commands;

/// <summary>
/// <c>resetscope doctor</c>. This build reports what ResetScope can read on this host — kernel, CPUs, NICs and
/// their drivers, the kernel log, cgroup hierarchies, privileges. Reset triage (kernel-log scan, per-core
/// sampling, ranked findings) is not in this build yet, and the command says so rather than pretending.
/// </summary>
public static class DoctorCommand
{
    public static Command Create(IConsole console)
    {
        var json = new Option<bool>("--json") { Description = "one JSON object with the host facts" };
        var procRoot = new Option<string>("--proc-root") { Description = "where procfs is mounted", DefaultValueFactory = _ => "/proc" };
        var sysRoot = new Option<string>("--sys-root") { Description = "where sysfs is mounted", DefaultValueFactory = _ => "/sys" };
        var kmsg = new Option<string>("--kmsg") { Description = "the kernel log device", DefaultValueFactory = _ => "/dev/kmsg" };
        var command = new Command("doctor", "Check this host: what ResetScope can read here (kernel, NICs and drivers, kernel log, cgroups, privileges).")
        {
            json, procRoot, sysRoot, kmsg,
        };
        command.SetAction(parse =>
        {
            string proc = parse.GetValue(procRoot)!;
            if (!Directory.Exists(proc))
            {
                throw new UserFacingException($"{proc}: no such directory; --proc-root must point at a procfs tree");
            }

            HostFacts facts = HostFacts.Read(proc, parse.GetValue(sysRoot)!, parse.GetValue(kmsg)!);
            if (parse.GetValue(json))
            {
                WriteJson(console.Out, facts);
            }
            else
            {
                WriteHuman(console.Out, facts);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteHuman(TextWriter w, HostFacts f)
    {
        string uptime = f.UptimeSeconds is double u ? string.Create(CultureInfo.InvariantCulture, $" · up {u / 3600:0.0} h") : "";
        w.WriteLine($"resetscope doctor · kernel {f.KernelRelease ?? "unknown"} · {f.Cpus} CPUs{uptime}");
        w.WriteLine(f.KernelLogReadable ? "  kernel log      /dev/kmsg readable" : $"  kernel log      not readable: {f.KernelLogProblem}");
        foreach (NetInterface nic in f.Interfaces)
        {
            string driver = nic.Driver is null ? "no driver (virtual)" : nic.Driver + (nic.DriverVersion is { } v ? $" {v}" : "");
            string bus = nic.BusId is null ? "" : $" at {nic.BusId}";
            w.WriteLine($"  interface       {nic.Name}: {driver}{bus}, {nic.TxQueues} Tx queue(s)");
        }

        string cg = (f.CgroupV1Memory, f.CgroupV2) switch
        {
            (true, true) => "v1 memory hierarchy and a v2 hierarchy",
            (true, false) => "v1 memory hierarchy",
            (false, true) => "v2 hierarchy",
            _ => "none found",
        };
        w.WriteLine($"  memory cgroups  {cg}");
        w.WriteLine($"  privileges      {(f.IsRoot ? "root" : "unprivileged: kernel stacks and /dev/kmsg need root or CAP_SYSLOG/CAP_SYS_PTRACE")}");
        List<NetInterface> ena = f.Interfaces.Where(n => n.Driver == "ena").ToList();
        w.WriteLine();
        w.WriteLine(ena.Count > 0
            ? $"ENA interfaces: {string.Join(", ", ena.Select(n => n.Name))}."
            : "No ENA interface on this host; `resetscope simulate` runs the ENA reset mechanism anywhere.");
        w.WriteLine("This build checks what can be read here; reset triage (kernel-log scan, per-core sampling, findings) is not in it yet.");
    }

    private static void WriteJson(TextWriter w, HostFacts f)
    {
        using var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer))
        {
            j.WriteStartObject();
            j.WriteString("kind", "host");
            j.WriteString("kernel", f.KernelRelease);
            j.WriteNumber("cpus", f.Cpus);
            if (f.UptimeSeconds is double u)
            {
                j.WriteNumber("uptime_s", u);
            }
            else
            {
                j.WriteNull("uptime_s");
            }

            j.WriteBoolean("kernel_log_readable", f.KernelLogReadable);
            j.WriteString("kernel_log_problem", f.KernelLogProblem);
            j.WriteStartArray("interfaces");
            foreach (NetInterface n in f.Interfaces)
            {
                j.WriteStartObject();
                j.WriteString("name", n.Name);
                j.WriteString("driver", n.Driver);
                j.WriteString("driver_version", n.DriverVersion);
                j.WriteString("bus", n.BusId);
                j.WriteNumber("tx_queues", n.TxQueues);
                j.WriteEndObject();
            }

            j.WriteEndArray();
            j.WriteBoolean("cgroup_v1_memory", f.CgroupV1Memory);
            j.WriteBoolean("cgroup_v2", f.CgroupV2);
            j.WriteBoolean("root", f.IsRoot);
            j.WriteString("triage", "not in this build");
            j.WriteEndObject();
        }

        w.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        w.Write('\n');
    }
}
