using ResetScope.Host.Recorder;

namespace ResetScope.Testing.HostTrees;

/// <summary>
/// A recorder clock that moves a <see cref="ManualTimeProvider"/> instead of sleeping and, at each step, lets the test
/// rewrite its fixture tree for the new time — sampling in virtual time, as fast as the files can be written.
/// </summary>
public sealed class FixtureClock(Action<TimeSpan> atTime) : IRecorderClock
{
    private readonly ManualTimeProvider _time = new();

    public TimeProvider Time => _time;

    /// <summary>Every time the clock was moved to, from its start.</summary>
    public List<TimeSpan> Steps { get; } = [];

    public void WaitUntil(long timestamp, CancellationToken cancellationToken = default)
    {
        long now = _time.GetTimestamp();
        if (timestamp > now)
        {
            _time.Advance(_time.GetElapsedTime(now, timestamp));
        }

        TimeSpan at = TimeSpan.FromTicks(_time.GetTimestamp());
        Steps.Add(at);
        atTime(at);
    }
}
