namespace ResetScope.Host.Cpu;

/// <summary>The softirq rows of /proc/softirqs, in kernel order.</summary>
public enum SoftirqKind
{
    Hi,
    Timer,
    NetTx,
    NetRx,
    Block,
    IrqPoll,
    Tasklet,
    Sched,
    HrTimer,
    Rcu,
}

/// <summary>
/// Per-CPU cumulative softirq counts from <c>&lt;procRoot&gt;/softirqs</c>. Columns are mapped to CPU numbers through the
/// <c>CPUn</c> header, so a gap in the header (a CPU that is not possible) leaves that CPU at zero.
/// </summary>
public sealed class SoftirqsProbe : IDisposable
{
    public const int KindCount = 10;

    private readonly ProcFile _file;
    private ulong[] _counts;
    private int[] _columnCpu;
    private int _slots;

    public SoftirqsProbe(string procRoot = "/proc", int cpuSlots = 0)
    {
        string path = Path.Combine(procRoot, "softirqs");
        _file = ProcFile.TryOpen(path, 8 * 1024) ?? throw new FileNotFoundException($"cannot open {path}", path);
        _slots = Math.Max(1, cpuSlots);
        _counts = new ulong[KindCount * _slots];
        _columnCpu = new int[_slots];
        if (!Sample())
        {
            throw new InvalidDataException($"{path}: no CPU header");
        }
    }

    public int CpuSlots => _slots;

    /// <summary>Number of CPU columns in the last header.</summary>
    public int Columns { get; private set; }

    public ulong Count(SoftirqKind kind, int cpu) => (uint)cpu < (uint)_slots ? _counts[((int)kind * _slots) + cpu] : 0;

    /// <summary>One softirq's counts indexed by CPU number.</summary>
    public ReadOnlySpan<ulong> Row(SoftirqKind kind) => _counts.AsSpan((int)kind * _slots, _slots);

    public bool Sample()
    {
        if (!_file.TryRead(out ReadOnlySpan<byte> rest) || rest.IsEmpty)
        {
            return false;
        }

        ReadOnlySpan<byte> header = Ascii.NextLine(ref rest);
        int columns = 0;
        int maxCpu = -1;
        ReadOnlySpan<byte> h = header;
        while (true)
        {
            ReadOnlySpan<byte> token = Ascii.NextToken(ref h);
            if (token.IsEmpty)
            {
                break;
            }

            if (!token.StartsWith("CPU"u8) || !Ascii.TryParseInt(token[3..], out int cpu))
            {
                return false;
            }

            if (columns == _columnCpu.Length)
            {
                Array.Resize(ref _columnCpu, columns * 2);
            }

            _columnCpu[columns++] = cpu;
            maxCpu = Math.Max(maxCpu, cpu);
        }

        if (columns == 0)
        {
            return false;
        }

        if (maxCpu >= _slots)
        {
            _slots = maxCpu + 1;
            _counts = new ulong[KindCount * _slots];
        }
        else
        {
            Array.Clear(_counts);
        }

        Columns = columns;
        while (!rest.IsEmpty)
        {
            ReadOnlySpan<byte> line = Ascii.NextLine(ref rest);
            ReadOnlySpan<byte> name = Ascii.NextToken(ref line);
            int kind = KindOf(name);
            if (kind < 0)
            {
                continue;
            }

            int row = kind * _slots;
            for (int c = 0; c < columns && Ascii.TryReadUInt64(ref line, out ulong v); c++)
            {
                _counts[row + _columnCpu[c]] = v;
            }
        }

        return true;
    }

    public void Dispose() => _file.Dispose();

    private static int KindOf(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name[^1] != (byte)':')
        {
            return -1;
        }

        name = name[..^1];
        return name switch
        {
            _ when name.SequenceEqual("HI"u8) => (int)SoftirqKind.Hi,
            _ when name.SequenceEqual("TIMER"u8) => (int)SoftirqKind.Timer,
            _ when name.SequenceEqual("NET_TX"u8) => (int)SoftirqKind.NetTx,
            _ when name.SequenceEqual("NET_RX"u8) => (int)SoftirqKind.NetRx,
            _ when name.SequenceEqual("BLOCK"u8) => (int)SoftirqKind.Block,
            _ when name.SequenceEqual("IRQ_POLL"u8) || name.SequenceEqual("BLOCK_IOPOLL"u8) => (int)SoftirqKind.IrqPoll,
            _ when name.SequenceEqual("TASKLET"u8) => (int)SoftirqKind.Tasklet,
            _ when name.SequenceEqual("SCHED"u8) => (int)SoftirqKind.Sched,
            _ when name.SequenceEqual("HRTIMER"u8) => (int)SoftirqKind.HrTimer,
            _ when name.SequenceEqual("RCU"u8) => (int)SoftirqKind.Rcu,
            _ => -1,
        };
    }
}
