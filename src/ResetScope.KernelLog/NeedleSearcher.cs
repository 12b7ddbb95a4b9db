using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ResetScope.KernelLog;

/// <summary>
/// Finds the first occurrence of any of a small set of byte needles (≤ 8 buckets, each needle ≥ 3 bytes)
/// in one pass, without allocating. On AVX2 hardware this is a "Teddy"-style fingerprint filter
/// (nibble lookup of the first three bytes of every needle with <c>vpshufb</c>, 32 positions per step)
/// followed by an exact comparison at the few candidate positions; elsewhere it falls back to one
/// vectorised <see cref="MemoryExtensions.IndexOf{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/> per needle.
/// </summary>
internal sealed class NeedleSearcher
{
    private const int Buckets = 8;
    private readonly byte[][] _needles;
    private readonly int[][] _bucketNeedles;
    private readonly Vector256<byte> _lo0;
    private readonly Vector256<byte> _hi0;
    private readonly Vector256<byte> _lo1;
    private readonly Vector256<byte> _hi1;
    private readonly Vector256<byte> _lo2;
    private readonly Vector256<byte> _hi2;
    private readonly Func<ReadOnlySpan<byte>, int, int, bool>? _accept;

    /// <param name="needles">The byte strings to find (each at least 3 bytes).</param>
    /// <param name="accept">Optional extra check (haystack, position, needle index) run after an exact match; false rejects that occurrence.</param>
    public NeedleSearcher(IReadOnlyList<byte[]> needles, Func<ReadOnlySpan<byte>, int, int, bool>? accept = null)
    {
        ArgumentNullException.ThrowIfNull(needles);
        if (needles.Count == 0)
        {
            throw new ArgumentException("at least one needle is required", nameof(needles));
        }

        _needles = new byte[needles.Count][];
        var buckets = new List<int>[Buckets];
        for (int b = 0; b < Buckets; b++)
        {
            buckets[b] = [];
        }

        byte[] lo0 = new byte[16], hi0 = new byte[16], lo1 = new byte[16], hi1 = new byte[16], lo2 = new byte[16], hi2 = new byte[16];
        for (int i = 0; i < needles.Count; i++)
        {
            byte[] n = needles[i];
            if (n.Length < 3)
            {
                throw new ArgumentException($"needle {i} is shorter than 3 bytes", nameof(needles));
            }

            _needles[i] = n;

            // Needles that share their first byte go to the same bucket: fewer distinct nibbles per bucket, fewer false candidates.
            int bucket = n[0] % Buckets;
            buckets[bucket].Add(i);
            byte bit = (byte)(1 << bucket);
            lo0[n[0] & 0xF] |= bit;
            hi0[n[0] >> 4] |= bit;
            lo1[n[1] & 0xF] |= bit;
            hi1[n[1] >> 4] |= bit;
            lo2[n[2] & 0xF] |= bit;
            hi2[n[2] >> 4] |= bit;
        }

        _bucketNeedles = new int[Buckets][];
        for (int b = 0; b < Buckets; b++)
        {
            _bucketNeedles[b] = [.. buckets[b]];
        }

        _lo0 = Dup(lo0);
        _hi0 = Dup(hi0);
        _lo1 = Dup(lo1);
        _hi1 = Dup(hi1);
        _lo2 = Dup(lo2);
        _hi2 = Dup(hi2);
        _accept = accept;
    }

    public int NeedleCount => _needles.Length;

    /// <summary>Forces the portable path (for tests that compare both paths).</summary>
    public bool DisableVectorPath { get; init; }

    /// <summary>Index of the first position where any needle occurs (and is accepted), or -1.</summary>
    public int IndexOfAny(ReadOnlySpan<byte> haystack)
    {
        if (Avx2.IsSupported && !DisableVectorPath)
        {
            return IndexOfAnyAvx2(haystack);
        }

        return IndexOfAnyPortable(haystack);
    }

    private int IndexOfAnyPortable(ReadOnlySpan<byte> haystack)
    {
        int from = 0;
        while (from < haystack.Length)
        {
            int best = -1;
            int bestNeedle = -1;
            ReadOnlySpan<byte> window = haystack[from..];
            for (int i = 0; i < _needles.Length; i++)
            {
                ReadOnlySpan<byte> limit = best >= 0 ? window[..Math.Min(window.Length, best + _needles[i].Length)] : window;
                int at = limit.IndexOf(_needles[i]);
                if (at >= 0 && (best < 0 || at < best))
                {
                    best = at;
                    bestNeedle = i;
                }
            }

            if (best < 0)
            {
                return -1;
            }

            int pos = from + best;
            if (Accepts(haystack, pos))
            {
                return pos;
            }

            _ = bestNeedle;
            from = pos + 1;
        }

        return -1;
    }

    private int IndexOfAnyAvx2(ReadOnlySpan<byte> haystack)
    {
        int n = haystack.Length;
        int i = 0;
        ref byte start = ref MemoryMarshal.GetReference(haystack);
        Vector256<byte> nibble = Vector256.Create((byte)0x0F);
        while (i + 34 <= n)
        {
            Vector256<byte> v0 = Vector256.LoadUnsafe(ref start, (nuint)i);
            Vector256<byte> v1 = Vector256.LoadUnsafe(ref start, (nuint)(i + 1));
            Vector256<byte> v2 = Vector256.LoadUnsafe(ref start, (nuint)(i + 2));
            Vector256<byte> m = Classify(v0, _lo0, _hi0, nibble) & Classify(v1, _lo1, _hi1, nibble) & Classify(v2, _lo2, _hi2, nibble);
            if (m != Vector256<byte>.Zero)
            {
                uint bits = ~Vector256.Equals(m, Vector256<byte>.Zero).ExtractMostSignificantBits();
                while (bits != 0)
                {
                    int j = BitOperations.TrailingZeroCount(bits);
                    bits &= bits - 1;
                    int pos = i + j;
                    if (Verify(haystack, pos, m.GetElement(j)))
                    {
                        return pos;
                    }
                }
            }

            i += 32;
        }

        for (; i < n; i++)
        {
            if (Verify(haystack, i, 0xFF))
            {
                return i;
            }
        }

        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Classify(Vector256<byte> v, Vector256<byte> lo, Vector256<byte> hi, Vector256<byte> nibble)
    {
        Vector256<byte> l = Avx2.Shuffle(lo, v & nibble);
        Vector256<byte> h = Avx2.Shuffle(hi, Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble);
        return l & h;
    }

    private bool Verify(ReadOnlySpan<byte> haystack, int pos, byte bucketMask)
    {
        ReadOnlySpan<byte> rest = haystack[pos..];
        while (bucketMask != 0)
        {
            int b = BitOperations.TrailingZeroCount(bucketMask);
            bucketMask &= (byte)(bucketMask - 1);
            foreach (int needle in _bucketNeedles[b])
            {
                if (rest.StartsWith(_needles[needle]) && (_accept is null || _accept(haystack, pos, needle)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool Accepts(ReadOnlySpan<byte> haystack, int pos)
    {
        ReadOnlySpan<byte> rest = haystack[pos..];
        for (int i = 0; i < _needles.Length; i++)
        {
            if (rest.StartsWith(_needles[i]) && (_accept is null || _accept(haystack, pos, i)))
            {
                return true;
            }
        }

        return false;
    }

    private static Vector256<byte> Dup(byte[] table16)
    {
        var v = Vector128.Create(table16);
        return Vector256.Create(v, v);
    }
}
