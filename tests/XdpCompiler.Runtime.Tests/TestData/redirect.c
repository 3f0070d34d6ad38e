// Programs for the program-array, devmap, cpumap and xskmap views: the maps start empty and are filled from C#.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 4);
} jumps SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(struct bpf_devmap_val));
    __uint(max_entries, 4);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 4);
} ports_by_id SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_CPUMAP);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(struct bpf_cpumap_val));
    __uint(max_entries, 1);
} cpus SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 4);
} sockets SEC(".maps");

__u64 tail_runs = 0;
__u64 devmap_runs = 0;
__u64 cpumap_runs = 0;

// Jumps to slot 0 of jumps; passes when the slot is empty.
SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
    bpf_tail_call(ctx, &jumps, 0);
    return XDP_PASS;
}

SEC("xdp")
int xdp_tail_drop(struct xdp_md *ctx)
{
    __sync_fetch_and_add(&tail_runs, 1);
    return XDP_DROP;
}

// Each redirect falls back to XDP_PASS when its slot is empty.
SEC("xdp")
int xdp_to_port(struct xdp_md *ctx)
{
    return bpf_redirect_map(&ports, 0, XDP_PASS);
}

SEC("xdp")
int xdp_to_port_by_id(struct xdp_md *ctx)
{
    return bpf_redirect_map(&ports_by_id, 7, XDP_PASS);
}

SEC("xdp")
int xdp_to_cpu(struct xdp_md *ctx)
{
    return bpf_redirect_map(&cpus, 0, XDP_PASS);
}

SEC("xdp")
int xdp_to_socket(struct xdp_md *ctx)
{
    return bpf_redirect_map(&sockets, ctx->rx_queue_index, XDP_PASS);
}

// Runs on frames leaving through a devmap entry that names it.
SEC("xdp/devmap")
int xdp_on_port(struct xdp_md *ctx)
{
    __sync_fetch_and_add(&devmap_runs, 1);
    return XDP_PASS;
}

// Runs on the target CPU for frames redirected through a cpumap entry that names it.
SEC("xdp/cpumap")
int xdp_on_cpu(struct xdp_md *ctx)
{
    __sync_fetch_and_add(&cpumap_runs, 1);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
