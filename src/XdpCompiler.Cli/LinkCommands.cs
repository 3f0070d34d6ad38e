using System.Net.NetworkInformation;
using System.Text.Json.Nodes;
using XdpCompiler.Runtime;

namespace XdpCompiler.Cli;

internal static class LinkCommands
{
    public static Command Attach { get; } = new("attach", """
        Usage: xdpc attach FILE.o [--program NAME] --interface IF (--pin PATH | --netlink [--if-none])
                           [--mode auto|generic|native|offload] [--json]

        Loads the object (maps declared pinned are pinned or reused under /sys/fs/bpf) and attaches the program to the
        interface so that it stays attached after xdpc exits: through a bpf_link pinned at PATH (the default way;
        remove it with xdpc detach --pin PATH), or with --netlink the way ip link does (remove it with
        xdpc detach --interface IF).

          --program NAME    the XDP program (optional when the object has only one)
          --interface IF    the network interface
          --pin PATH        where to pin the link; must be on a bpffs mount (e.g. /sys/fs/bpf/my_filter)
          --netlink         attach by netlink (IFLA_XDP) instead of a bpf_link; needed for offload
          --if-none         with --netlink: fail if a program is already attached in the mode (instead of replacing it)
          --mode MODE       auto (default: native when the driver has it), generic (skb), native (driver) or
                            offload (the NIC runs it; needs a driver with BPF offload, and --netlink)
          --json            {program, interface, mode, linkId, programId, pin}
        """, ["--netlink", "--if-none"], ["--program", "--interface", "--pin", "--mode"], ExecuteAttach);

    public static Command Detach { get; } = new("detach", """
        Usage: xdpc detach (--pin PATH | --interface IF) [--json]

          --pin PATH      detach the link pinned at PATH (by xdpc attach) and remove the pin
          --interface IF  detach every XDP bpf_link on the interface, whoever made it (pins of them then hold a
                          detached link; remove them with rm); with no link there, the program attached by netlink
                          (ip link set xdp, xdpc attach --netlink) in every mode it is attached in.
          --json          {detached: [{linkId, programId, interface}]}
        """, [], ["--pin", "--interface"], ExecuteDetach);

    public static Command List { get; } = new("list", """
        Usage: xdpc list [--interface IF] [--all] [--json]

        Shows the XDP programs attached to this network namespace's interfaces, as netlink reports them (the same
        source as ip link), with the program's id and name.

          --interface IF  only this interface
          --all           also interfaces with nothing attached
          --json          {interfaces: [{interface, index, mode, programId, program, ...}]}
        """, ["--all"], ["--interface"], ExecuteList);

    private static int ExecuteAttach(Arguments args, Output output)
    {
        var path = args.Single("FILE.o");
        var interfaceName = args.Required("--interface");
        var netlink = args.Flag("--netlink");
        var mode = args.Option("--mode") switch
        {
            null or "auto" => XdpMode.Auto,
            "generic" or "skb" => XdpMode.Generic,
            "native" or "driver" or "drv" => XdpMode.Native,
            "offload" or "hw" => XdpMode.Offload,
            var other => throw new UsageException($"attach: --mode wants auto, generic, native or offload, not '{other}'"),
        };
        if (mode == XdpMode.Offload && !netlink)
            throw new UsageException("attach: --mode offload works only with --netlink (a bpf_link cannot offload)");
        if (args.Flag("--if-none") && !netlink)
            throw new UsageException("attach: --if-none goes with --netlink (a bpf_link never replaces a program)");
        if (netlink)
        {
            if (args.Option("--pin") is not null)
                throw new UsageException("attach: --netlink attaches without a link, so there is nothing to --pin");
            return AttachByNetlink(path, interfaceName, mode, args, output);
        }

        var pin = args.Required("--pin");
        if (File.Exists(pin))
            throw new IOException($"{pin} already exists; detach it first (xdpc detach --pin {pin}) or choose another path");
        var obj = ObjectFiles.Read(path);
        var program = ObjectFiles.Program(obj, args.Option("--program"), "attach");
        using var loaded = BpfObjectLoader.Load(ObjectFiles.Only(obj, program));
        output.Warnings(loaded.Warnings);
        // Until the pin exists the link lives only in this process: disposing it on any failure detaches again.
        using var link = loaded.Program(program.Name).Attach(interfaceName, mode);
        link.Pin(pin);
        var attachment = link.Query();
        var linkId = link.Id;
        var programId = link.ProgramId;
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["program"] = program.Name,
                ["interface"] = interfaceName,
                ["interfaceIndex"] = link.InterfaceIndex,
                ["mode"] = attachment.Mode.ToString().ToLowerInvariant(),
                ["linkId"] = linkId,
                ["programId"] = programId,
                ["pin"] = pin,
                ["warnings"] = new JsonArray(loaded.Warnings.Select(w => (JsonNode?)w).ToArray()),
            });
        }
        else
        {
            output.Out.WriteLine($"attached {program.Name} to {interfaceName} ({attachment.Mode.ToString().ToLowerInvariant()} mode): link {linkId}, program {programId}, pinned at {pin}");
        }
        return Cli.Success;
    }

    private static int AttachByNetlink(string path, string interfaceName, XdpMode mode, Arguments args, Output output)
    {
        var obj = ObjectFiles.Read(path);
        var program = ObjectFiles.Program(obj, args.Option("--program"), "attach");
        using var loaded = BpfObjectLoader.Load(ObjectFiles.Only(obj, program));
        output.Warnings(loaded.Warnings);
        var flags = args.Flag("--if-none") ? XdpAttachFlags.UpdateIfNoExist : XdpAttachFlags.None;
        // The interface holds the program from here on; the process's own descriptors may close.
        var attachment = XdpNetlink.Attach(interfaceName, loaded.Program(program.Name), mode, flags);
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["program"] = program.Name,
                ["interface"] = interfaceName,
                ["interfaceIndex"] = attachment.InterfaceIndex,
                ["mode"] = attachment.Mode.ToString().ToLowerInvariant(),
                ["linkId"] = null,
                ["programId"] = attachment.ProgramId,
                ["pin"] = null,
                ["warnings"] = new JsonArray(loaded.Warnings.Select(w => (JsonNode?)w).ToArray()),
            });
        }
        else
        {
            output.Out.WriteLine($"attached {program.Name} to {interfaceName} by netlink ({attachment.Mode.ToString().ToLowerInvariant()} mode): program {attachment.ProgramId}; remove it with xdpc detach --interface {interfaceName}");
        }
        return Cli.Success;
    }

    private static int ExecuteDetach(Arguments args, Output output)
    {
        args.NoPositionals();
        var pin = args.Option("--pin");
        var interfaceName = args.Option("--interface");
        if ((pin is null) == (interfaceName is null))
            throw new UsageException("detach: give exactly one of --pin PATH or --interface IF");
        var detached = new List<DetachedLink>();
        if (pin is not null)
        {
            using (var link = XdpLink.OpenPinned(pin))
            {
                var description = new DetachedLink(link.Id, link.ProgramId, link.InterfaceIndex);
                link.Detach();
                detached.Add(description);
            }
            File.Delete(pin);
        }
        else
        {
            var index = NetworkInterfaces.IndexOf(interfaceName!);
            var links = XdpLink.OpenAll();
            try
            {
                foreach (var link in links.Where(l => l.InterfaceIndex == index))
                {
                    var description = new DetachedLink(link.Id, link.ProgramId, link.InterfaceIndex);
                    link.Detach();
                    detached.Add(description);
                }
            }
            finally
            {
                foreach (var link in links)
                    link.Dispose();
            }
            if (detached.Count == 0)
            {
                // No link: whatever is attached came by netlink (ip link, xdpc attach --netlink), and goes the same way.
                var attachment = XdpQuery.Get(interfaceName!);
                if (!attachment.IsAttached)
                    throw new InvalidOperationException($"{interfaceName} has no XDP program attached");
                foreach (var (mode, programId) in new[] { (XdpMode.Generic, attachment.GenericProgramId), (XdpMode.Native, attachment.NativeProgramId), (XdpMode.Offload, attachment.OffloadProgramId) })
                {
                    if (programId == 0)
                        continue;
                    XdpNetlink.Detach(interfaceName!, mode);
                    detached.Add(new DetachedLink(0, programId, attachment.InterfaceIndex));
                }
            }
        }

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["detached"] = new JsonArray(detached.Select(l => (JsonNode?)new JsonObject
                {
                    ["linkId"] = l.Id == 0 ? null : l.Id,
                    ["programId"] = l.ProgramId,
                    ["interface"] = NetworkInterfaces.NameOf(l.InterfaceIndex) ?? interfaceName,
                    ["interfaceIndex"] = l.InterfaceIndex,
                }).ToArray()),
            });
        }
        else
        {
            foreach (var l in detached)
                output.Out.WriteLine((l.Id == 0 ? $"detached program {l.ProgramId} (attached by netlink)" : $"detached link {l.Id} (program {l.ProgramId})") + $" from {NetworkInterfaces.NameOf(l.InterfaceIndex) ?? interfaceName ?? $"ifindex {l.InterfaceIndex}"}" + (pin is null ? "" : $"; removed {pin}"));
        }
        return Cli.Success;
    }

    private static int ExecuteList(Arguments args, Output output)
    {
        args.NoPositionals();
        var only = args.Option("--interface");
        var all = args.Flag("--all") || only is not null;
        var names = only is not null
            ? [only]
            : NetworkInterface.GetAllNetworkInterfaces().Select(i => i.Name).Distinct().ToList();
        var rows = new List<XdpAttachment>();
        foreach (var name in names)
        {
            XdpAttachment attachment;
            try
            {
                attachment = XdpQuery.Get(name);
            }
            catch (BpfException) when (only is null)
            {
                continue; // removed between listing and query
            }
            if (all || attachment.IsAttached)
                rows.Add(attachment);
        }
        rows.Sort((a, b) => a.InterfaceIndex.CompareTo(b.InterfaceIndex));

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["interfaces"] = new JsonArray(rows.Select(r => (JsonNode?)new JsonObject
                {
                    ["interface"] = r.InterfaceName,
                    ["index"] = r.InterfaceIndex,
                    ["mode"] = r.Mode.ToString().ToLowerInvariant(),
                    ["programId"] = r.ProgramId,
                    ["program"] = r.ProgramId == 0 ? null : ProgramName(r.ProgramId),
                    ["nativeProgramId"] = r.NativeProgramId,
                    ["genericProgramId"] = r.GenericProgramId,
                    ["offloadProgramId"] = r.OffloadProgramId,
                }).ToArray()),
            });
            return Cli.Success;
        }
        if (rows.Count == 0)
        {
            output.Out.WriteLine("no XDP programs attached" + (all ? "" : " (--all lists every interface)"));
            return Cli.Success;
        }
        output.Out.WriteLine($"{"INTERFACE",-16} {"INDEX",5}  {"MODE",-8} {"PROG ID",7}  PROGRAM");
        foreach (var r in rows)
        {
            var program = r.Mode == XdpAttachedMode.Multiple
                ? $"native {r.NativeProgramId}, generic {r.GenericProgramId}, offload {r.OffloadProgramId}"
                : r.ProgramId == 0 ? "-" : ProgramName(r.ProgramId) ?? "?";
            output.Out.WriteLine($"{r.InterfaceName,-16} {r.InterfaceIndex,5}  {r.Mode.ToString().ToLowerInvariant(),-8} {(r.ProgramId == 0 ? "-" : r.ProgramId.ToString()),7}  {program}");
        }
        return Cli.Success;
    }

    /// <summary>The name the kernel keeps for program <paramref name="id"/> (15 characters at most), or null when it is gone.</summary>
    private static string? ProgramName(uint id)
    {
        using var program = LoadedProgram.TryOpenById(id);
        return program?.Name;
    }

    private sealed record DetachedLink(uint Id, uint ProgramId, int InterfaceIndex);
}
