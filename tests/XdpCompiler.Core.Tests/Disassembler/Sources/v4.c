/* The cpu v4 additions: sign-extending moves and loads, signed division and modulo, unconditional byte swaps,
 * gotol, plus may_goto, callx and the arena address-space cast. Built with -mcpu=v4 only. */
#include "bpf_min.h"

SEC("xdp") int v4_asm(void *ctx)
{
    asm volatile(
        "r1 = (s8)r2\n"
        "r1 = (s16)r2\n"
        "r1 = (s32)r2\n"
        "w1 = (s8)w2\n"
        "w1 = (s16)w2\n"
        "r1 = *(s8 *)(r10 - 1)\n"
        "r1 = *(s16 *)(r10 - 2)\n"
        "r1 = *(s32 *)(r10 - 4)\n"
        "r1 s/= 3\n"
        "r1 s/= -3\n"
        "r1 s%%= 5\n"
        "r1 s/= r2\n"
        "r1 s%%= r2\n"
        "w1 s/= 3\n"
        "w1 s%%= -5\n"
        "w1 s/= w2\n"
        "w1 s%%= w2\n"
        "r1 = bswap16 r1\n"
        "r1 = bswap32 r1\n"
        "r1 = bswap64 r1\n"
        "gotol +1\n"
        "r1 = 1\n"
        "gotol -2\n"
        "may_goto +1\n"
        "r1 = 2\n"
        "r1 = addr_space_cast(r2, 0, 1)\n"
        "r1 = addr_space_cast(r2, 1, 0)\n"
        ::: "r1", "r2");
    return 0;
}

SEC("xdp") int v4_c(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 8 > end)
        return 2;
    s8 b = *(s8 *)data;
    s16 h = *(s16 *)(data + 2);
    s32 w = *(s32 *)(data + 4);
    s64 x = (s64)b * h + w;
    x = x / (h | 1) + x % 7;
    u32 swapped = __builtin_bswap32((u32)w) ^ __builtin_bswap16((u16)h);
    return (int)(x + swapped + (s8)ctx->rx_queue_index + (u64)__builtin_bswap64((u64)x));
}

SEC("tc") int indirect(void *ctx)
{
    asm volatile("r1 = 0\ncallx r1\n" ::: "r0", "r1", "r2", "r3", "r4", "r5");
    return 0;
}

char _license[] SEC("license") = "GPL";
