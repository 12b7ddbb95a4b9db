using Spectre.Console;

namespace ResetScope.Cli.Rendering;

/// <summary>Spectre.Console on a verb's stdout: colour and the terminal's width on a terminal, plain and 240 columns otherwise.</summary>
public static class Terminal
{
    public static IAnsiConsole For(IConsole console, out bool terminal)
    {
        terminal = console is SystemConsole && !Console.IsOutputRedirected;
        IAnsiConsole ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(console.Out),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal)
        {
            ansi.Profile.Width = 240;
        }

        return ansi;
    }
}
