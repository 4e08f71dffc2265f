//! Linux flag and enum values (as the recorder passes them through) to their PPM encodings
//! (`blackbox_scap::flags`), as the kernel driver of that libs version converts them.

use blackbox_scap::flags::{clone, open, ptrace};

/// Linux `O_*` (x86_64) to `PPM_O_*`.
pub fn open_flags_to_ppm(flags: u64) -> u32 {
    let mut r = match flags & 0o3 {
        0 => open::RDONLY,
        1 => open::WRONLY,
        _ => open::RDWR,
    };
    const MAP: [(u64, u32); 12] = [
        (0o100, open::CREAT),
        (0o200, open::EXCL),
        (0o1000, open::TRUNC),
        (0o2000, open::APPEND),
        (0o4000, open::NONBLOCK),
        (0o10000, open::DSYNC),
        (0o4000000, open::SYNC),
        (0o40000, open::DIRECT),
        (0o100000, open::LARGEFILE),
        (0o200000, open::DIRECTORY),
        (0o2000000, open::CLOEXEC),
        (0o20000000, open::TMPFILE),
    ];
    for (linux, ppm) in MAP {
        if flags & linux != 0 {
            r |= ppm;
        }
    }
    r
}

/// The `mode` an open-family event carries: the permission bits when the call can create a
/// file (O_CREAT or O_TMPFILE), else 0.
pub fn open_mode(flags: u64, mode: u64) -> u32 {
    if flags & (0o100 | 0o20000000) != 0 {
        (mode & 0o7777) as u32
    } else {
        0
    }
}

/// Linux `CLONE_*` to `PPM_CL_*`; `in_pidns` adds `PPM_CL_CHILD_IN_PIDNS`.
pub fn clone_flags_to_ppm(flags: u64, in_pidns: bool) -> u32 {
    const MAP: [(u64, u32); 22] = [
        (0x0000_0100, clone::VM),
        (0x0000_0200, clone::FS),
        (0x0000_0400, clone::FILES),
        (0x0000_0800, clone::SIGHAND),
        (0x0000_2000, clone::PTRACE),
        (0x0000_4000, clone::VFORK),
        (0x0000_8000, clone::PARENT),
        (0x0001_0000, clone::THREAD),
        (0x0002_0000, clone::NEWNS),
        (0x0004_0000, clone::SYSVSEM),
        (0x0008_0000, clone::SETTLS),
        (0x0010_0000, clone::PARENT_SETTID),
        (0x0020_0000, clone::CHILD_CLEARTID),
        (0x0080_0000, clone::UNTRACED),
        (0x0100_0000, clone::CHILD_SETTID),
        (0x0200_0000, clone::NEWCGROUP),
        (0x0400_0000, clone::NEWUTS),
        (0x0800_0000, clone::NEWIPC),
        (0x1000_0000, clone::NEWUSER),
        (0x2000_0000, clone::NEWPID),
        (0x4000_0000, clone::NEWNET),
        (0x8000_0000, clone::IO),
    ];
    let mut r = 0;
    for (linux, ppm) in MAP {
        if flags & linux != 0 {
            r |= ppm;
        }
    }
    if in_pidns {
        r |= clone::CHILD_IN_PIDNS;
    }
    r
}

/// Linux `PTRACE_*` request to `PPM_PTRACE_*` (0 when this version has no name for it).
pub fn ptrace_request_to_ppm(req: u64) -> u16 {
    match req {
        0 => ptrace::TRACEME,
        1 => ptrace::PEEKTEXT,
        2 => ptrace::PEEKDATA,
        3 => ptrace::PEEKUSR,
        4 => ptrace::POKETEXT,
        5 => ptrace::POKEDATA,
        6 => ptrace::POKEUSR,
        7 => ptrace::CONT,
        8 => ptrace::KILL,
        9 => ptrace::SINGLESTEP,
        16 => ptrace::ATTACH,
        17 => ptrace::DETACH,
        24 => ptrace::SYSCALL,
        0x4200 => ptrace::SETOPTIONS,
        0x4201 => ptrace::GETEVENTMSG,
        0x4202 => ptrace::GETSIGINFO,
        0x4203 => ptrace::SETSIGINFO,
        0x4204 => ptrace::GETREGSET,
        0x4205 => ptrace::SETREGSET,
        0x4206 => ptrace::SEIZE,
        0x4207 => ptrace::INTERRUPT,
        0x4208 => ptrace::LISTEN,
        0x4209 => ptrace::PEEKSIGINFO,
        0x420a => ptrace::GETSIGMASK,
        0x420b => ptrace::SETSIGMASK,
        _ => 0,
    }
}

/// mount(2) flags: PPM_MS_* equal Linux MS_* without the `0xC0ED` magic in the high half.
pub fn mount_flags_to_ppm(flags: u64) -> u32 {
    let flags = if flags & 0xffff_0000 == 0xc0ed_0000 {
        flags & 0xffff
    } else {
        flags
    };
    flags as u32
}

/// Linux `F_*` fcntl commands (x86_64) to `PPM_FCNTL_*` (0: unknown).
pub fn fcntl_cmd_to_ppm(cmd: u64) -> u8 {
    match cmd {
        0 => 1,     // F_DUPFD
        1 => 2,     // F_GETFD
        2 => 3,     // F_SETFD
        3 => 4,     // F_GETFL
        4 => 5,     // F_SETFL
        5 => 6,     // F_GETLK (= F_GETLK64 on x86_64)
        6 => 8,     // F_SETLK
        7 => 9,     // F_SETLKW
        8 => 10,    // F_SETOWN
        9 => 12,    // F_GETOWN
        10 => 13,   // F_SETSIG
        11 => 15,   // F_GETSIG
        15 => 21,   // F_SETOWN_EX
        16 => 22,   // F_GETOWN_EX
        36 => 30,   // F_OFD_GETLK
        37 => 31,   // F_OFD_SETLK
        38 => 32,   // F_OFD_SETLKW
        1024 => 23, // F_SETLEASE
        1025 => 24, // F_GETLEASE
        1026 => 27, // F_NOTIFY
        1029 => 25, // F_CANCELLK
        1030 => 26, // F_DUPFD_CLOEXEC
        1031 => 28, // F_SETPIPE_SZ
        1032 => 29, // F_GETPIPE_SZ
        _ => 0,
    }
}

/// Linux `PROT_*` to `PPM_PROT_*`.
pub fn prot_to_ppm(prot: u64) -> u32 {
    const MAP: [(u64, u32); 5] = [
        (0x1, 1),          // READ
        (0x2, 2),          // WRITE
        (0x4, 4),          // EXEC
        (0x8, 8),          // SEM
        (0x0100_0000, 16), // GROWSDOWN
    ];
    let mut r = MAP
        .iter()
        .filter(|(l, _)| prot & l != 0)
        .fold(0, |acc, (_, p)| acc | p);
    if prot & 0x0200_0000 != 0 {
        r |= 32; // GROWSUP
    }
    r
}

/// Linux `MAP_*` (x86_64) to `PPM_MAP_*`.
pub fn mmap_flags_to_ppm(flags: u64) -> u32 {
    const MAP: [(u64, u32); 12] = [
        (0x1, 1),        // SHARED
        (0x2, 2),        // PRIVATE
        (0x10, 4),       // FIXED
        (0x20, 8),       // ANONYMOUS
        (0x40, 16),      // 32BIT
        (0x4000, 64),    // NORESERVE
        (0x8000, 128),   // POPULATE
        (0x1_0000, 256), // NONBLOCK
        (0x100, 512),    // GROWSDOWN
        (0x800, 1024),   // DENYWRITE
        (0x1000, 2048),  // EXECUTABLE
        (0x2000, 16384), // LOCKED
    ];
    MAP.iter()
        .filter(|(l, _)| flags & l != 0)
        .fold(0, |acc, (_, p)| acc | p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags() {
        assert_eq!(open_flags_to_ppm(0), open::RDONLY);
        // O_RDONLY|O_CLOEXEC
        assert_eq!(open_flags_to_ppm(0o2000000), open::RDONLY | open::CLOEXEC);
        // O_WRONLY|O_CREAT|O_TRUNC
        assert_eq!(
            open_flags_to_ppm(0o1101),
            open::WRONLY | open::CREAT | open::TRUNC
        );
        // O_SYNC = __O_SYNC|O_DSYNC
        assert_eq!(
            open_flags_to_ppm(0o4010002),
            open::RDWR | open::SYNC | open::DSYNC
        );
        assert_eq!(open_mode(0o1101, 0o100644), 0o644);
        assert_eq!(open_mode(0, 0o644), 0);
    }

    #[test]
    fn clone_flags() {
        // fork(): SIGCHLD only.
        assert_eq!(clone_flags_to_ppm(17, false), 0);
        // glibc pthread_create.
        let t = clone_flags_to_ppm(0x3d0f00, true);
        assert_eq!(
            t,
            clone::VM
                | clone::FS
                | clone::FILES
                | clone::SIGHAND
                | clone::THREAD
                | clone::SYSVSEM
                | clone::SETTLS
                | clone::PARENT_SETTID
                | clone::CHILD_CLEARTID
                | clone::CHILD_IN_PIDNS
        );
    }

    #[test]
    fn ptrace_and_mount() {
        assert_eq!(ptrace_request_to_ppm(16), ptrace::ATTACH);
        assert_eq!(ptrace_request_to_ppm(0x4206), ptrace::SEIZE);
        assert_eq!(ptrace_request_to_ppm(12345), 0);
        assert_eq!(mount_flags_to_ppm(0xc0ed_1000), 0x1000);
        assert_eq!(mount_flags_to_ppm(0x5000), 0x5000);
    }

    #[test]
    fn fcntl_prot_and_mmap_values_match_the_ppm_tables() {
        // F_DUPFD_CLOEXEC, F_SETFL, an unknown command.
        assert_eq!(fcntl_cmd_to_ppm(1030), 26);
        assert_eq!(fcntl_cmd_to_ppm(4), 5);
        assert_eq!(fcntl_cmd_to_ppm(999), 0);
        assert_eq!(prot_to_ppm(0x1 | 0x4), 1 | 4);
        assert_eq!(prot_to_ppm(0x0100_0000 | 0x0200_0000), 16 | 32);
        // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_DENYWRITE
        assert_eq!(
            mmap_flags_to_ppm(0x2 | 0x20 | 0x10 | 0x800),
            2 | 8 | 4 | 1024
        );
    }
}
