using System.IO.Compression;
using System.Text;
using ResetScope.KernelLog;

namespace ResetScope.KernelLog.Tests;

/// <summary>Runs the real scanner over text or bytes held in memory.</summary>
internal static class Scan
{
    public static FileScanResult Text(string text, LogFormat format = LogFormat.Auto, string name = "kern.log") =>
        Bytes(Encoding.UTF8.GetBytes(text), format, name);

    public static FileScanResult Lines(params string[] lines) => Text(string.Join("\n", lines) + "\n");

    public static FileScanResult Bytes(byte[] bytes, LogFormat format = LogFormat.Auto, string name = "kern.log")
    {
        using var ms = new MemoryStream(bytes, writable: false);
        return new LogScanner(format, referenceYear: 2026).ScanStream(ms, name, host: null);
    }

    public static byte[] Gzip(string text)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            byte[] b = Encoding.UTF8.GetBytes(text);
            gz.Write(b, 0, b.Length);
        }

        return ms.ToArray();
    }
}
