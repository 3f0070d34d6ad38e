// Twin of Programs/ContextFields.cs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_ctx(struct xdp_md *ctx)
{
	if (ctx->rx_queue_index == 3 && ctx->ingress_ifindex != 0)
		return XDP_DROP;
	return ctx->ingress_ifindex > 1000 ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
