using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace XdpCompiler.Build;

/// <summary>One compiled eBPF object as the generator embedded it: the class name and the ELF bytes.</summary>
public sealed class XdpObjectEntry
{
    public XdpObjectEntry(string name, byte[] elf)
    {
        Name = name;
        Elf = elf;
    }

    /// <summary>The object's name; its file is <c>&lt;Name&gt;.bpf.o</c>.</summary>
    public string Name { get; }

    public byte[] Elf { get; }
}

/// <summary>The objects found in one assembly, and the problems that kept others from being read.</summary>
public sealed class XdpObjectReadResult
{
    public XdpObjectReadResult(IReadOnlyList<XdpObjectEntry> objects, IReadOnlyList<BuildDiagnostic> errors)
    {
        Objects = objects;
        Errors = errors;
    }

    public IReadOnlyList<XdpObjectEntry> Objects { get; }

    public IReadOnlyList<BuildDiagnostic> Errors { get; }
}

/// <summary>
/// Reads the assembly-level <c>[XdpCompiler.XdpObject(name, elfBase64)]</c> attributes from a built assembly's metadata.
/// The assembly is only parsed, never loaded, so a build never runs user code and never locks a type-load context.
/// </summary>
/// <remarks>
/// The attribute is matched by its full name, not by the assembly that defines it, so any version of the API assembly
/// (or a test assembly with its own copy) is understood.
/// </remarks>
public static class XdpObjectReader
{
    public const string AttributeNamespace = "XdpCompiler";
    public const string AttributeName = "XdpObjectAttribute";

    private static readonly byte[] ElfMagic = { 0x7F, (byte)'E', (byte)'L', (byte)'F' };

    /// <summary>Reads the objects of the assembly at <paramref name="assemblyPath"/>. Never throws for bad input.</summary>
    public static XdpObjectReadResult Read(string assemblyPath)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(assemblyPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Failed(assemblyPath, $"Cannot open {Path.GetFileName(assemblyPath)} to read its XDP objects: {e.Message}");
        }

        using (stream)
        {
            return Read(stream, assemblyPath);
        }
    }

    /// <summary>Reads the objects of a PE image; <paramref name="assemblyPath"/> only names it in messages.</summary>
    public static XdpObjectReadResult Read(Stream peImage, string assemblyPath)
    {
        try
        {
            using var pe = new PEReader(peImage, PEStreamOptions.LeaveOpen | PEStreamOptions.PrefetchEntireImage);
            if (!pe.HasMetadata)
            {
                return Failed(assemblyPath, $"{Path.GetFileName(assemblyPath)} has no .NET metadata, so its XDP objects cannot be read.");
            }

            return Read(pe.GetMetadataReader(), assemblyPath);
        }
        catch (BadImageFormatException e)
        {
            return Failed(assemblyPath, $"{Path.GetFileName(assemblyPath)} is not a valid .NET PE file ({e.Message}), so its XDP objects cannot be read.");
        }
        catch (IOException e)
        {
            return Failed(assemblyPath, $"Cannot read {Path.GetFileName(assemblyPath)}: {e.Message}");
        }
    }

    private static XdpObjectReadResult Read(MetadataReader metadata, string assemblyPath)
    {
        var objects = new List<XdpObjectEntry>();
        var errors = new List<BuildDiagnostic>();
        var assemblyName = Path.GetFileName(assemblyPath);
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var index = 0;

        CustomAttributeHandleCollection attributes;
        try
        {
            attributes = metadata.GetCustomAttributes(EntityHandle.AssemblyDefinition);
        }
        catch (BadImageFormatException e)
        {
            return Failed(assemblyPath, $"The attribute table of {assemblyName} is corrupt ({e.Message}).");
        }

        foreach (var handle in attributes)
        {
            string? name = null;
            string? payload;
            try
            {
                var attribute = metadata.GetCustomAttribute(handle);
                if (!TryGetAttributeConstructor(metadata, attribute, out var signature))
                {
                    continue;
                }

                index++;
                var label = $"XdpObject attribute #{index}";
                if (!HasStringStringParameters(metadata, signature))
                {
                    errors.Add(Malformed(assemblyPath, $"{label} in {assemblyName} uses a constructor other than (string name, string elfBase64). "
                        + "The generator and the XdpCompiler API come from different versions; reference matching versions."));
                    continue;
                }

                var value = metadata.GetBlobReader(attribute.Value);
                if (value.Length < 2 || value.ReadUInt16() != 1)
                {
                    errors.Add(Malformed(assemblyPath, $"{label} in {assemblyName} has a value blob without the 0x0001 prolog."));
                    continue;
                }

                name = value.ReadSerializedString();
                payload = value.ReadSerializedString();
                if (value.RemainingBytes < 2)
                {
                    errors.Add(Malformed(assemblyPath, $"{label} in {assemblyName} has a truncated value blob (no named-argument count)."));
                    continue;
                }

                if (name is null || payload is null)
                {
                    errors.Add(Malformed(assemblyPath, $"{label} in {assemblyName} has a null {(name is null ? "object name" : $"payload for object '{name}'")}."));
                    continue;
                }
            }
            catch (BadImageFormatException e)
            {
                var what = name is null ? $"XdpObject attribute #{index}" : $"The XdpObject attribute for object '{name}'";
                errors.Add(Malformed(assemblyPath, $"{what} in {assemblyName} cannot be decoded: {e.Message}"));
                continue;
            }

            if (!IsPlainFileName(name))
            {
                errors.Add(new BuildDiagnostic(BuildDiagnostics.InvalidObjectName,
                    $"Object name '{Escape(name)}' in {assemblyName} is not a plain file name, so '<name>.bpf.o' cannot be written "
                    + "inside the output folder. Use a name without path separators, '..', or control characters.", assemblyPath));
                continue;
            }

            byte[] elf;
            try
            {
                elf = Convert.FromBase64String(payload);
            }
            catch (FormatException e)
            {
                errors.Add(new BuildDiagnostic(BuildDiagnostics.InvalidBase64,
                    $"Object '{name}' in {assemblyName}: the ELF payload is not valid base64 ({e.Message}). "
                    + "XdpObject attributes are written by the generator; remove a hand-written or edited one and rebuild.", assemblyPath));
                continue;
            }

            if (!StartsWithElfMagic(elf))
            {
                errors.Add(new BuildDiagnostic(BuildDiagnostics.NotElf,
                    $"Object '{name}' in {assemblyName}: the payload ({elf.Length} bytes) is not an ELF file (no 0x7F 'E' 'L' 'F' magic).",
                    assemblyPath));
                continue;
            }

            if (seen.TryGetValue(name, out var earlier))
            {
                errors.Add(new BuildDiagnostic(BuildDiagnostics.DuplicateObjectName,
                    $"Objects '{earlier}' and '{name}' in {assemblyName} would both be written to '{name}.bpf.o'. "
                    + "Rename one of the classes (file names are compared without case).", assemblyPath));
                continue;
            }

            seen.Add(name, name);
            objects.Add(new XdpObjectEntry(name, elf));
        }

        return new XdpObjectReadResult(objects, errors);
    }

    /// <summary>True when the attribute's constructor belongs to a type named XdpCompiler.XdpObjectAttribute.</summary>
    private static bool TryGetAttributeConstructor(MetadataReader metadata, CustomAttribute attribute, out BlobHandle signature)
    {
        signature = default;
        switch (attribute.Constructor.Kind)
        {
            case HandleKind.MemberReference:
            {
                var member = metadata.GetMemberReference((MemberReferenceHandle)attribute.Constructor);
                signature = member.Signature;
                return member.Parent.Kind switch
                {
                    HandleKind.TypeReference => IsAttributeType(metadata, metadata.GetTypeReference((TypeReferenceHandle)member.Parent)),
                    HandleKind.TypeDefinition => IsAttributeType(metadata, metadata.GetTypeDefinition((TypeDefinitionHandle)member.Parent)),
                    _ => false,
                };
            }
            case HandleKind.MethodDefinition:
            {
                var method = metadata.GetMethodDefinition((MethodDefinitionHandle)attribute.Constructor);
                signature = method.Signature;
                return IsAttributeType(metadata, metadata.GetTypeDefinition(method.GetDeclaringType()));
            }
            default:
                return false;
        }
    }

    private static bool IsAttributeType(MetadataReader metadata, TypeReference type) =>
        type.ResolutionScope.Kind != HandleKind.TypeReference // a nested type is never ours
        && metadata.StringComparer.Equals(type.Namespace, AttributeNamespace)
        && metadata.StringComparer.Equals(type.Name, AttributeName);

    private static bool IsAttributeType(MetadataReader metadata, TypeDefinition type) =>
        !type.IsNested
        && metadata.StringComparer.Equals(type.Namespace, AttributeNamespace)
        && metadata.StringComparer.Equals(type.Name, AttributeName);

    private static bool HasStringStringParameters(MetadataReader metadata, BlobHandle signature)
    {
        var reader = metadata.GetBlobReader(signature);
        var header = reader.ReadSignatureHeader();
        if (header.Kind != SignatureKind.Method || header.IsGeneric)
        {
            return false;
        }

        if (reader.ReadCompressedInteger() != 2 || reader.ReadSignatureTypeCode() != SignatureTypeCode.Void)
        {
            return false;
        }

        return reader.ReadSignatureTypeCode() == SignatureTypeCode.String && reader.ReadSignatureTypeCode() == SignatureTypeCode.String;
    }

    /// <summary>
    /// Rejects anything that could escape the output folder or that some file system can't store, so the same assembly
    /// builds the same files on Linux, macOS and Windows.
    /// </summary>
    internal static bool IsPlainFileName(string name)
    {
        if (name.Length == 0 || name.Trim().Length == 0 || name == "." || name == "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (char.IsControl(c) || c is '/' or '\\' or ':' or '*' or '?' or '"' or '<' or '>' or '|')
            {
                return false;
            }
        }

        return true;
    }

    private static bool StartsWithElfMagic(byte[] bytes)
    {
        if (bytes.Length < ElfMagic.Length)
        {
            return false;
        }

        for (var i = 0; i < ElfMagic.Length; i++)
        {
            if (bytes[i] != ElfMagic[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string Escape(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return builder.ToString();
    }

    private static BuildDiagnostic Malformed(string assemblyPath, string message) =>
        new(BuildDiagnostics.MalformedAttribute, message, assemblyPath);

    private static XdpObjectReadResult Failed(string assemblyPath, string message) =>
        new(Array.Empty<XdpObjectEntry>(), new[] { new BuildDiagnostic(BuildDiagnostics.UnreadableAssembly, message, assemblyPath) });
}
