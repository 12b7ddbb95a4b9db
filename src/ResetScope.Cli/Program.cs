using System.CommandLine;
using ResetScope.Cli.Commands;
using ResetScope.Host.Recorder;

namespace ResetScope.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, new SystemConsole());

    /// <summary>Parses and runs one command line against <paramref name="console"/>; <paramref name="clock"/> paces sampling (tests move it by hand).</summary>
    public static int Run(string[] args, IConsole console, IRecorderClock? clock = null)
    {
        var root = new RootCommand("ResetScope: find, explain and reproduce network-driver resets (AWS ENA first).");
        root.Subcommands.Add(DoctorCommand.Create(console, clock ?? SystemRecorderClock.Instance));
        root.Subcommands.Add(AgentCommand.Create(console));
        root.Subcommands.Add(ScanCommand.Create(console));
        root.Subcommands.Add(LabCommand.Create(console));
        root.Subcommands.Add(SimulateCommand.Create(console));
        root.Subcommands.Add(IncidentsCommand.Create(console, clock?.Time ?? TimeProvider.System));

        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError e in parse.Errors)
            {
                console.Error.WriteLine($"resetscope: {e.Message}");
            }

            console.Error.WriteLine("resetscope: see 'resetscope --help'");
            return ExitCodes.BadInput;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false });
        }
        catch (UserFacingException e)
        {
            console.Error.WriteLine($"resetscope: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            console.Error.WriteLine($"resetscope: internal failure: {e}");
            return ExitCodes.InternalFailure;
        }
    }
}
