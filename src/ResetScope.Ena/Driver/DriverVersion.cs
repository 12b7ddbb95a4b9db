using System.Globalization;

namespace ResetScope.Ena.Driver;

/// <summary>
/// An amzn-drivers ENA Linux driver version (e.g. <c>2.11.0g</c>: <c>g</c> = GitHub build, <c>K</c> = kernel tree),
/// and the behaviour that changed between generations (ena-driver.md §2, §7.2).
/// </summary>
public readonly record struct DriverVersion(int Major, int Minor, int Patch, string Suffix) : IComparable<DriverVersion>
{
    public static DriverVersion Parse(string text)
    {
        if (!TryParse(text, out DriverVersion v))
        {
            throw new FormatException($"'{text}' is not an ENA driver version (expected e.g. 2.11.0g)");
        }

        return v;
    }

    public static bool TryParse(string? text, out DriverVersion version)
    {
        version = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string t = text.Trim().TrimStart('v');
        int end = t.Length;
        while (end > 0 && char.IsLetter(t[end - 1]))
        {
            end--;
        }

        string[] parts = t[..end].Split('.');
        if (parts.Length is < 2 or > 3)
        {
            return false;
        }

        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
        {
            return false;
        }

        int patch = 0;
        if (parts.Length == 3 && !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out patch))
        {
            return false;
        }

        version = new DriverVersion(major, minor, patch, t[end..]);
        return true;
    }

    public int CompareTo(DriverVersion other)
    {
        int c = Major.CompareTo(other.Major);
        if (c != 0)
        {
            return c;
        }

        c = Minor.CompareTo(other.Minor);
        return c != 0 ? c : Patch.CompareTo(other.Patch);
    }

    public bool AtLeast(int major, int minor, int patch = 0) => CompareTo(new DriverVersion(major, minor, patch, "")) >= 0;

    public bool AtMost(int major, int minor, int patch = int.MaxValue) => CompareTo(new DriverVersion(major, minor, patch, "")) <= 0;

    public override string ToString() => $"{Major}.{Minor}.{Patch}{Suffix}";

    /// <summary>The driver-info string printed in the completion line.</summary>
    public string DriverInfo => $"Elastic Network Adapter (ENA) v{this}";

    // ---- behaviour by generation -------------------------------------------------------------------

    /// <summary>last_napi_jiffies exists (2.5.0+).</summary>
    public bool TracksNapiTime => AtLeast(2, 5);

    /// <summary>last_napi_jiffies recorded at poll entry (2.15.0+) rather than at exit (2.5.0–2.14.x).</summary>
    public bool NapiTimeAtEntry => AtLeast(2, 15);

    /// <summary>last_intr_jiffies (2.9.0+); earlier only a first_interrupt flag.</summary>
    public bool TracksInterruptTime => AtLeast(2, 9);

    /// <summary>Reset requests go through ena_reset_device with per-reason counters (2.10.0+).</summary>
    public bool PerReasonCounters => AtLeast(2, 10);

    /// <summary>First requested reason wins (2.17.0 compare-and-exchange); earlier the last writer wins.</summary>
    public bool FirstReasonWins => AtLeast(2, 17);

    /// <summary>"Trigger reset is on" and the stats dump come from the worker (2.16.0+) instead of the timer.</summary>
    public bool TriggerLineInWorker => AtLeast(2, 16);

    /// <summary>The timer reads the device version before queueing a reset; "FW isn't responsive" (2.6.0+).</summary>
    public bool ChecksFwResponsive => AtLeast(2, 6);

    /// <summary>No stats dump for reason NORMAL (2.6.1+).</summary>
    public bool SkipsDumpForNormal => AtLeast(2, 6, 1);

    /// <summary>Keep-alive reason 18 classification by scanning the AENQ (2.12.0+).</summary>
    public bool ClassifiesKeepAlive => AtLeast(2, 12);

    /// <summary>Reason 18 exists (2.11.0+) for the admin path.</summary>
    public bool HasMissingAdminInterruptReason => AtLeast(2, 11);

    /// <summary>Suspected-poll-starvation grace and classification (2.7.2+).</summary>
    public bool HasStarvationHeuristic => AtLeast(2, 7, 2);

    /// <summary>2.7.2–2.8.x compared the timeout in ms against µs since napi.</summary>
    public bool HasStarvationUnitBug => AtLeast(2, 7, 2) && AtMost(2, 8);

    /// <summary>Missing-Tx counts only packets that became overdue during this scan (2.8.3–2.10.x).</summary>
    public bool CountsOnlyNewMissingTx => AtLeast(2, 8, 3) && AtMost(2, 10);

    /// <summary>Outstanding timed-out packets (pending_timedout_pkts), CQ draining, lost-interrupt kick (2.16.0+).</summary>
    public bool HasPendingTimedOut => AtLeast(2, 16);

    /// <summary>CQ inspection when the missing-Tx reset fires and NAPI is not scheduled (2.9.0+).</summary>
    public bool ClassifiesByCq => AtLeast(2, 9);

    /// <summary>Missing first interrupt is its own reason 20 (2.13.0+); before, 14.</summary>
    public bool HasMissFirstInterruptReason => AtLeast(2, 13);

    /// <summary>Device-request-reset AENQ handler (2.12.0+).</summary>
    public bool HandlesDeviceRequest => AtLeast(2, 12);

    /// <summary>The stats dump prints per-queue accumulated stats at debug only (2.14.0+).</summary>
    public bool ReducedStatsDump => AtLeast(2, 14);

    /// <summary>Counters survive resets (2.16.0+); before, per-queue counters zero at every ena_up.</summary>
    public bool PersistentQueueStats => AtLeast(2, 16);

    /// <summary>The IFDOWN message class is on by default (2.8.0+), so "Free uncompleted tx" lines show.</summary>
    public bool ShowsIfdownMessages => AtLeast(2, 8);

    /// <summary>reset_fail counter (2.8.0+).</summary>
    public bool HasResetFail => AtLeast(2, 8);
}
