using System.Globalization;
using System.Text;

namespace ResetScope.Agent.Tests.Metrics;

/// <summary>
/// A deliberately strict reader of the text exposition format 0.0.4, independent of the serializer: lines end in
/// '\n' only; every family is announced by # HELP then # TYPE before its samples; a sample's name is exactly the
/// family's; label values allow only the escapes \\, \" and \n; no label set repeats; the bytes are valid UTF-8.
/// Anything else throws <see cref="FormatException"/> naming the line.
/// </summary>
internal static class StrictExpositionParser
{
    public sealed record Sample(string Name, IReadOnlyList<KeyValuePair<string, string>> Labels, double Value)
    {
        public string Label(string name) => Labels.Single(l => l.Key == name).Value;
    }

    public sealed record Family(string Name, string Help, string Type, List<Sample> Samples);

    public static List<Family> Parse(byte[] utf8)
    {
        string text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(utf8);
        return Parse(text);
    }

    public static List<Family> Parse(string text)
    {
        var families = new List<Family>();
        if (text.Length == 0)
        {
            return families;
        }

        if (!text.EndsWith('\n'))
        {
            throw new FormatException("output does not end in a newline");
        }

        string[] lines = text[..^1].Split('\n');
        Family? current = null;
        string? pendingHelpName = null;
        string? pendingHelp = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n];
            string where = $"line {n + 1} \"{line}\"";
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                string rest = line["# HELP ".Length..];
                int space = rest.IndexOf(' ', StringComparison.Ordinal);
                pendingHelpName = space < 0 ? throw new FormatException($"{where}: HELP without text") : rest[..space];
                CheckMetricName(pendingHelpName, where);
                pendingHelp = UnescapeHelp(rest[(space + 1)..], where);
                if (families.Any(f => f.Name == pendingHelpName))
                {
                    throw new FormatException($"{where}: family announced twice");
                }
            }
            else if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line["# TYPE ".Length..].Split(' ');
                if (parts.Length != 2 || parts[0] != pendingHelpName || parts[1] is not ("counter" or "gauge"))
                {
                    throw new FormatException($"{where}: TYPE must follow its HELP and be counter or gauge");
                }

                current = new Family(parts[0], pendingHelp!, parts[1], []);
                families.Add(current);
                pendingHelpName = null;
            }
            else if (line.StartsWith('#') || line.Length == 0)
            {
                throw new FormatException($"{where}: unexpected comment or empty line");
            }
            else
            {
                if (current is null || pendingHelpName is not null)
                {
                    throw new FormatException($"{where}: sample outside a family");
                }

                Sample sample = ParseSample(line, where);
                if (sample.Name != current.Name)
                {
                    throw new FormatException($"{where}: sample name {sample.Name} is not the family's {current.Name}");
                }

                string identity = sample.Name + "\0" + string.Join("\0", sample.Labels.Select(l => l.Key + "\0" + l.Value));
                if (!seen.Add(identity))
                {
                    throw new FormatException($"{where}: duplicate series");
                }

                current.Samples.Add(sample);
            }
        }

        return families;
    }

    private static Sample ParseSample(string line, string where)
    {
        int i = 0;
        while (i < line.Length && line[i] is not ('{' or ' '))
        {
            i++;
        }

        string name = line[..i];
        CheckMetricName(name, where);
        var labels = new List<KeyValuePair<string, string>>();
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                int eq = line.IndexOf('=', i);
                if (eq < 0)
                {
                    throw new FormatException($"{where}: label without '='");
                }

                string labelName = line[i..eq];
                if (labelName.Length == 0 || !labelName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(labelName[0]))
                {
                    throw new FormatException($"{where}: bad label name \"{labelName}\"");
                }

                if (labels.Any(l => l.Key == labelName))
                {
                    throw new FormatException($"{where}: label {labelName} repeated");
                }

                i = eq + 1;
                if (i >= line.Length || line[i] != '"')
                {
                    throw new FormatException($"{where}: label value not quoted");
                }

                i++;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new FormatException($"{where}: unterminated label value");
                    }

                    char c = line[i++];
                    if (c == '"')
                    {
                        break;
                    }

                    if (c == '\\')
                    {
                        char e = i < line.Length ? line[i++] : throw new FormatException($"{where}: dangling backslash");
                        value.Append(e switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"{where}: invalid escape \\{e}"),
                        });
                    }
                    else
                    {
                        value.Append(c);
                    }
                }

                labels.Add(new(labelName, value.ToString()));
                if (i < line.Length && line[i] == ',')
                {
                    i++;
                    continue;
                }

                if (i < line.Length && line[i] == '}')
                {
                    i++;
                    break;
                }

                throw new FormatException($"{where}: expected ',' or '}}' after a label");
            }
        }

        if (i >= line.Length || line[i] != ' ')
        {
            throw new FormatException($"{where}: no space before the value");
        }

        string valueText = line[(i + 1)..];
        double v = valueText switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ when valueText.Length > 0 && valueText.All(c => char.IsAsciiDigit(c) || c is '.' or '-' or '+' or 'E' or 'e')
                && double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) => parsed,
            _ => throw new FormatException($"{where}: bad value \"{valueText}\" (a timestamp or trailing text is not expected here)"),
        };
        return new Sample(name, labels, v);
    }

    private static string UnescapeHelp(string text, string where)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                sb.Append(text[i]);
                continue;
            }

            if (++i >= text.Length)
            {
                throw new FormatException($"{where}: dangling backslash in HELP");
            }

            sb.Append(text[i] switch
            {
                '\\' => '\\',
                'n' => '\n',
                _ => throw new FormatException($"{where}: invalid HELP escape \\{text[i]}"),
            });
        }

        return sb.ToString();
    }

    private static void CheckMetricName(string name, string where)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
        {
            throw new FormatException($"{where}: bad metric name \"{name}\"");
        }
    }
}
