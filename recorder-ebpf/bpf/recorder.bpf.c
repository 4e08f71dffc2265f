// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * blackbox flight recorder: cgroup-scoped syscall and process recording.
 *
 * Every program starts with the same check: the current task's cgroup-v2 id
 * looked up in bb_cgroups (after a one-bit pre-filter). Tasks of unregistered
 * cgroups return right there. For registered ones, a syscall is recorded at
 * its exit as struct bb_syscall_rec (see wire.h) into the container's own ring
 * buffer; only execve, execveat, exit and exit_group are recorded at their
 * enter too (sys_enter returns at once for every other syscall).
 */
#define BLACKBOX_BPF 1
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "wire.h"
#include "maps.h"
#include "record.h"
#include "task.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* fork() and vfork() have no flags argument; these are what the kernel uses for them. */
#define BB_SIGCHLD 17
#define BB_CLONE_VM 0x100
#define BB_CLONE_VFORK 0x4000

static __always_inline void bb_read_args(struct pt_regs *regs, __u64 *args)
{
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
}

static __always_inline int bb_start_syscall(struct bb_build *b, __u64 cgid, __u16 kind, __u32 nr,
					    struct pt_regs *regs)
{
	__u8 *buf = bb_scratch_buf();
	if (!buf)
		return -1;
	b->rec = (struct bb_syscall_rec *)buf;
	b->buf = buf;
	b->off = sizeof(struct bb_syscall_rec);
	b->flags = 0;
	bb_fill_hdr(&b->rec->hdr, cgid, kind, nr);
	b->rec->ret = 0;
	bb_read_args(regs, b->rec->args);
	__builtin_memset(b->rec->blobs, 0, sizeof(b->rec->blobs));
	return 0;
}

/*
 * Whether the enter of syscall nr is recorded: execve and execveat (their path is gone
 * from memory after a successful exec), exit and exit_group (they have no exit). Every
 * other syscall is recorded at its exit only, with its arguments re-read from the saved
 * registers: one record, and for the sys_enter program a return after four compares,
 * before any lookup. (falcosecurity/libs made the same choice in 2025: its drivers no
 * longer generate enter events but for a few TOCTOU checks.) The enter's time is not
 * kept: a syscall's SCAP enter event carries its exit's time.
 */
static __always_inline bool bb_enter_is_recorded(long nr)
{
	return nr == BB_NR_EXECVE || nr == BB_NR_EXECVEAT || nr == BB_NR_EXIT ||
	       nr == BB_NR_EXIT_GROUP;
}

static __always_inline void bb_finish(const struct bb_container_cfg *cfg, struct bb_build *b)
{
	__u64 len = b->off;
	b->rec->hdr.len = (__u32)len;
	b->rec->hdr.flags = b->flags;
	bb_emit(cfg, b->buf, len);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(bb_sys_enter, struct pt_regs *regs, long id)
{
	if (!bb_enter_is_recorded(id))
		return 0;
	__u64 cgid;
	struct bb_container_cfg *cfg = bb_current_container(&cgid);
	if (!cfg || !bb_wants_syscall(cfg, (__u64)id))
		return 0;

	struct bb_build b;
	if (bb_start_syscall(&b, cgid, BB_KIND_SYS_ENTER, (__u32)id, regs))
		return 0;
	/* The old image's memory is gone at a successful execve's exit: read the path now. */
	if (id == BB_NR_EXECVE)
		bb_blob_user_str(&b, 0, BB_BLOB_PATH, 0, b.rec->args[0]);
	else if (id == BB_NR_EXECVEAT)
		bb_blob_user_str(&b, 0, BB_BLOB_PATH, 1, b.rec->args[1]);
	bb_finish(cfg, &b);
	return 0;
}

/* Offsets in struct msghdr (64-bit). */
#define BB_MSG_NAME 0
#define BB_MSG_NAMELEN 8
#define BB_MSG_IOV 16
#define BB_MSG_IOVLEN 24

/*
 * sendmsg/recvmsg: the msghdr's address (msg_name, as passed to sendmsg or as
 * filled by recvmsg), the socket's tuple, the data and the iov total.
 */
static __always_inline void bb_blobs_msghdr(struct bb_build *b, struct task_struct *task, __u64 *a,
					    long ret, __u32 snaplen)
{
	struct {
		__u64 name;
		__u32 namelen;
		__u32 _pad;
		__u64 iov;
		__u64 iovlen;
	} m;
	if (bpf_probe_read_user(&m, sizeof(m), (const void *)a[1])) {
		b->flags |= BB_F_READ_FAILED;
		bb_blob_tuple(b, 1, task, (__s64)a[0]);
		return;
	}
	bb_blob_sockaddr(b, 0, 1, m.name, (__s64)(__s32)m.namelen);
	bb_blob_tuple(b, 1, task, (__s64)a[0]);
	__u64 total = 0;
	bb_blob_iov_data(b, 2, 1, m.iov, m.iovlen, ret, snaplen, &total);
	bb_blob_u64(b, 3, BB_BLOB_IOV_LEN, total);
}


/* The blobs of a syscall exit. Anything not listed is recorded with its raw args only. */
static __always_inline void bb_exit_blobs(struct bb_build *b, const struct bb_container_cfg *cfg,
					  __u32 nr, long ret)
{
	__u64 *a = b->rec->args;
	struct task_struct *task = bpf_get_current_task_btf();

	switch (nr) {
	case BB_NR_READ:
	case BB_NR_PREAD64:
	case BB_NR_WRITE:
	case BB_NR_PWRITE64:
		bb_blob_data(b, 0, 1, a[1], ret, cfg->snaplen);
		break;
	case BB_NR_RECVFROM:
		bb_blob_data(b, 0, 1, a[1], ret, cfg->snaplen);
		/* addrlen is a pointer here; the tuple of the socket is more useful. */
		bb_blob_tuple(b, 1, task, (__s64)a[0]);
		break;
	case BB_NR_SENDTO:
		bb_blob_sockaddr(b, 0, 4, a[4], (__s64)(__s32)a[5]);
		bb_blob_tuple(b, 1, task, (__s64)a[0]);
		bb_blob_data(b, 2, 1, a[1], ret, cfg->snaplen);
		break;
	case BB_NR_READV:
	case BB_NR_WRITEV:
	case BB_NR_PREADV:
	case BB_NR_PWRITEV:
	case BB_NR_PREADV2:
	case BB_NR_PWRITEV2: {
		__u64 total = 0;
		bb_blob_iov_data(b, 0, 1, a[1], a[2], ret, cfg->snaplen, &total);
		bb_blob_u64(b, 1, BB_BLOB_IOV_LEN, total);
		break;
	}
	case BB_NR_SENDMSG:
	case BB_NR_RECVMSG:
		bb_blobs_msghdr(b, task, a, ret, cfg->snaplen);
		break;
	case BB_NR_PIPE:
	case BB_NR_PIPE2:
		/* int fds[2], filled on success. */
		if (ret == 0)
			bb_blob_user_bytes(b, 0, BB_BLOB_RAW, 0, a[0], 8);
		break;
	case BB_NR_SOCKETPAIR:
		if (ret == 0)
			bb_blob_user_bytes(b, 0, BB_BLOB_RAW, 3, a[3], 8);
		break;
	case BB_NR_SENDFILE:
		/* off_t *offset, advanced by the call; NULL: the file's own position. */
		if (a[2])
			bb_blob_user_bytes(b, 0, BB_BLOB_RAW, 2, a[2], 8);
		break;
	case BB_NR_OPEN:
	case BB_NR_CREAT:
	case BB_NR_UNLINK:
	case BB_NR_RMDIR:
	case BB_NR_MKDIR:
	case BB_NR_CHDIR:
	case BB_NR_CHROOT:
	case BB_NR_CHMOD:
	case BB_NR_UMOUNT2:
		bb_blob_user_str(b, 0, BB_BLOB_PATH, 0, a[0]);
		break;
	case BB_NR_OPENAT:
	case BB_NR_UNLINKAT:
	case BB_NR_MKDIRAT:
	case BB_NR_FCHMODAT:
		bb_blob_user_str(b, 0, BB_BLOB_PATH, 1, a[1]);
		break;
	case BB_NR_OPENAT2: {
		bb_blob_user_str(b, 0, BB_BLOB_PATH, 1, a[1]);
		/* struct open_how {u64 flags; u64 mode; u64 resolve;}: the first 24 bytes of any version. */
		__u64 how = a[3] < 24 ? a[3] : 24;
		bb_blob_user_bytes(b, 1, BB_BLOB_OPEN_HOW, 2, a[2], how);
		break;
	}
	case BB_NR_RENAME:
	case BB_NR_LINK:
	case BB_NR_SYMLINK:
		bb_blob_user_str(b, 0, BB_BLOB_PATH, 0, a[0]);
		bb_blob_user_str(b, 1, BB_BLOB_PATH, 1, a[1]);
		break;
	case BB_NR_RENAMEAT:
	case BB_NR_RENAMEAT2:
	case BB_NR_LINKAT:
		bb_blob_user_str(b, 0, BB_BLOB_PATH, 1, a[1]);
		bb_blob_user_str(b, 1, BB_BLOB_PATH, 3, a[3]);
		break;
	case BB_NR_SYMLINKAT:
		bb_blob_user_str(b, 0, BB_BLOB_PATH, 0, a[0]);
		bb_blob_user_str(b, 1, BB_BLOB_PATH, 2, a[2]);
		break;
	case BB_NR_MOUNT:
		bb_blob_user_str(b, 0, BB_BLOB_STRING, 0, a[0]);
		bb_blob_user_str(b, 1, BB_BLOB_PATH, 1, a[1]);
		bb_blob_user_str(b, 2, BB_BLOB_STRING, 2, a[2]);
		break;
	case BB_NR_CONNECT:
		bb_blob_sockaddr(b, 0, 1, a[1], (__s64)(__s32)a[2]);
		bb_blob_tuple(b, 1, task, (__s64)a[0]);
		break;
	case BB_NR_BIND:
		bb_blob_sockaddr(b, 0, 1, a[1], (__s64)(__s32)a[2]);
		bb_blob_tuple(b, 1, task, (__s64)a[0]);
		break;
	case BB_NR_ACCEPT:
	case BB_NR_ACCEPT4:
		bb_blob_tuple(b, 0, task, ret);
		break;
	case BB_NR_CLONE:
	case BB_NR_CLONE3:
	case BB_NR_FORK:
	case BB_NR_VFORK: {
		/* Only the child side (ret 0) carries the new process; the parent's is just ret. */
		if (ret != 0)
			break;
		__u64 flags = BB_SIGCHLD;
		if (nr == BB_NR_CLONE)
			flags = a[0];
		else if (nr == BB_NR_VFORK)
			flags = BB_CLONE_VM | BB_CLONE_VFORK | BB_SIGCHLD;
		else if (nr == BB_NR_CLONE3)
			bpf_probe_read_user(&flags, sizeof(flags), (const void *)a[0]);
		bb_blob_proc(b, 0, task, flags);
		bb_blob_argv(b, 1, task);
		break;
	}
	case BB_NR_EXECVE:
	case BB_NR_EXECVEAT:
		if (ret != 0)
			break;
		bb_blob_proc(b, 0, task, 0);
		bb_blob_argv(b, 1, task);
		bb_blob_env(b, 2, task);
		break;
	default:
		break;
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bb_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 cgid;
	struct bb_container_cfg *cfg = bb_current_container(&cgid);
	if (!cfg)
		return 0;

	struct bb_build b;
	__u32 nr = (__u32)regs->orig_ax;
	if (!bb_wants_syscall(cfg, nr))
		return 0;
	if (bb_start_syscall(&b, cgid, BB_KIND_SYS_EXIT, nr, regs))
		return 0;
	b.rec->ret = ret;
	bb_exit_blobs(&b, cfg, nr, ret);
	bb_finish(cfg, &b);
	return 0;
}

/* Every exiting thread; exit and exit_group have no sys_exit, so this is their record. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(bb_sched_process_exit, struct task_struct *task)
{
	__u64 cgid;
	struct bb_container_cfg *cfg = bb_current_container(&cgid);
	if (!cfg)
		return 0;

	struct bb_proc_exit_rec rec;
	bb_fill_hdr(&rec.hdr, cgid, BB_KIND_PROC_EXIT, BB_NR_NONE);
	rec.hdr.len = sizeof(rec);
	rec.exit_code = BPF_CORE_READ(task, exit_code);
	rec.group_exit_code = BPF_CORE_READ(task, signal, group_exit_code);
	/* The tracepoint's own group_dead argument only exists on newer kernels. */
	rec.group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
	rec._pad = 0;
	bb_emit(cfg, &rec, sizeof(rec));
	return 0;
}

/*
 * Sub-cgroups a container creates belong to it: when a cgroup-v2 directory
 * is created under a registered one, register it with the same config. This
 * keeps the per-syscall check at a single lookup, for any nesting depth.
 */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(bb_cgroup_mkdir, struct cgroup *cgrp)
{
	/* hierarchy 0 is the default (v2) hierarchy; v1 ids live in other id spaces. */
	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0;
	struct cgroup_subsys_state *pcss = BPF_CORE_READ(cgrp, self.parent);
	if (!pcss)
		return 0;
	struct cgroup *parent = (void *)pcss - bpf_core_field_offset(struct cgroup, self);
	__u64 parent_id = BPF_CORE_READ(parent, kn, id);
	struct bb_container_cfg *cfg = bpf_map_lookup_elem(&bb_cgroups, &parent_id);
	if (!cfg)
		return 0;
	struct bb_container_cfg copy = *cfg;
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	/* The pre-filter bit first: once the entry exists, its tasks must pass the filter. */
	__u64 *word = bb_cgroup_word(id);
	if (word)
		__sync_fetch_and_or(word, 1ULL << (id & 63));
	bpf_map_update_elem(&bb_cgroups, &id, &copy, BPF_NOEXIST);
	return 0;
}

/* A removed cgroup can hold no task: forget it (ids are never reused). */
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(bb_cgroup_rmdir, struct cgroup *cgrp)
{
	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0;
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	bpf_map_delete_elem(&bb_cgroups, &id);
	return 0;
}

/*
 * Never called. Its signature puts every wire struct into the object's BTF
 * (types only reached through inlined code are not emitted), so the crate's
 * test can compare the Rust layout with what clang compiled.
 */
__attribute__((noinline)) int bb_wire_btf_anchor(struct bb_syscall_rec *a, struct bb_proc_info *b,
						 struct bb_sock_tuple *c, struct bb_proc_exit_rec *d)
{
	return (a != 0) + (b != 0) + (c != 0) + (d != 0);
}
