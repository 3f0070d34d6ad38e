// Twin of Programs/Arithmetic.cs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_arith(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 34 > end)
		return XDP_PASS;
	__u8 *ip = data + 14;
	int ttl = ip[8];
	int score = (ttl * 3 + ip[1]) >> 2;
	score -= 7;
	score ^= 0x55;
	__u32 total = bpf_ntohs(*(__u16 *)(ip + 2));
	total <<= 1;
	total++;
	__s8 tweak = (__s8)data[20];
	__s64 wide = tweak;
	wide *= -3;
	if (wide > 200)
		return XDP_ABORTED;
	if (score < -10 || ((total & 0x3) == 3 && score > 1000))
		return XDP_DROP;
	__u16 id = bpf_ntohs(*(__u16 *)(ip + 4));
	id += 0xF000;
	return id < 0x1000 ? XDP_TX : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
