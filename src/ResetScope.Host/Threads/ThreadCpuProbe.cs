using System.Buffers.Text;

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
/// the busiest threads. A slow-cadence probe (cost grows with the number of threads), so it is run once per
/// window, not per sample.
/// </summary>
public sealed class ThreadCpuProbe(string procRoot = "/proc", int clockTicksPerSecond = 100)
{
    private readonly byte[] _buffer = new byte[4096];
    private Dictionary<long, (ulong User, ulong Sys)> _previous = [];

    // The command line of every process seen, read once when it first appears: a process that exits before the
    // next scan is a zombie whose cmdline reads empty, and a short-lived hog is exactly the one to name.
    private Dictionary<int, string?> _commands = [];

    /// <summary>Reads every thread; returns the usage since the previous call (the first call only primes).</summary>
    public List<ThreadUsage> Scan()
    {
        var now = new Dictionary<long, (ulong, ulong)>(_previous.Count);
        var commands = new Dictionary<int, string?>(_commands.Count);
        var usage = new List<ThreadUsage>();
        foreach (string pidDir in SafeDirectories(procRoot))
        {
            if (!int.TryParse(Path.GetFileName(pidDir), out int pid))
            {
                continue;
            }

            if (!_commands.TryGetValue(pid, out string? firstCommand))
            {
                firstCommand = ReadCommand(pidDir);
            }

            commands[pid] = firstCommand;

            foreach (string taskDir in SafeDirectories(Path.Combine(pidDir, "task")))
            {
                if (!int.TryParse(Path.GetFileName(taskDir), out int tid) || !TryReadStat(Path.Combine(taskDir, "stat"), out string comm, out ulong user, out ulong sys, out int cpu))
                {
                    continue;
                }

                long key = ((long)pid << 32) | (uint)tid;
                now[key] = (user, sys);
                if (_previous.TryGetValue(key, out (ulong User, ulong Sys) before) && (user > before.User || sys > before.Sys))
                {
                    double ms = 1000.0 / clockTicksPerSecond;
                    usage.Add(new ThreadUsage(pid, tid, comm, cpu, (user - before.User) * ms, (sys - before.Sys) * ms, ReadCgroup(pidDir)) { Command = ReadCommand(pidDir) ?? firstCommand });
                }
            }
        }

        _previous = now;
        _commands = commands;
        usage.Sort((a, b) => (b.UserMs + b.SysMs).CompareTo(a.UserMs + a.SysMs));
        return usage;
    }

    /// <summary>The first frame of a thread's kernel stack that is not scheduler plumbing (root only; null otherwise).</summary>
    public string? KernelFunction(int pid, int tid)
    {
        try
        {
            foreach (string line in File.ReadLines(Path.Combine(procRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "task", tid.ToString(System.Globalization.CultureInfo.InvariantCulture), "stack")))
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

    private bool TryReadStat(string path, out string comm, out ulong user, out ulong sys, out int cpu)
    {
        comm = "";
        user = sys = 0;
        cpu = -1;
        int n;
        try
        {
            using var handle = File.OpenHandle(path);
            n = RandomAccess.Read(handle, _buffer, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // the thread exited between listing and reading
        }

        return TryParseStat(_buffer.AsSpan(0, n), out comm, out user, out sys, out cpu);
    }

    /// <summary>
    /// Parses /proc/&lt;pid&gt;/task/&lt;tid&gt;/stat: "pid (comm) state ..." — comm may contain spaces and
    /// parentheses, so fields are counted from the last ')'. utime is field 14, stime 15, processor 39.
    /// </summary>
    public static bool TryParseStat(ReadOnlySpan<byte> stat, out string comm, out ulong user, out ulong sys, out int cpu)
    {
        comm = "";
        user = sys = 0;
        cpu = -1;
        int open = stat.IndexOf((byte)'(');
        int close = stat.LastIndexOf((byte)')');
        if (open < 0 || close < open)
        {
            return false;
        }

        comm = System.Text.Encoding.UTF8.GetString(stat[(open + 1)..close]);
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

    private static string? ReadCommand(string pidDir)
    {
        try
        {
            string raw = File.ReadAllText(Path.Combine(pidDir, "cmdline")).Replace('\0', ' ').Trim();
            return raw.Length == 0 ? null : raw.Length > 120 ? raw[..120] : raw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? ReadCgroup(string pidDir)
    {
        try
        {
            // v2 line "0::/path", else the v1 memory or cpu line.
            string? best = null;
            foreach (string line in File.ReadLines(Path.Combine(pidDir, "cgroup")))
            {
                int last = line.LastIndexOf(':');
                if (last < 0)
                {
                    continue;
                }

                string path = line[(last + 1)..];
                if (line.StartsWith("0::", StringComparison.Ordinal) && path != "/")
                {
                    return path;
                }

                if (line.Contains(":memory:", StringComparison.Ordinal) || (best is null && line.Contains(":cpu", StringComparison.Ordinal)))
                {
                    best = path;
                }
            }

            return best;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static IEnumerable<string> SafeDirectories(string path)
    {
        try
        {
            return Directory.GetDirectories(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
