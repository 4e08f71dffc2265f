//! Damaged and foreign input gives typed errors naming a byte offset: never a panic, never
//! an absurd allocation. A truncated capture yields every complete event before the damage.

mod common;

use std::io::Write;

use blackbox_scap::{block, oracle, Compression, EventRecord, ReadError, ScapReader};

/// Reads everything: the events before the first error, and that error.
fn read(bytes: &[u8]) -> (Vec<EventRecord>, Option<ReadError>) {
    let mut r = match ScapReader::new(bytes) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut events = Vec::new();
    for ev in r.by_ref() {
        match ev {
            Ok(ev) => events.push(ev),
            Err(e) => return (events, Some(e)),
        }
    }
    (events, None)
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).expect("gzip");
    e.finish().expect("gzip")
}

/// Offsets where a block starts, in a plain capture.
fn block_starts(b: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    let mut o = 0usize;
    while o + 8 <= b.len() {
        let len = u32::from_le_bytes([b[o + 4], b[o + 5], b[o + 6], b[o + 7]]) as usize;
        o += len;
        v.push(o);
    }
    v
}

/// Every truncation yields a prefix of the full event list; cuts inside a block end with an
/// error whose offset lies within the data present.
fn check_truncations(name: &str, full: &[u8], cuts: impl Iterator<Item = usize>) -> usize {
    let (all, err) = read(full);
    assert!(
        err.is_none(),
        "{name}: the whole file reads cleanly: {err:?}"
    );
    let starts = block_starts(full);
    let block_end: std::collections::HashMap<usize, usize> =
        starts.windows(2).map(|w| (w[0], w[1])).collect();
    let mut checked = 0;
    for cut in cuts {
        let (events, err) = read(&full[..cut]);
        assert!(events.len() <= all.len());
        assert_eq!(
            events[..],
            all[..events.len()],
            "{name} cut at {cut}: not a prefix"
        );
        if starts.contains(&cut) && cut >= 28 {
            // A cut between blocks is a shorter valid capture (or has no events yet).
            assert!(
                err.is_none() || events.is_empty(),
                "{name} cut at block boundary {cut}: {err:?}"
            );
        } else {
            let e = err.unwrap_or_else(|| panic!("{name} cut at {cut}: no error"));
            if let Some(off) = e.offset() {
                assert!(
                    off <= cut as u64,
                    "{name} cut at {cut}: error offset {off}: {e}"
                );
                assert!(e.to_string().contains(&format!("byte {off}")), "{e}");
            }
            // All complete events before the damage were delivered.
            let complete = all.iter().filter(|r| {
                block_end
                    .get(&(r.offset as usize))
                    .is_some_and(|&end| end <= cut)
            });
            assert_eq!(events.len(), complete.count(), "{name} cut at {cut}: {e}");
        }
        checked += 1;
    }
    checked
}

#[test]
fn truncated_synthetic_capture_at_every_offset() {
    let full = common::synthetic::write(Compression::None, None);
    let n = check_truncations("synthetic", &full, 0..full.len());
    assert_eq!(n, full.len());
}

#[test]
fn truncated_corpus_sample_at_many_offsets() {
    let full = std::fs::read(common::sample("psp_run_as_user_0_container.raw.scap")).expect("read");
    let starts = block_starts(&full);
    // Both sides of early block boundaries, and a spread of cuts through the whole file.
    let around: Vec<usize> = starts
        .iter()
        .take(120)
        .flat_map(|&s| [s.saturating_sub(1), s, s + 1, s + 9])
        .filter(|&c| c < full.len())
        .collect();
    let spread = (1..60).map(|i| i * full.len() / 60);
    let n = check_truncations("corpus raw", &full, around.into_iter().chain(spread));
    assert!(n > 400);
}

#[test]
fn truncated_gzip_yields_a_prefix_then_an_error() {
    for (name, gz) in [
        (
            "corpus gzip",
            std::fs::read(common::sample("falco_psp_run_as_user_0_container.scap")).expect("read"),
        ),
        (
            "synthetic multi-member gzip",
            common::synthetic::write(Compression::Gzip(6), Some(2)),
        ),
    ] {
        let (all, err) = read(&gz);
        assert!(err.is_none(), "{name}: {err:?}");
        let step = (gz.len() / 200).max(1);
        for cut in (0..gz.len()).step_by(step) {
            let (events, err) = read(&gz[..cut]);
            assert_eq!(events[..], all[..events.len()], "{name} cut at {cut}");
            // A multi-member file cut exactly between members is a complete shorter file.
            if err.is_none() {
                assert!(
                    name.contains("multi-member"),
                    "{name} cut at {cut}: no error"
                );
            }
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    let full = common::synthetic::write(Compression::None, None);
    let starts = block_starts(&full);
    for i in 0..full.len() {
        // Damage to a block's frame (type, length, trailer) is always detected.
        // (A flipped type byte can legitimately turn a metadata block into a skipped unknown one.)
        let in_frame = starts.iter().any(|&s| (s + 4..s + 8).contains(&i))
            || starts.windows(2).any(|w| (w[1] - 4..w[1]).contains(&i));
        for pattern in [0xff, 0x80, 0x01] {
            let mut b = full.clone();
            b[i] ^= pattern;
            let (_, err) = read(&b);
            if in_frame {
                assert!(
                    err.is_some(),
                    "flip {pattern:#x} at {i} in a block frame went unnoticed"
                );
            }
        }
    }
    let corpus =
        std::fs::read(common::sample("psp_run_as_user_0_container.raw.scap")).expect("read");
    for i in (0..corpus.len()).step_by(4999) {
        let mut b = corpus.clone();
        b[i] ^= 0xff;
        let _ = read(&b);
    }
}

#[test]
fn foreign_and_empty_input_is_rejected() {
    let (_, e) = read(b"");
    assert!(matches!(e, Some(ReadError::Empty)), "{e:?}");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let (_, e) = read(png);
    assert!(
        matches!(e, Some(ReadError::NotScap { offset: 0, .. })),
        "{e:?}"
    );
    let elf = std::fs::read(oracle::SYSDIG).expect("sysdig binary as a foreign file");
    let (_, e) = read(&elf[..4096]);
    let e = e.expect("error");
    assert!(matches!(e, ReadError::NotScap { .. }), "{e}");
    assert!(e.to_string().contains("not a section header"), "{e}");
    let (_, e) = read(&gzip(b"hello, not a capture"));
    assert!(matches!(e, Some(ReadError::NotScap { .. })), "{e:?}");
    let (_, e) = read(b"\x0a\x0d");
    assert!(matches!(e, Some(ReadError::Truncated { .. })), "{e:?}");
    // A gzip header followed by garbage is an I/O (decompression) error at offset 0.
    let (_, e) = read(b"\x1f\x8b\x08\x00garbage-garbage-garbage");
    assert!(matches!(e, Some(ReadError::Io { offset: 0, .. })), "{e:?}");
}

fn shb(major: u16, magic: u32) -> Vec<u8> {
    let mut b = block::section_header().to_vec();
    b[8..12].copy_from_slice(&magic.to_le_bytes());
    b[12..14].copy_from_slice(&major.to_le_bytes());
    b
}

#[test]
fn header_problems_are_named() {
    let (_, e) = read(&shb(1, 0x4D3C_2B1A));
    let e = e.expect("error");
    assert!(e.to_string().contains("big-endian"), "{e}");
    let (_, e) = read(&shb(2, block::BYTE_ORDER_MAGIC));
    assert!(
        matches!(e, Some(ReadError::UnsupportedVersion { major: 2, .. })),
        "{e:?}"
    );
    // A section with no events is not an error for this reader: it yields nothing.
    let (events, e) = read(&shb(1, block::BYTE_ORDER_MAGIC));
    assert!(events.is_empty() && e.is_none());
}

#[test]
fn absurd_lengths_are_refused_without_allocating() {
    let mut b = shb(1, block::BYTE_ORDER_MAGIC);
    b.extend_from_slice(&block::PL_V9.to_le_bytes());
    b.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    b.extend_from_slice(&[0; 64]);
    let (_, e) = read(&b);
    assert!(
        matches!(e, Some(ReadError::BlockTooLarge { offset: 28, .. })),
        "{e:?}"
    );
    // A non-LARGE event block over sysdig's 64 KiB buffer.
    let mut b = shb(1, block::BYTE_ORDER_MAGIC);
    b.extend_from_slice(&block::EV_V2.to_le_bytes());
    b.extend_from_slice(&70_000u32.to_le_bytes());
    let (_, e) = read(&b);
    assert!(matches!(e, Some(ReadError::BlockTooLarge { .. })), "{e:?}");
    // A LARGE block claiming 3 GiB with a few bytes present: truncated, not allocated.
    let mut b = shb(1, block::BYTE_ORDER_MAGIC);
    b.extend_from_slice(&block::EV_V2_LARGE.to_le_bytes());
    b.extend_from_slice(&0xC000_0000u32.to_le_bytes());
    b.extend_from_slice(&[0; 100]);
    let r = ScapReader::with_options(
        &b[..],
        blackbox_scap::ReaderOptions {
            max_block_len: u64::from(u32::MAX),
        },
    );
    let e = match r {
        Ok(mut r) => r.next().and_then(Result::err),
        Err(e) => Some(e),
    };
    assert!(
        matches!(e, Some(ReadError::Truncated { offset: 28, .. })),
        "{e:?}"
    );
    // An event whose nparams would need a length array larger than the block.
    let ev = blackbox_scap::EventBuilder::new(1, 2, 5)
        .param_errno(0)
        .build()
        .expect("close exit");
    let mut body = vec![0u8, 0];
    let mut enc = ev.encode().expect("encode");
    enc[22..26].copy_from_slice(&u32::MAX.to_le_bytes());
    body.extend_from_slice(&enc);
    let mut b = shb(1, block::BYTE_ORDER_MAGIC);
    block::frame(block::EV_V2, &body, &mut b).expect("frame");
    let (_, e) = read(&b);
    let e = e.expect("error");
    assert!(matches!(e, ReadError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("parameters"), "{e}");
}

#[test]
fn metadata_after_events_is_an_error() {
    let mut w = blackbox_scap::ScapWriter::new(Vec::new(), Compression::None);
    w.write_section(&common::synthetic::section())
        .expect("section");
    for ev in common::synthetic::events().iter().take(2) {
        w.write_event(ev).expect("event");
    }
    let mut b = w.finish().expect("finish");
    let mi = blackbox_scap::MachineInfo::default();
    let mut w2 = blackbox_scap::ScapWriter::new(Vec::new(), Compression::None);
    w2.write_section(&blackbox_scap::SectionMetadata {
        machine: Some(mi),
        ..Default::default()
    })
    .expect("section");
    let extra = w2.finish().expect("finish");
    let at = b.len();
    b.extend_from_slice(&extra[28..]); // the MI block without its SHB
    let (events, e) = read(&b);
    assert_eq!(events.len(), 2);
    let e = e.expect("error");
    assert_eq!(e.offset(), Some(at as u64), "{e}");
    assert!(
        e.to_string().contains("without a new section header"),
        "{e}"
    );
}
