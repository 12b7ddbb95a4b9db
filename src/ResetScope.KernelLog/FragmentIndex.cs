namespace ResetScope.KernelLog;

/// <summary>
/// Finds whether a text holds any of a fixed set of strings (pieces of the catalogue's formats), keyed by their first
/// four characters: one dictionary probe per text position, and a comparison only where a key matches. Lighter than
/// <see cref="System.Buffers.SearchValues{T}"/> of strings, whose generic machinery costs tens of milliseconds of JIT at
/// start-up for the few lines that ever ask.
/// </summary>
internal sealed class FragmentIndex
{
    private const int KeyLength = 4;
    private readonly Dictionary<ulong, string[]> _byKey = [];

    /// <param name="fragments">The strings to find, each at least four characters long.</param>
    public FragmentIndex(IEnumerable<string> fragments)
    {
        var lists = new Dictionary<ulong, List<string>>();
        foreach (string f in fragments.Distinct(StringComparer.Ordinal))
        {
            if (f.Length < KeyLength)
            {
                throw new ArgumentException($"fragment \"{f}\" is shorter than {KeyLength} characters", nameof(fragments));
            }

            ulong key = Key(f);
            if (!lists.TryGetValue(key, out List<string>? list))
            {
                lists[key] = list = [];
            }

            list.Add(f);
        }

        foreach (KeyValuePair<ulong, List<string>> kv in lists)
        {
            _byKey[kv.Key] = [.. kv.Value];
        }
    }

    /// <summary>True when the text holds one of the fragments.</summary>
    public bool ContainsAny(ReadOnlySpan<char> text)
    {
        for (int i = 0; i + KeyLength <= text.Length; i++)
        {
            if (_byKey.TryGetValue(Key(text[i..]), out string[]? candidates))
            {
                foreach (string c in candidates)
                {
                    if (text[i..].StartsWith(c, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    private static ulong Key(ReadOnlySpan<char> s) => s[0] | ((ulong)s[1] << 16) | ((ulong)s[2] << 32) | ((ulong)s[3] << 48);
}
