using System.Buffers;
using System.Text;
using ResetScope.Agent.Metrics;
using ResetScope.Testing;

namespace ResetScope.Agent.Tests.Metrics;

public sealed class PrometheusTextSerializerTests
{
    [Fact]
    public void A_small_registry_is_written_exactly()
    {
        var registry = new MetricsRegistry();
        CounterFamily requests = registry.AddCounter("demo_requests_total", "Requests handled.\nSecond line with a \\ backslash.", "code", "path");
        requests.WithLabels("200", "/b").Add(3);
        requests.WithLabels("200", "/a").Inc();
        requests.WithLabels("500", "/a \"quoted\"\nnext\\").Inc();
        GaugeFamily temperature = registry.AddGauge("demo_temperature_celsius", "A gauge with awkward values.", "sensor");
        temperature.WithLabels("fractional").Set(0.1);
        temperature.WithLabels("negative").Set(-2.5);
        temperature.WithLabels("big").Set(1e21);
        temperature.WithLabels("tiny").Set(1.5e-7);
        temperature.WithLabels("whole").Set(9007199254740992);
        temperature.WithLabels("inf").Set(double.PositiveInfinity);
        temperature.WithLabels("-inf").Set(double.NegativeInfinity);
        temperature.WithLabels("nan").Set(double.NaN);
        temperature.WithLabels("negzero").Set(-0.0);
        registry.AddGauge("demo_up", "No labels.").WithLabels().Set(1);
        registry.AddCounter("demo_empty_total", "A family with no series yet.", "x");

        GoldenFile.AssertMatches(PrometheusTextSerializer.WriteToString(registry), "small-registry.prom");
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("a\\b", "a\\\\b")]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("\\n", "\\\\n")]
    [InlineData("\"} evil_metric 1", "\\\"} evil_metric 1")]
    [InlineData("<b onload=\"x()\">&amp;</b>", "<b onload=\\\"x()\\\">&amp;</b>")]
    [InlineData("tab\there", "tab\there")]
    [InlineData("null\0byte", "null\uFFFDbyte")]
    [InlineData("cr\r\nlf", "cr\uFFFD\\nlf")]
    [InlineData("c1\u0085del\u007F", "c1\uFFFDdel\uFFFD")]
    [InlineData("pair \uD83D\uDE00 ok", "pair \uD83D\uDE00 ok")]
    [InlineData("", "")]
    public void Label_values_are_escaped_and_sanitized(string value, string expected)
    {
        var registry = new MetricsRegistry();
        registry.AddCounter("t_total", "t", "v").WithLabels(value).Inc();

        string text = PrometheusTextSerializer.WriteToString(registry);

        text.Split('\n')[2].Should().Be("t_total{v=\"" + expected + "\"} 1");
    }

    // Not theory data: xunit passes theory arguments through UTF-8, which would already replace lone surrogates.
    [Fact]
    public void Lone_surrogates_become_replacement_characters()
    {
        (string Value, string Expected)[] cases =
        [
            ("lone \uD800 high", "lone \uFFFD high"),
            ("lone \uDC00 low", "lone \uFFFD low"),
            ("reversed \uDE00\uD83D", "reversed \uFFFD\uFFFD"),
            ("\uD83D", "\uFFFD"),
            ("\uD83D\uD83D\uDE00", "\uFFFD\uD83D\uDE00"),
        ];
        foreach ((string value, string expected) in cases)
        {
            var registry = new MetricsRegistry();
            registry.AddCounter("t_total", "t", "v").WithLabels(value).Inc();

            PrometheusTextSerializer.WriteToString(registry).Split('\n')[2].Should().Be("t_total{v=\"" + expected + "\"} 1");
        }
    }

    [Fact]
    public void A_null_label_value_is_the_empty_value_and_the_same_series()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "t", "a", "b");
        f.WithLabels(null, "x").Inc();
        f.WithLabels("", "x").Inc();

        f.GetSeries().Should().ContainSingle().Which.Value.Should().Be(2);
        PrometheusTextSerializer.WriteToString(registry).Should().Contain("t_total{a=\"\",b=\"x\"} 2\n");
    }

    [Fact]
    public void Values_that_sanitize_to_the_same_text_are_one_series()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "t", "v");
        f.WithLabels("a\0").Inc();
        f.WithLabels("a\u0001").Inc();
        f.WithLabels("a\uD800").Inc();
        f.WithLabels("a\uFFFD").Inc();

        f.GetSeries().Should().ContainSingle().Which.Value.Should().Be(4);
    }

    [Fact]
    public void Long_label_values_are_cut_without_splitting_a_surrogate_pair()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "t", "v");
        string longValue = new string('x', 255) + "\uD83D\uDE00" + new string('y', 1_000_000);

        f.WithLabels(longValue).Inc();
        f.WithLabels(longValue + "different tail").Inc();

        MetricSeries s = f.GetSeries().Should().ContainSingle().Subject;
        s.LabelValues[0].Should().Be(new string('x', 255));
        s.Value.Should().Be(2);
    }

    [Fact]
    public void Output_is_valid_UTF8_for_any_label_value()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "t", "v");
        f.WithLabels("\uD800\uD800\uDFFF\uDFFF é 😀 \u2028").Inc();

        var buffer = new ArrayBufferWriter<byte>();
        PrometheusTextSerializer.Write(buffer, registry);

        FluentActions.Invoking(() => new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.WrittenSpan)).Should().NotThrow();
        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Contain("t_total{v=\"\uFFFD\uD800\uDFFF\uFFFD é 😀 \u2028\"} 1\n");
    }

    [Fact]
    public async Task The_stream_form_writes_the_same_bytes()
    {
        var registry = new MetricsRegistry();
        registry.AddCounter("t_total", "t", "v").WithLabels("x").Add(2.5);
        using var stream = new MemoryStream();

        await PrometheusTextSerializer.WriteAsync(stream, registry);

        Encoding.UTF8.GetString(stream.ToArray()).Should().Be(PrometheusTextSerializer.WriteToString(registry));
    }

    [Fact]
    public void A_scrape_allocates_no_strings_per_series()
    {
        var registry = new MetricsRegistry();
        CounterFamily f = registry.AddCounter("t_total", "t", "cpu", "thread");
        for (int i = 0; i < 2000; i++)
        {
            f.WithLabels(i.ToString(System.Globalization.CultureInfo.InvariantCulture), "ksoftirqd/" + i).Add(i * 0.25);
        }

        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        PrometheusTextSerializer.Write(buffer, registry); // warm up (pool rentals, JIT)
        buffer.ResetWrittenCount();

        long before = GC.GetAllocatedBytesForCurrentThread();
        PrometheusTextSerializer.Write(buffer, registry);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The family list and sort bookkeeping are a few hundred bytes; 2000 series of strings would be ~100 KB.
        allocated.Should().BeLessThan(2_000);
    }
}
