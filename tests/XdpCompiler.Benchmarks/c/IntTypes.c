// Twin of Programs/IntTypes.cs. C# widens int + uint to long where C would wrap in 32-bit unsigned: the casts say so.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_int_types(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 40 > end)
		return XDP_PASS;
	__s8 sb = (__s8)data[14];
	__u8 b = data[15];
	__s64 mix = sb + b;
	__s16 s = *(__s16 *)(data + 16);
	__u16 us = *(__u16 *)(data + 18);
	mix += s + us;
	__u16 c = *(__u16 *)(data + 20);
	mix += c;
	__s32 i = *(__s32 *)(data + 22);
	__u32 u = *(__u32 *)(data + 26);
	mix += (__s64)i + (__s64)u;
	__s64 l = *(__s64 *)(data + 30);
	mix ^= l;
	__u64 ul = *(__u64 *)(data + 32);
	__u64 umix = ul + (__u64)mix;
	__s64 ni = i;
	umix += (__u64)ni * 3;
	__u64 nu = u;
	umix -= nu;
	__s32 narrow = (__s32)umix;
	__s16 tiny = (__s16)umix;
	__s8 tinier = (__s8)(umix >> 8);
	__u16 ch = (__u16)(umix >> 16);
	if (tiny < 0 && tinier < 0)
		return XDP_DROP;
	if (ch > 0x8000)
		return narrow < 0 ? XDP_TX : XDP_ABORTED;
	if ((sb ^ s) < 0 || c < us)
		return XDP_DROP;
	return (umix & 1) == 0 ? XDP_PASS : XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
