using System.Net.Sockets;
using System.Text;

namespace ResetScope.Agent.Service;

/// <summary>
/// systemd's notification protocol (sd_notify(3)): datagrams like "READY=1" to the socket in $NOTIFY_SOCKET
/// ('@' = abstract namespace). Without the variable (not under systemd, or Type≠notify) every call does nothing.
/// </summary>
public sealed class SdNotify : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;

    public SdNotify(string? socketPath = null, string? watchdogUsec = null)
    {
        socketPath ??= Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        watchdogUsec ??= Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        if (!string.IsNullOrEmpty(socketPath))
        {
            _endpoint = new UnixDomainSocketEndPoint(socketPath[0] == '@' ? "\0" + socketPath[1..] : socketPath);
            _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        }

        if (long.TryParse(watchdogUsec, out long usec) && usec > 0)
        {
            WatchdogInterval = TimeSpan.FromMicroseconds(usec / 2.0); // sd_watchdog_enabled: ping at half the timeout
        }
    }

    public bool Enabled => _socket is not null;

    /// <summary>How often to send WATCHDOG=1, when systemd set a watchdog.</summary>
    public TimeSpan? WatchdogInterval { get; }

    public void Ready(string status) => Send($"READY=1\nSTATUS={status}");

    public void Status(string status) => Send($"STATUS={status}");

    public void Watchdog() => Send("WATCHDOG=1");

    public void Stopping() => Send("STOPPING=1");

    public void Dispose() => _socket?.Dispose();

    private void Send(string message)
    {
        if (_socket is null)
        {
            return;
        }

        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(message), _endpoint!);
        }
        catch (SocketException)
        {
            // systemd went away or the socket is gone: nothing to tell.
        }
    }
}
