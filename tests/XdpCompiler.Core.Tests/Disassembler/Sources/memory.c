/* Loads and stores of every size, immediate stores, offsets at their limits, legacy packet loads (LD_ABS/LD_IND),
 * and the atomics in both widths, with and without fetch. Built with -mcpu=v3 and -mcpu=v4. */
#include "bpf_min.h"

SEC("xdp") int loads_stores(void *ctx)
{
    asm volatile(
        "r1 = *(u8 *)(r2 + 0)\n"
        "r1 = *(u16 *)(r2 + 2)\n"
        "r1 = *(u32 *)(r2 + 4)\n"
        "r1 = *(u64 *)(r2 + 8)\n"
        "r3 = *(u64 *)(r10 - 8)\n"
        "r3 = *(u32 *)(r10 - 512)\n"
        "r4 = *(u8 *)(r1 + 32767)\n"
        "r4 = *(u8 *)(r1 - 32768)\n"
        "*(u8 *)(r10 - 1) = r1\n"
        "*(u16 *)(r10 - 2) = r1\n"
        "*(u32 *)(r10 - 4) = r1\n"
        "*(u64 *)(r10 - 16) = r1\n"
        "*(u64 *)(r2 + 16) = r0\n"
        "*(u8 *)(r10 - 1) = 0\n"
        "*(u16 *)(r10 - 2) = -1\n"
        "*(u32 *)(r10 - 8) = 0x7fffffff\n"
        "*(u64 *)(r10 - 16) = -0x80000000\n"
        "*(u64 *)(r1 + 0) = 12\n"
        ::: "r1", "r3", "r4", "memory");
    return 0;
}

SEC("socket") int packet_loads(void *skb)
{
    asm volatile(
        "r6 = r1\n"
        "r0 = *(u8 *)skb[23]\n"
        "r0 = *(u16 *)skb[12]\n"
        "r0 = *(u32 *)skb[-4]\n"
        "r7 = 14\n"
        "r0 = *(u8 *)skb[r7]\n"
        "r0 = *(u16 *)skb[r7]\n"
        "r0 = *(u32 *)skb[r7]\n"
        ::: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7");
    return 0;
}

SEC("xdp") int atomics_asm(void *ctx)
{
    asm volatile(
        "lock *(u64 *)(r10 - 8) += r1\n"
        "lock *(u64 *)(r10 - 8) |= r1\n"
        "lock *(u64 *)(r10 - 8) &= r1\n"
        "lock *(u64 *)(r10 - 8) ^= r1\n"
        "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)\n"
        "r1 = atomic_fetch_or((u64 *)(r10 - 8), r1)\n"
        "r1 = atomic_fetch_and((u64 *)(r10 - 8), r1)\n"
        "r1 = atomic_fetch_xor((u64 *)(r10 - 8), r1)\n"
        "r1 = xchg_64(r10 - 8, r1)\n"
        "r0 = cmpxchg_64(r10 - 8, r0, r1)\n"
        "lock *(u32 *)(r10 - 4) += w1\n"
        "lock *(u32 *)(r10 - 4) |= w1\n"
        "lock *(u32 *)(r10 - 4) &= w1\n"
        "lock *(u32 *)(r10 - 4) ^= w1\n"
        "w1 = atomic_fetch_add((u32 *)(r10 - 4), w1)\n"
        "w1 = atomic_fetch_or((u32 *)(r10 - 4), w1)\n"
        "w1 = atomic_fetch_and((u32 *)(r10 - 4), w1)\n"
        "w1 = atomic_fetch_xor((u32 *)(r10 - 4), w1)\n"
        "w1 = xchg32_32(r10 - 4, w1)\n"
        "w0 = cmpxchg32_32(r10 - 4, w0, w1)\n"
        ::: "r0", "r1", "memory");
    return 0;
}

/* The same operations from the __sync/__atomic builtins, on both widths. */
SEC("xdp") int atomics_c(struct xdp_md *ctx)
{
    u64 wide = ctx->data;
    u32 narrow = ctx->data_end;
    __sync_fetch_and_add(&wide, 1);
    __sync_fetch_and_or(&wide, 2);
    __sync_fetch_and_and(&wide, 3);
    __sync_fetch_and_xor(&wide, 4);
    u64 a = __sync_fetch_and_add(&wide, 5) + __sync_fetch_and_or(&wide, 6) + __sync_fetch_and_and(&wide, 7) +
            __sync_fetch_and_xor(&wide, 8) + __sync_lock_test_and_set(&wide, 9) +
            __sync_val_compare_and_swap(&wide, 10, 11);
    __sync_fetch_and_add(&narrow, 1);
    __atomic_fetch_or(&narrow, 2, __ATOMIC_RELAXED);
    u32 b = __sync_fetch_and_add(&narrow, 3) + __sync_fetch_and_xor(&narrow, 4) +
            __sync_lock_test_and_set(&narrow, 5) + __sync_val_compare_and_swap(&narrow, 6, 7);
    return (int)(a + b + wide + narrow);
}

struct packet { u8 kind; u16 port; u32 addr; u64 stamp; };

SEC("xdp") int fields(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct packet *p = data;
    if ((void *)(p + 1) > end)
        return 1;
    volatile u64 stack[4];
    stack[0] = p->kind;
    stack[1] = p->port;
    stack[2] = p->addr;
    stack[3] = p->stamp;
    p->port = 0x1234;
    p->kind = 7;
    return (int)(stack[0] + stack[1] + stack[2] + stack[3]);
}

char _license[] SEC("license") = "GPL";
