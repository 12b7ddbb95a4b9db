using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace ResetScope.Agent.Metrics;

/// <summary>
/// Where /metrics listens: <c>host:port</c> with an IP literal or <c>localhost</c> (taken as 127.0.0.1),
/// <c>[v6]:port</c>, or <c>:port</c> for every interface (as Prometheus' own --web.listen-address reads it).
/// Port 0 asks the system for a free port (tests).
/// </summary>
public readonly record struct MetricsEndpoint(IPAddress? Address, int Port)
{
    public const int DefaultPort = 9465;

    public static MetricsEndpoint Default { get; } = new(IPAddress.Loopback, DefaultPort);

    /// <summary>Null when the endpoint is every interface (<c>:port</c>).</summary>
    public IPAddress? Address { get; } = Address;

    public int Port { get; } = Port is >= 0 and <= 65535 ? Port : throw new ArgumentOutOfRangeException(nameof(Port));

    public static MetricsEndpoint Parse(string text) =>
        TryParse(text, out MetricsEndpoint endpoint, out string? error) ? endpoint : throw new FormatException(error);

    public static bool TryParse(string? text, out MetricsEndpoint endpoint, [NotNullWhen(false)] out string? error)
    {
        endpoint = default;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            error = "metrics listen address is empty; expected host:port, [v6]:port or :port";
            return false;
        }

        int colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            error = $"metrics listen address \"{text}\" has no port; expected host:port, [v6]:port or :port";
            return false;
        }

        string host = text[..colon];
        string portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            error = $"metrics listen address \"{text}\": \"{portText}\" is not a port (0-65535)";
            return false;
        }

        IPAddress? address;
        if (host.Length == 0)
        {
            address = null;
        }
        else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            // One address, not both loopbacks, so port 0 and the reported port stay one endpoint.
            address = IPAddress.Loopback;
        }
        else if (host.StartsWith('[') && host.EndsWith(']') && IPAddress.TryParse(host[1..^1], out IPAddress? v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            address = v6;
        }
        else if (!host.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(host, out IPAddress? v4) && v4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && host.Count(c => c == '.') == 3)
        {
            address = v4;
        }
        else
        {
            error = $"metrics listen address \"{text}\": \"{host}\" is not an IP address or localhost (IPv6 goes in brackets: [::1]:{port})";
            return false;
        }

        endpoint = new MetricsEndpoint(address, port);
        error = null;
        return true;
    }

    public override string ToString() => Address switch
    {
        null => $":{Port}",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } a => $"[{a}]:{Port}",
        { } a => $"{a}:{Port}",
    };
}
