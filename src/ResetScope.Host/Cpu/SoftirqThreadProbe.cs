using System.Globalization;

namespace ResetScope.Host.Cpu;

/// <summary>Which softirq-processing kernel thread.</summary>
public enum SoftirqThreadKind
{
    /// <summary><c>ksoftirqd/N</c>, bound to CPU N.</summary>
    Ksoftirqd,

    /// <summary>Threaded NAPI poller <c>napi/&lt;if&gt;-&lt;id&gt;</c> (5.12+, <c>/sys/class/net/&lt;if&gt;/threaded</c> = 1).</summary>
    Napi,
}

/// <summary>
/// A softirq thread found by scanning <c>/proc/*/comm</c>. <see cref="Cpu"/> is N for <c>ksoftirqd/N</c>, -1 for NAPI
/// threads (they float). <see cref="Interface"/>/<see cref="NapiId"/> come from the NAPI comm (which the kernel truncates
/// to 15 bytes, so a long interface name can cut the id short).
/// </summary>
public sealed record SoftirqThread(SoftirqThreadKind Kind, int Pid, string Comm, int Cpu, string? Interface, int NapiId);

/// <summary>One /proc/&lt;pid&gt;/schedstat: time on CPU, time waiting on a run queue (both ns), and timeslices run.</summary>
public struct SchedStat
{
    public ulong OnCpuNs { get; set; }
    public ulong RunQueueWaitNs { get; set; }
    public ulong Timeslices { get; set; }

    /// <summary>False when the thread was not found or its schedstat could not be read in the last sample.</summary>
    public bool Valid { get; set; }
}

/// <summary>
/// The direct starvation measure: run-queue wait of <c>ksoftirqd/N</c> and threaded-NAPI kthreads. Threads are found by
/// scanning <c>&lt;procRoot&gt;/*/comm</c> at construction and on <see cref="Refresh"/> (allocates); each
/// <see cref="Sample"/> re-reads the kept-open schedstat files (no allocation). A thread that exits reads as invalid.
/// </summary>
public sealed class SoftirqThreadProbe : IDisposable
{
    private readonly string _procRoot;
    private SoftirqThread[] _threads = [];
    private ProcFile?[] _files = [];
    private SchedStat[] _stats = [];
    private int[] _ksoftirqdIndexByCpu = [];

    public SoftirqThreadProbe(string procRoot = "/proc")
    {
        _procRoot = procRoot;
        Refresh();
    }

    /// <summary>ksoftirqd threads first (by CPU), then NAPI threads (by interface, id).</summary>
    public IReadOnlyList<SoftirqThread> Threads => _threads;

    /// <summary>Schedstat of <see cref="Threads"/>[i] from the last sample.</summary>
    public ReadOnlySpan<SchedStat> Stats => _stats;

    /// <summary>Increments on every <see cref="Refresh"/> (the thread list and its indices change then).</summary>
    public int Generation { get; private set; }

    /// <summary>Highest ksoftirqd CPU + 1.</summary>
    public int CpuSlots => _ksoftirqdIndexByCpu.Length;

    /// <summary>The schedstat of ksoftirqd/<paramref name="cpu"/>; invalid when there is none.</summary>
    public SchedStat Ksoftirqd(int cpu)
    {
        if ((uint)cpu >= (uint)_ksoftirqdIndexByCpu.Length || _ksoftirqdIndexByCpu[cpu] < 0)
        {
            return default;
        }

        return _stats[_ksoftirqdIndexByCpu[cpu]];
    }

    /// <summary>Index of ksoftirqd/<paramref name="cpu"/> in <see cref="Threads"/>, -1 when none.</summary>
    public int KsoftirqdIndex(int cpu) => (uint)cpu < (uint)_ksoftirqdIndexByCpu.Length ? _ksoftirqdIndexByCpu[cpu] : -1;

    /// <summary>Re-reads every known thread's schedstat. Returns how many were read.</summary>
    public int Sample()
    {
        int ok = 0;
        for (int i = 0; i < _files.Length; i++)
        {
            ref SchedStat s = ref _stats[i];
            ProcFile? f = _files[i];
            if (f is not null && f.TryRead(out ReadOnlySpan<byte> text)
                && Ascii.TryReadUInt64(ref text, out ulong run)
                && Ascii.TryReadUInt64(ref text, out ulong wait)
                && Ascii.TryReadUInt64(ref text, out ulong slices))
            {
                s.OnCpuNs = run;
                s.RunQueueWaitNs = wait;
                s.Timeslices = slices;
                s.Valid = true;
                ok++;
            }
            else
            {
                s = default;
            }
        }

        return ok;
    }

    /// <summary>Rescans <c>/proc/*/comm</c> and reopens the schedstat files, then samples once.</summary>
    public void Refresh()
    {
        Generation++;
        foreach (ProcFile? f in _files)
        {
            f?.Dispose();
        }

        var found = new List<SoftirqThread>();
        IEnumerable<string> dirs;
        try
        {
            dirs = Directory.EnumerateDirectories(_procRoot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            dirs = [];
        }

        foreach (string dir in dirs)
        {
            string name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            string? comm = ReadComm(Path.Combine(dir, "comm"));
            if (comm is not null && TryClassify(comm, pid, out SoftirqThread? thread))
            {
                found.Add(thread);
            }
        }

        _threads =
        [
            .. found.OrderBy(t => t.Kind).ThenBy(t => t.Cpu).ThenBy(t => t.Interface, StringComparer.Ordinal).ThenBy(t => t.NapiId).ThenBy(t => t.Pid),
        ];
        _files = new ProcFile?[_threads.Length];
        _stats = new SchedStat[_threads.Length];
        int maxCpu = _threads.Where(t => t.Kind == SoftirqThreadKind.Ksoftirqd).Select(t => t.Cpu).DefaultIfEmpty(-1).Max();
        _ksoftirqdIndexByCpu = new int[maxCpu + 1];
        Array.Fill(_ksoftirqdIndexByCpu, -1);
        for (int i = 0; i < _threads.Length; i++)
        {
            SoftirqThread t = _threads[i];
            _files[i] = ProcFile.TryOpen(Path.Combine(_procRoot, t.Pid.ToString(CultureInfo.InvariantCulture), "schedstat"), 128);
            if (t.Kind == SoftirqThreadKind.Ksoftirqd && _ksoftirqdIndexByCpu[t.Cpu] < 0)
            {
                _ksoftirqdIndexByCpu[t.Cpu] = i;
            }
        }

        Sample();
    }

    /// <summary>Classifies a comm as ksoftirqd/N or napi/&lt;if&gt;-&lt;id&gt;.</summary>
    public static bool TryClassify(string comm, int pid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SoftirqThread? thread)
    {
        thread = null;
        if (comm.StartsWith("ksoftirqd/", StringComparison.Ordinal))
        {
            if (int.TryParse(comm.AsSpan(10), NumberStyles.None, CultureInfo.InvariantCulture, out int cpu))
            {
                thread = new SoftirqThread(SoftirqThreadKind.Ksoftirqd, pid, comm, cpu, null, -1);
                return true;
            }

            return false;
        }

        if (comm.StartsWith("napi/", StringComparison.Ordinal))
        {
            int dash = comm.LastIndexOf('-');
            if (dash > 5 && int.TryParse(comm.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                thread = new SoftirqThread(SoftirqThreadKind.Napi, pid, comm, -1, comm[5..dash], id);
                return true;
            }

            thread = new SoftirqThread(SoftirqThreadKind.Napi, pid, comm, -1, dash > 5 ? comm[5..dash] : comm[5..], -1);
            return true;
        }

        return false;
    }

    public void Dispose()
    {
        foreach (ProcFile? f in _files)
        {
            f?.Dispose();
        }
    }

    private static string? ReadComm(string path)
    {
        try
        {
            return File.ReadAllText(path).TrimEnd('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
