// A BPF-to-BPF call into a .text subprogram: not supported by the reader yet.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline int pick(int value)
{
    return value > 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_calls(struct xdp_md *ctx)
{
    return pick(ctx->ingress_ifindex);
}

char _license[] SEC("license") = "GPL";
