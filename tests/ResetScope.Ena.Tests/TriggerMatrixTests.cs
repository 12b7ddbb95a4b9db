using ResetScope.Core;
using ResetScope.Ena.Driver;
using ResetScope.Ena.Simulation;

namespace ResetScope.Ena.Tests;

/// <summary>
/// Every trigger under each generation the issue names (2.4.x, 2.11.x, 2.17.x): the reason the driver picks,
/// the outcome, the generation's completion line, and the counter that records it.
/// </summary>
public class TriggerMatrixTests
{
    public static TheoryData<string, string, string?, ResetOutcome, string?> Cases() => new()
    {
        // scenario, version, ena_reason (null: no reset), outcome, counter that must read 1 (null: none)
        { "keepalive-loss", "2.4.0g", "KEEP_ALIVE_TO", ResetOutcome.Completed, "wd_expired" },
        { "keepalive-loss", "2.11.0g", "KEEP_ALIVE_TO", ResetOutcome.Completed, "wd_expired" },
        { "keepalive-loss", "2.17.0g", "KEEP_ALIVE_TO", ResetOutcome.Completed, "wd_expired" },
        { "lost-mgmt-interrupt", "2.4.0g", "KEEP_ALIVE_TO", ResetOutcome.Completed, "wd_expired" },
        { "lost-mgmt-interrupt", "2.11.0g", "KEEP_ALIVE_TO", ResetOutcome.Completed, "wd_expired" },
        { "lost-mgmt-interrupt", "2.17.0g", "MISSING_ADMIN_INTERRUPT", ResetOutcome.Completed, "missing_admin_interrupt" },
        { "admin-timeout", "2.4.0g", "ADMIN_TO", ResetOutcome.Completed, "admin_q_pause" },
        { "admin-timeout", "2.11.0g", "ADMIN_TO", ResetOutcome.Completed, "admin_to" },
        { "admin-timeout", "2.17.0g", "ADMIN_TO", ResetOutcome.Completed, "admin_to" },
        { "unresponsive-device", "2.4.0g", "KEEP_ALIVE_TO", ResetOutcome.Failed, "wd_expired" }, // no FW-responsive check before 2.6.0
        { "unresponsive-device", "2.11.0g", "KEEP_ALIVE_TO", ResetOutcome.Completed, null },
        { "unresponsive-device", "2.17.0g", "KEEP_ALIVE_TO", ResetOutcome.Completed, "wd_expired" },
        { "missing-tx-completions", "2.4.0g", "MISS_TX_CMPL", ResetOutcome.Completed, null },
        { "missing-tx-completions", "2.11.0g", "MISS_TX_CMPL", ResetOutcome.Completed, "missing_tx_cmpl" },
        { "missing-tx-completions", "2.17.0g", "MISS_TX_CMPL", ResetOutcome.Completed, "missing_tx_cmpl" },
        { "poll-starvation", "2.4.0g", "MISS_TX_CMPL", ResetOutcome.Completed, null }, // no starvation heuristic before 2.7.2
        { "poll-starvation", "2.11.0g", "SUSPECTED_POLL_STARVATION", ResetOutcome.Completed, "suspected_poll_starvation" },
        { "poll-starvation", "2.17.0g", "SUSPECTED_POLL_STARVATION", ResetOutcome.Completed, "suspected_poll_starvation" },
        { "netdev-watchdog", "2.4.0g", "OS_NETDEV_WD", ResetOutcome.Completed, "tx_timeout" },
        { "netdev-watchdog", "2.11.0g", "OS_NETDEV_WD", ResetOutcome.Completed, "os_netdev_wd" },
        { "netdev-watchdog", "2.17.0g", "OS_NETDEV_WD", ResetOutcome.Completed, "os_netdev_wd" },
        { "device-request", "2.4.0g", null, ResetOutcome.Unknown, null }, // the group is not requested before 2.12.0
        { "device-request", "2.11.0g", null, ResetOutcome.Unknown, null },
        { "device-request", "2.17.0g", "DEVICE_REQUEST", ResetOutcome.Completed, "device_request_reset" },
        { "bad-req-id", "2.4.0g", "INV_TX_REQ_ID", ResetOutcome.Completed, null }, // queue_0_tx_bad_req_id is zeroed by the restore before 2.16
        { "bad-req-id", "2.11.0g", "INV_TX_REQ_ID", ResetOutcome.Completed, "bad_tx_req_id" },
        { "bad-req-id", "2.17.0g", "INV_TX_REQ_ID", ResetOutcome.Completed, "bad_tx_req_id" },
        { "restore-failure", "2.4.0g", "KEEP_ALIVE_TO", ResetOutcome.Failed, "wd_expired" },
        { "restore-failure", "2.11.0g", "KEEP_ALIVE_TO", ResetOutcome.Failed, "reset_fail" },
        { "restore-failure", "2.17.0g", "KEEP_ALIVE_TO", ResetOutcome.Failed, "reset_fail" },
        { "pinterest-2025", "2.4.0g", "OS_NETDEV_WD", ResetOutcome.Completed, "tx_timeout" }, // "Transmit time out"
        { "pinterest-2025", "2.11.0g", "SUSPECTED_POLL_STARVATION", ResetOutcome.Completed, "suspected_poll_starvation" },
        { "pinterest-2025", "2.17.0g", "SUSPECTED_POLL_STARVATION", ResetOutcome.Completed, "suspected_poll_starvation" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Trigger_under_generation(string scenario, string version, string? enaReason, ResetOutcome outcome, string? counter)
    {
        SimulationResult r = SimulationHarness.Run(scenario, version);

        if (enaReason is null)
        {
            r.Episodes.Should().BeEmpty();
            r.Records.Should().BeEmpty();
            return;
        }

        ResetEpisode e = r.SingleReset();
        e.Reason.ToName().Should().Be(enaReason);
        e.Outcome.Should().Be(outcome);
        if (counter is not null)
        {
            r.Counter(counter).Should().Be(1);
        }

        string pci = r.Scenario.Pci;
        string completion = r.Lines().Single(l => l.StartsWith($"ena {pci}: Device reset completed", StringComparison.Ordinal));
        string expected = version switch
        {
            "2.17.0g" => $"ena {pci}: Device reset completed, status: {(outcome == ResetOutcome.Completed ? "0" : "-")}",
            _ => $"ena {pci}: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA) v{version}",
        };
        completion.Should().StartWith(expected);
    }
}
