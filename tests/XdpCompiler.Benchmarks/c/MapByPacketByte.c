// Twin of Programs/MapByPacketByte.cs. Interlocked.Add/Increment/Decrement return the new value: fetch-and-add plus
// the operand.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} ByByte SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} ByNibble SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} Signed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} Scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s32);
} Scratch32 SEC(".maps");

SEC("xdp")
int xdp_map_bytes(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data, *end = (__u8 *)(long)ctx->data_end;
	if (data + 34 > end)
		return XDP_PASS;
	__u32 key = data[23] & 0xffu;
	__u32 *per_byte = bpf_map_lookup_elem(&ByByte, &key);
	if (!per_byte)
		return XDP_ABORTED;
	(*per_byte)++;
	*per_byte += data[24];
	__u32 idx = data[25];
	key = idx >> 2;
	__u64 *nibble = bpf_map_lookup_elem(&ByNibble, &key);
	if (nibble)
		__sync_fetch_and_add(nibble, (__u64)data[26] << 33);
	else if (idx >= 128)
		return XDP_DROP;
	key = (__u32)(data[27] & 7);
	__s64 *sgn = bpf_map_lookup_elem(&Signed, &key);
	if (sgn) {
		*sgn -= (__s8)data[28];
		__sync_fetch_and_add(sgn, -1);
	}

	key = 1;
	__u64 *scratch = bpf_map_lookup_elem(&Scratch, &key);
	key = 0;
	__s32 *scratch32 = bpf_map_lookup_elem(&Scratch32, &key);
	if (!scratch || !scratch32)
		return XDP_ABORTED;
	*scratch = (__u64)data[29] << 32 | 0xFFFFFFF0UL;
	__u64 operand = (__u64)data[30] + 16;
	__u64 sum = __sync_fetch_and_add(scratch, operand) + operand;
	__u64 dec = __sync_fetch_and_add(scratch, (__u64)-1) - 1;
	*scratch32 = (__s8)data[31];
	__s32 inc = __sync_fetch_and_add(scratch32, 1) + 1;
	__s32 added = __sync_fetch_and_add(scratch32, -200) - 200;
	__u64 post = (*scratch)++;
	*scratch = 0;
	*scratch32 = 0;
	if (sum >> 32 != data[29] + 1u)
		return XDP_TX;
	if (dec != post || inc == 0)
		return XDP_DROP;
	return added < -150 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
