// Twin of Programs/ProtocolBytes.cs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} BytesByProtocol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} Packets SEC(".maps");

SEC("xdp")
int xdp_proto_bytes(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	__u8 *ip = data + 14;
	if (ip + 20 > end || bpf_ntohs(*(__u16 *)(data + 12)) != 0x0800)
		return XDP_PASS;
	__u32 zero = 0;
	__u32 *packets = bpf_map_lookup_elem(&Packets, &zero);
	if (packets)
		*packets += 1;
	__u32 protocol = ip[9];
	__u64 *bytes = bpf_map_lookup_elem(&BytesByProtocol, &protocol);
	if (!bytes)
		return XDP_ABORTED;
	__u64 length = bpf_ntohs(*(__u16 *)(ip + 2));
	/* Interlocked.Add returns the new value. */
	__u64 total = __sync_fetch_and_add(bytes, length) + length;
	return total > 1000000 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_count_only(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u32 *packets = bpf_map_lookup_elem(&Packets, &zero);
	if (packets)
		__sync_fetch_and_add(packets, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
