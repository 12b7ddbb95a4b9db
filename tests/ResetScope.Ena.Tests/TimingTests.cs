using System.Text.RegularExpressions;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

/// <summary>Detection latencies follow from the thresholds, the 1 s timer and the 5 s watchdog (ena-driver.md §3.4).</summary>
public partial class TimingTests
{
    [Theory]
    [InlineData(5.0)]
    [InlineData(5.25)]
    [InlineData(5.5)]
    [InlineData(5.9)]
    public void Keep_alive_fires_6_to_7_s_after_the_last_keep_alive(double faultStart)
    {
        SimulationResult r = SimulationHarness.Run("keepalive-loss", change: s => s with
        {
            Faults = [new FaultSpec(FaultKind.StopKeepAlive, (long)(faultStart * 1e9), 7_000_000_000)],
        });

        string line = r.Lines().First(l => l.Contains("Keep alive watchdog timeout", StringComparison.Ordinal));
        int ms = int.Parse(MsecsSinceKeepAlive().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        ms.Should().BeGreaterThan(6000).And.BeLessThanOrEqualTo(7000);
    }

    [Theory]
    [InlineData(5.0)]
    [InlineData(6.3)]
    [InlineData(7.7)]
    [InlineData(9.1)]
    public void Netdev_watchdog_fires_5_to_10_s_after_the_queue_stops(double faultStart)
    {
        SimulationResult r = SimulationHarness.Run("netdev-watchdog", change: s => s with
        {
            Faults = [new FaultSpec(FaultKind.WithholdTxCompletions, (long)(faultStart * 1e9), 12_000_000_000, Queue: 1)],
        });

        string line = r.Lines().First(l => l.Contains("NETDEV WATCHDOG", StringComparison.Ordinal));
        int ms = int.Parse(TimedOutMs().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        ms.Should().BeGreaterThan(5000).And.BeLessThanOrEqualTo(10000);
    }

    [Fact]
    public void Missing_tx_completions_are_detected_no_sooner_than_5_s()
    {
        SimulationResult r = SimulationHarness.Run("missing-tx-completions");

        double delay = r.SecondsAfterStart(r.SingleReset().DetectedNs) - 5.0;
        delay.Should().BeGreaterThan(5.0).And.BeLessThan(5.0 + 2.0 + 0.05);
    }

    [Fact]
    public void A_hint_from_the_device_moves_the_missing_tx_timeout()
    {
        SimulationResult r = SimulationHarness.Run("missing-tx-completions", change: s => s with
        {
            TxPps = 100, // the ring never fills, so the netdev watchdog stays out of it
            RxPps = 100,
            Faults =
            [
                new FaultSpec(FaultKind.UpdateHints, 1_000_000_000, null) { Hints = (0, 9000, 0, 0) },
                new FaultSpec(FaultKind.WithholdTxCompletions, 5_000_000_000, 15_000_000_000, Queue: 3),
            ],
        });

        double delay = r.SecondsAfterStart(r.SingleReset().DetectedNs) - 5.0;
        delay.Should().BeGreaterThan(9.0 + 1.28).And.BeLessThan(9.0 + 1.28 + 2.0 + 0.05);
        r.Lines().Should().ContainMatch("* completion timeout: 9000 (msec), *");
    }

    [Fact]
    public void A_poll_starved_queue_gets_the_2x_grace_before_the_driver_resets()
    {
        SimulationResult r = SimulationHarness.Run("poll-starvation");

        double delay = r.SecondsAfterStart(r.SingleReset().DetectedNs) - 5.0;
        delay.Should().BeGreaterThan(10.0).And.BeLessThan(10.0 + 2.0 + 0.05);
    }

    [Fact]
    public void With_32_queues_the_round_robin_scan_adds_up_to_8_s()
    {
        double[] delays = Enumerable.Range(0, 8).Select(i => DetectionDelay(queues: 32, queue: i * 4)).ToArray();

        // > 128 overdue packets at 100 packets/s takes 1.28 s past the 5 s timeout; then the scan must come round.
        delays.Should().OnlyContain(d => d > 5.0 + 1.28 && d <= 5.0 + 1.28 + 8.0 + 0.05);
        (delays.Max() - delays.Min()).Should().BeGreaterThan(5.5, "each queue is examined once every 8 ticks");
    }

    [Fact]
    public void With_4_queues_every_queue_is_examined_every_tick()
    {
        double[] delays = Enumerable.Range(0, 4).Select(q => DetectionDelay(queues: 4, queue: q)).ToArray();

        (delays.Max() - delays.Min()).Should().BeLessThan(0.01);
    }

    private static double DetectionDelay(int queues, int queue)
    {
        SimulationResult r = SimulationHarness.Run("missing-tx-completions", change: s => s with
        {
            Queues = queues,
            Cpus = queues,
            FlowQueue = null,

            // Light traffic: the ring never fills, so the netdev watchdog (which at 10k pps wins the race on
            // queues the scan reaches late) stays out of it.
            TxPps = 100,
            RxPps = 100,
            Faults = [new FaultSpec(FaultKind.WithholdTxCompletions, 5_000_000_000, 15_000_000_000, Queue: queue)],
        });
        ResetEpisode e = r.Episodes.First();
        e.Queue.Should().Be(queue);
        return r.SecondsAfterStart(e.DetectedNs) - 5.0;
    }

    [GeneratedRegex(@"timeout, (\d+) msecs since last keep alive")]
    private static partial Regex MsecsSinceKeepAlive();

    [GeneratedRegex(@"timed out (\d+) ms")]
    private static partial Regex TimedOutMs();
}
