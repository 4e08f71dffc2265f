//! Privileged tests: real programs, real cgroups, real processes.
//! They need root and BPF and fail (never skip) without them.

mod support;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use blackbox_recorder::{
    CgroupRef, LoadOutcome, Recorder, RecordingPolicy, SockAddr, SockTuple, SyscallClass,
};
use support::{collect_until, command_in_cgroup, nr, Rec, TestEnv};

const WAIT: Duration = Duration::from_secs(10);

fn pids_of(recs: &[Rec]) -> std::collections::BTreeSet<u32> {
    recs.iter().map(|r| r.pid).collect()
}

#[test]
fn records_a_container_process_and_nothing_else() {
    let env = TestEnv::new("main");
    let mut recorder = Recorder::open(&env.options).expect("open recorder");
    let key_expected = std::fs::metadata(&env.cgroup).expect("cgroup dir").ino();
    let mut c = recorder
        .register(
            &CgroupRef::Path(env.cgroup.clone()),
            RecordingPolicy::default(),
        )
        .expect("register");
    assert_eq!(
        c.cgroup_id(),
        key_expected,
        "the cgroup id is the cgroup dir's inode number"
    );
    assert!(recorder.registered().contains(&c.key()));

    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        buf
    });
    let out_file = format!("/tmp/bbtest-{}-out", std::process::id());
    let script = format!(
        "cat /etc/passwd > /dev/null; echo hi > {out_file}; exec 3<>/dev/tcp/127.0.0.1/{port}; echo ping >&3; exit 7"
    );

    // A process outside the cgroup, running at the same time: must not show up.
    let mut outside = Command::new("/usr/bin/cat")
        .arg("/etc/hostname")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn outside");
    let mut child = command_in_cgroup("/bin/bash", &env.cgroup)
        .args(["-c", &script])
        .spawn()
        .expect("spawn bash");
    let bash_pid = child.id();
    let status = child.wait().expect("wait bash");
    assert_eq!(status.code(), Some(7));
    let outside_pid = outside.id();
    outside.wait().expect("wait outside");
    assert_eq!(acceptor.join().expect("acceptor"), b"ping\n");
    let _ = std::fs::remove_file(&out_file);

    let recs = collect_until(&mut c, WAIT, |r| {
        r.iter().any(|x| x.kind == "procexit" && x.pid == bash_pid)
    });

    // Everything recorded belongs to the container's cgroup, nothing to us or the outsider.
    assert!(
        recs.iter().all(|r| r.cgroup_id == key_expected),
        "foreign cgroup ids recorded"
    );
    let pids = pids_of(&recs);
    assert!(
        !pids.contains(&std::process::id()),
        "the test process was recorded"
    );
    assert!(
        !pids.contains(&outside_pid),
        "a process outside the cgroup was recorded"
    );

    // bash's execve: enter with the path, exit with process info and argv.
    let exec_enter = recs
        .iter()
        .find(|r| r.pid == bash_pid && r.is_enter(nr::EXECVE))
        .expect("execve enter of bash");
    assert_eq!(exec_enter.path.as_deref(), Some(&b"/bin/bash"[..]));
    let exec_exit = recs
        .iter()
        .find(|r| r.pid == bash_pid && r.is_exit(nr::EXECVE))
        .expect("execve exit of bash");
    assert_eq!(exec_exit.ret, 0);
    assert_eq!(exec_exit.tid, bash_pid);
    let pi = exec_exit
        .proc_info
        .as_ref()
        .expect("proc info on execve exit");
    assert_eq!(pi.ppid, std::process::id(), "ppid of bash is the test");
    assert_eq!((pi.uid, pi.euid, pi.gid), (0, 0, 0));
    assert_eq!(pi.comm, b"bash");
    assert_eq!(
        exec_exit.argv,
        vec![
            b"/bin/bash".to_vec(),
            b"-c".to_vec(),
            script.as_bytes().to_vec()
        ]
    );

    // The cat child: clone child side, its execve, openat /etc/passwd, read with data, close.
    let cat_exec = recs
        .iter()
        .find(|r| r.is_exit(nr::EXECVE) && r.argv.first().map(Vec::as_slice) == Some(b"cat"))
        .expect("execve exit of cat");
    let cat = cat_exec.pid;
    assert_ne!(cat, bash_pid);
    assert_eq!(
        cat_exec.argv,
        vec![b"cat".to_vec(), b"/etc/passwd".to_vec()]
    );
    assert_eq!(cat_exec.proc_info.as_ref().map(|p| p.ppid), Some(bash_pid));
    let clone_child = recs
        .iter()
        .find(|r| r.pid == cat && (r.is_exit(nr::CLONE) || r.is_exit(nr::CLONE3)) && r.ret == 0)
        .expect("clone exit in the child");
    assert_eq!(
        clone_child.proc_info.as_ref().map(|p| p.ppid),
        Some(bash_pid)
    );
    assert!(
        recs.iter().any(|r| r.pid == bash_pid
            && (r.is_exit(nr::CLONE) || r.is_exit(nr::CLONE3))
            && r.ret == i64::from(cat)),
        "clone exit in the parent returns the child's pid"
    );

    let open_at = recs
        .iter()
        .position(|r| {
            r.pid == cat && r.is_exit(nr::OPENAT) && r.path.as_deref() == Some(&b"/etc/passwd"[..])
        })
        .expect("openat exit of /etc/passwd");
    let (open, after_open) = (&recs[open_at], &recs[open_at + 1..]);
    let fd = open.ret;
    assert!(fd >= 0, "openat returned {fd}");
    assert_eq!(open.args[2] & 3, 0, "O_RDONLY");
    let passwd = std::fs::read("/etc/passwd").expect("read passwd");
    // The fd number was used before (ld.so's library reads): look after the openat.
    let read = after_open
        .iter()
        .find(|r| r.pid == cat && r.is_exit(nr::READ) && r.args[0] as i64 == fd)
        .expect("read exit on the passwd fd");
    let data = read.data.as_ref().expect("read data");
    assert_eq!(read.ret as usize, passwd.len().min(read.args[2] as usize));
    assert_eq!(data.len(), 80.min(read.ret as usize), "snaplen 80");
    assert_eq!(&data[..], &passwd[..data.len()]);
    assert!(
        !recs
            .iter()
            .any(|r| r.pid == cat && (r.is_enter(nr::READ) || r.is_enter(nr::OPENAT))),
        "read and openat are recorded at their exit only"
    );
    assert!(
        after_open
            .iter()
            .any(|r| r.pid == cat && r.is_exit(nr::CLOSE) && r.args[0] as i64 == fd && r.ret == 0),
        "close of the passwd fd"
    );
    assert!(
        read.flags & blackbox_recorder::wire::BB_F_DATA_SNAPPED as u16 != 0,
        "snapped flag"
    );

    // bash's redirected echo: write(1, "hi\n").
    assert!(
        recs.iter().any(|r| r.pid == bash_pid
            && r.is_exit(nr::WRITE)
            && r.data.as_deref() == Some(&b"hi\n"[..])),
        "write of hi"
    );
    // connect to the listener, with the sockaddr and the socket's tuple. bash may
    // connect elsewhere first (glibc asks nscd over AF_UNIX on some hosts, and
    // fails with ENOENT): take the IPv4 one.
    let conn = recs
        .iter()
        .find(|r| {
            r.pid == bash_pid
                && r.is_exit(nr::CONNECT)
                && matches!(r.sockaddr, Some(SockAddr::V4(_)))
        })
        .expect("IPv4 connect exit");
    assert_eq!(conn.ret, 0);
    assert_eq!(
        conn.sockaddr,
        Some(SockAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)))
    );
    match &conn.tuple {
        Some(SockTuple::V4(local, remote)) => {
            assert_eq!(*remote, SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
            assert_eq!(*local.ip(), Ipv4Addr::LOCALHOST);
            assert_ne!(local.port(), 0);
        }
        other => panic!("connect tuple {other:?}"),
    }
    assert!(
        recs.iter()
            .any(|r| r.pid == bash_pid && r.is_exit(nr::SOCKET) && r.ret >= 0),
        "socket"
    );
    assert!(
        recs.iter().any(|r| r.pid == bash_pid
            && r.is_exit(nr::WRITE)
            && r.data.as_deref() == Some(&b"ping\n"[..])),
        "write to the socket"
    );

    // Exits: status of bash (7) and cat (0).
    let bash_exit = recs
        .iter()
        .find(|r| r.kind == "procexit" && r.pid == bash_pid)
        .expect("procexit bash");
    assert_eq!(bash_exit.exit_code, 7 << 8);
    let cat_exit = recs
        .iter()
        .find(|r| r.kind == "procexit" && r.pid == cat)
        .expect("procexit cat");
    assert_eq!(cat_exit.exit_code, 0);

    // Every enter is followed by its exit on the same thread (except execve of
    // a new image, whose enter is in the old one, and exits that never return).
    c.unregister().expect("unregister");
    let mut rest = 0u64;
    c.drain(|_| rest += 1);
    let losses = c.losses().expect("losses");
    assert_eq!(losses.dropped(), 0, "{losses:?}");
    assert!(losses.records >= recs.len() as u64 + rest, "{losses:?}");
}

#[test]
fn sub_cgroups_count_as_the_container() {
    let mut env = TestEnv::new("sub");
    let before = env.sub_cgroup("pre/inner");
    let mut recorder = Recorder::open(&env.options).expect("open");
    let mut c = recorder
        .register(
            &CgroupRef::Path(env.cgroup.clone()),
            RecordingPolicy::default(),
        )
        .expect("register");
    // Created after registration: the cgroup_mkdir program adds it.
    let after = env.sub_cgroup("post");
    let mut pids = Vec::new();
    for cg in [&before, &after] {
        let mut ch = command_in_cgroup("/usr/bin/cat", cg)
            .arg("/etc/hostname")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn");
        pids.push((ch.id(), std::fs::metadata(cg).expect("cg").ino()));
        ch.wait().expect("wait");
    }
    let recs = collect_until(&mut c, WAIT, |r| {
        pids.iter()
            .all(|(p, _)| r.iter().any(|x| x.kind == "procexit" && x.pid == *p))
    });
    for (pid, cgid) in &pids {
        let mine: Vec<_> = recs.iter().filter(|r| r.pid == *pid).collect();
        assert!(
            mine.iter().any(|r| r.is_exit(nr::EXECVE)),
            "execve of {pid} in sub-cgroup {cgid}"
        );
        assert!(
            mine.iter().all(|r| r.cgroup_id == *cgid),
            "records of {pid} carry the sub-cgroup id"
        );
    }
}

#[test]
fn a_full_ring_counts_drops_and_the_child_is_unaffected() {
    let env = TestEnv::new("full");
    let mut recorder = Recorder::open(&env.options).expect("open");
    let policy = RecordingPolicy {
        ring_bytes: 16 << 10,
        ..RecordingPolicy::default()
    };
    let mut c = recorder
        .register(&CgroupRef::Path(env.cgroup.clone()), policy)
        .expect("register");
    // ~40k syscalls, nobody draining.
    let status = command_in_cgroup("/bin/dd", &env.cgroup)
        .args(["if=/dev/zero", "of=/dev/null", "bs=1", "count=20000"])
        .stderr(Stdio::null())
        .status()
        .expect("dd");
    assert!(
        status.success(),
        "the recorded child must not be affected by a full ring"
    );
    let losses = c.losses().expect("losses");
    assert!(losses.ringbuf_full > 1000, "drops counted: {losses:?}");
    assert!(losses.ringbuf_full_bytes > 0);
    let mut drained = 0u64;
    c.drain(|_| drained += 1);
    let after = c.losses().expect("losses after the drain");
    assert!(drained > 0, "{after:?}");
    assert_eq!(
        after.records, drained,
        "the reader counts what it drained: {after:?}"
    );
    assert_eq!(
        after.ringbuf_full, losses.ringbuf_full,
        "no drop after dd ended"
    );
}

#[test]
fn pins_are_reused_by_this_and_other_processes() {
    let env = TestEnv::new("pins");
    let first = Recorder::open(&env.options).expect("first open");
    assert_eq!(first.load_outcome(), LoadOutcome::Loaded);
    let second = Recorder::open(&env.options).expect("second open");
    assert_eq!(second.load_outcome(), LoadOutcome::Reused);
    assert_eq!(first.version_dir(), second.version_dir());
    let name = second
        .version_dir()
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(name, blackbox_recorder::pins::version_dir_name());

    let out = Command::new(env!("CARGO_BIN_EXE_blackbox-recorder-ctl"))
        .args(["open", "--pin-root"])
        .arg(&env.options.pin_root)
        .output()
        .expect("run blackbox-recorder-ctl");
    assert!(
        out.status.success(),
        "ctl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "reused");
    // Still exactly one version directory, no partial loads.
    let dirs: Vec<_> = std::fs::read_dir(&env.options.pin_root)
        .expect("pin root")
        .flatten()
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
}

#[test]
fn unregister_removes_the_entry_and_stale_entries_are_cleaned() {
    let mut env = TestEnv::new("unreg");
    let mut recorder = Recorder::open(&env.options).expect("open");
    let mut c = recorder
        .register(
            &CgroupRef::Path(env.cgroup.clone()),
            RecordingPolicy::default(),
        )
        .expect("register");
    let key = c.key();
    let cgroup_id = c.cgroup_id();
    assert!(recorder.registered().contains(&key));
    let keys_before = recorder.registered();
    assert!(matches!(
        recorder.register(&CgroupRef::Id(cgroup_id), RecordingPolicy::default()),
        Err(blackbox_recorder::RecorderError::AlreadyRegistered(k)) if k == cgroup_id
    ));
    assert_eq!(
        recorder.registered(),
        keys_before,
        "the refused registration's prepared ring is gone"
    );
    c.unregister().expect("unregister");
    // Unregistered, the ring stays in the map until released (off the hot path).
    assert!(recorder.registered().contains(&key));
    c.release().expect("release");
    assert!(!recorder.registered().contains(&key));
    let status = command_in_cgroup("/usr/bin/true", &env.cgroup)
        .status()
        .expect("true");
    assert!(status.success());
    let mut after = 0;
    c.poll_records(Duration::from_millis(200), |_| after += 1)
        .expect("poll");
    assert_eq!(after, 0, "records after unregister");

    // A shim that dies without unregistering: its cgroup goes away, the next registration cleans up.
    let crashed = env.sibling_cgroup("crashed");
    let leaked = recorder
        .register(
            &CgroupRef::Path(crashed.clone()),
            RecordingPolicy::default(),
        )
        .expect("register crashed");
    let leaked_key = leaked.key();
    std::mem::forget(leaked);
    std::fs::remove_dir(&crashed).expect("rmdir crashed cgroup");
    assert!(recorder.registered().contains(&leaked_key));
    let other = env.sibling_cgroup("next");
    let next = recorder
        .register(&CgroupRef::Path(other), RecordingPolicy::default())
        .expect("register next");
    let keys = recorder.registered();
    assert!(!keys.contains(&leaked_key), "stale entry removed");
    assert!(keys.contains(&next.key()));
}

#[test]
fn a_ring_prepared_before_the_cgroup_exists_records_it() {
    let mut env = TestEnv::new("prep");
    let mut recorder = Recorder::open(&env.options).expect("open");
    // Prepared and dropped unused: it leaves the map.
    let unused = recorder
        .prepare(RecordingPolicy::default())
        .expect("prepare");
    let before = recorder.registered();
    drop(unused);
    assert_eq!(recorder.registered().len() + 1, before.len());

    // Prepared, then abandoned (its process "died" before registering): within
    // the grace period the next cleanup keeps it, for its owner may be in the
    // middle of `runc create`.
    let abandoned = recorder
        .prepare(RecordingPolicy::default())
        .expect("prepare");
    std::mem::forget(abandoned);
    let prepared = recorder
        .prepare(RecordingPolicy::default())
        .expect("prepare");
    assert_eq!(recorder.registered().len(), before.len() + 1);

    // Prepared first, the cgroup made after: the registration records it.
    let late = env.sibling_cgroup("late");
    let mut c = recorder
        .register_prepared(prepared, &CgroupRef::Path(late.clone()))
        .expect("register prepared");
    let status = command_in_cgroup("/usr/bin/true", &late)
        .status()
        .expect("true");
    assert!(status.success());
    let recs = collect_until(&mut c, WAIT, |r| r.iter().any(|x| x.kind == "procexit"));
    assert!(
        recs.iter().any(|r| r.is_exit(nr::EXECVE)),
        "the execve of true in the late cgroup"
    );
    c.release().expect("release");
}

/// Env var that turns [`child_vectored_io`] into the workload of
/// [`vectored_io_and_fd_pairs_are_recorded_with_data`] (this test binary re-run in the cgroup).
const VECTORED_CHILD: &str = "BB_TEST_VECTORED_CHILD";

/// Not a test of its own: the child side of the vectored I/O test, a no-op otherwise.
#[test]
fn child_vectored_io() {
    if std::env::var_os(VECTORED_CHILD).is_none() {
        return;
    }
    fn check(what: &str, r: isize) -> usize {
        assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
        r as usize
    }
    fn iov(b: &[u8]) -> libc::iovec {
        libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        }
    }
    // SAFETY: plain syscalls on buffers and fds owned here, all of which outlive the calls.
    unsafe {
        let mut p = [0i32; 2];
        check(
            "pipe2",
            libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) as isize,
        );
        let out = [iov(b"hello "), iov(b"vectored")];
        check("writev", libc::writev(p[1], out.as_ptr(), 2));
        let (mut a, mut b) = ([0u8; 4], [0u8; 100]);
        let into = [
            libc::iovec {
                iov_base: a.as_mut_ptr().cast(),
                iov_len: a.len(),
            },
            libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            },
        ];
        assert_eq!(check("readv", libc::readv(p[0], into.as_ptr(), 2)), 14);

        let mut sv = [0i32; 2];
        check(
            "socketpair",
            libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, sv.as_mut_ptr()) as isize,
        );
        let parts = [iov(b"msg-"), iov(b"data")];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = parts.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = 2;
        check("sendmsg", libc::sendmsg(sv[0], &msg, 0));
        let mut buf = [0u8; 64];
        let into = [libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        }];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = into.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = 1;
        assert_eq!(check("recvmsg", libc::recvmsg(sv[1], &mut msg, 0)), 8);
    }
    std::process::exit(0);
}

#[test]
fn vectored_io_and_fd_pairs_are_recorded_with_data() {
    let env = TestEnv::new("vec");
    let mut recorder = Recorder::open(&env.options).expect("open recorder");
    let mut c = recorder
        .register(
            &CgroupRef::Path(env.cgroup.clone()),
            RecordingPolicy::default(),
        )
        .expect("register");
    let exe = std::env::current_exe().expect("test binary");
    let exe = exe.to_str().expect("utf-8 test binary path");
    let status = command_in_cgroup(exe, &env.cgroup)
        .args(["--exact", "child_vectored_io", "--test-threads=1"])
        .env(VECTORED_CHILD, "1")
        .stdout(Stdio::null())
        .status()
        .expect("run child");
    assert!(status.success(), "child: {status}");
    let recs = collect_until(&mut c, WAIT, |r| {
        r.iter()
            .any(|x| x.kind == "procexit" && x.exit_code == 0 && x.pid == x.tid)
            && r.iter().any(|x| x.is_exit(nr::RECVMSG))
    });
    let exit_of = |nr: u32| {
        recs.iter()
            .find(|r| r.is_exit(nr))
            .unwrap_or_else(|| panic!("no exit of syscall {nr}"))
    };

    let pipe = exit_of(nr::PIPE2);
    let (rfd, wfd) = pipe.fd_pair.expect("pipe2 fds");
    assert!(rfd >= 0 && wfd >= 0 && rfd != wfd, "{rfd} {wfd}");
    let writev = recs
        .iter()
        .find(|r| r.is_exit(nr::WRITEV) && r.args[0] == wfd as u64)
        .expect("writev on the pipe");
    assert_eq!(writev.ret, 14);
    assert_eq!(writev.data.as_deref(), Some(&b"hello vectored"[..]));
    assert_eq!(writev.iov_len, Some(14));
    let readv = recs
        .iter()
        .find(|r| r.is_exit(nr::READV) && r.args[0] == rfd as u64)
        .expect("readv on the pipe");
    assert_eq!(readv.ret, 14);
    assert_eq!(readv.data.as_deref(), Some(&b"hello vectored"[..]));
    assert_eq!(readv.iov_len, Some(104));

    let pair = exit_of(nr::SOCKETPAIR);
    let (s0, s1) = pair.fd_pair.expect("socketpair fds");
    let send = exit_of(nr::SENDMSG);
    assert_eq!((send.args[0], send.ret), (s0 as u64, 8));
    assert_eq!(send.data.as_deref(), Some(&b"msg-data"[..]));
    assert_eq!(send.iov_len, Some(8));
    assert!(
        matches!(send.tuple, Some(SockTuple::Other(f)) if f == libc::AF_UNIX as u16),
        "{:?}",
        send.tuple
    );
    let recv = exit_of(nr::RECVMSG);
    assert_eq!((recv.args[0], recv.ret), (s1 as u64, 8));
    assert_eq!(recv.data.as_deref(), Some(&b"msg-data"[..]));
    assert_eq!(recv.iov_len, Some(64));
}

#[test]
fn syscall_classes_filter_in_the_kernel() {
    let env = TestEnv::new("classes");
    let mut recorder = Recorder::open(&env.options).expect("open recorder");
    let policy = RecordingPolicy {
        classes: vec![SyscallClass::Process, SyscallClass::Net],
        ..RecordingPolicy::default()
    };
    let mut c = recorder
        .register(&CgroupRef::Path(env.cgroup.clone()), policy)
        .expect("register");
    let status = command_in_cgroup("/bin/bash", &env.cgroup)
        .args(["-c", "cat /etc/hostname > /dev/null; exit 3"])
        .status()
        .expect("run bash");
    assert_eq!(status.code(), Some(3));
    let recs = collect_until(&mut c, WAIT, |r| {
        r.iter()
            .any(|x| x.kind == "procexit" && x.exit_code == 3 << 8)
    });
    let syscalls: std::collections::BTreeSet<u32> = recs
        .iter()
        .filter(|r| r.kind == "syscall")
        .map(|r| r.nr)
        .collect();
    assert!(syscalls.contains(&nr::EXECVE), "{syscalls:?}");
    assert!(
        syscalls.contains(&nr::CLONE) || syscalls.contains(&nr::CLONE3),
        "{syscalls:?}"
    );
    for (name, n) in [
        ("read", nr::READ),
        ("write", nr::WRITE),
        ("openat", nr::OPENAT),
        ("close", nr::CLOSE),
    ] {
        assert!(!syscalls.contains(&n), "{name} recorded: {syscalls:?}");
    }
    // Nothing outside process and net: every recorded syscall is of those classes (numbers
    // past the bitmap, e.g. the -1 of a syscall-less exit, are always recorded).
    for n in syscalls
        .iter()
        .filter(|n| **n < blackbox_recorder::wire::BB_SYSCALL_MASK_BITS)
    {
        let class = blackbox_recorder::classes::class_of(*n);
        assert!(
            matches!(class, SyscallClass::Process | SyscallClass::Net),
            "syscall {n} ({class}) recorded"
        );
    }
}
