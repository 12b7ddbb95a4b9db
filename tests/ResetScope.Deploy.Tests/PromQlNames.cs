using System.Text;

namespace ResetScope.Deploy.Tests;

/// <summary>
/// The names a PromQL expression refers to: metric names (with the label names matched on each) and the
/// label names in by/without/on/ignoring/group_left/group_right lists. Not a parser — syntax is promtool's
/// job — just enough lexing to check names against the metric contract.
/// </summary>
internal sealed class PromQlNames
{
    private static readonly HashSet<string> Keywords =
    [
        "and", "or", "unless", "offset", "bool", "inf", "nan",
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
    ];

    private static readonly HashSet<string> GroupingKeywords = ["by", "without", "on", "ignoring", "group_left", "group_right"];

    public List<(string Metric, List<string> Labels)> Selectors { get; } = [];

    public List<string> GroupingLabels { get; } = [];

    public static PromQlNames Scan(string expr)
    {
        var names = new PromQlNames();
        int i = 0;
        while (i < expr.Length)
        {
            char c = expr[i];
            if (c is '"' or '\'' or '`')
            {
                i = SkipString(expr, i);
            }
            else if (c == '[')
            {
                i = expr.IndexOf(']', i) + 1; // range or subquery duration, e.g. [15m] or [$__rate_interval]
            }
            else if (c == '{')
            {
                i = ReadMatchers(expr, i, out List<string> labels);
                names.Selectors.Add(("", labels));
            }
            else if (char.IsAsciiDigit(c) || c == '$')
            {
                i = SkipWord(expr, i + 1); // a number, a duration after offset, a Grafana variable
            }
            else if (char.IsAsciiLetter(c) || c is '_' or ':')
            {
                int end = SkipWord(expr, i);
                string word = expr[i..end];
                int next = SkipSpace(expr, end);
                if (GroupingKeywords.Contains(word))
                {
                    i = next < expr.Length && expr[next] == '(' ? ReadList(expr, next, names.GroupingLabels) : next;
                }
                else if (next < expr.Length && expr[next] == '(' || Keywords.Contains(word))
                {
                    i = end; // a function or an operator
                }
                else if (next < expr.Length && expr[next] == '{')
                {
                    i = ReadMatchers(expr, next, out List<string> labels);
                    names.Selectors.Add((word, labels));
                }
                else
                {
                    names.Selectors.Add((word, []));
                    i = end;
                }
            }
            else
            {
                i++;
            }
        }

        return names;
    }

    private static int SkipWord(string s, int i)
    {
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '_' or ':' or '.'))
        {
            i++;
        }

        return i;
    }

    private static int SkipSpace(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
        {
            i++;
        }

        return i;
    }

    private static int SkipString(string s, int i)
    {
        char quote = s[i++];
        while (i < s.Length && s[i] != quote)
        {
            i += s[i] == '\\' && quote != '`' ? 2 : 1;
        }

        return i + 1;
    }

    /// <summary>Reads <c>{label op "value", ...}</c> starting at the brace; returns the index after the closing brace.</summary>
    private static int ReadMatchers(string s, int i, out List<string> labels)
    {
        labels = [];
        i++;
        while (i < s.Length && s[i] != '}')
        {
            if (char.IsAsciiLetter(s[i]) || s[i] == '_')
            {
                int end = SkipWord(s, i);
                labels.Add(s[i..end]);
                i = SkipSpace(s, end);
                while (i < s.Length && s[i] is '=' or '!' or '~')
                {
                    i++;
                }

                i = SkipString(s, SkipSpace(s, i));
            }
            else
            {
                i++;
            }
        }

        return i + 1;
    }

    private static int ReadList(string s, int i, List<string> into)
    {
        int close = s.IndexOf(')', i);
        foreach (string label in s[(i + 1)..close].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            into.Add(label);
        }

        return close + 1;
    }

    /// <summary>Every name in the expression that is not in the metric contract, as one line each (empty when all are known).</summary>
    public static List<string> Unknown(string expr)
    {
        PromQlNames names = Scan(expr);
        var problems = new List<string>();
        var known = new HashSet<string>(MetricContract.TargetLabels);
        foreach ((string metric, List<string> labels) in names.Selectors)
        {
            if (metric != "" && metric != MetricContract.Up && !MetricContract.Families.ContainsKey(metric))
            {
                problems.Add($"metric {metric} is not in the contract");
                continue;
            }

            IEnumerable<string> allowed = metric == "" ? MetricContract.TargetLabels : MetricContract.LabelsOf(metric);
            known.UnionWith(allowed);
            problems.AddRange(labels.Except(allowed).Select(l => $"label {l} is not a label of {(metric == "" ? "any target" : metric)}"));
        }

        problems.AddRange(names.GroupingLabels.Except(known).Select(l => $"grouping label {l} is on none of the expression's metrics"));
        return problems;
    }

    /// <summary>Joins problems for an assertion message.</summary>
    public static string Describe(IEnumerable<string> problems)
    {
        var sb = new StringBuilder();
        foreach (string p in problems)
        {
            sb.Append("\n  ").Append(p);
        }

        return sb.ToString();
    }
}
