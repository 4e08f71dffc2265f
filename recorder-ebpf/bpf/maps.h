/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* The maps shared by all programs. Names are the pin names userspace uses. */
#ifndef BLACKBOX_MAPS_H
#define BLACKBOX_MAPS_H

/*
 * cgroup id -> container. The first and only check every syscall of every
 * process on the node pays. Sub-cgroups of a container are added by the
 * cgroup_mkdir program (and by userspace for those existing at registration).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BB_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct bb_container_cfg);
} bb_cgroups SEC(".maps");

/*
 * The cheap test in front of bb_cgroups: an array lookup the verifier inlines
 * and one bit, instead of hashing the cgroup id, for the processes of every
 * cgroup that is not recorded (all of the node's other processes). Set
 * atomically, before the cgroup's entry is inserted, by userspace (through a
 * shared mapping: BPF_F_MMAPABLE) and by the cgroup_mkdir program.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BB_CGROUP_BITS_WORDS);
	__uint(map_flags, 1U << 10); /* BPF_F_MMAPABLE */
	__type(key, __u32);
	__type(value, __u64);
} bb_cgroup_bits SEC(".maps");

/* Template for the inner maps; each container's ring is created by userspace. */
struct bb_ring_template {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BB_RING_TEMPLATE_SIZE);
};

/* container key (root cgroup id) -> that container's ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, BB_MAX_CONTAINERS);
	__type(key, __u64);
	__array(values, struct bb_ring_template);
} bb_rings SEC(".maps");

/* container key -> loss and volume counters, per CPU so no atomics are needed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BB_MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct bb_losses);
} bb_losses SEC(".maps");

/*
 * Where a record is assembled before bpf_ringbuf_output (ringbuf_reserve
 * needs a constant size, records are variable). Too big for a per-CPU map
 * (32 KiB value limit), so a plain array indexed by CPU; the loader sets
 * max_entries to the number of possible CPUs.
 */
struct bb_scratch {
	__u8 buf[BB_SCRATCH_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bb_scratch);
} bb_scratch SEC(".maps");

#endif /* BLACKBOX_MAPS_H */
