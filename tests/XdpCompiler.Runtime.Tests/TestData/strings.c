// Strings in read-only data: bpf_printk's format is a static array in .rodata (a variable clang names
// "xdp_strings.____fmt"), and a literal passed straight to a helper lands in .rodata.str1.1 with no variable at all.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_strings(struct xdp_md *ctx)
{
    if (ctx->data_end - ctx->data > 10000)
        bpf_printk("huge packet: %d bytes", (int)(ctx->data_end - ctx->data));
    if (ctx->data_end == ctx->data)
        bpf_trace_printk("empty\n", sizeof("empty\n"));
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
