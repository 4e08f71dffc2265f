//! End to end, privileged: the real recorder (eBPF, root) records a child process in a fresh
//! cgroup2 cgroup running `cat /etc/passwd > X; mv X Y; rm Y` (after a `head` that reads and
//! writes). Like runc, the child starts as a fake `runc:[2:INIT]` that joins the cgroup, waits
//! on an exec fifo and execs the script. `CaptureWriter` converts the records as they are
//! drained; sysdig reads the capture and shows those events with the right paths, fds and
//! container. Fails (never skips) without root, BTF or sysdig.

mod support;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use blackbox_capture::{CaptureMeta, CaptureOptions, CaptureWriter};
use blackbox_recorder::{Cgroup2, CgroupRef, Recorder, RecorderOptions, RecordingPolicy};
use blackbox_scap::oracle::{check_agreement, json_lines, require_sysdig, sysdig};
use blackbox_scap::Compression;
use serde_json::Value;
use support::{ID, SHORT_ID};

fn require_privileges() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the privileged capture test needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)"
    );
    assert!(
        Path::new("/sys/kernel/btf/vmlinux").exists(),
        "the kernel has no BTF (/sys/kernel/btf/vmlinux): the recorder needs it"
    );
    require_sysdig();
}

/// The test's own pin root and cgroup, removed on drop.
struct Env {
    options: RecorderOptions,
    cgroup: PathBuf,
    rel: String,
}

impl Env {
    fn new() -> Self {
        require_privileges();
        let cg2 = Cgroup2::discover().expect("a cgroup2 mount (hybrid: /sys/fs/cgroup/unified)");
        let tag = format!("bbcap-{}", std::process::id());
        let cgroup = cg2.root().join(&tag);
        let _ = std::fs::remove_dir(&cgroup);
        std::fs::create_dir(&cgroup)
            .unwrap_or_else(|e| panic!("creating cgroup {}: {e}", cgroup.display()));
        Self {
            options: RecorderOptions {
                pin_root: PathBuf::from("/sys/fs/bpf").join(&tag),
                mount_bpffs: true,
                cgroup2_root: Some(cg2.root().to_path_buf()),
            },
            cgroup,
            rel: format!("/{tag}"),
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.cgroup.exists()
            && std::fs::remove_dir(&self.cgroup).is_err()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = blackbox_recorder::pins::remove_all_pins(&self.options.pin_root);
    }
}

fn s<'a>(j: &'a Value, f: &str) -> &'a str {
    j[f].as_str().unwrap_or("")
}

#[test]
fn a_recorded_process_reads_back_in_sysdig() {
    let env = Env::new();
    let mut recorder = Recorder::open(&env.options).expect("open recorder");
    let mut c = recorder
        .register(
            &CgroupRef::Path(env.cgroup.clone()),
            RecordingPolicy::default(),
        )
        .expect("register");

    let x = format!("/tmp/bbcap-{}-x", std::process::id());
    let y = format!("/tmp/bbcap-{}-y", std::process::id());
    // head reads with read(2) and writes with write(2); cat copies with copy_file_range.
    // The test binary itself, re-run as `io-child`, adds vectored I/O, a socketpair, fcntl,
    // mmap/mprotect and shutdown (see `child_io_calls`).
    let exe = std::env::current_exe().expect("test binary");
    let script = format!(
        "head -c 80 /etc/passwd > /dev/null; cat /etc/passwd > {x}; mv {x} {y}; rm {y}; \
         {IO_CHILD}=1 {} --exact child_io_calls --test-threads=1 > /dev/null",
        exe.display()
    );
    // Like runc: the init starts as "runc:[2:INIT]" (bash through a symlink of that name, so
    // its comm says so; a copy could race other tests' forks into ETXTBSY), blocks on an exec fifo until "runc start", then execs the container's
    // command. Its records before that exec must not reach the capture.
    let dir = tempfile::tempdir().expect("tempdir");
    let fake_runc = dir.path().join("runc:[2:INIT]");
    std::os::unix::fs::symlink("/bin/bash", &fake_runc).expect("symlink bash");
    let fifo = dir.path().join("exec.fifo");
    let cfifo = CString::new(fifo.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(cfifo.as_ptr(), 0o600) }, 0, "mkfifo");
    // It joins the cgroup itself, as runc's parent moves a running runc init into it.
    let procs = env.cgroup.join("cgroup.procs");
    let mut child = Command::new(&fake_runc)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args([
            "-c",
            "echo $$ > \"$2\"; read -r _ < \"$1\"; exec /bin/bash -c \"$0\"",
            &script,
            &fifo.to_string_lossy(),
            &procs.to_string_lossy(),
        ])
        .spawn()
        .expect("spawn the fake runc init");
    let init = child.id();

    let path = dir.path().join("c.scap");
    let meta = CaptureMeta {
        container_id: ID.into(),
        container_name: "e2e".into(),
        hostname: "node-e2e".into(),
        init_pid: init as i32,
        cgroup_path: env.rel.clone(),
        ..CaptureMeta::default()
    };
    let opts = CaptureOptions {
        compression: Compression::Gzip(3),
        ..CaptureOptions::default()
    };
    let mut w = CaptureWriter::create_with(&path, &meta, Some(Path::new("/")), opts)
        .expect("create capture");
    // "runc start".
    std::fs::write(&fifo, b"go\n").expect("write the exec fifo");
    let status = child.wait().expect("wait bash");
    assert!(status.success(), "the script failed: {status}");
    assert!(!Path::new(&y).exists(), "rm ran");

    // Drain until the init's last thread is gone, converting as the shim does.
    let clock = *c.clock();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut init_gone = false;
    let mut error = None;
    while !init_gone && Instant::now() < deadline {
        c.poll_records(Duration::from_millis(50), |r| {
            if let blackbox_recorder::Record::ProcExit(p) = &r {
                init_gone |= p.header.pid == init && p.group_dead;
            }
            if let Err(e) = w.push(&r, &clock) {
                error.get_or_insert(e);
            }
        })
        .expect("poll");
        w.flush().expect("flush");
    }
    assert!(error.is_none(), "push failed: {error:?}");
    assert!(init_gone, "no procexit of the init {init} within 10 s");
    let losses = c.losses().expect("losses");
    w.note_losses(&losses, clock.to_epoch_ns(0))
        .expect("losses");
    let summary = w.finish().expect("finish");
    assert_eq!(losses.dropped(), 0, "records lost: {losses:?}");
    assert_eq!(summary.conversion_failures, 0, "{summary:#?}");
    assert!(!summary.init_already_execd);
    assert!(
        summary.pre_exec_dropped > 10,
        "runc init's records: {summary:#?}"
    );
    assert!(summary.events_written > 20, "{summary:#?}");
    c.unregister().expect("unregister");

    // Our reader and sysdig agree on every event and argument of a real recording.
    let agreement = check_agreement(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        agreement.events_compared as u64,
        summary.events_written - 1 - summary.drop_events,
        "every event but the container and drop events (internal) compared: {agreement:?}"
    );
    // Many of the recorded syscalls are generic events, which have no arguments in sysdig.
    assert!(agreement.params_compared > 500, "{agreement:?}");

    let out = json_lines(&sysdig(
        &path,
        &[
            "-j",
            "-p",
            "*%evt.num %evt.type %evt.dir %thread.tid %proc.pid %proc.name %proc.exepath \
             %proc.cmdline %proc.pname %fd.name %fd.num %evt.args %evt.arg.data %container.id \
             %container.name %user.name",
        ],
    ));
    let summary_names = summary.events_by_name();
    let lines: Vec<String> = out
        .iter()
        .map(|j| {
            format!(
                "{} {} {} {} fd={}({}) {}",
                j["evt.num"],
                s(j, "evt.type"),
                s(j, "evt.dir"),
                s(j, "proc.name"),
                j["fd.num"],
                s(j, "fd.name"),
                s(j, "evt.args")
            )
        })
        .collect();
    let dump = format!("{summary_names:#?}\n{}", lines.join("\n"));
    if std::env::var_os("BB_DUMP").is_some() {
        eprintln!("{dump}");
    }
    let find = |pred: &dyn Fn(&Value) -> bool, what: &str| -> Value {
        out.iter()
            .find(|j| pred(j))
            .cloned()
            .unwrap_or_else(|| panic!("no {what} in sysdig's output:\n{dump}"))
    };

    // The first event is the init's execve (runc-init-style pre-exec records are dropped).
    let first = &out[0];
    assert_eq!(
        (s(first, "evt.type"), s(first, "evt.dir")),
        ("execve", ">"),
        "{dump}"
    );
    assert_eq!(
        first["thread.tid"].as_u64(),
        Some(u64::from(init)),
        "{dump}"
    );
    assert_eq!(s(&out[1], "proc.name"), "bash", "{dump}");
    assert_eq!(
        s(&out[1], "proc.cmdline"),
        format!("bash -c {script}"),
        "{dump}"
    );

    // Every event is attributed to the container.
    for j in &out {
        assert_eq!(s(j, "container.id"), SHORT_ID, "{j}");
        assert_eq!(s(j, "container.name"), "e2e", "{j}");
    }

    // cat: exec'd, opens /etc/passwd, reads it, writes to the redirected stdout.
    let cat_exec = find(
        &|j| s(j, "evt.type") == "execve" && s(j, "evt.dir") == "<" && s(j, "proc.name") == "cat",
        "execve of cat",
    );
    assert!(s(&cat_exec, "proc.exepath").ends_with("/cat"), "{cat_exec}");
    assert_eq!(s(&cat_exec, "proc.cmdline"), "cat /etc/passwd");
    assert_eq!(s(&cat_exec, "proc.pname"), "bash");
    assert_eq!(s(&cat_exec, "user.name"), "root");
    let open = find(
        &|j| {
            s(j, "evt.type") == "openat"
                && s(j, "evt.dir") == "<"
                && s(j, "proc.name") == "cat"
                && s(j, "fd.name") == "/etc/passwd"
        },
        "cat's openat of /etc/passwd",
    );
    let fd = open["fd.num"].as_i64().expect("fd.num");
    assert!(fd >= 3, "{open}");
    let passwd = std::fs::read("/etc/passwd").expect("read /etc/passwd");
    let head: String = passwd[..passwd.len().min(80)]
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let read = find(
        &|j| {
            s(j, "evt.type") == "read"
                && s(j, "evt.dir") == "<"
                && s(j, "fd.name") == "/etc/passwd"
                && s(j, "proc.name") == "head"
        },
        "head's read of /etc/passwd",
    );
    assert_eq!(s(&read, "evt.arg.data"), head, "{read}");
    let write = find(
        &|j| s(j, "evt.type") == "write" && s(j, "evt.dir") == "<" && s(j, "proc.name") == "head",
        "head's write",
    );
    assert_eq!(write["fd.num"].as_i64(), Some(1), "{write}");
    assert_eq!(
        s(&write, "fd.name"),
        "/dev/null",
        "stdout redirected: {write}"
    );
    assert_eq!(s(&write, "evt.arg.data"), head, "{write}");
    // The shell opened X for the redirection and dup2'd it to 1; cat copies into it with
    // copy_file_range (a generic event) and closes fd 1, which sysdig knows as X.
    let redirect = find(
        &|j| s(j, "evt.type") == "openat" && s(j, "evt.dir") == "<" && s(j, "fd.name") == x,
        "the redirection's openat of X",
    );
    assert!(
        s(&redirect, "evt.args").contains("O_TRUNC|O_CREAT|O_WRONLY"),
        "{redirect}"
    );
    let dup = find(
        &|j| s(j, "evt.type") == "dup" && s(j, "evt.dir") == "<" && s(j, "fd.name") == x,
        "dup2 of X to stdout",
    );
    assert_eq!(dup["fd.num"].as_i64(), Some(1), "{dup}");
    find(
        &|j| s(j, "evt.type") == "copy_file_range" && s(j, "proc.name") == "cat",
        "cat's copy_file_range",
    );
    let close = find(
        &|j| {
            s(j, "evt.type") == "close"
                && s(j, "evt.dir") == ">"
                && s(j, "proc.name") == "cat"
                && j["fd.num"].as_i64() == Some(1)
        },
        "cat's close of stdout",
    );
    assert_eq!(s(&close, "fd.name"), x, "{close}");
    find(
        &|j| {
            s(j, "evt.type") == "close"
                && s(j, "proc.name") == "cat"
                && j["fd.num"].as_i64() == Some(fd)
        },
        "cat's close of /etc/passwd",
    );

    // mv: a rename family call from X to Y.
    let rename = find(
        &|j| s(j, "evt.type").starts_with("rename") && s(j, "evt.dir") == "<",
        "mv's rename",
    );
    assert_eq!(s(&rename, "proc.name"), "mv");
    let args = s(&rename, "evt.args");
    assert!(
        args.contains(&format!("oldpath={x}")) && args.contains(&format!("newpath={y}")),
        "{rename}"
    );
    assert!(args.starts_with("res=0"), "{rename}");
    // rm: unlinkat of Y.
    let unlink = find(
        &|j| s(j, "evt.type").starts_with("unlink") && s(j, "evt.dir") == "<",
        "rm's unlink",
    );
    assert_eq!(s(&unlink, "proc.name"), "rm");
    assert!(
        s(&unlink, "evt.args").contains(&format!("name={y}"))
            || s(&unlink, "evt.args").contains(&format!("path={y}")),
        "{unlink}"
    );
    // The io child (the test binary, whose threads are named after the test).
    let ev = |ty: &str, dir: &str| -> Value {
        find(
            &|j| {
                s(j, "evt.type") == ty
                    && s(j, "evt.dir") == dir
                    && s(j, "proc.name").starts_with("privileged")
            },
            &format!("{ty} {dir} of the io child"),
        )
    };
    let writev = ev("writev", "<");
    assert_eq!(s(&writev, "evt.arg.data"), "writev:vectored", "{writev}");
    assert!(s(&writev, "evt.args").starts_with("res=15 "), "{writev}");
    assert!(s(&ev("writev", ">"), "evt.args").contains("size=15"));
    let readv = ev("readv", "<");
    assert_eq!(s(&readv, "fd.name"), "/etc/hostname", "{readv}");
    let hostname = std::fs::read("/etc/hostname").expect("hostname");
    assert!(
        s(&readv, "evt.args").starts_with(&format!("res={} size=64 ", hostname.len())),
        "{readv}"
    );
    let pair = ev("socketpair", "<");
    assert!(s(&pair, "evt.args").starts_with("res=0 fd1="), "{pair}");
    let sendmsg = ev("sendmsg", "<");
    assert_eq!(s(&sendmsg, "evt.arg.data"), "sendmsg:data", "{sendmsg}");
    assert!(s(&ev("sendmsg", ">"), "evt.args").contains("size=12"));
    let recvmsg = ev("recvmsg", "<");
    assert_eq!(s(&recvmsg, "evt.arg.data"), "sendmsg:data", "{recvmsg}");
    let fcntl = ev("fcntl", ">");
    assert!(
        s(&fcntl, "evt.args").contains("cmd=26(F_DUPFD_CLOEXEC)"),
        "{fcntl}"
    );
    // The child's own mprotect of its page to PROT_READ|PROT_EXEC (ld.so's come first).
    find(
        &|j| {
            s(j, "evt.type") == "mprotect"
                && s(j, "proc.name").starts_with("privileged")
                && s(j, "evt.args").ends_with("length=4096 prot=5(PROT_READ|PROT_EXEC) ")
        },
        "mprotect to PROT_EXEC",
    );
    find(
        &|j| {
            s(j, "evt.type") == "mmap"
                && s(j, "proc.name").starts_with("privileged")
                && s(j, "evt.args").contains(
                    "length=4096 prot=3(PROT_READ|PROT_WRITE) flags=10(MAP_PRIVATE|MAP_ANONYMOUS)",
                )
        },
        "mmap of an anonymous page",
    );
    let shutdown = ev("shutdown", ">");
    assert!(
        s(&shutdown, "evt.args").contains("how=1(SHUT_WR)"),
        "{shutdown}"
    );
    assert!(s(&ev("pipe", "<"), "evt.args").starts_with("res=0 fd1="));

    // The init exits last.
    find(
        &|j| s(j, "evt.type") == "procexit" && j["thread.tid"].as_u64() == Some(u64::from(init)),
        "the init's procexit",
    );
}

/// Env var that turns [`child_io_calls`] into a workload of the test above.
const IO_CHILD: &str = "BB_CAPTURE_IO_CHILD";

/// Not a test of its own: run by `a_recorded_process_reads_back_in_sysdig` in the cgroup, it
/// makes the calls whose events have no shell equivalent. A no-op otherwise.
#[test]
fn child_io_calls() {
    if std::env::var_os(IO_CHILD).is_none() {
        return;
    }
    fn ok(what: &str, r: isize) -> isize {
        assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
        r
    }
    fn iov(b: &[u8]) -> libc::iovec {
        libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        }
    }
    // SAFETY: plain syscalls on buffers and fds owned here, which outlive the calls.
    unsafe {
        let out = [iov(b"writev:"), iov(b"vectored")];
        ok("writev", libc::writev(1, out.as_ptr(), 2));
        let fd = ok(
            "open",
            libc::open(c"/etc/hostname".as_ptr(), libc::O_RDONLY) as isize,
        ) as i32;
        let mut buf = [0u8; 64];
        let into = [libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        }];
        ok("readv", libc::readv(fd, into.as_ptr(), 1));
        ok("fcntl", libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 20) as isize);

        let mut sv = [0i32; 2];
        ok(
            "socketpair",
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) as isize,
        );
        let parts = [iov(b"sendmsg:"), iov(b"data")];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = parts.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = 2;
        ok("sendmsg", libc::sendmsg(sv[0], &msg, 0));
        ok("shutdown", libc::shutdown(sv[0], libc::SHUT_WR) as isize);
        let mut got = [0u8; 12];
        let into = [libc::iovec {
            iov_base: got.as_mut_ptr().cast(),
            iov_len: got.len(),
        }];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = into.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = 1;
        ok("recvmsg", libc::recvmsg(sv[1], &mut msg, libc::MSG_WAITALL));

        let mut p = [0i32; 2];
        ok("pipe", libc::pipe(p.as_mut_ptr()) as isize);
        let page = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(page, libc::MAP_FAILED, "mmap");
        ok(
            "mprotect",
            libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_EXEC) as isize,
        );
    }
    std::process::exit(0);
}
