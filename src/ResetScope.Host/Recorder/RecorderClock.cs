namespace ResetScope.Host.Recorder;

/// <summary>
/// The recorder's time and its way of waiting for the next sample. Real time sleeps; tests move a manual clock
/// (and can change fixture files at each step), so nothing in a test sleeps.
/// </summary>
public interface IRecorderClock
{
    TimeProvider Time { get; }

    /// <summary>Returns once <see cref="Time"/> has reached <paramref name="timestamp"/>, or when cancelled.</summary>
    void WaitUntil(long timestamp, CancellationToken cancellationToken = default);
}

/// <summary>Wall-clock waiting on <see cref="TimeProvider.System"/>.</summary>
public sealed class SystemRecorderClock : IRecorderClock
{
    public static SystemRecorderClock Instance { get; } = new();

    private SystemRecorderClock()
    {
    }

    public TimeProvider Time => TimeProvider.System;

    public void WaitUntil(long timestamp, CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            long now = TimeProvider.System.GetTimestamp();
            if (timestamp <= now)
            {
                return;
            }

            TimeSpan left = TimeProvider.System.GetElapsedTime(now, timestamp);

            cancellationToken.WaitHandle.WaitOne(left);
        }
    }
}
