//! Builds a large capture for benchmarks from small ones: the event blocks of the inputs,
//! copied byte for byte in order and repeated until at least N events are written, with
//! timestamps shifted so that they keep increasing (each input starts where the previous one
//! ended; each round starts where the previous round ended). The metadata (process list, fds,
//! users, interfaces) is the union of the inputs' (first occurrence of a thread wins), so every
//! input's processes are known from the start.
//!
//! `--skip-type T` (repeatable) leaves out events of type id T, e.g. 234 (procinfo: sysdig's
//! kernel module writes one per CPU tick; most of the corpus samples are made of them).
//!
//! Usage: cargo run --release -p blackbox-scap --example scap_repeat -- [--skip-type T]... OUT N IN.scap...

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::process::ExitCode;

use blackbox_scap::block::{self, BlockKind};
use blackbox_scap::{Compression, ScapReader, ScapWriter, SectionMetadata};

/// One event block: its bytes, where its timestamp is, and the timestamp.
struct RawEvent {
    bytes: Vec<u8>,
    ts_at: usize,
    ts: u64,
    container: bool,
    etype: u16,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scap_repeat: {e}");
            ExitCode::from(2)
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The event blocks of a capture file (plain or gzip).
fn event_blocks(path: &str) -> Result<Vec<RawEvent>, Box<dyn std::error::Error>> {
    let mut raw = Vec::new();
    File::open(path)?.read_to_end(&mut raw)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut d = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut d)?;
        raw = d;
    }
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 12 <= raw.len() {
        let (Some(t), Some(len)) = (u32_at(&raw, at), u32_at(&raw, at + 4)) else {
            break;
        };
        let len = len as usize;
        if len < 12 || at + len > raw.len() {
            return Err(format!("{path}: bad block at offset {at}").into());
        }
        if let BlockKind::Event { flags, .. } = block::kind(t) {
            let ts_at = 8 + 2 + if flags { 4 } else { 0 };
            let bytes = raw[at..at + len].to_vec();
            let ts = u64_at(&bytes, ts_at).ok_or("short event block")?;
            let etype = bytes
                .get(ts_at + 20..ts_at + 22)
                .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
            let container = etype == blackbox_scap::CONTAINER_JSON_2_E
                || etype == blackbox_scap::CONTAINER_JSON_E;
            out.push(RawEvent {
                bytes,
                ts_at,
                ts,
                container,
                etype,
            });
        }
        at += len;
    }
    Ok(out)
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut skip: HashSet<u16> = HashSet::new();
    while args.first().is_some_and(|a| a == "--skip-type") && args.len() > 1 {
        skip.insert(args[1].parse()?);
        args.drain(..2);
    }
    if args.len() < 3 {
        return Err("usage: scap_repeat [--skip-type T]... OUT N IN.scap...".into());
    }
    let out = &args[0];
    let target: u64 = args[1].parse()?;
    let mut meta = SectionMetadata::default();
    let mut tids = HashSet::new();
    let mut fd_tids = HashSet::new();
    let mut users = HashSet::new();
    let mut events: Vec<RawEvent> = Vec::new();
    let base = 1_700_000_000_000_000_000u64;
    let mut cursor = base;
    for path in &args[2..] {
        let r = ScapReader::open(path)?;
        let m = r.metadata();
        if meta.machine.is_none() {
            meta.machine.clone_from(&m.machine);
        }
        if meta.interfaces.is_empty() {
            meta.interfaces.clone_from(&m.interfaces);
        }
        for u in &m.users {
            if users.insert(u.uid) {
                meta.users.push(u.clone());
            }
        }
        if meta.groups.is_empty() {
            meta.groups.clone_from(&m.groups);
        }
        for p in &m.processes {
            if tids.insert(p.tid) {
                meta.processes.push(p.clone());
            }
        }
        for t in &m.fds {
            if tids.contains(&t.tid) && fd_tids.insert(t.tid) {
                meta.fds.push(t.clone());
            }
        }
        let evs = event_blocks(path)?;
        // Inputs follow each other in time: shift each to start where the previous ended.
        let first = evs.iter().map(|e| e.ts).min().unwrap_or(0);
        let last = evs.iter().map(|e| e.ts).max().unwrap_or(0);
        for mut e in evs {
            if skip.contains(&e.etype) {
                continue;
            }
            e.ts = e.ts - first + cursor;
            events.push(e);
        }
        cursor += last - first + 1_000_000;
    }
    if events.is_empty() {
        return Err("no events in the inputs".into());
    }
    let span = cursor - base;
    let f = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut w = ScapWriter::new(f, Compression::None);
    w.write_section(&meta)?;
    let mut f = w.finish()?;
    let mut n = 0u64;
    let mut round = 0u64;
    let mut buf = Vec::new();
    while n < target {
        for e in &events {
            // Container events describe containers: once is enough.
            if round > 0 && e.container {
                continue;
            }
            buf.clear();
            buf.extend_from_slice(&e.bytes);
            let ts = e.ts + round * span;
            buf[e.ts_at..e.ts_at + 8].copy_from_slice(&ts.to_le_bytes());
            f.write_all(&buf)?;
            n += 1;
        }
        round += 1;
    }
    f.flush()?;
    eprintln!("scap_repeat: {n} events in {round} rounds -> {out}");
    Ok(())
}
