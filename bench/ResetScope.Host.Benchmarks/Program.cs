using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using ResetScope.Host.Cpu;
using ResetScope.Host.Tests.Cpu;

namespace ResetScope.Host.Benchmarks;

public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
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
