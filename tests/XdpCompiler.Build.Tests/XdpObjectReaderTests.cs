using System.Reflection.Metadata;
using Xunit;
using static XdpCompiler.Build.Tests.TestAssemblies;

namespace XdpCompiler.Build.Tests;

public class XdpObjectReaderTests
{
    private static XdpObjectReadResult Read(byte[] image) => XdpObjectReader.Read(new MemoryStream(image), "/build/User.dll");

    private static BuildDiagnostic SingleError(XdpObjectReadResult result, string code)
    {
        var error = Assert.Single(result.Errors);
        Assert.Equal(code, error.Code);
        Assert.Equal("/build/User.dll", error.File);
        Assert.Contains("User.dll", error.Message);
        return error;
    }

    [Fact]
    public void ReadsEveryObjectWithItsBytesInDeclarationOrder()
    {
        var first = Elf(1, 2, 3);
        var second = Elf(Enumerable.Range(0, 300).Select(i => (byte)i).ToArray());
        var image = Compile($"{Attribute("DdosFilter", first)}\n{Attribute("Router", second)}\nclass C {{ }}");

        var result = Read(image);

        Assert.Empty(result.Errors);
        Assert.Collection(
            result.Objects,
            o => { Assert.Equal("DdosFilter", o.Name); Assert.Equal(first, o.Elf); },
            o => { Assert.Equal("Router", o.Name); Assert.Equal(second, o.Elf); });
    }

    [Fact]
    public void AnAssemblyWithoutObjectsYieldsNothing()
    {
        var result = Read(Compile("[assembly: System.Reflection.AssemblyTitle(\"x\")] class C { }"));

        Assert.Empty(result.Objects);
        Assert.Empty(result.Errors);
    }

    [Fact]
    public void ReadsAnAttributeDefinedInTheSameAssembly()
    {
        // The constructor is then a MethodDefinition, not a MemberReference.
        var source = $$"""
            {{Attribute("Local", Elf(9))}}
            namespace XdpCompiler
            {
                [System.AttributeUsage(System.AttributeTargets.Assembly, AllowMultiple = true)]
                public sealed class XdpObjectAttribute : System.Attribute
                {
                    public XdpObjectAttribute(string name, string elfBase64) { }
                }
            }
            """;

        var result = Read(Compile(source, referenceApi: false));

        Assert.Empty(result.Errors);
        var entry = Assert.Single(result.Objects);
        Assert.Equal("Local", entry.Name);
        Assert.Equal(Elf(9), entry.Elf);
    }

    [Fact]
    public void IgnoresAnAttributeOfTheSameNameInAnotherNamespace()
    {
        var source = """
            [assembly: Other.XdpObject("Foo", "not even base64")]
            namespace Other
            {
                [System.AttributeUsage(System.AttributeTargets.Assembly)]
                public sealed class XdpObjectAttribute : System.Attribute
                {
                    public XdpObjectAttribute(string name, string elfBase64) { }
                }
            }
            """;

        var result = Read(Compile(source, referenceApi: false));

        Assert.Empty(result.Objects);
        Assert.Empty(result.Errors);
    }

    [Fact]
    public void InvalidBase64IsXdp9001NamingTheObject()
    {
        var result = Read(Compile($"{Attribute("Good", Elf(1))}\n{Attribute("Broken", "@@@ not base64")}"));

        var error = SingleError(result, BuildDiagnostics.InvalidBase64);
        Assert.Contains("'Broken'", error.Message);
        Assert.Equal("Good", Assert.Single(result.Objects).Name);
    }

    [Fact]
    public void APayloadThatIsNotElfIsXdp9005()
    {
        var error = SingleError(Read(Compile(Attribute("Foo", new byte[] { 1, 2, 3, 4, 5 }))), BuildDiagnostics.NotElf);
        Assert.Contains("'Foo'", error.Message);

        SingleError(Read(Compile(Attribute("Empty", ""))), BuildDiagnostics.NotElf);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("c:x")]
    [InlineData("tab\there")]
    public void ANameThatIsNotAPlainFileNameIsXdp9003(string name)
    {
        SingleError(Read(Compile(Attribute(name, Elf(1)))), BuildDiagnostics.InvalidObjectName);
    }

    [Fact]
    public void NamesThatOnlyDifferInCaseAreXdp9004()
    {
        var result = Read(Compile($"{Attribute("Filter", Elf(1))}\n{Attribute("FILTER", Elf(2))}"));

        var error = SingleError(result, BuildDiagnostics.DuplicateObjectName);
        Assert.Contains("'Filter'", error.Message);
        Assert.Contains("'FILTER'", error.Message);
    }

    [Fact]
    public void ANullArgumentIsXdp9002()
    {
        SingleError(Read(Compile("[assembly: XdpCompiler.XdpObject(null, \"f0VMRg==\")]")), BuildDiagnostics.MalformedAttribute);
        var error = SingleError(Read(Compile("[assembly: XdpCompiler.XdpObject(\"Foo\", null)]")), BuildDiagnostics.MalformedAttribute);
        Assert.Contains("'Foo'", error.Message);
    }

    [Fact]
    public void AWellFormedRawAttributeIsRead()
    {
        // Guards the hand-made metadata below: the malformed cases differ from this one in one thing each.
        var result = Read(WithRawAttribute(Blob("Raw", Convert.ToBase64String(Elf(7)))));

        Assert.Empty(result.Errors);
        Assert.Equal("Raw", Assert.Single(result.Objects).Name);
    }

    [Fact]
    public void AValueBlobWithoutPrologIsXdp9002()
    {
        SingleError(Read(WithRawAttribute(Blob("Raw", "f0VMRg==", prolog: 2))), BuildDiagnostics.MalformedAttribute);
        SingleError(Read(WithRawAttribute(Array.Empty<byte>())), BuildDiagnostics.MalformedAttribute);
    }

    [Fact]
    public void ATruncatedValueBlobIsXdp9002()
    {
        SingleError(Read(WithRawAttribute(Blob("Raw", "f0VMRg==", namedCount: false))), BuildDiagnostics.MalformedAttribute);

        // The second string's length prefix promises more bytes than the blob has.
        var cut = Blob("Raw", "f0VMRgAAAAAAAAAAAAAAAAAAAAAAAAAA").Take(12).ToArray();
        SingleError(Read(WithRawAttribute(cut)), BuildDiagnostics.MalformedAttribute);
    }

    [Fact]
    public void AConstructorOtherThanStringStringIsXdp9002()
    {
        var value = new byte[] { 1, 0, 3, (byte)'F', (byte)'o', (byte)'o', 7, 0, 0, 0, 0, 0 };
        var error = SingleError(Read(WithRawAttribute(value, PrimitiveTypeCode.String, PrimitiveTypeCode.Int32)), BuildDiagnostics.MalformedAttribute);
        Assert.Contains("(string name, string elfBase64)", error.Message);
    }

    [Fact]
    public void AFileThatIsNotAnAssemblyIsXdp9006()
    {
        SingleError(Read(new byte[] { 1, 2, 3 }), BuildDiagnostics.UnreadableAssembly);
        SingleError(Read(Elf(1, 2, 3, 4, 5, 6, 7, 8)), BuildDiagnostics.UnreadableAssembly);
    }

    [Fact]
    public void AMissingFileIsXdp9006()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xdp-missing-{Environment.ProcessId}-{Guid.NewGuid():N}.dll");

        var error = Assert.Single(XdpObjectReader.Read(path).Errors);

        Assert.Equal(BuildDiagnostics.UnreadableAssembly, error.Code);
        Assert.Equal(path, error.File);
    }

    [Fact]
    public void ReadsFromAFileWithoutLockingOutWriters()
    {
        var path = Path.Combine(Path.GetTempPath(), $"xdp-read-{Environment.ProcessId}-{Guid.NewGuid():N}.dll");
        File.WriteAllBytes(path, Compile(Attribute("Foo", Elf(4))));
        try
        {
            var result = XdpObjectReader.Read(path);

            Assert.Empty(result.Errors);
            Assert.Equal(Elf(4), Assert.Single(result.Objects).Elf);
            File.WriteAllBytes(path, new byte[] { 0 }); // the stream is closed again
        }
        finally
        {
            File.Delete(path);
        }
    }
}
