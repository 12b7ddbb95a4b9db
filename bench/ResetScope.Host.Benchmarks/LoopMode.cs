using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ResetScope.Host.Cpu;
using ResetScope.Host.Tests.Cpu;

namespace ResetScope.Host.Benchmarks;

/// <summary>
/// A process that does nothing but run one <see cref="PerCpuSampler"/> on schedule, so its whole-process CPU use can be
/// compared with <c>mpstat -P ALL 1</c> (bench/cpu/run.sh). It prints one summary line at the end with its own figures:
/// the whole process since start and the steady state (after the warm-up), from <c>/proc/self/stat</c> (clock ticks,
/// what the script reads from outside) and from <see cref="Environment.CpuUsage"/> (getrusage, microseconds).
/// <c>--wait sleep</c> (the default) samples on the main thread and sleeps to the next deadline; <c>--wait timer</c>
/// awaits a <see cref="PeriodicTimer"/>, which adds the timer thread and thread-pool workers to every cycle.
/// </summary>
internal static class LoopMode
{
    public const string Usage =
        "loop [--interval 1s|100ms] [--duration 60s] [--warmup 10s] [--wait sleep|timer] [--proc-root DIR] [--clk-tck 100] [--hold]";

    public static async Task<int> RunAsync(string[] args)
    {
        TimeSpan interval = TimeSpan.FromSeconds(1);
        TimeSpan duration = TimeSpan.FromSeconds(60);
        TimeSpan warmup = TimeSpan.FromSeconds(10);
        string procRoot = "/proc";
        int clockTicks = 100;
        bool hold = false;
        bool sleep = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--interval" when i + 1 < args.Length:
                    interval = ParseDuration(args[++i]);
                    break;
                case "--duration" when i + 1 < args.Length:
                    duration = ParseDuration(args[++i]);
                    break;
                case "--warmup" when i + 1 < args.Length:
                    warmup = ParseDuration(args[++i]);
                    break;
                case "--proc-root" when i + 1 < args.Length:
                    procRoot = args[++i];
                    break;
                case "--clk-tck" when i + 1 < args.Length:
                    clockTicks = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--wait" when i + 1 < args.Length && args[i + 1] is "timer" or "sleep":
                    sleep = args[++i] == "sleep";
                    break;
                case "--hold":
                    hold = true;
                    break;
                default:
                    Console.Error.WriteLine("usage: " + Usage);
                    return 2;
            }
        }

        if (interval <= TimeSpan.Zero || duration <= TimeSpan.Zero || warmup < TimeSpan.Zero || warmup >= duration || clockTicks <= 0)
        {
            Console.Error.WriteLine("loop: need interval > 0, 0 <= warmup < duration, clk-tck > 0");
            return 2;
        }

        long start = Stopwatch.GetTimestamp();
        using var sampler = new PerCpuSampler(procRoot);
        PerCpuSample slot = sampler.CreateSample();
        // A PeriodicTimer ticks (timer thread, then a thread-pool continuation) whether awaited or not: only create it when used.
        using PeriodicTimer? timer = sleep ? null : new PeriodicTimer(interval);

        long cycles = 0;
        long steadyCycles = 0;
        long steadyTicks = 0;
        long maxTicks = 0;
        long samplerBytes = 0;
        bool steady = false;
        long steadyStart = 0;
        long statAtWarmup = 0;
        TimeSpan cpuAtWarmup = default;
        long allocatedAtWarmup = 0;
        int gen0AtWarmup = 0;
        long jitMethodsAtWarmup = 0;
        TimeSpan jitTimeAtWarmup = default;

        // First cycle at t = 0, then one per tick; the PeriodicTimer coalesces ticks missed while sampling.
        do
        {
            long now = Stopwatch.GetTimestamp();
            if (Stopwatch.GetElapsedTime(start, now) >= duration)
            {
                break;
            }

            if (!steady && Stopwatch.GetElapsedTime(start, now) >= warmup)
            {
                steady = true;
                steadyStart = now;
                statAtWarmup = ReadSelfStatTicks();
                cpuAtWarmup = Environment.CpuUsage.TotalTime;
                jitMethodsAtWarmup = System.Runtime.JitInfo.GetCompiledMethodCount();
                jitTimeAtWarmup = System.Runtime.JitInfo.GetCompilationTime();
                gen0AtWarmup = GC.CollectionCount(0);
                allocatedAtWarmup = GC.GetTotalAllocatedBytes(precise: true);
            }

            long threadBytes = GC.GetAllocatedBytesForCurrentThread();
            long before = Stopwatch.GetTimestamp();
            sampler.Sample(slot);
            long took = Stopwatch.GetTimestamp() - before;
            cycles++;
            if (steady)
            {
                samplerBytes += GC.GetAllocatedBytesForCurrentThread() - threadBytes;
                steadyCycles++;
                steadyTicks += took;
                maxTicks = Math.Max(maxTicks, took);
            }
        }
        while (sleep ? SleepUntil(start, interval * cycles) : await timer!.WaitForNextTickAsync().ConfigureAwait(false));

        long end = Stopwatch.GetTimestamp();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedAtWarmup;
        int gen0 = GC.CollectionCount(0) - gen0AtWarmup;
        long jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethodsAtWarmup;
        TimeSpan jitTime = System.Runtime.JitInfo.GetCompilationTime() - jitTimeAtWarmup;
        TimeSpan cpuTotal = Environment.CpuUsage.TotalTime;
        long statTotal = ReadSelfStatTicks();

        if (!steady)
        {
            Console.Error.WriteLine("loop: the run ended before the warm-up did; no steady-state figures");
            (steadyStart, statAtWarmup, cpuAtWarmup) = (end, statTotal, cpuTotal);
        }

        double steadySeconds = Stopwatch.GetElapsedTime(steadyStart, end).TotalSeconds;
        double steadyCpu = (cpuTotal - cpuAtWarmup).TotalSeconds;
        double steadyStatCpu = (double)(statTotal - statAtWarmup) / clockTicks;
        int online = 0;
        foreach (bool o in slot.Online)
        {
            online += o ? 1 : 0;
        }

        CultureInfo inv = CultureInfo.InvariantCulture;
        Console.Out.WriteLine(string.Create(inv,
            $"loop interval_s={interval.TotalSeconds} proc_root={procRoot} cpus={sampler.CpuSlots} online={online} " +
            $"napi_threads={sampler.NapiThreads.Count} cycles={cycles} " +
            $"run_s={Stopwatch.GetElapsedTime(start, end).TotalSeconds:F3} " +
            $"process_cpu_s={cpuTotal.TotalSeconds:F6} process_stat_ticks={statTotal} " +
            $"steady_s={steadySeconds:F3} steady_cycles={steadyCycles} " +
            $"steady_cpu_s={steadyCpu:F6} steady_stat_ticks={statTotal - statAtWarmup} steady_stat_cpu_s={steadyStatCpu:F2} " +
            $"steady_pct_core={(steadySeconds > 0 ? 100.0 * steadyCpu / steadySeconds : 0):F4} " +
            $"steady_cpu_per_cycle_us={1e6 * steadyCpu / Math.Max(1, steadyCycles):F1} " +
            $"sample_mean_us={1e6 * steadyTicks / Stopwatch.Frequency / Math.Max(1, steadyCycles):F1} " +
            $"sample_max_us={1e6 * maxTicks / Stopwatch.Frequency:F1} " +
            $"sampler_alloc_bytes={samplerBytes} process_alloc_bytes={allocated} gen0_gcs={gen0} " +
            $"jit_methods={jitMethods} jit_ms={jitTime.TotalMilliseconds:F1}"));
        Console.Out.Flush();

        if (hold)
        {
            // bench/cpu/run.sh reads /proc/<pid>/stat now, while the process still exists, then sends SIGTERM.
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                done.TrySetResult();
            });
            await done.Task.ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>Writes the generated 96-CPU tree the tests and <see cref="SamplerBenchmarks"/> use into <paramref name="directory"/>.</summary>
    public static int Generate96(string directory)
    {
        using CpuFixture fixture = Host96.Create();
        foreach (string file in Directory.EnumerateFiles(fixture.Root, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(directory, Path.GetRelativePath(fixture.Root, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        return 0;
    }

    /// <summary>Blocks this thread until <paramref name="due"/> after <paramref name="start"/> (no wait when already past).</summary>
    private static bool SleepUntil(long start, TimeSpan due)
    {
        TimeSpan left = due - Stopwatch.GetElapsedTime(start);
        if (left > TimeSpan.Zero)
        {
            Thread.Sleep((int)Math.Ceiling(left.TotalMilliseconds));
        }

        return true;
    }

    /// <summary>utime + stime of this process from /proc/self/stat, in clock ticks (fields 14 and 15).</summary>
    private static long ReadSelfStatTicks()
    {
        string stat = File.ReadAllText("/proc/self/stat");

        // The command name (field 2) is in parentheses and may contain spaces; count fields after the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static TimeSpan ParseDuration(string text)
    {
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1e-3),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ => (text, 1.0),
        };
        return TimeSpan.FromSeconds(double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture) * scale);
    }
}
