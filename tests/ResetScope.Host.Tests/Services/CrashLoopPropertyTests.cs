using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using ResetScope.Host.Services;

namespace ResetScope.Host.Tests.Services;

/// <summary>Restart-line parsing over generated loops (FsCheck): counters and rates come back exactly, in every timestamp shape.</summary>
public sealed class CrashLoopPropertyTests
{
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(200);

    private static readonly Gen<(int Start, int[] Steps, int[] GapsS, int Shape)> s_loops =
        from start in Gen.Choose(1, 9000)
        from n in Gen.Choose(1, 40)
        from steps in Gen.ArrayOf(Gen.Choose(1, 3), n)
        from gaps in Gen.ArrayOf(Gen.Choose(1, 600), n)
        from shape in Gen.Choose(0, 2)
        select (start, steps, gaps, shape);

    [Fact]
    public void Increasing_counters_give_back_max_restarts_and_rate()
    {
        Check.One(s_config, Prop.ForAll(s_loops.ToArbitrary(), loop =>
        {
            var t = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
            int counter = loop.Start;
            var lines = new List<string> { Line(t, counter, loop.Shape), "noise: Scheduled restart job, restart counter is at x." };
            for (int i = 0; i < loop.Steps.Length; i++)
            {
                t = t.AddSeconds(loop.GapsS[i]);
                counter += loop.Steps[i];
                lines.Add(Line(t, counter, loop.Shape));
                lines.Add(t.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) + " h kubelet[9]: unrelated");
            }

            UnitRestartLoop u = CrashLoopProbe.ParseRestartLines(lines, 2025).Single();
            long restarts = loop.Steps.Sum();
            double hours = loop.GapsS.Sum() / 3600.0;
            return u.Unit == "ecs.service"
                && u.MaxCounter == counter
                && u.Lines == loop.Steps.Length + 1
                && u.Restarts == restarts
                && u.CounterResets == 0
                && u.Last == t
                && Math.Abs(u.RestartsPerHour!.Value - (restarts / hours)) < 1e-6;
        }));
    }

    private static string Line(DateTimeOffset t, int counter, int shape)
    {
        string stamp = shape switch
        {
            0 => t.ToString("yyyy-MM-dd'T'HH:mm:ss'+0000'", CultureInfo.InvariantCulture),
            1 => t.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + ".000000",
            _ => t.ToString("MMM d HH:mm:ss", CultureInfo.InvariantCulture).PadRight(15),
        };
        return $"{stamp} ip-10-0-1-5 systemd[1]: ecs.service: Scheduled restart job, restart counter is at {counter.ToString(CultureInfo.InvariantCulture)}.";
    }
}
