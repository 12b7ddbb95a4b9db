using System.Text;
using ResetScope.Agent.Metrics;
using ResetScope.Agent.Service;
using ResetScope.Agent.Store;
using ResetScope.Core;
using ResetScope.Ena.Simulation;
using ResetScope.Host.Kmsg;
using ResetScope.Testing.HostTrees;

namespace ResetScope.Agent.Tests.Service;

/// <summary>/dev/kmsg as a script: records appended by the test, an overwrite (EPIPE) where the test puts one.</summary>
internal sealed class ScriptedKmsg : IKmsgSource
{
    private readonly Queue<byte[]?> _items = new();

    public void Add(string kmsgLine) => _items.Enqueue(Encoding.UTF8.GetBytes(kmsgLine));

    public void AddRange(IEnumerable<string> kmsgLines)
    {
        foreach (string line in kmsgLines)
        {
            Add(line);
        }
    }

    /// <summary>The next read fails with EPIPE, as when the kernel overwrote records before they were read.</summary>
    public void AddOverwritten() => _items.Enqueue(null);

    public int Read(Span<byte> buffer)
    {
        if (!_items.TryDequeue(out byte[]? item))
        {
            return 0;
        }

        if (item is null)
        {
            return KmsgReader.Overwritten;
        }

        item.CopyTo(buffer);
        return item.Length;
    }

    public void Dispose()
    {
    }
}

/// <summary>An agent on a generated host tree, a scripted kernel log and a real SQLite store, in virtual time.</summary>
internal sealed class AgentHarness : IDisposable
{
    public const string BootId = "8d3c1f0e-test-boot";

    private readonly bool _ownsDirectory;

    public AgentHarness(HostState state, string? directory = null, string? trustedTag = null, Func<MetricsRegistry, OtlpExport>? otlp = null)
    {
        Tree = HostTree.Create(state);
        Clock = new FixtureClock(Tree.WriteAt);
        _ownsDirectory = directory is null;
        Directory = directory ?? Path.Combine(Path.GetTempPath(), "resetscope-agent-" + Guid.NewGuid().ToString("N"));
        Store = IncidentStore.Open(Path.Combine(Directory, "incidents.db"));
        Metrics = new AgentMetrics(Clock.Time, "test");
        Otlp = otlp?.Invoke(Metrics.Registry);
        Service = new AgentService(
            new AgentOptions { ProcRoot = Tree.Proc, SysRoot = Tree.Sys, LogRoot = Tree.Log, BootId = BootId, TrustedTestTag = trustedTag, WindowBefore = TimeSpan.FromSeconds(30) },
            new KmsgReader(Kmsg), Store, Metrics, Clock.Time, Otlp, monotonicUs: () => MonotonicUs);
    }

    public HostTree Tree { get; }

    public FixtureClock Clock { get; }

    public string Directory { get; }

    public ScriptedKmsg Kmsg { get; } = new();

    public IncidentStore Store { get; }

    public AgentMetrics Metrics { get; }

    public OtlpExport? Otlp { get; }

    public AgentService Service { get; }

    /// <summary>What the monotonic clock reads when an incident is committed (kernel record times are on it).</summary>
    public long MonotonicUs { get; set; }

    public TimeSpan Now => Clock.Time.GetElapsedTime(0);

    public string Exposition => PrometheusTextSerializer.WriteToString(Metrics.Registry);

    /// <summary>The kernel log a built-in scenario prints, as /dev/kmsg records.</summary>
    public static List<KernelRecord> Scenario(string name) => [.. new Simulator(ScenarioLoader.Load(name)).Run().Records];

    /// <summary>Steps the agent as its runner would, up to <paramref name="seconds"/> of virtual time.</summary>
    public void RunUntil(double seconds)
    {
        long end = (long)(seconds * Clock.Time.TimestampFrequency);
        Service.Step();
        while (Clock.Time.GetTimestamp() < end)
        {
            Clock.WaitUntil(Math.Min(Service.NextDeadline, end));
            Service.Step();
        }
    }

    public void Dispose()
    {
        Service.Dispose();
        Otlp?.Dispose();
        Store.Dispose();
        Tree.Dispose();
        if (_ownsDirectory)
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
