using System.Text.Json;
using ResetScope.Testing.Live;

namespace ResetScope.Cli.Tests;

/// <summary>Live, on this machine (root, cgroup-v1 memory): doctor counts dying memcgs made with the spec's recipe exactly.</summary>
[Collection(LiveCollection.Name)]
public class DoctorLiveMemcgTests
{
    private const int N = 40;

    private static long Zombies()
    {
        (int exit, string output, string error) = TestConsole.Run("doctor", "--json", "--sample", "0", "--kmsg", "/nonexistent");
        exit.Should().Be(0, error);
        using JsonDocument host = JsonDocument.Parse(output.Split('\n')[0]);
        return host.RootElement.GetProperty("memcg_zombies").GetInt64();
    }

    [Fact]
    public void Doctor_reports_exactly_the_dying_memcgs_that_were_made()
    {
        if (DyingMemcgs.Unavailable() is not null)
        {
            return; // needs root and a cgroup-v1 memory hierarchy (CI has both); the reason is DyingMemcgs.Unavailable()
        }

        using var memcgs = new DyingMemcgs();
        long before = Zombies();
        memcgs.Create(N);
        memcgs.ChargeAndRemove();

        Zombies().Should().Be(before + N);
    }
}
