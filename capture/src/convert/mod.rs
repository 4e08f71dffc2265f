//! Record → SCAP event conversion, one syscall family per file.
//!
//! [`spec`] says which SCAP event pair a syscall becomes and whether its enter event has to
//! wait for the exit record (its parameters are only in the exit's blobs). The family modules
//! fill the parameters; [`generic`] covers every other syscall and every failure.

mod file;
pub mod flags;
mod generic;
mod io;
mod net;
mod process;
mod syscall_names;

use blackbox_recorder::SyscallRecord;
use blackbox_scap::{BuildError, Event, EventBuilder, ParamValue};

use crate::threads::ProcSnapshot;

pub use generic::{
    enter as generic_enter, exit as generic_exit, ppm_sc_of, syscall_name_of, GENERIC_E, GENERIC_X,
};
pub use process::{procexit, snapshot_of, PROCEXIT_E};

/// x86_64 syscall numbers the converter gives a dedicated event (the ABI never renumbers).
#[allow(missing_docs)]
pub mod nr {
    pub const READ: u32 = 0;
    pub const MMAP: u32 = 9;
    pub const MPROTECT: u32 = 10;
    pub const MUNMAP: u32 = 11;
    pub const READV: u32 = 19;
    pub const WRITEV: u32 = 20;
    pub const PIPE: u32 = 22;
    pub const SENDFILE: u32 = 40;
    pub const SENDMSG: u32 = 46;
    pub const RECVMSG: u32 = 47;
    pub const SHUTDOWN: u32 = 48;
    pub const SOCKETPAIR: u32 = 53;
    pub const FCNTL: u32 = 72;
    pub const PIPE2: u32 = 293;
    pub const PREADV: u32 = 295;
    pub const PWRITEV: u32 = 296;
    pub const PREADV2: u32 = 327;
    pub const PWRITEV2: u32 = 328;
    pub const WRITE: u32 = 1;
    pub const OPEN: u32 = 2;
    pub const CLOSE: u32 = 3;
    pub const PREAD64: u32 = 17;
    pub const PWRITE64: u32 = 18;
    pub const DUP: u32 = 32;
    pub const DUP2: u32 = 33;
    pub const SOCKET: u32 = 41;
    pub const CONNECT: u32 = 42;
    pub const ACCEPT: u32 = 43;
    pub const SENDTO: u32 = 44;
    pub const RECVFROM: u32 = 45;
    pub const BIND: u32 = 49;
    pub const LISTEN: u32 = 50;
    pub const CLONE: u32 = 56;
    pub const FORK: u32 = 57;
    pub const VFORK: u32 = 58;
    pub const EXECVE: u32 = 59;
    pub const EXIT: u32 = 60;
    pub const KILL: u32 = 62;
    pub const CHDIR: u32 = 80;
    pub const FCHDIR: u32 = 81;
    pub const RENAME: u32 = 82;
    pub const MKDIR: u32 = 83;
    pub const RMDIR: u32 = 84;
    pub const CREAT: u32 = 85;
    pub const LINK: u32 = 86;
    pub const UNLINK: u32 = 87;
    pub const SYMLINK: u32 = 88;
    pub const CHMOD: u32 = 90;
    pub const FCHMOD: u32 = 91;
    pub const PTRACE: u32 = 101;
    pub const SETUID: u32 = 105;
    pub const SETGID: u32 = 106;
    pub const GETPPID: u32 = 110;
    pub const SETRESUID: u32 = 117;
    pub const SETRESGID: u32 = 119;
    pub const PRCTL: u32 = 157;
    pub const CHROOT: u32 = 161;
    pub const MOUNT: u32 = 165;
    pub const UMOUNT2: u32 = 166;
    pub const TKILL: u32 = 200;
    pub const EXIT_GROUP: u32 = 231;
    pub const TGKILL: u32 = 234;
    pub const OPENAT: u32 = 257;
    pub const MKDIRAT: u32 = 258;
    pub const UNLINKAT: u32 = 263;
    pub const RENAMEAT: u32 = 264;
    pub const LINKAT: u32 = 265;
    pub const SYMLINKAT: u32 = 266;
    pub const FCHMODAT: u32 = 268;
    pub const UNSHARE: u32 = 272;
    pub const ACCEPT4: u32 = 288;
    pub const DUP3: u32 = 292;
    pub const SETNS: u32 = 308;
    pub const RENAMEAT2: u32 = 316;
    pub const EXECVEAT: u32 = 322;
    pub const CLONE3: u32 = 435;
    pub const OPENAT2: u32 = 437;
}

/// The SCAP events of one syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Enter event type.
    pub enter: u16,
    /// Exit event type.
    pub exit: u16,
    /// The enter event's parameters come from the exit record: write it when the exit arrives.
    pub deferred: bool,
}

const fn s(enter: u16, exit: u16) -> Option<Spec> {
    Some(Spec {
        enter,
        exit,
        deferred: false,
    })
}

const fn d(enter: u16, exit: u16) -> Option<Spec> {
    Some(Spec {
        enter,
        exit,
        deferred: true,
    })
}

/// The dedicated event pair of syscall `nr`, or `None` for the generic event.
pub fn spec(nr: u32) -> Option<Spec> {
    use self::nr as n;
    match nr {
        n::OPEN => d(2, 3),
        n::CREAT => d(58, 59),
        n::OPENAT => d(306, 307),
        n::OPENAT2 => d(326, 327),
        n::CLOSE => s(4, 5),
        n::READ => s(6, 7),
        n::WRITE => s(8, 9),
        n::PREAD64 => s(112, 113),
        n::PWRITE64 => s(114, 115),
        n::DUP | n::DUP2 | n::DUP3 => s(124, 125),
        n::SOCKET => s(18, 19),
        n::BIND => s(20, 21),
        n::CONNECT => d(22, 23),
        n::LISTEN => s(24, 25),
        n::SENDTO => d(30, 31),
        n::RECVFROM => s(34, 35),
        n::ACCEPT => s(246, 247),
        n::ACCEPT4 => s(248, 249),
        n::KILL => s(128, 129),
        n::TKILL => s(130, 131),
        n::TGKILL => s(132, 133),
        n::PTRACE => s(168, 169),
        n::RENAME => s(174, 175),
        n::RENAMEAT => s(176, 177),
        n::SYMLINK => s(178, 179),
        n::SYMLINKAT => s(180, 181),
        n::SETRESUID => s(192, 193),
        n::SETRESGID => s(194, 195),
        n::SETUID => s(198, 199),
        n::SETGID => s(200, 201),
        n::CLONE => s(222, 223),
        n::FORK => s(224, 225),
        n::VFORK => s(226, 227),
        n::SETNS => s(240, 241),
        n::MOUNT => s(256, 257),
        n::UMOUNT2 => s(258, 259),
        n::CHROOT => s(266, 267),
        n::MKDIR => s(276, 277),
        n::RMDIR => s(278, 279),
        n::UNSHARE => s(284, 285),
        n::EXECVE => d(292, 293),
        n::UNLINK => s(300, 301),
        n::UNLINKAT => s(302, 303),
        n::MKDIRAT => s(304, 305),
        n::LINK => s(308, 309),
        n::LINKAT => s(310, 311),
        n::FCHMODAT => s(312, 313),
        n::CHMOD => s(314, 315),
        n::FCHMOD => s(316, 317),
        n::RENAMEAT2 => s(318, 319),
        n::EXECVEAT => d(330, 331),
        n::CLONE3 => s(334, 335),
        n::CHDIR => s(94, 95),
        n::READV => s(116, 117),
        n::WRITEV => d(118, 119),
        n::PREADV | n::PREADV2 => s(120, 121),
        n::PWRITEV | n::PWRITEV2 => d(122, 123),
        n::SENDFILE => d(188, 189),
        n::PIPE | n::PIPE2 => s(60, 61),
        n::FCNTL => s(150, 151),
        n::MMAP => s(160, 161),
        n::MUNMAP => s(164, 165),
        n::MPROTECT => s(328, 329),
        n::SENDMSG => d(48, 49),
        n::RECVMSG => s(52, 53),
        n::SOCKETPAIR => s(42, 43),
        n::SHUTDOWN => s(36, 37),
        n::FCHDIR => s(96, 97),
        _ => None,
    }
}

/// Whether `nr` is execve or execveat.
pub fn is_exec(nr: u32) -> bool {
    nr == nr::EXECVE || nr == nr::EXECVEAT
}

/// Whether `nr` is exit or exit_group (no exit event follows their enter).
pub fn is_exit(nr: u32) -> bool {
    nr == nr::EXIT || nr == nr::EXIT_GROUP
}

/// Whether syscall `nr` creates a process or thread (whose first return is in the child).
pub fn is_clone(nr: u32) -> bool {
    matches!(nr, nr::CLONE | nr::CLONE3 | nr::FORK | nr::VFORK)
}

/// Per-capture facts the exits of exec and clone carry.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// `subsys=path\0…` of the container (the `cgroups` parameter).
    pub cgroups: Vec<u8>,
}

/// What an enter event is built from.
#[derive(Debug, Clone, Copy)]
pub struct EnterInput<'a, 'r> {
    /// Raw arguments at enter.
    pub args: [u64; 6],
    /// The enter record's path blob (execve, execveat).
    pub path: Option<&'a [u8]>,
    /// The exit record, for deferred enters written when it arrives (`None`: it never came).
    pub exit: Option<&'a SyscallRecord<'r>>,
}

/// What an exit event is built from.
#[derive(Debug, Clone, Copy)]
pub struct ExitInput<'a, 'r> {
    /// The exit record.
    pub rec: &'a SyscallRecord<'r>,
    /// The arguments: the enter's when known (a successful execve's exit holds the new image's
    /// registers), else the exit's.
    pub args: [u64; 6],
    /// Capture facts.
    pub ctx: &'a Ctx,
    /// The calling process as last seen (clone parent side, failed execve).
    pub proc: Option<&'a ProcSnapshot>,
}

/// The enter event of syscall `nr` on `tid`, with its dedicated type if it has one.
pub fn enter_event(
    nr: u32,
    ts: u64,
    tid: u64,
    cpu: u16,
    input: &EnterInput<'_, '_>,
) -> Result<Event, BuildError> {
    let Some(sp) = spec(nr) else {
        return generic::enter(nr, ts, tid, cpu);
    };
    let b = EventBuilder::new(ts, tid, sp.enter).cpu(cpu);
    let b = match sp.enter {
        2 | 58 | 306 | 326 | 4 | 6 | 8 | 112 | 114 | 124 | 174 | 176 | 178 | 180 | 276 | 278
        | 300 | 302 | 304 | 308 | 310 | 312 | 314 | 316 | 318 | 94 | 96 | 256 | 258 => {
            file::enter(sp.enter, b, input)
        }
        18 | 20 | 22 | 24 | 30 | 34 | 246 | 248 | 48 | 52 | 42 | 36 => {
            net::enter(sp.enter, b, input)
        }
        116 | 118 | 120 | 122 | 188 | 60 | 150 | 160 | 164 | 328 => io::enter(sp.enter, b, input),
        _ => process::enter(sp.enter, b, input),
    };
    b.build()
}

/// The exit event of syscall `nr` at `ts`.
pub fn exit_event(nr: u32, ts: u64, input: &ExitInput<'_, '_>) -> Result<Event, BuildError> {
    let h = &input.rec.header;
    let (tid, cpu) = (u64::from(h.tid), h.cpu as u16);
    let Some(sp) = spec(nr) else {
        return generic::exit(nr, ts, tid, cpu);
    };
    let b = EventBuilder::new(ts, tid, sp.exit).cpu(cpu);
    let b = match sp.exit {
        3 | 59 | 307 | 327 | 5 | 7 | 9 | 113 | 115 | 125 | 175 | 177 | 179 | 181 | 277 | 279
        | 301 | 303 | 305 | 309 | 311 | 313 | 315 | 317 | 319 | 95 | 97 | 257 | 259 => {
            file::exit(sp.exit, b, input)
        }
        19 | 21 | 23 | 25 | 31 | 35 | 247 | 249 | 49 | 53 | 43 | 37 => net::exit(sp.exit, b, input),
        117 | 119 | 121 | 123 | 189 | 61 | 151 | 161 | 165 | 329 => io::exit(sp.exit, b, input),
        _ => process::exit(sp.exit, b, input),
    };
    b.build()
}

/// A `CHARBUF`/`FSPATH` value from bytes (cut at a NUL), or an empty value when absent.
pub(crate) fn str_or_empty(v: Option<&[u8]>) -> ParamValue {
    match v {
        Some(b) => ParamValue::Str(blackbox_recorder::decode::trim_nul(b).to_vec()),
        None => ParamValue::Empty,
    }
}

/// Strings joined as `a\0b\0` (the `args`, `env`, `cgroups` convention).
pub(crate) fn join_nul<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in items {
        out.extend_from_slice(i.as_ref());
        out.push(0);
    }
    out
}

/// The path blob of argument `arg` of the exit record, if any.
pub(crate) fn exit_path<'a>(input: &EnterInput<'a, '_>, arg: u8) -> Option<&'a [u8]> {
    input.exit.and_then(|e| e.path_arg(arg))
}

/// A raw argument as an fd (the low 32 bits, sign-extended, as the kernel reads an int).
pub(crate) fn fd_arg(v: u64) -> i64 {
    i64::from(v as u32 as i32)
}

/// A raw argument as a `u32` size, saturating.
pub(crate) fn u32_arg(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
