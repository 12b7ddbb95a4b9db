using System.Globalization;
using FluentAssertions;
using ResetScope.Diagnosis.Recording;
using ResetScope.Testing.HostTrees;
using Xunit;

namespace ResetScope.Diagnosis.Tests;

/// <summary>The flight recorder over generated host trees, in virtual time.</summary>
public sealed class CpuRecorderTests
{
    private static long At(TimeProvider time, double seconds) => (long)(seconds * time.TimestampFrequency);

    private static void Run(CpuRecorder recorder, FixtureClock clock, double seconds)
    {
        long end = At(clock.Time, seconds);
        recorder.Tick();
        while (clock.Time.GetTimestamp() < end)
        {
            clock.WaitUntil(Math.Min(recorder.DueAt, end));
            recorder.Tick();
        }
    }

    [Fact]
    public void Samples_between_thread_sweeps_allocate_nothing()
    {
        using HostTree tree = HostTree.Create(HostState.Healthy);
        var clock = new FixtureClock(_ => { });
        clock.Steps.Capacity = 1000; // the clock's own log must not count
        using var recorder = new CpuRecorder(tree.Proc, clock.Time, new CpuRecorderOptions { ThreadSweep = TimeSpan.FromHours(1), InterruptsEvery = TimeSpan.FromHours(1) });
        recorder.Tick();
        clock.WaitUntil(recorder.DueAt);
        recorder.Tick(); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            clock.WaitUntil(recorder.DueAt);
            recorder.Tick();
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
        recorder.Samples.Should().Be(102);
    }

    [Fact]
    public void A_precursor_trigger_samples_at_100_ms_for_the_fast_period_then_back_to_1_s()
    {
        using HostTree tree = HostTree.Create(HostState.Healthy);
        var clock = new FixtureClock(tree.WriteAt);
        using var recorder = new CpuRecorder(tree.Proc, clock.Time, new CpuRecorderOptions { FastFor = TimeSpan.FromSeconds(2) });
        Run(recorder, clock, 3);

        recorder.Trigger(5, "ena 0000:00:05.0 eth0: TX q 5 is paused for too long");
        Run(recorder, clock, 8);

        recorder.Triggers.Should().ContainSingle().Which.Should().Be(new RecorderTrigger(At(clock.Time, 3), 5, "ena 0000:00:05.0 eth0: TX q 5 is paused for too long"));
        clock.Steps.Select(s => s.TotalSeconds).Should().Equal(
            [1, 2, 3, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 3.9, 4, 4.1, 4.2, 4.3, 4.4, 4.5, 4.6, 4.7, 4.8, 4.9, 5, 6, 7, 8],
            (a, b) => Math.Abs(a - b) < 1e-9);
        recorder.Gaps.Should().BeEmpty();
    }

    [Fact]
    public void A_late_sample_is_a_gap_in_the_recorders_own_sampling()
    {
        using HostTree tree = HostTree.Create(HostState.Healthy);
        var clock = new FixtureClock(tree.WriteAt);
        using var recorder = new CpuRecorder(tree.Proc, clock.Time);
        Run(recorder, clock, 2);

        clock.WaitUntil(At(clock.Time, 5.5)); // the recorder itself was starved for 3.5 s
        recorder.Tick();

        recorder.Gaps.Should().ContainSingle().Which.Actual.Should().Be(TimeSpan.FromSeconds(3.5));
    }

    [Fact]
    public void The_ring_keeps_the_retention_and_windows_only_see_what_it_holds()
    {
        using HostTree tree = HostTree.Create(HostState.Healthy);
        var clock = new FixtureClock(tree.WriteAt);
        using var recorder = new CpuRecorder(tree.Proc, clock.Time, new CpuRecorderOptions { Retention = TimeSpan.FromSeconds(30), FastBursts = 0 });
        Run(recorder, clock, 100);

        recorder.Capacity.Should().Be(31);
        CpuWindow all = recorder.Window(0, 0, At(clock.Time, 100));
        all.Seconds.Should().Be(30);
        all.Source.Should().Be(string.Create(CultureInfo.InvariantCulture, $"flight recorder: 31 samples of {tree.Proc} over 30 s"));
    }

    [Fact]
    public void The_consumer_is_charged_for_the_starved_intervals_and_named_with_its_hottest_kernel_function()
    {
        using HostTree tree = HostTree.Create(HostState.Pinterest);
        var clock = new FixtureClock(tree.WriteAt);
        using var recorder = new CpuRecorder(tree.Proc, clock.Time);
        Run(recorder, clock, 5);

        CpuWindow w = recorder.Window(HostTree.NapiCpu, 0, At(clock.Time, 5));
        ThreadActivity kubelet = w.Threads.Should().ContainSingle().Subject;
        kubelet.Comm.Should().Be("kubelet");
        kubelet.SysMs.Should().Be(5000);
        kubelet.Blame.Should().BeApproximately(5000 * 950, 1e-6, "each second's 1000 ms of CPU × the 950 ms ksoftirqd/39 waited in it");
        kubelet.KernelFunctions.Should().ContainSingle().Which.Function.Should().Be("mem_cgroup_nr_lru_pages");
        kubelet.KernelFunctions[0].Samples.Should().BeGreaterThan(10, "stacks are sampled at 100 ms while the CPU is starved");
        recorder.QueueCpus[5].Should().Be(HostTree.NapiCpu);
    }
}
