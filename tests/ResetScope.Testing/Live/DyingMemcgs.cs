using System.Diagnostics;
using System.Globalization;

namespace ResetScope.Testing.Live;

/// <summary>
/// Makes dying memory cgroups with the spec's recipe (cgroup-v1, root): each cgroup gets a shell that blocks on stdin
/// until it has been moved in, then writes 64 KiB of page cache (charged to that memcg) and exits; the cgroup is then
/// removed and stays dying while its pages are cached. Names carry a "resetscope-test-" tag; <see cref="Dispose"/>
/// removes anything left and drops the page cache so the kernel can free them.
/// </summary>
public sealed class DyingMemcgs : IDisposable
{
    public const string MemoryMount = "/sys/fs/cgroup/memory";

    private readonly List<string> _made = [];
    private readonly string _scratch;

    public DyingMemcgs()
    {
        Tag = "resetscope-test-" + Guid.NewGuid().ToString("N");
        _scratch = Path.Combine(AppContext.BaseDirectory, Tag);
        Directory.CreateDirectory(_scratch);
    }

    public string Tag { get; }

    /// <summary>Why a live memcg test cannot run here, or null when it can.</summary>
    public static string? Unavailable() =>
        !OperatingSystem.IsLinux() ? "needs Linux"
        : Environment.UserName != "root" ? "needs root to create cgroups"
        : !File.Exists(Path.Combine(MemoryMount, "cgroup.procs")) || !File.Exists(Path.Combine(MemoryMount, "memory.usage_in_bytes")) ? $"no cgroup-v1 memory hierarchy at {MemoryMount}"
        : null;

    /// <summary>Creates <paramref name="count"/> memcgs (and leaves them live): the paths.</summary>
    public IReadOnlyList<string> Create(int count)
    {
        int first = _made.Count;
        for (int i = 0; i < count; i++)
        {
            string cg = Path.Combine(MemoryMount, $"{Tag}-{first + i}");
            Directory.CreateDirectory(cg);
            _made.Add(cg);
        }

        return _made[first..];
    }

    /// <summary>Charges page cache to every memcg made so far, then removes them: they stay dying.</summary>
    public void ChargeAndRemove()
    {
        for (int i = 0; i < _made.Count; i++)
        {
            string file = Path.Combine(_scratch, "f" + i.ToString(CultureInfo.InvariantCulture));
            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("read x; head -c 65536 /dev/urandom > \"$1\"");
            psi.ArgumentList.Add("sh");
            psi.ArgumentList.Add(file);
            using Process p = Process.Start(psi)!;
            try
            {
                File.WriteAllText(Path.Combine(_made[i], "cgroup.procs"), p.Id.ToString(CultureInfo.InvariantCulture));
                p.StandardInput.Close(); // read returns at EOF: the shell, now inside the cgroup, writes the file and exits
                p.WaitForExit();
                if (p.ExitCode != 0 || new FileInfo(file).Length != 65536)
                {
                    throw new InvalidOperationException($"the shell in {_made[i]} did not write its 64 KiB (exit {p.ExitCode})");
                }
            }
            finally
            {
                if (!p.HasExited)
                {
                    p.Kill();
                    p.WaitForExit();
                }
            }

            Directory.Delete(_made[i]);
        }

        _made.Clear();
    }

    public void Dispose()
    {
        foreach (string cg in _made)
        {
            try
            {
                Directory.Delete(cg);
            }
            catch (IOException)
            {
            }
        }

        _made.Clear();
        Directory.Delete(_scratch, recursive: true);
        using (Process sync = Process.Start("/bin/sync")!)
        {
            sync.WaitForExit();
        }

        File.WriteAllText("/proc/sys/vm/drop_caches", "1");
    }
}
