using System.Runtime.CompilerServices;

// The tests reach the bpf() seam to inject failures and check the attr layouts.
[assembly: InternalsVisibleTo("XdpCompiler.Runtime.Tests")]
