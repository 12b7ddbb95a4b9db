namespace ResetScope.Cli.Tests;

/// <summary>Captures what a verb writes.</summary>
internal sealed class TestConsole : IConsole
{
    public StringWriter OutWriter { get; } = new() { NewLine = "\n" };

    public StringWriter ErrorWriter { get; } = new() { NewLine = "\n" };

    public TextWriter Out => OutWriter;

    public TextWriter Error => ErrorWriter;

    public static (int Exit, string Out, string Error) Run(params string[] args) => Run(null, args);

    /// <summary>Runs with <paramref name="clock"/> pacing any sampling (virtual time, no sleeping).</summary>
    public static (int Exit, string Out, string Error) Run(ResetScope.Host.Recorder.IRecorderClock? clock, params string[] args)
    {
        var console = new TestConsole();
        int exit = Program.Run(args, console, clock);
        return (exit, console.OutWriter.ToString(), console.ErrorWriter.ToString());
    }
}
