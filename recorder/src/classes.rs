//! Which x86_64 syscall belongs to which [`SyscallClass`], and the per-container
//! syscall bitmap (`bb_container_cfg.syscalls`) built from a list of classes.
//!
//! Anything not listed is [`SyscallClass::Other`]. Numbers past the bitmap
//! (`BB_SYSCALL_MASK_BITS`) are always recorded by the programs.

pub use blackbox_config::SyscallClass;
use blackbox_recorder_ebpf::wire::BB_SYSCALL_MASK_BITS;

/// The bitmap words of `bb_container_cfg.syscalls`.
pub const MASK_WORDS: usize = BB_SYSCALL_MASK_BITS as usize / 64;

const PROCESS: &[u32] = &[
    56, 57, 58, 59, 60, 231, 322,
    435, // clone, fork, vfork, execve, exit, exit_group, execveat, clone3
    105, 106, 113, 114, 117, 119, 116, 122,
    123, // setuid, setgid, setreuid, setregid, setresuid, setresgid, setgroups, setfsuid, setfsgid
    126, 157, 101, 308, 272, // capset, prctl, ptrace, setns, unshare
    62, 200, 234, 129, 297,
    424, // kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal
    161, 155, 80, 81, // chroot, pivot_root, chdir, fchdir
    112, 109, 317, 434, // setsid, setpgid, seccomp, pidfd_open
];
const FILE: &[u32] = &[
    2, 85, 257, 437, 3, 436, // open, creat, openat, openat2, close, close_range
    32, 33, 292, 72, 22, 293, // dup, dup2, dup3, fcntl, pipe, pipe2
    82, 264, 316, 86, 265, 88, 266, 87, 263, 83, 258,
    84, // rename*, link*, symlink*, unlink*, mkdir*, rmdir
    90, 91, 268, 452, 92, 93, 94,
    260, // chmod, fchmod, fchmodat, fchmodat2, chown, fchown, lchown, fchownat
    76, 77, 319, 165, 166, 175, 313, 176, 321, 133,
    259, // truncate, ftruncate, memfd_create, mount, umount2, init/finit/delete_module, bpf, mknod, mknodat
    284, 290, 253, 254, 255, // eventfd, eventfd2, inotify_init/add_watch/rm_watch
    188, 189, 190, 197, 198,
    199, // setxattr, lsetxattr, fsetxattr, removexattr, lremovexattr, fremovexattr
    132, 235, 280, 261, 283, 286,
    287, // utime, utimes, utimensat, futimesat, timerfd_create, timerfd_settime, timerfd_gettime
    428, 429, 430, 431, 432, 433, // open_tree, move_mount, fsopen, fsconfig, fsmount, fspick
];
const IO: &[u32] = &[
    0, 1, 17, 18, 19, 20, 295, 296, 327,
    328, // read, write, pread64, pwrite64, readv, writev, preadv, pwritev, preadv2, pwritev2
    40, 275, 276, 326, 278, // sendfile, splice, tee, copy_file_range, vmsplice
];
const NET: &[u32] = &[
    41, 53, 49, 50, 42, 43, 288, // socket, socketpair, bind, listen, connect, accept, accept4
    44, 45, 46, 47, 307, 299,
    48, // sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg, shutdown
    54, 55, 51, 52, // setsockopt, getsockopt, getsockname, getpeername
];
const MEMORY: &[u32] = &[
    9, 11, 10, 25, 12, 28, 149, 150, 151, 152, 325,
    329, // mmap, munmap, mprotect, mremap, brk, madvise, mlock, munlock, mlockall, munlockall, mlock2, pkey_mprotect
];

/// The class of x86_64 syscall `nr`.
pub fn class_of(nr: u32) -> SyscallClass {
    let tables = [
        (SyscallClass::Process, PROCESS),
        (SyscallClass::File, FILE),
        (SyscallClass::Io, IO),
        (SyscallClass::Net, NET),
        (SyscallClass::Memory, MEMORY),
    ];
    tables
        .iter()
        .find(|(_, nrs)| nrs.contains(&nr))
        .map_or(SyscallClass::Other, |(c, _)| *c)
}

/// The bitmap recording exactly the syscalls of `classes` (process is always added).
pub fn syscall_mask(classes: &[SyscallClass]) -> [u64; MASK_WORDS] {
    let mut mask = [0u64; MASK_WORDS];
    for nr in 0..BB_SYSCALL_MASK_BITS {
        let class = class_of(nr);
        if class == SyscallClass::Process || classes.contains(&class) {
            mask[nr as usize / 64] |= 1 << (nr % 64);
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_syscall_is_in_one_class_only() {
        let all = [PROCESS, FILE, IO, NET, MEMORY];
        let mut seen = std::collections::BTreeMap::new();
        for (i, t) in all.iter().enumerate() {
            for nr in *t {
                assert!(
                    seen.insert(*nr, i).is_none(),
                    "syscall {nr} is listed twice"
                );
                assert!(*nr < BB_SYSCALL_MASK_BITS);
            }
        }
    }

    #[test]
    fn masks_follow_the_classes() {
        let all = syscall_mask(&SyscallClass::ALL);
        assert!(all.iter().all(|w| *w == u64::MAX));
        let only_process = syscall_mask(&[]);
        let bit = |m: &[u64; MASK_WORDS], nr: u32| (m[nr as usize / 64] >> (nr % 64)) & 1 == 1;
        assert!(bit(&only_process, 59), "execve always");
        assert!(bit(&only_process, 56), "clone always");
        assert!(!bit(&only_process, 0), "read is io");
        assert!(!bit(&only_process, 257), "openat is file");
        let net = syscall_mask(&[SyscallClass::Net]);
        assert!(bit(&net, 42) && !bit(&net, 1) && !bit(&net, 9) && !bit(&net, 39));
        assert_eq!(class_of(39), SyscallClass::Other, "getpid");
        assert_eq!(class_of(1), SyscallClass::Io);
        assert_eq!(class_of(9), SyscallClass::Memory);
    }
}
