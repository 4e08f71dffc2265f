use super::*;
use crate::event_table::{event_info, PrintFormat};

fn info(ty: ParamType) -> ParamInfo {
    ParamInfo {
        name: "p",
        ty,
        fmt: PrintFormat::Dec,
        aux: ParamAux::None,
    }
}

fn enc(ty: ParamType, v: &ParamValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&info(ty), v, &mut out).expect("encodes");
    out
}

#[test]
fn spec_encodings() {
    // Strings carry their NUL; the empty string is one NUL byte.
    assert_eq!(
        enc(ParamType::FsPath, &ParamValue::Str(b"/a".to_vec())),
        b"/a\0"
    );
    assert_eq!(enc(ParamType::CharBuf, &ParamValue::Str(Vec::new())), b"\0");
    // IPv4 sockaddr: family, address in network order, port little-endian: 7 bytes.
    let a = SockAddr::V4(SocketAddrV4::new(Ipv4Addr::new(1, 2, 3, 4), 0x1234));
    assert_eq!(
        enc(ParamType::SockAddr, &ParamValue::SockAddr(a)),
        [2, 1, 2, 3, 4, 0x34, 0x12]
    );
    // IPv4 tuple: 13 bytes, IPv6 tuple: 37 bytes.
    let t4 = SockTuple::V4 {
        src: SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 43210),
        dst: SocketAddrV4::new(Ipv4Addr::new(93, 184, 216, 34), 80),
    };
    let b = enc(ParamType::SockTuple, &ParamValue::SockTuple(t4));
    assert_eq!(b.len(), 13);
    assert_eq!(&b[..5], &[2, 10, 1, 2, 3]);
    let t6 = SockTuple::V6 {
        src: SocketAddrV6::new(Ipv6Addr::LOCALHOST, 1, 0, 0),
        dst: SocketAddrV6::new(Ipv6Addr::LOCALHOST, 2, 0, 0),
    };
    assert_eq!(
        enc(ParamType::SockTuple, &ParamValue::SockTuple(t6)).len(),
        37
    );
    // Negative errno as i64.
    assert_eq!(
        enc(ParamType::Errno, &ParamValue::Errno(-1)),
        (-1i64).to_le_bytes()
    );
    // DYN: index byte then the selected type (ptrace addr: idx 0 = u64).
    let ptrace_x = event_info(169).expect("ptrace exit");
    let mut out = Vec::new();
    encode(
        &ptrace_x.params[1],
        &ParamValue::Dyn {
            index: 0,
            value: Box::new(ParamValue::Uint(0xdead)),
        },
        &mut out,
    )
    .expect("dyn");
    assert_eq!(out.len(), 9);
    assert_eq!(out[0], 0);
}

#[test]
fn zero_length_values_decode_as_empty_except_bytebuf() {
    assert_eq!(
        decode(ParamType::SockTuple, &[], &[]),
        Ok(ParamValue::Empty)
    );
    assert_eq!(decode(ParamType::Fd, &[], &[]), Ok(ParamValue::Empty));
    assert_eq!(
        decode(ParamType::ByteBuf, &[], &[]),
        Ok(ParamValue::Bytes(Vec::new()))
    );
}

#[test]
fn malformed_values_are_errors() {
    assert!(decode(ParamType::Fd, &[], &[1, 2, 3]).is_err());
    assert!(decode(ParamType::SockTuple, &[], &[2, 1, 2]).is_err());
    assert!(decode(ParamType::SockAddr, &[], &[10, 0]).is_err());
    assert!(decode(ParamType::FdList, &[], &[5]).is_err());
    assert!(decode(ParamType::FdList, &[], &[2, 0, 1]).is_err());
    assert!(decode(
        ParamType::Dyn,
        &[ParamType::Fd],
        &[3, 0, 0, 0, 0, 0, 0, 0, 0]
    )
    .is_err());
}

#[test]
fn out_of_range_and_mismatched_values_do_not_encode() {
    let mut out = Vec::new();
    assert_eq!(
        encode(&info(ParamType::Uint8), &ParamValue::Uint(256), &mut out),
        Err(EncodeError::OutOfRange(256))
    );
    assert_eq!(
        encode(&info(ParamType::Int8), &ParamValue::Int(-129), &mut out),
        Err(EncodeError::OutOfRange(-129))
    );
    assert!(encode(&info(ParamType::Uint32), &ParamValue::Int(1), &mut out).is_err());
    assert!(encode(&info(ParamType::Fd), &ParamValue::Pid(1), &mut out).is_err());
    assert!(encode(
        &info(ParamType::ByteBuf),
        &ParamValue::Str(vec![]),
        &mut out
    )
    .is_err());
    assert!(out.is_empty());
}
