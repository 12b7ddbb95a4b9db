using System.Buffers.Text;
using System.Runtime.InteropServices;
using ResetScope.Host.Native;

namespace ResetScope.Host.Threads;

/// <summary>One thread's CPU use between two scans, on the CPU it last ran on.</summary>
public sealed record ThreadUsage(int Pid, int Tid, string Comm, int Cpu, double UserMs, double SysMs, string? Cgroup)
{
    /// <summary>The process's command line (arguments joined by spaces, cut at 120 characters), when readable.</summary>
    public string? Command { get; init; }

    /// <summary>Hottest kernel functions from /proc/&lt;pid&gt;/task/&lt;tid&gt;/stack samples (root only), most frequent first.</summary>
    public IReadOnlyList<(string Function, int Samples)> KernelFunctions { get; init; } = [];
}

/// <summary>
/// Who runs where: scans /proc/&lt;pid&gt;/task/&lt;tid&gt;/stat (utime, stime, processor), keeps the previous
/// scan, and reports per-thread deltas with the CPU each thread last ran on; optionally samples kernel stacks of
/// the busiest threads. A process's threads are read only when its own stat shows that some of them ran. A
/// slow-cadence probe (cost grows with the number of processes), so it is run once per window, not per sample.
/// </summary>
public sealed class ThreadCpuProbe : IDisposable
{
    private readonly string _procRoot;
    private readonly double _msPerTick;
    private const int MaxCommand = 120;

    private readonly byte[] _buffer = new byte[4096];
    private readonly byte[] _file = new byte[8192];

    // "<root>/<pid>/task/<tid>/stat" is built here, from the root's bytes on; directories are walked with getdents64:
    // a scan allocates only for what it reports (threads that ran) and for processes it has not seen before.
    private readonly byte[] _path;
    private readonly int _rootLength;
    private readonly DirectoryWalker _processDirectory = new();
    private readonly DirectoryWalker _taskDirectory = new(4096);

    // What the last scans read, updated in place; an entry not seen in the latest scan is a process or thread gone.
    private readonly Dictionary<int, ProcessState> _processes = [];
    private readonly Dictionary<long, ThreadState> _threads = [];
    private int _scan;

    // Most of a /proc/<pid>/stat read's cost here is its open: the files of that many processes stay open across
    // scans (a pread at offset 0 regenerates one), a quarter of the fd limit at most.
    private readonly int _maxOpenStats;
    private int _openStats;

    private struct ProcessState
    {
        public ulong Total; // utime + stime of all its threads, from /proc/<pid>/stat
        public int Threads;
        public int Seen;
        public int Walked;
        public int StatFd; // its /proc/<pid>/stat kept open across scans, plus one (0: none)

        // Read once when the process first appears: one that exits before the next scan is a zombie whose cmdline
        // reads empty, and a short-lived hog is exactly the one to name.
        public string? FirstCommand;
    }

    private struct ThreadState
    {
        public ulong User;
        public ulong Sys;
        public int Seen;
    }

    public ThreadCpuProbe(string procRoot = "/proc", int clockTicksPerSecond = 100)
        : this(procRoot, clockTicksPerSecond, DefaultMaxOpenStats())
    {
    }

    internal ThreadCpuProbe(string procRoot, int clockTicksPerSecond, int maxOpenStats)
    {
        _maxOpenStats = maxOpenStats;
        _procRoot = procRoot;
        _msPerTick = 1000.0 / clockTicksPerSecond;
        byte[] root = System.Text.Encoding.UTF8.GetBytes(procRoot.EndsWith('/') ? procRoot : procRoot + "/");
        _path = new byte[root.Length + 64]; // room for "<pid>/task/<tid>/stat" and the NUL
        root.CopyTo(_path, 0);
        _rootLength = root.Length;
    }

    /// <summary>
    /// Reads every thread; returns the usage since the previous call (the first call only primes). A process whose own
    /// CPU time and thread count did not move since the last scan had none of its threads run: its threads keep their
    /// figures and are not read one by one (most processes on a host, kernel threads included, are idle at any moment).
    /// </summary>
    public List<ThreadUsage> Scan()
    {
        _scan++;
        var usage = new List<ThreadUsage>();
        try
        {
            _path[_rootLength] = 0;
            if (_processDirectory.Open(_path.AsSpan(0, _rootLength + 1)))
            {
                while (_processDirectory.TryNext(out ReadOnlySpan<byte> name))
                {
                    if (TryParseId(name, out int pid))
                    {
                        ScanProcess(pid, name, usage);
                    }
                }
            }
        }
        finally
        {
            _processDirectory.Close();
            _taskDirectory.Close();
        }

        // Forget what is gone (removing while enumerating a Dictionary is allowed and allocates nothing).
        foreach ((long key, ThreadState thread) in _threads)
        {
            if (!_processes.TryGetValue((int)(key >> 32), out ProcessState process) || process.Seen != _scan
                || (process.Walked == _scan && thread.Seen != _scan))
            {
                _threads.Remove(key);
            }
        }

        foreach ((int pid, ProcessState process) in _processes)
        {
            if (process.Seen != _scan)
            {
                CloseStat(process.StatFd);
                _processes.Remove(pid);
            }
        }

        usage.Sort((a, b) => (b.UserMs + b.SysMs).CompareTo(a.UserMs + a.SysMs));
        return usage;
    }

    private void ScanProcess(int pid, ReadOnlySpan<byte> pidName, List<ThreadUsage> usage)
    {
        int pidEnd = Append(_rootLength, pidName);
        ref ProcessState process = ref CollectionsMarshal.GetValueRefOrAddDefault(_processes, pid, out bool known);
        if (!known)
        {
            process.FirstCommand = ReadCommand(pidEnd);
        }

        process.Seen = _scan;
        if (TryReadProcessStat(ref process, pidEnd, out int length)
            && TryParseStat(_buffer.AsSpan(0, length), out _, out ulong user, out ulong sys, out _, out int threads))
        {
            bool moved = !known || user + sys != process.Total || threads != process.Threads;
            process.Total = user + sys;
            process.Threads = threads;
            if (!moved)
            {
                return;
            }
        }

        process.Walked = _scan;
        string? firstCommand = process.FirstCommand;
        int task = Append(pidEnd, "/task/\0"u8);
        if (!_taskDirectory.Open(_path.AsSpan(0, task)))
        {
            return;
        }

        bool read = false;
        string? cgroup = null;
        string? command = null;
        while (_taskDirectory.TryNext(out ReadOnlySpan<byte> tidName))
        {
            if (!TryParseId(tidName, out int tid))
            {
                continue;
            }

            int end = Append(Append(Append(pidEnd, "/task/"u8), tidName), "/stat\0"u8);
            if (!TryReadFile(end, _buffer, out int n)
                || !TryParseStat(_buffer.AsSpan(0, n), out Range comm, out user, out sys, out int cpu, out _))
            {
                continue; // the thread exited between listing and reading
            }

            ref ThreadState thread = ref CollectionsMarshal.GetValueRefOrAddDefault(_threads, ((long)pid << 32) | (uint)tid, out bool seen);
            if (seen && (user > thread.User || sys > thread.Sys))
            {
                string commName = System.Text.Encoding.UTF8.GetString(_buffer.AsSpan(0, n)[comm]);
                if (!read)
                {
                    // Once per process and scan, for the first of its threads that ran.
                    (cgroup, command, read) = (ReadCgroup(pidEnd), ReadCommand(pidEnd) ?? firstCommand, true);
                }

                usage.Add(new ThreadUsage(pid, tid, commName, cpu, (user - thread.User) * _msPerTick, (sys - thread.Sys) * _msPerTick, cgroup)
                {
                    Command = command,
                });
            }

            (thread.User, thread.Sys, thread.Seen) = (user, sys, _scan);
        }
    }

    private int Append(int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_path.AsSpan(at));
        return at + bytes.Length;
    }

    /// <summary>A /proc entry that is a process or thread id: decimal digits only, fitting an int.</summary>
    private static bool TryParseId(ReadOnlySpan<byte> name, out int id)
    {
        id = 0;
        if (name.IsEmpty || name.Length > 10)
        {
            return false;
        }

        foreach (byte b in name)
        {
            if ((uint)(b - '0') > 9)
            {
                return false;
            }
        }

        return Utf8Parser.TryParse(name, out id, out int consumed) && consumed == name.Length;
    }

    /// <summary>The first frame of a thread's kernel stack that is not scheduler plumbing (root only; null otherwise).</summary>
    public string? KernelFunction(int pid, int tid)
    {
        try
        {
            foreach (string line in File.ReadLines(Path.Combine(_procRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "task", tid.ToString(System.Globalization.CultureInfo.InvariantCulture), "stack")))
            {
                // "[<0>] mem_cgroup_nr_lru_pages+0x5e/0x90"
                int close = line.IndexOf("] ", StringComparison.Ordinal);
                string frame = close >= 0 ? line[(close + 2)..] : line;
                int plus = frame.IndexOf('+');
                string function = plus > 0 ? frame[..plus] : frame;
                if (function.Length > 0 && !function.StartsWith("__schedule", StringComparison.Ordinal) && function is not ("schedule" or "do_syscall_64" or "entry_SYSCALL_64_after_hwframe"))
                {
                    return function;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>The process's own stat, through the fd kept for it (opened and kept while under the cap).</summary>
    private bool TryReadProcessStat(ref ProcessState process, int pidEnd, out int length)
    {
        if (process.StatFd > 0)
        {
            if (TryReadAll(process.StatFd - 1, _buffer, out length))
            {
                return true;
            }

            CloseStat(process.StatFd); // the process is gone (ESRCH); a new one may have its pid: open again
            process.StatFd = 0;
        }

        int fd = OpenPath(Append(pidEnd, "/stat\0"u8));
        if (fd < 0)
        {
            length = 0;
            return false;
        }

        bool read = TryReadAll(fd, _buffer, out length);
        if (read && _openStats < _maxOpenStats)
        {
            process.StatFd = fd + 1;
            _openStats++;
        }
        else
        {
            Libc.Close(fd);
        }

        return read;
    }

    private void CloseStat(int statFd)
    {
        if (statFd > 0)
        {
            Libc.Close(statFd - 1);
            _openStats--;
        }
    }

    /// <summary>Reads the file whose NUL-terminated path is _path[..pathEnd] into <paramref name="into"/> (what fits).</summary>
    private bool TryReadFile(int pathEnd, byte[] into, out int length)
    {
        int fd = OpenPath(pathEnd);
        if (fd < 0)
        {
            length = 0;
            return false;
        }

        try
        {
            return TryReadAll(fd, into, out length);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private unsafe int OpenPath(int pathEnd)
    {
        System.Diagnostics.Debug.Assert(pathEnd > 0 && _path[pathEnd - 1] == 0, "the path ends with its NUL");
        fixed (byte* path = _path)
        {
            return Libc.Open(path, Libc.ORdOnly | Libc.OCloexec);
        }
    }

    /// <summary>From offset 0 to the end or as much as fits; false for an empty file or a failed read (the process exited).</summary>
    private static bool TryReadAll(int fd, byte[] into, out int length)
    {
        length = 0;
        while (length < into.Length)
        {
            nint n = Libc.PRead(fd, ref into[length], into.Length - length, length);
            if (n < 0 && Marshal.GetLastPInvokeError() == Libc.EIntr)
            {
                continue;
            }

            if (n <= 0)
            {
                return n == 0 && length > 0;
            }

            length += (int)n;
        }

        return true;
    }

    private static int DefaultMaxOpenStats() =>
        Libc.GetRLimit(Libc.RLimitNoFile, out Libc.RLimit limit) == 0 ? (int)Math.Min(4096, limit.Current / 4) : 0;

    /// <summary>Closes the stat files kept open.</summary>
    public void Dispose()
    {
        foreach ((int _, ProcessState process) in _processes)
        {
            CloseStat(process.StatFd);
        }

        _processes.Clear();
        _threads.Clear();
    }

    /// <summary>
    /// Parses /proc/&lt;pid&gt;/task/&lt;tid&gt;/stat: "pid (comm) state ..." — comm may contain spaces and
    /// parentheses, so fields are counted from the last ')'. utime is field 14, stime 15, processor 39.
    /// </summary>
    public static bool TryParseStat(ReadOnlySpan<byte> stat, out string comm, out ulong user, out ulong sys, out int cpu)
    {
        bool parsed = TryParseStat(stat, out Range range, out user, out sys, out cpu, out _);
        comm = parsed || range.End.Value > 0 ? System.Text.Encoding.UTF8.GetString(stat[range]) : "";
        return parsed;
    }

    /// <summary>As the public parser, with comm as a range of <paramref name="stat"/> (nothing allocated) and num_threads (field 20).</summary>
    internal static bool TryParseStat(ReadOnlySpan<byte> stat, out Range comm, out ulong user, out ulong sys, out int cpu, out int threads)
    {
        comm = default;
        threads = 0;
        user = sys = 0;
        cpu = -1;
        int open = stat.IndexOf((byte)'(');
        int close = stat.LastIndexOf((byte)')');
        if (open < 0 || close < open)
        {
            return false;
        }

        comm = (open + 1)..close;
        ReadOnlySpan<byte> rest = stat[(close + 1)..];
        int field = 2; // the comm field; the next token is field 3 (state)
        while (rest.Length > 0)
        {
            rest = rest.TrimStart((byte)' ');
            int space = rest.IndexOf((byte)' ');
            ReadOnlySpan<byte> token = space < 0 ? rest.TrimEnd((byte)'\n') : rest[..space];
            field++;
            switch (field)
            {
                case 14:
                    Utf8Parser.TryParse(token, out user, out _);
                    break;
                case 15:
                    Utf8Parser.TryParse(token, out sys, out _);
                    break;
                case 20:
                    Utf8Parser.TryParse(token, out threads, out _);
                    break;
                case 39:
                    Utf8Parser.TryParse(token, out cpu, out _);
                    return true;
            }

            if (space < 0)
            {
                break;
            }

            rest = rest[(space + 1)..];
        }

        return false;
    }

    /// <summary>/proc/&lt;pid&gt;/cmdline, arguments joined by spaces, cut at 120 characters; null when empty or unreadable.</summary>
    private string? ReadCommand(int pidEnd)
    {
        if (!TryReadFile(Append(pidEnd, "/cmdline\0"u8), _file, out int n))
        {
            return null;
        }

        Span<char> chars = stackalloc char[MaxCommand * 4];
        int count = System.Text.Encoding.UTF8.GetChars(_file.AsSpan(0, Math.Min(n, MaxCommand * 4)), chars);
        Span<char> text = chars[..count];
        text.Replace('\0', ' ');
        text = text.Trim();
        return text.IsEmpty ? null : new string(text.Length > MaxCommand ? text[..MaxCommand] : text);
    }

    /// <summary>The v2 cgroup ("0::/path") when it is not the root, else the v1 memory (or first cpu) hierarchy's.</summary>
    private string? ReadCgroup(int pidEnd)
    {
        if (!TryReadFile(Append(pidEnd, "/cgroup\0"u8), _file, out int n))
        {
            return null;
        }

        ReadOnlySpan<byte> rest = _file.AsSpan(0, n);
        ReadOnlySpan<byte> best = default;
        bool found = false;
        while (!rest.IsEmpty)
        {
            int newline = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = newline < 0 ? rest : rest[..newline];
            rest = newline < 0 ? default : rest[(newline + 1)..];
            int last = line.LastIndexOf((byte)':');
            if (last < 0)
            {
                continue;
            }

            ReadOnlySpan<byte> path = line[(last + 1)..];
            if (line.StartsWith("0::"u8) && !path.SequenceEqual("/"u8))
            {
                return System.Text.Encoding.UTF8.GetString(path);
            }

            if (line.IndexOf(":memory:"u8) >= 0 || (!found && line.IndexOf(":cpu"u8) >= 0))
            {
                best = path;
                found = true;
            }
        }

        return found ? System.Text.Encoding.UTF8.GetString(best) : null;
    }
}
