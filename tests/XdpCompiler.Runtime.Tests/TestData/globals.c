// Global data as libbpf loads it: a static counter in .bss, an initialised global in .data and a load-time constant
// in .rodata. Each packet adds one to both counters; the verdict is XDP_DROP when `port` is 0, else XDP_PASS.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __u64 hits;
__u64 total = 5;
const volatile __u16 port = 53;

SEC("xdp")
int xdp_globals(struct xdp_md *ctx)
{
    hits++;
    total++;
    return port == 0 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
