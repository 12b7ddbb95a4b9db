using System.Buffers;
using System.Globalization;
using System.Text;

namespace ResetScope.Agent.Metrics;

/// <summary>
/// Writes a registry in the Prometheus text exposition format 0.0.4, straight to UTF-8 bytes (modelled on
/// OpenTelemetry .NET's Prometheus serializer). Per family: <c># HELP</c> (backslash and newline escaped),
/// <c># TYPE</c>, then one line per series, sorted by label values. Label sets are escaped once, when a series is
/// created (<see cref="RenderLabels"/>), so a scrape copies bytes and formats numbers; it allocates no strings.
/// </summary>
public static class PrometheusTextSerializer
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Every integer up to 2^53 is exact in a double, so up to there a whole value prints as plain digits.
    private const double MaxExactInteger = 9007199254740992.0;

    private static readonly SearchValues<char> s_labelEscapes = SearchValues.Create("\\\"\n");
    private static readonly SearchValues<char> s_helpEscapes = SearchValues.Create("\\\n");

    public static void Write(IBufferWriter<byte> writer, MetricsRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(registry);
        foreach (MetricFamily family in registry.Families)
        {
            WriteFamily(writer, family);
        }
    }

    public static async Task WriteAsync(Stream stream, MetricsRegistry registry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        Write(buffer, registry);
        await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The whole exposition as a string (tests, diagnostics; the server writes bytes).</summary>
    public static string WriteToString(MetricsRegistry registry)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        Write(buffer, registry);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    internal static void WriteFamily(IBufferWriter<byte> writer, MetricFamily family)
    {
        WriteAscii(writer, "# HELP ");
        WriteAscii(writer, family.Name);
        WriteAscii(writer, " ");
        WriteEscaped(writer, family.Help, s_helpEscapes);
        WriteAscii(writer, "\n# TYPE ");
        WriteAscii(writer, family.Name);
        WriteAscii(writer, family.Type == MetricType.Counter ? " counter\n" : " gauge\n");

        MetricSeries[] series = family.RentSnapshot(out int count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                WriteAscii(writer, family.Name);
                WriteBytes(writer, series[i].LabelText);
                WriteAscii(writer, " ");
                WriteValue(writer, series[i].Value);
                WriteAscii(writer, "\n");
            }
        }
        finally
        {
            MetricFamily.ReturnSnapshot(series, count);
        }
    }

    /// <summary><c>{name="value",...}</c> in declared order, values escaped; empty for a family without labels.</summary>
    internal static byte[] RenderLabels(ReadOnlySpan<string> names, ReadOnlySpan<string> values)
    {
        if (names.IsEmpty)
        {
            return [];
        }

        var buffer = new ArrayBufferWriter<byte>(64);
        WriteAscii(buffer, "{");
        for (int i = 0; i < names.Length; i++)
        {
            if (i > 0)
            {
                WriteAscii(buffer, ",");
            }

            WriteAscii(buffer, names[i]);
            WriteAscii(buffer, "=\"");
            WriteLabelValue(buffer, values[i]);
            WriteAscii(buffer, "\"");
        }

        WriteAscii(buffer, "}");
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A label value with backslash, double quote and newline escaped; invalid UTF-16 becomes U+FFFD.</summary>
    internal static void WriteLabelValue(IBufferWriter<byte> writer, string value) => WriteEscaped(writer, value, s_labelEscapes);

    /// <summary>
    /// A sample value: <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>; whole numbers up to 2^53 as plain digits (no exponent);
    /// anything else as the shortest text that parses back to the same double (invariant culture).
    /// </summary>
    internal static void WriteValue(IBufferWriter<byte> writer, double value)
    {
        Span<byte> span = writer.GetSpan(32);
        int written;
        if (double.IsNaN(value))
        {
            written = Copy("NaN"u8, span);
        }
        else if (double.IsPositiveInfinity(value))
        {
            written = Copy("+Inf"u8, span);
        }
        else if (double.IsNegativeInfinity(value))
        {
            written = Copy("-Inf"u8, span);
        }
        else if (Math.Abs(value) <= MaxExactInteger && value == Math.Floor(value))
        {
            // (long)-0.0 is 0: negative zero prints as 0.
            ((long)value).TryFormat(span, out written, default, CultureInfo.InvariantCulture);
        }
        else
        {
            value.TryFormat(span, out written, "R", CultureInfo.InvariantCulture);
        }

        writer.Advance(written);
    }

    // Not BuffersExtensions.Write: it asks for a span without a size hint, and a writer may answer that with an empty
    // one (Kestrel's chunked response writer did). Asking for the exact size is always honoured.
    private static void WriteBytes(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        text.CopyTo(destination);
        return text.Length;
    }

    private static void WriteEscaped(IBufferWriter<byte> writer, string text, SearchValues<char> escapes)
    {
        ReadOnlySpan<char> rest = text;
        while (!rest.IsEmpty)
        {
            int i = rest.IndexOfAny(escapes);
            // Escapes are ASCII, so a segment never splits a surrogate pair; a lone surrogate encodes as U+FFFD.
            WriteUtf8(writer, i < 0 ? rest : rest[..i]);
            if (i < 0)
            {
                return;
            }

            WriteAscii(writer, rest[i] switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                _ => "\\n",
            });
            rest = rest[(i + 1)..];
        }
    }

    private static void WriteUtf8(IBufferWriter<byte> writer, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        Span<byte> span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        writer.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    // Names and syntax are ASCII by construction (the registry validates names).
    private static void WriteAscii(IBufferWriter<byte> writer, string text)
    {
        Span<byte> span = writer.GetSpan(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        writer.Advance(text.Length);
    }
}
