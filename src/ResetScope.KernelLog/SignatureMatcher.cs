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
}

internal enum MatchKind
{
    None,
    Signature,
    StatsDump,
}

internal sealed record LineMatch(MatchKind Kind, Signature? Signature, DevicePrefix Prefix, LineFields Fields, bool Partial)
{
    public static readonly LineMatch NoMatch = new(MatchKind.None, null, default, new LineFields(), false);
}

/// <summary>Matches a shaped message against the catalogue.</summary>
internal sealed partial class SignatureMatcher
{
    private readonly Dictionary<(PrefixStyle, string), Signature[]> _byDriver = [];
    private readonly Signature[] _anyDriverLinux;
    private readonly Signature[] _kernel;

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
    }

    public static bool IsPciAddress(string? bus) => bus is not null && PciBus().IsMatch(bus);

    /// <summary>Splits the device prefix off a message (Linux, FreeBSD or DPDK style); Kernel style when there is none.</summary>
    public static DevicePrefix ParsePrefix(string body)
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
                // FreeBSD: "ena0: msg" — the unit is the interface name.
                string unit = driver + m.Groups[2].Value;
                return new DevicePrefix(PrefixStyle.FreeBsd, driver, null, unit, m.Groups[3].Value);
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
    public LineMatch Match(string body, bool allowPartial)
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

        return LineMatch.NoMatch;
    }

    /// <summary>True when the message starts like a catalogue format but does not complete it (a wrapped or cut line).</summary>
    public bool StartsLikeSignature(string body)
    {
        DevicePrefix prefix = ParsePrefix(body);
        if (prefix.Driver is null || !_byDriver.TryGetValue((prefix.Style, prefix.Driver), out Signature[]? sigs))
        {
            return false;
        }

        string cut = TrimElision(prefix.Message);
        if (cut.Length < 12)
        {
            return false;
        }

        foreach (Signature s in sigs)
        {
            if (s.TryMatchTruncated(cut, out _))
            {
                return true;
            }
        }

        return false;
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

            match = new LineMatch(MatchKind.Signature, s, prefix, ExtractFields(s, [.. m.Groups.Cast<Group>().Skip(1).Select(g => g.Success ? g.Value : null)]), false);
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
                default:
                    break;
            }
        }

        return f;
    }
}
