// A CO-RE field access (preserve_access_index): CO-RE relocations are not supported by the reader yet.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct my_xdp_md {
    __u32 data;
    __u32 data_end;
    __u32 data_meta;
    __u32 ingress_ifindex;
} __attribute__((preserve_access_index));

SEC("xdp")
int xdp_core(struct xdp_md *ctx)
{
    struct my_xdp_md *md = (void *)ctx;
    return md->ingress_ifindex ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
