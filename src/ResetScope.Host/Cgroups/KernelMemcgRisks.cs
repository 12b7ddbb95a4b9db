using System.Globalization;

namespace ResetScope.Host.Cgroups;

/// <summary>A known way an old kernel turns many (dying) memcgs into CPU time or failures.</summary>
public sealed record KernelRiskNote(string Id, Version FixedIn, string Text);

/// <summary>Risk notes for zombie memcgs by kernel release (spec §3.2, §3.3).</summary>
public static class KernelMemcgRisks
{
    /// <summary>Seconds of sys time to read the root v1 memory.numa_stat with 10,000 memcgs before 5.7 (Shakeel Butt's patch).</summary>
    public const double NumaStatSecondsPer10kMemcgs = 0.697;

    /// <summary>Parses "major.minor[.patch]" from the start of a release string such as "5.4.0-1045-aws" or "6.18.44-fc-v657".</summary>
    public static Version? ParseRelease(string? release)
    {
        if (string.IsNullOrWhiteSpace(release))
        {
            return null;
        }

        var parts = new List<int>(3);
        int i = 0;
        string r = release.Trim();
        while (parts.Count < 3 && i < r.Length && char.IsAsciiDigit(r[i]))
        {
            int start = i;
            while (i < r.Length && char.IsAsciiDigit(r[i]))
            {
                i++;
            }

            if (!int.TryParse(r.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            {
                return null;
            }

            parts.Add(n);
            if (i < r.Length && r[i] == '.')
            {
                i++;
            }
            else
            {
                break;
            }
        }

        return parts.Count switch
        {
            >= 3 => new Version(parts[0], parts[1], parts[2]),
            2 => new Version(parts[0], parts[1]),
            _ => null,
        };
    }

    /// <summary>
    /// The notes that apply to <paramref name="release"/> (empty for an unparsable release or a kernel with every fix).
    /// With <paramref name="memcgs"/> (the kernel's count, dying included) the numa_stat note extrapolates the cost per read linearly.
    /// Vendor kernels backport fixes; the notes are by upstream version only.
    /// </summary>
    public static IReadOnlyList<KernelRiskNote> For(string? release, long? memcgs = null)
    {
        Version? v = ParseRelease(release);
        var notes = new List<KernelRiskNote>();
        if (v is null)
        {
            return notes;
        }

        var v47 = new Version(4, 7);
        var v419 = new Version(4, 19);
        var v57 = new Version(5, 7);
        var mm = new Version(v.Major, v.Minor);
        if (mm < v57)
        {
            string cost = memcgs is long n
                ? string.Create(CultureInfo.InvariantCulture, $" ≈ {NumaStatSecondsPer10kMemcgs * n / 10_000:0.00} s of one CPU per read at {n:N0} memcgs.")
                : string.Empty;
            notes.Add(new KernelRiskNote(
                "numa-stat-walk",
                v57,
                $"kernel {release} < 5.7: reading v1 memory.numa_stat walks every memcg in the subtree, dying ones included (0.697 s of sys time per read of the root at 10,000 memcgs).{cost}"));
        }

        if (mm < v419)
        {
            notes.Add(new KernelRiskNote(
                "shrinker-per-memcg",
                v419,
                $"kernel {release} < 4.19: reclaim runs every slab shrinker for every memcg, dying ones included (O(memcgs × shrinkers))."));
        }

        if (mm < v47)
        {
            notes.Add(new KernelRiskNote(
                "memcg-id-exhaustion",
                v47,
                $"kernel {release} < 4.7: dying memcgs keep their IDs; at 65,535 memcgs mkdir fails with ENOSPC."));
        }

        return notes;
    }
}
