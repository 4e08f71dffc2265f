/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Assembling a record in the scratch area and sending it to the container's ring. */
#ifndef BLACKBOX_RECORD_H
#define BLACKBOX_RECORD_H

/* A record being built. off is u64 so spills keep the verifier's bounds. */
struct bb_build {
	struct bb_syscall_rec *rec;
	__u8 *buf;
	__u64 off;
	__u16 flags;
};

/* The pre-filter word of cgroup id (see bb_cgroup_bits). */
static __always_inline __u64 *bb_cgroup_word(__u64 id)
{
	__u32 w = (__u32)((id >> 6) & (BB_CGROUP_BITS_WORDS - 1));
	return bpf_map_lookup_elem(&bb_cgroup_bits, &w);
}

/* The container of the current task, or NULL: the hot path for every process. */
static __always_inline struct bb_container_cfg *bb_current_container(__u64 *cgid)
{
	__u64 id = bpf_get_current_cgroup_id();
	__u64 *word = bb_cgroup_word(id);
	*cgid = id;
	if (!word || !((*word >> (id & 63)) & 1))
		return NULL;
	return bpf_map_lookup_elem(&bb_cgroups, cgid);
}

/* Whether the container's policy records syscall nr (numbers past the mask: always). */
static __always_inline bool bb_wants_syscall(const struct bb_container_cfg *cfg, __u64 nr)
{
	if (nr >= BB_SYSCALL_MASK_BITS)
		return true;
	return (cfg->syscalls[nr / 64] >> (nr % 64)) & 1;
}

static __always_inline __u8 *bb_scratch_buf(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct bb_scratch *s = bpf_map_lookup_elem(&bb_scratch, &cpu);
	return s ? s->buf : NULL;
}

static __always_inline void bb_fill_hdr(struct bb_hdr *h, __u64 cgid, __u16 kind, __u32 nr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = cgid;
	h->len = 0;
	h->kind = kind;
	h->flags = 0;
	h->tid = (__u32)pid_tgid;
	h->pid = (__u32)(pid_tgid >> 32);
	h->nr = nr;
	h->cpu = bpf_get_smp_processor_id();
}

/* The container's loss counters, looked up only when a record is lost. */
static __always_inline struct bb_losses *bb_losses_of(const struct bb_container_cfg *cfg)
{
	return bpf_map_lookup_elem(&bb_losses, &cfg->key);
}

/*
 * Send len bytes of data to the container's ring. No wakeup per record (a
 * wakeup costs ~2 us per event here); the reader polls with a timeout, and is
 * woken explicitly when wakeup_bytes become pending so a burst cannot overrun
 * it between polls. A written record touches no counter (the reader counts
 * what it drains); a lost one is counted in bb_losses.
 */
static __always_inline void bb_emit(const struct bb_container_cfg *cfg, void *data, __u64 len)
{
	struct bb_losses *l;
	void *ring = bpf_map_lookup_elem(&bb_rings, &cfg->key);

	if (!ring) {
		l = bb_losses_of(cfg);
		if (l)
			l->no_ring++;
		return;
	}
	if (len > BB_SCRATCH_SIZE) {
		l = bb_losses_of(cfg);
		if (l)
			l->scratch_overflow++;
		return;
	}
	/*
	 * Wake the reader once, when this record makes the unread data cross the threshold:
	 * waking it on every record past the threshold cost a wakeup per syscall while the
	 * reader was behind. The reader drains to empty on each wakeup (and polls every
	 * 100 ms regardless), so the next crossing wakes it again.
	 */
	__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	__u64 wake = BPF_RB_NO_WAKEUP;
	if (cfg->wakeup_bytes == 0 ||
	    (avail < cfg->wakeup_bytes && avail + len >= cfg->wakeup_bytes))
		wake = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(ring, data, len, wake) != 0) {
		l = bb_losses_of(cfg);
		if (l) {
			l->ringbuf_full++;
			l->ringbuf_full_bytes += len;
		}
	}
}

static __always_inline void bb_set_blob(struct bb_build *b, int slot, __u64 len, __u8 kind, __u8 arg)
{
	if (slot < 0 || slot >= BB_MAX_BLOBS)
		return;
	b->rec->blobs[slot].len = (__u16)len;
	b->rec->blobs[slot].kind = kind;
	b->rec->blobs[slot].arg = arg;
	b->off += len;
}

/* A NUL-terminated string from user memory (paths, mount dev/type). */
static __always_inline void bb_blob_user_str(struct bb_build *b, int slot, __u8 kind, __u8 arg,
					     __u64 uptr)
{
	__u64 off = b->off;
	if (off > BB_SMALL_AREA - BB_PATH_MAX)
		return;
	long n = bpf_probe_read_user_str(b->buf + off, BB_PATH_MAX, (const void *)uptr);
	if (n < 0) {
		n = 0;
		b->flags |= BB_F_READ_FAILED;
	} else if (n == BB_PATH_MAX) {
		b->flags |= BB_F_STR_TRUNCATED;
	}
	bb_set_blob(b, slot, n, kind, arg);
}

/* len bytes of user memory; the caller has clamped len (<= BB_MAX_SNAPLEN). */
static __always_inline void bb_blob_user_bytes(struct bb_build *b, int slot, __u8 kind, __u8 arg,
					       __u64 uptr, __u64 len)
{
	__u64 off = b->off;
	if (off > BB_SMALL_AREA)
		return;
	if (len > BB_MAX_SNAPLEN)
		len = BB_MAX_SNAPLEN;
	if (len && bpf_probe_read_user(b->buf + off, len, (const void *)uptr) != 0) {
		len = 0;
		b->flags |= BB_F_READ_FAILED;
	}
	bb_set_blob(b, slot, len, kind, arg);
}

/* The payload of an I/O syscall: min(done, snaplen) bytes. done <= 0: empty blob. */
static __always_inline void bb_blob_data(struct bb_build *b, int slot, __u8 arg, __u64 uptr, __s64 done,
					 __u32 snaplen)
{
	__u64 len = done > 0 ? (__u64)done : 0;
	if (len > snaplen) {
		len = snaplen;
		b->flags |= BB_F_DATA_SNAPPED;
	}
	bb_blob_user_bytes(b, slot, BB_BLOB_DATA, arg, uptr, len);
}

/* A struct sockaddr as passed to the syscall (addrlen from the call). */
static __always_inline void bb_blob_sockaddr(struct bb_build *b, int slot, __u8 arg, __u64 uptr,
					     __s64 addrlen)
{
	if (!uptr || addrlen <= 0)
		return;
	__u64 len = (__u64)addrlen;
	if (len > BB_SOCKADDR_MAX)
		len = BB_SOCKADDR_MAX;
	bb_blob_user_bytes(b, slot, BB_BLOB_SOCKADDR, arg, uptr, len);
}


/* struct iovec as user space lays it out on 64-bit. */
struct bb_iovec {
	__u64 base;
	__u64 len;
};

/*
 * The payload of a vectored I/O: the first min(done, snaplen) bytes gathered
 * from the iovecs in order (at most BB_MAX_IOV of them), and in *total the
 * sum of their iov_len. done <= 0: an empty data blob.
 */
static __always_inline void bb_blob_iov_data(struct bb_build *b, int slot, __u8 arg, __u64 iov_uptr,
					     __u64 iovcnt, __s64 done, __u32 snaplen, __u64 *total)
{
	__u64 want = done > 0 ? (__u64)done : 0;
	if (want > snaplen) {
		want = snaplen;
		b->flags |= BB_F_DATA_SNAPPED;
	}
	*total = 0;
	__u64 off = b->off;
	if (off > BB_SMALL_AREA)
		return;
	__u64 copied = 0;
	for (int i = 0; i < BB_MAX_IOV; i++) {
		if ((__u64)i >= iovcnt)
			break;
		struct bb_iovec iov;
		if (bpf_probe_read_user(&iov, sizeof(iov), (const void *)(iov_uptr + i * sizeof(iov)))) {
			b->flags |= BB_F_READ_FAILED;
			break;
		}
		*total += iov.len;
		if (copied >= want)
			continue;
		__u64 chunk = want - copied;
		if (chunk > iov.len)
			chunk = iov.len;
		/* Both below 64 KiB: what the verifier needs to bound the write. */
		chunk &= BB_MAX_SNAPLEN;
		copied &= BB_MAX_SNAPLEN;
		if (chunk && bpf_probe_read_user(b->buf + off + copied, chunk, (const void *)iov.base)) {
			b->flags |= BB_F_READ_FAILED;
			break;
		}
		copied += chunk;
	}
	bb_set_blob(b, slot, copied & BB_MAX_SNAPLEN, BB_BLOB_DATA, arg);
}

/* A u64 computed here (not read from the user), as an 8-byte blob. */
static __always_inline void bb_blob_u64(struct bb_build *b, int slot, __u8 kind, __u64 v)
{
	__u64 off = b->off;
	if (off > BB_SMALL_AREA)
		return;
	*(__u64 *)(b->buf + off) = v;
	bb_set_blob(b, slot, sizeof(v), kind, BB_ARG_NONE);
}

#endif /* BLACKBOX_RECORD_H */
