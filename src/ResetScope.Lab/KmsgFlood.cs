using System.Diagnostics;
using System.Globalization;
using System.Text;
using ResetScope.Core;
using ResetScope.Ena.Simulation;

namespace ResetScope.Lab;

/// <summary>What to write: how many records, how fast, which resets inside, marked with which tag.</summary>
public sealed record KmsgFloodOptions
{
    /// <summary>Flood records to write (the resets' own lines come on top).</summary>
    public int Records { get; init; } = 200_000;

    /// <summary>Records per second to pace the writes at; 0 writes as fast as this thread can.</summary>
    public double RatePerSecond { get; init; }

    /// <summary>Every record starts with this, so it can never be mistaken for the host's own (and an agent can trust it with --trust-test-records).</summary>
    public required string Tag { get; init; }

    /// <summary>Lines of one reset as the driver prints them, written <see cref="Resets"/> times spread over the flood.</summary>
    public IReadOnlyList<KernelRecord> ResetLines { get; init; } = [];

    public int Resets { get; init; }

    public string Path { get; init; } = "/dev/kmsg";

    /// <summary>Where the kernel's switch for user-space writes lives (<c>kernel.printk_devkmsg</c>).</summary>
    public string DevkmsgSysctl { get; init; } = "/proc/sys/kernel/printk_devkmsg";
}

/// <summary>What a flood wrote.</summary>
public readonly record struct KmsgFloodResult(long Records, long ResetRecords, int Resets, TimeSpan Elapsed, string DevkmsgSetting, bool DevkmsgLifted, bool StoppedAtLimit)
{
    public double RecordsPerSecond => Elapsed > TimeSpan.Zero ? (Records + ResetRecords) / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// A kernel-log flood for real: the records a host in trouble writes by the thousand (ENA "Found a Tx that wasn't
/// completed on time" lines, soft-lockup dumps with their stack), written into /dev/kmsg one write() per record
/// from one open file, optionally with complete resets inside. The kernel rate-limits user-space writes per open
/// file unless <c>kernel.printk_devkmsg=on</c>: when it says "ratelimit" the flood sets "on" and restores it in
/// <c>finally</c>. Records are written at warning level or above it (a lower number would go to the serial
/// console and slow the whole host down), each starting with the tag. It bounds itself: the loop checks a hard
/// limit of <see cref="MaxDuration"/>.
/// </summary>
public static class KmsgFlood
{
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(120);

    /// <summary>Records in one cycle of the built-in flood: 48 missing-Tx lines, then a 16-line soft-lockup dump.</summary>
    public const int CycleLength = 64;

    private static readonly string[] s_lockupDump =
    [
        "watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [kworker/1:2:4242]",
        "Modules linked in: ena ptp pps_core xfs libcrc32c nvme nvme_core",
        "CPU: 1 PID: 4242 Comm: kworker/1:2 Tainted: G             L     6.18.0 #1",
        "Hardware name: Amazon EC2 m5.24xlarge/, BIOS 1.0 10/16/2017",
        "Workqueue: events memcg_stat_flush",
        "RIP: 0010:mem_cgroup_iter+0x5e/0x230",
        "RSP: 0018:ffffb4c1c0d47d28 EFLAGS: 00000246",
        "Call Trace:",
        " <TASK>",
        " mem_cgroup_nr_lru_pages+0x5e/0x90",
        " memcg_stat_show+0x1a4/0x6d0",
        " seq_read_iter+0x11f/0x4b0",
        " vfs_read+0x22c/0x330",
        " ksys_read+0x6b/0xf0",
        " do_syscall_64+0x5c/0x90",
        " </TASK>",
    ];

    /// <summary>One reset's lines as the ENA model prints them: the built-in keep-alive-loss scenario (the device stops sending keep-alives, the driver resets it).</summary>
    public static IReadOnlyList<KernelRecord> KeepAliveResetLines() => new Simulator(ScenarioLoader.Load("keepalive-loss")).Run().Records;

    /// <summary>The flood's <paramref name="index"/>-th record (without the tag): the same text for the same index, always.</summary>
    public static (KernelLevel Level, string Text) FloodRecord(long index)
    {
        long cycle = index / CycleLength;
        int at = (int)(index % CycleLength);
        if (at < CycleLength - s_lockupDump.Length)
        {
            long qid = cycle % 8;
            long slot = ((cycle * 48) + at) % 1024;
            return (KernelLevel.Warning, string.Create(CultureInfo.InvariantCulture, $"ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid {qid}, index {slot}."));
        }

        return (KernelLevel.Warning, s_lockupDump[at - (CycleLength - s_lockupDump.Length)]);
    }

    /// <summary>Writes the flood; <paramref name="progress"/> hears the records written so far about twice a second.</summary>
    public static KmsgFloodResult Write(KmsgFloodOptions options, Action<long>? progress = null, CancellationToken cancel = default)
    {
        if (options.Records < 0 || options.Resets < 0 || options.RatePerSecond < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "records, resets and rate are never negative");
        }

        if (Encoding.UTF8.GetByteCount(options.Tag) is 0 or > 200)
        {
            throw new ArgumentException("the tag marks every record as the flood's: 1 to 200 bytes", nameof(options));
        }

        if (options.Resets > 0 && options.ResetLines.Count == 0)
        {
            throw new ArgumentException("resets asked for but no reset lines given", nameof(options));
        }

        string setting = ReadSetting(options.DevkmsgSysctl);
        if (setting == "off")
        {
            throw new InvalidOperationException($"{options.Path}: user-space writes are disabled (kernel.printk_devkmsg=off); set it to 'on' or 'ratelimit' to flood");
        }

        bool lifted = false;
        FileStream kmsg;
        try
        {
            kmsg = new FileStream(options.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        }
        catch (UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{options.Path}: permission denied; flooding the kernel log needs root");
        }

        try
        {
            if (setting == "ratelimit")
            {
                SetSetting(options.DevkmsgSysctl, "on");
                lifted = true;
            }

            return WriteRecords(kmsg, options, setting, lifted, progress, cancel);
        }
        finally
        {
            kmsg.Dispose();
            if (lifted)
            {
                SetSetting(options.DevkmsgSysctl, setting);
            }
        }
    }

    private static KmsgFloodResult WriteRecords(FileStream kmsg, KmsgFloodOptions options, string setting, bool lifted, Action<long>? progress, CancellationToken cancel)
    {
        byte[] tag = Encoding.UTF8.GetBytes(options.Tag);
        byte[] record = new byte[1024];
        long total = options.Records;
        long nextReset = options.Resets > 0 ? total / (options.Resets + 1) : long.MaxValue;
        int resetsWritten = 0;
        long resetRecords = 0;
        var clock = Stopwatch.StartNew();
        TimeSpan nextProgress = TimeSpan.FromMilliseconds(500);
        bool stopped = false;
        long i = 0;
        for (; i < total || resetsWritten < options.Resets; i++)
        {
            if ((i & 63) == 0)
            {
                // The hard limit and the pace, checked every 64 records: cheap enough not to slow the flood.
                TimeSpan now = clock.Elapsed;
                if (now >= MaxDuration || cancel.IsCancellationRequested)
                {
                    stopped = true;
                    break;
                }

                if (options.RatePerSecond > 0)
                {
                    TimeSpan due = TimeSpan.FromSeconds(i / options.RatePerSecond);
                    if (due - now > TimeSpan.FromMilliseconds(1))
                    {
                        Thread.Sleep(due - now);
                    }
                }

                if (progress is not null && now >= nextProgress)
                {
                    progress(i + resetRecords);
                    nextProgress = now + TimeSpan.FromMilliseconds(500);
                }
            }

            if (i >= nextReset || (i >= total && resetsWritten < options.Resets))
            {
                foreach (KernelRecord line in options.ResetLines)
                {
                    WriteOne(kmsg, record, tag, line.Level, line.Text);
                    resetRecords++;
                }

                resetsWritten++;
                nextReset = resetsWritten < options.Resets ? total * (resetsWritten + 1) / (options.Resets + 1) : long.MaxValue;
            }

            if (i < total)
            {
                (KernelLevel level, string text) = FloodRecord(i);
                WriteOne(kmsg, record, tag, level, text);
            }
        }

        long written = Math.Min(i, total);
        progress?.Invoke(written + resetRecords);
        return new KmsgFloodResult(written, resetRecords, resetsWritten, clock.Elapsed, setting, lifted, stopped);
    }

    private static void WriteOne(FileStream kmsg, byte[] buffer, byte[] tag, KernelLevel level, string text)
    {
        // "<N>" then the tag, the text and a newline; one write() is one record.
        int l = Math.Max((int)level, (int)KernelLevel.Warning);
        buffer[0] = (byte)'<';
        buffer[1] = (byte)('0' + l);
        buffer[2] = (byte)'>';
        int n = 3;
        tag.CopyTo(buffer, n);
        n += tag.Length;
        n += Encoding.UTF8.GetBytes(text, 0, Math.Min(text.Length, (buffer.Length - n - 1) / 3), buffer, n);
        buffer[n++] = (byte)'\n';
        kmsg.Write(buffer, 0, n);
    }

    private static void SetSetting(string sysctl, string value)
    {
        // A plain open and write(): procfs refuses the truncation and preallocation File.WriteAllText may ask for.
        try
        {
            using var file = new FileStream(sysctl, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            file.Write(Encoding.ASCII.GetBytes(value + "\n"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{sysctl}: cannot set kernel.printk_devkmsg to '{value}' ({e.Message}); run as root");
        }
    }

    private static string ReadSetting(string sysctl)
    {
        try
        {
            return File.ReadAllText(sysctl).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "on"; // an old kernel without the switch: no per-file limit to lift
        }
    }
}
