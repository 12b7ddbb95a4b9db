namespace ResetScope.Host.Cgroups;

/// <summary>
/// Counts cgroup directories created and removed under a v1 memory mount while it runs (inotify through
/// <see cref="FileSystemWatcher"/>; cgroupfs delivers IN_CREATE/IN_DELETE for cgroup directories). Unlike comparing two
/// directory listings, it sees cgroups created and removed between samples and a unit's cgroup re-created under the
/// same name on every restart — the way crash-looping units and short-lived containers leak memcgs.
/// </summary>
public sealed class MemcgChurnWatcher : IDisposable
{
    private readonly string _root;
    private readonly FileSystemWatcher _watcher;
    private readonly object _gate = new();
    private readonly Dictionary<string, (int Appeared, int Disappeared)> _perParent = new(StringComparer.Ordinal);
    private long _events;
    private int _errors;

    public MemcgChurnWatcher(string root = "/sys/fs/cgroup/memory")
    {
        _root = root;
        _watcher = new FileSystemWatcher(root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.DirectoryName,
            InternalBufferSize = 64 * 1024,
        };
        _watcher.Created += (_, e) => Count(e.FullPath, appeared: true);
        _watcher.Deleted += (_, e) => Count(e.FullPath, appeared: false);
        _watcher.Error += (_, _) => Interlocked.Increment(ref _errors);
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Create and remove events seen so far.</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>Watcher errors (inotify queue overflow): when non-zero the counts are lower bounds.</summary>
    public int Errors => Volatile.Read(ref _errors);

    /// <summary>Churn per parent directory (relative to the root, "" for the root), busiest first.</summary>
    public IReadOnlyList<MemcgAttribution> Snapshot()
    {
        lock (_gate)
        {
            return _perParent
                .Select(kv => new MemcgAttribution(kv.Key, kv.Value.Appeared + kv.Value.Disappeared, MemcgAttributionBasis.CreationChurn, kv.Value.Appeared, kv.Value.Disappeared))
                .OrderByDescending(a => a.Count)
                .ThenBy(a => a.Path, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <summary>Blocks until at least <paramref name="count"/> events were seen or <paramref name="timeout"/> passed (events arrive on a watcher thread).</summary>
    public bool WaitForEvents(long count, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (Events < count)
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left))
                {
                    return Events >= count;
                }
            }

            return true;
        }
    }

    public void Dispose() => _watcher.Dispose();

    private void Count(string fullPath, bool appeared)
    {
        string relative = Path.GetRelativePath(_root, fullPath);
        int slash = relative.LastIndexOf('/');
        string parent = slash < 0 ? string.Empty : relative[..slash];
        lock (_gate)
        {
            (int a, int d) = _perParent.GetValueOrDefault(parent);
            _perParent[parent] = appeared ? (a + 1, d) : (a, d + 1);
            Interlocked.Increment(ref _events);
            Monitor.PulseAll(_gate);
        }
    }
}
