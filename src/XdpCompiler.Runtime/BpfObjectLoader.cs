using System.Collections.Immutable;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Elf;

namespace XdpCompiler.Runtime;

/// <summary>Options for <see cref="BpfObjectLoader.Load(BpfObject, BpfObjectLoadOptions?)"/>.</summary>
public sealed record BpfObjectLoadOptions
{
    /// <summary>Where maps with <see cref="BpfMapPinning.ByName"/> are pinned and reused (libbpf's default).</summary>
    public string PinRoot { get; init; } = "/sys/fs/bpf";

    /// <summary>Load the object's BTF (map key/value types, source lines). Off only to test the kernel without it.</summary>
    public bool LoadBtf { get; init; } = true;

    /// <summary>
    /// Ask the verifier for its statistics (log level <c>BPF_LOG_STATS</c>) and keep them in
    /// <see cref="LoadedProgram.VerifierStats"/>: for benchmarks and tuning; it costs a log buffer per load.
    /// </summary>
    public bool CollectVerifierStats { get; init; }
}

/// <summary>
/// Loads a <see cref="BpfObject"/> into the kernel: its BTF, then its maps, then each XDP program relocated against
/// them. All or nothing: a failure disposes whatever the load had created and removes pins it made.
/// </summary>
public static class BpfObjectLoader
{
    /// <summary>Reads a BPF ELF object (ours or clang's) with <see cref="ElfObjectReader"/> and loads it.</summary>
    public static LoadedBpfObject Load(ReadOnlySpan<byte> elf, string name, BpfObjectLoadOptions? options = null) =>
        Load(ElfObjectReader.Read(elf, name), options);

    /// <summary>Reads the BPF ELF object at <paramref name="path"/> and loads it.</summary>
    public static LoadedBpfObject LoadFile(string path, BpfObjectLoadOptions? options = null) =>
        Load(ElfObjectReader.Read(path), options);

    public static LoadedBpfObject Load(BpfObject obj, BpfObjectLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(obj);
        options ??= new BpfObjectLoadOptions();
        var warnings = new List<string>();
        var maps = new Dictionary<string, LoadedMap>(StringComparer.Ordinal);
        var programs = new Dictionary<string, LoadedProgram>(StringComparer.Ordinal);
        var createdPins = new List<string>();
        LoadedBtf? btf = null;
        try
        {
            var strings = options.LoadBtf ? LoadBtf(obj, warnings, out btf) : null;

            foreach (var definition in obj.Maps)
            {
                if (maps.ContainsKey(definition.Name))
                    throw new InvalidOperationException($"Object {obj.Name} defines map '{definition.Name}' twice.");
                var map = CreateMap(definition, btf, options, createdPins);
                maps.Add(definition.Name, map);
                if (map.BtfWarning is not null)
                    warnings.Add(map.BtfWarning);
            }

            foreach (var program in obj.Programs)
            {
                if (!program.IsXdp)
                {
                    // .text holds subprograms the entry programs call; anything else is a program type we do not load.
                    if (program.Section != ".text")
                        warnings.Add($"Program {program.Name} in section '{program.Section}' is not XDP; it was not loaded.");
                    continue;
                }
                if (programs.ContainsKey(program.Name))
                    throw new InvalidOperationException($"Object {obj.Name} defines program '{program.Name}' twice.");
                var (code, functions) = ProgramLinker.Link(obj, program, maps);
                var debugInfo = ProgramLinker.DebugInfo(obj, functions, btf, strings);
                LoadedProgram loaded;
                try
                {
                    loaded = LoadedProgram.Load(program.Name, code, obj.License, debugInfo, options.CollectVerifierStats);
                }
                catch (BpfVerifierException rejected)
                {
                    // Linking appends subprograms after the entry program, so its own indices (and lines) still hold.
                    throw rejected.WithSource(program.Lines);
                }

                programs.Add(program.Name, loaded);
                if (loaded.DebugInfoWarning is not null)
                    warnings.Add(loaded.DebugInfoWarning);
            }

            return new LoadedBpfObject(obj, programs, maps, btf, warnings);
        }
        catch
        {
            foreach (var program in programs.Values)
                program.Dispose();
            foreach (var map in maps.Values)
                map.Dispose();
            btf?.Dispose();
            foreach (var path in createdPins)
                TryDelete(path);
            throw;
        }
    }

    private static BtfStringTable? LoadBtf(BpfObject obj, List<string> warnings, out LoadedBtf? btf)
    {
        btf = null;
        if (obj.Types.Types.IsDefaultOrEmpty)
        {
            if (obj.Programs.Any(p => !p.Lines.IsDefaultOrEmpty))
                warnings.Add($"Object {obj.Name} has line info but no BTF to carry it; its programs were loaded without source lines.");
            return null;
        }
        var strings = new BtfStringTable();
        try
        {
            ProgramLinker.AddLineStrings(obj, strings);
            btf = LoadedBtf.Load(BtfFixups.FillDataSections(obj.Types), strings, obj.Name);
            return strings;
        }
        catch (BpfException e)
        {
            warnings.Add($"The kernel refused the BTF of object {obj.Name} ({e.ErrnoName}); it was loaded without BTF, so maps have no key/value types and programs no source lines. {e.Hint}");
            return null;
        }
        catch (InvalidOperationException e)
        {
            warnings.Add($"The BTF of object {obj.Name} could not be written ({e.Message}); it was loaded without BTF.");
            return null;
        }
    }

    private static LoadedMap CreateMap(BpfMap definition, LoadedBtf? btf, BpfObjectLoadOptions options, List<string> createdPins)
    {
        if (definition.Pinning == BpfMapPinning.None)
            return LoadedMap.Create(definition, btf);
        if (definition.Pinning != BpfMapPinning.ByName)
            throw new NotSupportedException($"Map {definition.Name} asks for pinning mode {definition.Pinning}; only ByName is supported.");

        var path = Path.Combine(options.PinRoot, definition.Name);
        if (File.Exists(path))
            return LoadedMap.OpenPinned(path, definition);
        var map = LoadedMap.Create(definition, btf);
        try
        {
            map.Pin(path);
            createdPins.Add(path);
            return map;
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>An object's maps and programs in the kernel. Disposing it closes them all (links hold their programs).</summary>
public sealed class LoadedBpfObject : IDisposable
{
    private readonly Dictionary<string, LoadedProgram> _programs;
    private readonly Dictionary<string, LoadedMap> _maps;

    internal LoadedBpfObject(BpfObject obj, Dictionary<string, LoadedProgram> programs, Dictionary<string, LoadedMap> maps, LoadedBtf? btf, List<string> warnings)
    {
        Object = obj;
        _programs = programs;
        _maps = maps;
        Btf = btf;
        Warnings = warnings.ToImmutableArray();
    }

    public string Name => Object.Name;

    /// <summary>The object as it was given to the loader.</summary>
    public BpfObject Object { get; }

    public IReadOnlyDictionary<string, LoadedProgram> Programs => _programs;

    public IReadOnlyDictionary<string, LoadedMap> Maps => _maps;

    /// <summary>The object's BTF in the kernel, or null when it has none or the kernel refused it (see <see cref="Warnings"/>).</summary>
    public LoadedBtf? Btf { get; }

    /// <summary>What the load had to do without: BTF the kernel refused, func/line info it refused, programs it skipped.</summary>
    public ImmutableArray<string> Warnings { get; }

    public LoadedProgram Program(string name) => _programs.TryGetValue(name, out var program)
        ? program
        : throw new KeyNotFoundException($"Object {Name} has no XDP program '{name}' (programs: {string.Join(", ", _programs.Keys)}).");

    public LoadedMap Map(string name) => _maps.TryGetValue(name, out var map)
        ? map
        : throw new KeyNotFoundException($"Object {Name} has no map '{name}' (maps: {string.Join(", ", _maps.Keys)}).");

    public void Dispose()
    {
        foreach (var program in _programs.Values)
            program.Dispose();
        foreach (var map in _maps.Values)
            map.Dispose();
        Btf?.Dispose();
    }
}
