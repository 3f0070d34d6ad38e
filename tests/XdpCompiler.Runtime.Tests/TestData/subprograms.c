// BPF-to-BPF calls: two static __noinline helpers in .text, one calling the other, and a map updated by a helper.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} verdicts SEC(".maps");

static __noinline int classify(__u32 length)
{
	return length >= 100 ? XDP_DROP : XDP_PASS;
}

static __noinline int count(__u32 length)
{
	int verdict = classify(length);
	__u32 key = verdict == XDP_DROP ? 0 : 1;
	__u64 *value = bpf_map_lookup_elem(&verdicts, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	return verdict;
}

SEC("xdp")
int xdp_subprograms(struct xdp_md *ctx)
{
	return count(ctx->data_end - ctx->data);
}

SEC("xdp")
int xdp_classify_only(struct xdp_md *ctx)
{
	return classify(ctx->data_end - ctx->data) == XDP_DROP ? XDP_ABORTED : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
