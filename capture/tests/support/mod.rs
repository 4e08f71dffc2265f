//! Shared helpers of the capture tests: a synthetic container scenario built from wire
//! records, and a stand-in init process. The sysdig oracle is `blackbox_scap::oracle`.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use blackbox_capture::synth::{proc_exit, RecordBuilder};
use blackbox_capture::{CaptureMeta, CaptureOptions, CaptureSummary, CaptureWriter};
use blackbox_recorder::{decode::decode, BootClock, ProcInfo};

/// A 64-hex containerd id.
pub const ID: &str = "5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b5aa765d61d8327deb882cf99";
pub const SHORT_ID: &str = "5f4dcc3b5aa7";

/// A process standing in for the container's init (so that `/proc/<pid>` exists). Its
/// executable is a symlink to sleep named like runc's init stage, so that its comm (the
/// basename of the path executed) says it has not exec'd the container's process yet. A
/// symlink, not a copy: executing a file just written races parallel tests' forks, which
/// inherit its write descriptor until they exec (ETXTBSY).
pub struct FakeInit(pub Child, pub tempfile::TempDir);

impl FakeInit {
    pub fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("runc:[2:INIT]");
        std::os::unix::fs::symlink("/bin/sleep", &exe).expect("symlink sleep");
        let child = Command::new(&exe)
            .arg("300")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the fake init");
        Self(child, dir)
    }

    /// A plain `sleep`: an init that has already exec'd.
    pub fn spawn_execd() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new("sleep")
            .arg("300")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        Self(child, dir)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for FakeInit {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn meta(init_pid: u32) -> CaptureMeta {
    CaptureMeta {
        container_id: ID.into(),
        container_name: "web".into(),
        image: "docker.io/library/busybox:1.36".into(),
        labels: [
            ("io.kubernetes.cri.sandbox-name", "web-0"),
            ("io.kubernetes.cri.sandbox-namespace", "shop"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        hostname: "node-1".into(),
        init_pid: init_pid as i32,
        cgroup_path: format!("/k8s.io/{ID}"),
    }
}

pub fn proc_info(ppid: u32, comm: &str, vpid: u32, euid: u32, clone_flags: u64) -> ProcInfo {
    ProcInfo {
        ppid,
        uid: euid,
        gid: euid,
        euid,
        egid: euid,
        loginuid: None,
        vtid: vpid,
        vpid,
        vpgid: 1,
        pidns_level: 1,
        fdlimit: 1_048_576,
        clone_flags,
        start_boot_ns: 1,
        comm: comm.as_bytes().to_vec(),
        exe_flags: 0,
    }
}

/// Records in arrival order, with a running boot-time clock.
pub struct Feed {
    pub records: Vec<Vec<u8>>,
    pub ts: u64,
}

impl Default for Feed {
    fn default() -> Self {
        Self::new()
    }
}

impl Feed {
    pub fn new() -> Self {
        Self {
            records: Vec::new(),
            ts: 5_000_000_000_000,
        }
    }

    pub fn next_ts(&mut self) -> u64 {
        self.ts += 1_000;
        self.ts
    }

    /// Appends a record stamped with the next timestamp.
    pub fn push(&mut self, b: RecordBuilder) -> u64 {
        let ts = self.next_ts();
        self.records.push(b.at(ts).bytes());
        ts
    }

    /// An enter and its exit on `pid`/`tid`; returns the exit's boot timestamp.
    pub fn pair(
        &mut self,
        pid: u32,
        tid: u32,
        nr: u32,
        args: [u64; 6],
        ret: i64,
        exit: impl FnOnce(RecordBuilder) -> RecordBuilder,
    ) -> u64 {
        self.push(RecordBuilder::enter(nr).task(pid, tid).args(args));
        self.push(exit(RecordBuilder::exit(nr, ret).task(pid, tid).args(args)))
    }

    pub fn exit_of(&mut self, pid: u32, tid: u32, code: i32, group_dead: bool) {
        let ts = self.next_ts();
        self.records.push(proc_exit(ts, pid, tid, code, group_dead));
    }
}

pub const AT_FDCWD: u64 = -100i64 as u64;
pub const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n";

/// runc init's noise before its exec: these must not reach the capture.
pub fn runc_init_noise(f: &mut Feed, init: u32) {
    f.pair(init, init, 110, [0; 6], 1, |b| b); // getppid
    f.pair(init, init, 257, [AT_FDCWD, 0, 0, 0, 0, 0], 5, |b| {
        b.path(1, b"/proc/self/fd")
    });
    f.pair(init, init + 1, 202, [0; 6], 0, |b| b); // futex, another runc thread
    f.pair(init, init, 105, [1000, 0, 0, 0, 0, 0], 0, |b| b); // setuid
                                                              // A failed exec attempt, then the thread that is killed by the real exec.
    f.pair(init, init, 59, [0; 6], -2, |b| b);
    f.exit_of(init, init + 1, 0, false);
}

/// The container's life: exec of /bin/sh, openat/read of /etc/passwd, write to stdout,
/// rename, unlink, socket+connect, clone, (child) setuid, a generic syscall, procexits.
pub struct Scenario {
    pub feed: Feed,
    pub init: u32,
    pub child: u32,
}

pub fn scenario(init: u32) -> Scenario {
    let mut f = Feed::new();
    runc_init_noise(&mut f, init);
    let child = init + 7;
    let argv = ["/bin/sh", "-c", "cat /etc/passwd; echo hello"];
    f.push(
        RecordBuilder::enter(59)
            .task(init, init)
            .args([0x1000, 0x2000, 0x3000, 0, 0, 0])
            .path(0, b"/bin/sh"),
    );
    f.push(
        RecordBuilder::exit(59, 0)
            .task(init, init)
            .proc_info(&proc_info(std::process::id(), "sh", 1, 0, 0))
            .argv(&argv)
            .env(&["PATH=/usr/bin:/bin", "HOME=/root"]),
    );
    // openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3
    f.pair(
        init,
        init,
        257,
        [AT_FDCWD, 0x4000, 0o2000000, 0, 0, 0],
        3,
        |b| b.path(1, b"/etc/passwd"),
    );
    // read(3, buf, 4096) = 80
    f.pair(init, init, 0, [3, 0x5000, 4096, 0, 0, 0], 80, |b| {
        b.data(&PASSWD[..80])
    });
    // write(1, "hello\n", 6) = 6
    f.pair(init, init, 1, [1, 0x6000, 6, 0, 0, 0], 6, |b| {
        b.data(b"hello\n")
    });
    // rename("/tmp/a", "/tmp/b"), unlink("/tmp/b")
    f.pair(init, init, 82, [0x7000, 0x7100, 0, 0, 0, 0], 0, |b| {
        b.path(0, b"/tmp/a").path(1, b"/tmp/b")
    });
    f.pair(init, init, 87, [0x7100, 0, 0, 0, 0, 0], 0, |b| {
        b.path(0, b"/tmp/b")
    });
    // socket(AF_INET, SOCK_STREAM, 0) = 4; connect(4, 127.0.0.1:8080) = 0
    f.pair(init, init, 41, [2, 1, 0, 0, 0, 0], 4, |b| b);
    let server = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080);
    f.pair(init, init, 42, [4, 0x8000, 16, 0, 0, 0], 0, |b| {
        b.sockaddr(SocketAddr::V4(server))
            .tuple_v4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000), server)
    });
    // clone(SIGCHLD|CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID) = child, and the child's side.
    let flags = 0x0120_0011u64;
    f.push(
        RecordBuilder::enter(56)
            .task(init, init)
            .args([flags, 0, 0, 0, 0, 0]),
    );
    f.push(
        RecordBuilder::exit(56, 0)
            .task(child, child)
            .args([flags, 0, 0, 0, 0, 0])
            .proc_info(&proc_info(init, "sh", 2, 0, flags))
            .argv(&argv),
    );
    f.push(
        RecordBuilder::exit(56, i64::from(child))
            .task(init, init)
            .args([flags, 0, 0, 0, 0, 0]),
    );
    // The child: setuid(1000), getppid() (generic), exit.
    f.pair(child, child, 105, [1000, 0, 0, 0, 0, 0], 0, |b| b);
    f.pair(child, child, 110, [0; 6], 1, |b| b);
    f.push(RecordBuilder::enter(231).task(child, child).args([0; 6]));
    f.exit_of(child, child, 0, true);
    f.exit_of(init, init, 7 << 8, true);
    Scenario {
        feed: f,
        init,
        child,
    }
}

/// Writes `records` into a capture at `path`.
pub fn write_capture(
    path: &Path,
    meta: &CaptureMeta,
    records: &[Vec<u8>],
    clock: &BootClock,
    options: CaptureOptions,
) -> CaptureSummary {
    let mut w = CaptureWriter::create_with(path, meta, None, options).expect("create capture");
    for r in records {
        let rec = decode(r).expect("synthetic record decodes");
        w.push(&rec, clock).expect("push");
    }
    w.finish().expect("finish")
}
