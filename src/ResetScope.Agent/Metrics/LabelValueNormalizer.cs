using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace ResetScope.Agent.Metrics;

/// <summary>
/// What a label value may hold once stored. Label values come from kernel log lines, which are hostile input:
/// they are cut to <see cref="MaxLength"/> UTF-16 units (the series cap bounds the count, this bounds the size:
/// 10,000 series of 1 MB values would be 10 GB), lone surrogates become U+FFFD (they cannot be written as UTF-8),
/// and so do control characters other than tab and newline: one raw NUL makes promtool reject the whole
/// exposition, and a raw CR reads as a line break to many line readers.
/// Newline, quote and backslash stay; the serializer escapes them. Null means the empty value.
/// </summary>
internal static class LabelValueNormalizer
{
    public const int MaxLength = 256;

    // C0 controls except tab and newline, DEL and the C1 controls, and every surrogate (pairs are checked on the slow path).
    private static readonly SearchValues<char> s_needsCare = SearchValues.Create(BuildNeedsCare());

    /// <summary>True when <paramref name="value"/> is stored as it is (so a lookup need not allocate).</summary>
    public static bool IsNormal(string? value)
    {
        if (value is null)
        {
            return true;
        }

        if (value.Length > MaxLength)
        {
            return false;
        }

        ReadOnlySpan<char> rest = value;
        while (true)
        {
            int i = rest.IndexOfAny(s_needsCare);
            if (i < 0)
            {
                return true;
            }

            // A well-formed surrogate pair is fine; anything else found here needs replacing.
            if (char.IsHighSurrogate(rest[i]) && i + 1 < rest.Length && char.IsLowSurrogate(rest[i + 1]))
            {
                rest = rest[(i + 2)..];
                continue;
            }

            return false;
        }
    }

    /// <summary>The stored form of <paramref name="value"/> (see the type's remarks).</summary>
    public static string Normalize(string? value)
    {
        if (value is null)
        {
            return string.Empty;
        }

        if (IsNormal(value))
        {
            return value;
        }

        var sb = new StringBuilder(Math.Min(value.Length, MaxLength));
        ReadOnlySpan<char> rest = value;
        while (!rest.IsEmpty)
        {
            OperationStatus status = Rune.DecodeFromUtf16(rest, out Rune rune, out int consumed);
            if (status != OperationStatus.Done || IsControl(rune))
            {
                rune = Rune.ReplacementChar;
            }

            if (sb.Length + rune.Utf16SequenceLength > MaxLength)
            {
                break;
            }

            sb.Append(rune.ToString());
            rest = rest[consumed..];
        }

        return sb.ToString();
    }

    private static bool IsControl(Rune rune) =>
        (rune.Value < 0x20 && rune.Value != '\t' && rune.Value != '\n') || (rune.Value >= 0x7F && rune.Value <= 0x9F);

    private static string BuildNeedsCare()
    {
        var sb = new StringBuilder();
        for (char c = '\0'; c < ' '; c++)
        {
            if (c is not '\t' and not '\n')
            {
                sb.Append(c);
            }
        }

        for (char c = '\x7F'; c <= '\x9F'; c++)
        {
            sb.Append(c);
        }

        for (int c = 0xD800; c <= 0xDFFF; c++)
        {
            sb.Append((char)c);
        }

        return sb.ToString();
    }
}

/// <summary>
/// Series keys: the normalized label values in declared order. The span form lets a lookup with the caller's
/// values (already normal: the common case) run without allocating a key.
/// </summary>
internal sealed class LabelKeyComparer : IEqualityComparer<string[]>, IAlternateEqualityComparer<ReadOnlySpan<string?>, string[]>
{
    public static readonly LabelKeyComparer Instance = new();

    public bool Equals(string[]? x, string[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && Equals((ReadOnlySpan<string?>)x, y));

    public int GetHashCode([DisallowNull] string[] obj) => GetHashCode((ReadOnlySpan<string?>)obj);

    public bool Equals(ReadOnlySpan<string?> alternate, string[] other)
    {
        if (alternate.Length != other.Length)
        {
            return false;
        }

        for (int i = 0; i < alternate.Length; i++)
        {
            if (!string.Equals(alternate[i] ?? string.Empty, other[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public int GetHashCode(ReadOnlySpan<string?> alternate)
    {
        var hash = default(HashCode);
        foreach (string? value in alternate)
        {
            hash.Add((value ?? string.Empty).GetHashCode(StringComparison.Ordinal));
        }

        return hash.ToHashCode();
    }

    public string[] Create(ReadOnlySpan<string?> alternate)
    {
        string[] key = new string[alternate.Length];
        for (int i = 0; i < key.Length; i++)
        {
            key[i] = LabelValueNormalizer.Normalize(alternate[i]);
        }

        return key;
    }
}
