using System.Text.Json.Nodes;
using XdpCompiler.Runtime;

namespace XdpCompiler.Cli;

/// <summary>
/// <c>xdpc load</c>: bpftool's <c>prog loadall … pinmaps</c> for one object. Everything pinned is what keeps the
/// programs and maps alive after xdpc exits, so a failure half-way removes the pins made so far.
/// </summary>
internal static class LoadCommand
{
    public static Command Command { get; } = new("load", """
        Usage: xdpc load FILE.o --pin-dir DIR [--program NAME] [--json]

        Loads the object's programs and maps into the kernel and pins them under DIR (on a bpffs mount, created if
        missing): each program at DIR/NAME, each map at DIR/maps/NAME, global data (.data, .rodata, .bss) at
        DIR/maps/SECTION. Maps the object declares pinned by name are pinned or reused under /sys/fs/bpf as usual.
        Nothing is attached; attach a pinned program with: ip link set dev IF xdp pinned DIR/NAME
        Remove everything with: rm -r DIR

          --pin-dir DIR   where to pin; must be empty or not exist yet
          --program NAME  load only this XDP program
          --json          {file, pinDir, programs: [{name, id, pin}], maps: [{name, type, pin}], warnings}
        """, [], ["--pin-dir", "--program"], Execute);

    private static int Execute(Arguments args, Output output)
    {
        var path = args.Single("FILE.o");
        var directory = args.Required("--pin-dir");
        var obj = ObjectFiles.Read(path);
        if (args.Option("--program") is { } name)
            obj = ObjectFiles.Only(obj, ObjectFiles.Program(obj, name, "load"));
        if (!obj.Programs.Any(p => p.IsXdp))
            throw new InvalidOperationException($"object {obj.Name} has no XDP program to load");
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new IOException($"{directory} is not empty; remove it (rm -r {directory}) or choose another --pin-dir");

        using var loaded = BpfObjectLoader.Load(obj);
        output.Warnings(loaded.Warnings);
        var createdDirectory = !Directory.Exists(directory);
        var pinned = new List<string>();
        var programs = new JsonArray();
        var maps = new JsonArray();
        try
        {
            Directory.CreateDirectory(Path.Combine(directory, "maps"));
            foreach (var program in loaded.Programs.Values.Where(p => obj.Programs.Any(d => d.Name == p.Name && d.IsXdp)).OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                var pin = Path.Combine(directory, program.Name);
                program.Pin(pin);
                pinned.Add(pin);
                programs.Add(new JsonObject { ["name"] = program.Name, ["id"] = program.Id, ["pin"] = pin });
            }
            var allMaps = loaded.Maps.Values.Where(m => m.PinnedPath is null)
                .Concat(loaded.DataSections.Values.Select(s => s.Map))
                .OrderBy(m => m.Name, StringComparer.Ordinal);
            foreach (var map in allMaps)
            {
                var pin = Path.Combine(directory, "maps", map.Name);
                map.Pin(pin);
                pinned.Add(pin);
                maps.Add(new JsonObject { ["name"] = map.Name, ["type"] = map.Type.ToString(), ["pin"] = pin });
            }
            foreach (var map in loaded.Maps.Values.Where(m => m.PinnedPath is not null && !pinned.Contains(m.PinnedPath)))
                maps.Add(new JsonObject { ["name"] = map.Name, ["type"] = map.Type.ToString(), ["pin"] = map.PinnedPath });
        }
        catch
        {
            foreach (var pin in pinned)
                File.Delete(pin);
            if (createdDirectory)
                Directory.Delete(directory, recursive: true);
            else if (Directory.Exists(Path.Combine(directory, "maps")))
                Directory.Delete(Path.Combine(directory, "maps"));
            throw;
        }

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["file"] = path,
                ["pinDir"] = directory,
                ["programs"] = programs,
                ["maps"] = maps,
                ["warnings"] = new JsonArray(loaded.Warnings.Select(w => (JsonNode?)w).ToArray()),
            });
            return Cli.Success;
        }
        foreach (var program in programs)
            output.Out.WriteLine($"program {program!["name"]} (id {program["id"]}) pinned at {program["pin"]}");
        foreach (var map in maps)
            output.Out.WriteLine($"map {map!["name"]} ({map["type"]}) pinned at {map["pin"]}");
        return Cli.Success;
    }
}
