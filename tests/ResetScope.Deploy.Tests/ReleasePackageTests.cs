using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace ResetScope.Deploy.Tests;

/// <summary>
/// The release as an operator gets it: ./build-release (once per test run, and a no-op when nothing changed since
/// the last one), its .deb unpacked into a scratch root, and the packaged native binary run from there.
/// </summary>
public sealed class ReleasePackageTests(ReleasePackage package) : IClassFixture<ReleasePackage>
{
    private static readonly TimeSpan s_runTimeout = TimeSpan.FromMinutes(1);

    private string Binary => package.Installed("usr/bin/resetscope");

    [ReleaseFact]
    public void The_package_is_named_versioned_and_needs_only_glibc()
    {
        Dictionary<string, string> control = package.Control;
        control["Package"].Should().Be("resetscope");
        control["Architecture"].Should().Be("amd64");
        control["Version"].Should().MatchRegex(@"^\d+\.\d+\.\d+$");
        System.IO.Path.GetFileName(package.Deb).Should().Be($"resetscope_{control["Version"]}_amd64.deb");
        control["Maintainer"].Should().MatchRegex(@"^.+ <[^<>@\s]+@[^<>\s]+>$");
        control["Description"].Should().NotBeNullOrWhiteSpace();
        control["Depends"].Should().MatchRegex(@"^libc6 \(>= 2\.\d+\)$", "SQLite, zlib and the runtime are linked in");

        Repo.Result needed = Repo.Run("readelf", "-d", Binary);
        needed.ExitCode.Should().Be(0, needed.ToString());
        Regex.Matches(needed.Stdout, @"\(NEEDED\).*\[(.+)\]").Select(m => m.Groups[1].Value)
            .Should().BeSubsetOf(["libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2"]);

        Repo.Result version = Repo.Run(Binary, "--version");
        version.ExitCode.Should().Be(0, version.ToString());
        version.Stdout.Should().StartWith(control["Version"] + "+");
    }

    [ReleaseFact]
    public void It_installs_the_binary_the_unit_the_defaults_as_a_conffile_and_the_docs()
    {
        Repo.Result listing = Repo.Run("dpkg-deb", "-c", package.Deb);
        listing.ExitCode.Should().Be(0, listing.ToString());
        // "-rwxr-xr-x root/root 17827392 2026-12-03 13:13 ./usr/bin/resetscope"
        var entries = listing.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(f => f[^1].TrimStart('.'), f => (Mode: f[0], Owner: f[1]));
        entries.Values.Should().OnlyContain(e => e.Owner == "root/root", "dpkg-deb --root-owner-group");
        entries["/usr/bin/resetscope"].Mode.Should().Be("-rwxr-xr-x");
        entries["/lib/systemd/system/resetscope-agent.service"].Mode.Should().Be("-rw-r--r--");
        entries["/etc/default/resetscope"].Mode.Should().Be("-rw-r--r--");
        string[] docs = Directory.GetFiles(Repo.Path("docs"), "*.md").Select(d => "/usr/share/doc/resetscope/docs/" + System.IO.Path.GetFileName(d)).ToArray();
        entries.Keys.Should().Contain(["/usr/share/doc/resetscope/README.md", "/usr/share/doc/resetscope/copyright", .. docs]);
        entries.Keys.Should().NotContain(k => k.EndsWith(".so", StringComparison.Ordinal) || k.EndsWith(".dbg", StringComparison.Ordinal) || k.EndsWith(".pdb", StringComparison.Ordinal));

        File.ReadAllText(package.ControlFile("conffiles")).Should().Be("/etc/default/resetscope\n");
        File.ReadAllText(package.Installed("lib/systemd/system/resetscope-agent.service")).Should().Be(Repo.Read("deploy/systemd/resetscope-agent.service"));
        string execStart = SystemdUnitTests.Settings().Single(s => s.Key == "ExecStart").Value.Split(' ')[0];
        entries.Keys.Should().Contain(execStart, "the unit runs the binary the package installs");

        // Commented defaults only: an upgrade never changes what an operator set.
        string defaults = File.ReadAllText(package.Installed("etc/default/resetscope"));
        defaults.Split('\n').Where(l => l.Length > 0).Should().OnlyContain(l => l.StartsWith('#'));
        defaults.Should().Contain("#RESETSCOPE_METRICS_LISTEN=127.0.0.1:9465").And.Contain("#RESETSCOPE_AGENT_ARGS=");
    }

    [ReleaseFact]
    public void The_maintainer_scripts_leave_systemd_alone_when_it_is_not_running()
    {
        string fakeBin = package.Scratch("fake-bin");
        string calls = System.IO.Path.Combine(package.Scratch("calls"), "systemctl");
        File.WriteAllText(System.IO.Path.Combine(fakeBin, "systemctl"), $"#!/bin/sh\necho \"$*\" >>'{calls}'\n");
        Repo.Run("chmod", "0755", System.IO.Path.Combine(fakeBin, "systemctl")).ExitCode.Should().Be(0);

        foreach ((string script, string argument) in new[] { ("postinst", "configure"), ("prerm", "remove"), ("postrm", "remove"), ("postrm", "purge") })
        {
            string path = package.ControlFile(script);
            string text = File.ReadAllText(path);
            text.Should().StartWith("#!/bin/sh\n").And.Contain("[ -d /run/systemd/system ]", $"{script} runs systemctl only where systemd is PID 1");
            Repo.Run("sh", "-n", path).ExitCode.Should().Be(0, $"{script} parses");
            if (!Directory.Exists("/run/systemd/system"))
            {
                Repo.Result r = Repo.Run("env", $"PATH={fakeBin}:/usr/bin:/bin", "sh", path, argument);
                r.ExitCode.Should().Be(0, r.ToString());
            }
        }

        if (!Directory.Exists("/run/systemd/system"))
        {
            File.Exists(calls).Should().BeFalse("systemd is not running here, so no script may call systemctl");
        }
    }

    [ReleaseFact]
    public void Doctor_runs_from_the_package()
    {
        Repo.Result r = Repo.RunWithin(s_runTimeout, Binary, "doctor", "--sample", "1");

        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().MatchRegex(@"^resetscope doctor · kernel \S+ · \d+ CPUs · up ", r.ToString())
            .And.Contain("\n  kernel log      ")
            .And.Contain("\n  sampled         ")
            .And.Contain("\nFindings");
    }

    [ReleaseFact]
    public async Task The_agent_from_the_package_records_and_serves_metrics()
    {
        (int exit, string stderr, string metrics) = await RunAgentAsync([Binary]);

        exit.Should().Be(0, stderr);
        stderr.Should().MatchRegex(@"(^|\n)resetscope agent: recording \d+ CPUs; kernel log from .+; metrics at http://127\.0\.0\.1:\d+/metrics; store ");
        metrics.Should().Contain("# TYPE resetscope_recorder_samples_total counter").And.MatchRegex(@"\nresetscope_build_info\{version=""[^""]+""\} 1\n");
    }

    [MemoryDenyWriteExecuteFact]
    public async Task The_agent_runs_where_no_memory_may_become_executable()
    {
        // What the unit's MemoryDenyWriteExecute=yes asks of it: a JIT would die here at its first method.
        string wrapper = System.IO.Path.Combine(package.Scratch("mdwe"), "mdwe-exec");
        Repo.Result cc = Repo.Run("clang", "-O2", "-Wall", "-Werror", "-o", wrapper, System.IO.Path.Combine(AppContext.BaseDirectory, "tools", "mdwe-exec.c"));
        cc.ExitCode.Should().Be(0, cc.ToString());

        (int exit, string stderr, string metrics) = await RunAgentAsync([wrapper, Binary]);

        exit.Should().Be(0, stderr);
        stderr.Should().Contain("resetscope agent: recording ");
        metrics.Should().Contain("resetscope_recorder_samples_total ");
    }

    [ReleaseFact]
    public void Simulate_prints_the_same_kernel_log_as_the_JIT_build()
    {
        Repo.Result r = Repo.RunWithin(s_runTimeout, Binary, "simulate", "pinterest-2025", "--log-only");

        r.ExitCode.Should().Be(0, r.ToString());
        r.Stdout.Should().Be(Repo.Read("tests/ResetScope.Cli.Tests/golden/pinterest-2025.log"));
    }

    [ReleaseFact]
    public void Scan_finds_the_same_events_as_the_JIT_build_in_plain_and_gzip_logs()
    {
        string log = Repo.Path("tests/ResetScope.KernelLog.Tests/corpus/kernel-logs/001-ena-syslog-missing-tx-then-keepalive-1.5.0K.log");
        string gz = System.IO.Path.Combine(package.Scratch("scan"), "kern.log.gz");
        using (FileStream input = File.OpenRead(log))
        using (var output = new GZipStream(File.Create(gz), CompressionLevel.Optimal))
        {
            input.CopyTo(output);
        }

        foreach (string path in new[] { log, gz })
        {
            Repo.Result native = Repo.RunWithin(s_runTimeout, Binary, "scan", "--json", path);
            Repo.Result jit = Repo.RunWithin(s_runTimeout, Repo.BuiltResetScope, "scan", "--json", path);

            native.ExitCode.Should().Be(0, native.ToString());
            jit.ExitCode.Should().Be(0, jit.ToString());
            native.Stdout.Should().Contain("\"kind\":\"reset\"").And.Be(jit.Stdout);
        }
    }

    /// <summary>
    /// <c>agent --duration 5s</c> with a scratch store on a free loopback port; /metrics is scraped once the READY line
    /// is out. Returns the exit code, standard error and the scrape.
    /// </summary>
    private async Task<(int Exit, string Stderr, string Metrics)> RunAgentAsync(string[] command)
    {
        int port = FreePort();
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in command[1..].Concat(["agent", "--duration", "5s", "--store", System.IO.Path.Combine(package.Scratch("agent"), "incidents.db"),
            "--metrics-listen", $"127.0.0.1:{port}"]))
        {
            start.ArgumentList.Add(a);
        }

        using Process agent = Process.Start(start)!;
        var stderr = new System.Text.StringBuilder();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                ready.TrySetResult();
                return;
            }

            lock (stderr)
            {
                stderr.Append(e.Data).Append('\n');
            }

            if (e.Data.StartsWith("resetscope agent: recording ", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        agent.BeginErrorReadLine();
        Task<string> stdout = agent.StandardOutput.ReadToEndAsync();
        try
        {
            await ready.Task.WaitAsync(s_runTimeout);
            string metrics = "";
            if (!agent.HasExited)
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
                metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            }

            await agent.WaitForExitAsync().WaitAsync(s_runTimeout);
            await stdout;
            lock (stderr)
            {
                return (agent.ExitCode, stderr.ToString(), metrics);
            }
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill();
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// Runs ./build-release once for the test class, on first use (the skipped tests of a machine without clang never
/// build), and unpacks the .deb; removes its scratch directory at the end.
/// </summary>
public sealed class ReleasePackage : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("resetscope-release-test-").FullName;
    private readonly Lazy<string> _deb;
    private int _made;

    public ReleasePackage() => _deb = new Lazy<string>(BuildAndUnpack);

    /// <summary>The .deb that ./build-release made.</summary>
    public string Deb => _deb.Value;

    /// <summary>The package's control fields (<c>dpkg-deb -f</c>).</summary>
    public Dictionary<string, string> Control
    {
        get
        {
            Repo.Result r = Repo.Run("dpkg-deb", "-f", Deb);
            r.ExitCode.Should().Be(0, r.ToString());
            // "Field: value", continuation lines start with a space.
            return Regex.Matches(r.Stdout, @"^([A-Za-z-]+): (.*(?:\n .*)*)", RegexOptions.Multiline).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        }
    }

    /// <summary>A file as the package installs it, under the scratch root (<paramref name="path"/> without the leading /).</summary>
    public string Installed(string path) => System.IO.Path.Combine(Unpacked, "root", path.TrimStart('/'));

    /// <summary>A file of the package's DEBIAN/ control area (<c>dpkg-deb -e</c>).</summary>
    public string ControlFile(string name) => System.IO.Path.Combine(Unpacked, "control", name);

    /// <summary>The scratch directory, once the package is built and unpacked into it.</summary>
    private string Unpacked => Deb.Length > 0 ? _scratch : throw new InvalidOperationException("no package");

    /// <summary>A new empty directory under the scratch directory.</summary>
    public string Scratch(string name) => Directory.CreateDirectory(System.IO.Path.Combine(_scratch, $"{name}-{Interlocked.Increment(ref _made)}")).FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private string BuildAndUnpack()
    {
        var start = new ProcessStartInfo(Repo.Path("build-release"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repo.Root,
        };
        // The test host runs under `dotnet test`: MSBuild's variables from that run must not steer this publish.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToArray())
        {
            start.Environment.Remove(name);
        }

        using (Process build = Process.Start(start)!)
        {
            Task<string> stdout = build.StandardOutput.ReadToEndAsync();
            Task<string> stderr = build.StandardError.ReadToEndAsync();
            if (!build.WaitForExit(TimeSpan.FromMinutes(15)))
            {
                build.Kill(entireProcessTree: true);
                throw new TimeoutException("./build-release did not finish in 15 minutes");
            }

            build.ExitCode.Should().Be(0, $"./build-release failed:\n{stdout.Result}{stderr.Result}");
        }

        string deb = Directory.GetFiles(Repo.Path(".build/release"), "resetscope_*_amd64.deb").Should().ContainSingle().Subject;
        foreach ((string option, string into) in new[] { ("-x", "root"), ("-e", "control") })
        {
            Repo.Result r = Repo.Run("dpkg-deb", option, deb, System.IO.Path.Combine(_scratch, into));
            r.ExitCode.Should().Be(0, r.ToString());
        }

        return deb;
    }
}

/// <summary>A fact that needs ./build-release to work here: linux-x64 with the SDK, clang, lld, dpkg-deb and readelf.</summary>
public class ReleaseFactAttribute : FactAttribute
{
    private static readonly string? s_missing = FindMissing();

    public ReleaseFactAttribute()
    {
        if (s_missing is not null)
        {
            Skip = s_missing;
        }
    }

    private static string? FindMissing()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            return "the release is built for linux-x64 only";
        }

        foreach ((string tool, string package) in new[] { ("dotnet", "the .NET 10 SDK"), ("clang", "clang"), ("ld.lld", "lld"), ("dpkg-deb", "dpkg"), ("readelf", "binutils") })
        {
            if (Repo.Which(tool) is null)
            {
                return $"{tool} is not installed (./build-release needs it; run-tests installs the Debian package {package})";
            }
        }

        return null;
    }
}

/// <summary>A <see cref="ReleaseFactAttribute"/> that also needs PR_SET_MDWE, which Linux has since 6.3.</summary>
public sealed class MemoryDenyWriteExecuteFactAttribute : ReleaseFactAttribute
{
    public MemoryDenyWriteExecuteFactAttribute()
    {
        if (Skip is null && !KernelHasMdwe())
        {
            Skip = $"the kernel ({File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}) has no PR_SET_MDWE (Linux 6.3 and later)";
        }
    }

    private static bool KernelHasMdwe()
    {
        Match m = Regex.Match(File.ReadAllText("/proc/sys/kernel/osrelease"), @"^(\d+)\.(\d+)");
        return m.Success && (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)).CompareTo((6, 3)) >= 0;
    }
}
