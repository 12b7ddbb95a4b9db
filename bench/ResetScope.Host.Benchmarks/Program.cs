using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using ResetScope.Host.Cpu;
using ResetScope.Host.Threads;
using ResetScope.Host.Tests.Cpu;

namespace ResetScope.Host.Benchmarks;

/// <summary>
/// Modes:
///   loop [--interval 1s|100ms] [--duration 60s] [--warmup 10s] [--wait sleep|timer] [--proc-root DIR] [--clk-tck 100] [--hold]
///                        sample on schedule and nothing else, then print this process's CPU use (bench/cpu/run.sh)
///   gen96 DIR            write the generated 96-CPU fixture tree into DIR
///   anything else        BenchmarkDotNet (e.g. --filter '*' --job short)
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args.Length > 0 ? args[0] : "")
        {
            case "loop":
                return await LoopMode.RunAsync(args[1..]).ConfigureAwait(false);
            case "gen96" when args.Length == 2:
                return LoopMode.Generate96(args[1]);
            case "gen96":
                Console.Error.WriteLine("usage: gen96 DIR");
                return 2;
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }
}

/// <summary>One PerCpuSampler cycle (stat, softirqs, softnet_stat, PSI, ksoftirqd/NAPI schedstat) and one /proc/interrupts read.</summary>
[MemoryDiagnoser]
public class SamplerBenchmarks
{
    private CpuFixture? _fixture;
    private PerCpuSampler _sampler = null!;
    private PerCpuSample _slot = null!;

    [Params("proc", "fixture96")]
    public string Source { get; set; } = "proc";

    [GlobalSetup]
    public void Setup()
    {
        string root = "/proc";
        if (Source == "fixture96")
        {
            _fixture = Host96.Create();
            root = _fixture.Root;
        }

        _sampler = new PerCpuSampler(root);
        _slot = _sampler.CreateSample();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sampler.Dispose();
        _fixture?.Dispose();
    }

    [Benchmark]
    public long Cycle()
    {
        _sampler.Sample(_slot);
        return _slot.Timestamp;
    }

    [Benchmark]
    public bool Interrupts() => _sampler.SampleInterrupts();
}

/// <summary>
/// One ThreadCpuProbe scan of this host's /proc (every /proc/&lt;pid&gt;/task/&lt;tid&gt;/stat): the recorder's thread
/// sweep, every 5 s in the agent (1 s after a trigger). Allocates only for the threads that ran since the last scan.
/// </summary>
[MemoryDiagnoser]
public class ThreadScanBenchmarks
{
    private ThreadCpuProbe _probe = null!;

    [GlobalSetup]
    public void Setup()
    {
        _probe = new ThreadCpuProbe("/proc");
        _probe.Scan();
    }

    [Benchmark]
    public int Scan() => _probe.Scan().Count;
}
