namespace ResetScope.Ena.Kernel;

/// <summary>
/// The kernel's jiffies arithmetic, as a 64-bit kernel does it: <c>jiffies</c> is an unsigned long that
/// starts at INITIAL_JIFFIES (so that its low 32 bits wrap five minutes after boot), comparisons use the
/// wrap-safe <c>time_after</c> family, and <c>jiffies_to_usecs</c>/<c>jiffies_to_msecs</c> return a 32-bit
/// unsigned int — which is what the driver prints with <c>%u</c>.
/// </summary>
public readonly struct Jiffies
{
    public Jiffies(int hz)
    {
        if (hz is not (100 or 250 or 300 or 1000))
        {
            throw new ArgumentOutOfRangeException(nameof(hz), hz, "HZ must be one of the kernel's choices: 100, 250, 300 or 1000");
        }

        Hz = hz;
    }

    public int Hz { get; }

    /// <summary>INITIAL_JIFFIES = (unsigned long)(unsigned int)(-300*HZ).</summary>
    public ulong Initial => unchecked((ulong)(uint)(-300 * Hz));

    /// <summary>The jiffies value at <paramref name="nsSinceBoot"/> (a tick at every 1/HZ s from boot).</summary>
    public ulong At(long nsSinceBoot) => Initial + (ulong)(nsSinceBoot / 1_000_000_000L * Hz) + (ulong)(nsSinceBoot % 1_000_000_000L * Hz / 1_000_000_000L);

    /// <summary>Nanoseconds since boot at which jiffies becomes <paramref name="j"/>.</summary>
    public long TimeOf(ulong j)
    {
        long ticks = (long)(j - Initial);
        return ticks / Hz * 1_000_000_000L + (ticks % Hz * 1_000_000_000L + Hz - 1) / Hz;
    }

    public ulong FromSeconds(double seconds) => (ulong)Math.Round(seconds * Hz);

    public ulong FromMsecs(uint ms) => (ulong)ms * (ulong)Hz / 1000UL;

    public ulong FromUsecs(ulong us) => (us * (ulong)Hz + 999_999UL) / 1_000_000UL;

    public uint ToUsecs(ulong j) => 1_000_000 % Hz == 0
        ? unchecked((uint)(j * (ulong)(1_000_000 / Hz)))
        : unchecked((uint)(j * 1_000_000UL / (ulong)Hz));

    public uint ToMsecs(ulong j) => 1000 % Hz == 0
        ? unchecked((uint)(j * (ulong)(1000 / Hz)))
        : unchecked((uint)((j * 1000UL + (ulong)Hz - 1) / (ulong)Hz));

    /// <summary>time_after(a, b): true if a is after b, wrap-safe.</summary>
    public static bool TimeAfter(ulong a, ulong b) => (long)(b - a) < 0;

    public static bool TimeAfterEq(ulong a, ulong b) => (long)(a - b) >= 0;

    /// <summary>
    /// round_jiffies_common(): round to a whole second of jiffies, skewed by 3 jiffies per CPU so that all
    /// CPUs do not fire at once; rounds down only within the first quarter second.
    /// </summary>
    public ulong Round(ulong j, int cpu, ulong now, bool forceUp = false)
    {
        ulong original = j;
        j += (ulong)(cpu * 3);
        ulong rem = j % (ulong)Hz;
        if (rem < (ulong)(Hz / 4) && !forceUp)
        {
            j -= rem;
        }
        else
        {
            j = j - rem + (ulong)Hz;
        }

        j -= (ulong)(cpu * 3);
        return TimeAfter(j, now) ? j : original;
    }
}
