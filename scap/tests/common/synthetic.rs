//! A synthetic container capture built with our writer: the scenario of spec section 10.

use std::net::{Ipv4Addr, SocketAddrV4};

use blackbox_scap::container::{cgroup_entries, container_type, containerd_cgroup_path};
use blackbox_scap::flags::{self, af, clone, open};
use blackbox_scap::{
    fd_type, Compression, ContainerInfo, Event, EventBuilder, FdInfo, FdKind, GroupInfo, Interface,
    MachineInfo, ProcessInfo, ScapWriter, SectionMetadata, SockAddr, SockTuple, ThreadFds,
    UserInfo,
};

pub const FULL_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
pub const SHORT_ID: &str = "a1b2c3d4e5f6";
pub const T0: u64 = 1_700_000_000_000_000_000;
pub const SHIM: u64 = 4242;
pub const SH: u64 = 5000;
pub const CAT: u64 = 5001;
pub const DATA: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n";

pub fn cgroups() -> Vec<String> {
    let path = containerd_cgroup_path("/kubepods.slice/kubepods-besteffort.slice", FULL_ID)
        .expect("valid id");
    cgroup_entries(&path)
}

pub fn section() -> SectionMetadata {
    SectionMetadata {
        machine: Some(MachineInfo {
            num_cpus: 2,
            memory_bytes: 4 << 30,
            max_pid: 4_194_304,
            hostname: "node-1".into(),
        }),
        interfaces: vec![Interface::V4 {
            name: "lo".into(),
            addr: Ipv4Addr::LOCALHOST,
            netmask: Ipv4Addr::new(255, 0, 0, 0),
            bcast: Ipv4Addr::LOCALHOST,
            linkspeed: 0,
        }],
        users: vec![
            UserInfo {
                uid: 0,
                gid: 0,
                name: "root".into(),
                homedir: "/root".into(),
                shell: "/bin/bash".into(),
            },
            UserInfo {
                uid: 101,
                gid: 101,
                name: "nginx".into(),
                homedir: "/var/cache/nginx".into(),
                shell: "/sbin/nologin".into(),
            },
        ],
        groups: vec![
            GroupInfo {
                gid: 0,
                name: "root".into(),
            },
            GroupInfo {
                gid: 101,
                name: "nginx".into(),
            },
        ],
        processes: vec![
            ProcessInfo {
                tid: SHIM,
                pid: SHIM,
                ptid: 1,
                sid: SHIM,
                vpgid: SHIM,
                comm: "containerd-shim".into(),
                exe: "/usr/bin/containerd-shim-blackbox-v2".into(),
                exepath: "/usr/bin/containerd-shim-blackbox-v2".into(),
                args: vec!["-namespace".into(), "k8s.io".into()],
                cwd: "/".into(),
                fdlimit: 1024,
                vtid: SHIM as i64,
                vpid: SHIM as i64,
                cgroups: cgroup_entries("/system.slice/containerd.service"),
                root: "/".into(),
                ..ProcessInfo::default()
            },
            ProcessInfo {
                tid: SH,
                pid: SH,
                ptid: SHIM,
                sid: SH,
                vpgid: 1,
                comm: "sh".into(),
                exe: "sh".into(),
                exepath: "/bin/sh".into(),
                args: vec!["-c".into(), "cat /etc/passwd".into()],
                cwd: "/app".into(),
                fdlimit: 1024,
                flags: clone::CHILD_IN_PIDNS,
                env: vec!["PATH=/usr/bin:/bin".into(), "HOME=/root".into()],
                vtid: 1,
                vpid: 1,
                cgroups: cgroups(),
                root: "/".into(),
                loginuid: Some(u32::MAX),
                ..ProcessInfo::default()
            },
        ],
        fds: vec![ThreadFds {
            tid: SH,
            fds: (0..3)
                .map(|fd| FdInfo {
                    fd,
                    ino: 3,
                    kind: FdKind::FileV2 {
                        open_flags: open::RDWR,
                        name: "/dev/pts/0".into(),
                        dev: Some(0x18),
                    },
                })
                .chain([FdInfo {
                    fd: 9,
                    ino: 77,
                    kind: FdKind::Named {
                        fd_type: fd_type::FIFO,
                        name: "pipe:[77]".into(),
                    },
                }])
                .collect(),
        }],
    }
}

pub fn container() -> ContainerInfo {
    ContainerInfo {
        full_id: FULL_ID.into(),
        name: "nginx".into(),
        image: "docker.io/library/nginx:1.21".into(),
        container_type: container_type::CONTAINERD,
        labels: [
            ("io.kubernetes.pod.name", "web-0"),
            ("io.kubernetes.pod.namespace", "shop"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..ContainerInfo::default()
    }
}

fn process_exit(b: EventBuilder, res: i64, exe: &str, args: &[&str], comm: &str) -> EventBuilder {
    b.param_pid(res)
        .param_str(exe)
        .param_str_list(args)
        .param_pid(CAT as i64)
        .param_pid(CAT as i64)
        .param_pid(SH as i64)
        .param_str("")
        .param_i64(1024)
        .param_u64(0)
        .param_u64(0)
        .param_u32(1200)
        .param_u32(400)
        .param_u32(0)
        .param_str(comm)
        .param_str_list(&cgroups())
}

/// The syscall events, in timestamp order, enter before exit.
pub fn events() -> Vec<Event> {
    let mut t = T0;
    let mut at = || {
        t += 1000;
        t
    };
    let local = SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 43210);
    let remote = SocketAddrV4::new(Ipv4Addr::new(93, 184, 216, 34), 80);
    let built: Vec<Result<Event, _>> = vec![
        // The child side of the clone creates thread 5001.
        process_exit(
            EventBuilder::new(at(), CAT, 223),
            0,
            "sh",
            &["-c", "cat /etc/passwd"],
            "sh",
        )
        .param_u32(clone::CHILD_IN_PIDNS)
        .param_u32(0)
        .param_u32(0)
        .param_pid(2)
        .param_pid(2)
        .build(),
        EventBuilder::new(at(), CAT, 292)
            .param_str("/bin/cat")
            .build(),
        EventBuilder::new(at(), CAT, 293)
            .param_errno(0)
            .param_str("cat")
            .param_str_list(&["/etc/passwd"])
            .param_pid(CAT as i64)
            .param_pid(CAT as i64)
            .param_pid(SH as i64)
            .param_str("")
            .param_u64(1024)
            .param_u64(0)
            .param_u64(0)
            .param_u32(1200)
            .param_u32(400)
            .param_u32(0)
            .param_str("cat")
            .param_str_list(&cgroups())
            .param_str_list(&["PATH=/usr/bin:/bin", "HOME=/root"])
            .param_i32(0)
            .param_pid(1)
            .param_i32(-1)
            .param_u32(0)
            .build(),
        EventBuilder::new(at(), CAT, 306)
            .param_fd(flags::AT_FDCWD)
            .param_str("/etc/passwd")
            .param_u32(open::RDONLY | open::CLOEXEC)
            .param_u32(0)
            .build(),
        EventBuilder::new(at(), CAT, 307)
            .param_fd(3)
            .param_fd(flags::AT_FDCWD)
            .param_str("/etc/passwd")
            .param_u32(open::RDONLY | open::CLOEXEC)
            .param_u32(0)
            .param_u32(0x803)
            .build(),
        EventBuilder::new(at(), CAT, 6)
            .param_fd(3)
            .param_u32(4096)
            .build(),
        EventBuilder::new(at(), CAT, 7)
            .param_errno(DATA.len() as i64)
            .param_bytes(DATA)
            .build(),
        EventBuilder::new(at(), CAT, 8)
            .param_fd(1)
            .param_u32(DATA.len() as u32)
            .build(),
        EventBuilder::new(at(), CAT, 9)
            .param_errno(DATA.len() as i64)
            .param_bytes(DATA)
            .build(),
        EventBuilder::new(at(), CAT, 18)
            .param_u32(u32::from(af::INET))
            .param_u32(1)
            .param_u32(0)
            .build(),
        EventBuilder::new(at(), CAT, 19).param_fd(4).build(),
        EventBuilder::new(at(), CAT, 22)
            .param_fd(4)
            .param_sockaddr(SockAddr::V4(remote))
            .build(),
        EventBuilder::new(at(), CAT, 23)
            .param_errno(0)
            .param_socktuple(Some(SockTuple::V4 {
                src: local,
                dst: remote,
            }))
            .build(),
        EventBuilder::new(at(), CAT, 4).param_fd(3).build(),
        EventBuilder::new(at(), CAT, 5).param_errno(0).build(),
        EventBuilder::new(at(), CAT, 186)
            .param_errno(0)
            .param_errno(0)
            .param_u8(0)
            .param_u8(0)
            .build(),
    ];
    built
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.unwrap_or_else(|e| panic!("synthetic event {i}: {e}")))
        .collect()
}

/// Writes the whole capture; with `flush_every`, the gzip stream gets one member per batch.
pub fn write(compression: Compression, flush_every: Option<usize>) -> Vec<u8> {
    let mut w = ScapWriter::new(Vec::new(), compression);
    w.write_section(&section()).expect("section");
    w.write_container(T0, &container()).expect("container");
    for (i, ev) in events().iter().enumerate() {
        w.write_event(ev).expect("event");
        if flush_every.is_some_and(|n| (i + 1) % n == 0) {
            w.flush().expect("flush");
        }
    }
    w.finish().expect("finish")
}
