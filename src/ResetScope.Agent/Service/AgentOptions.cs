namespace ResetScope.Agent.Service;

/// <summary>How the agent samples, decides and keeps.</summary>
public sealed record AgentOptions
{
    public string ProcRoot { get; init; } = "/proc";

    public string SysRoot { get; init; } = "/sys";

    /// <summary>Read restart lines from syslog files here instead of the journal.</summary>
    public string? LogRoot { get; init; }

    /// <summary>The recorder's normal cadence (100 ms after a trigger).</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How far back the recorder reaches.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>The recorder window frozen into an incident before its event.</summary>
    public TimeSpan WindowBefore { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long after the event the incident is completed with the window after it.</summary>
    public TimeSpan WindowAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A reset without its closing line yet is committed this long after it was first seen.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Zombie memcgs are re-read this often.</summary>
    public TimeSpan HostConditionEvery { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Crash loops (restart lines in the journal: a journalctl run each time) are re-read this often.</summary>
    public TimeSpan CrashLoopsEvery { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Thread sweeps when nothing is wrong (every second after a trigger).</summary>
    public TimeSpan ThreadSweep { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Incidents stored in any minute at most; past it (a flood of events) they are counted in
    /// resetscope_incidents_dropped_total and noted in the next incident stored. Each incident freezes the recorder's
    /// window, runs the diagnosis and writes a bundle: the cap keeps a flood's cost bounded.
    /// </summary>
    public int MaxIncidentsPerMinute { get; init; } = 30;

    /// <summary>Incidents awaiting their window after (<see cref="WindowAfter"/>) at most; past it, as above.</summary>
    public int MaxUnfinishedIncidents { get; init; } = 64;

    public TimeSpan IncidentMaxAge { get; init; } = TimeSpan.FromDays(30);

    public long IncidentMaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// For tests and labs only: records written from user space whose text starts with this tag are handled as
    /// kernel records (tag stripped) and their incidents are marked as injected. Null (the default): user-space
    /// records are counted and never trusted.
    /// </summary>
    public string? TrustedTestTag { get; init; }

    /// <summary>The boot the kernel log belongs to (/proc/sys/kernel/random/boot_id); read from ProcRoot when null.</summary>
    public string? BootId { get; init; }
}
