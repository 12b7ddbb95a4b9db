using System.Globalization;
using ResetScope.Core;

namespace ResetScope.Ena.Kernel;

/// <summary>How this kernel prints the netdev watchdog (reset-signatures-and-triage.md §2.1).</summary>
public enum WatchdogFormat
{
    /// <summary>≤ 6.4: WARN_ONCE "NETDEV WATCHDOG: eth0 (ena): transmit queue 3 timed out" — once per boot, with a stack.</summary>
    WarnOnce,

    /// <summary>2023: WARN_ONCE with "... timed out %u ms".</summary>
    WarnOnceMsecs,

    /// <summary>≥ 6.8: netdev_crit "NETDEV WATCHDOG: CPU: %d: transmit queue %u timed out %u ms", every time.</summary>
    Crit,
}

/// <summary>
/// The kernel's side of a net_device: carrier, per-queue stopped state and trans_start, and dev_watchdog()
/// (net/sched/sch_generic.c), which calls the driver's ndo_tx_timeout for a queue stopped too long.
/// </summary>
public sealed class NetDevice
{
    private readonly IKernel _kernel;
    private readonly KernelTimer _watchdogTimer;
    private readonly string _kernelRelease;
    private bool _warned;

    public NetDevice(IKernel kernel, string name, string busId, int queues, int watchdogCpu, WatchdogFormat format, string kernelRelease)
    {
        _kernel = kernel;
        Name = name;
        BusId = busId;
        Format = format;
        _kernelRelease = kernelRelease;
        TxStopped = new bool[queues];
        TransStart = new ulong[queues];
        TransTimeout = new long[queues];
        WatchdogTimeo = (ulong)kernel.Clock.Hz * 5;
        _watchdogTimer = kernel.CreateTimer("dev_watchdog", watchdogCpu, DevWatchdog);
    }

    public string Name { get; }

    public string BusId { get; }

    public string DriverName { get; init; } = "ena";

    public WatchdogFormat Format { get; }

    public bool Carrier { get; private set; }

    /// <summary>__QUEUE_STATE_DRV_XOFF per Tx queue.</summary>
    public bool[] TxStopped { get; }

    /// <summary>txq->trans_start: jiffies of the last successful transmit.</summary>
    public ulong[] TransStart { get; }

    /// <summary>/sys/class/net/DEV/queues/tx-N/tx_timeout.</summary>
    public long[] TransTimeout { get; }

    /// <summary>dev->watchdog_timeo (ENA: TX_TIMEOUT = 5·HZ unless a device hint changes it).</summary>
    public ulong WatchdogTimeo { get; set; }

    public long CarrierChanges { get; private set; }

    /// <summary>ndo_tx_timeout(dev, txqueue).</summary>
    public Action<int>? TxTimeout { get; set; }

    /// <summary>Told when the carrier changes (the stack drops queued packets while it is off).</summary>
    public Action<bool>? CarrierChanged { get; set; }

    public void CarrierOn()
    {
        if (Carrier)
        {
            return;
        }

        Carrier = true;
        CarrierChanges++;
        CarrierChanged?.Invoke(true);

        // dev_activate -> __netdev_watchdog_up
        if (!_watchdogTimer.Pending)
        {
            _kernel.ModTimer(_watchdogTimer, _kernel.Clock.Round(_kernel.Jiffies + WatchdogTimeo, _watchdogTimer.Cpu, _kernel.Jiffies));
        }
    }

    public void CarrierOff()
    {
        if (!Carrier)
        {
            return;
        }

        Carrier = false;
        CarrierChanges++;
        CarrierChanged?.Invoke(false);

        // dev_deactivate -> dev_watchdog_down
        _kernel.DeleteTimer(_watchdogTimer);
    }

    private void DevWatchdog()
    {
        if (!Carrier)
        {
            return;
        }

        ulong now = _kernel.Jiffies;
        for (int i = 0; i < TxStopped.Length; i++)
        {
            if (TxStopped[i] && Jiffies.TimeAfter(now, TransStart[i] + WatchdogTimeo))
            {
                TransTimeout[i]++;
                uint ms = _kernel.Clock.ToMsecs(now - TransStart[i]);
                PrintTimeout(i, ms);
                TxTimeout?.Invoke(i);
                break;
            }
        }

        if (Carrier)
        {
            _kernel.ModTimer(_watchdogTimer, _kernel.Clock.Round(_kernel.Jiffies + WatchdogTimeo, _watchdogTimer.Cpu, _kernel.Jiffies));
        }
    }

    private void PrintTimeout(int queue, uint ms)
    {
        int cpu = _kernel.CurrentCpu;
        string S(FormattableString f) => FormattableString.Invariant(f);
        switch (Format)
        {
            case WatchdogFormat.Crit:
                _kernel.Printk(KernelLevel.Critical, S($"{DriverName} {BusId} {Name}: NETDEV WATCHDOG: CPU: {cpu}: transmit queue {queue} timed out {ms} ms"));
                return;
            case WatchdogFormat.WarnOnce:
            case WatchdogFormat.WarnOnceMsecs:
                if (_warned)
                {
                    return;
                }

                _warned = true;
                string message = Format == WatchdogFormat.WarnOnce
                    ? S($"NETDEV WATCHDOG: {Name} ({DriverName}): transmit queue {queue} timed out")
                    : S($"NETDEV WATCHDOG: {Name} ({DriverName}): transmit queue {queue} timed out {ms} ms");
                _kernel.Printk(KernelLevel.Warning, "------------[ cut here ]------------");
                _kernel.Printk(KernelLevel.Info, message);
                _kernel.Printk(KernelLevel.Warning, S($"WARNING: CPU: {cpu} PID: 0 at net/sched/sch_generic.c:477 dev_watchdog+0x21c/0x230"));
                _kernel.Printk(KernelLevel.Warning, "Modules linked in: ena(OE) nls_iso8859_1 dm_multipath scsi_dh_rdac scsi_dh_emc scsi_dh_alua crct10dif_pclmul crc32_pclmul ghash_clmulni_intel aesni_intel crypto_simd cryptd glue_helper nvme nvme_core");
                _kernel.Printk(KernelLevel.Warning, S($"CPU: {cpu} PID: 0 Comm: swapper/{cpu} Tainted: G           OE     {_kernelRelease} #1"));
                _kernel.Printk(KernelLevel.Warning, "Hardware name: Amazon EC2 p4d.24xlarge/, BIOS 1.0 10/16/2017");
                _kernel.Printk(KernelLevel.Warning, "RIP: 0010:dev_watchdog+0x21c/0x230");
                _kernel.Printk(KernelLevel.Warning, "Call Trace:");
                _kernel.Printk(KernelLevel.Warning, " <IRQ>");
                _kernel.Printk(KernelLevel.Warning, " ? pfifo_fast_enqueue+0x150/0x150");
                _kernel.Printk(KernelLevel.Warning, " call_timer_fn+0x32/0x130");
                _kernel.Printk(KernelLevel.Warning, " __run_timers.part.0+0x180/0x280");
                _kernel.Printk(KernelLevel.Warning, " run_timer_softirq+0x2a/0x50");
                _kernel.Printk(KernelLevel.Warning, " __do_softirq+0xe1/0x2d6");
                _kernel.Printk(KernelLevel.Warning, " irq_exit+0xae/0xb0");
                _kernel.Printk(KernelLevel.Warning, " </IRQ>");
                _kernel.Printk(KernelLevel.Warning, string.Create(CultureInfo.InvariantCulture, $"---[ end trace {(ulong)_kernel.NowNs * 2654435761UL:x16} ]---"));
                return;
        }
    }

    /// <summary>Chooses the watchdog format a kernel release prints (backports aside).</summary>
    public static WatchdogFormat FormatFor(string kernelRelease)
    {
        string[] parts = kernelRelease.Split('.', '-');
        if (parts.Length >= 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
        {
            int v = major * 100 + minor;
            return v >= 608 ? WatchdogFormat.Crit : v >= 605 ? WatchdogFormat.WarnOnceMsecs : WatchdogFormat.WarnOnce;
        }

        return WatchdogFormat.Crit;
    }
}
