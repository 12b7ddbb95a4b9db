using System.Globalization;
using System.Text;
using System.Text.Json;
using ResetScope.Agent.Store;

namespace ResetScope.Agent.CrashWriter;

/// <summary>
/// The incidents the crash writer adds, a pure function of their number, so the test can check every stored one
/// byte for byte without being told what was written.
/// </summary>
public static class CrashIncidents
{
    public const string BootId = "6f1c2a4e-0b7d-4c1e-9a53-crashwriter0";

    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Incident number <paramref name="n"/>; every fifth carries a 96 KiB bundle spread over many overflow pages.</summary>
    public static Incident Make(ulong n) => new()
    {
        CreatedUtc = s_start.AddSeconds(n),
        Kind = (n % 3) switch
        {
            0 => IncidentKind.Reset,
            1 => IncidentKind.NearMiss,
            _ => IncidentKind.Starvation,
        },
        Driver = "ena",
        Dev = "eth" + (n % 4).ToString(CultureInfo.InvariantCulture),
        Reason = n % 2 == 0 ? "netdev-watchdog" : null,
        EnaReason = n % 2 == 0 ? "SUSPECTED_POLL_STARVATION" : null,
        Summary = $"crash-writer #{n}: \"quoted\"\nnext line, tab\t, ünïcødé",
        BundleJson = Bundle(n),
    };

    /// <summary>The number <see cref="Make"/> was called with, read back from a stored incident.</summary>
    public static ulong NumberOf(Incident incident)
    {
        string s = incident.Summary;
        int start = s.IndexOf('#', StringComparison.Ordinal) + 1;
        return ulong.Parse(s[start..s.IndexOf(':', start)], CultureInfo.InvariantCulture);
    }

    private static string Bundle(ulong n)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("n", n);
            w.WriteString("event", $"ena 0000:00:05.0 eth{n % 4}: TX q {n % 8} is paused for too long");
            w.WriteStartArray("window");
            int samples = n % 5 == 0 ? 1536 : 4;
            for (int i = 0; i < samples; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("t", i);
                w.WriteString("busy", new string((char)('a' + (int)((n + (ulong)i) % 26)), 48));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
