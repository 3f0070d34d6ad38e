using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    /// <summary>
    /// The verifier log level for a rejected program's log (<see cref="BpfVerifierException.Log"/>) and for
    /// <see cref="KeepVerifierLog"/>: <see cref="VerifierLogLevel.Basic"/> (level 1, the default),
    /// <see cref="VerifierLogLevel.Verbose"/> (level 2: register state at every instruction), either with
    /// <see cref="VerifierLogLevel.Stats"/>.
    /// </summary>
    public VerifierLogLevel VerifierLogLevel { get; init; } = VerifierLogLevel.Basic;

    /// <summary>
    /// Keep the verifier's log of every accepted program in <see cref="LoadedProgram.VerifierLog"/>: each load then runs
    /// with the log on, which costs a buffer and, at <see cref="VerifierLogLevel.Verbose"/>, verifier time.
    /// </summary>
    public bool KeepVerifierLog { get; init; }

    /// <summary>
    /// Values of global variables written into their sections before load, by variable name: load-time constants for
    /// <c>.rodata</c> (which is frozen afterwards, so the verifier prunes code they disable), and initial values for
    /// <c>.data</c>/<c>.bss</c>. Each value must be exactly the variable's size; an unknown name fails the load.
    /// <see cref="WithConstant{T}"/> adds one typed value.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]> Constants { get; init; } = ImmutableDictionary<string, byte[]>.Empty;

    /// <summary>These options with <paramref name="name"/> set to <paramref name="value"/> (its bytes, native order) before load.</summary>
    public BpfObjectLoadOptions WithConstant<T>(string name, T value) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(name);
        var bytes = new byte[Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(bytes, in value);
        var constants = new Dictionary<string, byte[]>(Constants, StringComparer.Ordinal) { [name] = bytes };
        return this with { Constants = constants };
    }
}

/// <summary>
/// Loads a <see cref="BpfObject"/> into the kernel: its BTF, then its maps and one map per global-data section (as
/// libbpf does), then each XDP program relocated against them. All or nothing: a failure disposes whatever the load
/// had created and removes pins it made.
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
        var dataSections = new Dictionary<string, LoadedDataSection>(StringComparer.Ordinal);
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

            var initial = GlobalData.InitialContents(obj, options.Constants ?? ImmutableDictionary<string, byte[]>.Empty);
            var globals = new Dictionary<string, (LoadedMap, BpfGlobalVariable)>(StringComparer.Ordinal);
            foreach (var section in obj.DataSections)
            {
                if (dataSections.ContainsKey(section.Name))
                    throw new InvalidOperationException($"Object {obj.Name} has data section '{section.Name}' twice.");
                var data = GlobalData.Create(obj, section, initial[section.Name], btf);
                dataSections.Add(section.Name, data);
                if (data.Map.BtfWarning is not null)
                    warnings.Add(data.Map.BtfWarning);
                foreach (var variable in section.Variables)
                {
                    if (!globals.TryAdd(variable.Name, (data.Map, variable)))
                        throw new InvalidOperationException($"Object {obj.Name} has two global variables named '{variable.Name}'; relocations could not tell them apart.");
                }
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
                var (code, functions) = ProgramLinker.Link(obj, program, maps, globals);
                var debugInfo = ProgramLinker.DebugInfo(obj, functions, btf, strings);
                LoadedProgram loaded;
                try
                {
                    loaded = LoadedProgram.Load(program.Name, code, obj.License, debugInfo,
                        new LoadedProgram.ProgramLoadSettings(program.Section, options.CollectVerifierStats, options.VerifierLogLevel, options.KeepVerifierLog));
                }
                catch (BpfVerifierException rejected)
                {
                    // Linking appends subprograms after the entry program; their lines are shifted to where they landed.
                    throw rejected.WithSource(ProgramLinker.Lines(functions));
                }

                programs.Add(program.Name, loaded);
                if (loaded.DebugInfoWarning is not null)
                    warnings.Add(loaded.DebugInfoWarning);
            }

            FillProgramArrays(obj, maps, programs);
            return new LoadedBpfObject(obj, programs, maps, dataSections, btf, warnings);
        }
        catch
        {
            foreach (var program in programs.Values)
                program.Dispose();
            foreach (var map in maps.Values)
                map.Dispose();
            foreach (var data in dataSections.Values)
                data.Map.Dispose();
            btf?.Dispose();
            foreach (var path in createdPins)
                TryDelete(path);
            throw;
        }
    }

    /// <summary>
    /// Puts each program array's initial programs (libbpf's <c>.values</c>) into their slots, as libbpf does once the
    /// programs are loaded. A program array pinned by an earlier load is filled again, with this load's programs.
    /// </summary>
    private static void FillProgramArrays(BpfObject obj, Dictionary<string, LoadedMap> maps, Dictionary<string, LoadedProgram> programs)
    {
        foreach (var definition in obj.Maps.Where(m => m.HasInitialPrograms))
        {
            var map = maps[definition.Name];
            for (var slot = 0; slot < definition.InitialPrograms.Length; slot++)
            {
                if (definition.InitialPrograms[slot] is not { Length: > 0 } name)
                    continue;
                if (!programs.TryGetValue(name, out var program))
                    throw new InvalidOperationException($"Map {definition.Name} of object {obj.Name} starts with program '{name}' in slot {slot}, but the object loaded no XDP program of that name.");
                var fd = program.Fd.Value;
                map.Update(BitConverter.GetBytes((uint)slot), BitConverter.GetBytes(fd));
            }
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
    private readonly Dictionary<string, LoadedDataSection> _dataSections;

    internal LoadedBpfObject(BpfObject obj, Dictionary<string, LoadedProgram> programs, Dictionary<string, LoadedMap> maps,
        Dictionary<string, LoadedDataSection> dataSections, LoadedBtf? btf, List<string> warnings)
    {
        Object = obj;
        _programs = programs;
        _maps = maps;
        _dataSections = dataSections;
        Btf = btf;
        Warnings = warnings.ToImmutableArray();
    }

    public string Name => Object.Name;

    /// <summary>The object as it was given to the loader.</summary>
    public BpfObject Object { get; }

    public IReadOnlyDictionary<string, LoadedProgram> Programs => _programs;

    /// <summary>The object's own (BTF-defined) maps by name; global-data maps are in <see cref="DataSections"/>.</summary>
    public IReadOnlyDictionary<string, LoadedMap> Maps => _maps;

    /// <summary>The global-data sections by section name (<c>.data</c>, <c>.rodata</c>, <c>.bss</c>), each with its array map.</summary>
    public IReadOnlyDictionary<string, LoadedDataSection> DataSections => _dataSections;

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

    public LoadedDataSection DataSection(string name) => _dataSections.TryGetValue(name, out var section)
        ? section
        : throw new KeyNotFoundException($"Object {Name} has no data section '{name}' (sections: {(_dataSections.Count == 0 ? "none" : string.Join(", ", _dataSections.Keys))}).");

    /// <summary>
    /// The global variable <paramref name="name"/> as a <typeparamref name="T"/> (whose size must be the variable's):
    /// <c>loaded.Global&lt;ulong&gt;("hits").Value</c> reads it; setting <c>Value</c> writes <c>.data</c> and <c>.bss</c>
    /// variables (<c>.rodata</c> is frozen: use <see cref="BpfObjectLoadOptions.Constants"/> before load).
    /// </summary>
    public GlobalVariable<T> Global<T>(string name) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var section in _dataSections.Values)
        {
            foreach (var variable in section.Variables)
            {
                if (variable.Name == name)
                    return new GlobalVariable<T>(section, variable);
            }
        }
        throw new KeyNotFoundException($"Object {Name} has no global variable '{name}' (variables: {GlobalData.Describe(Object)}).");
    }

    public void Dispose()
    {
        foreach (var program in _programs.Values)
            program.Dispose();
        foreach (var map in _maps.Values)
            map.Dispose();
        foreach (var section in _dataSections.Values)
            section.Map.Dispose();
        Btf?.Dispose();
    }
}
