// libxdp run configs as the XDP_RUN_CONFIG macro of xdp-tools' headers writes them (the macro is spelled out here,
// as libxdp's headers may not be installed): one with a priority and an extra chain-call action, one that turns the
// default XDP_PASS off, and one that names no program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define XDP_RUN_CONFIG(f) _##f SEC(".xdp_run_config")

struct {
    __uint(priority, 10);
    __uint(XDP_DROP, 1);
} XDP_RUN_CONFIG(xdp_first);

struct {
    __uint(XDP_PASS, 0);
    __uint(XDP_TX, 1);
} XDP_RUN_CONFIG(xdp_second);

struct {
    __uint(priority, 1);
} XDP_RUN_CONFIG(no_such_program);

SEC("xdp")
int xdp_first(struct xdp_md *ctx) { return XDP_PASS; }

SEC("xdp")
int xdp_second(struct xdp_md *ctx) { return XDP_DROP; }

SEC("xdp")
int xdp_third(struct xdp_md *ctx) { return XDP_PASS; }

char _license[] SEC("license") = "GPL";
