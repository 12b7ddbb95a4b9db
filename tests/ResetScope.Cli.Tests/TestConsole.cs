namespace ResetScope.Cli.Tests;

/// <summary>Captures what a verb writes.</summary>
internal sealed class TestConsole : IConsole
{
    public StringWriter OutWriter { get; } = new() { NewLine = "\n" };

    public StringWriter ErrorWriter { get; } = new() { NewLine = "\n" };

    public TextWriter Out => OutWriter;

    public TextWriter Error => ErrorWriter;

    public static (int Exit, string Out, string Error) Run(params string[] args) => Run(null, args);

    /// <summary>Runs with <paramref name="time"/> as the clock (null: the system's).</summary>
    public static (int Exit, string Out, string Error) Run(TimeProvider? time, params string[] args)
    {
        var console = new TestConsole();
        int exit = Program.Run(args, console, time);
        return (exit, console.OutWriter.ToString(), console.ErrorWriter.ToString());
    }
}
