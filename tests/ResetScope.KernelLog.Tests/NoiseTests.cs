using FluentAssertions;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>Lines that look like resets to grep but are not: none of them may become an event.</summary>
public class NoiseTests
{
    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", name));

    [Fact]
    public void The_noise_fixture_gives_zero_resets_zero_precursors_and_zero_starvation()
    {
        FileScanResult r = Scan.Text(Fixture("noise-kern.log"));

        r.Resets.Should().BeEmpty();
        r.Precursors.Should().BeEmpty();
        r.Starvations.Should().BeEmpty();
        r.Lines.Should().Be(50);
    }

    [Theory]
    [InlineData("ena 0000:00:05.0 eth0: tx_timeout: 1")]
    [InlineData("ena 0000:00:05.0 eth0: total_resets: 12")]
    [InlineData("ena 0000:00:05.0 eth0: queue_3_tx_missed_tx: 129")]
    [InlineData("ena0: wd_expired: 4")]
    public void Counter_dump_lines_outside_a_reset_are_never_events(string line)
    {
        FileScanResult r = Scan.Lines(line);

        r.Resets.Should().BeEmpty();
        r.Precursors.Should().BeEmpty();
    }

    [Theory]
    [InlineData("Modules linked in: ena ptp pps_core ixgbe mlx5_core")]
    [InlineData("ena 0000:00:05.0 ens5: renamed from eth0")]
    [InlineData("systemd-networkd[612]: ens5: Link enabled")]
    [InlineData("usb 2-1: reset SuperSpeed USB device number 3 using xhci_hcd")]
    [InlineData("ata3: hard resetting link")]
    [InlineData("pcieport 0000:00:1c.0: AER: Root Port link has been reset")]
    [InlineData("systemd[1]: Started foo.service WATCHDOG=1")]
    [InlineData("ena: Elastic Network Adapter (ENA) v2.11.0g")]
    [InlineData("ena 0000:00:05.0: Elastic Network Adapter (ENA) found at mem febf4000, mac addr 02:5c:aa:bb:cc:dd")]
    [InlineData("ixgbe: Intel(R) 10 Gigabit PCI Express Network Driver")]
    [InlineData("NETDEV WATCHDOG is mentioned here but not in its format")]
    public void Look_alike_lines_are_never_events(string line)
    {
        FileScanResult r = Scan.Lines($"[ 12.345678] {line}");

        r.Resets.Should().BeEmpty();
        r.Precursors.Should().BeEmpty();
        r.Starvations.Should().BeEmpty();
    }

    [Fact]
    public void A_stats_dump_inside_a_reset_does_not_add_lines_or_events()
    {
        FileScanResult r = Scan.Lines(
            "ena 0000:00:05.0 eth0: Trigger reset is on",
            "ena 0000:00:05.0 eth0: tx_timeout: 1",
            "ena 0000:00:05.0 eth0: queue_0_tx_cnt: 123456",
            "ena 0000:00:05.0: Device reset completed, status: 0, Driver info: Elastic Network Adapter (ENA) v2.14.0g");

        r.Resets.Should().ContainSingle().Which.Event.Lines.Should().Equal(1, 4);
        r.StatsDumpLines.Should().Be(2);
    }
}
