// The libbpf reference of `XdpCompiler.Benchmarks runtime` (see ../README.md): the same work as the C# side, through
// libbpf, timed inside one process so that no process start is in the numbers. The benchmark builds it at run time
// with `gcc -O2 -Wall -Werror runtime_ref.c -lbpf`. Not a twin (twins live in ../c/).
//
//   runtime_ref maps PIN KEYS OPS CPU
//       Update, look up and (for hash maps) delete keys 0..KEYS-1 of the map pinned at PIN, in rounds of KEYS
//       operations, until OPS operations of each kind are done, on CPU. A key is its index in its first (up to) four
//       bytes, little-endian, the rest zero; a value is index + 1 in the first four bytes of each per-CPU slot (of
//       the only slot for other maps). Prints "OP NANOSECONDS COUNT" per operation.
//   runtime_ref load OBJECT PROGRAM IFNAME generic|native CYCLES
//       CYCLES times: open and load OBJECT, attach PROGRAM to IFNAME by bpf_link (as XdpCompiler.Runtime does), check
//       with netlink that it is attached, close the link, close the object. Prints "LOAD ATTACH DETACH UNLOAD"
//       nanoseconds per cycle.
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "runtime_ref: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static int is_per_cpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static void set_u32(unsigned char *at, __u32 value, size_t size)
{
	memset(at, 0, size);
	memcpy(at, &value, size < 4 ? size : 4);
}

static int maps(const char *pin, long keys, long ops, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return fail("sched_setaffinity", errno);

	int fd = bpf_obj_get(pin);
	if (fd < 0)
		return fail(pin, errno);
	struct bpf_map_info info;
	__u32 length = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0)
		return fail("bpf_obj_get_info_by_fd", errno);
	int per_cpu = is_per_cpu(info.type);
	int cpus = per_cpu ? libbpf_num_possible_cpus() : 1;
	size_t stride = per_cpu ? (info.value_size + 7) & ~7u : info.value_size;
	size_t value_size = stride * cpus;
	int is_array = info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY;

	// Keys and values are built before timing, as the C# side builds its structs outside the timed calls' cost.
	unsigned char *key_bytes = calloc(keys, info.key_size);
	unsigned char *values = calloc(keys, value_size);
	unsigned char *out = calloc(1, value_size);
	if (!key_bytes || !values || !out)
		return fail("calloc", ENOMEM);
	for (long i = 0; i < keys; i++) {
		set_u32(key_bytes + i * info.key_size, (__u32)i, info.key_size);
		for (int c = 0; c < cpus; c++)
			set_u32(values + i * value_size + c * stride, (__u32)(i + 1), stride);
	}

	long long update_ns = 0, lookup_ns = 0, delete_ns = 0;
	long done = 0;
	while (done < ops) {
		long long t = now_ns();
		for (long i = 0; i < keys; i++) {
			if (bpf_map_update_elem(fd, key_bytes + i * info.key_size, values + i * value_size, BPF_ANY) != 0)
				return fail("bpf_map_update_elem", errno);
		}
		update_ns += now_ns() - t;
		t = now_ns();
		for (long i = 0; i < keys; i++) {
			if (bpf_map_lookup_elem(fd, key_bytes + i * info.key_size, out) != 0)
				return fail("bpf_map_lookup_elem", errno);
			if (memcmp(out, values + i * value_size, 4) != 0) {
				fprintf(stderr, "runtime_ref: key %ld read back a different value\n", i);
				return 1;
			}
		}
		lookup_ns += now_ns() - t;
		if (!is_array) {
			t = now_ns();
			for (long i = 0; i < keys; i++) {
				if (bpf_map_delete_elem(fd, key_bytes + i * info.key_size) != 0)
					return fail("bpf_map_delete_elem", errno);
			}
			delete_ns += now_ns() - t;
		}
		done += keys;
	}
	printf("update %lld %ld\nlookup %lld %ld\n", update_ns, done, lookup_ns, done);
	if (!is_array)
		printf("delete %lld %ld\n", delete_ns, done);
	free(key_bytes);
	free(values);
	free(out);
	close(fd);
	return 0;
}

static int print_warnings(enum libbpf_print_level level, const char *format, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, format, args) : 0;
}

static int load(const char *path, const char *program, const char *ifname, const char *mode, long cycles)
{
	libbpf_set_print(print_warnings);
	unsigned ifindex = if_nametoindex(ifname);
	if (ifindex == 0)
		return fail(ifname, errno);
	__u32 flags;
	if (strcmp(mode, "generic") == 0)
		flags = XDP_FLAGS_SKB_MODE;
	else if (strcmp(mode, "native") == 0)
		flags = XDP_FLAGS_DRV_MODE;
	else
		return fail("mode must be generic or native", EINVAL);

	for (long cycle = 0; cycle < cycles; cycle++) {
		long long t0 = now_ns();
		struct bpf_object *obj = bpf_object__open_file(path, NULL);
		if (!obj)
			return fail("bpf_object__open_file", errno);
		int err = bpf_object__load(obj);
		if (err)
			return fail("bpf_object__load", err);
		long long t1 = now_ns();
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, program);
		if (!prog)
			return fail(program, ENOENT);
		LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
		int link = bpf_link_create(bpf_program__fd(prog), ifindex, BPF_XDP, &opts);
		if (link < 0)
			return fail("bpf_link_create", errno);
		long long t2 = now_ns();
		__u32 id = 0;
		err = bpf_xdp_query_id(ifindex, flags, &id);
		if (err || id == 0)
			return fail("the program is not attached after bpf_link_create", err ? err : ENOENT);
		long long t3 = now_ns();
		close(link);
		long long t4 = now_ns();
		bpf_object__close(obj);
		long long t5 = now_ns();
		printf("%lld %lld %lld %lld\n", t1 - t0, t2 - t1, t4 - t3, t5 - t4);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "maps") == 0)
		return maps(argv[2], atol(argv[3]), atol(argv[4]), atoi(argv[5]));
	if (argc == 7 && strcmp(argv[1], "load") == 0)
		return load(argv[2], argv[3], argv[4], argv[5], atol(argv[6]));
	fprintf(stderr, "usage: runtime_ref maps PIN KEYS OPS CPU | runtime_ref load OBJECT PROGRAM IFNAME generic|native CYCLES\n");
	return 2;
}
