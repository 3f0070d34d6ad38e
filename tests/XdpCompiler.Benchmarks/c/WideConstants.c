// Twin of Programs/WideConstants.cs. C# wraps signed 64-bit arithmetic; C must do it unsigned to mean the same.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} Last SEC(".maps");

SEC("xdp")
int xdp_wide_consts(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 42 > end)
		return XDP_PASS;
	__u64 v = *(__u64 *)(data + 26);
	__s64 sv = (__s64)v;
	__u64 x = v ^ 0x123456789ABCDEF0UL;
	x += 0x80000000UL;
	x &= 0xFFFFFFFF0000FFFFUL;
	x |= 0x0000000100000000UL;
	__s64 y = (__s64)((__u64)sv - 0x7FFFFFFF00000000UL);
	y = (__s64)((__u64)y * 0x100000003UL);
	__u64 z = v * 0xFFFFFFFFUL;
	__u64 w = v & 0xFFFFFFFFUL;
	__s64 m = (__s64)((__u64)sv + 0x80000000UL);
	__u32 key = data[40] & 3u;
	__u64 *slot = bpf_map_lookup_elem(&Last, &key);
	if (slot) {
		*slot = 0xDEADBEEF00000000UL | (x & 0xFFFF);
		*slot += 0x100000000UL;
	}

	*(__u64 *)(data + 26) = 0xCAFEBABE80000001UL;
	*(__s64 *)(data + 34) = -0x100000001L;
	if (x > 0xF000000000000000UL)
		return XDP_DROP;
	if (y < -0x4000000000000000L)
		return XDP_TX;
	if (z == 0xFFFFFFFF00000001UL || w == 0xFFFFFFFFUL)
		return XDP_ABORTED;
	if (m > 0xFFFFFFFFL)
		return XDP_DROP;
	if (w >= 0x80000000UL)
		return XDP_TX;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
