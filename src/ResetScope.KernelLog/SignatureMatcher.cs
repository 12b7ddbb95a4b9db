using System.Globalization;
using System.Text.RegularExpressions;

namespace ResetScope.KernelLog;

/// <summary>The device part of a message: <c>ena 0000:00:05.0 eth0: </c>, <c>ena0: </c>, <c>ENA_DRIVER: f(): </c> …</summary>
internal readonly record struct DevicePrefix(PrefixStyle Style, string? Driver, string? Bus, string? Ifname, string Message);

/// <summary>The values a matched line yields (null where the format does not print them).</summary>
internal sealed record LineFields
{
    public int? Queue { get; set; }
    public long? ThresholdUsec { get; set; }
    public long? SinceNapiUsec { get; set; }
    public bool? NapiScheduled { get; set; }
    public int? NapiCpu { get; set; }
    public long? Status { get; set; }
    public string? DriverVersion { get; set; }
    public string? Ifname { get; set; }
    public string? DriverName { get; set; }
    public int? Cpu { get; set; }
    public string? Comm { get; set; }
    public int? Pid { get; set; }
    public double? DurationS { get; set; }
    public long? StalledMs { get; set; }
}

internal enum MatchKind
{
    None,
    Signature,
    StatsDump,

    /// <summary>A catalogue message without its device prefix whose driver cannot be told (several drivers print it, or it is too generic alone).</summary>
    Unattributed,
}

/// <param name="DeviceInferred">The line had no device prefix: the driver was told from the message (and the interface name, when present).</param>
/// <param name="OpenEnded">The format ends in a %s that matched nothing, or a driver info without its version ("Driver info: Elastic" at the end of a line): the rest may be on the next line.</param>
internal sealed record LineMatch(MatchKind Kind, Signature? Signature, DevicePrefix Prefix, LineFields Fields, bool Partial, bool DeviceInferred = false, bool OpenEnded = false)
{
    public static readonly LineMatch NoMatch = new(MatchKind.None, null, default, new LineFields(), false);
}

/// <summary>What the lines read so far say about devices: the assembler answers for the input it assembles.</summary>
internal interface IDeviceDirectory
{
    /// <summary>The driver an earlier line of this input printed this interface name with, or null.</summary>
    string? DriverOf(string ifname);

    /// <summary>True when a line of this driver is close to line <paramref name="lineNo"/> (an event of it is open, or it named a device just before): a bare message of it belongs to them.</summary>
    bool HasNeighbour(string driver, int lineNo);
}

/// <summary>Matches a shaped message against the catalogue.</summary>
internal sealed partial class SignatureMatcher
{
    private readonly Dictionary<(PrefixStyle, string), Signature[]> _byDriver = [];
    private readonly Signature[] _anyDriverLinux;
    private readonly Signature[] _kernel;
    private readonly (string Driver, Signature[] Signatures)[] _linuxByDriver;

    /// <summary>Fixed text a message needs to be told apart from other programs' output when no line of its driver is near.</summary>
    private const int DistinctiveLiteral = 24;

    [GeneratedRegex(@"^([a-z][a-z0-9_\-]*) (\S+?)(?: ([^\s:]+|\(unnamed net_device\) \(uninitialized\)))?: (.*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex LinuxPrefix();

    [GeneratedRegex(@"^([a-z][a-z0-9_\-]*?)(\d*): (.*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex ShortPrefix();

    [GeneratedRegex(@"^(?:ENA_DRIVER: |PMD: |net_ena: )?(?:[a-z_][a-z0-9_]*\(\): )?(.*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex DpdkPrefix();

    [GeneratedRegex(@"^[A-Za-z0-9_]+: \d+\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex StatLine();

    [GeneratedRegex(@"^[0-9a-fA-F]{4,}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$", RegexOptions.CultureInvariant)]
    private static partial Regex PciBus();

    [GeneratedRegex(@"\bv(\d+\.\d+(?:\.\d+)?[A-Za-z]*)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex DriverInfoVersion();

    /// <summary>The matcher of <see cref="Catalogue.All"/>, built once per process: it is immutable but for caches built on first use.</summary>
    public static SignatureMatcher Default => s_default ??= new SignatureMatcher(Catalogue.All);

    private static SignatureMatcher? s_default;

    public SignatureMatcher(IReadOnlyList<Signature> catalogue)
    {
        var byDriver = new Dictionary<(PrefixStyle, string), List<Signature>>();
        var any = new List<Signature>();
        var kernel = new List<Signature>();
        foreach (Signature s in catalogue)
        {
            if (s.Prefix == PrefixStyle.Kernel)
            {
                kernel.Add(s);
            }
            else if (s.Driver == "*")
            {
                any.Add(s);
            }
            else
            {
                if (!byDriver.TryGetValue((s.Prefix, s.Driver), out List<Signature>? list))
                {
                    byDriver[(s.Prefix, s.Driver)] = list = [];
                }

                list.Add(s);
            }
        }

        foreach (KeyValuePair<(PrefixStyle, string), List<Signature>> kv in byDriver)
        {
            _byDriver[kv.Key] = [.. kv.Value];
        }

        _anyDriverLinux = [.. any];
        _kernel = [.. kernel];
        var linux = new List<(string, Signature[])>();
        foreach (KeyValuePair<(PrefixStyle, string), Signature[]> kv in _byDriver)
        {
            if (kv.Key.Item1 == PrefixStyle.Linux)
            {
                linux.Add((kv.Key.Item2, kv.Value));
            }
        }

        _linuxByDriver = [.. linux];
        _catalogue = catalogue;
    }

    /// <summary>
    /// For a line with a catalogued driver's own device prefix that matched nothing: damaged when its message starts
    /// with the fixed text one of the driver's formats starts with (the rest did not parse), else null.
    /// </summary>
    public string? DamagedMessage(DevicePrefix prefix)
    {
        if (prefix.Message.Length < MinFragment)
        {
            return null;
        }

        _messageStarts ??= BuildMessageStarts();
        string start = prefix.Message[..MinFragment];
        return (_messageStarts.TryGetValue(prefix.Driver!, out HashSet<string>? starts) && starts.Contains(start)) || _messageStarts[string.Empty].Contains(start)
            ? UnusableReason.Damaged
            : null;
    }

    /// <summary>The first <see cref="MinFragment"/> characters of every Linux format per driver ("" = any driver's).</summary>
    private Dictionary<string, HashSet<string>>? _messageStarts;

    private Dictionary<string, HashSet<string>> BuildMessageStarts()
    {
        var starts = new Dictionary<string, HashSet<string>> { [string.Empty] = new(StringComparer.Ordinal) };
        foreach ((string driver, Signature[] sigs) in _linuxByDriver)
        {
            var set = starts[driver] = new HashSet<string>(StringComparer.Ordinal);
            foreach (Signature sig in sigs)
            {
                if (sig.LiteralPrefix.Length >= MinFragment)
                {
                    set.Add(sig.LiteralPrefix[..MinFragment]);
                }
            }
        }

        foreach (Signature sig in _anyDriverLinux)
        {
            if (sig.LiteralPrefix.Length >= MinFragment)
            {
                starts[string.Empty].Add(sig.LiteralPrefix[..MinFragment]);
            }
        }

        return starts;
    }

    /// <summary>Fixed text of this length from a catalogue format is taken as a sign the line meant to be that message.</summary>
    private const int MinFragment = 14;

    private readonly IReadOnlyList<Signature> _catalogue;

    // Built on the first line that needs them: most inputs never do, and building them costs start-up time.
    private FragmentIndex? _starts;
    private FragmentIndex? _fragments;

    /// <summary>
    /// Why a line that matched nothing still looked like part of an event, or null: it holds the start of a catalogue
    /// message (damaged: OCR, a mangled prefix, bytes lost), or only a later piece of one (the tail of a wrapped message
    /// whose first part is not in the input).
    /// </summary>
    public string? Unusable(string text, bool hasRecordPrefix)
    {
        _starts ??= new FragmentIndex(_catalogue.Select(sig => sig.LiteralPrefix).Where(p => p.Trim().Length >= MinFragment));
        _fragments ??= new FragmentIndex(_catalogue.SelectMany(sig => PrintfPattern.LiteralPieces(sig.Format))
            .Select(p => p.Trim(' ', ':', ',', '.', '(', ')', '[', ']')).Where(p => p.Length >= MinFragment));
        if (_starts.ContainsAny(text))
        {
            return UnusableReason.Damaged;
        }

        return !_fragments.ContainsAny(text) ? null : hasRecordPrefix ? UnusableReason.Damaged : UnusableReason.Orphan;
    }

    /// <summary>True when the catalogue has lines of this driver with a Linux device prefix.</summary>
    public bool Knows(string driver) => _byDriver.ContainsKey((PrefixStyle.Linux, driver));

    public static bool IsPciAddress(string? bus) => bus is not null && PciBus().IsMatch(bus);

    /// <summary>Splits the device prefix off a message (Linux, FreeBSD or DPDK style); Kernel style when there is none.</summary>
    public static DevicePrefix ParsePrefix(string body)
    {
        // One candidate line is asked about several times over (match, cut, damage, join): parse each string once.
        if (ReferenceEquals(body, t_lastBody))
        {
            return t_lastPrefix;
        }

        DevicePrefix p = ParsePrefixUncached(body);
        (t_lastBody, t_lastPrefix) = (body, p);
        return p;
    }

    [ThreadStatic]
    private static string? t_lastBody;

    [ThreadStatic]
    private static DevicePrefix t_lastPrefix;

    private static DevicePrefix ParsePrefixUncached(string body)
    {
        DevicePrefix p = ParsePrefixCore(body);

        // ena_com traces (2016 Linux pr_*, DPDK debug): "[ENA_COM: function] message".
        if (p.Message.StartsWith("[ENA_COM: ", StringComparison.Ordinal))
        {
            int close = p.Message.IndexOf("] ", StringComparison.Ordinal);
            if (close > 0)
            {
                p = p with { Message = p.Message[(close + 2)..], Style = p.Style == PrefixStyle.Kernel ? PrefixStyle.Linux : p.Style, Driver = p.Driver ?? "ena" };
            }
        }

        return p;
    }

    private static DevicePrefix ParsePrefixCore(string body)
    {
        if (body.StartsWith("ENA_DRIVER: ", StringComparison.Ordinal) || body.StartsWith("PMD: ", StringComparison.Ordinal)
            || body.StartsWith("net_ena: ", StringComparison.Ordinal))
        {
            return new DevicePrefix(PrefixStyle.Dpdk, "ena", null, null, DpdkPrefix().Match(body).Groups[1].Value);
        }

        Match m = LinuxPrefix().Match(body);
        if (m.Success)
        {
            string bus = m.Groups[2].Value;
            string? ifname = m.Groups[3].Success ? m.Groups[3].Value : null;
            if (ifname is not null && ifname.StartsWith('('))
            {
                ifname = null;
            }

            return new DevicePrefix(PrefixStyle.Linux, m.Groups[1].Value, bus, ifname, m.Groups[4].Value);
        }

        m = ShortPrefix().Match(body);
        if (m.Success)
        {
            string driver = m.Groups[1].Value;
            if (m.Groups[2].Length > 0)
            {
                // FreeBSD: "ena0: msg" — the unit is the interface name (old drivers print it twice: "ena0: ena0: msg").
                string unit = driver + m.Groups[2].Value;
                string msg = m.Groups[3].Value;
                if (msg.Length > unit.Length + 2 && msg.StartsWith(unit, StringComparison.Ordinal) && msg.AsSpan(unit.Length).StartsWith(": "))
                {
                    msg = msg[(unit.Length + 2)..];
                }

                return new DevicePrefix(PrefixStyle.FreeBsd, driver, null, unit, msg);
            }

            return new DevicePrefix(PrefixStyle.Linux, driver, null, null, m.Groups[3].Value);
        }

        if (body.Length > 4 && char.IsAsciiLetterLower(body[0]) && body.Contains("(): ", StringComparison.Ordinal))
        {
            Match d = DpdkPrefix().Match(body);
            if (d.Groups[1].Length < body.Length)
            {
                return new DevicePrefix(PrefixStyle.Dpdk, "ena", null, null, d.Groups[1].Value);
            }
        }

        return new DevicePrefix(PrefixStyle.Kernel, null, null, null, body);
    }

    /// <summary>Matches one message (first line of a record). <paramref name="allowPartial"/> accepts a line cut short.</summary>
    /// <param name="devices">What earlier lines said about interfaces, for messages that lost their device prefix.</param>
    /// <param name="lineNo">The line's number, to tell how near the lines <paramref name="devices"/> knows are.</param>
    public LineMatch Match(string body, bool allowPartial, IDeviceDirectory? devices = null, int lineNo = 0)
    {
        DevicePrefix prefix = ParsePrefix(body);
        if (prefix.Style is PrefixStyle.Linux or PrefixStyle.FreeBsd && prefix.Driver is not null && (prefix.Bus is not null || prefix.Style == PrefixStyle.FreeBsd || prefix.Driver == "ena")
            && StatLine().IsMatch(prefix.Message))
        {
            return new LineMatch(MatchKind.StatsDump, null, prefix, new LineFields(), false);
        }

        if (prefix.Driver is not null && prefix.Style != PrefixStyle.Kernel)
        {
            if (_byDriver.TryGetValue((prefix.Style, prefix.Driver), out Signature[]? sigs) && TryList(sigs, prefix.Message, prefix, false, out LineMatch? hit))
            {
                return hit!;
            }

            if (prefix.Style == PrefixStyle.Linux && TryList(_anyDriverLinux, prefix.Message, prefix, false, out hit))
            {
                return hit!;
            }
        }

        var kernelPrefix = new DevicePrefix(PrefixStyle.Kernel, null, null, null, body);
        if (TryList(_kernel, body, kernelPrefix, false, out LineMatch? k))
        {
            return k!;
        }

        if (allowPartial && prefix.Driver is not null && prefix.Style != PrefixStyle.Kernel
            && _byDriver.TryGetValue((prefix.Style, prefix.Driver), out Signature[]? partialSigs)
            && TryList(partialSigs, prefix.Message, prefix, true, out LineMatch? p))
        {
            return p!;
        }

        return MatchUnprefixed(body, prefix, devices, lineNo);
    }

    /// <summary>
    /// A driver message whose device prefix was lost (pasted, stripped by a collector): "eth1: msg" or just "msg".
    /// The driver is told from the message itself: the driver an earlier line printed that interface with, else
    /// the only driver that prints that text — and then only for text long enough to be nobody else's, or when a
    /// line of that driver is near.
    /// </summary>
    private LineMatch MatchUnprefixed(string body, DevicePrefix prefix, IDeviceDirectory? devices, int lineNo)
    {
        // "eth1: msg" parses as a FreeBSD unit or a Linux driver without bus; neither is a driver we know.
        string? ifname = null;
        string? named = null;
        if (prefix.Style == PrefixStyle.FreeBsd && prefix.Ifname is { } unit && !_byDriver.ContainsKey((PrefixStyle.FreeBsd, prefix.Driver!)))
        {
            ifname = unit;
            named = prefix.Message;
        }
        else if (prefix.Style == PrefixStyle.Linux && prefix.Bus is null && prefix.Driver is { } word && !_byDriver.ContainsKey((PrefixStyle.Linux, word)))
        {
            ifname = word;
            named = prefix.Message;
        }
        else if (prefix.Style != PrefixStyle.Kernel)
        {
            return LineMatch.NoMatch;
        }

        if (named is not null && ifname is not null)
        {
            string? known = devices?.DriverOf(ifname);
            LineMatch m = MatchAnyDriver(named, ifname, known, devices, lineNo);
            if (m.Kind != MatchKind.None)
            {
                return m;
            }
        }

        return MatchAnyDriver(body, null, null, devices, lineNo);
    }

    private LineMatch MatchAnyDriver(string message, string? ifname, string? knownDriver, IDeviceDirectory? devices, int lineNo)
    {
        LineMatch? found = null;
        int drivers = 0;
        foreach ((string driver, Signature[] sigs) in _linuxByDriver)
        {
            if (knownDriver is not null && driver != knownDriver)
            {
                continue;
            }

            var pseudo = new DevicePrefix(PrefixStyle.Linux, driver, null, ifname, message);
            if (TryList(sigs, message, pseudo, false, out LineMatch? hit))
            {
                drivers++;
                found ??= hit! with { DeviceInferred = true };
            }
        }

        if (found is null)
        {
            return LineMatch.NoMatch;
        }

        bool distinctive = found.Signature!.LiteralLength >= DistinctiveLiteral;
        if (drivers == 1 && (knownDriver is not null || distinctive || devices?.HasNeighbour(found.Prefix.Driver!, lineNo) == true))
        {
            return found;
        }

        return found with { Kind = MatchKind.Unattributed };
    }

    /// <summary>True when the message starts like a catalogue format but does not complete it (a wrapped or cut line).</summary>
    /// <param name="minLength">How much of the message must be there (a line marked as elided may say little and still be a cut catalogue line).</param>
    public bool StartsLikeSignature(string body, int minLength = 12)
    {
        DevicePrefix prefix = ParsePrefix(body);
        foreach (Signature k in _kernel)
        {
            // Kernel-wide formats sit anywhere in the message: from their literal start on, a consistent cut.
            string lit = k.LiteralPrefix;
            int at = lit.Length >= 12 ? body.AsSpan().IndexOf(lit.AsSpan(0, 12), StringComparison.Ordinal) : -1;
            if (at >= 0 && k.TryMatchTruncated(TrimElision(body[at..]), out _))
            {
                return true;
            }
        }

        if (prefix.Driver is null || prefix.Style == PrefixStyle.Kernel)
        {
            return false;
        }

        string cut = TrimElision(prefix.Message);
        if (cut.Length < minLength)
        {
            return false;
        }

        // The driver's own formats, and for a Linux prefix the ones any driver prints that way (NETDEV WATCHDOG, 6.8+).
        if (_byDriver.TryGetValue((prefix.Style, prefix.Driver), out Signature[]? own) && AnyCut(own, cut))
        {
            return true;
        }

        return prefix.Style == PrefixStyle.Linux && AnyCut(_anyDriverLinux, cut);

        static bool AnyCut(Signature[] sigs, string cut)
        {
            foreach (Signature s in sigs)
            {
                if (s.TryMatchTruncated(cut, out _))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Where a catalogued driver's device prefix starts inside a line that other output was glued in front of (a shell
    /// prompt on a serial console, "root@host:~# ena 0000:00:05.0 eth0: ..."); -1 when there is none after the start.
    /// </summary>
    public int EmbeddedPrefixStart(string body)
    {
        int first = -1;
        foreach ((string driver, _) in _linuxByDriver)
        {
            for (int at = body.IndexOf(driver, 1, StringComparison.Ordinal); at > 0 && (first < 0 || at < first); at = body.IndexOf(driver, at + 1, StringComparison.Ordinal))
            {
                // The driver, a space, then a device prefix: as a word of its own ("ubuntu.ena 0000:...": consoles glue lines
                // without a space), or even inside one when a PCI address follows ("/etc/initena 0000:20:03.0 eth1: ...").
                if (at + driver.Length < body.Length && body[at + driver.Length] == ' ' && ParsePrefix(body[at..]).Bus is { } bus
                    && ((!char.IsAsciiLetterOrDigit(body[at - 1]) && body[at - 1] != '_') || IsPciAddress(bus)))
                {
                    first = at;
                    break;
                }
            }
        }

        return first;
    }

    private static bool TryList(Signature[] sigs, string message, DevicePrefix prefix, bool partial, out LineMatch? match)
    {
        foreach (Signature s in sigs)
        {
            string lit = s.LiteralPrefix;
            if (s.Prefix == PrefixStyle.Kernel)
            {
                if (lit.Length > 0 && !message.Contains(lit, StringComparison.Ordinal))
                {
                    continue;
                }
            }
            else if (!message.StartsWith(lit, StringComparison.Ordinal))
            {
                continue;
            }

            if (partial)
            {
                string cut = TrimElision(message);
                if (cut.Length < Math.Max(12, Math.Min(lit.Length, 24)) || !s.TryMatchTruncated(cut, out string?[] values))
                {
                    continue;
                }

                match = new LineMatch(MatchKind.Signature, s, prefix, ExtractFields(s, values), true);
                return true;
            }

            Match m;
            try
            {
                m = s.FullRegex.Match(message);
            }
            catch (RegexMatchTimeoutException)
            {
                continue; // pathological line: treated as not this signature
            }

            if (!m.Success)
            {
                continue;
            }

            LineFields fields = ExtractFields(s, [.. m.Groups.Cast<Group>().Skip(1).Select(g => g.Success ? g.Value : null)]);
            bool openEnded = s.Format.EndsWith("%s", StringComparison.Ordinal) && m.Groups.Count > 1
                && (string.IsNullOrWhiteSpace(m.Groups[^1].Value) || (s.Fields[^1] == SignatureField.DriverInfo && fields.DriverVersion is null));
            match = new LineMatch(MatchKind.Signature, s, prefix, fields, false, OpenEnded: openEnded);
            return true;
        }

        match = null;
        return false;
    }

    private static string TrimElision(string message)
    {
        string m = message.TrimEnd();
        foreach (string e in (string[])["[...]", "...", "…"])
        {
            if (m.EndsWith(e, StringComparison.Ordinal))
            {
                return m[..^e.Length].TrimEnd();
            }
        }

        return m;
    }

    private static LineFields ExtractFields(Signature s, string?[] values)
    {
        var f = new LineFields();
        for (int i = 0; i < s.Fields.Count && i < values.Length; i++)
        {
            string? v = values[i];
            if (v is null)
            {
                continue;
            }

            long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n);
            bool numeric = long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
            switch (s.Fields[i])
            {
                case SignatureField.Queue when numeric && n is >= int.MinValue and <= int.MaxValue:
                    f.Queue = (int)n;
                    break;
                case SignatureField.ThresholdUsec when numeric:
                    f.ThresholdUsec = n;
                    break;
                case SignatureField.ThresholdMsec when numeric:
                    f.ThresholdUsec = n * 1000;
                    break;
                case SignatureField.SinceNapiUsec when numeric:
                    f.SinceNapiUsec = n;
                    break;
                case SignatureField.SinceNapiMsec when numeric:
                    f.SinceNapiUsec = n * 1000;
                    break;
                case SignatureField.NapiScheduled when numeric:
                    f.NapiScheduled = n != 0;
                    break;
                case SignatureField.NapiCpu when numeric && n is >= int.MinValue and <= int.MaxValue:
                    f.NapiCpu = (int)n;
                    break;
                case SignatureField.Status when numeric:
                    f.Status = n;
                    break;
                case SignatureField.DriverInfo:
                    Match dv = DriverInfoVersion().Match(v);
                    f.DriverVersion = dv.Success ? dv.Groups[1].Value : null;
                    break;
                case SignatureField.Ifname:
                    f.Ifname = v;
                    break;
                case SignatureField.DriverName:
                    f.DriverName = v;
                    break;
                case SignatureField.Cpu when numeric && n is >= int.MinValue and <= int.MaxValue:
                    f.Cpu = (int)n;
                    break;
                case SignatureField.CommPid:
                    int colon = v.LastIndexOf(':');
                    if (colon > 0 && int.TryParse(v.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                    {
                        f.Comm = v[..colon];
                        f.Pid = pid;
                    }
                    else
                    {
                        f.Comm = v;
                    }

                    break;
                case SignatureField.DurationS when numeric:
                    f.DurationS = n;
                    break;
                case SignatureField.StalledMs when numeric:
                    f.StalledMs = n;
                    break;
                case SignatureField.StalledUsec when numeric:
                    f.StalledMs = n / 1000;
                    break;
                default:
                    break;
            }
        }

        return f;
    }
}
