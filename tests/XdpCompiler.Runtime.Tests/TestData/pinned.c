// A map pinned by name (libbpf pins it under its pin root at load time, so this one is only read, not loaded).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 16);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_totals SEC(".maps");

SEC("xdp")
int xdp_pinned(struct xdp_md *ctx)
{
    __u32 key = 1;
    __u64 *total = bpf_map_lookup_elem(&shared_totals, &key);
    if (total)
        __sync_fetch_and_add(total, 1);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
