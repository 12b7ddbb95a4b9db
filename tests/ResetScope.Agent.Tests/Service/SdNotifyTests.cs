using System.Net.Sockets;
using System.Text;
using ResetScope.Agent.Service;

namespace ResetScope.Agent.Tests.Service;

/// <summary>sd_notify(3) as systemd receives it: datagrams on the socket named by $NOTIFY_SOCKET.</summary>
public sealed class SdNotifyTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"resetscope-notify-{Guid.NewGuid():N}.sock");
    private readonly Socket _systemd = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public SdNotifyTests()
    {
        _systemd.Bind(new UnixDomainSocketEndPoint(_path));
        _systemd.ReceiveTimeout = 5000;
    }

    public void Dispose()
    {
        _systemd.Dispose();
        File.Delete(_path);
    }

    private string Receive()
    {
        byte[] buffer = new byte[4096];
        int n = _systemd.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Fact]
    public void Ready_watchdog_and_stopping_are_the_protocol_s_datagrams()
    {
        using var notify = new SdNotify(_path, watchdogUsec: "");
        notify.Ready("recording 2 CPUs");
        notify.Watchdog();
        notify.Stopping();

        Receive().Should().Be("READY=1\nSTATUS=recording 2 CPUs");
        Receive().Should().Be("WATCHDOG=1");
        Receive().Should().Be("STOPPING=1");
    }

    [Fact]
    public void The_watchdog_is_pinged_at_half_its_timeout()
    {
        using var notify = new SdNotify(_path, watchdogUsec: "30000000");

        notify.WatchdogInterval.Should().Be(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public void Without_a_notify_socket_nothing_is_sent_and_nothing_fails()
    {
        using var notify = new SdNotify(socketPath: "", watchdogUsec: "");
        notify.Ready("x");

        notify.Enabled.Should().BeFalse();
        notify.WatchdogInterval.Should().BeNull();
    }
}
