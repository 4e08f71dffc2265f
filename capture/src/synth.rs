//! Synthetic recorder records, for tests of the converter (here and in the shim): builds the
//! wire bytes that `blackbox_recorder::decode::decode` turns into a [`Record`].
//!
//! ```
//! use blackbox_capture::synth::RecordBuilder;
//! let bytes = RecordBuilder::exit(257, 3).task(100, 100).path(1, b"/etc/passwd").bytes();
//! let rec = blackbox_recorder::decode::decode(&bytes).expect("valid record");
//! assert_eq!(rec.header().tid, 100);
//! ```
//!
//! [`Record`]: blackbox_recorder::Record

use std::net::{SocketAddr, SocketAddrV4};

use blackbox_recorder::wire::{
    BB_ARG_NONE, BB_BLOB_ARGV, BB_BLOB_DATA, BB_BLOB_ENV, BB_BLOB_OPEN_HOW, BB_BLOB_PATH,
    BB_BLOB_PROC, BB_BLOB_SOCKADDR, BB_BLOB_STRING, BB_BLOB_TUPLE, BB_KIND_PROC_EXIT,
    BB_KIND_SYS_ENTER, BB_KIND_SYS_EXIT, BB_MAX_BLOBS, BB_NR_NONE,
};
use blackbox_recorder::ProcInfo;

#[cfg(test)]
const HDR_LEN: usize = 40;
const SYSCALL_LEN: usize = 112;
const PROC_EXIT_LEN: usize = 56;

/// Builds one syscall record. Defaults: ts 1 s after boot, pid = tid = 1, cpu 0, cgroup 1,
/// zero args, no blobs, no flags.
#[derive(Debug, Clone)]
pub struct RecordBuilder {
    kind: u32,
    nr: u32,
    ret: i64,
    ts: u64,
    cgroup: u64,
    flags: u16,
    pid: u32,
    tid: u32,
    cpu: u32,
    args: [u64; 6],
    blobs: Vec<(u8, u8, Vec<u8>)>,
}

fn header(
    out: &mut Vec<u8>,
    ts: u64,
    cgroup: u64,
    len: usize,
    kind: u32,
    flags: u16,
    ids: [u32; 4],
) {
    out.extend_from_slice(&ts.to_ne_bytes());
    out.extend_from_slice(&cgroup.to_ne_bytes());
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&(kind as u16).to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    for v in ids {
        out.extend_from_slice(&v.to_ne_bytes());
    }
}

impl RecordBuilder {
    fn new(kind: u32, nr: u32, ret: i64) -> Self {
        Self {
            kind,
            nr,
            ret,
            ts: 1_000_000_000,
            cgroup: 1,
            flags: 0,
            pid: 1,
            tid: 1,
            cpu: 0,
            args: [0; 6],
            blobs: Vec::new(),
        }
    }

    /// A syscall enter record of x86_64 syscall `nr`.
    pub fn enter(nr: u32) -> Self {
        Self::new(BB_KIND_SYS_ENTER, nr, 0)
    }

    /// A syscall exit record of `nr` returning `ret`.
    pub fn exit(nr: u32, ret: i64) -> Self {
        Self::new(BB_KIND_SYS_EXIT, nr, ret)
    }

    /// CLOCK_BOOTTIME timestamp.
    pub fn at(mut self, ts_boot_ns: u64) -> Self {
        self.ts = ts_boot_ns;
        self
    }

    /// Host pid and tid.
    pub fn task(mut self, pid: u32, tid: u32) -> Self {
        self.pid = pid;
        self.tid = tid;
        self
    }

    /// CPU.
    pub fn cpu(mut self, cpu: u32) -> Self {
        self.cpu = cpu;
        self
    }

    /// `BB_F_*` flags.
    pub fn flags(mut self, flags: u16) -> Self {
        self.flags = flags;
        self
    }

    /// The six raw arguments.
    pub fn args(mut self, args: [u64; 6]) -> Self {
        self.args = args;
        self
    }

    fn blob(mut self, kind: u32, arg: u32, data: Vec<u8>) -> Self {
        self.blobs.push((kind as u8, arg as u8, data));
        self
    }

    /// A PATH blob of argument `arg` (the NUL is added).
    pub fn path(self, arg: u8, p: &[u8]) -> Self {
        let mut v = p.to_vec();
        v.push(0);
        self.blob(BB_BLOB_PATH, u32::from(arg), v)
    }

    /// A STRING blob of argument `arg` (the NUL is added).
    pub fn string(self, arg: u8, p: &[u8]) -> Self {
        let mut v = p.to_vec();
        v.push(0);
        self.blob(BB_BLOB_STRING, u32::from(arg), v)
    }

    /// A DATA blob (argument 1, as for read/write).
    pub fn data(self, d: &[u8]) -> Self {
        self.blob(BB_BLOB_DATA, 1, d.to_vec())
    }

    /// A SOCKADDR blob holding `addr` as `struct sockaddr_in`/`sockaddr_in6` (argument 1).
    pub fn sockaddr(self, addr: SocketAddr) -> Self {
        let mut b = Vec::new();
        match addr {
            SocketAddr::V4(a) => {
                b.extend_from_slice(&2u16.to_ne_bytes());
                b.extend_from_slice(&a.port().to_be_bytes());
                b.extend_from_slice(&a.ip().octets());
                b.extend_from_slice(&[0; 8]);
            }
            SocketAddr::V6(a) => {
                b.extend_from_slice(&10u16.to_ne_bytes());
                b.extend_from_slice(&a.port().to_be_bytes());
                b.extend_from_slice(&0u32.to_ne_bytes());
                b.extend_from_slice(&a.ip().octets());
                b.extend_from_slice(&0u32.to_ne_bytes());
            }
        }
        self.blob(BB_BLOB_SOCKADDR, 1, b)
    }

    /// A SOCKADDR blob holding an `AF_UNIX` path (argument 1).
    pub fn sockaddr_unix(self, path: &[u8]) -> Self {
        let mut b = 1u16.to_ne_bytes().to_vec();
        b.extend_from_slice(path);
        b.push(0);
        self.blob(BB_BLOB_SOCKADDR, 1, b)
    }

    /// A TUPLE blob of an IPv4 socket (`local`, `remote`).
    pub fn tuple_v4(self, local: SocketAddrV4, remote: SocketAddrV4) -> Self {
        let mut b = Vec::with_capacity(40);
        b.extend_from_slice(&2u16.to_ne_bytes());
        b.extend_from_slice(&local.port().to_ne_bytes());
        b.extend_from_slice(&remote.port().to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        let mut l = [0u8; 16];
        l[..4].copy_from_slice(&local.ip().octets());
        let mut r = [0u8; 16];
        r[..4].copy_from_slice(&remote.ip().octets());
        b.extend_from_slice(&l);
        b.extend_from_slice(&r);
        self.blob(BB_BLOB_TUPLE, BB_ARG_NONE, b)
    }

    /// A PROC blob.
    pub fn proc_info(self, p: &ProcInfo) -> Self {
        let mut b = Vec::with_capacity(88);
        for v in [
            p.ppid,
            p.uid,
            p.gid,
            p.euid,
            p.egid,
            p.loginuid.unwrap_or(u32::MAX),
            p.vtid,
            p.vpid,
            p.vpgid,
            p.pidns_level,
        ] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        for v in [p.fdlimit, p.clone_flags, p.start_boot_ns] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        let mut comm = [0u8; 16];
        let n = p.comm.len().min(15);
        comm[..n].copy_from_slice(&p.comm[..n]);
        b.extend_from_slice(&comm);
        b.extend_from_slice(&p.exe_flags.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        self.blob(BB_BLOB_PROC, BB_ARG_NONE, b)
    }

    /// An ARGV blob.
    pub fn argv(self, argv: &[&str]) -> Self {
        self.blob(BB_BLOB_ARGV, BB_ARG_NONE, nul_list(argv))
    }

    /// An ENV blob.
    pub fn env(self, env: &[&str]) -> Self {
        self.blob(BB_BLOB_ENV, BB_ARG_NONE, nul_list(env))
    }

    /// An OPEN_HOW blob (openat2).
    pub fn open_how(self, flags: u64, mode: u64, resolve: u64) -> Self {
        let mut b = Vec::with_capacity(24);
        for v in [flags, mode, resolve] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        self.blob(BB_BLOB_OPEN_HOW, 2, b)
    }

    /// The wire bytes. At most `BB_MAX_BLOBS` blobs are kept.
    pub fn bytes(&self) -> Vec<u8> {
        let blobs = &self.blobs[..self.blobs.len().min(BB_MAX_BLOBS as usize)];
        let len = SYSCALL_LEN + blobs.iter().map(|b| b.2.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        header(
            &mut out,
            self.ts,
            self.cgroup,
            len,
            self.kind,
            self.flags,
            [self.tid, self.pid, self.nr, self.cpu],
        );
        out.extend_from_slice(&self.ret.to_ne_bytes());
        for a in self.args {
            out.extend_from_slice(&a.to_ne_bytes());
        }
        for i in 0..BB_MAX_BLOBS as usize {
            match blobs.get(i) {
                Some((kind, arg, data)) => {
                    out.extend_from_slice(&(data.len() as u16).to_ne_bytes());
                    out.push(*kind);
                    out.push(*arg);
                }
                None => out.extend_from_slice(&[0, 0, 0, BB_ARG_NONE as u8]),
            }
        }
        for (_, _, data) in blobs {
            out.extend_from_slice(data);
        }
        out
    }
}

fn nul_list(items: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for i in items {
        b.extend_from_slice(i.as_bytes());
        b.push(0);
    }
    b
}

/// A thread-exit record (`exit_code` is the wait status: `status << 8` or the signal).
pub fn proc_exit(ts_boot_ns: u64, pid: u32, tid: u32, exit_code: i32, group_dead: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROC_EXIT_LEN);
    header(
        &mut out,
        ts_boot_ns,
        1,
        PROC_EXIT_LEN,
        BB_KIND_PROC_EXIT,
        0,
        [tid, pid, BB_NR_NONE, 0],
    );
    out.extend_from_slice(&exit_code.to_ne_bytes());
    out.extend_from_slice(&exit_code.to_ne_bytes());
    out.extend_from_slice(&u32::from(group_dead).to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use blackbox_recorder::decode::decode;
    use blackbox_recorder::wire::{
        bb_hdr, bb_proc_exit_rec, bb_proc_info, bb_sock_tuple, bb_syscall_rec,
    };
    use blackbox_recorder::{Direction, Record, SockAddr, SockTuple};
    use std::net::Ipv4Addr;

    #[test]
    fn layouts_match_the_wire_header() {
        assert_eq!(size_of::<bb_hdr>(), HDR_LEN);
        assert_eq!(size_of::<bb_syscall_rec>(), SYSCALL_LEN);
        assert_eq!(size_of::<bb_proc_exit_rec>(), PROC_EXIT_LEN);
        assert_eq!(size_of::<bb_proc_info>(), 88);
        assert_eq!(size_of::<bb_sock_tuple>(), 40);
    }

    #[test]
    fn built_records_decode() {
        let pi = ProcInfo {
            ppid: 7,
            uid: 1,
            gid: 2,
            euid: 3,
            egid: 4,
            loginuid: None,
            vtid: 1,
            vpid: 1,
            vpgid: 1,
            pidns_level: 1,
            fdlimit: 1024,
            clone_flags: 0,
            start_boot_ns: 9,
            comm: b"sh".to_vec(),
            exe_flags: 0,
        };
        let l = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000);
        let r = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 8080);
        let bytes = RecordBuilder::exit(59, 0)
            .at(5)
            .task(100, 101)
            .cpu(1)
            .args([1, 2, 3, 4, 5, 6])
            .proc_info(&pi)
            .argv(&["sh", "-c", "true"])
            .env(&["A=1"])
            .tuple_v4(l, r)
            .bytes();
        let Ok(Record::Syscall(s)) = decode(&bytes) else {
            panic!("decodes")
        };
        assert_eq!(s.direction, Direction::Exit);
        assert_eq!((s.nr, s.ret, s.args[5]), (59, 0, 6));
        assert_eq!(
            (
                s.header.pid,
                s.header.tid,
                s.header.cpu,
                s.header.ts_boot_ns
            ),
            (100, 101, 1, 5)
        );
        assert_eq!(s.proc_info(), Some(pi));
        assert_eq!(s.argv(), vec![&b"sh"[..], b"-c", b"true"]);
        assert_eq!(s.env(), vec![&b"A=1"[..]]);
        assert_eq!(s.tuple(), Some(SockTuple::V4(l, r)));

        let bytes = RecordBuilder::exit(42, 0)
            .sockaddr(SocketAddr::V4(r))
            .path(0, b"/x")
            .bytes();
        let Ok(Record::Syscall(s)) = decode(&bytes) else {
            panic!("decodes")
        };
        assert_eq!(s.sockaddr(), Some(SockAddr::V4(r)));
        assert_eq!(s.path_arg(0), Some(&b"/x"[..]));

        let Ok(Record::ProcExit(p)) = decode(&proc_exit(9, 100, 100, 3 << 8, true)) else {
            panic!("decodes")
        };
        assert_eq!((p.exit_status(), p.group_dead), (Some(3), true));
    }
}
