//! PPM encodings of flag and enum parameter values that a writer needs. They are not always
//! the Linux values (open flags, clone flags and ptrace requests differ). Source:
//! `shared/spec/scap-format.md` section 5.4 and the GENERIC table in section 6.1.

/// `dirfd` value meaning "the current directory".
pub const AT_FDCWD: i64 = -100;

/// `file_flags` (open/openat/openat2 `flags`).
pub mod open {
    /// `PPM_O_RDONLY` (also used when the Linux access mode is 0).
    pub const RDONLY: u32 = 1;
    /// `PPM_O_WRONLY`
    pub const WRONLY: u32 = 2;
    /// `PPM_O_RDWR`
    pub const RDWR: u32 = 3;
    /// `PPM_O_CREAT`
    pub const CREAT: u32 = 1 << 2;
    /// `PPM_O_APPEND`
    pub const APPEND: u32 = 1 << 3;
    /// `PPM_O_DSYNC`
    pub const DSYNC: u32 = 1 << 4;
    /// `PPM_O_EXCL`
    pub const EXCL: u32 = 1 << 5;
    /// `PPM_O_NONBLOCK`
    pub const NONBLOCK: u32 = 1 << 6;
    /// `PPM_O_SYNC`
    pub const SYNC: u32 = 1 << 7;
    /// `PPM_O_TRUNC`
    pub const TRUNC: u32 = 1 << 8;
    /// `PPM_O_DIRECT`
    pub const DIRECT: u32 = 1 << 9;
    /// `PPM_O_DIRECTORY`
    pub const DIRECTORY: u32 = 1 << 10;
    /// `PPM_O_LARGEFILE`
    pub const LARGEFILE: u32 = 1 << 11;
    /// `PPM_O_CLOEXEC`
    pub const CLOEXEC: u32 = 1 << 12;
    /// `PPM_O_TMPFILE`
    pub const TMPFILE: u32 = 1 << 13;
}

/// `clone_flags` (clone/fork/vfork/clone3 exit `flags`, setns `nstype`, unshare `flags`).
pub mod clone {
    /// `PPM_CL_CLONE_FILES`
    pub const FILES: u32 = 1 << 0;
    /// `PPM_CL_CLONE_FS`
    pub const FS: u32 = 1 << 1;
    /// `PPM_CL_CLONE_IO`
    pub const IO: u32 = 1 << 2;
    /// `PPM_CL_CLONE_NEWIPC`
    pub const NEWIPC: u32 = 1 << 3;
    /// `PPM_CL_CLONE_NEWNET`
    pub const NEWNET: u32 = 1 << 4;
    /// `PPM_CL_CLONE_NEWNS`
    pub const NEWNS: u32 = 1 << 5;
    /// `PPM_CL_CLONE_NEWPID`
    pub const NEWPID: u32 = 1 << 6;
    /// `PPM_CL_CLONE_NEWUTS`
    pub const NEWUTS: u32 = 1 << 7;
    /// `PPM_CL_CLONE_PARENT`
    pub const PARENT: u32 = 1 << 8;
    /// `PPM_CL_CLONE_PARENT_SETTID`
    pub const PARENT_SETTID: u32 = 1 << 9;
    /// `PPM_CL_CLONE_PTRACE`
    pub const PTRACE: u32 = 1 << 10;
    /// `PPM_CL_CLONE_SIGHAND`
    pub const SIGHAND: u32 = 1 << 11;
    /// `PPM_CL_CLONE_SYSVSEM`
    pub const SYSVSEM: u32 = 1 << 12;
    /// `PPM_CL_CLONE_THREAD`: the new task is a thread of `pid`, not a new process.
    pub const THREAD: u32 = 1 << 13;
    /// `PPM_CL_CLONE_UNTRACED`
    pub const UNTRACED: u32 = 1 << 14;
    /// `PPM_CL_CLONE_VM`
    pub const VM: u32 = 1 << 15;
    /// `PPM_CL_CLONE_NEWUSER`
    pub const NEWUSER: u32 = 1 << 20;
    /// `PPM_CL_CLONE_CHILD_CLEARTID`
    pub const CHILD_CLEARTID: u32 = 1 << 23;
    /// `PPM_CL_CLONE_CHILD_SETTID`
    pub const CHILD_SETTID: u32 = 1 << 24;
    /// `PPM_CL_CLONE_SETTLS`
    pub const SETTLS: u32 = 1 << 25;
    /// `PPM_CL_CLONE_STOPPED`
    pub const STOPPED: u32 = 1 << 26;
    /// `PPM_CL_CLONE_VFORK`
    pub const VFORK: u32 = 1 << 27;
    /// `PPM_CL_CLONE_NEWCGROUP`
    pub const NEWCGROUP: u32 = 1 << 28;
    /// `PPM_CL_CHILD_IN_PIDNS`: set for containerised tasks.
    pub const CHILD_IN_PIDNS: u32 = 1 << 29;
}

/// `ptrace_requests` (ptrace enter `request`, PPM numbers, not Linux's).
pub mod ptrace {
    /// `PPM_PTRACE_TRACEME`
    pub const TRACEME: u16 = 1;
    /// `PPM_PTRACE_PEEKTEXT`
    pub const PEEKTEXT: u16 = 2;
    /// `PPM_PTRACE_PEEKDATA`
    pub const PEEKDATA: u16 = 3;
    /// `PPM_PTRACE_PEEKUSR`
    pub const PEEKUSR: u16 = 4;
    /// `PPM_PTRACE_POKETEXT`
    pub const POKETEXT: u16 = 5;
    /// `PPM_PTRACE_POKEDATA`
    pub const POKEDATA: u16 = 6;
    /// `PPM_PTRACE_POKEUSR`
    pub const POKEUSR: u16 = 7;
    /// `PPM_PTRACE_CONT`
    pub const CONT: u16 = 8;
    /// `PPM_PTRACE_KILL`
    pub const KILL: u16 = 9;
    /// `PPM_PTRACE_SINGLESTEP`
    pub const SINGLESTEP: u16 = 10;
    /// `PPM_PTRACE_ATTACH`
    pub const ATTACH: u16 = 11;
    /// `PPM_PTRACE_DETACH`
    pub const DETACH: u16 = 12;
    /// `PPM_PTRACE_SYSCALL`
    pub const SYSCALL: u16 = 13;
    /// `PPM_PTRACE_SETOPTIONS`
    pub const SETOPTIONS: u16 = 14;
    /// `PPM_PTRACE_GETEVENTMSG`
    pub const GETEVENTMSG: u16 = 15;
    /// `PPM_PTRACE_GETSIGINFO`
    pub const GETSIGINFO: u16 = 16;
    /// `PPM_PTRACE_SETSIGINFO`
    pub const SETSIGINFO: u16 = 17;
    /// `PPM_PTRACE_GETREGSET`
    pub const GETREGSET: u16 = 18;
    /// `PPM_PTRACE_SETREGSET`
    pub const SETREGSET: u16 = 19;
    /// `PPM_PTRACE_SEIZE`
    pub const SEIZE: u16 = 20;
    /// `PPM_PTRACE_INTERRUPT`
    pub const INTERRUPT: u16 = 21;
    /// `PPM_PTRACE_LISTEN`
    pub const LISTEN: u16 = 22;
    /// `PPM_PTRACE_PEEKSIGINFO`
    pub const PEEKSIGINFO: u16 = 23;
    /// `PPM_PTRACE_GETSIGMASK`
    pub const GETSIGMASK: u16 = 24;
    /// `PPM_PTRACE_SETSIGMASK`
    pub const SETSIGMASK: u16 = 25;
}

/// Socket address families (`socket_families`; equal to Linux `AF_*`).
pub mod af {
    /// `AF_UNIX`
    pub const UNIX: u8 = 1;
    /// `AF_INET`
    pub const INET: u8 = 2;
    /// `AF_INET6`
    pub const INET6: u8 = 10;
    /// `AF_NETLINK`
    pub const NETLINK: u8 = 16;
    /// `AF_PACKET`
    pub const PACKET: u8 = 17;
}

/// `umount_flags`.
pub mod umount {
    /// `MNT_FORCE`
    pub const FORCE: u32 = 1;
    /// `MNT_DETACH`
    pub const DETACH: u32 = 2;
    /// `MNT_EXPIRE`
    pub const EXPIRE: u32 = 4;
}

/// `unlinkat_flags`: `AT_REMOVEDIR`.
pub const UNLINKAT_REMOVEDIR: u32 = 0x200;

/// `renameat2_flags`.
pub mod renameat2 {
    /// `RENAME_NOREPLACE`
    pub const NOREPLACE: u32 = 1;
    /// `RENAME_EXCHANGE`
    pub const EXCHANGE: u32 = 2;
    /// `RENAME_WHITEOUT`
    pub const WHITEOUT: u32 = 4;
}

/// `execve_flags`: bit 0, the executable is writable by the caller.
pub const EXECVE_EXE_WRITABLE: u32 = 1;

/// PPM_SC codes for the GENERIC event (0/1) `ID` parameter, for syscalls without a dedicated
/// event in this libs version (spec section 6.1).
/// Codes beyond the spec's table come from the library's syscall table
/// ([`crate::event_table::PPM_SC_NAMES`]); `memfd_create` has no code in this version.
pub mod sc {
    /// `exit`
    pub const EXIT: u16 = 2;
    /// `dup2` (this version records it with the DUP event 124/125)
    pub const DUP2: u16 = 40;
    /// `truncate`
    pub const TRUNCATE: u16 = 57;
    /// `ftruncate`
    pub const FTRUNCATE: u16 = 58;
    /// `init_module` (x86_64 syscall 175)
    pub const INIT_MODULE: u16 = 76;
    /// `prctl`
    pub const PRCTL: u16 = 106;
    /// `capset` (x86_64 syscall 126)
    pub const CAPSET: u16 = 115;
    /// `lchown`
    pub const LCHOWN: u16 = 118;
    /// `setgroups`
    pub const SETGROUPS: u16 = 126;
    /// `fchown`
    pub const FCHOWN: u16 = 127;
    /// `chown`
    pub const CHOWN: u16 = 132;
    /// `pivot_root`
    pub const PIVOT_ROOT: u16 = 137;
    /// `exit_group`
    pub const EXIT_GROUP: u16 = 164;
    /// `fchownat`
    pub const FCHOWNAT: u16 = 200;
    /// `dup3` (this version records it with the DUP event 124/125)
    pub const DUP3: u16 = 228;
    /// `finit_module` (x86_64 syscall 313)
    pub const FINIT_MODULE: u16 = 314;
}

/// Dynamic-parameter indexes (`PT_DYN`).
pub mod dyn_index {
    /// ptrace `addr`/`data`: a `u64`.
    pub const PTRACE_UINT64: u8 = 0;
    /// ptrace `addr`/`data`: a signal number.
    pub const PTRACE_SIGTYPE: u8 = 1;
    /// bpf `res_or_fd`: the new fd.
    pub const BPF_FD: u8 = 0;
    /// bpf `res_or_fd`: a failure (negative errno).
    pub const BPF_ERRNO: u8 = 1;
}
