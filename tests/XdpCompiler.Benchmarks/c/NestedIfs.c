// Twin of Programs/NestedIfs.cs. C# adds an int sum and a uint as longs; C would wrap them as 32-bit unsigned.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_nested_ifs(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 38 > end)
		return XDP_PASS;
	int a = data[20], b = data[21], c = data[22], d = data[23], e = data[24];
	__u32 u1 = data[28];
	__s64 l1 = data[30] - 128;
	int acc = 0;
	if (a > b) {
		int t = a - b;
		if (c > d) {
			acc += t * c;
			l1 += t;
			if (e > 100)
				u1 ^= (__u32)e << 3;
			else
				u1 -= (__u32)d;
		} else if (c == d) {
			acc -= t;
			if (e < 50) {
				l1 -= e;
			} else {
				l1 += c;
				a = e;
			}
		} else {
			acc = t ^ d;
			b = c + d + e;
		}
	} else if (e > 128) {
		if (d > 128)
			acc = c > 128 ? a + b + c + d + e : (int)(u1 * 77);
		else
			l1 *= -3;
	} else if (d < 64) {
		u1 = u1 * u1 + (__u32)a;
		c = -c;
	}

	__s64 total = (__s64)(acc + a + b + c + d + e) + (__s64)u1 + l1;
	if (total < 0)
		return (total & 1) == 0 ? XDP_DROP : XDP_ABORTED;
	if (total > 2000)
		return XDP_TX;
	return (total & 3) == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
