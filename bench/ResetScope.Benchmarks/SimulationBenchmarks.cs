using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ResetScope.Ena.Simulation;

namespace ResetScope.Benchmarks;

/// <summary>
/// How fast the ENA model runs in virtual time: a healthy host with Tx and Rx traffic on every queue.
/// The headline case is 32 queues × 10,000 packets/s (Tx, plus as many Rx) for one simulated hour; the
/// other rows show how the cost scales with queues and packet rate (one simulated minute each).
/// "SimSecondsPerWallSecond" is the speed-up over real time; allocations must not grow with packets.
/// 20,000 packets/s is past the one-poll budget of the steady-tick shortcut (64 Rx per jiffy at HZ=250),
/// so it shows the step-by-step cost mixed in.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class SimulationBenchmarks
{
    [Params(8, 32)]
    public int Queues { get; set; }

    [Params(1_000, 10_000, 20_000)]
    public int PacketsPerSecond { get; set; }

    [Params(60, 3600)]
    public int SimulatedSeconds { get; set; }

    private Scenario _scenario = null!;

    [GlobalSetup]
    public void Setup() => _scenario = new Scenario
    {
        Name = "bench",
        Seed = 1,
        Queues = Queues,
        Cpus = Queues,
        TxPps = PacketsPerSecond,
        RxPps = PacketsPerSecond,
        DurationNs = SimulatedSeconds * 1_000_000_000L,
        DriverVersion = "2.17.0g",
    };

    [Benchmark(Baseline = true)]
    public long Simulate() => Run(shortcut: true);

    /// <summary>The same run without the steady-tick shortcut: every packet goes through every ring.</summary>
    [Benchmark]
    public long SimulateStepByStep() => Run(shortcut: false);

    private long Run(bool shortcut)
    {
        SimulationResult r = new Simulator(_scenario) { SteadyTickShortcut = shortcut }.Run();
        if (r.Episodes.Count != 0)
        {
            throw new InvalidOperationException("the benchmark host must stay healthy");
        }

        return r.TxOffered;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3).WithInvocationCount(1).WithUnrollFactor(1));
            AddColumn(new SpeedColumn());
            AddDiagnoser(MemoryDiagnoser.Default);
            AddFilter(new BenchmarkDotNet.Filters.SimpleFilter(b =>
            {
                // One simulated hour only for the headline case; the rest scale over a minute.
                int queues = (int)b.Parameters["Queues"]!;
                int pps = (int)b.Parameters["PacketsPerSecond"]!;
                int secs = (int)b.Parameters["SimulatedSeconds"]!;
                bool stepByStep = b.Descriptor.WorkloadMethod.Name == nameof(SimulateStepByStep);
                return stepByStep ? secs == 60 && queues == 32 : secs == 60 || (queues == 32 && pps == 10_000);
            }));
        }
    }

    /// <summary>Simulated seconds per wall-clock second, from the mean.</summary>
    private sealed class SpeedColumn : IColumn
    {
        public string Id => nameof(SpeedColumn);
        public string ColumnName => "SimSecondsPerWallSecond";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "simulated seconds per wall second (speed-up over real time)";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            BenchmarkReport? report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats)
            {
                return "-";
            }

            int secs = (int)benchmarkCase.Parameters["SimulatedSeconds"]!;
            double wallSeconds = stats.Mean / 1e9;
            return (secs / wallSeconds).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
