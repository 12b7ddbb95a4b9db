using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace ResetScope.KernelLog;

/// <summary>
/// <c>journalctl -o export</c>: records of <c>KEY=value</c> lines separated by a blank line; a field whose
/// value is binary (or contains a newline) is written as <c>KEY\n</c> + little-endian u64 length + data + <c>\n</c>.
/// Record-wise, so the MESSAGE is seen together with its time and host. Slower than the line scanner; rare input.
/// </summary>
internal static class JournalExportReader
{
    private const int MaxField = 64 * 1024;

    public static void Run(Stream source, byte[] buf, int len, bool eof, LogScanner.ScanState state, LogScanner scanner)
    {
        var reader = new ByteReader(source, buf, len, eof);
        string? message = null, ts = null, host = null;
        long? mono = null;
        int messageLine = 0;
        var field = new List<byte>(256);
        byte[] lenBytes = new byte[8];
        while (true)
        {
            field.Clear();
            bool gotLine = reader.ReadLine(field, MaxField, out bool truncated);
            if (!gotLine)
            {
                Flush();
                break;
            }

            state.LineCount++;
            if (field.Count == 0)
            {
                Flush();
                continue;
            }

            if (truncated)
            {
                state.LongLines++;
                continue;
            }

            int eq = field.IndexOf((byte)'=');
            string name;
            string value;
            if (eq < 0)
            {
                // Binary field: name, then a 64-bit length, then the data and a newline.
                name = Encoding.ASCII.GetString(field.ToArray());
                if (!reader.ReadExact(lenBytes))
                {
                    break;
                }

                ulong size = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
                if (size > MaxField)
                {
                    state.LongLines++;
                    if (!reader.Skip((long)Math.Min(size, long.MaxValue - 1) + 1))
                    {
                        break;
                    }

                    continue;
                }

                byte[] data = new byte[(int)size + 1];
                if (!reader.ReadExact(data))
                {
                    break;
                }

                value = Encoding.UTF8.GetString(data, 0, (int)size);
                state.LineCount += value.Count(c => c == '\n');
            }
            else
            {
                byte[] arr = field.ToArray();
                name = Encoding.ASCII.GetString(arr, 0, eq);
                value = Encoding.UTF8.GetString(arr, eq + 1, arr.Length - eq - 1);
            }

            switch (name)
            {
                case "MESSAGE":
                    message = value;
                    messageLine = (int)Math.Min(int.MaxValue, state.LineCount);
                    break;
                case "__REALTIME_TIMESTAMP":
                    ts = value;
                    break;
                case "_HOSTNAME":
                    host = value;
                    break;
                case "_SOURCE_MONOTONIC_TIMESTAMP":
                    mono = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long m) ? m : null;
                    break;
                default:
                    break;
            }
        }

        state.Bytes = reader.TotalBytes;
        state.Assembler.Finish();

        void Flush()
        {
            if (message is not null)
            {
                DateTimeOffset? time = null;
                if (long.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out long us) && us > 0 && us < 253_402_300_799_000_000)
                {
                    time = DateTimeOffset.UnixEpoch.AddTicks(us * 10);
                }

                scanner.ProcessExportRecord(state, messageLine, message, ts, time, mono, host);
            }

            message = ts = host = null;
            mono = null;
        }
    }

    private sealed class ByteReader(Stream source, byte[] buf, int len, bool eof)
    {
        private int _pos;
        private int _len = len;
        private bool _eof = eof;

        public long TotalBytes { get; private set; } = len;

        private bool Fill()
        {
            if (_pos < _len)
            {
                return true;
            }

            if (_eof)
            {
                return false;
            }

            _pos = 0;
            _len = source.Read(buf, 0, buf.Length);
            if (_len == 0)
            {
                _eof = true;
                return false;
            }

            TotalBytes += _len;
            return true;
        }

        public bool ReadLine(List<byte> into, int max, out bool truncated)
        {
            truncated = false;
            bool any = false;
            while (Fill())
            {
                any = true;
                var span = new ReadOnlySpan<byte>(buf, _pos, _len - _pos);
                int nl = span.IndexOf((byte)'\n');
                ReadOnlySpan<byte> chunk = nl < 0 ? span : span[..nl];
                if (into.Count + chunk.Length <= max)
                {
                    into.AddRange(chunk);
                }
                else
                {
                    truncated = true;
                }

                _pos += nl < 0 ? span.Length : nl + 1;
                if (nl >= 0)
                {
                    return true;
                }
            }

            return any;
        }

        public bool ReadExact(Span<byte> into)
        {
            int got = 0;
            while (got < into.Length)
            {
                if (!Fill())
                {
                    return false;
                }

                int n = Math.Min(into.Length - got, _len - _pos);
                buf.AsSpan(_pos, n).CopyTo(into[got..]);
                _pos += n;
                got += n;
            }

            return true;
        }

        public bool Skip(long count)
        {
            while (count > 0)
            {
                if (!Fill())
                {
                    return false;
                }

                int n = (int)Math.Min(count, _len - _pos);
                _pos += n;
                count -= n;
            }

            return true;
        }
    }
}
