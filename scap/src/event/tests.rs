use super::*;
use crate::event_table::{ParamInfo, EVENT_TABLE};
use crate::params::{SockAddr, SockTuple};
use crate::{Compression, ScapReader, ScapWriter, SectionMetadata};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

/// A representative value for a parameter, varied by `seed` so values differ between params.
fn sample(p: &ParamInfo, seed: u64) -> ParamValue {
    use ParamType as T;
    match p.ty {
        T::Int8 => ParamValue::Int(-(seed as i64 % 100)),
        T::Int16 => ParamValue::Int(-1000 - seed as i64),
        T::Int32 => ParamValue::Int(-100_000 - seed as i64),
        T::Int64 => ParamValue::Int(-(1 << 40) - seed as i64),
        T::Uint8 | T::Flags8 | T::SigType | T::L4Proto | T::SockFamily => {
            ParamValue::Uint(200 + seed % 50)
        }
        T::Uint16 | T::Flags16 | T::Port | T::SyscallId => ParamValue::Uint(60_000 + seed),
        T::Uint32 | T::Flags32 | T::Uid | T::Gid | T::Mode | T::Bool | T::SigSet => {
            ParamValue::Uint(4_000_000_000 + seed)
        }
        T::Uint64 | T::RelTime | T::AbsTime => ParamValue::Uint(u64::MAX - seed),
        T::Errno => ParamValue::Errno(-13 - seed as i64),
        T::Fd => ParamValue::Fd(3 + seed as i64),
        T::Pid => ParamValue::Pid(5000 + seed as i64),
        T::Double => ParamValue::Double(1.5 + seed as f64),
        T::CharBuf | T::FsPath | T::FsRelPath => {
            ParamValue::Str(format!("/tmp/ünïcode-{seed}").into_bytes())
        }
        T::ByteBuf | T::None | T::CharBufArray | T::CharBufPairArray => {
            ParamValue::Bytes(vec![0, 1, 2, 0xff, seed as u8])
        }
        T::Ipv4Net | T::Ipv6Net | T::IpAddr | T::IpNet => ParamValue::Bytes(vec![seed as u8; 8]),
        T::Ipv4Addr => ParamValue::Ipv4(Ipv4Addr::new(10, 0, 0, seed as u8)),
        T::Ipv6Addr => ParamValue::Ipv6(Ipv6Addr::LOCALHOST),
        T::SockAddr => match seed % 3 {
            0 => ParamValue::SockAddr(SockAddr::V4(SocketAddrV4::new(
                Ipv4Addr::new(93, 184, 216, 34),
                443,
            ))),
            1 => ParamValue::SockAddr(SockAddr::V6(SocketAddrV6::new(
                Ipv6Addr::LOCALHOST,
                8080,
                0,
                0,
            ))),
            _ => ParamValue::SockAddr(SockAddr::Unix(b"/run/containerd.sock".to_vec())),
        },
        T::SockTuple => match seed % 3 {
            0 => ParamValue::SockTuple(SockTuple::V4 {
                src: SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 43210),
                dst: SocketAddrV4::new(Ipv4Addr::new(93, 184, 216, 34), 80),
            }),
            1 => ParamValue::SockTuple(SockTuple::V6 {
                src: SocketAddrV6::new(Ipv6Addr::LOCALHOST, 1, 0, 0),
                dst: SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 2, 0, 0),
            }),
            _ => ParamValue::SockTuple(SockTuple::Unix {
                src: 0xffff_8880_1234_5678,
                dst: 0xffff_8880_8765_4321,
                path: b"/run/x.sock".to_vec(),
            }),
        },
        T::FdList => ParamValue::FdList(vec![(4, 1), (7, 0x204)]),
        T::Dyn => {
            let crate::event_table::ParamAux::Dyn(types) = p.aux else {
                panic!("DYN param {} without a table", p.name);
            };
            let index = (seed as usize % types.len()) as u8;
            let inner = ParamInfo {
                ty: types[usize::from(index)],
                aux: crate::event_table::ParamAux::None,
                ..*p
            };
            ParamValue::Dyn {
                index,
                value: Box::new(sample(&inner, seed)),
            }
        }
    }
}

fn sample_event(info: &EventInfo) -> Event {
    let mut b = EventBuilder::new(1_000 + u64::from(info.code), 4242, info.code).cpu(1);
    for (i, p) in info.params.iter().enumerate() {
        b = b.param(sample(p, u64::from(info.code) + i as u64));
    }
    b.build()
        .unwrap_or_else(|e| panic!("{} ({}): {e}", info.name, info.code))
}

#[test]
fn every_event_type_round_trips_through_writer_and_reader() {
    let events: Vec<Event> = EVENT_TABLE.iter().map(sample_event).collect();
    for compression in [Compression::None, Compression::Gzip(1)] {
        let mut w = ScapWriter::new(Vec::new(), compression);
        w.write_section(&SectionMetadata::default())
            .expect("section");
        for ev in &events {
            w.write_event(ev).expect("write");
        }
        let bytes = w.finish().expect("finish");
        let back: Vec<Event> = ScapReader::new(&bytes[..])
            .expect("open")
            .map(|r| r.expect("event").event)
            .collect();
        assert_eq!(back.len(), events.len());
        for (a, b) in events.iter().zip(&back) {
            assert_eq!(a, b, "event type {}", a.event_type);
        }
    }
}

#[test]
fn every_event_type_re_encodes_to_the_same_bytes() {
    for info in &EVENT_TABLE {
        let ev = sample_event(info);
        let bytes = ev.encode().expect("encode");
        assert_eq!(
            u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]) as usize,
            bytes.len(),
            "len field of {}",
            info.code
        );
        let back = decode(&bytes, 0, false, 1, None)
            .expect("decode")
            .expect("known type");
        assert_eq!(back.encode().expect("re-encode"), bytes, "{}", info.code);
    }
}

#[test]
fn builder_rejects_wrong_count_type_and_range() {
    // read exit: res:ERRNO, data:BYTEBUF
    let e = EventBuilder::new(0, 1, 7).param_errno(3).build();
    assert!(matches!(
        e,
        Err(BuildError::MissingParams {
            expected: 2,
            given: 1,
            ..
        })
    ));
    let e = EventBuilder::new(0, 1, 7)
        .param_errno(3)
        .param_bytes(b"x")
        .param_u8(1)
        .build();
    assert!(matches!(e, Err(BuildError::TooManyParams { .. })));
    let e = EventBuilder::new(0, 1, 7).param_str("x").build();
    assert!(matches!(
        e,
        Err(BuildError::TypeMismatch {
            index: 0,
            expected: ParamType::Errno,
            ..
        })
    ));
    // read enter: fd:FD, size:UINT32
    let e = EventBuilder::new(0, 1, 6)
        .param_fd(1)
        .param_u64(1 << 40)
        .build();
    assert!(matches!(e, Err(BuildError::OutOfRange { .. })));
    let e = EventBuilder::new(0, 1, 6).param_pid(1).build();
    assert!(matches!(e, Err(BuildError::TypeMismatch { .. })));
    // open enter: name:FSPATH
    let e = EventBuilder::new(0, 1, 2).param_str("a\0b").build();
    assert!(matches!(e, Err(BuildError::InteriorNul { .. })));
    assert_eq!(
        EventBuilder::new(0, 1, 400).build(),
        Err(BuildError::UnknownEventType(400))
    );
    // The first error is the one reported.
    let e = EventBuilder::new(0, 1, 6)
        .param_str("x")
        .param_str("y")
        .build();
    assert!(matches!(e, Err(BuildError::TypeMismatch { index: 0, .. })));
}

#[test]
fn oversized_buffers_are_rejected_not_truncated() {
    let e = EventBuilder::new(0, 1, 7)
        .param_errno(0)
        .param_bytes(&vec![0u8; 70_000])
        .build();
    assert!(matches!(e, Err(BuildError::TooLong { max: 65535, .. })));
}

#[test]
fn container_event_uses_u32_lengths_and_large_block() {
    let json = "x".repeat(100_000);
    let ev = EventBuilder::new(0, u64::MAX, CONTAINER_JSON_2_E)
        .param_str(&json)
        .build()
        .expect("large payload allowed");
    let bytes = ev.encode().expect("encode");
    // header 26, one u32 length, then the value with its NUL
    assert_eq!(bytes.len(), 26 + 4 + json.len() + 1);
    assert_eq!(&bytes[26..30], &(json.len() as u32 + 1).to_le_bytes());
    let mut w = ScapWriter::new(Vec::new(), Compression::None);
    w.write_section(&SectionMetadata::default())
        .expect("section");
    w.write_event(&ev).expect("write");
    let out = w.finish().expect("finish");
    assert_eq!(&out[28..32], &crate::block::EV_V2_LARGE.to_le_bytes());
}

#[test]
fn big_read_event_goes_to_a_large_block_with_u16_lengths() {
    let ev = EventBuilder::new(0, 1, 7)
        .param_errno(65535)
        .param_bytes(&[7u8; 65535])
        .build()
        .expect("fits u16");
    let mut w = ScapWriter::new(Vec::new(), Compression::None);
    w.write_section(&SectionMetadata::default())
        .expect("section");
    w.write_event(&ev).expect("write");
    let out = w.finish().expect("finish");
    assert_eq!(&out[28..32], &crate::block::EV_V2_LARGE.to_le_bytes());
    let back: Vec<_> = ScapReader::new(&out[..])
        .expect("open")
        .map(|r| r.expect("event").event)
        .collect();
    assert_eq!(back, vec![ev]);
}

#[test]
fn evf_flags_round_trip() {
    let ev = EventBuilder::new(5, 6, 222)
        .block_flags(crate::block::EVF_STATE_ONLY)
        .build()
        .expect("clone enter has no params");
    let mut w = ScapWriter::new(Vec::new(), Compression::None);
    w.write_section(&SectionMetadata::default())
        .expect("section");
    w.write_event(&ev).expect("write");
    let out = w.finish().expect("finish");
    assert_eq!(&out[28..32], &crate::block::EVF_V2.to_le_bytes());
    let back = ScapReader::new(&out[..])
        .expect("open")
        .next()
        .expect("one")
        .expect("ok");
    assert_eq!(back.event.flags, Some(crate::block::EVF_STATE_ONLY));
}

#[test]
fn writer_refuses_events_before_a_section() {
    let mut w = ScapWriter::new(Vec::new(), Compression::None);
    let ev = EventBuilder::new(0, 1, 222).build().expect("ok");
    assert!(matches!(
        w.write_event(&ev),
        Err(crate::WriteError::NoSection)
    ));
}

#[test]
fn v1_events_infer_their_parameter_count() {
    // read exit written v1-style: no nparams; 2 lengths, values.
    let mut b = Vec::new();
    b.extend_from_slice(&10u64.to_le_bytes());
    b.extend_from_slice(&20u64.to_le_bytes());
    let len = 22 + 4 + 8 + 3;
    b.extend_from_slice(&(len as u32).to_le_bytes());
    b.extend_from_slice(&7u16.to_le_bytes());
    b.extend_from_slice(&8u16.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes());
    b.extend_from_slice(&3i64.to_le_bytes());
    b.extend_from_slice(b"abc");
    let ev = decode(&b, 0, true, 0, None)
        .expect("decode")
        .expect("known");
    assert_eq!(
        ev.params,
        vec![ParamValue::Errno(3), ParamValue::Bytes(b"abc".to_vec())]
    );
}
