namespace ResetScope.Host.Cpu;

/// <summary>Allocation-free cursor helpers over ASCII procfs text.</summary>
internal static class Ascii
{
    /// <summary>Cuts the next line (without '\n') off <paramref name="rest"/>.</summary>
    public static ReadOnlySpan<byte> NextLine(ref ReadOnlySpan<byte> rest)
    {
        int nl = rest.IndexOf((byte)'\n');
        ReadOnlySpan<byte> line;
        if (nl < 0)
        {
            line = rest;
            rest = default;
        }
        else
        {
            line = rest[..nl];
            rest = rest[(nl + 1)..];
        }

        return line;
    }

    public static void SkipSpaces(ref ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && (s[i] == (byte)' ' || s[i] == (byte)'\t'))
        {
            i++;
        }

        s = s[i..];
    }

    /// <summary>Cuts the next whitespace-separated token; empty when none is left.</summary>
    public static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> s)
    {
        SkipSpaces(ref s);
        int i = 0;
        while (i < s.Length && s[i] != (byte)' ' && s[i] != (byte)'\t')
        {
            i++;
        }

        ReadOnlySpan<byte> token = s[..i];
        s = s[i..];
        return token;
    }

    /// <summary>Parses a decimal unsigned number after optional blanks; false (cursor unchanged) if none.</summary>
    public static bool TryReadUInt64(ref ReadOnlySpan<byte> s, out ulong value)
    {
        ReadOnlySpan<byte> t = s;
        SkipSpaces(ref t);
        int i = 0;
        ulong v = 0;
        while (i < t.Length && (uint)(t[i] - '0') <= 9)
        {
            v = unchecked((v * 10) + (uint)(t[i] - '0'));
            i++;
        }

        if (i == 0)
        {
            value = 0;
            return false;
        }

        value = v;
        s = t[i..];
        return true;
    }

    /// <summary>Parses a hexadecimal unsigned number after optional blanks; false (cursor unchanged) if none.</summary>
    public static bool TryReadHex(ref ReadOnlySpan<byte> s, out ulong value)
    {
        ReadOnlySpan<byte> t = s;
        SkipSpaces(ref t);
        int i = 0;
        ulong v = 0;
        while (i < t.Length)
        {
            byte b = t[i];
            uint d;
            if ((uint)(b - '0') <= 9)
            {
                d = (uint)(b - '0');
            }
            else if ((uint)((b | 0x20) - 'a') <= 5)
            {
                d = (uint)((b | 0x20) - 'a' + 10);
            }
            else
            {
                break;
            }

            v = unchecked((v << 4) | d);
            i++;
        }

        if (i == 0)
        {
            value = 0;
            return false;
        }

        value = v;
        s = t[i..];
        return true;
    }

    /// <summary>Parses a whole token as a non-negative decimal int.</summary>
    public static bool TryParseInt(ReadOnlySpan<byte> token, out int value)
    {
        value = 0;
        if (token.IsEmpty || token.Length > 9)
        {
            return false;
        }

        foreach (byte b in token)
        {
            if ((uint)(b - '0') > 9)
            {
                value = 0;
                return false;
            }

            value = (value * 10) + (b - '0');
        }

        return true;
    }
}
