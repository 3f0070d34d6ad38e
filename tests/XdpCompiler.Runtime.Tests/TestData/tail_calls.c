// A program array with initial programs (libbpf's .values): slot 1 holds xdp_target, slot 0 stays empty.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_target(struct xdp_md *ctx)
{
    return XDP_TX;
}

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __uint(key_size, sizeof(__u32));
    __array(values, int (void *));
} jumps SEC(".maps") = {
    .values = {
        [1] = (void *)&xdp_target,
    },
};

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    if (data + 1 > end)
        return XDP_PASS;
    bpf_tail_call(ctx, &jumps, *(__u8 *)data);
    return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
