//! Harness of the privileged tests: a private pin root and cgroup per test,
//! children started inside a cgroup, and records copied out of the ring.
//!
//! These tests need root and BPF. They FAIL (never skip) without them.

use std::ffi::CString;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use blackbox_recorder::{
    BlobKind, Cgroup2, ContainerRecorder, Direction, ProcInfo, Record, RecorderOptions, SockAddr,
    SockTuple,
};

/// Panics with a clear message unless the prerequisites are there.
pub fn require_privileges() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the recorder's privileged tests need root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); run them as root"
    );
    assert!(
        Path::new("/sys/kernel/btf/vmlinux").exists(),
        "the kernel has no BTF (/sys/kernel/btf/vmlinux): the recorder needs CONFIG_DEBUG_INFO_BTF"
    );
}

/// A test's own pin root and cgroup, removed on drop.
pub struct TestEnv {
    pub options: RecorderOptions,
    pub cgroup: PathBuf,
    extra_cgroups: Vec<PathBuf>,
}

impl TestEnv {
    pub fn new(name: &str) -> Self {
        require_privileges();
        let cg2 = Cgroup2::discover().expect("a cgroup2 mount (hybrid: /sys/fs/cgroup/unified)");
        let tag = format!("bbtest-{}-{name}", std::process::id());
        let pin_root = PathBuf::from("/sys/fs/bpf").join(&tag);
        let cgroup = cg2.root().join(&tag);
        let _ = fs::remove_dir(&cgroup);
        fs::create_dir(&cgroup)
            .unwrap_or_else(|e| panic!("creating cgroup {}: {e}", cgroup.display()));
        Self {
            options: RecorderOptions {
                pin_root,
                mount_bpffs: true,
                cgroup2_root: Some(cg2.root().to_path_buf()),
            },
            cgroup,
            extra_cgroups: Vec::new(),
        }
    }

    /// Creates a cgroup below the test's (removed before it on drop).
    pub fn sub_cgroup(&mut self, rel: &str) -> PathBuf {
        let p = self.cgroup.join(rel);
        fs::create_dir_all(&p).unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
        // Every level, so that drop removes the intermediate ones too.
        let mut level = p.clone();
        while level != self.cgroup {
            if !self.extra_cgroups.contains(&level) {
                self.extra_cgroups.push(level.clone());
            }
            if !level.pop() {
                break;
            }
        }
        p
    }

    /// A fresh cgroup next to the test's (removed on drop).
    pub fn sibling_cgroup(&mut self, suffix: &str) -> PathBuf {
        let p = self.cgroup.with_file_name(format!(
            "{}-{suffix}",
            self.cgroup
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("bbtest")
        ));
        let _ = fs::remove_dir(&p);
        fs::create_dir(&p).unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
        self.extra_cgroups.push(p.clone());
        p
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let mut dirs = self.extra_cgroups.clone();
        dirs.push(self.cgroup.clone());
        // Deepest first; a cgroup with a live process cannot go, so retry briefly.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let deadline = Instant::now() + Duration::from_secs(2);
            while d.exists() && fs::remove_dir(&d).is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = blackbox_recorder::pins::remove_all_pins(&self.options.pin_root);
    }
}

/// A command whose child joins `cgroup` between fork and exec, so every
/// syscall of the new image is inside it.
pub fn command_in_cgroup(program: &str, cgroup: &Path) -> Command {
    let procs = CString::new(
        cgroup
            .join("cgroup.procs")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .expect("cgroup path without NUL");
    let mut cmd = Command::new(program);
    // SAFETY: only async-signal-safe calls (open, write, close) on memory prepared before fork.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
            if n != 1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// A record copied out of the ring buffer.
#[derive(Debug, Clone)]
pub struct Rec {
    pub kind: &'static str,
    pub dir: Option<Direction>,
    pub pid: u32,
    pub tid: u32,
    pub cgroup_id: u64,
    pub nr: u32,
    pub ret: i64,
    pub args: [u64; 6],
    pub flags: u16,
    pub blobs: Vec<(BlobKind, Option<u8>, Vec<u8>)>,
    pub proc_info: Option<ProcInfo>,
    pub tuple: Option<SockTuple>,
    pub sockaddr: Option<SockAddr>,
    pub path: Option<Vec<u8>>,
    pub data: Option<Vec<u8>>,
    pub argv: Vec<Vec<u8>>,
    pub iov_len: Option<u64>,
    pub fd_pair: Option<(i32, i32)>,
    pub exit_code: i32,
}

impl Rec {
    fn from(r: &Record<'_>) -> Self {
        let h = r.header();
        let mut rec = Rec {
            kind: "procexit",
            dir: None,
            pid: h.pid,
            tid: h.tid,
            cgroup_id: h.cgroup_id,
            nr: h.nr.unwrap_or(u32::MAX),
            ret: 0,
            args: [0; 6],
            flags: h.flags,
            blobs: Vec::new(),
            proc_info: None,
            tuple: None,
            sockaddr: None,
            path: None,
            data: None,
            argv: Vec::new(),
            iov_len: None,
            fd_pair: None,
            exit_code: 0,
        };
        match r {
            Record::Syscall(s) => {
                rec.kind = "syscall";
                rec.dir = Some(s.direction);
                rec.ret = s.ret;
                rec.args = s.args;
                rec.blobs = s
                    .blobs()
                    .map(|b| (b.kind, b.arg, b.data.to_vec()))
                    .collect();
                rec.proc_info = s.proc_info();
                rec.tuple = s.tuple();
                rec.sockaddr = s.sockaddr();
                rec.path = s.path().map(<[u8]>::to_vec);
                rec.data = s.data().map(<[u8]>::to_vec);
                rec.argv = s.argv().into_iter().map(<[u8]>::to_vec).collect();
                rec.iov_len = s.iov_len();
                rec.fd_pair = s.raw_fd_pair();
            }
            Record::ProcExit(p) => rec.exit_code = p.exit_code,
        }
        rec
    }

    pub fn is_exit(&self, nr: u32) -> bool {
        self.dir == Some(Direction::Exit) && self.nr == nr
    }

    pub fn is_enter(&self, nr: u32) -> bool {
        self.dir == Some(Direction::Enter) && self.nr == nr
    }
}

/// Drains until `done(records so far)` or the timeout; returns everything read.
pub fn collect_until(
    c: &mut ContainerRecorder,
    timeout: Duration,
    done: impl Fn(&[Rec]) -> bool,
) -> Vec<Rec> {
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    loop {
        c.poll_records(Duration::from_millis(50), |r| out.push(Rec::from(&r)))
            .expect("poll");
        if done(&out) || Instant::now() >= deadline {
            return out;
        }
    }
}

/// Syscall numbers (x86_64) the tests look for.
pub mod nr {
    use blackbox_recorder::wire;
    pub const READ: u32 = wire::BB_NR_READ;
    pub const WRITE: u32 = wire::BB_NR_WRITE;
    pub const OPENAT: u32 = wire::BB_NR_OPENAT;
    pub const CLOSE: u32 = wire::BB_NR_CLOSE;
    pub const CONNECT: u32 = wire::BB_NR_CONNECT;
    pub const EXECVE: u32 = wire::BB_NR_EXECVE;
    pub const CLONE: u32 = wire::BB_NR_CLONE;
    pub const CLONE3: u32 = wire::BB_NR_CLONE3;
    pub const SOCKET: u32 = wire::BB_NR_SOCKET;
    pub const PIPE2: u32 = wire::BB_NR_PIPE2;
    pub const READV: u32 = wire::BB_NR_READV;
    pub const WRITEV: u32 = wire::BB_NR_WRITEV;
    pub const SOCKETPAIR: u32 = wire::BB_NR_SOCKETPAIR;
    pub const SENDMSG: u32 = wire::BB_NR_SENDMSG;
    pub const RECVMSG: u32 = wire::BB_NR_RECVMSG;
}
