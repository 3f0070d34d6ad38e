// A call to a kernel function (an extern __ksym): externs are not supported by the reader yet.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym;

SEC("xdp")
int xdp_kfunc(struct xdp_md *ctx)
{
    __u64 timestamp = 0;
    bpf_xdp_metadata_rx_timestamp(ctx, &timestamp);
    return timestamp ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
