/* Every ALU64 and ALU32 operation in its immediate (K) and register (X) form, negation, the byte swaps, and
 * immediates at the edges of their range. Inline asm pins the exact instructions; the C functions below add
 * whatever clang chooses for ordinary arithmetic. Built with -mcpu=v3 and -mcpu=v4. */
#include "bpf_min.h"

SEC("xdp") int alu64_imm(void *ctx)
{
    asm volatile(
        "r1 = 0\n"
        "r1 = 1\n"
        "r1 = -1\n"
        "r1 = 0x7fffffff\n"
        "r1 = -0x80000000\n"
        "r1 = 255\n"
        "r1 += 4\n"
        "r1 += -4\n"
        "r1 -= 8\n"
        "r1 *= 3\n"
        "r1 /= 3\n"
        "r1 |= 0x80\n"
        "r1 &= 0xff\n"
        "r1 <<= 3\n"
        "r1 >>= 3\n"
        "r1 %%= 7\n"
        "r1 ^= -2\n"
        "r1 s>>= 63\n"
        "r1 = -r1\n"
        "r9 = 0x12345678\n"
        "r10 += 0\n"
        ::: "r1", "r9");
    return 0;
}

SEC("xdp") int alu64_reg(void *ctx)
{
    asm volatile(
        "r1 = r2\n"
        "r0 = r10\n"
        "r9 = r0\n"
        "r1 += r2\n"
        "r3 -= r4\n"
        "r5 *= r6\n"
        "r7 /= r8\n"
        "r9 |= r1\n"
        "r2 &= r3\n"
        "r4 <<= r5\n"
        "r6 >>= r7\n"
        "r8 %%= r9\n"
        "r1 ^= r1\n"
        "r2 s>>= r3\n"
        ::: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9");
    return 0;
}

SEC("xdp") int alu32_imm(void *ctx)
{
    asm volatile(
        "w1 = 0\n"
        "w1 = -1\n"
        "w1 = 0x7fffffff\n"
        "w1 = -0x80000000\n"
        "w1 += 4\n"
        "w1 -= -8\n"
        "w1 *= 3\n"
        "w1 /= 3\n"
        "w1 |= 0x80\n"
        "w1 &= 0xff\n"
        "w1 <<= 3\n"
        "w1 >>= 3\n"
        "w1 %%= 7\n"
        "w1 ^= -2\n"
        "w1 s>>= 31\n"
        "w1 = -w1\n"
        ::: "r1");
    return 0;
}

SEC("xdp") int alu32_reg(void *ctx)
{
    asm volatile(
        "w1 = w2\n"
        "w0 = w9\n"
        "w1 += w2\n"
        "w3 -= w4\n"
        "w5 *= w6\n"
        "w7 /= w8\n"
        "w9 |= w1\n"
        "w2 &= w3\n"
        "w4 <<= w5\n"
        "w6 >>= w7\n"
        "w8 %%= w9\n"
        "w1 ^= w1\n"
        "w2 s>>= w3\n"
        ::: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9");
    return 0;
}

SEC("xdp") int byte_swaps(void *ctx)
{
    asm volatile(
        "r1 = be16 r1\n"
        "r2 = be32 r2\n"
        "r3 = be64 r3\n"
        "r1 = le16 r1\n"
        "r2 = le32 r2\n"
        "r3 = le64 r3\n"
        ::: "r1", "r2", "r3");
    return 0;
}

/* Ordinary C: clang picks shifts for masks, 32-bit subregisters under v3, and constants of every size. */
SEC("xdp") int arithmetic(struct xdp_md *ctx)
{
    u64 a = ctx->data, b = ctx->data_end;
    u32 x = ctx->ingress_ifindex;
    s64 s = (s64)a - (s64)b;
    a = a * 2654435761u + (b >> 7);
    a ^= a << 13;
    x = (x * 31 + 7) % 1000;
    s = (s64)((u64)s / 3) + (s >> 2); /* signed division needs cpu v4 */
    return (int)(a & 0xffffffff) + (int)x + (int)(s & 0xff) + (int)(b % 17) + (int)(a / (b | 1));
}

char _license[] SEC("license") = "GPL";
