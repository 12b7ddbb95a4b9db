using System.Text;
using System.Text.RegularExpressions;
using ResetScope.Core;

namespace ResetScope.KernelLog;

/// <summary>What a catalogue line means inside a reset.</summary>
public enum SignatureRole
{
    /// <summary>Detects the problem and requests the reset (opens an event).</summary>
    Trigger,

    /// <summary>Often precedes a reset but is never one (per-packet timeouts, hang dumps).</summary>
    Precursor,

    /// <summary>The reset itself starts ("Trigger reset is on", "Reset adapter"); opens an event if none is open.</summary>
    Start,

    /// <summary>The reset finished; closes the event.</summary>
    Completion,

    /// <summary>The reset (or the restore after it) failed.</summary>
    Failure,

    /// <summary>Adds fields to an open event; ignored when no event is open.</summary>
    Detail,

    /// <summary>The driver decided not to reset after all (gve kicks the queue, ENA during suspend).</summary>
    Cancel,

    /// <summary>CPU-starvation evidence (soft lockup, RCU stall, hung task, NMI watchdog).</summary>
    Starvation,
}

/// <summary>How the line names its device; decides which part of the message the format is matched against.</summary>
public enum PrefixStyle
{
    /// <summary>Linux dev_printk/netdev_printk: <c>drv BUS ifname: msg</c>, <c>drv BUS: msg</c> or <c>drv: msg</c>.</summary>
    Linux,

    /// <summary>FreeBSD device_printf: <c>ena0: msg</c>.</summary>
    FreeBsd,

    /// <summary>DPDK PMD logs: <c>ENA_DRIVER: func(): msg</c>, <c>func(): msg</c>, <c>PMD: msg</c>.</summary>
    Dpdk,

    /// <summary>Kernel-wide lines with no device prefix, matched anywhere in the message (NETDEV WATCHDOG, soft lockup).</summary>
    Kernel,
}

/// <summary>The value a printf conversion yields.</summary>
public enum SignatureField
{
    Ignore,
    Queue,
    ThresholdUsec,
    ThresholdMsec,
    SinceNapiUsec,
    SinceNapiMsec,
    NapiScheduled,
    NapiCpu,
    Status,
    DriverInfo,
    Ifname,
    DriverName,
    Cpu,
    CommPid,
    DurationS,

    /// <summary>How long the queue has not transmitted, in ms (NETDEV WATCHDOG "timed out %u ms").</summary>
    StalledMs,

    /// <summary>The same in µs (virtio_net "%u usecs ago", mlx5 "usecs since last trans").</summary>
    StalledUsec,
}

/// <summary>
/// One catalogue entry: a driver's format string exactly as in its source (without the trailing
/// <c>\n</c>), where it sits in a reset, the versions that print it and the fields its arguments yield.
/// </summary>
public sealed record Signature
{
    public required string Id { get; init; }

    /// <summary>Driver name as printed in the prefix; <c>*</c> = any driver (taken from the line).</summary>
    public required string Driver { get; init; }

    public required SignatureRole Role { get; init; }

    /// <summary>Driver (or kernel) versions that print this format, as a human-readable range.</summary>
    public required string Versions { get; init; }

    /// <summary>The printf format string (conversions: %d %u %hu %x %llu %lu %s %%).</summary>
    public required string Format { get; init; }

    /// <summary>One entry per conversion, in argument order as printed.</summary>
    public IReadOnlyList<SignatureField> Fields { get; init; } = [];

    public PrefixStyle Prefix { get; init; } = PrefixStyle.Linux;

    public ResetFamily Family { get; init; } = ResetFamily.Other;

    /// <summary>ENA reset reason (without ENA_REGS_RESET_) this line implies, when it implies one.</summary>
    public string? EnaReason { get; init; }

    /// <summary>Version-dependent reason: (first version, reason) ascending; an unknown version leaves the reason open.</summary>
    public IReadOnlyList<(string Since, string Reason)>? EnaReasonByVersion { get; init; }

    /// <summary>How decisive the implied reason is; the highest wins inside one event (1 = default guess, 2 = decisive).</summary>
    public int ReasonPriority { get; init; } = 1;

    /// <summary>"completed successfully" printed regardless of the restore result (ENA ≤ 2.13.0, FreeBSD).</summary>
    public bool SuccessEvenOnFailure { get; init; }

    /// <summary>A completion/failure line that proves a reset happened even when no earlier line was seen.</summary>
    public bool ImpliesReset { get; init; } = true;

    /// <summary>Kernel-style entries: also accept text after the match (wording partly unverified, or a tail that varies).</summary>
    public bool AllowTrailing { get; init; }

    public string? StarvationType { get; init; }

    /// <summary>A detail line also printed before any reset (MMIO read timeouts at probe time): alone, it is a precursor of the next reset.</summary>
    public bool PrecursorWhenAlone { get; init; }

    /// <summary>The kernel's own NETDEV WATCHDOG line: one per firing that prints, counted as <see cref="ResetScope.Core.ResetEvent.Repeats"/>.</summary>
    public bool WatchdogFiring { get; init; }

    /// <summary>Free-form note for reviewers (source, caveats).</summary>
    public string? Note { get; init; }

    private Regex? _full;
    private string? _literalPrefix;

    internal Regex FullRegex => _full ??= PrintfPattern.ToRegex(Format, anchoredStart: Prefix != PrefixStyle.Kernel, anchoredEnd: !AllowTrailing, partial: false);

    /// <summary>
    /// Matches a message that is a cut-short rendering of this format (elided with "...", cut by a length cap or a
    /// mail wrap): every character present must agree with the format. Values of conversions not (fully) present are null.
    /// </summary>
    internal bool TryMatchTruncated(string message, out string?[] values)
    {
        // Most messages differ from the format in its first characters: say so before looking the conversions up.
        string lit = LiteralPrefix;
        if (string.CompareOrdinal(lit, 0, message, 0, Math.Min(lit.Length, message.Length)) != 0)
        {
            values = [];
            return false;
        }

        return PrintfPattern.TryMatchPrefix(Format, message, out values);
    }

    /// <summary>The literal text before the first conversion: a cheap pre-check before the regex.</summary>
    internal string LiteralPrefix => _literalPrefix ??= PrintfPattern.LiteralPrefix(Format);

    /// <summary>Characters of fixed text in the format (conversions excluded): how distinctive the message is on its own.</summary>
    internal int LiteralLength => _literalLength ??= PrintfPattern.LiteralLength(Format);

    private int? _literalLength;

    /// <summary>The reason this line implies for a driver version (null when unknown or not implied).</summary>
    public string? ReasonFor(string? driverVersion)
    {
        if (EnaReasonByVersion is not { Count: > 0 } byVersion)
        {
            return EnaReason;
        }

        if (DriverVersion.TryParse(driverVersion, out DriverVersion v))
        {
            string? reason = null;
            foreach ((string since, string r) in byVersion)
            {
                if (DriverVersion.TryParse(since, out DriverVersion s) && v.CompareTo(s) >= 0)
                {
                    reason = r;
                }
            }

            return reason;
        }

        return null;
    }

    /// <summary>Renders the format with the given argument values (the test generator and the benchmark corpus use this).</summary>
    public string Render(params object[] args) => PrintfPattern.Render(Format, args);
}

/// <summary>A dotted driver version such as 2.11.0g (the letter suffix is ignored for ordering).</summary>
public readonly record struct DriverVersion(int Major, int Minor, int Patch) : IComparable<DriverVersion>
{
    public int CompareTo(DriverVersion other)
    {
        int c = Major.CompareTo(other.Major);
        if (c == 0)
        {
            c = Minor.CompareTo(other.Minor);
        }

        return c == 0 ? Patch.CompareTo(other.Patch) : c;
    }

    public static bool TryParse(string? text, out DriverVersion version)
    {
        version = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        Match m = Regex.Match(text, @"^v?(\d+)\.(\d+)(?:\.(\d+))?");
        if (!m.Success)
        {
            return false;
        }

        version = new DriverVersion(
            int.Parse(m.Groups[1].ValueSpan, provider: System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].ValueSpan, provider: System.Globalization.CultureInfo.InvariantCulture),
            m.Groups[3].Success ? int.Parse(m.Groups[3].ValueSpan, provider: System.Globalization.CultureInfo.InvariantCulture) : 0);
        return true;
    }
}

/// <summary>printf format strings → regular expressions (full and truncation-tolerant) and back to text.</summary>
internal static class PrintfPattern
{
    private static readonly Regex s_conversion = new(@"%(?:<PRIu64>|[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z)?[diuxXsc%])", RegexOptions.CultureInvariant);

    public static Regex ToRegex(string format, bool anchoredStart, bool anchoredEnd, bool partial)
    {
        var sb = new StringBuilder();
        if (anchoredStart)
        {
            sb.Append('^');
        }

        int pos = 0;
        int open = 0;
        foreach (Match m in s_conversion.Matches(format))
        {
            string lit = format[pos..m.Index];
            sb.Append(Regex.Escape(lit));
            pos = m.Index + m.Length;
            string conv = m.Value;
            if (conv == "%%")
            {
                sb.Append('%');
                continue;
            }

            if (partial)
            {
                sb.Append("(?:");
                open++;
            }

            char kind = conv[^1];
            sb.Append(kind switch
            {
                'd' or 'i' => @"(-?\d+)",
                'u' => @"(\d+)",
                'x' or 'X' => @"([0-9a-fA-F]+)",
                's' => pos == format.Length ? "(.*)" : "(.*?)",
                'c' => "(.)",
                _ => @"(\d+)",
            });
        }

        string tail = format[pos..];
        if (partial)
        {
            // Each later piece is optional so a line cut short ("...", mail wrap, length cap) still yields its leading fields.
            sb.Append(Regex.Escape(tail));
            for (int i = 0; i < open; i++)
            {
                sb.Append(")?");
            }
        }
        else
        {
            sb.Append(Regex.Escape(tail));
            if (anchoredEnd)
            {
                sb.Append(@"\s*$");
            }
        }

                // A crafted candidate line (≤ 16 KiB) could make the lazy %s groups backtrack for long: bound every match.
        // (RegexOptions.NonBacktracking would be linear but costs ~0.2 s to build the catalogue on each run.)
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant, MatchTimeout);
    }

    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int Index, int Length, string Value)[]> s_tokens = new(StringComparer.Ordinal);

    /// <summary>The conversions of a format (position, length, text), parsed once per format.</summary>
    private static (int Index, int Length, string Value)[] Conversions(string format) =>
        s_tokens.GetOrAdd(format, static f => [.. s_conversion.Matches(f).Select(m => (m.Index, m.Length, m.Value))]);

    public static bool TryMatchPrefix(string format, string message, out string?[] values)
    {
        values = [];
        (int Index, int Length, string Value)[] convs = Conversions(format);
        int firstLit = convs.Length > 0 ? convs[0].Index : format.Length;
        int check = Math.Min(firstLit, message.Length);
        if (string.CompareOrdinal(format, 0, message, 0, check) != 0)
        {
            return false;
        }

        var list = new List<string?>();
        int i = 0;
        int pos = 0;
        for (int c = 0; c <= convs.Length; c++)
        {
            string lit = c < convs.Length ? format[pos..convs[c].Index] : format[pos..];
            int n = 0;
            while (n < lit.Length && i + n < message.Length && lit[n] == message[i + n])
            {
                n++;
            }

            if (i + n == message.Length)
            {
                // The message ends inside (or right at the end of) this literal: a consistent prefix.
                values = [.. list];
                return true;
            }

            if (n < lit.Length)
            {
                return false;
            }

            i += n;
            if (c == convs.Length)
            {
                break;
            }

            (int Index, int Length, string Value) conv = convs[c];
            pos = conv.Index + conv.Length;
            if (conv.Value == "%%")
            {
                if (message[i] != '%')
                {
                    return false;
                }

                i++;
                continue;
            }

            char kind = conv.Value[^1];
            int start = i;
            if (kind is 'd' or 'i' && i < message.Length && message[i] == '-')
            {
                i++;
            }

            if (kind == 's')
            {
                string next = pos < format.Length ? format[pos..(c + 1 < convs.Length ? convs[c + 1].Index : format.Length)] : string.Empty;
                int end = next.Length == 0 ? message.Length : message.IndexOf(next[0], i);
                i = end < 0 ? message.Length : end;
            }
            else
            {
                while (i < message.Length && (char.IsAsciiDigit(message[i]) || (kind is 'x' or 'X' && char.IsAsciiHexDigit(message[i]))))
                {
                    i++;
                }

                if (i == start && i < message.Length)
                {
                    return false;
                }
            }

            // A value that runs into the end of the message may itself be cut short: do not report it.
            list.Add(i == message.Length ? null : message[start..i]);
            if (i == message.Length)
            {
                values = [.. list];
                return true;
            }
        }

        values = [.. list];
        return i == message.Length;
    }

    public static string LiteralPrefix(string format)
    {
        Match m = s_conversion.Match(format);
        return m.Success ? format[..m.Index] : format;
    }

    /// <summary>The fixed text between conversions.</summary>
    public static IEnumerable<string> LiteralPieces(string format) => s_conversion.Split(format).Where(p => p.Length > 0);

    public static int LiteralLength(string format) => s_conversion.Replace(format, m => m.Value == "%%" ? "%" : string.Empty).Length;

    public static int ConversionCount(string format)
    {
        int n = 0;
        foreach (Match m in s_conversion.Matches(format))
        {
            if (m.Value != "%%")
            {
                n++;
            }
        }

        return n;
    }

    public static string Render(string format, object[] args)
    {
        var sb = new StringBuilder();
        int pos = 0;
        int arg = 0;
        foreach (Match m in s_conversion.Matches(format))
        {
            sb.Append(format, pos, m.Index - pos);
            pos = m.Index + m.Length;
            if (m.Value == "%%")
            {
                sb.Append('%');
                continue;
            }

            object value = arg < args.Length ? args[arg] : "?";
            arg++;
            char kind = m.Value[^1];
            if (kind is 'x' or 'X' && value is IFormattable hex)
            {
                sb.Append(hex.ToString(kind == 'x' ? "x" : "X", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        sb.Append(format, pos, format.Length - pos);
        return sb.ToString();
    }
}
