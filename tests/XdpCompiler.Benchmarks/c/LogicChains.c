// Twin of Programs/LogicChains.cs. C#'s non-short-circuit bool operators (&, |, ^) are C's bitwise ones on 0/1.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_logic(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 34 > end)
		return XDP_PASS;
	__u8 a = data[20], b = data[21], c = data[22], d = data[23], e = data[24], f = data[25];
	_Bool many = (a > 1 || b > 1) && (c > 1 || d > 1) && (e > 1 || f > 1) && (a < 250 || c < 250) && (b < 250 || d < 250)
		&& (e < 250 || f < 250) && !(a == b && c == d) && (a ^ f) != 0xFF;
	_Bool x = (a > 100 && b < 200) || (c == 7 && !(d > 50)) || e < 10;
	_Bool y = !(a < 5 || b > 250) && (c & 1) == 0 && (d | e) != 0 && !(f == 0 || f == 255);
	_Bool z = x ^ y;
	_Bool w = (x & (a > b)) | (y & !(c > d));
	_Bool v = x == y || w != z;
	if (x && y && z)
		return XDP_ABORTED;
	if ((x || y) && !(z || w) && v)
		return XDP_DROP;
	if ((many && !v) || (!many && w))
		return XDP_TX;
	if (!(x ? y : w) && (v ? !z : many))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
