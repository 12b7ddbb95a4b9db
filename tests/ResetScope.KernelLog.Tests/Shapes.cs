using System.Text.Json;

namespace ResetScope.KernelLog.Tests;

/// <summary>Every collector shape the scanner reads, as a function from one kernel message to the text a file would hold.</summary>
public static class Shapes
{
    public const string Host = "ip-10-0-1-5";

    public static readonly IReadOnlyDictionary<string, Func<string, string>> All = new Dictionary<string, Func<string, string>>
    {
        ["dmesg"] = m => $"[ 1234.567890] {m}\n",
        ["dmesg-no-timestamp"] = m => $"{m}\n",
        ["dmesg-caller-id"] = m => $"[ 1234.567890] [  T123] {m}\n",
        ["dmesg-T"] = m => $"[Tue Jul 14 10:10:22 2026] {m}\n",
        ["dmesg-H"] = m => $"[Jul14 10:10] random: crng init done\n[  +0.005106] {m}\n",
        ["dmesg-x"] = m => $"kern  :err   : [ 1234.567890] {m}\n",
        ["syslog"] = m => $"Jul 14 10:10:22 {Host} kernel: {m}\n",
        ["syslog-kernel-ts"] = m => $"Jul 14 10:10:22 {Host} kernel: [ 1234.567890] {m}\n",
        ["rfc3339"] = m => $"2026-07-14T10:10:22.123456+00:00 {Host} kernel: {m}\n",
        ["journal-short"] = m => $"Jul 14 10:10:22 {Host} kernel: {m}\n",
        ["journal-short-iso"] = m => $"2026-07-14T10:10:22+0000 {Host} kernel: {m}\n",
        ["journal-short-precise"] = m => $"Jul 14 10:10:22.123456 {Host} kernel: {m}\n",
        ["journal-short-monotonic"] = m => $"[ 1234.567890] {Host} kernel: {m}\n",
        ["journal-json"] = m => "{\"__REALTIME_TIMESTAMP\":\"1784023822123456\",\"_HOSTNAME\":\"" + Host + "\",\"PRIORITY\":\"3\",\"_TRANSPORT\":\"kernel\",\"MESSAGE\":" + JsonSerializer.Serialize(m) + "}\n",
        ["journal-export"] = m => $"__CURSOR=s=abc;i=1\n__REALTIME_TIMESTAMP=1784023822123456\n__MONOTONIC_TIMESTAMP=1234567890\n_HOSTNAME={Host}\n_TRANSPORT=kernel\nMESSAGE={m}\nPRIORITY=3\n\n",
        ["kmsg"] = m => $"3,1042,1234567890,-;{m}\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:05.0\n",
        ["netconsole-extended"] = m => $"6.1.0-13-amd64,3,1042,1234567890,-;{m}\n",
        ["netconsole-via-syslog"] = m => $"Jul 14 10:10:22 {Host} [ 1234.567890] {m}\n",
        ["syslog-wire-pri"] = m => $"<3>Jul 14 10:10:22 {Host} kernel: {m}\n",
        ["rfc5424"] = m => $"<3>1 2026-07-14T10:10:22.123456Z {Host} kernel - - - {m}\n",
        ["printk-level"] = m => $"<3>[ 1234.567890] {m}\n",
        ["printk-level-bare"] = m => $"<3>{m}\n",
        ["serial-interleaved"] = m => $"\u001b[0;32m  OK  \u001b[0m] Started Session 3.\r\nUbuntu 22.04 LTS ip-10-0-1-5 ttyS0[ 1234.567890] {m}\r\n",
        ["crlf"] = m => $"[ 1234.567890] {m}\r\n",
        ["mail-quoted"] = m => $"> [ 1234.567890] {m}\n",
    };

    /// <summary>Shapes whose lines carry the host name.</summary>
    public static readonly HashSet<string> WithHost =
    [
        "syslog", "syslog-kernel-ts", "netconsole-via-syslog", "syslog-wire-pri", "rfc5424", "rfc3339", "journal-short", "journal-short-iso", "journal-short-precise", "journal-short-monotonic", "journal-json", "journal-export",
    ];
}
