//! The streaming SCAP writer: sections (SHB + metadata blocks) followed by event blocks,
//! appended to any `Write` sink, optionally as gzip. With gzip, every [`ScapWriter::flush`]
//! closes the current gzip member, so what is on disk is always a complete, readable file
//! and later members can be appended (readers accept multi-member gzip).

use std::io::Write;

use flate2::write::GzEncoder;

use crate::block;
use crate::container::ContainerInfo;
use crate::error::{BuildError, WriteError};
use crate::event::{Event, EventBuilder, CONTAINER_JSON_2_E};
use crate::event_table::event_info;
use crate::fdlist::ThreadFds;
use crate::metadata::{
    encode_interfaces, encode_users, GroupInfo, Interface, MachineInfo, ProcessInfo, UserInfo,
};

/// Output compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Plain SCAP.
    #[default]
    None,
    /// gzip at this level (0–9); one gzip member per flush.
    Gzip(u32),
}

/// The metadata blocks of one section, written in sysdig's order: MI, IL, UL, PL, FDL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionMetadata {
    /// Machine info (MI). `None` omits the block.
    pub machine: Option<MachineInfo>,
    /// Interfaces (IL); empty omits the block.
    pub interfaces: Vec<Interface>,
    /// Users (UL, with `groups`); both empty omits the block.
    pub users: Vec<UserInfo>,
    /// Groups (UL).
    pub groups: Vec<GroupInfo>,
    /// Tasks alive at capture start (PL); empty omits the block.
    pub processes: Vec<ProcessInfo>,
    /// Open fds of those tasks, one FDL block per thread; each tid must be in `processes`.
    pub fds: Vec<ThreadFds>,
}

/// PL blocks are split so that each stays well under sysdig's buffer sizes.
const PL_BLOCK_TARGET: usize = 60 * 1024;

/// Uncompressed bytes gathered before they are handed to the compressor: one compressor call
/// per ~100-byte event cost more than the compression itself (flate2 with miniz_oxide has
/// fixed costs per call, zero-filling its output buffer among them). [`ScapWriter::flush`]
/// still ends the member with everything written before it.
const GZIP_CHUNK: usize = 64 * 1024;

enum Sink<W: Write> {
    Plain(W),
    Gzip(Box<GzipSink<W>>),
}

struct GzipSink<W: Write> {
    level: u32,
    // `None` between members (after a flush) and transiently while finishing one.
    encoder: Option<GzEncoder<W>>,
    idle: Option<W>,
    // Written, not yet compressed (at most GZIP_CHUNK, unless one write is larger).
    pending: Vec<u8>,
}

impl<W: Write> GzipSink<W> {
    /// Hands the pending bytes to the member being written, starting one if needed.
    fn compress_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.encoder.is_none() {
            let w = self
                .idle
                .take()
                .ok_or_else(|| std::io::Error::other("gzip sink lost after an earlier failure"))?;
            self.encoder = Some(GzEncoder::new(w, flate2::Compression::new(self.level)));
        }
        if let Some(e) = &mut self.encoder {
            e.write_all(&self.pending)?;
        }
        self.pending.clear();
        Ok(())
    }
}

/// Writes a SCAP capture to `W`.
pub struct ScapWriter<W: Write> {
    sink: Sink<W>,
    in_section: bool,
    events_in_section: u64,
    uncompressed: u64,
    scratch: Vec<u8>,
}

impl<W: Write> ScapWriter<W> {
    /// A writer that appends to `sink`. Nothing is written until [`Self::write_section`].
    pub fn new(sink: W, compression: Compression) -> Self {
        let sink = match compression {
            Compression::None => Sink::Plain(sink),
            Compression::Gzip(level) => Sink::Gzip(Box::new(GzipSink {
                level: level.min(9),
                encoder: None,
                idle: Some(sink),
                pending: Vec::with_capacity(GZIP_CHUNK),
            })),
        };
        Self {
            sink,
            in_section: false,
            events_in_section: 0,
            uncompressed: 0,
            scratch: Vec::new(),
        }
    }

    /// Uncompressed bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.uncompressed
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(bytes)?,
            Sink::Gzip(g) => {
                g.pending.extend_from_slice(bytes);
                if g.pending.len() >= GZIP_CHUNK {
                    g.compress_pending()?;
                }
            }
        }
        self.uncompressed += bytes.len() as u64;
        Ok(())
    }

    fn write_block(&mut self, block_type: u32, body: &[u8]) -> Result<(), WriteError> {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let r = block::frame(block_type, body, &mut out)
            .map_err(|e| WriteError::InvalidMetadata {
                what: "block",
                detail: format!("body of {} bytes exceeds 4 GiB", e.0),
            })
            .and_then(|()| self.write_raw(&out));
        self.scratch = out;
        r
    }

    /// Starts a section: SHB, then MI, IL, UL, PL and FDL blocks as present in `meta`.
    /// Called again after events, it starts a new section (concatenated captures are valid).
    pub fn write_section(&mut self, meta: &SectionMetadata) -> Result<(), WriteError> {
        for t in &meta.fds {
            if !meta.processes.iter().any(|p| p.tid == t.tid) {
                return Err(WriteError::InvalidMetadata {
                    what: "fd list",
                    detail: format!(
                        "thread {} is not in the process list (sysdig rejects the file)",
                        t.tid
                    ),
                });
            }
        }
        self.write_raw(&block::section_header())?;
        if let Some(m) = &meta.machine {
            self.write_block(block::MI, &m.encode())?;
        }
        if !meta.interfaces.is_empty() {
            self.write_block(block::IL_V2, &encode_interfaces(&meta.interfaces))?;
        }
        if !meta.users.is_empty() || !meta.groups.is_empty() {
            self.write_block(block::UL_V2, &encode_users(&meta.users, &meta.groups))?;
        }
        let mut pl = Vec::new();
        for p in &meta.processes {
            p.encode(&mut pl);
            if pl.len() >= PL_BLOCK_TARGET {
                self.write_block(block::PL_V9, &pl)?;
                pl.clear();
            }
        }
        if !pl.is_empty() {
            self.write_block(block::PL_V9, &pl)?;
        }
        for t in &meta.fds {
            self.write_block(block::FDL_V2, &t.encode())?;
        }
        self.in_section = true;
        self.events_in_section = 0;
        Ok(())
    }

    /// Writes one event. EVF blocks are used when the event has flags; LARGE blocks when the
    /// block would exceed sysdig's 64 KiB buffer, and always for container JSON events.
    pub fn write_event(&mut self, ev: &Event) -> Result<(), WriteError> {
        if !self.in_section {
            return Err(WriteError::NoSection);
        }
        let info = event_info(ev.event_type).ok_or(BuildError::UnknownEventType(ev.event_type))?;
        let encoded = ev.encode()?;
        let prefix = if ev.flags.is_some() { 6 } else { 2 };
        let mut body = Vec::with_capacity(prefix + encoded.len());
        body.extend_from_slice(&ev.cpu.to_le_bytes());
        if let Some(f) = ev.flags {
            body.extend_from_slice(&f.to_le_bytes());
        }
        body.extend_from_slice(&encoded);
        let read_len = block::framed_len(body.len()) - 8;
        let large = info.large_payload() || read_len > block::NON_LARGE_MAX_READ as usize;
        let block_type = match (ev.flags.is_some(), large) {
            (false, false) => block::EV_V2,
            (false, true) => block::EV_V2_LARGE,
            (true, false) => block::EVF_V2,
            (true, true) => block::EVF_V2_LARGE,
        };
        self.write_block(block_type, &body)?;
        self.events_in_section += 1;
        Ok(())
    }

    /// Writes a container JSON event (type 324, tid −1). Write these right after
    /// [`Self::write_section`], before syscall events, so sysdig knows the container when it
    /// imports the process list.
    pub fn write_container(&mut self, ts: u64, c: &ContainerInfo) -> Result<(), WriteError> {
        let json = c.to_json().map_err(|e| WriteError::InvalidMetadata {
            what: "container",
            detail: e.to_string(),
        })?;
        let ev = EventBuilder::new(ts, u64::MAX, CONTAINER_JSON_2_E)
            .param_str(&json)
            .build()?;
        self.write_event(&ev)
    }

    /// Events written since the current section started.
    pub fn events_in_section(&self) -> u64 {
        self.events_in_section
    }

    /// Pushes everything written so far to the sink. With gzip this ends the current gzip
    /// member, so the bytes in the sink form a complete file.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush()?,
            Sink::Gzip(g) => {
                g.compress_pending()?;
                if let Some(e) = g.encoder.take() {
                    let mut w = e.finish()?;
                    w.flush()?;
                    g.idle = Some(w);
                } else if let Some(w) = &mut g.idle {
                    w.flush()?;
                }
            }
        }
        Ok(())
    }

    /// Flushes and returns the sink.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.flush()?;
        match self.sink {
            Sink::Plain(w) => Ok(w),
            Sink::Gzip(g) => g
                .idle
                .ok_or_else(|| std::io::Error::other("gzip sink lost").into()),
        }
    }
}
