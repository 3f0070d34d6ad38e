// Twin of Programs/DropUdpAtomic.cs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} Drops SEC(".maps");

SEC("xdp")
int xdp_drop_udp(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 14 + 20 > end)
		return XDP_PASS;
	if (bpf_ntohs(*(__u16 *)(data + 12)) != 0x0800)
		return XDP_PASS;
	if (data[14 + 9] != 17)
		return XDP_PASS;
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&Drops, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
