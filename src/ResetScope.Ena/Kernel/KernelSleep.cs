using System.Runtime.CompilerServices;

namespace ResetScope.Ena.Kernel;

/// <summary>
/// An awaitable the kernel implementation resumes: in virtual time the simulator schedules the continuation,
/// in real time a thread does. Only reset/admin paths await, so the closure it carries is not a hot-path cost.
/// </summary>
public readonly struct KernelSleep : ICriticalNotifyCompletion
{
    private readonly Action<Action>? _register;
    private readonly WaitOutcome? _outcome;

    public KernelSleep(Action<Action>? register, WaitOutcome? outcome = null)
    {
        _register = register;
        _outcome = outcome;
    }

    public static KernelSleep Completed => default;

    public bool IsCompleted => _register is null;

    public KernelSleep GetAwaiter() => this;

    /// <summary>True unless a bounded wait timed out.</summary>
    public bool GetResult() => _outcome?.TimedOut != true;

    public void OnCompleted(Action continuation) => _register!(continuation);

    public void UnsafeOnCompleted(Action continuation) => _register!(continuation);
}

/// <summary>Carries whether a bounded wait ended by timeout.</summary>
public sealed class WaitOutcome
{
    public bool TimedOut { get; set; }
}

/// <summary>A NAPI instance: the poll function, its CPU and NAPI_STATE_SCHED.</summary>
public sealed class Napi(string name, int cpu, Func<Napi, int, int> poll)
{
    public string Name { get; } = name;

    /// <summary>The CPU whose NET_RX softirq runs this NAPI (where its MSI-X is delivered).</summary>
    public int Cpu { get; set; } = cpu;

    public Func<Napi, int, int> Poll { get; } = poll;

    /// <summary>NAPIF_STATE_SCHED: scheduled and not yet completed.</summary>
    public bool Scheduled { get; internal set; }

    /// <summary>napi_disable() has been called and napi_enable() has not.</summary>
    public bool Disabled { get; internal set; } = true;

    /// <summary>napi_complete_done(): the poll finished under budget.</summary>
    public void Complete() => Scheduled = false;

    /// <summary>Used by the kernel implementation to wake a napi_disable() waiter.</summary>
    internal Action? IdleWaiter { get; set; }

    internal void Enable()
    {
        Disabled = false;
        Scheduled = false;
    }
}
