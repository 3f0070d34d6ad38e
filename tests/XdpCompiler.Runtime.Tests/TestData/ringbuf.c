// Ring buffer producers for the consumer tests: every run emits one 16-byte event numbered from a global counter,
// copied in by bpf_ringbuf_output (into the 64 KiB ring or the 4 MiB one), or reserved and committed in place, where
// odd numbers are discarded.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct event {
    __u64 seq;
    __u32 len;
    __u32 marker;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} events SEC(".maps");

// Big enough for a 100,000-event burst (24 bytes each with the header) even if the reader falls behind.
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 * 1024 * 1024);
} burst SEC(".maps");

__u64 next_seq = 0;
__u64 dropped = 0;

SEC("xdp")
int xdp_output(struct xdp_md *ctx)
{
    struct event e = {};
    e.seq = __sync_fetch_and_add(&next_seq, 1);
    e.len = ctx->data_end - ctx->data;
    e.marker = 0xfeedbeef;
    if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
        __sync_fetch_and_add(&dropped, 1);
    return XDP_PASS;
}

SEC("xdp")
int xdp_reserve(struct xdp_md *ctx)
{
    __u64 seq = __sync_fetch_and_add(&next_seq, 1);
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&dropped, 1);
        return XDP_PASS;
    }
    e->seq = seq;
    e->len = ctx->data_end - ctx->data;
    e->marker = 0xdecade;
    if (seq & 1)
        bpf_ringbuf_discard(e, 0);
    else
        bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

SEC("xdp")
int xdp_burst(struct xdp_md *ctx)
{
    struct event e = {};
    e.seq = __sync_fetch_and_add(&next_seq, 1);
    e.len = ctx->data_end - ctx->data;
    e.marker = 0xb0b0;
    if (bpf_ringbuf_output(&burst, &e, sizeof(e), 0))
        __sync_fetch_and_add(&dropped, 1);
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
