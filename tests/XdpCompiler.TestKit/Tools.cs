using Xunit;

namespace XdpCompiler.TestKit;

/// <summary>Command-line tools the tests compare with or load through: clang-19, LLVM 19, bpftool, xdp-tools, iproute2.</summary>
public static class Tools
{
    /// <summary>
    /// The tool's full path, or null when it is not there. A rooted path names a file (such as the kernel's BTF) and is
    /// returned as it is when it exists; a name is searched on PATH and then in /usr/sbin and /sbin, where bpftool and ip
    /// live but which a non-root PATH often leaves out.
    /// </summary>
    public static string? Find(string tool)
    {
        if (Path.IsPathRooted(tool))
            return File.Exists(tool) ? tool : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"])
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Why a test needing <paramref name="tools"/> cannot run here, naming the missing ones; null when all are there.</summary>
    public static string? MissingReason(params string[] tools)
    {
        var missing = tools.Where(tool => Find(tool) is null).ToList();
        return missing.Count == 0
            ? null
            : $"needs {string.Join(", ", missing)}: not on PATH, /usr/sbin or /sbin, or no such file (install clang-19, llvm-19, bpftool, xdp-tools and iproute2, and run on a kernel with BTF)";
    }

    /// <summary>Runs a tool and fails the test, with its output, when it is missing or exits non-zero.</summary>
    public static CommandResult Run(string tool, params string[] args)
    {
        // The tool attributes skip a test whose tool is missing unless XDP_REQUIRE_KERNEL=1, so that (or a test without
        // its attribute) is how this is reached: fail, saying why, rather than with the process start's bare errno.
        var path = Find(tool) ?? throw new InvalidOperationException(
            $"Cannot run {tool}: it is not on PATH, /usr/sbin or /sbin. With {Kernel.RequireVariable}=1 a missing tool fails the test instead of skipping it.");
        var result = Netns.TryRun(path, args);
        Assert.True(result.ExitCode == 0, $"`{result.CommandLine}` exited with {result.ExitCode}:\n{result.Error}\n{result.Output}");
        return result;
    }
}
