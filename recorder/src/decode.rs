//! Decoding ring-buffer records (`bpf/wire.h`) into borrowed Rust views.
//!
//! Every length comes from the kernel side and is checked against the bytes
//! actually received; a malformed record is an error value, never a panic.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use blackbox_recorder_ebpf::wire::{
    bb_blob, bb_hdr, bb_proc_exit_rec, bb_proc_info, bb_sock_tuple, bb_syscall_rec, BB_ARG_NONE,
    BB_BLOB_ARGV, BB_BLOB_DATA, BB_BLOB_ENV, BB_BLOB_IOV_LEN, BB_BLOB_OPEN_HOW, BB_BLOB_PATH,
    BB_BLOB_PROC, BB_BLOB_RAW, BB_BLOB_SOCKADDR, BB_BLOB_STRING, BB_BLOB_TUPLE, BB_KIND_PROC_EXIT,
    BB_KIND_SYS_ENTER, BB_KIND_SYS_EXIT, BB_MAX_BLOBS, BB_NR_NONE,
};

use crate::wire_pod::read_wire;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the fixed part of the record.
    #[error("record truncated: {have} bytes, need {need}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes received.
        have: usize,
    },
    /// The header's length disagrees with the bytes received.
    #[error("record length {claimed} does not match the {have} bytes received")]
    BadLength {
        /// bb_hdr.len.
        claimed: u32,
        /// Bytes received.
        have: usize,
    },
    /// A kind this reader does not know (a newer wire version?).
    #[error("unknown record kind {0}")]
    UnknownKind(u16),
    /// The blob lengths add up to more than the record.
    #[error("blobs overrun the record: {end} > {len}")]
    BlobOverrun {
        /// Where the blobs end.
        end: usize,
        /// Record length.
        len: usize,
    },
}

/// The fields every record starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// CLOCK_BOOTTIME nanoseconds (see [`crate::BootClock`] for epoch time).
    pub ts_boot_ns: u64,
    /// cgroup-v2 id of the task (the container's, or one of its sub-cgroups).
    pub cgroup_id: u64,
    /// `BB_F_*` flags.
    pub flags: u16,
    /// Host thread id.
    pub tid: u32,
    /// Host process (thread-group) id.
    pub pid: u32,
    /// x86_64 syscall number, if this is a syscall record.
    pub nr: Option<u32>,
    /// CPU the record was produced on.
    pub cpu: u32,
}

impl Header {
    fn from_wire(h: &bb_hdr) -> Self {
        Self {
            ts_boot_ns: h.ts_boot_ns,
            cgroup_id: h.cgroup_id,
            flags: h.flags,
            tid: h.tid,
            pid: h.pid,
            nr: (h.nr != BB_NR_NONE).then_some(h.nr),
            cpu: h.cpu,
        }
    }
}

/// Syscall enter or exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// sys_enter.
    Enter,
    /// sys_exit.
    Exit,
}

/// What a blob holds (`BB_BLOB_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// A path string from user memory, NUL included.
    Path,
    /// A non-path string from user memory, NUL included.
    String,
    /// I/O payload, at most the snaplen.
    Data,
    /// Raw `struct sockaddr` from user memory.
    SockAddr,
    /// `bb_sock_tuple` of the socket behind an fd.
    Tuple,
    /// `bb_proc_info`.
    Proc,
    /// argv area of the new image.
    Argv,
    /// environment area of the new image.
    Env,
    /// `struct open_how` (openat2).
    OpenHow,
    /// Raw bytes from user memory after the call (pipe/socketpair fds, sendfile's offset).
    Raw,
    /// `u64`: the sum of `iov_len` over the call's iovecs.
    IovLen,
    /// A kind this reader does not know.
    Unknown(u8),
}

impl BlobKind {
    fn from_wire(k: u8) -> Self {
        match u32::from(k) {
            BB_BLOB_PATH => Self::Path,
            BB_BLOB_STRING => Self::String,
            BB_BLOB_DATA => Self::Data,
            BB_BLOB_SOCKADDR => Self::SockAddr,
            BB_BLOB_TUPLE => Self::Tuple,
            BB_BLOB_PROC => Self::Proc,
            BB_BLOB_ARGV => Self::Argv,
            BB_BLOB_ENV => Self::Env,
            BB_BLOB_OPEN_HOW => Self::OpenHow,
            BB_BLOB_RAW => Self::Raw,
            BB_BLOB_IOV_LEN => Self::IovLen,
            _ => Self::Unknown(k),
        }
    }
}

/// One variable-length parameter of a syscall record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob<'a> {
    /// What it holds.
    pub kind: BlobKind,
    /// The syscall argument it was read from, if any.
    pub arg: Option<u8>,
    /// The bytes, as received.
    pub data: &'a [u8],
}

/// A syscall enter or exit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallRecord<'a> {
    /// Common header.
    pub header: Header,
    /// Enter or exit.
    pub direction: Direction,
    /// x86_64 syscall number.
    pub nr: u32,
    /// Return value (exit); 0 on enter.
    pub ret: i64,
    /// The six raw register arguments.
    pub args: [u64; 6],
    blobs: [Option<Blob<'a>>; BB_MAX_BLOBS as usize],
}

/// A thread exit (sched_process_exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcExit {
    /// Common header.
    pub header: Header,
    /// wait(2) status of the thread (`task->exit_code`).
    pub exit_code: i32,
    /// `signal->group_exit_code`.
    pub group_exit_code: i32,
    /// Whether this was the last thread of its process.
    pub group_dead: bool,
}

impl ProcExit {
    /// The exit status (`WEXITSTATUS`), when the thread exited normally.
    pub fn exit_status(&self) -> Option<i32> {
        (self.exit_code & 0x7f == 0).then_some((self.exit_code >> 8) & 0xff)
    }

    /// The terminating signal (`WTERMSIG`), if any.
    pub fn signal(&self) -> Option<i32> {
        let sig = self.exit_code & 0x7f;
        (sig != 0).then_some(sig)
    }

    /// Whether a core was dumped.
    pub fn core_dumped(&self) -> bool {
        self.exit_code & 0x80 != 0
    }
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// Syscall enter/exit.
    Syscall(SyscallRecord<'a>),
    /// Thread exit.
    ProcExit(ProcExit),
}

impl Record<'_> {
    /// The common header.
    pub fn header(&self) -> &Header {
        match self {
            Self::Syscall(s) => &s.header,
            Self::ProcExit(p) => &p.header,
        }
    }
}

/// Decodes one record as read from the ring buffer.
pub fn decode(bytes: &[u8]) -> Result<Record<'_>, DecodeError> {
    let hdr: bb_hdr = read_wire(bytes).ok_or(DecodeError::Truncated {
        need: size_of::<bb_hdr>(),
        have: bytes.len(),
    })?;
    if hdr.len as usize != bytes.len() {
        return Err(DecodeError::BadLength {
            claimed: hdr.len,
            have: bytes.len(),
        });
    }
    let header = Header::from_wire(&hdr);
    match u32::from(hdr.kind) {
        BB_KIND_SYS_ENTER | BB_KIND_SYS_EXIT => {
            decode_syscall(bytes, header, hdr.kind).map(Record::Syscall)
        }
        BB_KIND_PROC_EXIT => {
            let rec: bb_proc_exit_rec = read_wire(bytes).ok_or(DecodeError::Truncated {
                need: size_of::<bb_proc_exit_rec>(),
                have: bytes.len(),
            })?;
            Ok(Record::ProcExit(ProcExit {
                header,
                exit_code: rec.exit_code,
                group_exit_code: rec.group_exit_code,
                group_dead: rec.group_dead != 0,
            }))
        }
        _ => Err(DecodeError::UnknownKind(hdr.kind)),
    }
}

fn decode_syscall(
    bytes: &[u8],
    header: Header,
    kind: u16,
) -> Result<SyscallRecord<'_>, DecodeError> {
    let rec: bb_syscall_rec = read_wire(bytes).ok_or(DecodeError::Truncated {
        need: size_of::<bb_syscall_rec>(),
        have: bytes.len(),
    })?;
    let mut blobs = [None; BB_MAX_BLOBS as usize];
    let mut off = size_of::<bb_syscall_rec>();
    for (slot, b) in blobs.iter_mut().zip(rec.blobs.iter()) {
        let bb_blob { len, kind, arg } = *b;
        if len == 0 {
            continue;
        }
        let end = off + usize::from(len);
        let data = bytes.get(off..end).ok_or(DecodeError::BlobOverrun {
            end,
            len: bytes.len(),
        })?;
        *slot = Some(Blob {
            kind: BlobKind::from_wire(kind),
            arg: (u32::from(arg) != BB_ARG_NONE).then_some(arg),
            data,
        });
        off = end;
    }
    Ok(SyscallRecord {
        header,
        direction: if u32::from(kind) == BB_KIND_SYS_ENTER {
            Direction::Enter
        } else {
            Direction::Exit
        },
        nr: rec.hdr.nr,
        ret: rec.ret,
        args: rec.args,
        blobs,
    })
}

impl<'a> SyscallRecord<'a> {
    /// The blobs present, in order.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob<'a>> {
        self.blobs.iter().flatten()
    }

    /// The first blob of `kind`.
    pub fn blob(&self, kind: BlobKind) -> Option<&Blob<'a>> {
        self.blobs().find(|b| b.kind == kind)
    }

    /// The path read from syscall argument `arg`, without its NUL.
    pub fn path_arg(&self, arg: u8) -> Option<&'a [u8]> {
        self.blobs()
            .find(|b| matches!(b.kind, BlobKind::Path | BlobKind::String) && b.arg == Some(arg))
            .map(|b| trim_nul(b.data))
    }

    /// The first path blob, without its NUL.
    pub fn path(&self) -> Option<&'a [u8]> {
        self.blob(BlobKind::Path).map(|b| trim_nul(b.data))
    }

    /// The I/O payload (may be shorter than the I/O: see `BB_F_DATA_SNAPPED`).
    pub fn data(&self) -> Option<&'a [u8]> {
        self.blob(BlobKind::Data).map(|b| b.data)
    }

    /// The sum of `iov_len` over the iovecs of a vectored call (readv, writev, sendmsg, ...).
    pub fn iov_len(&self) -> Option<u64> {
        self.blob(BlobKind::IovLen)
            .and_then(|b| <[u8; 8]>::try_from(b.data).ok())
            .map(u64::from_ne_bytes)
    }

    /// The two `int`s of a raw blob (the fds of pipe/pipe2/socketpair).
    pub fn raw_fd_pair(&self) -> Option<(i32, i32)> {
        let b = self.blob(BlobKind::Raw)?.data;
        let word = |i: usize| {
            b.get(i * 4..i * 4 + 4)
                .and_then(|w| <[u8; 4]>::try_from(w).ok())
                .map(i32::from_ne_bytes)
        };
        Some((word(0)?, word(1)?))
    }

    /// A raw blob read as one `u64` (sendfile's updated offset).
    pub fn raw_u64(&self) -> Option<u64> {
        self.blob(BlobKind::Raw)
            .and_then(|b| <[u8; 8]>::try_from(b.data).ok())
            .map(u64::from_ne_bytes)
    }

    /// The process info of an exec or of a clone child.
    pub fn proc_info(&self) -> Option<ProcInfo> {
        self.blob(BlobKind::Proc)
            .and_then(|b| read_wire::<bb_proc_info>(b.data))
            .map(ProcInfo::from_wire)
    }

    /// The socket addresses behind the call's fd.
    pub fn tuple(&self) -> Option<SockTuple> {
        self.blob(BlobKind::Tuple)
            .and_then(|b| read_wire::<bb_sock_tuple>(b.data))
            .map(SockTuple::from_wire)
    }

    /// The sockaddr passed to the call.
    pub fn sockaddr(&self) -> Option<SockAddr> {
        self.blob(BlobKind::SockAddr)
            .map(|b| SockAddr::parse(b.data))
    }

    /// argv of the new image (exec, clone child), argv[0] first.
    pub fn argv(&self) -> Vec<&'a [u8]> {
        self.blob(BlobKind::Argv)
            .map(|b| split_nul(b.data))
            .unwrap_or_default()
    }

    /// Environment of the new image (exec).
    pub fn env(&self) -> Vec<&'a [u8]> {
        self.blob(BlobKind::Env)
            .map(|b| split_nul(b.data))
            .unwrap_or_default()
    }
}

/// Strips everything from the first NUL.
pub fn trim_nul(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

/// Splits a `a\0b\0c\0` area into its strings (a missing final NUL is tolerated).
pub fn split_nul(b: &[u8]) -> Vec<&[u8]> {
    if b.is_empty() {
        return Vec::new();
    }
    b.strip_suffix(&[0])
        .unwrap_or(b)
        .split(|&c| c == 0)
        .collect()
}

/// `bb_proc_info` in Rust terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// Host tgid of the parent.
    pub ppid: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Audit login uid; `None` when unset.
    pub loginuid: Option<u32>,
    /// Thread id in the task's pid namespace.
    pub vtid: u32,
    /// Process id in the task's pid namespace.
    pub vpid: u32,
    /// Process group id in the task's pid namespace.
    pub vpgid: u32,
    /// Nesting level of the pid namespace (0 = host).
    pub pidns_level: u32,
    /// RLIMIT_NOFILE soft limit.
    pub fdlimit: u64,
    /// Linux clone flags (clone family), 0 for exec.
    pub clone_flags: u64,
    /// Start time, CLOCK_BOOTTIME ns.
    pub start_boot_ns: u64,
    /// `comm`, without NUL padding.
    pub comm: Vec<u8>,
    /// Where the executable lives: libs' `PPM_EXE_*` flags (`PPM_EXE_UPPER_LAYER` = 2: a file
    /// the container wrote on its overlay upper layer).
    pub exe_flags: u32,
}

impl ProcInfo {
    fn from_wire(p: bb_proc_info) -> Self {
        Self {
            ppid: p.ppid,
            uid: p.uid,
            gid: p.gid,
            euid: p.euid,
            egid: p.egid,
            loginuid: (p.loginuid != u32::MAX).then_some(p.loginuid),
            vtid: p.vtid,
            vpid: p.vpid,
            vpgid: p.vpgid,
            pidns_level: p.pidns_level,
            fdlimit: p.fdlimit,
            clone_flags: p.clone_flags,
            start_boot_ns: p.start_boot_ns,
            comm: trim_nul(&p.comm).to_vec(),
            exe_flags: p.exe_flags,
        }
    }
}

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Local and remote address of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockTuple {
    /// IPv4 (local, remote).
    V4(SocketAddrV4, SocketAddrV4),
    /// IPv6 (local, remote).
    V6(SocketAddrV6, SocketAddrV6),
    /// Another family (AF_UNIX: no addresses are read yet).
    Other(u16),
}

impl SockTuple {
    fn from_wire(t: bb_sock_tuple) -> Self {
        match t.family {
            AF_INET => {
                let ip = |a: [u8; 16]| Ipv4Addr::new(a[0], a[1], a[2], a[3]);
                Self::V4(
                    SocketAddrV4::new(ip(t.laddr), t.lport),
                    SocketAddrV4::new(ip(t.raddr), t.rport),
                )
            }
            AF_INET6 => Self::V6(
                SocketAddrV6::new(Ipv6Addr::from(t.laddr), t.lport, 0, 0),
                SocketAddrV6::new(Ipv6Addr::from(t.raddr), t.rport, 0, 0),
            ),
            f => Self::Other(f),
        }
    }
}

/// A `struct sockaddr` as passed to a syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    /// AF_INET.
    V4(SocketAddrV4),
    /// AF_INET6.
    V6(SocketAddrV6),
    /// AF_UNIX path (abstract names start with NUL), without trailing NULs.
    Unix(Vec<u8>),
    /// Another family, or too short for its family.
    Other {
        /// sa_family (0 if even that was missing).
        family: u16,
    },
}

impl SockAddr {
    /// Parses raw sockaddr bytes (native endian family, network-order port).
    pub fn parse(b: &[u8]) -> Self {
        let family = match b.get(0..2) {
            Some(f) => u16::from_ne_bytes([f[0], f[1]]),
            None => return Self::Other { family: 0 },
        };
        let port = |b: &[u8]| b.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
        match family {
            AF_INET => match (port(b), b.get(4..8)) {
                (Some(p), Some(a)) => {
                    Self::V4(SocketAddrV4::new(Ipv4Addr::new(a[0], a[1], a[2], a[3]), p))
                }
                _ => Self::Other { family },
            },
            AF_INET6 => match (
                port(b),
                b.get(8..24).and_then(|a| <[u8; 16]>::try_from(a).ok()),
            ) {
                (Some(p), Some(a)) => Self::V6(SocketAddrV6::new(Ipv6Addr::from(a), p, 0, 0)),
                _ => Self::Other { family },
            },
            AF_UNIX => {
                let path = b.get(2..).unwrap_or_default();
                let end = path.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
                Self::Unix(path[..end].to_vec())
            }
            _ => Self::Other { family },
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
