using System.Text;
using ResetScope.Host.Native;

namespace ResetScope.Host.Tests.Native;

public sealed class DirectoryWalkerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resetscope-walker-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Z(string path) => Encoding.UTF8.GetBytes(path + "\0");

    private static List<string> Walk(DirectoryWalker walker)
    {
        var names = new List<string>();
        while (walker.TryNext(out ReadOnlySpan<byte> name))
        {
            names.Add(Encoding.UTF8.GetString(name));
        }

        return names;
    }

    [Fact]
    public void Lists_every_entry_but_dot_and_dot_dot_across_many_getdents_calls()
    {
        // 300 entries of ~40-byte records do not fit one 1 KiB buffer: the walk refills it.
        var expected = Enumerable.Range(0, 300).Select(i => $"entry-{i:D4}-{new string('x', i % 7)}").ToList();
        foreach (string name in expected)
        {
            File.WriteAllText(Path.Combine(_dir, name), "");
        }

        Directory.CreateDirectory(Path.Combine(_dir, "ümlaut dir"));
        using var walker = new DirectoryWalker(1024);

        walker.Open(Z(_dir)).Should().BeTrue();

        Walk(walker).Should().BeEquivalentTo([.. expected, "ümlaut dir"]);
    }

    [Fact]
    public void A_directory_that_is_not_there_or_is_a_file_does_not_open_and_walks_empty()
    {
        File.WriteAllText(Path.Combine(_dir, "file"), "");
        using var walker = new DirectoryWalker();

        walker.Open(Z(Path.Combine(_dir, "missing"))).Should().BeFalse();
        Walk(walker).Should().BeEmpty();
        walker.Open(Z(Path.Combine(_dir, "file"))).Should().BeFalse();
        Walk(walker).Should().BeEmpty();
    }

    [Fact]
    public void Opening_again_starts_a_new_walk()
    {
        File.WriteAllText(Path.Combine(_dir, "a"), "");
        File.WriteAllText(Path.Combine(_dir, "b"), "");
        using var walker = new DirectoryWalker();
        walker.Open(Z(_dir)).Should().BeTrue();
        walker.TryNext(out _).Should().BeTrue();

        walker.Open(Z(_dir)).Should().BeTrue();

        Walk(walker).Should().BeEquivalentTo(["a", "b"]);
    }

    [Fact]
    public void A_path_without_its_nul_byte_is_refused()
    {
        using var walker = new DirectoryWalker();

        Action open = () => walker.Open(Encoding.UTF8.GetBytes(_dir));

        open.Should().Throw<ArgumentException>().WithMessage("*NUL*");
    }
}
