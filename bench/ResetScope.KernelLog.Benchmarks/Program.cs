using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Benchmarks;

/// <summary>
/// Modes:
///   gen DIR MIB          write a mixed-shape corpus of about MIB MiB into DIR (plain files)
///   patterns             print the catalogue's trigger/start/completion patterns as POSIX EREs, one per line
///   scan [-j N] [--human|--csv] PATH...  run ScanRunner (JSON by default) over PATH (what `resetscope scan --json` does), print events to stdout
///   gunzip FILE.gz [RUNS]  decompression MB/s: the native member reader vs GZipStream, alone and under a whole scan
///   bdn [args]           run the BenchmarkDotNet hot-path benchmarks
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: gen DIR MIB | patterns | scan [-j N] PATH... | bdn [BenchmarkDotNet args]");
            return 2;
        }

        switch (args[0])
        {
            case "gen":
                Corpus.Generate(args[1], int.Parse(args[2]));
                return 0;
            case "patterns":
                foreach (string p in Patterns.Ere())
                {
                    Console.WriteLine(p);
                }

                return 0;
            case "scan":
                int parallel = Environment.ProcessorCount;
                ScanOutput output = ScanOutput.Json;
                var paths = new List<string>();
                for (int i = 1; i < args.Length; i++)
                {
                    if (args[i] == "-j")
                    {
                        parallel = int.Parse(args[++i]);
                    }
                    else if (args[i] == "--human")
                    {
                        output = ScanOutput.Human;
                    }
                    else if (args[i] == "--csv")
                    {
                        output = ScanOutput.Csv;
                    }
                    else
                    {
                        paths.Add(args[i]);
                    }
                }

                var sw = Stopwatch.StartNew();
                using (var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16))
                {
                    int code = ScanRunner.Run(paths, new ScanOptions { Output = output, Parallelism = parallel }, stdout, Console.Error);
                    Console.Error.WriteLine($"scan: {sw.Elapsed.TotalSeconds:F3} s, exit {code}");
                    return code;
                }

            case "prefilter":
                {
                    byte[] data = File.ReadAllBytes(args[1]);
                    var w = Stopwatch.StartNew();
                    long hits = 0;
                    for (int rep = 0; rep < 3; rep++)
                    {
                        ReadOnlySpan<byte> sp = data;
                        while (true)
                        {
                            int i = LogScanner.IsCandidateAt(sp);
                            if (i < 0)
                            {
                                break;
                            }

                            hits++;
                            int nl = sp[i..].IndexOf((byte)'\n');
                            if (nl < 0)
                            {
                                break;
                            }

                            sp = sp[(i + nl + 1)..];
                        }
                    }

                    double s = w.Elapsed.TotalSeconds / 3;
                    byte[] zeros = new byte[data.Length];
                    var wz = Stopwatch.StartNew();
                    int z = LogScanner.IsCandidateAt(zeros);
                    Console.WriteLine($"prefilter on zeros: {zeros.Length / wz.Elapsed.TotalSeconds / 1e9:F2} GB/s ({z}); avx2={System.Runtime.Intrinsics.X86.Avx2.IsSupported} v256={System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}");
                    var wi = Stopwatch.StartNew();
                    int zi = data.AsSpan().IndexOf("qqzzqq"u8);
                    Console.WriteLine($"IndexOf(6 bytes) on corpus: {data.Length / wi.Elapsed.TotalSeconds / 1e9:F2} GB/s ({zi})");
                    long lines = data.AsSpan().Count((byte)'\n');
                    Console.WriteLine($"prefilter: {data.Length / s / 1e9:F2} GB/s, candidates {hits / 3} of {lines} lines");
                    return 0;
                }

            case "scanfile":
                {
                    for (int rep = 0; rep < 3; rep++)
                    {
                        var w = Stopwatch.StartNew();
                        FileScanResult r = new LogScanner().ScanFile(args[1], args[1], null);
                        double t = w.Elapsed.TotalSeconds;
                        byte[] buf = new byte[1 << 20];
                        var wr = Stopwatch.StartNew();
                        using (var fs = new FileStream(args[1], new FileStreamOptions { BufferSize = 0, Options = FileOptions.SequentialScan }))
                        {
                            while (fs.Read(buf) > 0)
                            {
                            }
                        }

                        double tr = wr.Elapsed.TotalSeconds;
                        Console.WriteLine($"scanfile: {r.Bytes / t / 1e9:F2} GB/s ({r.Resets.Count} resets, {r.CandidateLines} candidates); plain read: {r.Bytes / tr / 1e9:F2} GB/s");
                    }

                    return 0;
                }

            case "gunzip":
                {
                    // Decompression alone, as the scanner reads (1 MiB at a time): the native member reader vs GZipStream,
                    // interleaved so both see the same machine load; then whole scans of the .gz through each.
                    string path = args[1];
                    int runs = args.Length > 2 ? int.Parse(args[2]) : 3;
                    byte[] buf = new byte[LogScanner.BlockSize];
                    double bestExact = double.MaxValue, bestFramework = double.MaxValue, bestScanExact = double.MaxValue, bestScanFramework = double.MaxValue;
                    long bytes = 0;
                    for (int rep = 0; rep < runs; rep++)
                    {
                        var w = Stopwatch.StartNew();
                        using (FileStream fs = Open(path))
                        using (GzipMemberStream z = GzipMemberStream.TryOpen([], fs) ?? throw new InvalidOperationException("native zlib not available"))
                        {
                            bytes = Drain(z, buf);
                            if (z.Problem != GzipProblem.None)
                            {
                                throw new InvalidDataException(z.Problem.ToString());
                            }
                        }

                        bestExact = Math.Min(bestExact, w.Elapsed.TotalSeconds);
                        w.Restart();
                        using (FileStream fs = Open(path))
                        using (var z = new System.IO.Compression.GZipStream(fs, System.IO.Compression.CompressionMode.Decompress))
                        {
                            Drain(z, buf);
                        }

                        bestFramework = Math.Min(bestFramework, w.Elapsed.TotalSeconds);
                        w.Restart();
                        FileScanResult exact = new LogScanner().ScanFile(path, path, null);
                        bestScanExact = Math.Min(bestScanExact, w.Elapsed.TotalSeconds);
                        w.Restart();
                        FileScanResult framework = new LogScanner { ExactGzip = false }.ScanFile(path, path, null);
                        bestScanFramework = Math.Min(bestScanFramework, w.Elapsed.TotalSeconds);
                        if (exact.Bytes != bytes || framework.Bytes != bytes || exact.Resets.Count != framework.Resets.Count)
                        {
                            throw new InvalidDataException($"readers disagree: {exact.Bytes} / {framework.Bytes} / {bytes} bytes");
                        }
                    }

                    Console.WriteLine($"decompressed {bytes} bytes; best of {runs}, MB/s of decompressed output");
                    Console.WriteLine($"GzipMemberStream (native zlib-ng)   {bytes / bestExact / 1e6,8:F0}");
                    Console.WriteLine($"GZipStream                          {bytes / bestFramework / 1e6,8:F0}");
                    Console.WriteLine($"scan via GzipMemberStream           {bytes / bestScanExact / 1e6,8:F0}");
                    Console.WriteLine($"scan via GZipStream                 {bytes / bestScanFramework / 1e6,8:F0}");
                    return 0;

                    static FileStream Open(string p) => new(p, new FileStreamOptions { BufferSize = 0, Options = FileOptions.SequentialScan });

                    static long Drain(Stream s, byte[] b)
                    {
                        long total = 0;
                        int n;
                        while ((n = s.Read(b)) > 0)
                        {
                            total += n;
                        }

                        return total;
                    }
                }

            case "bdn":
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
                return 0;
            default:
                Console.Error.WriteLine($"unknown mode {args[0]}");
                return 2;
        }
    }
}

/// <summary>The catalogue as grep/rg patterns: literal text kept, each conversion replaced by a character class.</summary>
public static class Patterns
{
    public static IEnumerable<string> Ere()
    {
        var seen = new HashSet<string>();
        foreach (Signature s in Catalogue.All)
        {
            if (s.Role is not (SignatureRole.Trigger or SignatureRole.Start or SignatureRole.Completion or SignatureRole.Starvation))
            {
                continue;
            }

            var sb = new StringBuilder();
            int i = 0;
            string f = s.Format;
            while (i < f.Length)
            {
                if (f[i] == '%')
                {
                    int j = i + 1;
                    while (j < f.Length && !char.IsLetter(f[j]) && f[j] != '%' && f[j] != '<')
                    {
                        j++;
                    }

                    while (j < f.Length && f[j] is 'h' or 'l' or 'z')
                    {
                        j++;
                    }

                    if (j < f.Length && f[j] == '<')
                    {
                        j = f.IndexOf('>', j);
                    }

                    char kind = j < f.Length ? f[j] : 'd';
                    sb.Append(kind switch { 's' => ".*", 'x' or 'X' => "[0-9a-fA-F]+", '%' => "%", _ => "-?[0-9]+" });
                    i = j + 1;
                }
                else
                {
                    char c = f[i];
                    if ("\\.[]()*+?{}|^$".Contains(c))
                    {
                        sb.Append('\\');
                    }

                    sb.Append(c);
                    i++;
                }
            }

            if (seen.Add(sb.ToString()))
            {
                yield return sb.ToString();
            }
        }
    }
}

/// <summary>Writes a realistic mixed-shape kernel-log corpus: mostly unrelated lines, some full resets.</summary>
public static class Corpus
{
    private static readonly string[] s_noise =
    [
        "audit: type=1400 audit({0}.123:{1}): apparmor=\"DENIED\" operation=\"open\" profile=\"snap.lxd\" name=\"/proc/{1}/status\" pid={1} comm=\"lxd\" requested_mask=\"r\" denied_mask=\"r\"",
        "IN=ens5 OUT= MAC=02:5c:aa:bb:cc:dd:02:11:22:33:44:55:08:00 SRC=10.0.{2}.{3} DST=10.0.1.5 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID={1} DF PROTO=TCP SPT=443 DPT={1} WINDOW=62727 RES=0x00 SYN URGP=0",
        "EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Quota mode: none.",
        "systemd[1]: Started cri-containerd-{1}.scope - libcontainer container {1}.",
        "cni0: port {2}(veth{1}) entered forwarding state",
        "IPv6: ADDRCONF(NETDEV_CHANGE): veth{1}: link becomes ready",
        "TCP: request_sock_TCP: Possible SYN flooding on port {1}. Sending cookies.  Check SNMP counters.",
        "oom_reaper: reaped process {1} (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
        "Memory cgroup out of memory: Killed process {1} (python3) total-vm:{1}kB, anon-rss:{1}kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:{2}kB oom_score_adj:999",
        "xfs filesystem being remounted at /var/lib/kubelet/pods/{1}/volume-subpaths supports timestamps until 2038 (0x7fffffff)",
        "overlayfs: upperdir is in-use as upperdir/workdir of another mount, accessing files from both mounts will result in undefined behavior.",
        "device veth{1} entered promiscuous mode",
        "kauditd_printk_skb: {2} callbacks suppressed",
        "perf: interrupt took too long (2503 > 2500), lowering kernel.perf_event_max_sample_rate to 79750",
        "usb 1-1: new high-speed USB device number {2} using xhci_hcd",
        "bpfilter: Loaded bpfilter_umh pid {1}",
        "docker0: port 1(veth{1}) entered blocking state",
        "hrtimer: interrupt took {1} ns",
    ];

    /// <summary>Unrelated lines that do pass the prefilter (ENA info lines, other timeouts): about one line in a thousand.</summary>
    private static readonly string[] s_candidateNoise =
    [
        "ena 0000:00:05.0 ens5: Sub-optimal configuration notification code: 1. Refer to AWS ENA documentation for additional details and mitigation options.",
        "nvme nvme0: I/O {2} QID {3} timeout, completion polled",
        "ena 0000:00:05.0: ENA device version: 0.10",
        "usb 1-1: reset high-speed USB device number {2} using xhci_hcd",
        "ena 0000:00:05.0 ens5: tx_timeout: 0",
    ];

    private static readonly string[][] s_resets =
    [
        [
            "ena 0000:00:05.0 ens5: TX q 5 is paused for too long (threshold 5000000). Time since last napi 6596000 usec. napi scheduled: 1",
            "ena 0000:00:05.0 ens5: napi handler hasn't been called for a long time but is scheduled",
            "ena 0000:00:05.0 ens5: Trigger reset is on",
            "ena 0000:00:05.0 ens5: tx_timeout: 3",
            "ena 0000:00:05.0 ens5: suspected_poll_starvation: 3",
            "ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g",
        ],
        [
            "ena 0000:00:06.0 ens6: [1/2] Lost TX completions are above threshold (129 > 128), completion timeout: 5000 (msec), 5200 msecs since interrupt, 11000 msecs since napi, qid: 3",
            "ena 0000:00:06.0 ens6: [2/2] qid: 12, napi CPU: 3",
            "ena 0000:00:06.0 ens6: Resetting the device",
            "ena 0000:00:06.0 ens6: Trigger reset is on",
            "ena 0000:00:06.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.17.0g",
        ],
        [
            "NETDEV WATCHDOG: eth1 (ixgbe): transmit queue 2 timed out 5120 ms",
            "ixgbe 0000:01:00.0 eth1: initiating reset due to tx timeout",
            "ixgbe 0000:01:00.0 eth1: Reset adapter",
        ],
        [
            "watchdog: BUG: soft lockup - CPU#39 stuck for 22s! [kubelet:1234]",
            "ena 0000:00:05.0 ens5: Keep alive watchdog timeout, 6012 msecs since last keep alive.",
            "ena 0000:00:05.0 ens5: Trigger reset is on",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g",
        ],
    ];

    /// <summary>Shapes: raw dmesg, syslog with kernel timestamps, RFC 3339 journal, dmesg -T, /dev/kmsg.</summary>
    private static string Shape(int shape, long n, string msg)
    {
        double up = 1000 + (n * 0.000731);
        long sec = (long)up;
        long usec = (long)((up - sec) * 1e6);
        return shape switch
        {
            0 => $"[{sec,5}.{usec:D6}] {msg}",
            1 => $"Jul 14 {10 + ((sec / 3600) % 12):D2}:{(sec / 60) % 60:D2}:{sec % 60:D2} ip-10-0-1-5 kernel: [{sec,5}.{usec:D6}] {msg}",
            2 => $"2026-07-14T{10 + ((sec / 3600) % 12):D2}:{(sec / 60) % 60:D2}:{sec % 60:D2}.{usec:D6}+00:00 ip-10-0-1-6 kernel: {msg}",
            3 => $"[Tue Jul 14 {10 + ((sec / 3600) % 12):D2}:{(sec / 60) % 60:D2}:{sec % 60:D2} 2026] {msg}",
            _ => $"6,{n},{sec}{usec:D6},-;{msg}",
        };
    }

    public static void Generate(string dir, int mib)
    {
        Directory.CreateDirectory(dir);
        string[] names = ["dmesg.log", "kern.log", "journal-rfc3339.log", "dmesg-T.log", "kmsg.txt"];
        long perFile = (long)mib * 1024 * 1024 / 8;
        int files = 8;
        var rnd = new Random(42);
        int resets = 0;
        for (int f = 0; f < files; f++)
        {
            int shape = f % names.Length;
            string path = Path.Combine(dir, $"{f:D2}-{names[shape]}");
            using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
            long written = 0;
            long n = 0;
            while (written < perFile)
            {
                string line;
                if (rnd.Next(200_000) == 0)
                {
                    foreach (string m in s_resets[rnd.Next(s_resets.Length)])
                    {
                        line = Shape(shape, n++, m);
                        w.Write(line);
                        w.Write('\n');
                        written += line.Length + 1;
                    }

                    resets++;
                    continue;
                }

                string t = rnd.Next(1000) == 0 ? s_candidateNoise[rnd.Next(s_candidateNoise.Length)] : s_noise[rnd.Next(s_noise.Length)];
                line = Shape(shape, n++, string.Format(System.Globalization.CultureInfo.InvariantCulture, t, 1_689_000_000 + n, rnd.Next(1, 65535), rnd.Next(0, 255), rnd.Next(1, 254)));
                w.Write(line);
                w.Write('\n');
                written += Encoding.UTF8.GetByteCount(line) + 1;
            }
        }

        Console.Error.WriteLine($"gen: {files} files, ~{mib} MiB, {resets} injected reset sequences");
    }
}

/// <summary>Per-line hot path: the prefilter over 1 MiB of unrelated lines, and whole-stream scans. Allocation must not grow with input.</summary>
[MemoryDiagnoser]
public class ScanHotPath
{
    private byte[] _noise = [];
    private byte[] _noise16 = [];
    private byte[] _oneLine = [];

    [GlobalSetup]
    public void Setup()
    {
        string dir = Path.Combine(Path.GetTempPath(), "rs-bdn-corpus");
        if (!File.Exists(Path.Combine(dir, "00-dmesg.log")))
        {
            Corpus.Generate(dir, 128);
        }

        byte[] all = File.ReadAllBytes(Path.Combine(dir, "00-dmesg.log"));
        _noise = all[..(1 << 20)];
        _noise16 = all[..Math.Min(all.Length, 16 << 20)];
        _oneLine = Encoding.ASCII.GetBytes("[ 1234.567890] IN=ens5 OUT= MAC=02:5c:aa:bb:cc:dd SRC=10.0.0.9 DST=10.0.1.5 LEN=60 PROTO=TCP SPT=443 DPT=51234 SYN\n");
    }

    [Benchmark]
    public bool OneUnrelatedLine() => LogScanner.IsCandidate(_oneLine);

    [Benchmark]
    public int Prefilter1MiB()
    {
        int hits = 0;
        ReadOnlySpan<byte> s = _noise;
        while (true)
        {
            int i = LogScanner.IsCandidateAt(s);
            if (i < 0)
            {
                return hits;
            }

            hits++;
            int nl = s[i..].IndexOf((byte)'\n');
            if (nl < 0)
            {
                return hits;
            }

            s = s[(i + nl + 1)..];
        }
    }

    [Benchmark]
    public int Scan1MiB()
    {
        using var ms = new MemoryStream(_noise, writable: false);
        return new LogScanner().ScanStream(ms, "b", null).Resets.Count;
    }

    [Benchmark]
    public int Scan16MiB()
    {
        using var ms = new MemoryStream(_noise16, writable: false);
        return new LogScanner().ScanStream(ms, "b", null).Resets.Count;
    }
}
