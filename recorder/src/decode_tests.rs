//! Decoding synthetic records (no kernel involved).

use super::*;
use crate::wire_pod::bytes_of;
use blackbox_recorder_ebpf::wire::{BB_F_DATA_SNAPPED, BB_NR_CONNECT, BB_NR_EXECVE, BB_NR_READ};

fn hdr(kind: u32, nr: u32) -> bb_hdr {
    bb_hdr {
        ts_boot_ns: 1_000,
        cgroup_id: 42,
        len: 0,
        kind: kind as u16,
        flags: 0,
        tid: 101,
        pid: 100,
        nr,
        cpu: 1,
    }
}

/// A syscall record with the given blobs appended, lengths filled in.
fn syscall(kind: u32, nr: u32, ret: i64, blobs: &[(u32, u8, &[u8])]) -> Vec<u8> {
    let mut rec = bb_syscall_rec {
        hdr: hdr(kind, nr),
        ret,
        args: [3, 0x1000, 4096, 0, 0, 0],
        ..Default::default()
    };
    for (slot, (k, arg, data)) in rec.blobs.iter_mut().zip(blobs) {
        *slot = bb_blob {
            len: data.len() as u16,
            kind: *k as u8,
            arg: *arg,
        };
    }
    let total = size_of::<bb_syscall_rec>() + blobs.iter().map(|b| b.2.len()).sum::<usize>();
    rec.hdr.len = total as u32;
    let mut bytes = bytes_of(&rec);
    for (_, _, data) in blobs {
        bytes.extend_from_slice(data);
    }
    bytes
}

#[test]
fn decodes_a_read_exit_with_data() {
    let mut bytes = syscall(
        BB_KIND_SYS_EXIT,
        BB_NR_READ,
        5,
        &[(BB_BLOB_DATA, 1, b"hello")],
    );
    bytes[22..24].copy_from_slice(&(BB_F_DATA_SNAPPED as u16).to_ne_bytes()); // hdr.flags
    let Record::Syscall(s) = decode(&bytes).expect("decodes") else {
        panic!("not a syscall")
    };
    assert_eq!(s.direction, Direction::Exit);
    assert_eq!((s.nr, s.ret, s.args[0]), (BB_NR_READ, 5, 3));
    assert_eq!(s.header.nr, Some(BB_NR_READ));
    assert_eq!(
        (s.header.pid, s.header.tid, s.header.cgroup_id, s.header.cpu),
        (100, 101, 42, 1)
    );
    assert_eq!(s.header.flags, BB_F_DATA_SNAPPED as u16);
    assert_eq!(s.data(), Some(&b"hello"[..]));
    assert_eq!(s.blobs().count(), 1);
    assert_eq!(s.blob(BlobKind::Data).and_then(|b| b.arg), Some(1));
}

#[test]
fn decodes_paths_strings_and_an_enter() {
    let bytes = syscall(
        BB_KIND_SYS_ENTER,
        BB_NR_EXECVE,
        0,
        &[(BB_BLOB_PATH, 0, b"/bin/sh\0")],
    );
    let Record::Syscall(s) = decode(&bytes).expect("decodes") else {
        panic!()
    };
    assert_eq!(s.direction, Direction::Enter);
    assert_eq!(s.path(), Some(&b"/bin/sh"[..]));
    assert_eq!(s.path_arg(0), Some(&b"/bin/sh"[..]));
    assert_eq!(s.path_arg(1), None);
}

#[test]
fn decodes_exec_blobs() {
    let info = bb_proc_info {
        ppid: 7,
        uid: 1,
        gid: 2,
        euid: 3,
        egid: 4,
        loginuid: u32::MAX,
        vtid: 1,
        vpid: 1,
        vpgid: 1,
        pidns_level: 1,
        fdlimit: 1024,
        clone_flags: 0,
        start_boot_ns: 9,
        comm: *b"sh\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        exe_flags: 2,
        _pad: 0,
    };
    let info_bytes = bytes_of(&info);
    let bytes = syscall(
        BB_KIND_SYS_EXIT,
        BB_NR_EXECVE,
        0,
        &[
            (BB_BLOB_PROC, 0xff, &info_bytes),
            (BB_BLOB_ARGV, 0xff, b"sh\0-c\0true\0"),
            (BB_BLOB_ENV, 0xff, b"A=1\0B=2"),
        ],
    );
    let Record::Syscall(s) = decode(&bytes).expect("decodes") else {
        panic!()
    };
    let pi = s.proc_info().expect("proc info");
    assert_eq!(
        (pi.ppid, pi.uid, pi.gid, pi.euid, pi.egid, pi.fdlimit),
        (7, 1, 2, 3, 4, 1024)
    );
    assert_eq!(pi.loginuid, None);
    assert_eq!(pi.comm, b"sh");
    assert_eq!(pi.exe_flags, 2);
    assert_eq!(s.argv(), vec![&b"sh"[..], b"-c", b"true"]);
    assert_eq!(s.env(), vec![&b"A=1"[..], b"B=2"]);
    assert_eq!(s.blob(BlobKind::Proc).and_then(|b| b.arg), None);
}

#[test]
fn decodes_sockaddrs_and_tuples() {
    let mut sin = vec![0u8; 16];
    sin[0..2].copy_from_slice(&2u16.to_ne_bytes());
    sin[2..4].copy_from_slice(&8080u16.to_be_bytes());
    sin[4..8].copy_from_slice(&[127, 0, 0, 1]);
    let mut tuple = bb_sock_tuple {
        family: 2,
        lport: 40000,
        rport: 8080,
        ..Default::default()
    };
    tuple.laddr[..4].copy_from_slice(&[127, 0, 0, 1]);
    tuple.raddr[..4].copy_from_slice(&[10, 0, 0, 2]);
    let tb = bytes_of(&tuple);
    let bytes = syscall(
        BB_KIND_SYS_EXIT,
        BB_NR_CONNECT,
        0,
        &[(BB_BLOB_SOCKADDR, 1, &sin), (BB_BLOB_TUPLE, 0xff, &tb)],
    );
    let Record::Syscall(s) = decode(&bytes).expect("decodes") else {
        panic!()
    };
    assert_eq!(
        s.sockaddr(),
        Some(SockAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080)))
    );
    assert_eq!(
        s.tuple(),
        Some(SockTuple::V4(
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000),
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 8080)
        ))
    );

    let mut sin6 = vec![0u8; 28];
    sin6[0..2].copy_from_slice(&10u16.to_ne_bytes());
    sin6[2..4].copy_from_slice(&443u16.to_be_bytes());
    sin6[23] = 1;
    assert_eq!(
        SockAddr::parse(&sin6),
        SockAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 443, 0, 0))
    );
    let mut sun = 1u16.to_ne_bytes().to_vec();
    sun.extend_from_slice(b"/run/x.sock\0\0\0");
    assert_eq!(
        SockAddr::parse(&sun),
        SockAddr::Unix(b"/run/x.sock".to_vec())
    );
    assert_eq!(SockAddr::parse(&[2]), SockAddr::Other { family: 0 });
    assert_eq!(SockAddr::parse(&[2, 0, 1]), SockAddr::Other { family: 2 });
}

#[test]
fn decodes_a_proc_exit() {
    let rec = bb_proc_exit_rec {
        hdr: bb_hdr {
            len: size_of::<bb_proc_exit_rec>() as u32,
            ..hdr(BB_KIND_PROC_EXIT, BB_NR_NONE)
        },
        exit_code: (3 << 8),
        group_exit_code: 0,
        group_dead: 1,
        _pad: 0,
    };
    let Record::ProcExit(p) = decode(&bytes_of(&rec)).expect("decodes") else {
        panic!()
    };
    assert_eq!(p.header.nr, None);
    assert_eq!(p.exit_status(), Some(3));
    assert_eq!(p.signal(), None);
    assert!(p.group_dead && !p.core_dumped());
    let killed = ProcExit {
        exit_code: 9 | 0x80,
        ..p
    };
    assert_eq!(
        (killed.exit_status(), killed.signal(), killed.core_dumped()),
        (None, Some(9), true)
    );
}

#[test]
fn rejects_malformed_records_without_panicking() {
    let good = syscall(
        BB_KIND_SYS_EXIT,
        BB_NR_READ,
        5,
        &[(BB_BLOB_DATA, 1, b"hello")],
    );
    // Every truncation is an error, never a panic.
    for cut in 0..good.len() {
        assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
    }
    assert!(matches!(
        decode(&[0u8; 10]),
        Err(DecodeError::Truncated { need: 40, have: 10 })
    ));

    // A blob claiming more than the record holds.
    let mut overrun = good.clone();
    let blob0 = 96; // offset of blobs[0] in bb_syscall_rec
    overrun[blob0..blob0 + 2].copy_from_slice(&500u16.to_ne_bytes());
    assert!(matches!(
        decode(&overrun),
        Err(DecodeError::BlobOverrun { .. })
    ));

    // Unknown kind, and a header length that disagrees.
    let mut unknown = good.clone();
    unknown[20..22].copy_from_slice(&99u16.to_ne_bytes()); // hdr.kind
    assert_eq!(decode(&unknown), Err(DecodeError::UnknownKind(99)));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(
        decode(&longer),
        Err(DecodeError::BadLength { .. })
    ));

    // An unknown blob kind is passed through, not rejected.
    let odd = syscall(BB_KIND_SYS_EXIT, 999, 0, &[(77, 0xff, b"x")]);
    let Record::Syscall(s) = decode(&odd).expect("decodes") else {
        panic!()
    };
    assert_eq!(
        s.blobs().next().map(|b| b.kind),
        Some(BlobKind::Unknown(77))
    );
}

#[test]
fn splits_nul_separated_areas() {
    assert_eq!(split_nul(b""), Vec::<&[u8]>::new());
    assert_eq!(split_nul(b"\0"), vec![&b""[..]]);
    assert_eq!(split_nul(b"a\0\0b\0"), vec![&b"a"[..], b"", b"b"]);
    assert_eq!(split_nul(b"a\0b"), vec![&b"a"[..], b"b"]);
    assert_eq!(trim_nul(b"ab\0cd"), b"ab");
}
