namespace ResetScope.Core;

/// <summary>The trigger family of a network-driver reset (ARCHITECTURE.md, event JSON <c>reason</c>).</summary>
public enum ResetFamily
{
    Other = 0,
    TxCompletionTimeout,
    KeepAliveTimeout,
    UnresponsiveDevice,
    NetdevWatchdog,
    DeviceRequested,
}

/// <summary>Outcome of a reset as far as the log or the model shows it.</summary>
public enum ResetOutcome
{
    Unknown = 0,
    Completed,
    Failed,
}

public static class ResetVocabulary
{
    public static string ToJsonName(this ResetFamily family) => family switch
    {
        ResetFamily.TxCompletionTimeout => "tx-completion-timeout",
        ResetFamily.KeepAliveTimeout => "keep-alive-timeout",
        ResetFamily.UnresponsiveDevice => "unresponsive-device",
        ResetFamily.NetdevWatchdog => "netdev-watchdog",
        ResetFamily.DeviceRequested => "device-requested",
        _ => "other",
    };

    public static string ToJsonName(this ResetOutcome outcome) => outcome switch
    {
        ResetOutcome.Completed => "completed",
        ResetOutcome.Failed => "failed",
        _ => "unknown",
    };
}
