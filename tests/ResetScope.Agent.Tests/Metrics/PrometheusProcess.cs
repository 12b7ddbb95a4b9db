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
/// </summary>
internal sealed class PrometheusProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _dir;
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http;

    private PrometheusProcess(Process process, DirectoryInfo dir, int port)
    {
        _process = process;
        _dir = dir;
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
                      - targets: ['{target.Address}:{target.Port}']
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
            var prometheus = new PrometheusProcess(process, dir, port);
            process.OutputDataReceived += (_, e) => prometheus.Append(e.Data);
            process.ErrorDataReceived += (_, e) => prometheus.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return prometheus;
        }
        catch
        {
            dir.Delete(recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Runs an instant query until <paramref name="accept"/> takes its result vector, or <paramref name="within"/>
    /// passes (clock-checked). Null on timeout. Polls an external process, so it waits between tries.
    /// </summary>
    public async Task<JsonElement?> QueryUntilAsync(string promql, Func<JsonElement, bool> accept, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        string path = "api/v1/query?query=" + Uri.EscapeDataString(promql);
        while (clock.Elapsed < within)
        {
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

            await Task.Delay(200);
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
}
