/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Blobs read from kernel structures of the current task: process info, argv/env, sockets. */
#ifndef BLACKBOX_TASK_H
#define BLACKBOX_TASK_H

#define BB_PIDTYPE_PGID 2
#define BB_RLIMIT_NOFILE 7
#define BB_S_IFMT 0170000
#define BB_S_IFSOCK 0140000
#define BB_AF_INET 2
#define BB_AF_INET6 10
#define BB_OVERLAYFS_SUPER_MAGIC 0x794c7630

/*
 * BB_EXE_UPPER_LAYER if the task's executable is a file of an overlayfs upper layer (the
 * container wrote it: libs' PPM_EXE_UPPER_LAYER). An overlay inode is the vfs_inode member
 * of struct ovl_inode, followed by its __upperdentry pointer (set once the file has an
 * upper copy); as libs' drivers do, the pointer is read right after the kernel's struct
 * inode, whose size comes from the kernel's BTF.
 */
static __always_inline __u32 bb_exe_flags(struct task_struct *task)
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	if (!exe)
		return 0;
	struct inode *inode = BPF_CORE_READ(exe, f_inode);
	if (!inode || BPF_CORE_READ(inode, i_sb, s_magic) != BB_OVERLAYFS_SUPER_MAGIC)
		return 0;
	void *upper = NULL;
	bpf_probe_read_kernel(&upper, sizeof(upper), (void *)inode + bpf_core_type_size(struct inode));
	return upper ? BB_EXE_UPPER_LAYER : 0;
}

/*
 * The number of a struct pid in the namespace at `level`. numbers[] is a
 * flexible array whose element size we take from the kernel's BTF, not from
 * our trimmed struct upid.
 */
static __always_inline __u32 bb_pid_nr_at(struct pid *p, unsigned int level)
{
	if (!p)
		return 0;
	unsigned int plevel = BPF_CORE_READ(p, level);
	if (level > plevel || level > 32)
		return 0;
	void *upid = (void *)p + bpf_core_field_offset(struct pid, numbers) +
		     (__u64)level * bpf_core_type_size(struct upid);
	int nr = 0;
	bpf_probe_read_kernel(&nr, sizeof(nr), upid + bpf_core_field_offset(struct upid, nr));
	return (__u32)nr;
}

static __always_inline void bb_blob_proc(struct bb_build *b, int slot, struct task_struct *task,
					 __u64 clone_flags)
{
	__u64 off = b->off;
	if (off > BB_SMALL_AREA - sizeof(struct bb_proc_info))
		return;
	struct bb_proc_info *pi = (struct bb_proc_info *)(b->buf + off);
	const struct cred *cred = BPF_CORE_READ(task, cred);
	struct pid *tp = BPF_CORE_READ(task, thread_pid);
	unsigned int level = tp ? BPF_CORE_READ(tp, level) : 0;

	pi->ppid = BPF_CORE_READ(task, real_parent, tgid);
	pi->uid = BPF_CORE_READ(cred, uid.val);
	pi->gid = BPF_CORE_READ(cred, gid.val);
	pi->euid = BPF_CORE_READ(cred, euid.val);
	pi->egid = BPF_CORE_READ(cred, egid.val);
	pi->loginuid = 0xffffffff;
	if (bpf_core_field_exists(task->loginuid))
		pi->loginuid = BPF_CORE_READ(task, loginuid.val);
	pi->vtid = bb_pid_nr_at(tp, level);
	pi->vpid = bb_pid_nr_at(BPF_CORE_READ(task, group_leader, thread_pid), level);
	pi->vpgid = bb_pid_nr_at(BPF_CORE_READ(task, signal, pids[BB_PIDTYPE_PGID]), level);
	pi->pidns_level = level;
	pi->fdlimit = BPF_CORE_READ(task, signal, rlim[BB_RLIMIT_NOFILE].rlim_cur);
	pi->clone_flags = clone_flags;
	pi->start_boot_ns = BPF_CORE_READ(task, start_boottime);
	bpf_get_current_comm(pi->comm, sizeof(pi->comm));
	pi->exe_flags = bb_exe_flags(task);
	pi->_pad = 0;
	bb_set_blob(b, slot, sizeof(struct bb_proc_info), BB_BLOB_PROC, BB_ARG_NONE);
}

/* A [start, end) area of the current mm (argv or environment), capped. */
static __always_inline void bb_blob_mm_area(struct bb_build *b, int slot, __u8 kind,
					    unsigned long start, unsigned long end, __u64 cap)
{
	__u64 len = end > start ? end - start : 0;
	if (len > cap) {
		len = cap;
		b->flags |= BB_F_ARGV_TRUNCATED;
	}
	bb_blob_user_bytes(b, slot, kind, BB_ARG_NONE, start, len);
}

static __always_inline void bb_blob_argv(struct bb_build *b, int slot, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (!mm)
		return;
	bb_blob_mm_area(b, slot, BB_BLOB_ARGV, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end),
			BB_ARGV_MAX);
}

static __always_inline void bb_blob_env(struct bb_build *b, int slot, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (!mm)
		return;
	bb_blob_mm_area(b, slot, BB_BLOB_ENV, BPF_CORE_READ(mm, env_start), BPF_CORE_READ(mm, env_end),
			BB_ENV_MAX);
}

/* The struct sock behind fd of the current task, or NULL if fd is not a socket. */
static __always_inline struct sock *bb_fd_sock(struct task_struct *task, __s64 fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((__u64)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & BB_S_IFMT) != BB_S_IFSOCK)
		return NULL;
	struct socket *so = BPF_CORE_READ(f, private_data);
	if (!so)
		return NULL;
	return BPF_CORE_READ(so, sk);
}

/* Local and remote address of the socket behind fd (nothing if fd is not a socket). */
static __always_inline void bb_blob_tuple(struct bb_build *b, int slot, struct task_struct *task,
					  __s64 fd)
{
	struct sock *sk = bb_fd_sock(task, fd);
	if (!sk)
		return;
	__u64 off = b->off;
	if (off > BB_SMALL_AREA - sizeof(struct bb_sock_tuple))
		return;
	struct bb_sock_tuple *t = (struct bb_sock_tuple *)(b->buf + off);
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	if (family == BB_AF_INET || family == BB_AF_INET6) {
		t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		t->rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
	if (family == BB_AF_INET) {
		__be32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(t->laddr, &l, 4);
		__builtin_memcpy(t->raddr, &r, 4);
	} else if (family == BB_AF_INET6) {
		bpf_core_read(t->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(t->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	bb_set_blob(b, slot, sizeof(struct bb_sock_tuple), BB_BLOB_TUPLE, BB_ARG_NONE);
}

#endif /* BLACKBOX_TASK_H */
