use super::*;

#[test]
fn machine_info_is_180_bytes_and_round_trips() {
    let m = MachineInfo {
        num_cpus: 4,
        memory_bytes: 1 << 33,
        max_pid: 32768,
        hostname: "h".repeat(200),
    };
    let b = m.encode();
    assert_eq!(b.len(), MI_BODY);
    let back = MachineInfo::decode(&mut Cursor::new(&b, 0)).expect("decode");
    assert_eq!(back.hostname.len(), 127);
    assert_eq!(back.num_cpus, 4);
}

#[test]
fn process_entries_round_trip() {
    let p = ProcessInfo {
        tid: 1,
        pid: 1,
        comm: "systemd".into(),
        exe: "/sbin/init".into(),
        exepath: "/lib/systemd/systemd".into(),
        args: vec!["--system".into(), "x".into()],
        cwd: "/".into(),
        env: vec!["A=B".into()],
        cgroups: vec!["cpu=/".into(), "memory=/x".into()],
        loginuid: Some(1000),
        exe_writable: Some(true),
        vtid: 1,
        vpid: 1,
        ..ProcessInfo::default()
    };
    let mut body = Vec::new();
    p.encode(&mut body);
    p.encode(&mut body);
    // Entry length includes itself.
    assert_eq!(
        u32::from_le_bytes([body[0], body[1], body[2], body[3]]) as usize,
        body.len() / 2
    );
    let back = ProcessInfo::decode_all(&body, 0).expect("decode");
    assert_eq!(back, vec![p.clone(), p]);
}

#[test]
fn over_long_process_lists_keep_whole_items() {
    let p = ProcessInfo {
        args: (0..1000).map(|i| format!("argument-{i}")).collect(),
        ..ProcessInfo::default()
    };
    let mut body = Vec::new();
    p.encode(&mut body);
    let back = ProcessInfo::decode_all(&body, 0).expect("decode");
    let joined: usize = back[0].args.iter().map(|a| a.len() + 1).sum();
    assert!(joined <= 4096);
    assert!(back[0].args.iter().all(|a| a.starts_with("argument-")));
}

#[test]
fn users_and_groups_round_trip_with_255_byte_limit() {
    let users = vec![UserInfo {
        uid: 0,
        gid: 0,
        name: "root".into(),
        homedir: "h".repeat(300),
        shell: "/bin/sh".into(),
    }];
    let groups = vec![GroupInfo {
        gid: 0,
        name: "root".into(),
    }];
    let b = encode_users(&users, &groups);
    let (u, g) = decode_users(&b, 0).expect("decode");
    assert_eq!(u[0].homedir.len(), 255);
    assert_eq!(u[0].name, "root");
    assert_eq!(g, groups);
}

#[test]
fn interfaces_round_trip_and_exclude_their_length_field() {
    let ifs = vec![
        Interface::V4 {
            name: "lo".into(),
            addr: Ipv4Addr::LOCALHOST,
            netmask: Ipv4Addr::new(255, 0, 0, 0),
            bcast: Ipv4Addr::LOCALHOST,
            linkspeed: 0,
        },
        Interface::V6 {
            name: "eth0".into(),
            addr: Ipv6Addr::LOCALHOST,
            netmask: Ipv6Addr::UNSPECIFIED,
            bcast: Ipv6Addr::UNSPECIFIED,
            linkspeed: 1000,
        },
    ];
    let b = encode_interfaces(&ifs);
    // The spec's example: lo entry length 0x1a.
    assert_eq!(&b[..4], &0x1au32.to_le_bytes());
    assert_eq!(decode_interfaces(&b, 0).expect("decode"), ifs);
}

#[test]
fn bad_entry_lengths_are_errors_with_offsets() {
    let mut body = Vec::new();
    body.extend_from_slice(&1000u32.to_le_bytes());
    body.extend_from_slice(&[0; 8]);
    let e = ProcessInfo::decode_all(&body, 100).expect_err("too long");
    assert_eq!(e.offset(), Some(100));
    let e = decode_users(&body, 50).expect_err("too long");
    assert_eq!(e.offset(), Some(50));
}
