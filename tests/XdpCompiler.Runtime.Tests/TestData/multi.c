// Several programs in one section and another section; maps described by types, by sizes, and by neither.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_key {
    __u32 src;
    __u32 dst;
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 pad[3];
};

struct flow_stats {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct flow_key);
    __type(value, struct flow_stats);
    __uint(max_entries, 1024);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 8);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
    struct flow_key key = {};
    struct flow_stats *stats = bpf_map_lookup_elem(&flows, &key);
    if (stats)
        __sync_fetch_and_add(&stats->packets, 1);
    return XDP_PASS;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
    return bpf_redirect_map(&ports, 0, XDP_PASS);
}

SEC("xdp.frags")
int xdp_frags(struct xdp_md *ctx)
{
    __u64 *slot = bpf_ringbuf_reserve(&events, sizeof(__u64), 0);
    if (!slot)
        return XDP_PASS;
    *slot = ctx->ingress_ifindex;
    bpf_ringbuf_submit(slot, 0);
    return XDP_DROP;
}

char _license[] SEC("license") = "Dual BSD/GPL";
