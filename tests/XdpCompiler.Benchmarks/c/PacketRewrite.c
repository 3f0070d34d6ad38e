// Twin of Programs/PacketRewrite.cs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_rewrite(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	__u8 *eth = data, *ip = data + 14, *udp = ip + 20;
	if (udp + 8 > end)
		return XDP_PASS;
	if (bpf_ntohs(*(__u16 *)(eth + 12)) != 0x0800)
		return XDP_PASS;
	__u8 t0 = eth[0], t1 = eth[1], t2 = eth[2], t3 = eth[3], t4 = eth[4], t5 = eth[5];
	eth[0] = eth[6];
	eth[1] = eth[7];
	eth[2] = eth[8];
	eth[3] = eth[9];
	eth[4] = eth[10];
	eth[5] = eth[11];
	eth[6] = t0;
	eth[7] = t1;
	eth[8] = t2;
	eth[9] = t3;
	eth[10] = t4;
	eth[11] = t5;
	if (ip[8] <= 1)
		return XDP_DROP;
	ip[8]--;
	ip[1] |= 0x10;
	__u32 sum = (__u32)bpf_ntohs(*(__u16 *)(ip + 10)) + 0x0100;
	sum = (sum & 0xFFFF) + (sum >> 16);
	*(__u16 *)(ip + 10) = bpf_htons((__u16)sum);
	if (ip[9] == 17) {
		__u16 src = *(__u16 *)(udp + 0);
		*(__u16 *)(udp + 0) = *(__u16 *)(udp + 2);
		*(__u16 *)(udp + 2) = src;
		if (bpf_ntohs(*(__u16 *)(udp + 2)) == 53)
			*(__u16 *)(udp + 2) = bpf_htons((__u16)5353);
		*(__u16 *)(udp + 6) = 0;
		return XDP_TX;
	}

	*(__u32 *)(ip + 16) = *(__u32 *)(ip + 12) ^ 0x01000000u;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
