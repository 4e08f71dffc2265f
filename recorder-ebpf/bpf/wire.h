/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The wire contract between the eBPF programs and userspace: the records the
 * programs write into a container's ring buffer, the values of the maps the
 * loader fills, and the constants both sides agree on.
 *
 * This is the ONLY place these layouts are written down. The BPF object is
 * compiled from it by clang; the Rust types are generated from it by bindgen
 * in build.rs. Every struct is made of fixed-width integers with explicit
 * padding, so the BPF target and x86_64 agree; _Static_assert below and the
 * crate's BTF test check that they do.
 *
 * Bump BB_WIRE_VERSION on any incompatible change. The loader also pins under
 * a path that contains a hash of the object, so two layouts never share maps.
 */
#ifndef BLACKBOX_WIRE_H
#define BLACKBOX_WIRE_H

#ifndef BLACKBOX_BPF
/* Userspace (bindgen) build: the kernel's fixed-width type names. */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed int __s32;
typedef signed long long __s64;
#endif

#include "syscalls_x86_64.h"

#define BB_WIRE_VERSION 6

/* Record kinds (bb_hdr.kind). */
#define BB_KIND_SYS_ENTER 1 /* struct bb_syscall_rec, ret is 0 */
#define BB_KIND_SYS_EXIT 2  /* struct bb_syscall_rec */
#define BB_KIND_PROC_EXIT 3 /* struct bb_proc_exit_rec (sched_process_exit) */

/* bb_hdr.flags: what did not fit or could not be read in this record. */
#define BB_F_STR_TRUNCATED 0x1 /* a string blob hit its cap */
#define BB_F_DATA_SNAPPED 0x2  /* the data blob is shorter than the I/O (snaplen) */
#define BB_F_READ_FAILED 0x4   /* a user/kernel memory read failed; that blob is empty */
#define BB_F_ARGV_TRUNCATED 0x8 /* argv or env was longer than its cap */

/* Blob kinds (bb_blob.kind): the variable-length parameters after a syscall record. */
#define BB_BLOB_PATH 1      /* NUL-terminated path read from user memory (bb_blob.arg = syscall arg) */
#define BB_BLOB_STRING 2    /* NUL-terminated non-path string from user memory (mount dev/type) */
#define BB_BLOB_DATA 3      /* I/O payload, at most the container's snaplen */
#define BB_BLOB_SOCKADDR 4  /* raw struct sockaddr from user memory, as passed to the syscall */
#define BB_BLOB_TUPLE 5     /* struct bb_sock_tuple read from the socket behind an fd */
#define BB_BLOB_PROC 6      /* struct bb_proc_info of the current task */
#define BB_BLOB_ARGV 7      /* the new image's argv area: "argv0\0argv1\0..." */
#define BB_BLOB_ENV 8       /* the new image's environment area: "K=V\0..." */
#define BB_BLOB_OPEN_HOW 9  /* struct open_how (openat2), raw from user memory */
#define BB_BLOB_RAW 10      /* raw bytes from user memory after the call (int fds[2] of pipe/socketpair, sendfile's offset) */
#define BB_BLOB_IOV_LEN 11  /* __u64: sum of iov_len over the call's iovecs (at most BB_MAX_IOV of them) */

#define BB_ARG_NONE 0xff    /* bb_blob.arg when the blob does not come from one argument */

/* Limits. */
#define BB_MAX_BLOBS 4
#define BB_PATH_MAX 4096      /* cap of one string blob, NUL included */
#define BB_ARGV_MAX 4096      /* cap of the argv blob */
#define BB_ENV_MAX 4096       /* cap of the env blob */
#define BB_SOCKADDR_MAX 128   /* sizeof(struct sockaddr_storage) */
#define BB_DEFAULT_SNAPLEN 80 /* sysdig's default */
#define BB_MAX_SNAPLEN 65535  /* SCAP parameter lengths are u16 */
#define BB_MAX_IOV 16         /* iovecs looked at for vectored I/O data (readv, sendmsg, ...) */
/*
 * The per-CPU scratch area a record is built in before bpf_ringbuf_output.
 * Blobs other than the data blob add up to at most 4 * BB_PATH_MAX + fixed
 * parts (< 32 KiB); the data blob comes last and is at most BB_MAX_SNAPLEN.
 * Gathering it from several iovecs, the verifier only knows each piece's
 * offset and length to be below 64 KiB each: hence two 64 KiB areas.
 */
#define BB_SMALL_AREA 32768
#define BB_SCRATCH_SIZE (BB_SMALL_AREA + 2 * 65536)

/* Map sizes. */
#define BB_MAX_CGROUPS 16384   /* cgroups (containers and their sub-cgroups) */
/*
 * bb_cgroup_bits: words of the cgroup pre-filter; bit (id & 63) of word
 * ((id >> 6) & (BB_CGROUP_BITS_WORDS - 1)) is set for every cgroup id ever
 * put into bb_cgroups (never cleared: a stale bit only costs the exact lookup).
 */
#define BB_CGROUP_BITS_WORDS 16384
#define BB_MAX_CONTAINERS 4096 /* registered containers (ring buffers) */
#define BB_RING_TEMPLATE_SIZE 65536 /* inner-map template only; real rings are sized per container */

/* Every record starts with this header. Timestamps are CLOCK_BOOTTIME ns. */
struct bb_hdr {
	__u64 ts_boot_ns;
	__u64 cgroup_id; /* cgroup-v2 id of the task (the container's or a sub-cgroup) */
	__u32 len;       /* whole record, header included */
	__u16 kind;      /* BB_KIND_* */
	__u16 flags;     /* BB_F_* */
	__u32 tid;       /* host thread id */
	__u32 pid;       /* host thread-group id */
	__u32 nr;        /* x86_64 syscall number; BB_NR_NONE for non-syscall records */
	__u32 cpu;
};

#define BB_NR_NONE 0xffffffff

/* Describes one blob that follows a syscall record, in order. len 0 = absent. */
struct bb_blob {
	__u16 len;
	__u8 kind; /* BB_BLOB_* */
	__u8 arg;  /* index of the syscall argument it was read from, or BB_ARG_NONE */
};

/*
 * A syscall's exit (every syscall), or the enter of execve, execveat, exit and
 * exit_group (the only enters recorded: see recorder.bpf.c). args are the six
 * raw register arguments; at exit they are re-read from the saved registers,
 * which hold the values the syscall was entered with. The generic fallback is
 * just this with no blobs. The blob payloads follow the struct, concatenated
 * without padding.
 */
struct bb_syscall_rec {
	struct bb_hdr hdr;
	__s64 ret; /* return value (exit); 0 on enter */
	__u64 args[6];
	struct bb_blob blobs[BB_MAX_BLOBS];
};

/* BB_BLOB_PROC: the task after exec, or the child after clone/fork. */
struct bb_proc_info {
	__u32 ppid;   /* host tgid of real_parent */
	__u32 uid;    /* real */
	__u32 gid;
	__u32 euid;   /* effective */
	__u32 egid;
	__u32 loginuid; /* 0xffffffff when unset */
	__u32 vtid;   /* ids in the task's own pid namespace */
	__u32 vpid;
	__u32 vpgid;
	__u32 pidns_level; /* 0 = host pid namespace */
	__u64 fdlimit;     /* RLIMIT_NOFILE soft limit */
	__u64 clone_flags; /* clone/clone3 flags as passed (Linux values); 0 for exec */
	__u64 start_boot_ns;
	__u8 comm[16];
	__u32 exe_flags; /* BB_EXE_*: where the task's executable lives */
	__u32 _pad;
};

/* bb_proc_info.exe_flags (the values of libs' PPM_EXE_* execve flags). */
#define BB_EXE_UPPER_LAYER 2 /* on an overlayfs upper layer: written in the container */

/* BB_BLOB_TUPLE: addresses of the socket behind an fd (connect: the fd; accept: the new fd). */
struct bb_sock_tuple {
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX, ... */
	__u16 lport;  /* host byte order */
	__u16 rport;  /* host byte order */
	__u16 _pad;
	__u8 laddr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 raddr[16];
};

/* sched_process_exit of a thread of a recorded container. */
struct bb_proc_exit_rec {
	struct bb_hdr hdr;
	__s32 exit_code;       /* task->exit_code: wait(2) status */
	__s32 group_exit_code; /* signal->group_exit_code */
	__u32 group_dead;      /* 1 when this was the last thread of the process */
	__u32 _pad;
};

/* Syscall numbers below this are filtered by bb_container_cfg.syscalls; others are always recorded. */
#define BB_SYSCALL_MASK_BITS 512

/* Value of the cgroup map: cgroup id -> the container it belongs to. */
struct bb_container_cfg {
	__u64 key;        /* the container's root cgroup id: key of its ring and loss counters */
	__u32 snaplen;    /* data blob cap, 1..BB_MAX_SNAPLEN */
	__u32 wakeup_bytes; /* force a reader wakeup once this much data is pending */
	/* bit nr set: record syscall nr (the container's syscall classes, set by userspace) */
	__u64 syscalls[BB_SYSCALL_MASK_BITS / 64];
};

/*
 * Value of the per-CPU loss map (sum over CPUs in userspace), per container:
 * records the programs could not write. Only a failure touches it, so a
 * written record costs no lookup here; what was written (and its BB_F_*
 * flags) the reader counts as it drains.
 */
struct bb_losses {
	__u64 ringbuf_full;     /* records dropped: ring buffer full */
	__u64 ringbuf_full_bytes;
	__u64 no_ring;          /* records dropped: cgroup registered but no ring (yet) */
	__u64 scratch_overflow; /* records dropped: would not fit the scratch area (bug guard) */
};

_Static_assert(sizeof(struct bb_hdr) == 40, "bb_hdr layout");
_Static_assert(sizeof(struct bb_blob) == 4, "bb_blob layout");
_Static_assert(sizeof(struct bb_syscall_rec) == 112, "bb_syscall_rec layout");
_Static_assert(sizeof(struct bb_proc_info) == 88, "bb_proc_info layout");
_Static_assert(sizeof(struct bb_sock_tuple) == 40, "bb_sock_tuple layout");
_Static_assert(sizeof(struct bb_proc_exit_rec) == 56, "bb_proc_exit_rec layout");
_Static_assert(sizeof(struct bb_container_cfg) == 80, "bb_container_cfg layout");
_Static_assert(sizeof(struct bb_losses) == 32, "bb_losses layout");
_Static_assert(BB_MAX_BLOBS * BB_PATH_MAX + 1024 <= BB_SMALL_AREA, "small blobs fit");
_Static_assert(BB_ARGV_MAX + BB_ENV_MAX + 1024 <= BB_SMALL_AREA, "exec blobs fit");

#endif /* BLACKBOX_WIRE_H */
