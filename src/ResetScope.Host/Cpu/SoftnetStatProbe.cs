namespace ResetScope.Host.Cpu;

/// <summary>
/// One /proc/net/softnet_stat row. Fields a layout does not print stay zero; <see cref="Columns"/> says how many were printed
/// (10 or 11 on old kernels, 13 with backlog length and CPU index, 15 with the two queue lengths).
/// </summary>
public struct SoftnetStat
{
    public ulong Processed { get; set; }
    public ulong Dropped { get; set; }
    public ulong TimeSqueeze { get; set; }
    public ulong CpuCollision { get; set; }
    public ulong ReceivedRps { get; set; }
    public ulong FlowLimitCount { get; set; }
    public ulong BacklogLength { get; set; }
    public ulong InputQueueLength { get; set; }
    public ulong ProcessQueueLength { get; set; }
    public int Columns { get; set; }
}

/// <summary>
/// Per-CPU softnet counters from <c>&lt;procRoot&gt;/net/softnet_stat</c>, indexed by CPU number. With 13+ columns the CPU
/// comes from column 13 (offline CPUs have no row); with 10/11 columns rows are taken in order as CPU 0, 1, …
/// (exact only when every CPU up to the last is online — the file gives no way to tell otherwise).
/// </summary>
public sealed class SoftnetStatProbe : IDisposable
{
    private readonly ProcFile _file;
    private SoftnetStat[] _cpus;
    private bool[] _present;

    public SoftnetStatProbe(string procRoot = "/proc", int cpuSlots = 0)
    {
        string path = Path.Combine(procRoot, "net", "softnet_stat");
        _file = ProcFile.TryOpen(path, 4 * 1024) ?? throw new FileNotFoundException($"cannot open {path}", path);
        _cpus = new SoftnetStat[Math.Max(1, cpuSlots)];
        _present = new bool[_cpus.Length];
        Sample();
    }

    public int CpuSlots => _cpus.Length;

    public ReadOnlySpan<SoftnetStat> Cpus => _cpus;

    /// <summary>Whether CPU N had a row in the last sample.</summary>
    public ReadOnlySpan<bool> Present => _present;

    /// <summary>Rows in the last sample.</summary>
    public int Rows { get; private set; }

    /// <summary>True when the last sample's rows carried the CPU-index column (13+ columns).</summary>
    public bool HasCpuIndex { get; private set; }

    /// <summary>Rows skipped in the last sample because they had fewer than 10 columns or a non-hex field.</summary>
    public int MalformedRows { get; private set; }

    public bool Sample()
    {
        if (!_file.TryRead(out ReadOnlySpan<byte> rest))
        {
            return false;
        }

        Array.Clear(_cpus);
        Array.Clear(_present);
        Span<ulong> cols = stackalloc ulong[16];
        int row = 0;
        int malformed = 0;
        bool hasIndex = false;
        while (!rest.IsEmpty)
        {
            ReadOnlySpan<byte> line = Ascii.NextLine(ref rest);
            int n = 0;
            while (n < cols.Length && Ascii.TryReadHex(ref line, out ulong v))
            {
                cols[n++] = v;
            }

            Ascii.SkipSpaces(ref line);
            if (n == 0 && line.IsEmpty)
            {
                continue; // blank line
            }

            if (n < 10 || !line.IsEmpty)
            {
                malformed++;
                continue;
            }

            int cpu = row;
            if (n >= 13)
            {
                hasIndex = true;
                cpu = (int)Math.Min(cols[12], int.MaxValue - 1);
            }

            row++;
            if (cpu >= _cpus.Length)
            {
                Array.Resize(ref _cpus, cpu + 1);
                Array.Resize(ref _present, cpu + 1);
            }

            ref SoftnetStat s = ref _cpus[cpu];
            s.Processed = cols[0];
            s.Dropped = cols[1];
            s.TimeSqueeze = cols[2];
            s.CpuCollision = cols[8];
            s.ReceivedRps = cols[9];
            s.FlowLimitCount = n >= 11 ? cols[10] : 0;
            s.BacklogLength = n >= 12 ? cols[11] : 0;
            s.InputQueueLength = n >= 15 ? cols[13] : 0;
            s.ProcessQueueLength = n >= 15 ? cols[14] : 0;
            s.Columns = n;
            _present[cpu] = true;
        }

        Rows = row;
        HasCpuIndex = hasIndex;
        MalformedRows = malformed;
        return true;
    }

    public void Dispose() => _file.Dispose();
}
