using ResetScope.Host.Cpu;

namespace ResetScope.Host.Tests.Cpu;

/// <summary>/proc/interrupts counts, chips and names, and the NIC queue → IRQ → affinity CPU map.</summary>
public class InterruptsProbeTests
{
    [Fact]
    public void Four_cpu_host_reads_numbered_irqs_with_chip_hwirq_name_and_counts_by_cpu_number()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new InterruptsProbe(f.Root);

        probe.CpuSlots.Should().Be(4, "the header lists CPU0 CPU1 CPU3");
        probe.Irqs.Select(i => i.Irq).Should().Equal(0, 8, 9, 24, 25, 26, 27, 28, 29);
        probe.Irqs[0].Should().Be(new IrqLine(0, "IO-APIC", "2-edge", "timer"));
        probe.Irqs[3].Should().Be(new IrqLine(24, "PCI-MSIX-0000:00:05.0", "0-edge", "ena-mgmnt@pci:0000:00:05.0"));
        probe.Irqs[8].Should().Be(new IrqLine(29, "PCI-MSIX-0000:00:04.0", "0-edge", "nvme0q0"));
        probe.Counts(probe.IndexOf(29)).ToArray().Should().Equal(17UL, 18UL, 0UL, 19UL);
        probe.Counts(probe.IndexOf(27)).ToArray().Should().Equal(0UL, 0UL, 0UL, 3000UL);
        probe.Count(probe.IndexOf(28), 1).Should().Be(400);
        probe.IndexOf(12345).Should().Be(-1);
    }

    [Fact]
    public void Ena_queues_map_to_their_effective_affinity_cpu_falling_back_to_smp_affinity()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new InterruptsProbe(f.Root);

        probe.NicQueues.Select(n => (n.Kind, n.Device, n.Queue, n.Irq, n.Cpu, n.FromEffectiveAffinity)).Should().Equal(
            (NicIrqKind.EnaTxRx, "eth0", 0, 25, 0, true),
            (NicIrqKind.EnaTxRx, "eth0", 1, 26, 1, true),
            (NicIrqKind.EnaTxRx, "eth0", 2, 27, 3, true),
            (NicIrqKind.EnaTxRx, "eth0", 3, 28, 0, false),
            (NicIrqKind.EnaManagement, "0000:00:05.0", -1, 24, 0, true));
        probe.NicQueues[3].AffinityCpus.Should().Equal(0, 1);
    }

    [Theory]
    [InlineData("eth0-Tx-Rx-7", NicIrqKind.EnaTxRx, "eth0", 7)]
    [InlineData("ens5-Tx-Rx-31", NicIrqKind.EnaTxRx, "ens5", 31)]
    [InlineData("ena-mgmnt@pci:0000:00:05.0", NicIrqKind.EnaManagement, "0000:00:05.0", -1)]
    [InlineData("mlx5_comp12@pci:0000:3b:00.0", NicIrqKind.Mlx5Completion, "0000:3b:00.0", 12)]
    [InlineData("gve-ntfy-blk3@pci:0000:00:04.0", NicIrqKind.GveNotify, "0000:00:04.0", 3)]
    [InlineData("virtio1-input.0", NicIrqKind.VirtioInput, "virtio1", 0)]
    [InlineData("virtio1-output.5", NicIrqKind.VirtioOutput, "virtio1", 5)]
    public void Recognises_nic_irq_names(string name, NicIrqKind kind, string device, int queue)
    {
        InterruptsProbe.TryParseNicIrqName(name, out NicIrqKind k, out string d, out int q).Should().BeTrue();
        (k, d, q).Should().Be((kind, device, queue));
    }

    [Theory]
    [InlineData("nvme0q1")]
    [InlineData("virtio0-config")]
    [InlineData("mlx5_async@pci:0000:3b:00.0")]
    [InlineData("eth0-Tx-Rx-")]
    [InlineData("timer")]
    public void Other_irq_names_are_not_nic_queues(string name)
        => InterruptsProbe.TryParseNicIrqName(name, out _, out _, out _).Should().BeFalse();

    [Theory]
    [InlineData("0-3,8,10-11\n", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    [InlineData("5", new[] { 5 })]
    [InlineData("", new int[0])]
    [InlineData("3-1", new int[0])]
    [InlineData("x", new int[0])]
    public void Parses_kernel_cpu_lists(string text, int[] expected) => InterruptsProbe.ParseCpuList(text).Should().Equal(expected);

    [Fact]
    public void Rereads_counts_at_offset_zero_without_rebuilding_the_layout()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new InterruptsProbe(f.Root);
        string text = File.ReadAllText(Path.Combine(f.Root, "interrupts"));

        f.Write("interrupts", text.Replace(" 27:          0          0       3000", " 27:          0          0       3500", StringComparison.Ordinal));
        probe.Sample().Should().BeTrue();

        probe.LayoutBuilds.Should().Be(1);
        probe.Counts(probe.IndexOf(27)).ToArray().Should().Equal(0UL, 0UL, 0UL, 3500UL);
    }

    [Fact]
    public void A_changed_irq_set_rebuilds_the_layout_and_the_map()
    {
        using CpuFixture f = CpuFixture.Copy("host4");
        using var probe = new InterruptsProbe(f.Root);

        f.Write("irq/40/effective_affinity_list", "2\n");
        f.Write("interrupts", "      CPU0 CPU1 CPU2 CPU3\n 40:  1 2 3 4  PCI-MSI 1-edge  virtio2-input.0\nLOC: 1 1 1 1 Local timer interrupts\n");
        probe.Sample().Should().BeTrue();

        probe.LayoutBuilds.Should().Be(2);
        probe.Irqs.Should().Equal(new IrqLine(40, "PCI-MSI", "1-edge", "virtio2-input.0"));
        probe.Counts(0).ToArray().Should().Equal(1UL, 2UL, 3UL, 4UL);
        probe.NicQueues.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Kind = NicIrqKind.VirtioInput, Device = "virtio2", Queue = 0, Irq = 40, Cpu = 2 });
    }

    [Fact]
    public void Old_format_without_hwirq_field_takes_the_rest_as_name()
    {
        using CpuFixture f = CpuFixture.Empty();
        f.Write("interrupts", "           CPU0       CPU1\n  0:        131          0   IO-APIC-edge      timer\n 19:          3          4   IO-APIC-fasteoi   uhci_hcd:usb1, ehci_hcd:usb2\n");
        using var probe = new InterruptsProbe(f.Root);

        probe.Irqs.Should().Equal(
            new IrqLine(0, "IO-APIC-edge", null, "timer"),
            new IrqLine(19, "IO-APIC-fasteoi", null, "uhci_hcd:usb1, ehci_hcd:usb2"));
    }

    [Fact]
    public void Ninety_six_cpu_host_maps_32_ena_queues_spread_over_cpus()
    {
        using CpuFixture f = Host96.Create();
        using var probe = new InterruptsProbe(f.Root);

        probe.CpuSlots.Should().Be(96);
        probe.Irqs.Should().HaveCount(33);
        List<NicQueueIrq> txrx = probe.NicQueues.Where(n => n.Kind == NicIrqKind.EnaTxRx).ToList();
        txrx.Should().HaveCount(32);
        for (int q = 0; q < Host96.Queues; q++)
        {
            txrx[q].Queue.Should().Be(q);
            txrx[q].Irq.Should().Be(100 + q);
            txrx[q].Cpu.Should().Be(Host96.QueueCpu(q));
            ReadOnlySpan<ulong> counts = probe.Counts(probe.IndexOf(100 + q));
            for (int c = 0; c < Host96.Cpus; c++)
            {
                counts[c].Should().Be(Host96.IsOnline(c) ? Host96.IrqCount(q, c) : 0, $"IRQ {100 + q} CPU {c}");
            }
        }

        probe.NicQueues.Should().ContainSingle(n => n.Kind == NicIrqKind.EnaManagement).Which.Irq.Should().Be(99);
    }

    [Fact]
    public void Steady_state_count_sampling_does_not_allocate()
    {
        using CpuFixture f = Host96.Create();
        using var probe = new InterruptsProbe(f.Root);
        for (int i = 0; i < 50; i++)
        {
            probe.Sample();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
        {
            probe.Sample();
        }

        long perCycle = (GC.GetAllocatedBytesForCurrentThread() - before) / 200;
        perCycle.Should().Be(0);
        probe.LayoutBuilds.Should().Be(1);
    }
}
