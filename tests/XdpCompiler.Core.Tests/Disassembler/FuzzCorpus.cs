using System.Globalization;
using System.Text;

namespace XdpCompiler.Core.Tests.Disassembly;

/// <summary>
/// Assembly sources of raw instruction words (<c>.quad</c>), for clang-19 to assemble and llvm-objdump-19 to decode:
/// every opcode byte with each field varied on its own, and seeded random words biased towards the interesting
/// values, invalid ones included. What LLVM decodes, how, and what it calls &lt;unknown&gt; then has to match ours.
/// </summary>
internal static class FuzzCorpus
{
    private static readonly int[] Registers = [0, 1, 2, 9, 10, 11, 12, 15];
    private static readonly short[] Offsets = [0, 1, -1, 4, -4, 8, 16, 32, 64, 0x7fff, -0x8000];
    private static readonly int[] Immediates =
    [
        0, 1, -1, 2, 8, 10, -10, 16, 32, 64, 0xff, 0x1234, 0x10000, int.MaxValue, int.MinValue,
        0x01, 0x40, 0x41, 0x42, 0x50, 0x51, 0xa0, 0xa1, 0xe0, 0xe1, 0xf0, 0xf1, 0x101, 0x141, 0xfe1,
    ];

    /// <summary>Opcodes the kernel defines, so random words hit decodable instructions as often as junk.</summary>
    private static readonly byte[] KnownOpcodes =
    [
        0x04, 0x07, 0x0c, 0x0f, 0x14, 0x17, 0x1c, 0x1f, 0x24, 0x27, 0x2c, 0x2f, 0x34, 0x37, 0x3c, 0x3f,
        0x44, 0x47, 0x4c, 0x4f, 0x54, 0x57, 0x5c, 0x5f, 0x64, 0x67, 0x6c, 0x6f, 0x74, 0x77, 0x7c, 0x7f,
        0x84, 0x87, 0x94, 0x97, 0x9c, 0x9f, 0xa4, 0xa7, 0xac, 0xaf, 0xb4, 0xb7, 0xbc, 0xbf, 0xc4, 0xc7,
        0xcc, 0xcf, 0xd4, 0xd7, 0xdc, 0x05, 0x06, 0x15, 0x16, 0x1d, 0x1e, 0x25, 0x26, 0x2d, 0x2e, 0x35,
        0x36, 0x3d, 0x3e, 0x45, 0x46, 0x4d, 0x4e, 0x55, 0x56, 0x5d, 0x5e, 0x65, 0x66, 0x6d, 0x6e, 0x75,
        0x76, 0x7d, 0x7e, 0x85, 0x8d, 0x95, 0xa5, 0xa6, 0xad, 0xae, 0xb5, 0xb6, 0xbd, 0xbe, 0xc5, 0xc6,
        0xcd, 0xce, 0xd5, 0xd6, 0xdd, 0xde, 0xe5, 0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x61, 0x69,
        0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xc3, 0xdb,
    ];

    /// <summary>All 256 opcodes, each with dst, src, off and imm varied one at a time; a label per opcode.</summary>
    public static string Systematic()
    {
        var text = new StringBuilder("\t.section opcodes,\"ax\",@progbits\n");
        for (var opcode = 0; opcode < 256; opcode++)
        {
            text.Append(CultureInfo.InvariantCulture, $"op_{opcode:x2}:\n");
            foreach (var dst in Registers)
                Word(text, opcode, dst, 2, 0, 0);
            foreach (var src in Registers)
                Word(text, opcode, 1, src, 0, 0);
            foreach (var offset in Offsets)
                Word(text, opcode, 1, 2, offset, 0);
            foreach (var offset in Offsets)
                Word(text, opcode, 1, 2, offset, 5);
            foreach (var imm in Immediates)
                Word(text, opcode, 1, 2, 0, imm);
            foreach (var imm in Immediates)
                Word(text, opcode, 1, 2, -4, imm);
            // An exit ends each group, so an ld_imm64 at the end of one swallows that, not the next group's first word.
            Word(text, 0x95, 0, 0, 0, 0);
        }

        return text.ToString();
    }

    /// <summary>
    /// Seeded random words in a section that starts without a symbol (llvm-objdump then makes one from the section
    /// name), with labels sprinkled in, runs of zero words (printed as "..."), ld_imm64 pairs, and a truncated ld_imm64
    /// as the very last word. A second section puts zero words around a data relocation, which -r must not skip.
    /// </summary>
    public static string Random(int seed, int count)
    {
        var random = new Random(seed);
        var text = new StringBuilder("\t.section random,\"ax\",@progbits\n");
        var nextLabel = 3;
        for (var i = 0; i < count; i++)
        {
            if (i == nextLabel)
            {
                text.Append(CultureInfo.InvariantCulture, $"label_{i}:\n");
                nextLabel += random.Next(1, 80);
            }

            var roll = random.Next(100);
            if (roll < 2)
            {
                for (var zero = random.Next(1, 4); zero > 0; zero--)
                    text.Append("\t.quad 0\n");
            }
            else if (roll < 6)
            {
                Word(text, 0x18, Pick(random, Registers), random.Next(4) == 0 ? random.Next(16) : 0, random.Next(8) == 0 ? Pick(random, Offsets) : (short)0, Pick(random, Immediates));
                text.Append(CultureInfo.InvariantCulture, $"\t.quad 0x{NextWord(random):x16}\n");
            }
            else if (roll < 12)
            {
                text.Append(CultureInfo.InvariantCulture, $"\t.quad 0x{NextWord(random):x16}\n");
            }
            else
            {
                var opcode = random.Next(2) == 0 ? Pick(random, KnownOpcodes) : random.Next(256);
                var dst = random.Next(10) == 0 ? random.Next(16) : random.Next(12);
                var src = random.Next(10) == 0 ? random.Next(16) : random.Next(12);
                var offset = random.Next(3) == 0 ? (short)random.Next(-0x8000, 0x8000) : Pick(random, Offsets);
                var imm = random.Next(3) == 0 ? random.Next(int.MinValue, int.MaxValue) : Pick(random, Immediates);
                Word(text, opcode, dst, src, offset, imm);
            }
        }

        // A first slot with nothing after it: LLVM steps over it a byte at a time.
        Word(text, 0x18, 1, 0, 0, 0);

        text.Append("""
                    	.section relocated,"ax",@progbits
                    	.quad 0
                    	.quad 0
                    	.quad target_symbol
                    	.quad 0x95
                    	.quad 0
                    	.quad 0
                    	.long 0
                    	.long 5
                    	.quad 0x95

                    """);
        return text.ToString();
    }

    private static void Word(StringBuilder text, int opcode, int dst, int src, short offset, int imm)
    {
        var word = (ulong)(byte)opcode | (ulong)(((src & 0xf) << 4) | (dst & 0xf)) << 8 | (ulong)(ushort)offset << 16 | (ulong)(uint)imm << 32;
        text.Append(CultureInfo.InvariantCulture, $"\t.quad 0x{word:x16}\n");
    }

    private static ulong NextWord(Random random) => (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);

    private static T Pick<T>(Random random, T[] values) => values[random.Next(values.Length)];
}
