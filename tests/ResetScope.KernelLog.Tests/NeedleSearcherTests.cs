using System.Text;
using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>The byte prefilter: the vector path finds exactly what a plain search finds.</summary>
public class NeedleSearcherTests
{
    private static readonly byte[][] s_needles = [.. LogScanner.Needles.Select(Encoding.ASCII.GetBytes)];

    private static int Naive(ReadOnlySpan<byte> hay)
    {
        for (int i = 0; i < hay.Length; i++)
        {
            foreach (byte[] n in s_needles)
            {
                if (hay[i..].StartsWith(n))
                {
                    return i;
                }
            }
        }

        return -1;
    }

    [Fact]
    public void Vector_and_portable_paths_agree_with_a_naive_search_on_random_text()
    {
        var fast = new NeedleSearcher(s_needles);
        var portable = new NeedleSearcher(s_needles) { DisableVectorPath = true };
        var avx2 = new NeedleSearcher(s_needles) { DisableVector512 = true };
        var bucketed = new NeedleSearcher(s_needles, bucketOf: [.. Enumerable.Range(0, s_needles.Length).Select(i => (i * 5) % 8)]);
        Gen<byte[]> text =
            from parts in Gen.ArrayOf(Gen.OneOf(
                Gen.Elements(LogScanner.Needles).Select(s => Encoding.ASCII.GetBytes(s)),
                Gen.Elements("a", "e", "n", "en", "EN", "x", " ", "\n", "eou", "es", "Han", "T", "Tx", "ENA_", "ckup", "ena", "1", ":", "NETDEV", "to ", "rc").Select(s => Encoding.ASCII.GetBytes(s)),
                Gen.Choose(0, 255).Select(b => new[] { (byte)b })))
            select parts.SelectMany(p => p).ToArray();

        Prop.ForAll(text.ToArbitrary(), (byte[] hay) =>
        {
            int expected = Naive(hay);
            return fast.IndexOfAny(hay) == expected && portable.IndexOfAny(hay) == expected && avx2.IndexOfAny(hay) == expected && bucketed.IndexOfAny(hay) == expected;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000).WithQuietOnSuccess(true));
    }

    [Fact]
    public void A_needle_straddling_the_last_vector_is_found()
    {
        var s = new NeedleSearcher(s_needles);
        for (int len = 0; len < 200; len++)
        {
            byte[] hay = [.. Enumerable.Repeat((byte)'.', len), .. "NETDEV W"u8.ToArray()];
            s.IndexOfAny(hay).Should().Be(len);
        }
    }

    [Theory]
    [InlineData("systemd[1]: ens5: Link enabled", false)]
    [InlineData("ena 0000:00:05.0 ens5: renamed from eth0", true)]
    [InlineData("Athena backend started", false)]
    [InlineData("ena0: link is UP", true)]
    [InlineData("ena: Elastic Network Adapter", true)]
    public void Ena_is_a_candidate_only_as_a_word(string line, bool candidate)
    {
        LogScanner.IsCandidate(Encoding.UTF8.GetBytes(line)).Should().Be(candidate);
    }
}
