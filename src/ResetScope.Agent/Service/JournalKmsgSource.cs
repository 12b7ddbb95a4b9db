using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ResetScope.Host.Kmsg;

namespace ResetScope.Agent.Service;

/// <summary>
/// The kernel log from the journal where /dev/kmsg cannot be opened: follows <c>journalctl -k -b -f -o json</c> and
/// hands each entry on as a /dev/kmsg record (priority, a sequence number counted from the start of the boot's
/// kernel lines — so a restart replays the same numbers — monotonic µs, message). Entries are all from the kernel
/// transport, so all are kernel-facility records.
/// </summary>
public sealed class JournalKmsgSource : IKmsgSource
{
    private readonly Process _journal;
    private readonly Queue<byte[]> _records = new();
    private readonly object _gate = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private ulong _sequence;

    /// <summary>
    /// Entries held while the agent is behind: past this the oldest go, and the gap in their sequence numbers is counted
    /// as lost, as the kernel's ring does for /dev/kmsg.
    /// </summary>
    private const int MaxQueued = 65_536;

    private JournalKmsgSource(Process journal)
    {
        _journal = journal;
        _ = Task.Run(Pump);
    }

    public static JournalKmsgSource Start(string executable = "journalctl")
    {
        var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-k", "-b", "-f", "-o", "json", "--no-pager", "-q" })
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            return new JournalKmsgSource(Process.Start(psi)!);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"{executable}: {e.Message}; neither /dev/kmsg nor the journal can be read (run as root or with CAP_SYSLOG)", e);
        }
    }

    public int Read(Span<byte> buffer)
    {
        byte[]? next;
        lock (_gate)
        {
            _records.TryDequeue(out next);
        }

        if (next is null)
        {
            return 0;
        }

        int n = Math.Min(next.Length, buffer.Length);
        next.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    public bool WaitReadable(TimeSpan timeout)
    {
        lock (_gate)
        {
            if (_records.Count > 0)
            {
                return true;
            }
        }

        return _arrived.Wait(timeout);
    }

    public void Dispose()
    {
        try
        {
            if (!_journal.HasExited)
            {
                _journal.Kill();
                _journal.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _journal.Dispose();
    }

    /// <summary>One journal JSON entry as a kmsg record, or null when it is not one.</summary>
    public static string? ToKmsgRecord(string json, ulong sequence)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            JsonElement e = doc.RootElement;
            if (!e.TryGetProperty("MESSAGE", out JsonElement message) || message.ValueKind != JsonValueKind.String)
            {
                return null; // binary messages come as byte arrays: not a driver line
            }

            int priority = e.TryGetProperty("PRIORITY", out JsonElement p) && int.TryParse(p.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out int pr) ? pr : 6;
            long usec = e.TryGetProperty("__MONOTONIC_TIMESTAMP", out JsonElement m) && long.TryParse(m.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out long us) ? us : 0;
            string text = message.GetString()!.Replace("\n", "\\x0a", StringComparison.Ordinal);
            return string.Create(CultureInfo.InvariantCulture, $"{priority & 7},{sequence},{usec},-;{text}");
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void Pump()
    {
        string? line;
        while ((line = _journal.StandardOutput.ReadLine()) is not null)
        {
            if (ToKmsgRecord(line, _sequence) is not { } record)
            {
                continue;
            }

            _sequence++;
            lock (_gate)
            {
                if (_records.Count >= MaxQueued)
                {
                    _records.Dequeue();
                }

                _records.Enqueue(Encoding.UTF8.GetBytes(record));
            }

            _arrived.Release();
        }
    }
}
