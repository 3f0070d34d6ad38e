using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace XdpCompiler.Build.Tests;

/// <summary>Builds small assemblies in memory: real ones with Roslyn, and hand-made metadata for blobs no compiler writes.</summary>
internal static class TestAssemblies
{
    public static readonly byte[] ElfMagic = { 0x7F, (byte)'E', (byte)'L', (byte)'F' };

    /// <summary>ELF magic followed by <paramref name="tail"/>: enough for the reader, which checks only the magic.</summary>
    public static byte[] Elf(params byte[] tail) => ElfMagic.Concat(tail).ToArray();

    public static string Attribute(string name, byte[] elf) => Attribute(name, Convert.ToBase64String(elf));

    public static string Attribute(string name, string payload) =>
        $"[assembly: XdpCompiler.XdpObject({Literal(name)}, {Literal(payload)})]";

    /// <summary>Compiles C# against the real XdpCompiler API assembly and returns the PE image.</summary>
    public static byte[] Compile(string source, string assemblyName = "User", bool referenceApi = true)
    {
        var references = new List<MetadataReference>
        {
            MetadataReference.CreateFromFile(typeof(object).Assembly.Location),
            MetadataReference.CreateFromFile(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "System.Runtime.dll")),
        };
        if (referenceApi)
        {
            references.Add(MetadataReference.CreateFromFile(typeof(XdpObjectAttribute).Assembly.Location));
        }

        var compilation = CSharpCompilation.Create(
            assemblyName,
            new[] { CSharpSyntaxTree.ParseText(source) },
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
        {
            throw new InvalidOperationException("Test source does not compile:\n" + string.Join("\n", result.Diagnostics));
        }

        return stream.ToArray();
    }

    /// <summary>
    /// An assembly whose only assembly-level attribute points at <c>XdpCompiler.XdpObjectAttribute</c> through a
    /// constructor with <paramref name="parameters"/> and carries <paramref name="value"/> as its raw value blob.
    /// </summary>
    public static byte[] WithRawAttribute(byte[] value, params PrimitiveTypeCode[] parameters)
    {
        if (parameters.Length == 0)
        {
            parameters = new[] { PrimitiveTypeCode.String, PrimitiveTypeCode.String };
        }

        var metadata = new MetadataBuilder();
        metadata.AddModule(0, metadata.GetOrAddString("Raw.dll"), metadata.GetOrAddGuid(new Guid("6f1d1c1e-0000-4000-8000-000000000001")), default, default);
        var assembly = metadata.AddAssembly(metadata.GetOrAddString("Raw"), new Version(1, 0, 0, 0), default, default, 0, AssemblyHashAlgorithm.Sha1);
        var api = metadata.AddAssemblyReference(metadata.GetOrAddString("XdpCompiler"), new Version(1, 0, 0, 0), default, default, 0, default);
        var type = metadata.AddTypeReference(api, metadata.GetOrAddString("XdpCompiler"), metadata.GetOrAddString("XdpObjectAttribute"));

        var signature = new BlobBuilder();
        new BlobEncoder(signature).MethodSignature(isInstanceMethod: true).Parameters(
            parameters.Length,
            returnType => returnType.Void(),
            list =>
            {
                foreach (var parameter in parameters)
                {
                    list.AddParameter().Type().PrimitiveType(parameter);
                }
            });
        var constructor = metadata.AddMemberReference(type, metadata.GetOrAddString(".ctor"), metadata.GetOrAddBlob(signature));
        metadata.AddCustomAttribute(assembly, constructor, metadata.GetOrAddBlob(value));
        metadata.AddTypeDefinition(default, default, metadata.GetOrAddString("<Module>"), default,
            MetadataTokens.FieldDefinitionHandle(1), MetadataTokens.MethodDefinitionHandle(1));

        var pe = new ManagedPEBuilder(PEHeaderBuilder.CreateLibraryHeader(), new MetadataRootBuilder(metadata), new BlobBuilder());
        var image = new BlobBuilder();
        pe.Serialize(image);
        return image.ToArray();
    }

    /// <summary>A custom-attribute value blob: prolog, two SerStrings (null allowed), and optionally the named-argument count.</summary>
    public static byte[] Blob(string? first, string? second, ushort prolog = 1, bool namedCount = true)
    {
        var blob = new BlobBuilder();
        blob.WriteUInt16(prolog);
        blob.WriteSerializedString(first);
        blob.WriteSerializedString(second);
        if (namedCount)
        {
            blob.WriteUInt16(0);
        }

        return blob.ToArray();
    }

    private static string Literal(string value) => SymbolDisplay.FormatLiteral(value, quote: true);
}
