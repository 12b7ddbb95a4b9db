using ResetScope.Host;

namespace ResetScope.Host.Tests;

/// <summary>HostFacts on this machine's real /proc: structural facts only (values differ per machine).</summary>
public class HostFactsTests
{
    [Fact]
    public void Reads_the_running_kernel_and_its_cpus()
    {
        if (!File.Exists("/proc/sys/kernel/osrelease"))
        {
            return; // not Linux: nothing to read
        }

        HostFacts f = HostFacts.Read();

        f.KernelRelease.Should().Be(File.ReadAllText("/proc/sys/kernel/osrelease").Trim());
        f.Cpus.Should().BeGreaterThan(0);
        f.Interfaces.Should().Contain(i => i.Name == "lo");
    }
}
