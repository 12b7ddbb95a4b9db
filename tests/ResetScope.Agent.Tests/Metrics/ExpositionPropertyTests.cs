using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using ResetScope.Agent.Metrics;

namespace ResetScope.Agent.Tests.Metrics;

/// <summary>
/// Hostile label values (FsCheck): whatever a log line holds, the exposition keeps its shape: the strict parser
/// reads exactly the declared families, one line per distinct label set, no other metric name, and every value
/// back as stored.
/// </summary>
public sealed class ExpositionPropertyTests
{
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly string[] s_hostile =
    [
        "\"", "\\", "\n", "\r", "\r\n", "\0", "\t", "}", "{", "=", ",", " ", "#", "\"} evil_metric 1", "\"} 1\nevil_metric{a=\"b",
        "\n# TYPE evil counter\nevil 1\n", "<script>alert(\"x\")</script>", "&lt;b&gt;", "\\\"", "\\n", "\uD800", "\uDBFF", "\uDC00",
        "\uD83D\uDE00", "é", "\u2028", "\u0085", "\u007F", "\uFEFF", "\uFFFF", "ena", "eth0", "SUSPECTED_POLL_STARVATION",
    ];

    private static readonly Gen<string> s_value =
        from pieces in Gen.ArrayOf(Gen.OneOf(
            Gen.Elements(s_hostile),
            ArbMap.Default.GeneratorFor<char>().Select(c => c.ToString()),
            ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty)))
        select string.Concat(pieces);

    private static readonly Gen<(string? A, string B)[]> s_series =
        Gen.ArrayOf(
            from a in Gen.OneOf(s_value.Select(v => (string?)v), Gen.Constant((string?)null))
            from b in s_value
            select (a, b));

    [Fact]
    public void Arbitrary_label_values_never_break_the_exposition()
    {
        Check.One(s_config, Prop.ForAll(s_series.ToArbitrary(), series =>
        {
            var registry = new MetricsRegistry();
            CounterFamily counter = registry.AddCounter("rs_resets_total", "h", "dev", "reason");
            GaugeFamily gauge = registry.AddGauge("rs_zombies", "h", "hierarchy");
            var expected = new Dictionary<(string, string), double>();
            foreach ((string? a, string b) in series)
            {
                counter.WithLabels(a, b).Inc();
                gauge.WithLabels(b).Set(b.Length);
                (string, string) key = (Model(a), Model(b));
                expected[key] = expected.GetValueOrDefault(key) + 1;
            }

            var buffer = new ArrayBufferWriter<byte>();
            PrometheusTextSerializer.Write(buffer, registry);
            byte[] bytes = buffer.WrittenSpan.ToArray();
            List<StrictExpositionParser.Family> families = StrictExpositionParser.Parse(bytes);

            families.Select(f => f.Name).Should().Equal("rs_resets_total", "rs_zombies", MetricsRegistry.SeriesDroppedName);
            int lines = bytes.Count(b => b == (byte)'\n');
            int distinctGauges = series.Select(s => Model(s.B)).Distinct().Count();
            lines.Should().Be((3 * 2) + expected.Count + distinctGauges, "one line per series and two per family, nothing else");
            bytes.Should().NotContain((byte)'\r').And.NotContain((byte)0);

            StrictExpositionParser.Family resets = families[0];
            resets.Samples.Should().HaveCount(expected.Count);
            foreach (StrictExpositionParser.Sample s in resets.Samples)
            {
                s.Labels.Select(l => l.Key).Should().Equal("dev", "reason");
                expected[(s.Label("dev"), s.Label("reason"))].Should().Be(s.Value);
            }

            families[1].Samples.Select(s => s.Label("hierarchy")).Should().BeEquivalentTo(series.Select(s => Model(s.B)).Distinct());
            return true;
        }));
    }

    /// <summary>
    /// The stored form, written independently of the implementation: null is empty; lone surrogates and control
    /// characters except tab and newline become U+FFFD; at most 256 UTF-16 units, never half a pair.
    /// </summary>
    private static string Model(string? value)
    {
        var sb = new System.Text.StringBuilder();
        string v = value ?? string.Empty;
        for (int i = 0; i < v.Length; i++)
        {
            string piece;
            char c = v[i];
            if (char.IsHighSurrogate(c) && i + 1 < v.Length && char.IsLowSurrogate(v[i + 1]))
            {
                piece = v.Substring(i++, 2);
            }
            else if (char.IsSurrogate(c) || (c < ' ' && c != '\t' && c != '\n') || (c >= '\u007F' && c <= '\u009F'))
            {
                piece = "\uFFFD";
            }
            else
            {
                piece = c.ToString();
            }

            if (sb.Length + piece.Length > 256)
            {
                break;
            }

            sb.Append(piece);
        }

        return sb.ToString();
    }
}
