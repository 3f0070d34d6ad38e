using System.Globalization;
using System.Text;
using XdpCompiler.Core.Objects;

namespace XdpCompiler.Core.Bpf;

/// <summary>
/// eBPF instructions as text, in the syntax and layout of <c>llvm-objdump-19 -d</c>: the C-like assembler syntax clang
/// accepts in inline asm, which <c>bpftool prog dump xlated</c> and the kernel verifier log also use (they print
/// immediates in decimal and offsets without the spaces).
/// </summary>
/// <remarks>
/// The output is meant to be byte-for-byte what LLVM 19 prints, so a listing of our code can be diffed against a
/// listing of clang's. That includes LLVM's quirks: every immediate and offset is hex (<c>-0x4</c>, not
/// <c>0xfffffffc</c>); encodings LLVM's decoder rejects print as <c>&lt;unknown&gt;</c>, even where the kernel would
/// accept them; and without <see cref="DisassemblyOptions.Alu32"/>, 32-bit atomics other than <c>add</c> are
/// unknown and <c>add</c> shows no fetch, because llvm-objdump decodes without the alu32 feature by default.
/// The tests compare every line against the real llvm-objdump-19 on clang-built and fuzzed objects.
/// </remarks>
public static class Disassembler
{
    /// <summary>What llvm-objdump prints for bytes that do not decode.</summary>
    public const string UnknownText = "<unknown>";

    private static readonly string[] RegisterNames = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11"];
    private static readonly string[] SubregisterNames = ["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "w11"];

    /// <summary>
    /// One instruction's text as <c>llvm-objdump-19 -d</c> prints it after the hex bytes (without the
    /// <c>&lt;symbol+0x..&gt;</c> branch-target note, which needs the listing's symbols). Never throws: bytes that do not
    /// decode give <see cref="UnknownText"/>.
    /// </summary>
    /// <param name="instruction">The instruction, or the first slot of an <c>ld_imm64</c>.</param>
    /// <param name="next">The second slot of an <c>ld_imm64</c> (its imm is the upper 32 bits). When null, the upper
    /// half is taken as 0, so a lone first slot still reads as a load; ignored for every other instruction.</param>
    public static string Format(Instruction instruction, Instruction? next) => Format(instruction, next, alu32: false);

    /// <inheritdoc cref="Format(Instruction, Instruction?)"/>
    /// <param name="alu32">Decode 32-bit loads, stores and atomics with <c>w</c> registers, as
    /// <c>llvm-objdump --mattr=+alu32</c> does.</param>
    public static string Format(Instruction instruction, Instruction? next, bool alu32) =>
        Decode(instruction, next?.Imm ?? 0, alu32) ?? UnknownText;

    /// <summary>
    /// A listing in llvm-objdump's layout: one line per instruction (<c>"       0:\tb7 00 00 00 02 00 00 00\tr0 = 0x2"</c>),
    /// with the optional section header, symbol labels, branch-target notes, relocations and source lines that
    /// <paramref name="options"/> asks for. Every line ends with <c>\n</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="instructions"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A symbol or relocation names an instruction outside the list.</exception>
    public static string Disassemble(IReadOnlyList<Instruction> instructions, DisassemblyOptions? options = null)
    {
        if (instructions is null)
            throw new ArgumentNullException(nameof(instructions));
        options ??= DisassemblyOptions.Default;
        return new Listing(instructions, options).Write();
    }

    // --- Decoding: the cases LLVM 19's decoder tables accept, field by field. A field the encoding fixes must match;
    // every other field is ignored, as LLVM ignores it (e.g. src of "r1 = 5", imm of "r1 = r2", all but off of goto).

    /// <summary>The text of one instruction, or null where LLVM's decoder fails.</summary>
    private static string? Decode(Instruction insn, int upperImm, bool alu32) => insn.Class switch
    {
        OpClass.Ld => DecodeLd(insn, upperImm),
        OpClass.Ldx => DecodeLdx(insn, alu32),
        OpClass.St => DecodeSt(insn),
        OpClass.Stx => DecodeStx(insn, alu32),
        OpClass.Alu or OpClass.Alu64 => DecodeAlu(insn),
        _ => DecodeJmp(insn),
    };

    /// <summary>True where LLVM decodes the first slot as a 16-byte <c>ld_imm64</c> (so it needs the second slot).</summary>
    private static bool IsWideLoad(Instruction insn) => insn.IsLoadImm64 && insn.Offset == 0 && IsRegister(insn.Dst);

    private static string? DecodeLd(Instruction insn, int upperImm)
    {
        if (insn.IsLoadImm64)
        {
            if (!IsWideLoad(insn))
                return null;
            if (insn.Src != 0)
            {
                // LLVM 19 merges the upper half into the pseudo operand rather than the immediate and prints only the
                // pseudo's low 32 bits, so the upper half never shows.
                return $"ld_pseudo\t{R(insn.Dst)}, {Hex(insn.Src)}, {Hex((uint)insn.Imm)}";
            }

            return $"{R(insn.Dst)} = {Hex(unchecked((long)(((ulong)(uint)upperImm << 32) | (uint)insn.Imm)))} ll";
        }

        if (insn.MemSize == MemSize.DW)
            return null;
        return insn.MemMode switch
        {
            // Legacy packet loads: the result is always r0 and the context implicitly r6.
            MemMode.Abs => $"r0 = *({Unsigned(insn.MemSize)} *)skb[{Hex(insn.Imm)}]",
            MemMode.Ind when IsRegister(insn.Src) => $"r0 = *({Unsigned(insn.MemSize)} *)skb[{R(insn.Src)}]",
            _ => null,
        };
    }

    private static string? DecodeLdx(Instruction insn, bool alu32)
    {
        if (!IsRegister(insn.Dst) || !IsRegister(insn.Src))
            return null;
        var address = Address(insn.Src, insn.Offset);
        return insn.MemMode switch
        {
            MemMode.Mem => $"{(alu32 && insn.MemSize != MemSize.DW ? W(insn.Dst) : R(insn.Dst))} = *({Unsigned(insn.MemSize)} *)({address})",
            MemMode.MemSx when insn.MemSize != MemSize.DW => $"{R(insn.Dst)} = *({Signed(insn.MemSize)} *)({address})",
            _ => null,
        };
    }

    private static string? DecodeSt(Instruction insn)
    {
        if (insn.MemMode != MemMode.Mem || !IsRegister(insn.Dst))
            return null;
        return $"*({Unsigned(insn.MemSize)} *)({Address(insn.Dst, insn.Offset)}) = {Hex(insn.Imm)}";
    }

    private static string? DecodeStx(Instruction insn, bool alu32)
    {
        if (!IsRegister(insn.Dst) || !IsRegister(insn.Src))
            return null;
        var address = Address(insn.Dst, insn.Offset);
        var narrow = insn.MemSize != MemSize.DW;
        if (insn.MemMode == MemMode.Mem)
            return $"*({Unsigned(insn.MemSize)} *)({address}) = {(alu32 && narrow ? W(insn.Src) : R(insn.Src))}";
        if (insn.MemMode != MemMode.Atomic || insn.MemSize is MemSize.H or MemSize.B)
            return null;

        // Only the low byte of imm is decoded: the operation in bits 4-7 and BPF_FETCH in bits 0-3. A no-fetch
        // operation ignores bits 0-3 unless they say fetch.
        var operation = (insn.Imm >> 4) & 0xf;
        var fetch = (insn.Imm & 0xf) == (int)AtomicOp.Fetch;
        if (narrow && !alu32)
        {
            // Without alu32 LLVM knows one 32-bit atomic, the old XADD, whatever bits 0-3 say.
            return operation == 0 ? $"lock *(u32 *)({address}) += {R(insn.Src)}" : null;
        }

        var width = narrow ? "u32" : "u64";
        var src = narrow ? W(insn.Src) : R(insn.Src);
        var (symbol, name) = operation switch
        {
            0x0 => ("+", "add"),
            0x4 => ("|", "or"),
            0x5 => ("&", "and"),
            0xa => ("^", "xor"),
            _ => (null, null),
        };
        if (symbol is not null)
        {
            return fetch
                ? $"{src} = atomic_fetch_{name}(({width} *)({address}), {src})"
                : $"lock *({width} *)({address}) {symbol}= {src}";
        }

        if (!fetch)
            return null;
        return (operation, narrow) switch
        {
            (0xe, false) => $"{src} = xchg_64({address}, {src})",
            (0xe, true) => $"{src} = xchg32_32({address}, {src})",
            (0xf, false) => $"r0 = cmpxchg_64({address}, r0, {src})",
            (0xf, true) => $"w0 = cmpxchg32_32({address}, w0, {src})",
            _ => null,
        };
    }

    private static string? DecodeAlu(Instruction insn)
    {
        if (!IsRegister(insn.Dst))
            return null;
        var wide = insn.Class == OpClass.Alu64;
        var byRegister = insn.Source == OpSource.X;
        // The byte swaps use the source bit for their direction, not for a register.
        if (byRegister && insn.AluOp != AluOp.End && !IsRegister(insn.Src))
            return null;
        var dst = wide ? R(insn.Dst) : W(insn.Dst);
        var operand = byRegister && IsRegister(insn.Src) ? (wide ? R(insn.Src) : W(insn.Src)) : Hex(insn.Imm);
        var off = insn.Offset;

        switch (insn.AluOp)
        {
            case AluOp.Neg:
                return byRegister ? null : $"{dst} = -{dst}";
            case AluOp.Div or AluOp.Mod:
                var sign = off switch { 0 => "", 1 => "s", _ => null };
                return sign is null ? null : $"{dst} {sign}{(insn.AluOp == AluOp.Div ? "/" : "%")}= {operand}";
            case AluOp.Mov:
                if (off == 0)
                    return $"{dst} = {operand}";
                if (!byRegister)
                    return null;
                // v4 movsx: off is the source width; off 1 on ALU64 is the arena address-space cast.
                return (off, wide) switch
                {
                    (8 or 16, _) or (32, true) => $"{dst} = (s{off}){operand}",
                    (1, true) => $"{dst} = addr_space_cast({operand}, {Hex((insn.Imm >> 16) & 0xffff)}, {Hex(insn.Imm & 0xffff)})",
                    _ => null,
                };
            case AluOp.End:
                if (insn.Imm is not (16 or 32 or 64))
                    return null;
                var swap = (wide, byRegister) switch
                {
                    (false, false) => "le",
                    (false, true) => "be",
                    (true, false) => "bswap",
                    _ => null,
                };
                return swap is null ? null : $"{R(insn.Dst)} = {swap}{insn.Imm} {R(insn.Dst)}";
        }

        var symbol = insn.AluOp switch
        {
            AluOp.Add => "+=",
            AluOp.Sub => "-=",
            AluOp.Mul => "*=",
            AluOp.Or => "|=",
            AluOp.And => "&=",
            AluOp.Lsh => "<<=",
            AluOp.Rsh => ">>=",
            AluOp.Xor => "^=",
            AluOp.Arsh => "s>>=",
            _ => null,
        };
        return symbol is null || off != 0 ? null : $"{dst} {symbol} {operand}";
    }

    private static string? DecodeJmp(Instruction insn)
    {
        var wide = insn.Class == OpClass.Jmp;
        var byRegister = insn.Source == OpSource.X;
        switch (insn.JmpOp)
        {
            case JmpOp.Ja:
                // JMP32|JA is v4's gotol, whose 32-bit offset lives in imm.
                return byRegister ? null : wide ? $"goto {Branch(insn.Offset)}" : $"gotol {Branch(insn.Imm)}";
            case JmpOp.Call:
                if (!wide)
                    return null;
                if (!byRegister)
                    return $"call {Hex(insn.Imm)}";
                return IsRegister(insn.Dst) ? $"callx {R(insn.Dst)}" : null;
            case JmpOp.Exit:
                return wide && !byRegister && insn.Imm == 0 ? "exit" : null;
            case (JmpOp)0xe0:
                // BPF_JCOND: may_goto, the v6.9 bounded-loop escape.
                return wide && !byRegister ? $"may_goto {Branch(insn.Offset)}" : null;
        }

        var condition = Condition(insn.JmpOp);
        if (condition is null || !IsRegister(insn.Dst) || (byRegister && !IsRegister(insn.Src)))
            return null;
        var dst = wide ? R(insn.Dst) : W(insn.Dst);
        var operand = byRegister ? (wide ? R(insn.Src) : W(insn.Src)) : Hex(insn.Imm);
        return $"if {dst} {condition} {operand} goto {Branch(insn.Offset)}";
    }

    private static string? Condition(JmpOp op) => op switch
    {
        JmpOp.Jeq => "==",
        JmpOp.Jgt => ">",
        JmpOp.Jge => ">=",
        JmpOp.Jset => "&",
        JmpOp.Jne => "!=",
        JmpOp.Jsgt => "s>",
        JmpOp.Jsge => "s>=",
        JmpOp.Jlt => "<",
        JmpOp.Jle => "<=",
        JmpOp.Jslt => "s<",
        JmpOp.Jsle => "s<=",
        _ => null,
    };

    /// <summary>
    /// The relative jump (in instructions) of a branch LLVM annotates with its target: conditional jumps, goto,
    /// gotol and may_goto. Calls and exit have none.
    /// </summary>
    private static long? BranchDisplacement(Instruction insn)
    {
        if (!insn.IsJump || Decode(insn, 0, alu32: false) is null)
            return null;
        if (insn.JmpOp == JmpOp.Ja)
            return insn.Class == OpClass.Jmp32 ? insn.Imm : insn.Offset;
        return insn.JmpOp is JmpOp.Call or JmpOp.Exit ? null : insn.Offset;
    }

    // --- Operand printing, as LLVM's BPFInstPrinter: immediates through formatHex ("-0x" for negatives), memory
    // offsets as " + 0x.." / " - 0x..", branch offsets with an explicit "+".

    private static bool IsRegister(byte number) => number < RegisterNames.Length;

    private static string R(byte number) => RegisterNames[number];

    private static string W(byte number) => SubregisterNames[number];

    private static string Hex(long value) => value switch
    {
        long.MinValue => "-0x8000000000000000",
        < 0 => "-0x" + (-value).ToString("x", CultureInfo.InvariantCulture),
        _ => "0x" + value.ToString("x", CultureInfo.InvariantCulture),
    };

    private static string Branch(long offset) => offset >= 0 ? "+" + Hex(offset) : Hex(offset);

    private static string Address(byte register, short offset) =>
        offset >= 0 ? $"{R(register)} + {Hex(offset)}" : $"{R(register)} - {Hex(-(long)offset)}";

    private static string Unsigned(MemSize size) => size switch
    {
        MemSize.W => "u32",
        MemSize.H => "u16",
        MemSize.B => "u8",
        _ => "u64",
    };

    private static string Signed(MemSize size) => size switch
    {
        MemSize.W => "s32",
        MemSize.H => "s16",
        _ => "s8",
    };

    /// <summary>
    /// The listing loop of llvm-objdump's disassembleObject, over the encoded bytes rather than the instruction list,
    /// so the corner cases come out the same: runs of zero bytes print as "...", a truncated ld_imm64 is skipped a
    /// byte at a time, and a chunk restarts at each symbol even in the middle of an ld_imm64.
    /// </summary>
    private sealed class Listing
    {
        private readonly byte[] bytes;
        private readonly DisassemblyOptions options;
        private readonly List<(long Address, string Name)> symbols;
        private readonly List<(long Offset, string Type, string Symbol)>? relocations;
        private readonly StringBuilder text = new();
        private int nextRelocation;

        public Listing(IReadOnlyList<Instruction> instructions, DisassemblyOptions options)
        {
            this.options = options;
            bytes = Instruction.Encode(instructions);
            var count = instructions.Count;

            symbols = [];
            foreach (var symbol in options.Symbols ?? [])
            {
                if (symbol.InstructionIndex < 0 || symbol.InstructionIndex >= count)
                    throw new ArgumentOutOfRangeException(nameof(options), $"Symbol '{symbol.Name}' is at instruction {symbol.InstructionIndex}, outside the {count} instructions being disassembled.");
                symbols.Add(((long)symbol.InstructionIndex * Instruction.Size, symbol.Name));
            }

            // llvm-objdump sorts by address, then name; of several symbols at one address the last is the label shown
            // and the one branch targets are named after.
            symbols = [.. symbols.OrderBy(s => s.Address).ThenBy(s => s.Name, StringComparer.Ordinal)];
            if (options.SectionName is { } section && (symbols.Count == 0 || symbols[0].Address != 0))
                symbols.Insert(0, (0, section));

            if (options.Relocations is { } given)
            {
                relocations = [];
                foreach (var relocation in given)
                {
                    if (relocation.InstructionIndex < 0 || relocation.InstructionIndex >= count)
                        throw new ArgumentOutOfRangeException(nameof(options), $"Relocation against '{relocation.Symbol}' is at instruction {relocation.InstructionIndex}, outside the {count} instructions being disassembled.");
                    var type = relocation.Type ?? (instructions[relocation.InstructionIndex].IsCall ? "R_BPF_64_32" : "R_BPF_64_64");
                    relocations.Add(((long)relocation.InstructionIndex * Instruction.Size, type, relocation.Symbol));
                }

                relocations = [.. relocations.OrderBy(r => r.Offset)];
            }
        }

        public string Write()
        {
            // An empty section gets no header from llvm-objdump either.
            if (bytes.Length == 0)
                return "";
            if (options.SectionName is { } section)
                text.Append("Disassembly of section ").Append(section).Append(":\n");

            var firstSymbol = symbols.Count == 0 ? bytes.Length : symbols[0].Address;
            if (firstSymbol > 0)
                WriteChunk(0, firstSymbol);
            for (var i = 0; i < symbols.Count;)
            {
                var start = symbols[i].Address;
                while (i < symbols.Count && symbols[i].Address == start)
                    i++;
                var end = i < symbols.Count ? symbols[i].Address : bytes.Length;
                if (text.Length > 0)
                    text.Append('\n');
                text.Append(start.ToString("x16", CultureInfo.InvariantCulture)).Append(" <").Append(symbols[i - 1].Name).Append(">:\n");
                WriteChunk(start, end);
            }

            return text.ToString();
        }

        private void WriteChunk(long start, long end)
        {
            // Relocations of bytes no chunk shows are dropped, as llvm-objdump drops them.
            while (relocations is not null && nextRelocation < relocations.Count && relocations[nextRelocation].Offset < start)
                nextRelocation++;

            var index = start;
            while (index < end)
            {
                var zeroes = SkippableZeroes(index, end);
                if (zeroes > 0)
                {
                    text.Append("\t\t...\n");
                    index += zeroes;
                    continue;
                }

                var size = DecodeAt(index, out var line, out var branch);
                if (index % Instruction.Size == 0 && options.SourceLine?.Invoke((int)(index / Instruction.Size)) is { } source)
                {
                    foreach (var sourceLine in source.Replace("\r\n", "\n").Split('\n'))
                        text.Append("; ").Append(sourceLine).Append('\n');
                }

                text.Append((index / Instruction.Size).ToString(CultureInfo.InvariantCulture).PadLeft(8)).Append(':');
                if (options.ShowRawBytes)
                {
                    text.Append('\t');
                    for (var i = 0; i < size; i++)
                    {
                        if (i > 0)
                            text.Append(' ');
                        text.Append(bytes[index + i].ToString("x2", CultureInfo.InvariantCulture));
                    }
                }

                text.Append('\t').Append(line ?? UnknownText);
                if (branch is { } displacement)
                    AppendTarget(unchecked((ulong)index + Instruction.Size + (ulong)(displacement * Instruction.Size)));
                text.Append('\n');
                WriteRelocations(index, size);
                index += size;
            }
        }

        /// <summary>How many bytes one decode step covers (LLVM's Size), with the text and branch displacement.</summary>
        private int DecodeAt(long index, out string? line, out long? branch)
        {
            line = null;
            branch = null;
            var available = bytes.Length - index;
            if (available < Instruction.Size)
                return 1;
            var insn = Instruction.ReadFrom(bytes.AsSpan((int)index));
            if (IsWideLoad(insn))
            {
                // LLVM's decoder gives up on a truncated ld_imm64 with size 0, so objdump steps a single byte.
                if (available < 2 * Instruction.Size)
                    return 1;
                line = Decode(insn, Instruction.ReadFrom(bytes.AsSpan((int)index + Instruction.Size)).Imm, options.Alu32);
                return 2 * Instruction.Size;
            }

            line = Decode(insn, 0, options.Alu32);
            branch = BranchDisplacement(insn);
            return Instruction.Size;
        }

        /// <summary>llvm-objdump skips 8 or more zero bytes (in multiples of 4), but not past a relocation it must show.</summary>
        private long SkippableZeroes(long index, long end)
        {
            var limit = end - index;
            if (relocations is not null && nextRelocation < relocations.Count)
            {
                var untilRelocation = unchecked((ulong)(relocations[nextRelocation].Offset - index));
                if (untilRelocation < (ulong)limit)
                    limit = (long)untilRelocation;
            }

            long zeroes = 0;
            while (zeroes < limit && bytes[index + zeroes] == 0)
                zeroes++;
            return zeroes < 8 ? 0 : zeroes & ~3L;
        }

        private void AppendTarget(ulong target)
        {
            // The last symbol at or before the target, compared unsigned: a jump before the start wraps around and
            // lands on the last symbol with a huge displacement, exactly as llvm-objdump prints it.
            (long Address, string Name)? found = null;
            foreach (var symbol in symbols)
            {
                if ((ulong)symbol.Address > target)
                    break;
                found = symbol;
            }

            if (found is not { } hit)
                return;
            var displacement = target - (ulong)hit.Address;
            text.Append(" <").Append(hit.Name);
            if (displacement != 0)
                text.Append("+0x").Append(displacement.ToString("x", CultureInfo.InvariantCulture));
            text.Append('>');
        }

        private void WriteRelocations(long index, int size)
        {
            if (relocations is null)
                return;
            while (nextRelocation < relocations.Count)
            {
                var (offset, type, symbol) = relocations[nextRelocation];
                if (offset >= index + size)
                    return;
                if (offset >= index)
                    text.Append("\t\t").Append(offset.ToString("x16", CultureInfo.InvariantCulture)).Append(":  ").Append(type).Append('\t').Append(symbol).Append('\n');
                nextRelocation++;
            }
        }
    }
}

/// <summary>Optional parts of a <see cref="Disassembler.Disassemble"/> listing, mirroring llvm-objdump's flags.</summary>
public sealed record DisassemblyOptions
{
    public static DisassemblyOptions Default { get; } = new();

    /// <summary>The hex bytes column between index and text (llvm-objdump's default; off is <c>--no-show-raw-insn</c>).</summary>
    public bool ShowRawBytes { get; init; } = true;

    /// <summary>Decode 32-bit loads, stores and atomics with <c>w</c> registers, as <c>--mattr=+alu32</c> does.</summary>
    public bool Alu32 { get; init; }

    /// <summary>
    /// When set, the listing starts with <c>Disassembly of section NAME:</c> and, where no symbol is at instruction 0,
    /// a <c>&lt;NAME&gt;</c> label stands in for one (as llvm-objdump does for a section without a symbol at its start).
    /// </summary>
    public string? SectionName { get; init; }

    /// <summary>Labels (<c>0000000000000000 &lt;prog&gt;:</c>) and the names branch targets are given relative to.</summary>
    public IReadOnlyList<DisassemblySymbol>? Symbols { get; init; }

    /// <summary>When set (even empty), relocation lines as <c>llvm-objdump -dr</c> prints them after their instruction.</summary>
    public IReadOnlyList<DisassemblyRelocation>? Relocations { get; init; }

    /// <summary>
    /// Source text to show before an instruction (by index), printed as <c>; text</c> the way <c>llvm-objdump -S</c>
    /// does; null for none. Called once per instruction start, in order.
    /// </summary>
    public Func<int, string?>? SourceLine { get; init; }

    /// <summary>
    /// The listing of one program as llvm-objdump -dr -S would show its section: the program's name at instruction 0,
    /// its relocations, and each source line where the line info moves to a new line.
    /// </summary>
    public static DisassemblyOptions ForProgram(BpfProgram program)
    {
        if (program is null)
            throw new ArgumentNullException(nameof(program));

        var lines = new Dictionary<int, string>();
        (string File, int Line)? previous = null;
        foreach (var line in program.Lines.OrderBy(l => l.InstructionIndex))
        {
            if (previous != (line.File, line.Line))
                lines[line.InstructionIndex] = line.LineText;
            previous = (line.File, line.Line);
        }

        return new DisassemblyOptions
        {
            SectionName = program.Section,
            Symbols = [new DisassemblySymbol(0, program.Name)],
            Relocations = [.. program.Relocations.Select(r => new DisassemblyRelocation(
                r.InstructionIndex,
                r.Symbol,
                r.Kind == BpfRelocationKind.Call ? "R_BPF_64_32" : "R_BPF_64_64"))],
            SourceLine = index => lines.TryGetValue(index, out var text) ? text : null,
        };
    }
}

/// <summary>A label at an instruction: a function's name, or any symbol llvm-objdump would show there.</summary>
public readonly record struct DisassemblySymbol(int InstructionIndex, string Name);

/// <summary>
/// A relocation to show after the instruction it patches. <paramref name="Type"/> defaults to <c>R_BPF_64_32</c> on
/// a call and <c>R_BPF_64_64</c> otherwise (an ld_imm64 of a map or global), the types clang emits.
/// </summary>
public readonly record struct DisassemblyRelocation(int InstructionIndex, string Symbol, string? Type = null);
