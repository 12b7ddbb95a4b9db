using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using ResetScope.Agent.Store;

namespace ResetScope.Agent.Tests.Store;

/// <summary>Any text in an incident's fields and in its bundle's strings comes back unchanged, from Get and from the export.</summary>
public sealed class IncidentStorePropertyTests : IDisposable
{
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true);

    // What breaks naive storage and JSON: quotes, escapes, controls, NUL, line and paragraph separators, BOM,
    // noncharacters, lone surrogates of both halves, a surrogate pair, and JSON's own punctuation.
    private static readonly string[] s_awkward =
    [
        "\"", "\\", "\n", "\r", "\t", "\0", "\u0001", "\u001f", "\u007f", "\u2028", "\u2029", "\uFEFF", "\uFFFD", "\uFFFF",
        "é", "中", "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uD83D\uDE00", "<", "&", "'", "{", "}", "[", "]", ",", ":", "\\u0000",
    ];

    private static readonly Gen<string> s_text =
        Gen.ArrayOf(Gen.Frequency(
            (4, Gen.Elements(s_awkward)),
            (4, Gen.Choose(32, 126).Select(c => ((char)c).ToString())),
            (1, Gen.Choose(0, 0xFFFF).Select(c => ((char)c).ToString()))))
        .Select(parts => string.Concat(parts));

    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Any_text_round_trips_through_the_store_and_the_export()
    {
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        Gen<(string Summary, string Dev, string Value, string Name)> cases =
            from summary in s_text
            from dev in s_text
            from value in s_text
            from name in s_text
            select (summary, dev, value, name);

        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            // Strings are stored as UTF-8, which has no lone surrogates: those become U+FFFD, and nothing else changes.
            string value = ReplaceLoneSurrogates(c.Value);
            string name = "k:" + ReplaceLoneSurrogates(c.Name);
            long id = store.Add(new Incident
            {
                CreatedUtc = DateTimeOffset.UnixEpoch,
                Kind = IncidentKind.Reset,
                Dev = c.Dev,
                Summary = c.Summary,
                BundleJson = Bundle(name, value),
            });

            Incident stored = store.Get(id)!;
            using JsonDocument bundle = JsonDocument.Parse(stored.BundleJson);
            using var export = new MemoryStream();
            store.WriteExport(id, export);
            using JsonDocument exported = JsonDocument.Parse(export.ToArray());

            return stored.Summary == ReplaceLoneSurrogates(c.Summary)
                && stored.Dev == ReplaceLoneSurrogates(c.Dev)
                && bundle.RootElement.GetProperty("text").GetString() == value
                && bundle.RootElement.GetProperty("nested").GetProperty(name)[0].GetString() == value
                && exported.RootElement.GetProperty("incident").GetProperty("summary").GetString() == stored.Summary
                && exported.RootElement.GetProperty("incident").GetProperty("dev").GetString() == stored.Dev
                && exported.RootElement.GetProperty("bundle").GetRawText() == stored.BundleJson;
        }).Check(s_config);
    }

    [Fact]
    public void The_awkward_pieces_round_trip_each_on_its_own()
    {
        // The property above draws them at random; here each is stored once for sure, NUL included.
        using IncidentStore store = IncidentStore.Open(_temp.Path);
        foreach (string piece in s_awkward)
        {
            string text = "a" + piece + "b";
            long id = store.Add(new Incident
            {
                CreatedUtc = DateTimeOffset.UnixEpoch,
                Kind = IncidentKind.NearMiss,
                Summary = text,
                BundleJson = Bundle("text", ReplaceLoneSurrogates(text)),
            });

            Incident stored = store.Get(id)!;
            stored.Summary.Should().Be(ReplaceLoneSurrogates(text));
            JsonDocument.Parse(stored.BundleJson).RootElement.GetProperty("text").GetString().Should().Be(ReplaceLoneSurrogates(text));
        }
    }

    private static string Bundle(string name, string value)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("text", value);
            w.WriteStartObject("nested");
            w.WriteStartArray(name);
            w.WriteStringValue(value);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string ReplaceLoneSurrogates(string s)
    {
        var b = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                b.Append(s[i]).Append(s[i + 1]);
                i++;
            }
            else
            {
                b.Append(char.IsSurrogate(s[i]) ? '\uFFFD' : s[i]);
            }
        }

        return b.ToString();
    }
}
