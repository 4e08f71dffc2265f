use super::*;

#[test]
fn fd_lists_round_trip_every_kind() {
    let t = ThreadFds {
        tid: 7,
        fds: vec![
            FdInfo {
                fd: 0,
                ino: 1,
                kind: FdKind::Named {
                    fd_type: fd_type::FILE,
                    name: "/dev/null".into(),
                },
            },
            FdInfo {
                fd: 1,
                ino: 2,
                kind: FdKind::FileV2 {
                    open_flags: 3,
                    name: "/dev/pts/0".into(),
                    dev: Some(24),
                },
            },
            FdInfo {
                fd: 3,
                ino: 3,
                kind: FdKind::Ipv4Socket {
                    sip: Ipv4Addr::new(10, 0, 0, 1),
                    dip: Ipv4Addr::new(10, 0, 0, 2),
                    sport: 1,
                    dport: 2,
                    l4proto: 2,
                },
            },
            FdInfo {
                fd: 4,
                ino: 4,
                kind: FdKind::Ipv4Server {
                    ip: Ipv4Addr::UNSPECIFIED,
                    port: 80,
                    l4proto: 2,
                },
            },
            FdInfo {
                fd: 5,
                ino: 5,
                kind: FdKind::Ipv6Socket {
                    sip: Ipv6Addr::LOCALHOST,
                    dip: Ipv6Addr::LOCALHOST,
                    sport: 3,
                    dport: 4,
                    l4proto: 3,
                },
            },
            FdInfo {
                fd: 6,
                ino: 6,
                kind: FdKind::Ipv6Server {
                    ip: Ipv6Addr::UNSPECIFIED,
                    port: 443,
                    l4proto: 2,
                },
            },
            FdInfo {
                fd: 7,
                ino: 7,
                kind: FdKind::Unix {
                    source: 0xffff_0001,
                    dest: 0xffff_0002,
                    path: "/run/containerd/containerd.sock".into(),
                },
            },
        ],
    };
    let b = t.encode();
    assert_eq!(ThreadFds::decode(&b, 0).expect("decode"), t);
}

#[test]
fn short_fd_list_is_an_error_with_offset() {
    let e = ThreadFds::decode(&[1, 2], 7).expect_err("no tid");
    assert_eq!(e.offset(), Some(7));
}
