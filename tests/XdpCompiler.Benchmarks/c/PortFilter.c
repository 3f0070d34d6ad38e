// Twin of Programs/PortFilter.cs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_port_filter(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	__u8 *ip = data + 14, *udp = ip + 20;
	if (udp + 8 > end)
		return XDP_PASS;
	if (bpf_ntohs(*(__u16 *)(data + 12)) != 0x0800 || ip[9] != 17 || (ip[0] & 0x0F) != 5)
		return XDP_PASS;
	__u16 port = bpf_ntohs(*(__u16 *)(udp + 2));
	return port == 53 || (port >= 1000 && port < 2000) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
