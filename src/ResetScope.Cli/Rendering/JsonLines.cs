using System.Text.Json;

namespace ResetScope.Cli.Rendering;

/// <summary>Writes one JSON object per line (the `--json` shape of every verb) through a reused buffer.</summary>
public sealed class JsonLines(TextWriter output) : IDisposable
{
    private readonly MemoryStream _buffer = new();

    public void Write(Action<Utf8JsonWriter> write)
    {
        _buffer.SetLength(0);
        using (var writer = new Utf8JsonWriter(_buffer))
        {
            write(writer);
        }

        output.Write(System.Text.Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length));
        output.Write('\n');
    }

    public void Dispose() => _buffer.Dispose();
}
