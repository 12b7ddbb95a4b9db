using System.Text.Json;
using Microsoft.Data.Sqlite;
using ResetScope.Agent.Metrics;
using ResetScope.Agent.Service;
using ResetScope.Agent.Store;
using ResetScope.Core;
using ResetScope.Testing.HostTrees;

namespace ResetScope.Agent.Tests.Service;

/// <summary>The agent in virtual time on generated host trees: what it stores, what it counts, what it refuses.</summary>
public sealed class AgentServiceTests
{
    private const string PinterestSummary = "ena eth0 queue 5: netdev-watchdog (SUSPECTED_POLL_STARVATION), completed";

    private static JsonElement Bundle(AgentHarness agent, long id) => JsonDocument.Parse(agent.Store.Get(id)!.BundleJson).RootElement;

    [Fact]
    public void A_reset_in_the_kernel_log_is_one_incident_explained_by_the_recorder_window_before_it()
    {
        using var agent = new AgentHarness(HostState.Pinterest);
        agent.RunUntil(20);
        agent.Kmsg.AddRange(AgentHarness.Scenario("pinterest-2025").Select(r => r.ToKmsgLine()));
        agent.RunUntil(21);

        CommittedIncident incident = agent.Service.Committed.Should().ContainSingle().Subject;
        incident.Kind.Should().Be(IncidentKind.Reset);
        incident.Summary.Should().Be(PinterestSummary);
        JsonElement bundle = Bundle(agent, incident.Id);
        bundle.GetProperty("event").GetProperty("ena_reason").GetString().Should().Be("SUSPECTED_POLL_STARVATION");
        JsonElement first = bundle.GetProperty("findings")[0];
        first.GetProperty("finding").GetString().Should().Be("cpu-starvation");
        first.GetProperty("subject").GetString().Should().Be("kubelet");
        bundle.GetProperty("findings")[1].GetProperty("subject").GetString().Should().Be("ecs.service");
        JsonElement before = bundle.GetProperty("window_before");
        before.GetProperty("series").EnumerateArray().Select(s => s.GetProperty("cpu").GetInt32()).Should().Contain(HostTree.NapiCpu);
        before.GetProperty("cpus")[HostTree.NapiCpu].GetProperty("sys_pct").GetDouble().Should().Be(100);
        bundle.GetProperty("window_after").ValueKind.Should().Be(JsonValueKind.Null, "the window after is still being recorded");
        agent.Exposition.Should().Contain("resetscope_resets_total{driver=\"ena\",dev=\"eth0\",reason=\"netdev-watchdog\",ena_reason=\"SUSPECTED_POLL_STARVATION\",outcome=\"completed\"} 1\n");
        agent.Exposition.Should().Contain("resetscope_incidents_total{kind=\"reset\"} 1\n");
    }

    [Fact]
    public void The_incident_is_completed_with_the_window_after_it_once_that_has_passed()
    {
        using var agent = new AgentHarness(HostState.Pinterest);
        agent.RunUntil(5);
        agent.Kmsg.AddRange(AgentHarness.Scenario("pinterest-2025").Select(r => r.ToKmsgLine()));
        agent.RunUntil(16);

        JsonElement after = Bundle(agent, agent.Service.Committed.Single().Id).GetProperty("window_after");
        after.ValueKind.Should().Be(JsonValueKind.Object);
        after.GetProperty("cpus")[HostTree.NapiCpu].GetProperty("seconds").GetDouble().Should().Be(10);
    }

    [Fact]
    public void Latency_is_from_the_record_that_completes_the_reset_to_the_commit_on_the_monotonic_clock()
    {
        using var agent = new AgentHarness(HostState.Healthy);
        agent.RunUntil(2);
        List<KernelRecord> records = AgentHarness.Scenario("keepalive-loss");
        agent.MonotonicUs = records[^1].TimestampUs + 30_000;
        agent.Kmsg.AddRange(records.Select(r => r.ToKmsgLine()));
        agent.RunUntil(3);

        agent.Service.Committed.Should().ContainSingle().Which.LatencyUs.Should().Be(30_000, "the reset's last record (its completion) came 30 ms before the commit");
    }

    [Fact]
    public async Task With_an_OTLP_endpoint_the_incident_and_the_reset_counter_are_exported_too()
    {
        await using var receiver = await ResetScope.Agent.Tests.Metrics.OtlpReceiver.StartAsync();
        using var agent = new AgentHarness(HostState.Healthy, otlp: registry => new OtlpExport(registry, new OtlpOptions { Endpoint = receiver.BaseUri }));
        agent.RunUntil(1);
        agent.Kmsg.AddRange(AgentHarness.Scenario("keepalive-loss").Select(r => r.ToKmsgLine()));
        agent.RunUntil(2);

        agent.Otlp!.ForceFlush(TimeSpan.FromSeconds(30)).Should().BeTrue();

        (await receiver.WaitForAsync("/v1/logs", TimeSpan.FromSeconds(30))).Should().NotBeNull("the incident is exported as a log record");
        (await receiver.WaitForAsync("/v1/metrics", TimeSpan.FromSeconds(30))).Should().NotBeNull();
        byte[] logs = receiver.Requests.Where(r => r.Path == "/v1/logs").SelectMany(r => r.Body).ToArray();
        byte[] metrics = receiver.Requests.Where(r => r.Path == "/v1/metrics").SelectMany(r => r.Body).ToArray();
        Contains(logs, "ena eth0: keep-alive-timeout (KEEP_ALIVE_TO), completed").Should().BeTrue("the incident goes out as a log record");
        Contains(metrics, "resetscope_resets").Should().BeTrue();
        Contains(metrics, "KEEP_ALIVE_TO").Should().BeTrue();
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;

    [Fact]
    public void Records_written_from_user_space_are_counted_and_never_trusted()
    {
        using var agent = new AgentHarness(HostState.Healthy);
        // Facility 1 (LOG_USER): what anyone who can write /dev/kmsg produces.
        agent.Kmsg.AddRange(AgentHarness.Scenario("keepalive-loss").Select(r => $"{8 + (int)r.Level},{r.Sequence},{r.TimestampUs},-;{r.Text}"));
        agent.RunUntil(5);

        agent.Service.Committed.Should().BeEmpty();
        agent.Exposition.Should().Contain("resetscope_kmsg_records_total{origin=\"kernel\"} 0\n").And.NotContain("resetscope_resets_total{");
    }

    [Fact]
    public void A_test_tag_lets_injected_records_through_and_marks_the_incident()
    {
        using var agent = new AgentHarness(HostState.Healthy, trustedTag: "resetscope-test: ");
        agent.Kmsg.AddRange(AgentHarness.Scenario("keepalive-loss").Select(r => $"12,{r.Sequence},{r.TimestampUs},-;resetscope-test: {r.Text}"));
        agent.RunUntil(3);

        CommittedIncident incident = agent.Service.Committed.Should().ContainSingle().Subject;
        incident.Summary.Should().StartWith("[injected] ena eth0: keep-alive-timeout");
        Bundle(agent, incident.Id).GetProperty("injected").GetBoolean().Should().BeTrue();
        Bundle(agent, incident.Id).GetProperty("findings")[0].GetProperty("finding").GetString().Should().Be("device-fault");
    }

    [Fact]
    public void Records_overwritten_before_they_were_read_are_counted_as_lost()
    {
        using var agent = new AgentHarness(HostState.Healthy);
        agent.Kmsg.Add("6,1,1000,-;first");
        agent.Kmsg.Add("6,2,2000,-;second");
        agent.Kmsg.AddOverwritten();
        agent.Kmsg.Add("6,9,9000,-;ninth");
        agent.RunUntil(1);

        agent.Exposition.Should().Contain("resetscope_kmsg_lost_records_total 6\n").And.Contain("resetscope_kmsg_records_total{origin=\"kernel\"} 3\n");
    }

    [Fact]
    public void A_reset_whose_closing_line_never_comes_is_committed_after_the_settle_time()
    {
        using var agent = new AgentHarness(HostState.Healthy);
        agent.RunUntil(1);
        agent.Kmsg.Add("3,100,5000000,-;ena 0000:00:05.0 eth0: Keep alive watchdog timeout.");
        agent.Kmsg.Add("6,101,5000010,-;ena 0000:00:05.0 eth0: Trigger reset is on");
        agent.RunUntil(2.5);
        agent.Service.Committed.Should().BeEmpty("the reset is still going on");

        agent.RunUntil(3.5);
        CommittedIncident incident = agent.Service.Committed.Should().ContainSingle().Subject;
        incident.Summary.Should().Be("ena eth0: keep-alive-timeout (KEEP_ALIVE_TO), unknown");

        // The completion arrives late: the incident, completed with the window after it, says so.
        agent.Kmsg.Add("6,102,9000000,-;ena 0000:00:05.0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v2.11.0g");
        agent.RunUntil(15);
        agent.Store.Get(incident.Id)!.Summary.Should().Be("ena eth0: keep-alive-timeout (KEEP_ALIVE_TO), completed");
        JsonDocument.Parse(agent.Store.Get(incident.Id)!.BundleJson).RootElement.GetProperty("event").GetProperty("outcome").GetString().Should().Be("completed");
    }

    [Fact]
    public void A_restart_resumes_after_the_committed_cursor_without_losing_or_repeating_a_reset()
    {
        string directory = Path.Combine(Path.GetTempPath(), "resetscope-agent-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Two resets, the second one only half written when the first agent stops without a flush (kill -9).
            List<string> log = AgentHarness.Scenario("keepalive-loss").Select(r => r.ToKmsgLine()).ToList();
            List<string> second = AgentHarness.Scenario("admin-timeout").Select((r, i) => (r with { Sequence = 10_000 + i, TimestampUs = r.TimestampUs + 100_000_000 }).ToKmsgLine()).ToList();
            using (var first = new AgentHarness(HostState.Healthy, directory))
            {
                first.Kmsg.AddRange(log);
                first.Kmsg.AddRange(second.Take(1));
                first.RunUntil(1);
                first.Service.Committed.Should().ContainSingle();
            }

            // /dev/kmsg opened again replays everything the kernel still holds, from the start.
            using var restarted = new AgentHarness(HostState.Healthy, directory);
            restarted.Kmsg.AddRange(log);
            restarted.Kmsg.AddRange(second);
            restarted.RunUntil(5);

            restarted.Service.Committed.Should().ContainSingle().Which.Summary.Should().StartWith("ena eth0: unresponsive-device");
            restarted.Store.List().Select(i => i.Summary).Should().HaveCount(2).And.OnlyHaveUniqueItems();
            restarted.Service.Flush();
            restarted.Store.LoadCursor()!.Sequence.Should().Be((ulong)(10_000 + second.Count - 1), "every record has been handled");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_two_and_a_half_second_wait_on_the_NAPI_CPU_is_a_near_miss()
    {
        using var agent = new AgentHarness(HostState.NearMiss);
        agent.RunUntil(8);

        CommittedIncident incident = agent.Service.Committed.Should().ContainSingle().Subject;
        incident.Kind.Should().Be(IncidentKind.NearMiss);
        incident.Summary.Should().Be("near miss: CPU 39's softirq work waited 2.5 s (a reset needs 5 s)");
        JsonElement finding = Bundle(agent, incident.Id).GetProperty("findings")[0];
        finding.GetProperty("finding").GetString().Should().Be("near-miss");
        finding.GetProperty("subject").GetString().Should().Be("kubelet");
        agent.Exposition.Should().Contain("resetscope_near_misses_total{cpu=\"39\"} 1\n");
    }
}
