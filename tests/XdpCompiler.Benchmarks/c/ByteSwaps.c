// Twin of Programs/ByteSwaps.cs. BinaryPrimitives.ReverseEndianness is __builtin_bswapNN with C#'s signedness restored.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_byteswaps(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 42 > end)
		return XDP_PASS;
	int score = 0;
	__s16 s = (__s16)__builtin_bswap16(*(__u16 *)(data + 20));
	if (s < 0)
		score += 1;
	__u16 us = __builtin_bswap16(*(__u16 *)(data + 22));
	if (us > 0x8000)
		score += 128;
	__s32 i = (__s32)__builtin_bswap32(*(__u32 *)(data + 24));
	if (i < -5)
		score += 2;
	score ^= s ^ i;
	__u32 u = bpf_ntohl(*(__u32 *)(data + 28));
	if (u > 0x80000000u)
		score += 256;
	__s64 l = (__s64)__builtin_bswap64(*(__u64 *)(data + 32));
	if (l < 0)
		score += 4;
	__u64 ul = bpf_cpu_to_be64(*(__u64 *)(data + 32));
	if ((__u64)l == ul)
		score += 64;
	__s8 sb = (__s8)data[40];
	if (sb < 0)
		score += 8;
	__s16 constant = (__s16)__builtin_bswap16((__u16)(__s16)-32513);
	if (constant < 0)
		score += 16;
	__s64 lconstant = (__s64)__builtin_bswap64(0x0102030405060780ULL);
	if (lconstant < 0)
		score += 32;
	*(__u32 *)(data + 24) = bpf_htonl(u + 1);
	*(__u16 *)(data + 22) = __builtin_bswap16((__u16)(us ^ 0x8000));
	*(__s16 *)(data + 20) = (__s16)__builtin_bswap16((__u16)(__s16)(s - 1));
	score += (int)(ul >> 50);
	return (score & 3) == 0 ? XDP_DROP : (score & 3) == 1 ? XDP_TX : (score & 3) == 2 ? XDP_ABORTED : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
