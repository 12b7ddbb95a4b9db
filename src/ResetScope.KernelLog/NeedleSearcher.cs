using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ResetScope.KernelLog;

/// <summary>
/// Finds the first occurrence of any of a small set of byte needles (8 buckets, each needle ≥ 4 bytes)
/// in one pass, without allocating. On AVX2 hardware this is a "Teddy"-style fingerprint filter
/// (nibble lookup of the first four bytes of every needle with <c>vpshufb</c>, 32 positions per step)
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
    private readonly Vector256<byte> _lo3;
    private readonly Vector256<byte> _hi3;
    private readonly Func<ReadOnlySpan<byte>, int, int, bool>? _accept;

    /// <param name="needles">The byte strings to find (each at least 4 bytes).</param>
    /// <param name="accept">Optional extra check (haystack, position, needle index) run after an exact match; false rejects that occurrence.</param>
    /// <param name="bucketOf">Bucket (0-7) per needle; needles with similar first bytes belong together (fewer false candidates). Default: by first byte.</param>
    public NeedleSearcher(IReadOnlyList<byte[]> needles, Func<ReadOnlySpan<byte>, int, int, bool>? accept = null, IReadOnlyList<int>? bucketOf = null)
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

        byte[] lo0 = new byte[16], hi0 = new byte[16], lo1 = new byte[16], hi1 = new byte[16], lo2 = new byte[16], hi2 = new byte[16], lo3 = new byte[16], hi3 = new byte[16];
        for (int i = 0; i < needles.Count; i++)
        {
            byte[] n = needles[i];
            if (n.Length < 4)
            {
                throw new ArgumentException($"needle {i} is shorter than 4 bytes", nameof(needles));
            }

            _needles[i] = n;
            int bucket = bucketOf is not null ? bucketOf[i] & (Buckets - 1) : n[0] % Buckets;
            buckets[bucket].Add(i);
            byte bit = (byte)(1 << bucket);
            lo0[n[0] & 0xF] |= bit;
            hi0[n[0] >> 4] |= bit;
            lo1[n[1] & 0xF] |= bit;
            hi1[n[1] >> 4] |= bit;
            lo2[n[2] & 0xF] |= bit;
            hi2[n[2] >> 4] |= bit;
            lo3[n[3] & 0xF] |= bit;
            hi3[n[3] >> 4] |= bit;
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
        _lo3 = Dup(lo3);
        _hi3 = Dup(hi3);
        _accept = accept;
    }

    public int NeedleCount => _needles.Length;

    /// <summary>Forces the portable path (for tests that compare both paths).</summary>
    public bool DisableVectorPath { get; init; }

    /// <summary>Forces the 256-bit path on AVX-512 hardware (for tests that compare the paths).</summary>
    public bool DisableVector512 { get; init; }

    /// <summary>Index of the first position where any needle occurs (and is accepted), or -1.</summary>
    public int IndexOfAny(ReadOnlySpan<byte> haystack)
    {
        if (Avx512BW.IsSupported && !DisableVectorPath && !DisableVector512)
        {
            return IndexOfAnyAvx512(haystack);
        }

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
            ReadOnlySpan<byte> window = haystack[from..];
            for (int i = 0; i < _needles.Length; i++)
            {
                ReadOnlySpan<byte> limit = best >= 0 ? window[..Math.Min(window.Length, best + _needles[i].Length)] : window;
                int at = limit.IndexOf(_needles[i]);
                if (at >= 0 && (best < 0 || at < best))
                {
                    best = at;
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

            from = pos + 1;
        }

        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int IndexOfAnyAvx2(ReadOnlySpan<byte> haystack)
    {
        int n = haystack.Length;
        int i = 0;
        ref byte start = ref MemoryMarshal.GetReference(haystack);
        Vector256<byte> nibble = Vector256.Create((byte)0x0F);
        Vector256<byte> lo0 = _lo0, hi0 = _hi0, lo1 = _lo1, hi1 = _hi1, lo2 = _lo2, hi2 = _hi2, lo3 = _lo3, hi3 = _hi3;
        while (i + 35 <= n)
        {
            Vector256<byte> m = Classify(Vector256.LoadUnsafe(ref start, (nuint)i), lo0, hi0, nibble);
            m &= Classify(Vector256.LoadUnsafe(ref start, (nuint)(i + 1)), lo1, hi1, nibble);
            m &= Classify(Vector256.LoadUnsafe(ref start, (nuint)(i + 2)), lo2, hi2, nibble);
            m &= Classify(Vector256.LoadUnsafe(ref start, (nuint)(i + 3)), lo3, hi3, nibble);
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

        if (i < n)
        {
            // The last < 35 bytes: run the same fingerprint over a zero-padded copy (no needle contains a zero byte).
            Span<byte> pad = stackalloc byte[67];
            pad.Clear();
            haystack[i..].CopyTo(pad);
            ref byte p = ref MemoryMarshal.GetReference(pad);
            for (int k = 0; k < 64 && i + k < n; k += 32)
            {
                Vector256<byte> m = Classify(Vector256.LoadUnsafe(ref p, (nuint)k), lo0, hi0, nibble);
                m &= Classify(Vector256.LoadUnsafe(ref p, (nuint)(k + 1)), lo1, hi1, nibble);
                m &= Classify(Vector256.LoadUnsafe(ref p, (nuint)(k + 2)), lo2, hi2, nibble);
                m &= Classify(Vector256.LoadUnsafe(ref p, (nuint)(k + 3)), lo3, hi3, nibble);
                uint bits = ~Vector256.Equals(m, Vector256<byte>.Zero).ExtractMostSignificantBits();
                while (bits != 0)
                {
                    int j = BitOperations.TrailingZeroCount(bits);
                    bits &= bits - 1;
                    int pos = i + k + j;
                    if (pos < n && Verify(haystack, pos, m.GetElement(j)))
                    {
                        return pos;
                    }
                }
            }
        }

        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int IndexOfAnyAvx512(ReadOnlySpan<byte> haystack)
    {
        int n = haystack.Length;
        int i = 0;
        ref byte start = ref MemoryMarshal.GetReference(haystack);
        Vector512<byte> nibble = Vector512.Create((byte)0x0F);
        Vector512<byte> lo0 = Vector512.Create(_lo0, _lo0), hi0 = Vector512.Create(_hi0, _hi0), lo1 = Vector512.Create(_lo1, _lo1), hi1 = Vector512.Create(_hi1, _hi1);
        Vector512<byte> lo2 = Vector512.Create(_lo2, _lo2), hi2 = Vector512.Create(_hi2, _hi2), lo3 = Vector512.Create(_lo3, _lo3), hi3 = Vector512.Create(_hi3, _hi3);
        while (i + 67 <= n)
        {
            Vector512<byte> m = Classify512(Vector512.LoadUnsafe(ref start, (nuint)i), lo0, hi0, nibble);
            m &= Classify512(Vector512.LoadUnsafe(ref start, (nuint)(i + 1)), lo1, hi1, nibble);
            m &= Classify512(Vector512.LoadUnsafe(ref start, (nuint)(i + 2)), lo2, hi2, nibble);
            m &= Classify512(Vector512.LoadUnsafe(ref start, (nuint)(i + 3)), lo3, hi3, nibble);
            if (m != Vector512<byte>.Zero)
            {
                ulong bits = ~Vector512.Equals(m, Vector512<byte>.Zero).ExtractMostSignificantBits();
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

            i += 64;
        }

        int rest = IndexOfAnyAvx2(haystack[i..]);
        return rest < 0 ? -1 : i + rest;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Classify512(Vector512<byte> v, Vector512<byte> lo, Vector512<byte> hi, Vector512<byte> nibble)
    {
        Vector512<byte> l = Avx512BW.Shuffle(lo, v & nibble);
        Vector512<byte> h = Avx512BW.Shuffle(hi, Avx512BW.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble);
        return l & h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Classify(Vector256<byte> v, Vector256<byte> lo, Vector256<byte> hi, Vector256<byte> nibble)
    {
        Vector256<byte> l = Avx2.Shuffle(lo, v & nibble);
        Vector256<byte> h = Avx2.Shuffle(hi, Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble);
        return l & h;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
