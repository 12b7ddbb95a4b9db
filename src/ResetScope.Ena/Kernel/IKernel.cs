using ResetScope.Core;

namespace ResetScope.Ena.Kernel;

/// <summary>
/// What the driver needs from the kernel. The model runs the same driver code against a virtual-time
/// implementation (<see cref="Simulation.SimKernel"/>) and, later, against real threads.
/// </summary>
public interface IKernel
{
    Jiffies Clock { get; }

    /// <summary>The jiffies counter now.</summary>
    ulong Jiffies { get; }

    /// <summary>local_clock(): nanoseconds since boot; what printk stamps records with.</summary>
    long NowNs { get; }

    /// <summary>The CPU the current context runs on (smp_processor_id()).</summary>
    int CurrentCpu { get; }

    /// <summary>printk(): stores a record and returns its sequence number.</summary>
    long Printk(KernelLevel level, string text);

    KernelTimer CreateTimer(string name, int cpu, Action callback);

    /// <summary>mod_timer(): (re)arm to fire once jiffies reaches <paramref name="expires"/>.</summary>
    void ModTimer(KernelTimer timer, ulong expires);

    /// <summary>del_timer_sync().</summary>
    void DeleteTimer(KernelTimer timer);

    /// <summary>queue_work() on an ordered, unbound workqueue: items run one at a time in process context.</summary>
    void QueueWork(string workqueue, Func<Task> work);

    /// <summary>napi_schedule(): set NAPI_STATE_SCHED and raise NET_RX on the NAPI's CPU.</summary>
    void NapiSchedule(Napi napi);

    /// <summary>Process-context sleep (msleep/usleep_range). Awaited; in virtual time it costs no wall time.</summary>
    KernelSleep Sleep(long ns);

    /// <summary>usleep_range(min, max): sleeps a duration the kernel picks inside the range.</summary>
    KernelSleep SleepRange(long minNs, long maxNs);

    /// <summary>Busy-wait in the current context (udelay loops); the caller keeps its CPU.</summary>
    void Spin(long ns);

    /// <summary>Waits until a scheduled NAPI poll has run to completion (napi_disable's wait).</summary>
    KernelSleep WaitForNapiIdle(Napi napi);

    /// <summary>wait_for_completion_timeout(): resumes when <paramref name="completion"/> is signalled or the timeout passes.</summary>
    KernelSleep WaitForCompletion(Completion completion, long timeoutNs);
}

/// <summary>A timer_list: a callback bound to a CPU, fired from the timer softirq.</summary>
public sealed class KernelTimer(string name, int cpu, Action callback)
{
    public string Name { get; } = name;

    public int Cpu { get; } = cpu;

    public Action Callback { get; } = callback;

    public bool Pending { get; internal set; }

    public ulong Expires { get; internal set; }
}

/// <summary>struct completion: signalled once by complete(), awaited by wait_for_completion_timeout().</summary>
public sealed class Completion
{
    public bool Done { get; private set; }

    internal Action? Waiter { get; set; }

    public void Complete()
    {
        if (Done)
        {
            return;
        }

        Done = true;
        Action? w = Waiter;
        Waiter = null;
        w?.Invoke();
    }
}
