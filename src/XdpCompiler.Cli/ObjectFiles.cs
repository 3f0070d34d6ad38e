using System.Collections.Immutable;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Elf;

namespace XdpCompiler.Cli;

internal static class ObjectFiles
{
    public static BpfObject Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"no such object file: {path}");
        return ElfObjectReader.Read(path);
    }

    /// <summary>
    /// The object without map pinning: verify and run must leave nothing behind in bpffs, and they must not pick up
    /// (or fail on) a pinned map some attached program is using.
    /// </summary>
    public static BpfObject Unpinned(BpfObject obj) =>
        obj with { Maps = obj.Maps.Select(m => m with { Pinning = BpfMapPinning.None }).ToImmutableArray() };

    /// <summary>The XDP program named <paramref name="name"/>, or the only one when no name is given.</summary>
    public static BpfProgram Program(BpfObject obj, string? name, string command)
    {
        var xdp = obj.Programs.Where(p => p.IsXdp).ToList();
        if (name is null)
        {
            return xdp.Count switch
            {
                1 => xdp[0],
                0 => throw new InvalidOperationException($"object {obj.Name} has no XDP program"),
                _ => throw new UsageException($"{command}: object {obj.Name} has {xdp.Count} XDP programs; choose one with --program ({string.Join(", ", xdp.Select(p => p.Name))})"),
            };
        }
        return xdp.FirstOrDefault(p => p.Name == name)
            ?? throw new KeyNotFoundException($"object {obj.Name} has no XDP program '{name}' (programs: {(xdp.Count == 0 ? "none" : string.Join(", ", xdp.Select(p => p.Name)))})");
    }

    /// <summary>
    /// The object reduced to one entry program (and the non-XDP code it may call), so each program is verified on
    /// its own and one rejection does not hide the verdict on the others.
    /// </summary>
    public static BpfObject Only(BpfObject obj, BpfProgram program) =>
        obj with { Programs = obj.Programs.Where(p => ReferenceEquals(p, program) || !p.IsXdp).ToImmutableArray() };
}
