// A legacy struct bpf_map_def in SEC("maps"): refused (libbpf 1.0 refuses it too).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct legacy_map_def SEC("maps") old_counters = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 1,
};

SEC("xdp")
int xdp_legacy(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *value = bpf_map_lookup_elem(&old_counters, &key);
    if (value)
        *value += 1;
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
