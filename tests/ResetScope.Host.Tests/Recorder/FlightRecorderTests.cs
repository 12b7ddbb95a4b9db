using ResetScope.Host.Recorder;
using ResetScope.Testing;

namespace ResetScope.Host.Tests.Recorder;

public class FlightRecorderTests
{
    private readonly ManualTimeProvider _time = new();

    private FlightRecorder<int> Recorder(int capacity = 16) =>
        new(capacity, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), _time);

    private void SampleEvery(FlightRecorder<int> r, TimeSpan step, int count, ref int value)
    {
        for (int i = 0; i < count; i++)
        {
            r.Next() = value++;
            _time.Advance(step);
        }
    }

    [Fact]
    public void Samples_every_second_until_a_trigger_then_every_100_ms_for_a_while()
    {
        FlightRecorder<int> r = Recorder();
        r.Interval.Should().Be(TimeSpan.FromSeconds(1));

        r.Trigger();
        r.Interval.Should().Be(TimeSpan.FromMilliseconds(100));
        _time.Advance(TimeSpan.FromSeconds(2));
        r.Interval.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void The_ring_keeps_the_newest_samples_in_order()
    {
        FlightRecorder<int> r = Recorder(capacity: 4);
        int v = 0;
        SampleEvery(r, TimeSpan.FromSeconds(1), 6, ref v);

        var samples = new int[8];
        var stamps = new long[8];
        int n = r.CopyWindow(long.MinValue, long.MaxValue, samples, stamps);

        samples[..n].Should().Equal(2, 3, 4, 5);
        stamps[..n].Should().BeInAscendingOrder();
        r.Retained.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void A_late_sample_is_recorded_as_a_gap()
    {
        FlightRecorder<int> r = Recorder();
        int v = 0;
        SampleEvery(r, TimeSpan.FromSeconds(1), 3, ref v);
        _time.Advance(TimeSpan.FromSeconds(4)); // the sampler itself was starved

        r.Next() = v;

        r.Gaps.Should().ContainSingle().Which.Should().Be(new RecorderGap(
            20_000_000, 70_000_000, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void On_time_samples_at_either_cadence_leave_no_gap()
    {
        FlightRecorder<int> r = Recorder(capacity: 64);
        int v = 0;
        SampleEvery(r, TimeSpan.FromSeconds(1), 3, ref v);
        r.Trigger();
        SampleEvery(r, TimeSpan.FromMilliseconds(100), 20, ref v);
        SampleEvery(r, TimeSpan.FromSeconds(1), 3, ref v);

        r.Gaps.Should().BeEmpty();
    }

    [Fact]
    public void Sized_for_fifteen_minutes_it_keeps_fifteen_minutes_of_1_s_samples_and_the_bursts()
    {
        var r = FlightRecorder<int>.ForRetention(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(60), fastBursts: 2, _time);

        r.Capacity.Should().Be(900 + 2 * 600);
    }

    [Fact]
    public void Filling_a_slot_does_not_allocate()
    {
        FlightRecorder<int> r = Recorder(capacity: 1024);
        r.Next() = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            r.Next() = i;
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
    }
}
