using FsCheck;
using FsCheck.Fluent;
using ResetScope.Ena.Device;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

/// <summary>Invariants of the model over generated scenarios (FsCheck).</summary>
public class PropertyTests
{
    private static readonly string[] s_versions = ["2.4.0g", "2.11.0g", "2.13.0g", "2.17.0g"];

    private static Scenario Base(string version, ulong seed) => new()
    {
        Name = "property",
        Seed = seed,
        DurationNs = 20_000_000_000,
        DriverVersion = version,
        Cpus = 8,
        Queues = 8,
        TxPps = 2000,
        RxPps = 2000,
    };

    // A stall shorter than every threshold: under 5 s of no NAPI (watchdog and missing-Tx), or plain contention.
    private static Gen<CpuEventSpec> ShortStall(int cpu) =>
        from kind in Gen.Elements(CpuHogKind.NonPreemptible, CpuHogKind.RtTask, CpuHogKind.Contention)
        from startMs in Gen.Choose(500, 12_000)
        from durationMs in kind == CpuHogKind.Contention ? Gen.Choose(100, 15_000) : Gen.Choose(100, 4_500)
        from sharePct in Gen.Choose(20, 100)
        select new CpuEventSpec(cpu, kind, startMs * 1_000_000L, durationMs * 1_000_000L, sharePct / 100.0, RtThrottling: false);

    private static readonly Gen<Scenario> s_shortStalls =
        from version in Gen.Elements(s_versions)
        from seed in Gen.Choose(1, 1_000_000)
        from cpus in Gen.Shuffle(Enumerable.Range(0, 8).ToArray())
        from count in Gen.Choose(1, 3)
        from stalls in Gen.CollectToArray(cpus.Take(count), ShortStall)
        select Base(version, (ulong)seed) with { CpuEvents = stalls.ToArray() };

    private static readonly Gen<FaultSpec> s_fault =
        from kind in Gen.Elements(FaultKind.WithholdTxCompletions, FaultKind.DelayTxCompletions, FaultKind.LoseQueueInterrupts,
            FaultKind.CorruptTxReqId, FaultKind.CorruptRxReqId, FaultKind.CorruptTxDescriptor, FaultKind.StopKeepAlive,
            FaultKind.LoseManagementInterrupt, FaultKind.RequestReset)
        from queue in Gen.Choose(0, 7)
        from startMs in Gen.Choose(0, 15_000)
        from durationMs in Gen.Choose(100, 12_000)
        from delayMs in Gen.Choose(1, 8_000)
        select new FaultSpec(kind, startMs * 1_000_000L, durationMs * 1_000_000L, queue, delayMs * 1_000_000L);

    private static readonly Gen<Scenario> s_anything =
        from version in Gen.Elements(s_versions)
        from seed in Gen.Choose(1, 1_000_000)
        from pps in Gen.Elements(50, 2000, 20_000)
        from faults in Gen.ListOf(s_fault).Select(l => l.Take(3).ToArray())
        from stalls in Gen.CollectToArray(Enumerable.Range(0, 2), c => ShortStall(c * 3))
        from longStall in Gen.Choose(0, 12_000)
        select Base(version, (ulong)seed) with
        {
            TxPps = pps,
            RxPps = pps,
            Faults = faults,
            CpuEvents = [.. stalls, new CpuEventSpec(5, CpuHogKind.NonPreemptible, 2_000_000_000, longStall * 1_000_000L + 1)],
        };

    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(25);

    [Fact]
    public void A_CPU_never_unavailable_longer_than_the_thresholds_allow_never_causes_a_reset()
    {
        Check.One(s_config, Prop.ForAll(s_shortStalls.ToArbitrary(), s =>
        {
            SimulationResult r = new Simulator(s).Run();
            return r.Episodes.Count == 0 && r.Records.Count == 0;
        }));
    }

    [Fact]
    public void Ring_invariants_hold_after_every_step()
    {
        Check.One(s_config, Prop.ForAll(s_anything.ToArbitrary(), s =>
        {
            string? broken = null;
            var sim = new Simulator(s) { AfterTick = x => broken ??= RingInvariant(x) };
            sim.Run();
            return broken is null ? true.Label("ok") : false.Label(broken);
        }));
    }

    [Fact]
    public void The_steady_tick_shortcut_never_changes_the_outcome()
    {
        Check.One(s_config, Prop.ForAll(s_anything.ToArbitrary(), s =>
        {
            SimulationResult fast = new Simulator(s) { SteadyTickShortcut = true }.Run();
            SimulationResult slow = new Simulator(s) { SteadyTickShortcut = false }.Run();
            return fast.Log() == slow.Log() && fast.Counters.SequenceEqual(slow.Counters)
                && fast.TxDropped == slow.TxDropped && fast.RxDropped == slow.RxDropped;
        }));
    }

    [Fact]
    public void Same_seed_gives_the_same_bytes()
    {
        Check.One(s_config.WithMaxTest(10), Prop.ForAll(s_anything.ToArbitrary(), s =>
            new Simulator(s).Run().Log() == new Simulator(s).Run().Log()));
    }

    private static string? RingInvariant(Simulator sim)
    {
        EnaAdapter a = sim.Adapter;
        for (int q = 0; q < a.TxRings.Count; q++)
        {
            TxRing tx = a.TxRings[q];
            RxRing rx = a.RxRings[q];
            IoQueuePair qp = sim.Device.Queues[q];
            int inFlight = tx.SentJiffies.Count(j => j != 0);
            if (inFlight != tx.InUse || tx.InUse < 0 || tx.InUse > tx.Size || tx.NextToUse - tx.NextToClean != (ulong)tx.InUse)
            {
                return $"queue {q}: Tx in use {tx.InUse}, stamped {inFlight}, indices {tx.NextToUse}-{tx.NextToClean}";
            }

            int posted = rx.Posted.Count(p => p);
            if ((ulong)posted != rx.NextToUse - rx.NextToClean || posted > rx.Size - 1)
            {
                return $"queue {q}: Rx posted {posted}, indices {rx.NextToUse}-{rx.NextToClean}";
            }

            if (qp.TxSqHead > qp.TxSqTail || qp.TxCqHead > qp.TxCqTail || qp.RxSqHead > qp.RxSqTail || qp.RxCqHead > qp.RxCqTail
                || qp.TxCqPending > qp.TxSize || qp.RxCqPending > qp.RxSize)
            {
                return $"queue {q}: ring indices out of order";
            }
        }

        return null;
    }
}
