using System.Buffers.Text;

namespace ResetScope.Host.Cpu;

/// <summary>One PSI line: averages in percent, total stall time in microseconds.</summary>
public struct PsiLine
{
    public double Avg10 { get; set; }
    public double Avg60 { get; set; }
    public double Avg300 { get; set; }
    public ulong TotalMicroseconds { get; set; }
}

/// <summary>
/// CPU pressure from <c>&lt;procRoot&gt;/pressure/cpu</c>. A missing file (no CONFIG_PSI, psi=0) makes the probe
/// unavailable, which is a fact, not an error. <c>full</c> exists since 5.13.
/// </summary>
public sealed class PsiProbe : IDisposable
{
    private readonly ProcFile? _file;
    private PsiLine _some;
    private PsiLine _full;

    public PsiProbe(string procRoot = "/proc")
    {
        _file = ProcFile.TryOpen(Path.Combine(procRoot, "pressure", "cpu"), 512);
        if (_file is not null && !Sample())
        {
            Available = false;
        }
    }

    /// <summary>False when the file is absent or unreadable (then every sample is zero).</summary>
    public bool Available { get; private set; }

    public bool HasFull { get; private set; }

    public PsiLine Some => _some;

    public PsiLine Full => _full;

    public bool Sample()
    {
        if (_file is null || !_file.TryRead(out ReadOnlySpan<byte> rest))
        {
            Available = false;
            return false;
        }

        bool some = false;
        bool full = false;
        while (!rest.IsEmpty)
        {
            ReadOnlySpan<byte> line = Ascii.NextLine(ref rest);
            ReadOnlySpan<byte> kind = Ascii.NextToken(ref line);
            if (kind.SequenceEqual("some"u8))
            {
                some = TryParseLine(line, ref _some);
            }
            else if (kind.SequenceEqual("full"u8))
            {
                full = TryParseLine(line, ref _full);
            }
        }

        HasFull = full;
        Available = some;
        return some;
    }

    public void Dispose() => _file?.Dispose();

    private static bool TryParseLine(ReadOnlySpan<byte> fields, ref PsiLine psi)
    {
        int seen = 0;
        while (true)
        {
            ReadOnlySpan<byte> token = Ascii.NextToken(ref fields);
            if (token.IsEmpty)
            {
                break;
            }

            int eq = token.IndexOf((byte)'=');
            if (eq <= 0)
            {
                return false;
            }

            ReadOnlySpan<byte> key = token[..eq];
            ReadOnlySpan<byte> value = token[(eq + 1)..];
            if (key.SequenceEqual("total"u8))
            {
                if (!Utf8Parser.TryParse(value, out ulong total, out int used) || used != value.Length)
                {
                    return false;
                }

                psi.TotalMicroseconds = total;
                seen |= 8;
                continue;
            }

            if (!Utf8Parser.TryParse(value, out double d, out int consumed) || consumed != value.Length)
            {
                return false;
            }

            if (key.SequenceEqual("avg10"u8))
            {
                psi.Avg10 = d;
                seen |= 1;
            }
            else if (key.SequenceEqual("avg60"u8))
            {
                psi.Avg60 = d;
                seen |= 2;
            }
            else if (key.SequenceEqual("avg300"u8))
            {
                psi.Avg300 = d;
                seen |= 4;
            }
        }

        return seen == 15;
    }
}
