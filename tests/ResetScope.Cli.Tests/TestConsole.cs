using ResetScope.Host.Recorder;

namespace ResetScope.Cli.Tests;

/// <summary>Captures what a verb writes.</summary>
internal sealed class TestConsole : IConsole
{
    public StringWriter OutWriter { get; } = new() { NewLine = "\n" };

    public StringWriter ErrorWriter { get; } = new() { NewLine = "\n" };

    public TextWriter Out => OutWriter;

    public TextWriter Error => ErrorWriter;

    public static (int Exit, string Out, string Error) Run(params string[] args) => Run((IRecorderClock?)null, args);

    /// <summary>Runs with <paramref name="clock"/> pacing any sampling (virtual time, no sleeping).</summary>
    public static (int Exit, string Out, string Error) Run(IRecorderClock? clock, params string[] args)
    {
        var console = new TestConsole();
        int exit = Program.Run(args, console, clock);
        return (exit, console.OutWriter.ToString(), console.ErrorWriter.ToString());
    }

    /// <summary>Runs with <paramref name="time"/> as the clock (null: the system's); nothing samples.</summary>
    public static (int Exit, string Out, string Error) Run(TimeProvider? time, params string[] args) =>
        Run(time is null ? null : new FixedClock(time), args);

    /// <summary>A clock for verbs that only read the time.</summary>
    private sealed class FixedClock(TimeProvider time) : IRecorderClock
    {
        public TimeProvider Time => time;

        public void WaitUntil(long timestamp, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("this test's clock does not move; use a FixtureClock to sample");
    }
}
