using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ResetScope.Lab;
using ResetScope.Testing;
using Xunit.Abstractions;

namespace ResetScope.Cli.Tests;

/// <summary>
/// The agent as it runs on a node (its own process, reading the real /dev/kmsg) while 200,000 records are written
/// into the kernel log with five complete resets inside: it must lose none of them with a core free, commit every
/// reset, and stay inside the systemd unit's MemoryMax. The records carry a per-run tag only this agent trusts;
/// kernel.printk_devkmsg is lifted for the flood and restored by it.
/// </summary>
[Collection(LiveCollection.Name)]
public sealed class AgentFloodLiveTests(ITestOutputHelper output)
{
    private const int Records = 200_000;
    private const int Resets = 5;
    private const double Rate = 20_000; // the issue's reproduction: 20,000 records in about 2 s lost 15 %; this is 10 s of that pace

    [RootFact("write /dev/kmsg and lift kernel.printk_devkmsg", 2, "/dev/kmsg", "/proc/sys/kernel/printk_devkmsg")]
    public void A_flood_of_200000_records_with_resets_inside_loses_none_and_stays_inside_the_units_memory_limit()
    {
        string tag = $"resetscope-test-flood-{Guid.NewGuid():N}: ";
        string directory = Directory.CreateTempSubdirectory("resetscope-flood-").FullName;
        int port = FreePort();
        using Process agent = StartAgent(tag, directory, port);
        try
        {
            WaitForReady(agent);
            Metrics(port).TryGetValue("resetscope_kmsg_lost_records_total", out double lostBefore);

            KmsgFloodResult flood = KmsgFlood.Write(new KmsgFloodOptions
            {
                Records = Records,
                RatePerSecond = Rate,
                Tag = tag,
                Resets = Resets,
                ResetLines = KmsgFlood.KeepAliveResetLines(),
            });
            flood.Records.Should().Be(Records);

            Dictionary<string, double> after = WaitFor(port, m => m.GetValueOrDefault("resetscope_incidents_total{kind=\"reset\"}") >= Resets);
            long peakKb = StatusKb(agent.Id, "VmHWM");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {flood.Records + flood.ResetRecords} records at {flood.RecordsPerSecond:0}/s; agent peak RSS {peakKb / 1024.0:0.0} MB; lost {after["resetscope_kmsg_lost_records_total"] - lostBefore}"));

            (after["resetscope_kmsg_lost_records_total"] - lostBefore).Should().Be(0, "the agent drains /dev/kmsg faster than 20,000 records/s with a core free");
            after["resetscope_incidents_total{kind=\"reset\"}"].Should().Be(Resets);
            after["resetscope_incidents_dropped_total{kind=\"reset\"}"].Should().Be(0);
            after["resetscope_kernel_log_capped_total"].Should().Be(0, "nothing in this flood needs a cap: its lines join at most one reset at a time");
            peakKb.Should().BeLessThan(UnitMemoryMaxKb(), "the unit's MemoryMax would kill the agent");
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill();
                agent.WaitForExit();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    private static Process StartAgent(string tag, string directory, int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[]
        {
            typeof(Program).Assembly.Location, "agent", "--store", Path.Combine(directory, "incidents.db"),
            "--metrics-listen", $"127.0.0.1:{port}", "--trust-test-records", tag, "--duration", "90s",
        })
        {
            start.ArgumentList.Add(a);
        }

        // The runtime settings ./resetscope runs the agent with (see the launcher).
        start.Environment["DOTNET_GCgen0size"] = "0x100000";
        start.Environment["DOTNET_gcConcurrent"] = "0";
        start.Environment["MALLOC_MMAP_THRESHOLD_"] = "65536";
        return Process.Start(start)!;
    }

    private static void WaitForReady(Process agent)
    {
        // The agent says "resetscope agent: recording N CPUs; ..." on stderr once it has read the backlog and serves /metrics.
        var said = new List<string>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            Task<string?> line = agent.StandardError.ReadLineAsync();
            if (!line.Wait(TimeSpan.FromSeconds(30) - clock.Elapsed) || line.Result is null)
            {
                break;
            }

            said.Add(line.Result);
            if (line.Result.StartsWith("resetscope agent: recording", StringComparison.Ordinal))
            {
                _ = agent.StandardError.ReadToEndAsync();
                _ = agent.StandardOutput.ReadToEndAsync();
                return;
            }
        }

        throw new Xunit.Sdk.XunitException($"the agent did not start within 30 s; it said: {string.Join(" | ", said)}");
    }

    private static Dictionary<string, double> WaitFor(int port, Func<Dictionary<string, double>, bool> done)
    {
        var clock = Stopwatch.StartNew();
        Dictionary<string, double> m = Metrics(port);
        while (!done(m) && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            using var pause = new ManualResetEventSlim();
            pause.Wait(TimeSpan.FromMilliseconds(200)); // the live agent commits on real time
            m = Metrics(port);
        }

        return m;
    }

    private static Dictionary<string, double> Metrics(int port)
    {
        using var http = new HttpClient();
        string text = http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")).GetAwaiter().GetResult();
        var values = new Dictionary<string, double>();
        foreach (string line in text.Split('\n'))
        {
            int space = line.LastIndexOf(' ');
            if (line.Length > 0 && line[0] != '#' && space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            {
                values[line[..space]] = v;
            }
        }

        return values;
    }

    private static long StatusKb(int pid, string field)
    {
        string line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static long UnitMemoryMaxKb()
    {
        string unit = Path.Combine(RepoRoot(), "deploy", "systemd", "resetscope-agent.service");
        string value = File.ReadLines(unit).Single(l => l.StartsWith("MemoryMax=", StringComparison.Ordinal))["MemoryMax=".Length..];
        value.Should().EndWith("M");
        return long.Parse(value[..^1], CultureInfo.InvariantCulture) * 1024;
    }

    private static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "ResetScope.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("the repository root (ResetScope.slnx) is not above the test's directory");
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
