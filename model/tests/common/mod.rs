//! A small capture written with our SCAP writer, shaped like the shim's captures
//! (docs/capture.md): PL + FDL + UL, the container JSON event, then enter/exit pairs.

#![allow(dead_code, clippy::too_many_arguments)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use blackbox_scap::container::{cgroup_entries, containerd_cgroup_path};
use blackbox_scap::{
    Compression, ContainerInfo, Event, EventBuilder, FdInfo, FdKind, GroupInfo, MachineInfo,
    ProcessInfo, ScapWriter, SectionMetadata, SockAddr, SockTuple, ThreadFds, UserInfo,
};

pub const FULL_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const T0: u64 = 1_700_000_000_000_000_000;

pub fn cgroups() -> Vec<String> {
    let path = containerd_cgroup_path("/k8s.io", FULL_ID).expect("cgroup path");
    cgroup_entries(&path)
}

fn proc_info(
    tid: u64,
    ptid: u64,
    comm: &str,
    exe: &str,
    args: &[&str],
    cwd: &str,
    cg: Vec<String>,
    uid: u32,
) -> ProcessInfo {
    ProcessInfo {
        tid,
        pid: tid,
        ptid,
        sid: ptid.max(1),
        vpgid: tid,
        comm: comm.into(),
        exe: exe.into(),
        exepath: exe.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        cwd: cwd.into(),
        fdlimit: 1024,
        flags: 0,
        uid,
        gid: uid,
        vmsize_kb: 0,
        vmrss_kb: 0,
        vmswap_kb: 0,
        pfmajor: 0,
        pfminor: 0,
        env: vec!["PATH=/bin".into()],
        vtid: i64::try_from(tid).unwrap_or(0),
        vpid: i64::try_from(tid).unwrap_or(0),
        cgroups: cg,
        root: "/".into(),
        loginuid: Some(u32::MAX),
        exe_writable: Some(false),
    }
}

fn ev(b: EventBuilder) -> Event {
    b.build().expect("valid event")
}

fn execve_exit(ts: u64, tid: u64, ptid: i64, exe: &str, args: &[&str], comm: &str) -> Event {
    ev(EventBuilder::new(ts, tid, 293)
        .param_errno(0)
        .param_str(exe)
        .param_str_list(args)
        .param_pid(tid as i64)
        .param_pid(tid as i64)
        .param_pid(ptid)
        .param_str("")
        .param_u64(1024)
        .param_u64(0)
        .param_u64(0)
        .param_u32(0)
        .param_u32(0)
        .param_u32(0)
        .param_str(comm)
        .param_str_list(&cgroups())
        .param_str_list(&["PATH=/bin"])
        .param_i32(0)
        .param_pid(tid as i64)
        .param_i32(-1)
        .param_u32(0))
}

/// The events of the sample, in order.
pub fn sample_events() -> Vec<Event> {
    let mut t = T0;
    let mut next = || {
        t += 1000;
        t
    };
    let open_flags = blackbox_scap::flags::open::RDONLY | blackbox_scap::flags::open::CLOEXEC;
    let local = SocketAddrV4::new(Ipv4Addr::new(172, 17, 0, 2), 40000);
    let remote = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 443);
    vec![
        ev(EventBuilder::new(next(), 200, 292).param_str("/bin/cat")),
        execve_exit(next(), 200, 100, "cat", &["/etc/passwd"], "cat"),
        ev(EventBuilder::new(next(), 200, 306)
            .param_fd(-100)
            .param_str("../etc/passwd")
            .param_u32(open_flags)
            .param_u32(0)),
        ev(EventBuilder::new(next(), 200, 307)
            .param_fd(3)
            .param_fd(-100)
            .param_str("../etc/passwd")
            .param_u32(open_flags)
            .param_u32(0)
            .param_u32(0)),
        ev(EventBuilder::new(next(), 200, 6).param_fd(3).param_u32(80)),
        ev(EventBuilder::new(next(), 200, 7)
            .param_errno(5)
            .param_bytes(b"root:")),
        ev(EventBuilder::new(next(), 200, 306)
            .param_fd(-100)
            .param_str("/nope")
            .param_u32(open_flags)
            .param_u32(0)),
        ev(EventBuilder::new(next(), 200, 307)
            .param_fd(-2)
            .param_fd(-100)
            .param_str("/nope")
            .param_u32(open_flags)
            .param_u32(0)
            .param_u32(0)),
        ev(EventBuilder::new(next(), 200, 18)
            .param_u32(2)
            .param_u32(1)
            .param_u32(0)),
        ev(EventBuilder::new(next(), 200, 19).param_fd(4)),
        ev(EventBuilder::new(next(), 200, 22)
            .param_fd(4)
            .param_sockaddr(SockAddr::V4(remote))),
        ev(EventBuilder::new(next(), 200, 23)
            .param_errno(0)
            .param_socktuple(Some(SockTuple::V4 {
                src: local,
                dst: remote,
            }))),
        ev(EventBuilder::new(next(), 200, 124).param_fd(4)),
        ev(EventBuilder::new(next(), 200, 125).param_fd(1)),
        ev(EventBuilder::new(next(), 200, 8).param_fd(1).param_u32(3)),
        ev(EventBuilder::new(next(), 200, 9)
            .param_errno(3)
            .param_bytes(b"hi\n")),
        ev(EventBuilder::new(next(), 200, 4).param_fd(3)),
        ev(EventBuilder::new(next(), 200, 5).param_errno(0)),
        ev(EventBuilder::new(next(), 200, 222)),
        ev(EventBuilder::new(next(), 200, 223)
            .param_pid(201)
            .param_str("cat")
            .param_str_list(&["/etc/passwd"])
            .param_pid(200)
            .param_pid(200)
            .param_pid(100)
            .param_str("")
            .param_i64(1024)
            .param_u64(0)
            .param_u64(0)
            .param_u32(0)
            .param_u32(0)
            .param_u32(0)
            .param_str("cat")
            .param_str_list(&cgroups())
            .param_u32(0)
            .param_u32(0)
            .param_u32(0)
            .param_pid(201)
            .param_pid(201)),
        ev(EventBuilder::new(next(), 201, 223)
            .param_pid(0)
            .param_str("cat")
            .param_str_list(&["/etc/passwd"])
            .param_pid(201)
            .param_pid(201)
            .param_pid(200)
            .param_str("")
            .param_i64(1024)
            .param_u64(0)
            .param_u64(0)
            .param_u32(0)
            .param_u32(0)
            .param_u32(0)
            .param_str("cat")
            .param_str_list(&cgroups())
            .param_u32(0)
            .param_u32(1000)
            .param_u32(1000)
            .param_pid(201)
            .param_pid(201)),
        ev(EventBuilder::new(next(), 201, 292).param_str("/bin/sh")),
        execve_exit(next(), 201, 200, "sh", &["-c", "id"], "sh"),
        ev(EventBuilder::new(next(), 201, 96).param_fd(1)),
        ev(EventBuilder::new(next(), 201, 97).param_errno(-20)),
        ev(EventBuilder::new(next(), 201, 186)
            .param_errno(0)
            .param_errno(0)
            .param_u8(0)
            .param_u8(0)),
        ev(EventBuilder::new(next(), 200, 8).param_fd(0).param_u32(1)),
        ev(EventBuilder::new(next(), 200, 9)
            .param_errno(-9)
            .param_bytes(b"")),
    ]
}

pub fn container() -> ContainerInfo {
    let mut labels = BTreeMap::new();
    labels.insert("io.kubernetes.pod.name".to_string(), "web-0".to_string());
    labels.insert(
        "io.kubernetes.pod.namespace".to_string(),
        "shop".to_string(),
    );
    ContainerInfo {
        full_id: FULL_ID.into(),
        name: "web".into(),
        image: "docker.io/library/nginx:1.25".into(),
        image_id: "sha256:abc".into(),
        container_type: 7,
        privileged: true,
        is_pod_sandbox: false,
        created_time: 1_700_000_000,
        labels,
    }
}

/// Writes the sample capture to `path` (plain SCAP).
pub fn write_sample(path: &Path) {
    let f = std::fs::File::create(path).expect("create capture");
    let mut w = ScapWriter::new(f, Compression::None);
    let meta = SectionMetadata {
        machine: Some(MachineInfo {
            num_cpus: 2,
            memory_bytes: 1 << 30,
            max_pid: 32768,
            hostname: "node1".into(),
        }),
        interfaces: Vec::new(),
        users: vec![
            UserInfo {
                uid: 0,
                gid: 0,
                name: "root".into(),
                homedir: "/root".into(),
                shell: "/bin/sh".into(),
            },
            UserInfo {
                uid: 1000,
                gid: 1000,
                name: "app".into(),
                homedir: "/home/app".into(),
                shell: "/bin/sh".into(),
            },
        ],
        groups: vec![
            GroupInfo {
                gid: 0,
                name: "root".into(),
            },
            GroupInfo {
                gid: 1000,
                name: "app".into(),
            },
        ],
        processes: vec![
            proc_info(
                100,
                1,
                "containerd-shim",
                "/usr/bin/containerd-shim-blackbox-v1",
                &["-namespace", "k8s.io"],
                "/",
                Vec::new(),
                0,
            ),
            proc_info(
                200,
                100,
                "sh",
                "/bin/sh",
                &["-c", "cat /etc/passwd"],
                "/app/",
                cgroups(),
                0,
            ),
        ],
        fds: vec![ThreadFds {
            tid: 200,
            fds: vec![
                FdInfo {
                    fd: 0,
                    ino: 1,
                    kind: FdKind::Named {
                        fd_type: blackbox_scap::fd_type::FILE,
                        name: "/dev/null".into(),
                    },
                },
                FdInfo {
                    fd: 1,
                    ino: 2,
                    kind: FdKind::Named {
                        fd_type: blackbox_scap::fd_type::FIFO,
                        name: "pipe:[1234]".into(),
                    },
                },
            ],
        }],
    };
    w.write_section(&meta).expect("section");
    w.write_container(T0, &container()).expect("container");
    for e in sample_events() {
        w.write_event(&e).expect("event");
    }
    w.finish().expect("finish");
}
