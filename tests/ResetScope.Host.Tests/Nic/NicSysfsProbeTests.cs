using ResetScope.Host.Nic;

namespace ResetScope.Host.Tests.Nic;

public sealed class NicSysfsProbeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("resetscope-nic-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void Reads_per_queue_timeouts_carrier_changes_and_steering_masks_in_queue_order()
    {
        Write("sys/class/net/eth0/carrier_changes", "6\n");
        for (int q = 0; q < 12; q++)
        {
            Write($"sys/class/net/eth0/queues/tx-{q}/tx_timeout", q == 5 ? "3\n" : "0\n");
            Write($"sys/class/net/eth0/queues/tx-{q}/xps_cpus", $"{1 << (q % 4):x}\n");
            Write($"sys/class/net/eth0/queues/rx-{q}/rps_cpus", "0\n");
        }

        NicQueueState s = new NicSysfsProbe(Path.Combine(_root, "sys")).Read("eth0");

        s.CarrierChanges.Should().Be(6);
        s.TxTimeouts.Should().HaveCount(12);
        s.TxTimeouts[5].Should().Be(3, "tx-10 and tx-11 must not sort before tx-2");
        s.TxTimeoutTotal.Should().Be(3);
        s.XpsCpus[3].Should().Be("8");
        s.RpsCpus.Should().OnlyContain(m => m == "0");
    }

    [Fact]
    public void Missing_files_are_absent_facts()
    {
        NicQueueState s = new NicSysfsProbe(Path.Combine(_root, "sys")).Read("nope0");

        s.CarrierChanges.Should().BeNull();
        s.TxTimeouts.Should().BeEmpty();
    }

    [Theory]
    [InlineData("IRQBALANCE_BANNED_CPULIST=\"0-1,39\"", new[] { 0, 1, 39 })]
    [InlineData("IRQBALANCE_BANNED_CPUS=00000080,00000001", new[] { 0, 39 })]
    public void Irqbalance_banned_cpus_from_its_configuration(string line, int[] cpus)
    {
        Write("etc/default/irqbalance", $"# comment\n{line}\n");

        new NicSysfsProbe(etcRoot: Path.Combine(_root, "etc")).IrqbalanceBannedCpus().Should().Equal(cpus);
    }

    [Fact]
    public void Reads_the_real_loopback()
    {
        if (!Directory.Exists("/sys/class/net/lo"))
        {
            return; // not Linux
        }

        NicQueueState lo = new NicSysfsProbe().Read("lo");

        lo.TxTimeouts.Should().NotBeEmpty();
        lo.RpsCpus.Should().NotBeEmpty();
    }
}
