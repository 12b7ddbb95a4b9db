using System.Globalization;
using ResetScope.Agent.Store;

namespace ResetScope.Agent.CrashWriter;

/// <summary>
/// <c>CrashWriter STORE [MAX]</c>: adds <see cref="CrashIncidents"/> in a loop, resuming after the stored kmsg cursor,
/// and prints "ID N" for each incident once its transaction has committed. The store test kills it with SIGKILL.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length is < 1 or > 2)
        {
            Console.Error.WriteLine("usage: CrashWriter STORE [MAX]");
            return 2;
        }

        // Bounded, so a test that fails to kill it does not leave it writing forever.
        ulong max = args.Length == 2 ? ulong.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        using IncidentStore store = IncidentStore.Open(args[0]);
        ulong next = store.LoadCursor() is { } cursor ? cursor.Sequence + 1 : 0;
        TextWriter stdout = Console.Out;
        for (ulong n = next; n < max; n++)
        {
            long id = store.Add(CrashIncidents.Make(n), new KmsgCursor(CrashIncidents.BootId, n));
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id} {n}"));
            stdout.Flush();
            if (n % 16 == 15)
            {
                // Deletes nothing, but vacuums and truncates the WAL, so some kills land in a checkpoint.
                store.ApplyRetention(TimeSpan.MaxValue, long.MaxValue, TimeProvider.System);
            }
        }

        return 0;
    }
}
