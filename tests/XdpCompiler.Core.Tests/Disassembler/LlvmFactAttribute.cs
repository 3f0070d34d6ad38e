using XdpCompiler.TestKit;

namespace XdpCompiler.Core.Tests.Disassembly;

/// <summary>A <see cref="ToolFactAttribute"/> for clang-19 and the LLVM 19 binutils the comparison runs.</summary>
public sealed class LlvmFactAttribute() : ToolFactAttribute(LlvmTools.Clang, LlvmTools.Objdump, LlvmTools.Objcopy);

/// <summary>A <see cref="ToolTheoryAttribute"/> for the same tools as <see cref="LlvmFactAttribute"/>.</summary>
public sealed class LlvmTheoryAttribute() : ToolTheoryAttribute(LlvmTools.Clang, LlvmTools.Objdump, LlvmTools.Objcopy);
