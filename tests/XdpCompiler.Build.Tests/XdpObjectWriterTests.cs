using Xunit;
using static XdpCompiler.Build.Tests.TestAssemblies;

namespace XdpCompiler.Build.Tests;

public sealed class XdpObjectWriterTests : IDisposable
{
    private static readonly DateTime LongAgo = new(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);

    private readonly string root = Path.Combine(Path.GetTempPath(), $"xdp-writer-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public XdpObjectWriterTests() => Directory.CreateDirectory(root);

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Out => Path.Combine(root, "bin", "bpf");

    private string List => Path.Combine(root, "obj", "XdpCompiler.objects.txt");

    private string ObjectPath(string name) => Path.Combine(Out, name + ".bpf.o");

    private static XdpObjectEntry Entry(string name, params byte[] tail) => new(name, Elf(tail));

    [Fact]
    public void WritesEachObjectAndListsIt()
    {
        var result = XdpObjectWriter.Write(new[] { Entry("Foo", 1), Entry("Bar", 2) }, Out, List);

        Assert.Empty(result.Errors);
        Assert.Equal(new[] { ObjectPath("Foo"), ObjectPath("Bar") }, result.Objects);
        Assert.Equal(result.Objects, result.Written);
        Assert.Equal(Elf(1), File.ReadAllBytes(ObjectPath("Foo")));
        Assert.Equal(Elf(2), File.ReadAllBytes(ObjectPath("Bar")));
        Assert.Equal(new[] { ObjectPath("Foo"), ObjectPath("Bar") }, File.ReadAllLines(List));
    }

    [Fact]
    public void UnchangedBytesAreNotRewritten()
    {
        XdpObjectWriter.Write(new[] { Entry("Foo", 1) }, Out, List);
        File.SetLastWriteTimeUtc(ObjectPath("Foo"), LongAgo);
        File.SetLastWriteTimeUtc(List, LongAgo);

        var result = XdpObjectWriter.Write(new[] { Entry("Foo", 1) }, Out, List);

        Assert.Empty(result.Errors);
        Assert.Empty(result.Written);
        Assert.Equal(new[] { ObjectPath("Foo") }, result.Objects);
        Assert.Equal(LongAgo, File.GetLastWriteTimeUtc(ObjectPath("Foo")));
        Assert.Equal(LongAgo, File.GetLastWriteTimeUtc(List));
    }

    [Fact]
    public void ChangedBytesOfTheSameLengthAreRewritten()
    {
        XdpObjectWriter.Write(new[] { Entry("Foo", 1, 2) }, Out, List);

        var result = XdpObjectWriter.Write(new[] { Entry("Foo", 1, 3) }, Out, List);

        Assert.Equal(new[] { ObjectPath("Foo") }, result.Written);
        Assert.Equal(Elf(1, 3), File.ReadAllBytes(ObjectPath("Foo")));
    }

    [Fact]
    public void RemovesOnlyStaleFilesItWroteItself()
    {
        XdpObjectWriter.Write(new[] { Entry("Foo", 1), Entry("Gone", 2) }, Out, List);
        var foreign = ObjectPath("SomeoneElses");
        File.WriteAllBytes(foreign, Elf(3));
        var notAnObject = Path.Combine(root, "notes.txt");
        File.WriteAllText(notAnObject, "keep");
        File.AppendAllLines(List, new[] { notAnObject, "relative/Thing.bpf.o" });

        var result = XdpObjectWriter.Write(new[] { Entry("Foo", 1) }, Out, List);

        Assert.Empty(result.Errors);
        Assert.Equal(new[] { ObjectPath("Gone") }, result.Removed);
        Assert.False(File.Exists(ObjectPath("Gone")));
        Assert.True(File.Exists(ObjectPath("Foo")));
        Assert.True(File.Exists(foreign));
        Assert.True(File.Exists(notAnObject));
        Assert.Equal(new[] { ObjectPath("Foo") }, File.ReadAllLines(List));
    }

    [Fact]
    public void NoObjectsLeavesNoFolderBehindButEmptiesTheList()
    {
        XdpObjectWriter.Write(new[] { Entry("Foo", 1) }, Out, List);

        var result = XdpObjectWriter.Write(Array.Empty<XdpObjectEntry>(), Out, List);

        Assert.Equal(new[] { ObjectPath("Foo") }, result.Removed);
        Assert.Empty(File.ReadAllText(List));

        var fresh = Path.Combine(root, "fresh");
        XdpObjectWriter.Write(Array.Empty<XdpObjectEntry>(), fresh, Path.Combine(root, "obj2", "list.txt"));
        Assert.False(Directory.Exists(fresh));
    }

    [Fact]
    public void MovingTheOutputFolderRemovesTheFilesInTheOldOne()
    {
        XdpObjectWriter.Write(new[] { Entry("Foo", 1) }, Out, List);
        var moved = Path.Combine(root, "elsewhere");

        var result = XdpObjectWriter.Write(new[] { Entry("Foo", 1) }, moved, List);

        Assert.Equal(new[] { Path.Combine(moved, "Foo.bpf.o") }, result.Written);
        Assert.Equal(new[] { ObjectPath("Foo") }, result.Removed);
    }

    [Fact]
    public void AnOutputFolderThatIsAFileIsXdp9007NotAnException()
    {
        var blocked = Path.Combine(root, "blocked");
        File.WriteAllText(blocked, "a file, not a folder");

        var result = XdpObjectWriter.Write(new[] { Entry("Foo", 1) }, blocked, List);

        var error = Assert.Single(result.Errors);
        Assert.Equal(BuildDiagnostics.WriteFailed, error.Code);
        Assert.Contains("'Foo'", error.Message);
        Assert.Equal(Path.Combine(blocked, "Foo.bpf.o"), error.File);
        Assert.Empty(result.Written);
    }
}
