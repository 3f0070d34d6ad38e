using System.Runtime.CompilerServices;

// The tests check the packet parser and other pieces directly besides driving Cli.Run.
[assembly: InternalsVisibleTo("XdpCompiler.Cli.Tests")]
