using System.Globalization;

namespace ResetScope.Cli;

/// <summary>Durations on the command line: "10s", "250ms", "5m", "2h", "30d" or plain seconds.</summary>
public static class Durations
{
    public static TimeSpan Parse(string text, string option, TimeSpan max)
    {
        string t = text.Trim();
        (string number, double scale) = t.EndsWith("ms", StringComparison.Ordinal) ? (t[..^2], 0.001)
            : t.EndsWith('s') ? (t[..^1], 1)
            : t.EndsWith('m') ? (t[..^1], 60)
            : t.EndsWith('h') ? (t[..^1], 3600)
            : t.EndsWith('d') ? (t[..^1], 86400)
            : (t, 1);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0 || double.IsNaN(v) || v * scale > max.TotalSeconds)
        {
            throw new UserFacingException($"{option}: '{text}' is not a duration from 0 to {Describe(max)} (e.g. 10s, 250ms, 5m)");
        }

        return TimeSpan.FromSeconds(v * scale);
    }

    private static string Describe(TimeSpan t) => t.TotalDays >= 1 && t.TotalDays % 1 == 0 ? $"{t.TotalDays:0}d"
        : t.TotalHours >= 1 && t.TotalHours % 1 == 0 ? $"{t.TotalHours:0}h"
        : $"{t.TotalSeconds:0}s";
}
