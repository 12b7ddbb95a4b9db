namespace ResetScope.Cli;

/// <summary>Where a verb writes, so tests can capture output exactly (after dotnet/diagnostics' IConsole).</summary>
public interface IConsole
{
    TextWriter Out { get; }

    TextWriter Error { get; }
}

public sealed class SystemConsole : IConsole
{
    public TextWriter Out { get; } = Console.Out;

    public TextWriter Error { get; } = Console.Error;
}

/// <summary>Exit codes shared by every verb (ARCHITECTURE.md).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int InternalFailure = 1;
    public const int BadInput = 2;
}

/// <summary>An anticipated failure whose message is meant for the user: printed as one line, no stack.</summary>
public sealed class UserFacingException(string message) : Exception(message);
