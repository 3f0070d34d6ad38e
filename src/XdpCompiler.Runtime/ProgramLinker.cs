using System.Collections.Immutable;
using XdpCompiler.Core.Bpf;
using XdpCompiler.Core.Btf;
using XdpCompiler.Core.Objects;
using XdpCompiler.Runtime.Interop;

namespace XdpCompiler.Runtime;

/// <summary>
/// Turns an entry program of an object into the instructions the kernel loads: map references become
/// <c>ld_imm64 src=BPF_PSEUDO_MAP_FD imm=fd</c>, global variables <c>ld_imm64 src=BPF_PSEUDO_MAP_VALUE imm=fd</c>
/// with the offset in the second slot's imm (the variable's offset plus the instruction's own imm, as libbpf adds
/// them), and BPF-to-BPF callees (other functions of the object, usually in
/// <c>.text</c>) are appended after the entry, as libbpf does, with each call's offset fixed.
/// </summary>
internal static class ProgramLinker
{
    private const string BpfTextSection = ".text";

    /// <summary>A function placed in the linked program, at instruction <paramref name="Start"/>.</summary>
    internal sealed record PlacedFunction(BpfProgram Function, int Start);

    internal static (ImmutableArray<Instruction> Code, ImmutableArray<PlacedFunction> Functions) Link(
        BpfObject obj, BpfProgram entry, IReadOnlyDictionary<string, LoadedMap> maps,
        IReadOnlyDictionary<string, (LoadedMap Map, BpfGlobalVariable Variable)> globals)
    {
        var code = new List<Instruction>(entry.Instructions);
        var placed = new List<PlacedFunction> { new(entry, 0) };
        for (var f = 0; f < placed.Count; f++)
        {
            var (function, start) = placed[f];
            foreach (var relocation in function.Relocations)
            {
                var where = $"program {entry.Name}" + (function == entry ? "" : $" (function {function.Name})")
                    + $", instruction {relocation.InstructionIndex}";
                if (relocation.InstructionIndex < 0 || relocation.InstructionIndex >= function.Instructions.Length)
                    throw new InvalidOperationException($"{where}: the relocation against '{relocation.Symbol}' points outside the function ({function.Instructions.Length} instructions).");
                var index = start + relocation.InstructionIndex;
                switch (relocation.Kind)
                {
                    case BpfRelocationKind.Map:
                        if (!code[index].IsLoadImm64 || index + 1 >= code.Count)
                            throw new InvalidOperationException($"{where}: the map relocation against '{relocation.Symbol}' is not on an ld_imm64 instruction (found {code[index]}).");
                        if (!maps.TryGetValue(relocation.Symbol, out var map))
                            throw new InvalidOperationException($"{where}: refers to map '{relocation.Symbol}', which object {obj.Name} does not define (maps: {string.Join(", ", maps.Keys)}).");
                        code[index] = code[index] with { Src = (byte)PseudoLoad.MapFd, Imm = map.Fd.Value };
                        code[index + 1] = code[index + 1] with { Imm = 0 };
                        break;

                    case BpfRelocationKind.Call:
                        if (!code[index].IsCall || code[index].Src != 1)
                            throw new InvalidOperationException($"{where}: the call relocation against '{relocation.Symbol}' is not on a BPF-to-BPF call (found {code[index]}).");
                        var callee = placed.FirstOrDefault(p => p.Function.Name == relocation.Symbol);
                        if (callee is null)
                        {
                            // Each callee is appended once per entry program, however many calls reach it; its own
                            // relocations (maps, globals, further calls) are applied when the loop reaches it.
                            var target = obj.Programs.FirstOrDefault(p => p.Name == relocation.Symbol && p.Section == BpfTextSection)
                                ?? obj.Programs.FirstOrDefault(p => p.Name == relocation.Symbol)
                                ?? throw new InvalidOperationException($"{where}: calls '{relocation.Symbol}', which object {obj.Name} does not define (functions: {string.Join(", ", obj.Programs.Select(p => p.Name))}).");
                            if (target.Instructions.IsDefaultOrEmpty)
                                throw new InvalidOperationException($"{where}: calls '{relocation.Symbol}', which has no instructions.");
                            callee = new PlacedFunction(target, code.Count);
                            code.AddRange(target.Instructions);
                            placed.Add(callee);
                        }
                        code[index] = code[index] with { Imm = callee.Start - (index + 1) };
                        break;

                    case BpfRelocationKind.GlobalData:
                        if (!code[index].IsLoadImm64 || index + 1 >= code.Count)
                            throw new InvalidOperationException($"{where}: the global data relocation against '{relocation.Symbol}' is not on an ld_imm64 instruction (found {code[index]}).");
                        if (!globals.TryGetValue(relocation.Symbol, out var global))
                            throw new InvalidOperationException($"{where}: refers to global variable '{relocation.Symbol}', which object {obj.Name} does not define (variables: {GlobalData.Describe(obj)}).");
                        var offset = (long)global.Variable.Offset + code[index].Imm;
                        if (offset < 0 || offset >= global.Map.ValueSize)
                            throw new InvalidOperationException($"{where}: '{relocation.Symbol}' + {code[index].Imm} is offset {offset}, outside its {global.Map.ValueSize}-byte section.");
                        code[index] = code[index] with { Src = (byte)PseudoLoad.MapValue, Imm = global.Map.Fd.Value };
                        code[index + 1] = code[index + 1] with { Imm = (int)offset };
                        break;

                    default:
                        throw new NotSupportedException($"{where}: unknown relocation kind {relocation.Kind}.");
                }
            }
        }
        return (code.ToImmutableArray(), placed.ToImmutableArray());
    }

    /// <summary>
    /// The func_info and line_info for a linked program, from the object's BTF: one func_info per placed function
    /// whose name has a BTF FUNC (all or none, as the kernel demands), and each function's line info shifted to where
    /// it was placed. This is the hook the .BTF.ext reader feeds through <see cref="BpfProgram.Lines"/>.
    /// </summary>
    internal static ProgramDebugInfo? DebugInfo(BpfObject obj, ImmutableArray<PlacedFunction> functions, LoadedBtf? btf, BtfStringTable? strings)
    {
        if (btf is null || strings is null)
            return null;

        var funcIds = new Dictionary<string, uint>(StringComparer.Ordinal);
        for (var i = 0; i < obj.Types.Types.Length; i++)
        {
            if (obj.Types.Types[i] is BtfFunc func)
                funcIds.TryAdd(func.Name, (uint)(i + 1));
        }
        var funcInfo = ImmutableArray<FuncInfoRecord>.Empty;
        if (functions.All(f => funcIds.ContainsKey(f.Function.Name)))
            funcInfo = functions.Select(f => new FuncInfoRecord { InsnOff = (uint)f.Start, TypeId = funcIds[f.Function.Name] }).ToImmutableArray();

        var lines = new SortedDictionary<int, LineInfoRecord>();
        var anyLines = functions.Any(f => !f.Function.Lines.IsDefaultOrEmpty);
        foreach (var (function, start) in functions)
        {
            // The kernel wants a line at the first instruction of every subprogram as soon as there is any line info:
            // a callee without one gets its first line, or a line naming it. The entry's lines are left as given, so
            // bad ones still show as the kernel's refusal and a warning.
            if (anyLines && start > 0 && (function.Lines.IsDefaultOrEmpty || !function.Lines.Any(l => l.InstructionIndex == 0)))
            {
                var first = function.Lines.IsDefaultOrEmpty
                    ? new BpfLineInfo(0, "", 0, 0, function.Name)
                    : function.Lines.OrderBy(l => l.InstructionIndex).First();
                lines[start] = Record(start, first);
            }
            foreach (var line in function.Lines)
            {
                var at = start + line.InstructionIndex;
                if (line.InstructionIndex < 0 || line.InstructionIndex >= function.Instructions.Length || lines.ContainsKey(at))
                    continue;
                lines[at] = Record(at, line);
            }
        }
        if (funcInfo.IsEmpty && lines.Count == 0)
            return null;
        return new ProgramDebugInfo(btf, funcInfo, lines.Values.ToImmutableArray());

        LineInfoRecord Record(int at, BpfLineInfo line) => new()
        {
            InsnOff = (uint)at,
            FileNameOff = strings.Add(line.File),
            LineOff = strings.Add(line.LineText),
            LineCol = ((uint)Math.Max(line.Line, 0) << 10) | (uint)Math.Clamp(line.Column, 0, 1023),
        };
    }

    /// <summary>The line info of every placed function, shifted to where it landed: verifier errors in callees find their source too.</summary>
    internal static ImmutableArray<BpfLineInfo> Lines(ImmutableArray<PlacedFunction> functions) =>
        functions.SelectMany(f => (f.Function.Lines.IsDefault ? ImmutableArray<BpfLineInfo>.Empty : f.Function.Lines)
            .Select(l => l with { InstructionIndex = f.Start + l.InstructionIndex })).ToImmutableArray();

    /// <summary>Adds every line-info string to <paramref name="strings"/> before the BTF is written, so their offsets exist in the loaded BTF.</summary>
    internal static void AddLineStrings(BpfObject obj, BtfStringTable strings)
    {
        strings.Add("");
        foreach (var program in obj.Programs)
        {
            strings.Add(program.Name); // the line DebugInfo makes up for a function that has none
            foreach (var line in program.Lines)
            {
                strings.Add(line.File);
                strings.Add(line.LineText);
            }
        }
    }
}
