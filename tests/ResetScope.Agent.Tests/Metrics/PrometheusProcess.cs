using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace ResetScope.Agent.Tests.Metrics;

/// <summary>
/// A real Prometheus (Debian's binary) scraping one target every second, run from a temp directory (config and
/// TSDB) on a free loopback port. Started by this test and stopped by its own pid; the directory is removed.
/// Prometheus scrapes through a relay that signals each finished scrape, so a test waits for Prometheus's next
/// scrape instead of sleeping between queries.
/// </summary>
internal sealed class PrometheusProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _dir;
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http;
    private readonly ScrapeRelay _relay;

    private PrometheusProcess(Process process, DirectoryInfo dir, int port, ScrapeRelay relay)
    {
        _process = process;
        _dir = dir;
        _relay = relay;
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        // Short per request: the poll loop owns the overall bound.
        _http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(2) };
    }

    public Uri BaseUri { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static PrometheusProcess Start(string binary, IPEndPoint target)
    {
        DirectoryInfo dir = Directory.CreateTempSubdirectory("resetscope-prometheus-");
        var relay = new ScrapeRelay(target);
        try
        {
            string config = Path.Combine(dir.FullName, "prometheus.yml");
            File.WriteAllText(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: resetscope
                    static_configs:
                      - targets: ['{relay.EndPoint.Address}:{relay.EndPoint.Port}']
                """);
            int port = FreeLoopbackPort();
            var psi = new ProcessStartInfo(binary)
            {
                ArgumentList =
                {
                    "--config.file=" + config,
                    "--storage.tsdb.path=" + Path.Combine(dir.FullName, "data"),
                    "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                    "--log.level=warn",
                },
                WorkingDirectory = dir.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            Process process = Process.Start(psi) ?? throw new InvalidOperationException($"{binary} did not start");
            var prometheus = new PrometheusProcess(process, dir, port, relay);
            process.OutputDataReceived += (_, e) => prometheus.Append(e.Data);
            process.ErrorDataReceived += (_, e) => prometheus.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return prometheus;
        }
        catch
        {
            relay.Dispose();
            dir.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Runs an instant query until <paramref name="accept"/> takes its result vector, or <paramref name="within"/>
    /// passes (clock-checked). Null on timeout. Between tries it waits for Prometheus's next scrape.
    /// </summary>
    public async Task<JsonElement?> QueryUntilAsync(string promql, Func<JsonElement, bool> accept, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        string path = "api/v1/query?query=" + Uri.EscapeDataString(promql);
        while (clock.Elapsed < within)
        {
            Task nextScrape = _relay.NextScrape;
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with {_process.ExitCode}: {Log}");
            }

            try
            {
                using HttpResponseMessage response = await _http.GetAsync(path);
                if (response.IsSuccessStatusCode)
                {
                    using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    JsonElement result = doc.RootElement.GetProperty("data").GetProperty("result");
                    if (accept(result))
                    {
                        return result.Clone();
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or slow on a busy machine: try again until the bound.
            }

            TimeSpan left = within - clock.Elapsed;
            if (left > TimeSpan.Zero)
            {
                await nextScrape.WaitAsync(left).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        return null;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(await _http.GetStringAsync(path));
        return doc.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        _relay.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(bound.Token);
            }
        }
        finally
        {
            _process.Dispose();
            _dir.Delete(recursive: true);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>
    /// Forwards each scrape to the target with "Connection: close" and signals when its response has been passed on
    /// in full: the event a test waits for instead of a timer.
    /// </summary>
    private sealed class ScrapeRelay : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly IPEndPoint _target;
        private readonly CancellationTokenSource _stop = new();
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ScrapeRelay(IPEndPoint target)
        {
            _target = target;
            _listener.Start();
            _ = Task.Run(AcceptAsync);
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        /// <summary>Completes when the next scrape has been answered.</summary>
        public Task NextScrape => Volatile.Read(ref _next).Task;

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = Task.Run(() => RelayAsync(client));
            }
        }

        private async Task RelayAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    NetworkStream down = client.GetStream();
                    byte[] buffer = new byte[8192];
                    int used = 0;
                    int end;
                    while ((end = buffer.AsSpan(0, used).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        int n = await down.ReadAsync(buffer.AsMemory(used), _stop.Token);
                        if (n == 0 || used + n == buffer.Length)
                        {
                            return;
                        }

                        used += n;
                    }

                    // One request per connection: the target closes after answering, which marks the end of the scrape.
                    string head = Encoding.ASCII.GetString(buffer, 0, end);
                    string request = string.Join("\r\n", head.Split("\r\n").Where(l => !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase))) + "\r\nConnection: close\r\n\r\n";
                    using var up = new TcpClient();
                    await up.ConnectAsync(_target, _stop.Token);
                    NetworkStream upstream = up.GetStream();
                    await upstream.WriteAsync(Encoding.ASCII.GetBytes(request), _stop.Token);
                    await upstream.CopyToAsync(down, _stop.Token);
                    await down.FlushAsync(_stop.Token);
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
            }

            Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }
}
