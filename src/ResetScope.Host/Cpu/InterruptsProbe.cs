using System.Text;

namespace ResetScope.Host.Cpu;

/// <summary>A numbered /proc/interrupts line: IRQ number, chip, the hwirq/trigger field when printed, and the action name(s).</summary>
public sealed record IrqLine(int Irq, string Chip, string? HwIrq, string Name);

/// <summary>The NIC IRQ naming schemes the NIC map understands.</summary>
public enum NicIrqKind
{
    /// <summary>ENA I/O queue pair: <c>&lt;if&gt;-Tx-Rx-&lt;n&gt;</c>.</summary>
    EnaTxRx,

    /// <summary>ENA admin/AENQ vector: <c>ena-mgmnt@pci:&lt;bdf&gt;</c> (no queue).</summary>
    EnaManagement,

    /// <summary>mlx5 completion vector: <c>mlx5_comp&lt;n&gt;@pci:&lt;bdf&gt;</c>.</summary>
    Mlx5Completion,

    /// <summary>gve notification block: <c>gve-ntfy-blk&lt;n&gt;@pci:&lt;bdf&gt;</c>.</summary>
    GveNotify,

    /// <summary>virtio-net receive queue: <c>virtio&lt;k&gt;-input.&lt;n&gt;</c>.</summary>
    VirtioInput,

    /// <summary>virtio-net transmit queue: <c>virtio&lt;k&gt;-output.&lt;n&gt;</c>.</summary>
    VirtioOutput,
}

/// <summary>
/// A NIC queue's IRQ and where it is delivered. <see cref="Device"/> is the interface (ENA), the PCI address (mlx5, gve,
/// ENA management) or the virtio device (<c>virtio1</c>). <see cref="Queue"/> is -1 for the ENA management vector.
/// </summary>
public sealed record NicQueueIrq(NicIrqKind Kind, string Device, int Queue, int Irq, string IrqName, IReadOnlyList<int> AffinityCpus, bool FromEffectiveAffinity)
{
    /// <summary>The first CPU of the affinity list (the delivering CPU when the effective list has one entry), -1 when unknown.</summary>
    public int Cpu => AffinityCpus.Count > 0 ? AffinityCpus[0] : -1;
}

/// <summary>
/// Per-IRQ per-CPU counts from <c>&lt;procRoot&gt;/interrupts</c> plus the NIC map (queue → IRQ → affinity CPU from
/// <c>/proc/irq/&lt;n&gt;/effective_affinity_list</c>, else <c>smp_affinity_list</c>). Meant for a slow cadence: the
/// layout (names, chips, map) is built on <see cref="Refresh"/> and whenever the IRQ set changes; a
/// <see cref="Sample"/> over an unchanged IRQ set only parses counts into the preallocated matrix.
/// Only numbered IRQ lines are kept (NMI/LOC/… summary rows are skipped). Columns follow the header's <c>CPUn</c>
/// labels (online CPUs only), so offline CPUs read zero.
/// </summary>
public sealed class InterruptsProbe : IDisposable
{
    private readonly string _procRoot;
    private readonly ProcFile _file;
    private IrqLine[] _irqs = [];
    private NicQueueIrq[] _nic = [];
    private ulong[] _counts = [];
    private int[] _columnCpu = [];
    private int _columns;
    private int _slots;

    public InterruptsProbe(string procRoot = "/proc")
    {
        _procRoot = procRoot;
        string path = Path.Combine(procRoot, "interrupts");
        _file = ProcFile.TryOpen(path, 64 * 1024) ?? throw new FileNotFoundException($"cannot open {path}", path);
        Refresh();
    }

    public IReadOnlyList<IrqLine> Irqs => _irqs;

    public IReadOnlyList<NicQueueIrq> NicQueues => _nic;

    /// <summary>Highest CPU in the header + 1.</summary>
    public int CpuSlots => _slots;

    /// <summary>How many times the layout was rebuilt (1 after construction).</summary>
    public int LayoutBuilds { get; private set; }

    /// <summary>Counts of <see cref="Irqs"/>[<paramref name="index"/>] indexed by CPU number.</summary>
    public ReadOnlySpan<ulong> Counts(int index) => _counts.AsSpan(index * _slots, _slots);

    public ulong Count(int index, int cpu) => (uint)cpu < (uint)_slots ? _counts[(index * _slots) + cpu] : 0;

    /// <summary>Index into <see cref="Irqs"/> of IRQ <paramref name="irq"/>, -1 when absent.</summary>
    public int IndexOf(int irq)
    {
        for (int i = 0; i < _irqs.Length; i++)
        {
            if (_irqs[i].Irq == irq)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Re-reads the counts. When the IRQ set changed since the last layout it rebuilds the layout (allocates).</summary>
    public bool Sample()
    {
        if (!_file.TryRead(out ReadOnlySpan<byte> rest))
        {
            return false;
        }

        if (!ParseHeader(ref rest, out int columns, out int maxCpu) || maxCpu >= _slots || columns != _columns)
        {
            return Refresh();
        }

        Array.Clear(_counts);
        int index = 0;
        while (!rest.IsEmpty)
        {
            ReadOnlySpan<byte> line = Ascii.NextLine(ref rest);
            if (!TryIrqNumber(ref line, out int irq))
            {
                continue;
            }

            if (index >= _irqs.Length || _irqs[index].Irq != irq)
            {
                return Refresh();
            }

            int row = index * _slots;
            for (int c = 0; c < columns && Ascii.TryReadUInt64(ref line, out ulong v); c++)
            {
                _counts[row + _columnCpu[c]] = v;
            }

            index++;
        }

        return index == _irqs.Length || Refresh();
    }

    /// <summary>Rebuilds the IRQ list, the count matrix and the NIC map (re-reading affinity files).</summary>
    public bool Refresh()
    {
        LayoutBuilds++;
        if (!_file.TryRead(out ReadOnlySpan<byte> rest) || !ParseHeader(ref rest, out int columns, out int maxCpu))
        {
            _irqs = [];
            _nic = [];
            _counts = [];
            _slots = 0;
            _columns = 0;
            return false;
        }

        _columns = columns;
        _slots = maxCpu + 1;
        var irqs = new List<IrqLine>();
        var counts = new List<ulong>();
        while (!rest.IsEmpty)
        {
            ReadOnlySpan<byte> line = Ascii.NextLine(ref rest);
            if (!TryIrqNumber(ref line, out int irq))
            {
                continue;
            }

            var row = new ulong[_slots];
            int c = 0;
            for (; c < columns && Ascii.TryReadUInt64(ref line, out ulong v); c++)
            {
                row[_columnCpu[c]] = v;
            }

            counts.AddRange(row);
            ReadOnlySpan<byte> chip = Ascii.NextToken(ref line);
            Ascii.SkipSpaces(ref line);
            string? hw = null;
            ReadOnlySpan<byte> afterChip = line;
            ReadOnlySpan<byte> second = Ascii.NextToken(ref afterChip);
            Ascii.SkipSpaces(ref afterChip);
            if (!second.IsEmpty && (uint)(second[0] - '0') <= 9 && !afterChip.IsEmpty)
            {
                hw = Encoding.ASCII.GetString(second);
                line = afterChip;
            }

            string name = Encoding.UTF8.GetString(line.TrimEnd(" \t\r"u8));
            irqs.Add(new IrqLine(irq, Encoding.ASCII.GetString(chip), hw, name));
        }

        _irqs = [.. irqs];
        _counts = [.. counts];
        _nic = BuildNicMap(_irqs);
        return true;
    }

    /// <summary>Recognises a NIC queue IRQ name; <paramref name="queue"/> is -1 for the ENA management vector.</summary>
    public static bool TryParseNicIrqName(string name, out NicIrqKind kind, out string device, out int queue)
    {
        kind = default;
        device = "";
        queue = -1;
        int at = name.IndexOf("@pci:", StringComparison.Ordinal);
        if (at >= 0)
        {
            string prefix = name[..at];
            string bdf = name[(at + 5)..];
            device = bdf;
            if (prefix == "ena-mgmnt")
            {
                kind = NicIrqKind.EnaManagement;
                return true;
            }

            if (TrySuffixNumber(prefix, "mlx5_comp", out queue))
            {
                kind = NicIrqKind.Mlx5Completion;
                return true;
            }

            if (TrySuffixNumber(prefix, "gve-ntfy-blk", out queue))
            {
                kind = NicIrqKind.GveNotify;
                return true;
            }

            device = "";
            queue = -1;
            return false;
        }

        int txrx = name.LastIndexOf("-Tx-Rx-", StringComparison.Ordinal);
        if (txrx > 0 && int.TryParse(name.AsSpan(txrx + 7), System.Globalization.NumberStyles.None, null, out queue))
        {
            kind = NicIrqKind.EnaTxRx;
            device = name[..txrx];
            return true;
        }

        if (name.StartsWith("virtio", StringComparison.Ordinal))
        {
            int dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash > 6 && int.TryParse(name.AsSpan(6, dash - 6), System.Globalization.NumberStyles.None, null, out _))
            {
                string rest = name[(dash + 1)..];
                if (TrySuffixNumber(rest, "input.", out queue))
                {
                    kind = NicIrqKind.VirtioInput;
                    device = name[..dash];
                    return true;
                }

                if (TrySuffixNumber(rest, "output.", out queue))
                {
                    kind = NicIrqKind.VirtioOutput;
                    device = name[..dash];
                    return true;
                }
            }
        }

        queue = -1;
        return false;
    }

    /// <summary>Parses a kernel CPU list ("0-3,8,10-11"); empty for blank or malformed input.</summary>
    public static int[] ParseCpuList(string text)
    {
        var cpus = new List<int>();
        foreach (string part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                if (!int.TryParse(part, System.Globalization.NumberStyles.None, null, out int one))
                {
                    return [];
                }

                cpus.Add(one);
                continue;
            }

            if (!int.TryParse(part.AsSpan(0, dash), System.Globalization.NumberStyles.None, null, out int lo)
                || !int.TryParse(part.AsSpan(dash + 1), System.Globalization.NumberStyles.None, null, out int hi)
                || hi < lo)
            {
                return [];
            }

            for (int c = lo; c <= hi; c++)
            {
                cpus.Add(c);
            }
        }

        return [.. cpus];
    }

    public void Dispose() => _file.Dispose();

    private static bool TrySuffixNumber(string s, string prefix, out int number)
    {
        number = -1;
        return s.StartsWith(prefix, StringComparison.Ordinal)
            && int.TryParse(s.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, null, out number);
    }

    private static bool TryIrqNumber(ref ReadOnlySpan<byte> line, out int irq)
    {
        ReadOnlySpan<byte> t = line;
        ReadOnlySpan<byte> label = Ascii.NextToken(ref t);
        if (label.Length < 2 || label[^1] != (byte)':' || !Ascii.TryParseInt(label[..^1], out irq))
        {
            irq = -1;
            return false;
        }

        line = t;
        return true;
    }

    private bool ParseHeader(ref ReadOnlySpan<byte> rest, out int columns, out int maxCpu)
    {
        ReadOnlySpan<byte> header = Ascii.NextLine(ref rest);
        columns = 0;
        maxCpu = -1;
        while (true)
        {
            ReadOnlySpan<byte> token = Ascii.NextToken(ref header);
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
                Array.Resize(ref _columnCpu, Math.Max(4, columns * 2));
            }

            _columnCpu[columns++] = cpu;
            maxCpu = Math.Max(maxCpu, cpu);
        }

        return columns > 0;
    }

    private NicQueueIrq[] BuildNicMap(IrqLine[] irqs)
    {
        var map = new List<NicQueueIrq>();
        foreach (IrqLine line in irqs)
        {
            if (!TryParseNicIrqName(line.Name, out NicIrqKind kind, out string device, out int queue))
            {
                continue;
            }

            string dir = Path.Combine(_procRoot, "irq", line.Irq.ToString(System.Globalization.CultureInfo.InvariantCulture));
            int[] cpus = ReadCpuList(Path.Combine(dir, "effective_affinity_list"));
            bool effective = cpus.Length > 0;
            if (!effective)
            {
                cpus = ReadCpuList(Path.Combine(dir, "smp_affinity_list"));
            }

            map.Add(new NicQueueIrq(kind, device, queue, line.Irq, line.Name, cpus, effective));
        }

        return [.. map.OrderBy(n => n.Kind).ThenBy(n => n.Device, StringComparer.Ordinal).ThenBy(n => n.Queue)];
    }

    private static int[] ReadCpuList(string path)
    {
        try
        {
            return File.Exists(path) ? ParseCpuList(File.ReadAllText(path)) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
