using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ResetScope.Lab;

/// <summary>What a burn did.</summary>
public readonly record struct BurnResult(int Cpu, bool RealTime, TimeSpan Elapsed, long Iterations);

/// <summary>
/// A starvation injector: a busy loop on the calling thread, pinned to one CPU, optionally SCHED_FIFO. It bounds
/// itself — the loop reads the clock on every iteration and stops at the deadline — because on a small machine
/// nothing else at the same real-time priority could stop it. Hard limit <see cref="MaxDuration"/>; the thread
/// returns to SCHED_OTHER in <c>finally</c>.
/// </summary>
public static partial class CpuBurner
{
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(10);

    private const int SchedOther = 0;
    private const int SchedFifo = 1;

    public static BurnResult Burn(int cpu, TimeSpan duration, int fifoPriority = 0)
    {
        if (duration <= TimeSpan.Zero || duration > MaxDuration)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, $"a burn lasts more than 0 and at most {MaxDuration.TotalSeconds} s");
        }

        if (fifoPriority is < 0 or > 99)
        {
            throw new ArgumentOutOfRangeException(nameof(fifoPriority), fifoPriority, "SCHED_FIFO priorities are 1 to 99 (0 = normal scheduling)");
        }

        if (cpu < 0 || cpu >= Environment.ProcessorCount)
        {
            throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"this machine has CPUs 0 to {Environment.ProcessorCount - 1}");
        }

        Pin(cpu);
        bool realTime = false;
        try
        {
            if (fifoPriority > 0)
            {
                SetScheduler(SchedFifo, fifoPriority);
                realTime = true;
            }

            var clock = Stopwatch.StartNew();
            long iterations = 0;
            while (clock.Elapsed < duration)
            {
                iterations++;
            }

            return new BurnResult(cpu, realTime, clock.Elapsed, iterations);
        }
        finally
        {
            if (realTime)
            {
                SetScheduler(SchedOther, 0);
            }
        }
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/> (sched_setaffinity on the thread).</summary>
    public static void PinCurrentThread(int cpu) => Pin(cpu);

    private static unsafe void Pin(int cpu)
    {
        ulong* mask = stackalloc ulong[16];
        mask[cpu / 64] = 1UL << (cpu % 64);
        if (SchedSetAffinity(0, 16 * sizeof(ulong), mask) != 0)
        {
            throw new InvalidOperationException($"cannot pin to CPU {cpu}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    private static unsafe void SetScheduler(int policy, int priority)
    {
        int param = priority;
        if (SchedSetScheduler(0, policy, &param) != 0)
        {
            throw new InvalidOperationException($"cannot set scheduling policy {policy}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())} (SCHED_FIFO needs root or CAP_SYS_NICE)");
        }
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static unsafe partial int SchedSetAffinity(int pid, nint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static unsafe partial int SchedSetScheduler(int pid, int policy, int* param);
}
