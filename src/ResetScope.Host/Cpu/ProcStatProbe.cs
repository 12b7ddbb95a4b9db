namespace ResetScope.Host.Cpu;

/// <summary>One CPU's (or the aggregate's) /proc/stat times in USER_HZ ticks. Guest times are already included in user/nice.</summary>
public struct CpuTimes
{
    public ulong User { get; set; }
    public ulong Nice { get; set; }
    public ulong System { get; set; }
    public ulong Idle { get; set; }
    public ulong IoWait { get; set; }
    public ulong Irq { get; set; }
    public ulong SoftIrq { get; set; }
    public ulong Steal { get; set; }
    public ulong Guest { get; set; }
    public ulong GuestNice { get; set; }

    /// <summary>All accounted time (guest excluded: the kernel already counts it in user/nice).</summary>
    public readonly ulong Total => User + Nice + System + Idle + IoWait + Irq + SoftIrq + Steal;

    internal void Set(int field, ulong value)
    {
        switch (field)
        {
            case 0: User = value; break;
            case 1: Nice = value; break;
            case 2: System = value; break;
            case 3: Idle = value; break;
            case 4: IoWait = value; break;
            case 5: Irq = value; break;
            case 6: SoftIrq = value; break;
            case 7: Steal = value; break;
            case 8: Guest = value; break;
            case 9: GuestNice = value; break;
            default: break;
        }
    }
}

/// <summary>
/// Per-CPU times from <c>&lt;procRoot&gt;/stat</c>. CPUs without a <c>cpuN</c> line (offline) read as not online with zero times.
/// The array is indexed by CPU number and sized at construction to the highest CPU seen + 1 (or <c>cpuSlots</c>);
/// a CPU number beyond that (hot-plugged later) grows it once.
/// </summary>
public sealed class ProcStatProbe : IDisposable
{
    private readonly ProcFile _file;
    private CpuTimes[] _cpus;
    private bool[] _online;
    private CpuTimes _total;

    public ProcStatProbe(string procRoot = "/proc", int cpuSlots = 0)
    {
        string path = Path.Combine(procRoot, "stat");
        _file = ProcFile.TryOpen(path, 16 * 1024) ?? throw new FileNotFoundException($"cannot open {path}", path);
        _cpus = new CpuTimes[Math.Max(1, cpuSlots)];
        _online = new bool[_cpus.Length];
        if (!Sample())
        {
            throw new InvalidDataException($"{path}: no cpu lines");
        }
    }

    /// <summary>Number of CPU slots (highest CPU number seen + 1, at least the requested slots).</summary>
    public int CpuSlots => _cpus.Length;

    public int OnlineCount { get; private set; }

    /// <summary>The aggregate <c>cpu</c> line.</summary>
    public CpuTimes Total => _total;

    /// <summary>Times per CPU number; offline CPUs are zero.</summary>
    public ReadOnlySpan<CpuTimes> Cpus => _cpus;

    /// <summary>Whether CPU N had a <c>cpuN</c> line in the last sample.</summary>
    public ReadOnlySpan<bool> Online => _online;

    /// <summary>Re-reads the file at offset 0. False when it cannot be read or has no cpu lines.</summary>
    public bool Sample()
    {
        if (!_file.TryRead(out ReadOnlySpan<byte> rest))
        {
            return false;
        }

        Array.Clear(_cpus);
        Array.Clear(_online);
        int online = 0;
        bool sawCpu = false;
        while (!rest.IsEmpty)
        {
            ReadOnlySpan<byte> line = Ascii.NextLine(ref rest);
            if (!line.StartsWith("cpu"u8))
            {
                if (sawCpu)
                {
                    break; // cpu lines come first; skip the (possibly huge) intr line
                }

                continue;
            }

            sawCpu = true;
            ReadOnlySpan<byte> label = Ascii.NextToken(ref line);
            if (label.Length == 3)
            {
                _total = default;
                ParseFields(line, ref _total);
                continue;
            }

            if (!Ascii.TryParseInt(label[3..], out int cpu))
            {
                continue;
            }

            if (cpu >= _cpus.Length)
            {
                Grow(cpu + 1);
            }

            ParseFields(line, ref _cpus[cpu]);
            _online[cpu] = true;
            online++;
        }

        OnlineCount = online;
        return sawCpu;
    }

    public void Dispose() => _file.Dispose();

    private static void ParseFields(ReadOnlySpan<byte> fields, ref CpuTimes times)
    {
        for (int f = 0; f < 10 && Ascii.TryReadUInt64(ref fields, out ulong v); f++)
        {
            times.Set(f, v);
        }
    }

    private void Grow(int slots)
    {
        Array.Resize(ref _cpus, slots);
        Array.Resize(ref _online, slots);
    }
}
