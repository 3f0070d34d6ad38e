// A global variable (.bss): global data is not supported by the reader yet.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 packets;

SEC("xdp")
int xdp_global(struct xdp_md *ctx)
{
    __sync_fetch_and_add(&packets, 1);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
