using ResetScope.Core;

namespace ResetScope.Ena.Driver;

/// <summary>enum ena_regs_reset_reason_types (ena_regs_defs.h); the value written into DEV_CTL.</summary>
public enum ResetReason
{
    Normal = 0,
    KeepAliveTo = 1,
    AdminTo = 2,
    MissTxCmpl = 3,
    InvRxReqId = 4,
    InvTxReqId = 5,
    TooManyRxDescs = 6,
    InitErr = 7,
    DriverInvalidState = 8,
    OsTrigger = 9,
    OsNetdevWd = 10,
    Shutdown = 11,
    UserTrigger = 12,
    Generic = 13,
    MissInterrupt = 14,
    SuspectedPollStarvation = 15,
    RxDescriptorMalformed = 16,
    TxDescriptorMalformed = 17,
    MissingAdminInterrupt = 18,
    DeviceRequest = 19,
    MissFirstInterrupt = 20,
}

public static class ResetReasonNames
{
    private static readonly string[] s_names =
    [
        "NORMAL", "KEEP_ALIVE_TO", "ADMIN_TO", "MISS_TX_CMPL", "INV_RX_REQ_ID", "INV_TX_REQ_ID", "TOO_MANY_RX_DESCS",
        "INIT_ERR", "DRIVER_INVALID_STATE", "OS_TRIGGER", "OS_NETDEV_WD", "SHUTDOWN", "USER_TRIGGER", "GENERIC",
        "MISS_INTERRUPT", "SUSPECTED_POLL_STARVATION", "RX_DESCRIPTOR_MALFORMED", "TX_DESCRIPTOR_MALFORMED",
        "MISSING_ADMIN_INTERRUPT", "DEVICE_REQUEST", "MISS_FIRST_INTERRUPT",
    ];

    /// <summary>The name without the ENA_REGS_RESET_ prefix, as the event JSON carries it.</summary>
    public static string ToName(this ResetReason r) => s_names[(int)r];

    /// <summary>The trigger family a reason belongs to (ARCHITECTURE.md <c>reason</c>).</summary>
    public static ResetFamily ToFamily(this ResetReason r) => r switch
    {
        ResetReason.KeepAliveTo or ResetReason.MissingAdminInterrupt => ResetFamily.KeepAliveTimeout,
        ResetReason.AdminTo => ResetFamily.UnresponsiveDevice,
        ResetReason.MissTxCmpl or ResetReason.MissInterrupt or ResetReason.MissFirstInterrupt => ResetFamily.TxCompletionTimeout,
        ResetReason.OsNetdevWd => ResetFamily.NetdevWatchdog,
        ResetReason.DeviceRequest => ResetFamily.DeviceRequested,
        _ => ResetFamily.Other,
    };
}
