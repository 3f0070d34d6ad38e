/* Every JMP and JMP32 condition in K and X form, forward and backward, goto, exit, helper calls, BPF-to-BPF calls,
 * ld_imm64 of constants, maps and global data (with their relocations). Built with -mcpu=v3 and -mcpu=v4. */
#include "bpf_min.h"

struct {
    __uint(type, 6); /* BPF_MAP_TYPE_PERCPU_ARRAY */
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, u64);
} counters SEC(".maps");

struct {
    __uint(type, 14); /* BPF_MAP_TYPE_DEVMAP */
    __uint(max_entries, 8);
    __type(key, u32);
    __type(value, u32);
} ports SEC(".maps");

u64 packets;
u32 limit = 100;
const volatile u32 verbose = 1;

SEC("xdp") int conditions64(void *ctx)
{
    asm volatile(
        "l0:\n"
        "if r1 == 0 goto l1\n"
        "if r1 != -1 goto l1\n"
        "if r1 > 0x7fffffff goto l1\n"
        "if r1 >= 2 goto l1\n"
        "if r1 < 3 goto l1\n"
        "if r1 <= 4 goto l1\n"
        "if r1 s> -5 goto l1\n"
        "if r1 s>= 6 goto l1\n"
        "if r1 s< 7 goto l1\n"
        "if r1 s<= -0x80000000 goto l1\n"
        "if r1 & 0x80 goto l1\n"
        "if r1 == r2 goto l0\n"
        "if r1 != r2 goto l0\n"
        "if r1 > r2 goto l0\n"
        "if r1 >= r2 goto l0\n"
        "if r1 < r2 goto l0\n"
        "if r1 <= r2 goto l0\n"
        "if r1 s> r2 goto l0\n"
        "if r1 s>= r2 goto l0\n"
        "if r1 s< r2 goto l0\n"
        "if r1 s<= r10 goto l0\n"
        "if r0 & r9 goto l0\n"
        "goto l0\n"
        "l1:\n"
        "goto +0\n"
        ::: "r0", "r1", "r2", "r9");
    return 0;
}

SEC("xdp") int conditions32(void *ctx)
{
    asm volatile(
        "m0:\n"
        "if w1 == 0 goto m1\n"
        "if w1 != -1 goto m1\n"
        "if w1 > 1 goto m1\n"
        "if w1 >= 2 goto m1\n"
        "if w1 < 3 goto m1\n"
        "if w1 <= 4 goto m1\n"
        "if w1 s> -5 goto m1\n"
        "if w1 s>= 6 goto m1\n"
        "if w1 s< 7 goto m1\n"
        "if w1 s<= 8 goto m1\n"
        "if w1 & 9 goto m1\n"
        "if w1 == w2 goto m0\n"
        "if w1 != w2 goto m0\n"
        "if w1 > w2 goto m0\n"
        "if w1 >= w2 goto m0\n"
        "if w1 < w2 goto m0\n"
        "if w1 <= w2 goto m0\n"
        "if w1 s> w2 goto m0\n"
        "if w1 s>= w2 goto m0\n"
        "if w1 s< w2 goto m0\n"
        "if w1 s<= w2 goto m0\n"
        "if w1 & w2 goto m0\n"
        "m1:\n"
        ::: "r1", "r2");
    return 0;
}

SEC("xdp") int wide_constants(void *ctx)
{
    asm volatile(
        "r1 = 0 ll\n"
        "r2 = -1 ll\n"
        "r3 = 0x123456789abcdef0 ll\n"
        "r4 = 0x7fffffffffffffff ll\n"
        "r5 = -0x8000000000000000 ll\n"
        "r0 = 0x100000000 ll\n"
        ::: "r0", "r1", "r2", "r3", "r4", "r5");
    return 0;
}

static __attribute__((noinline)) u64 mix(u64 a, u64 b)
{
    return a * 31 + b;
}

__attribute__((noinline)) int count(u32 key, u64 amount)
{
    u64 *value = bpf_map_lookup_elem(&counters, &key);
    if (!value)
        return -1;
    __sync_fetch_and_add(value, amount);
    return 0;
}

SEC("xdp") int calls(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 14 > end)
        return 2;
    packets++;
    if (verbose && packets > limit)
        return 1;
    u64 sum = 0;
    for (int i = 0; i < 8; i++) {
        if (data + i + 1 > end)
            break;
        sum = mix(sum, *(u8 *)(data + i));
    }
    count(0, sum + bpf_ktime_get_ns());
    return (int)bpf_redirect_map(&ports, ctx->rx_queue_index, 0);
}

char _license[] SEC("license") = "GPL";
