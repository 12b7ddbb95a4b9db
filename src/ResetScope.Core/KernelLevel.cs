namespace ResetScope.Core;

/// <summary>printk log levels (KERN_EMERG .. KERN_DEBUG), numerically as the kernel defines them.</summary>
public enum KernelLevel : byte
{
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

public static class KernelLevelExtensions
{
    /// <summary>The short name dmesg uses for a level (<c>dmesg -x</c>).</summary>
    public static string ToDmesgName(this KernelLevel level) => level switch
    {
        KernelLevel.Emergency => "emerg",
        KernelLevel.Alert => "alert",
        KernelLevel.Critical => "crit",
        KernelLevel.Error => "err",
        KernelLevel.Warning => "warn",
        KernelLevel.Notice => "notice",
        KernelLevel.Info => "info",
        _ => "debug",
    };
}
