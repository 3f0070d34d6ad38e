using static XdpCompiler.Runtime.Interop.Errno;

namespace XdpCompiler.Runtime;

/// <summary>Turns an errno from one kind of operation into a <see cref="BpfException"/> that says what to do.</summary>
internal static class BpfErrors
{
    internal static BpfException Create(BpfOperationKind kind, string operation, string? objectName, int errno, string? detail = null)
    {
        var hint = Hint(kind, objectName, errno, detail);
        return new BpfException(kind, operation, errno, objectName, hint);
    }

    private static string? Hint(BpfOperationKind kind, string? name, int errno, string? detail) => (kind, errno) switch
    {
        (BpfOperationKind.Attach, EPERM) =>
            Capabilities.Explain(Capabilities.NetAdmin) + " Attaching XDP needs it in the network namespace that owns the interface.",
        (BpfOperationKind.Netlink, EPERM) => "Querying links over netlink needs no privilege; setting them needs CAP_NET_ADMIN.",
        (BpfOperationKind.ProgramLoad, EPERM) => Capabilities.Explain(Capabilities.Bpf, Capabilities.NetAdmin),
        (BpfOperationKind.Statistics, EPERM) =>
            "Turning run-time statistics on needs CAP_SYS_ADMIN: run as root, or have root set sysctl kernel.bpf_stats_enabled=1 and read the counters without a scope.",
        (BpfOperationKind.Statistics, EINVAL) => "This kernel has no BPF_ENABLE_STATS (Linux 5.8+); set sysctl kernel.bpf_stats_enabled=1 instead.",
        (_, EPERM) => Capabilities.Explain(Capabilities.Bpf),
        (_, ENOSYS) => "This kernel was built without bpf() (CONFIG_BPF_SYSCALL) or is older than 3.18.",

        (BpfOperationKind.InterfaceLookup, _) or (BpfOperationKind.Attach, ENODEV or ENXIO) =>
            $"There is no network interface named '{name}' in this process's network namespace (see `ip link show`).",
        (BpfOperationKind.Attach, EINVAL or EOPNOTSUPP or ENOTSUPP) when detail == "native" =>
            $"The driver of {name} does not support native XDP (XDP_FLAGS_DRV_MODE); use XdpMode.Generic, or XdpMode.Auto to let the kernel choose.",
        (BpfOperationKind.Attach, EINVAL or EOPNOTSUPP or ENOTSUPP) when detail == "generic" =>
            $"The kernel refused generic (SKB-mode) XDP on {name}: it may already have an XDP program in another mode (detach that first), or bpf_link XDP needs Linux 5.9+.",
        (BpfOperationKind.Attach, EINVAL or EOPNOTSUPP or ENOTSUPP) =>
            $"The kernel refused to attach XDP to {name}: it may already have an XDP program in another mode, or the interface cannot run XDP; bpf_link XDP needs Linux 5.9+.",
        (BpfOperationKind.Attach, EBUSY or EEXIST) =>
            $"Another XDP program is already attached to {name} (through netlink or another link). Detach it first: `ip link set dev {name} xdp off` (or `xdpgeneric off`), or close the link that holds it.",
        (BpfOperationKind.Attach, ERANGE) =>
            $"The MTU of {name} (or of its veth peer) is too large for single-buffer XDP in this mode: load the program from an 'xdp.frags' section (multi-buffer, Linux 5.18+), lower the MTU (ip link set dev {name} mtu 1500), or use XdpMode.Generic.",

        (BpfOperationKind.MapCreate, ENOMEM) =>
            $"The kernel could not allocate map {name}: lower max_entries or the value size; on kernels before 5.11 raise the locked-memory limit (ulimit -l).",
        (BpfOperationKind.MapCreate, E2BIG) => $"Map {name} exceeds the kernel's limits for its type (key, value or max_entries too large). {detail}".TrimEnd(),
        (BpfOperationKind.MapCreate, EINVAL) =>
            $"The kernel refused the definition of map {name} ({detail}): array maps need 4-byte keys, max_entries must be above 0, LRU maps reject BPF_F_NO_PREALLOC, and per-CPU values are limited to 32 KiB.",
        (BpfOperationKind.MapCreate, ENOTSUPP or EOPNOTSUPP) => $"This kernel does not support the type of map {name} ({detail}).",

        (BpfOperationKind.MapUpdate, EEXIST) => $"The key is already in map {name} and the update asked for BPF_NOEXIST.",
        (BpfOperationKind.MapUpdate, ENOENT) => $"The key is not in map {name} and the update asked for BPF_EXIST.",
        (BpfOperationKind.MapUpdate, E2BIG) =>
            $"Map {name} is full or the index is out of range ({detail}); hash maps hold at most max_entries keys (delete some, or use an LRU hash), arrays have indexes 0..max_entries-1.",
        (BpfOperationKind.MapUpdate, EINVAL) => $"The kernel refused the update of map {name}: unknown flags ({detail}), or BPF_NOEXIST on an array (every index always exists).",
        (BpfOperationKind.MapDelete, EINVAL) => $"Entries of array map {name} cannot be deleted: every index always exists. Update it to zero instead.",
        (BpfOperationKind.MapLookup or BpfOperationKind.MapIterate, EINVAL) => $"The kernel refused the operation on map {name} ({detail}).",

        (BpfOperationKind.BtfLoad, _) => "The kernel refused the object's BTF; see the BTF log.",

        (BpfOperationKind.ProgramLoad, E2BIG) => $"Program {name} is too large for the kernel (at most 1 million instructions for a privileged loader).",
        (BpfOperationKind.ProgramLoad, EINVAL) =>
            $"The kernel refused the load attributes of program {name} without a verifier log: check the program type, attach type and license, and that the kernel supports XDP.",

        (BpfOperationKind.TestRun, EINVAL) =>
            $"The kernel refused the test run of {name}: the packet must be at least 14 bytes (an Ethernet header) and fit in one page with the XDP headroom. {detail}".TrimEnd(),
        (BpfOperationKind.TestRun, ENOTSUPP or EOPNOTSUPP) => "This kernel cannot test-run this program type (BPF_PROG_TEST_RUN for XDP needs Linux 4.12+).",

        (BpfOperationKind.Pin, ENOENT) => $"Nothing is pinned at {detail}, or its directory does not exist; pins live on a bpffs mount (mount -t bpf bpf /sys/fs/bpf).",
        (BpfOperationKind.Pin, EEXIST) => $"Something is already pinned at {detail}; remove it (rm) first.",
        (BpfOperationKind.Pin, EPERM or EACCES) => $"{detail} is not on a bpffs mount, or the process may not write there.",
        (BpfOperationKind.Pin, EINVAL) => $"{detail} is not on a bpffs mount (pins live under /sys/fs/bpf), or is not a BPF object.",

        (_, EBADF) => $"A file descriptor of {name} was closed while in use: do not use a map or program after disposing its owner.",
        (_, EMFILE or ENFILE) => "The process or the system is out of file descriptors (ulimit -n).",
        _ => detail,
    };
}
