using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.RegularExpressions;
using XdpCompiler.TestKit;

namespace XdpCompiler.Generator.Tests;

/// <summary>
/// Debian's stock cloud kernel booted by qemu, with an initramfs assembled from this machine's own binaries, for what
/// this machine's kernel will not run. The kernel package is fetched with <c>apt-get download</c> into the test's
/// temporary directory, so it is the one the machine's apt sources currently offer and nothing is kept afterwards.
/// </summary>
/// <remarks>
/// qemu emulates the CPU (TCG): in a Firecracker guest /dev/kvm exists without nested virtualization (no vmx/svm
/// flag), and a KVM guest there hangs in early boot. Emulated, the kernel boots to /init in about two seconds.
/// </remarks>
internal static partial class DebianGuest
{
    public const string KernelPackage = "linux-image-cloud-amd64";

    /// <summary>The guest kernel's image, release and the modules asked for (paths under the release's kernel/ directory).</summary>
    public sealed record Kernel(string Image, string Release, IReadOnlyDictionary<string, string> Modules);

    /// <summary>Downloads the kernel package <see cref="KernelPackage"/> depends on and extracts its image and <paramref name="modules"/>.</summary>
    public static Kernel Download(string directory, params string[] modules)
    {
        // The metapackage only depends on the versioned package that holds the files.
        var depends = Run("apt-cache", directory, TimeSpan.FromSeconds(30), "depends", KernelPackage);
        var package = PackageDependency().Match(depends.Output);
        if (depends.ExitCode != 0 || !package.Success)
        {
            throw new InvalidOperationException(
                $"apt does not know {KernelPackage} (run apt-get update, with Debian's main component in the sources): exit {depends.ExitCode}\n{depends.Error}{depends.Output}");
        }

        var name = package.Groups[1].Value;
        var download = Run("apt-get", directory, TimeSpan.FromSeconds(120), "download", name);
        var deb = Directory.GetFiles(directory, name + "_*.deb").SingleOrDefault();
        if (download.ExitCode != 0 || deb is null)
            throw new InvalidOperationException($"`apt-get download {name}` failed: exit {download.ExitCode}\n{download.Error}{download.Output}");

        var release = name["linux-image-".Length..];
        var wanted = modules.ToDictionary(m => $"./lib/modules/{release}/kernel/{m}", m => m, StringComparer.Ordinal);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        string? image = null;
        var start = new ProcessStartInfo(Tools.Find("dpkg-deb") ?? "dpkg-deb") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--fsys-tarfile");
        start.ArgumentList.Add(deb);
        using (var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dpkg-deb."))
        {
            var error = process.StandardError.ReadToEndAsync();
            using (var tar = new TarReader(process.StandardOutput.BaseStream))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                        continue;
                    if (entry.Name == $"./boot/vmlinuz-{release}")
                    {
                        image = Path.Combine(directory, "vmlinuz");
                        entry.ExtractToFile(image, overwrite: true);
                    }
                    else if (wanted.TryGetValue(entry.Name, out var module))
                    {
                        found[module] = Path.Combine(directory, Path.GetFileName(module));
                        entry.ExtractToFile(found[module], overwrite: true);
                    }
                }
            }

            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"`dpkg-deb --fsys-tarfile {deb}` failed: exit {process.ExitCode}\n{error.Result}");
        }

        if (image is null || found.Count != wanted.Count)
        {
            throw new InvalidOperationException(
                $"{name} has no {(image is null ? "boot/vmlinuz-" + release : string.Join(", ", modules.Except(found.Keys)))}: the package layout changed");
        }

        return new Kernel(image, release, found);
    }

    /// <summary>
    /// Boots <paramref name="kernel"/> with <paramref name="initramfs"/> and returns everything the guest wrote on its
    /// serial console (line ends as "\n"). /init must power the guest off; a guest that has not within
    /// <paramref name="timeout"/> is killed and reported with its console so far.
    /// </summary>
    public static string Boot(Kernel kernel, string initramfs, TimeSpan timeout)
    {
        var result = Run("qemu-system-x86_64", null, timeout,
            "-accel", "tcg", "-m", "256", "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", kernel.Image, "-initrd", initramfs,
            // panic=-1 turns an /init that dies into a reboot, which -no-reboot turns into an exit; loglevel=1 keeps
            // kernel messages (all but a panic's) from interleaving with what /init prints.
            "-append", "console=ttyS0 panic=-1 loglevel=1");
        var console = result.Output.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (result.TimedOut || result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"qemu {(result.TimedOut ? $"did not finish in {timeout.TotalSeconds:0} s" : $"exited with {result.ExitCode}")}:\n{result.Error}\nconsole:\n{console}");
        }

        return console;
    }

    /// <summary>
    /// Runs a tool with a hard time limit, reading both streams as they come so neither a full pipe nor a tool that
    /// never exits can hang the test.
    /// </summary>
    private static (int ExitCode, bool TimedOut, string Output, string Error) Run(string tool, string? workingDirectory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo(Tools.Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed."))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {tool}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExit(timeout);
        if (!exited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return (exited ? process.ExitCode : -1, !exited, output.Result, error.Result);
    }

    [GeneratedRegex(@"^\s*Depends: (linux-image-[0-9]\S*)$", RegexOptions.Multiline)]
    private static partial Regex PackageDependency();
}

/// <summary>
/// An initramfs: a cpio archive in the kernel's "newc" format, holding host files at the paths the guest sees them.
/// Parent directories are added as needed; adding a path twice keeps the first.
/// </summary>
internal sealed partial class Initramfs
{
    private readonly Dictionary<string, (uint Mode, byte[] Data)> _entries = new(StringComparer.Ordinal);

    public void AddFile(string guestPath, byte[] contents, bool executable = false)
    {
        AddParents(guestPath);
        _entries.TryAdd(Relative(guestPath), ((executable ? 0x1EDu : 0x1A4u) | 0x8000u, contents)); // 0755 / 0644, S_IFREG
    }

    public void AddHostFile(string guestPath, string hostPath, bool executable = false) =>
        AddFile(guestPath, File.ReadAllBytes(hostPath), executable);

    /// <summary>
    /// Adds a host program at <paramref name="guestPath"/> and the shared libraries it loads, at the paths ldd
    /// resolves them to (the dynamic loader finds them there: its default directories include Debian's multiarch
    /// ones). A static program (ldd's "not a dynamic executable") brings none.
    /// </summary>
    public void AddProgram(string guestPath, string hostPath)
    {
        AddHostFile(guestPath, hostPath, executable: true);
        var start = new ProcessStartInfo(Tools.Find("ldd") ?? throw new InvalidOperationException("ldd is not installed."))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(hostPath);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start ldd.");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && !(output + error.Result).Contains("not a dynamic executable", StringComparison.Ordinal))
            throw new InvalidOperationException($"`ldd {hostPath}` failed: exit {process.ExitCode}\n{error.Result}{output}");
        foreach (Match library in LibraryPath().Matches(output))
            AddHostFile(library.Groups[1].Value, library.Groups[1].Value, executable: true);
    }

    public void Write(string path)
    {
        using var stream = File.Create(path);
        var inode = 1u;
        foreach (var (name, (mode, data)) in _entries)
            WriteEntry(stream, inode++, name, mode, data);
        WriteEntry(stream, 0, "TRAILER!!!", 0, []);
    }

    private void AddParents(string guestPath)
    {
        var parent = Path.GetDirectoryName(Relative(guestPath));
        if (string.IsNullOrEmpty(parent) || _entries.ContainsKey(parent))
            return;
        AddParents(parent);
        _entries.Add(parent, (0x41EDu, [])); // S_IFDIR | 0755
    }

    private static string Relative(string guestPath) => guestPath.TrimStart('/');

    private static void WriteEntry(Stream stream, uint inode, string name, uint mode, byte[] data)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        var isDirectory = (mode & 0xF000u) == 0x4000u;
        // magic, then ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check.
        uint[] fields = [inode, mode, 0, 0, isDirectory ? 2u : 1u, 0, (uint)data.Length, 0, 0, 0, 0, (uint)nameBytes.Length, 0];
        var header = "070701" + string.Concat(fields.Select(f => f.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)));
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(nameBytes);
        Pad(stream);
        stream.Write(data);
        Pad(stream);
    }

    /// <summary>newc aligns each name (after the 110-byte header) and each file's data to 4 bytes.</summary>
    private static void Pad(Stream stream)
    {
        while (stream.Position % 4 != 0)
            stream.WriteByte(0);
    }

    [GeneratedRegex(@"(/\S+) \(0x[0-9a-f]+\)")]
    private static partial Regex LibraryPath();
}
