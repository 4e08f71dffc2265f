//! The SCAP reader: plain or gzip (including multi-member) input, section and metadata
//! blocks, then events one at a time. Errors name the byte offset in the decompressed
//! stream. A damaged file yields every complete event before the damage, then the error.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::block::{self, BlockKind};
use crate::cursor::Cursor;
use crate::error::ReadError;
use crate::event::{self, Event, CONTAINER_JSON_2_E, CONTAINER_JSON_E};
use crate::fdlist::ThreadFds;
use crate::metadata::{
    decode_interfaces, decode_users, GroupInfo, Interface, MachineInfo, ProcessInfo, UserInfo,
};
use crate::params::ParamValue;

/// Reader limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Largest block accepted, in bytes. The format allows LARGE event blocks up to 4 GiB;
    /// this bound keeps a corrupt length from making the reader buffer that much.
    pub max_block_len: u64,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            max_block_len: 64 * 1024 * 1024,
        }
    }
}

/// A metadata block the reader did not decode (older block versions, unknown types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedBlock {
    /// Offset of the block.
    pub offset: u64,
    /// Its type id.
    pub block_type: u32,
    /// Its total length.
    pub len: u32,
}

/// Everything the metadata blocks of all sections read so far say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Number of sections (SHBs) seen.
    pub sections: u32,
    /// SCAP version of the first section header.
    pub version: (u16, u16),
    /// Machine info (the last MI block seen).
    pub machine: Option<MachineInfo>,
    /// Interfaces (IL v2).
    pub interfaces: Vec<Interface>,
    /// Users (UL v2).
    pub users: Vec<UserInfo>,
    /// Groups (UL v2).
    pub groups: Vec<GroupInfo>,
    /// Processes (PL v9).
    pub processes: Vec<ProcessInfo>,
    /// Fd lists (FDL v2).
    pub fds: Vec<ThreadFds>,
    /// Blocks not decoded: older PL/FDL/UL/IL versions and unknown types.
    pub skipped_blocks: Vec<SkippedBlock>,
}

/// One event as read, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// 1-based event number, as sysdig's `evt.num` counts (events of types this libs version
    /// does not know are skipped and not counted).
    pub num: u64,
    /// Offset of the event's block in the decompressed stream.
    pub offset: u64,
    /// Block type it came in.
    pub block_type: u32,
    /// The event.
    pub event: Event,
}

struct RawBlock {
    offset: u64,
    block_type: u32,
    len: u32,
    /// Body without the 8-byte header; the last 4 bytes are the trailer.
    data: Vec<u8>,
}

impl RawBlock {
    fn body(&self) -> &[u8] {
        &self.data[..self.data.len() - 4]
    }
}

/// Reads a SCAP capture.
pub struct ScapReader<'a> {
    src: Box<dyn Read + 'a>,
    offset: u64,
    opts: ReaderOptions,
    meta: Metadata,
    /// Whether every PL block of the current section was decoded (so FDL tids can be checked).
    section_pl_complete: bool,
    in_events: bool,
    lookahead: VecDeque<EventRecord>,
    pending_error: Option<ReadError>,
    containers: Vec<String>,
    num: u64,
    skipped_events: u64,
    done: bool,
    /// The buffer of the last block read, handed back for the next one (one allocation for
    /// the whole stream instead of one per block).
    scratch: Vec<u8>,
}

impl std::fmt::Debug for ScapReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScapReader")
            .field("offset", &self.offset)
            .field("num", &self.num)
            .finish_non_exhaustive()
    }
}

impl ScapReader<'static> {
    /// Opens a capture file (plain or gzip).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let f = File::open(path).map_err(|source| ReadError::Io { offset: 0, source })?;
        Self::new(f)
    }
}

impl<'a> ScapReader<'a> {
    /// Reads from `input` (plain or gzip, detected from the first bytes) with default limits.
    pub fn new(input: impl Read + 'a) -> Result<Self, ReadError> {
        Self::with_options(input, ReaderOptions::default())
    }

    /// Reads from `input` with explicit limits. Reads the section header, the metadata
    /// blocks and the leading container events.
    pub fn with_options(input: impl Read + 'a, opts: ReaderOptions) -> Result<Self, ReadError> {
        let mut buffered = BufReader::with_capacity(256 * 1024, input);
        let head = buffered
            .fill_buf()
            .map_err(|source| ReadError::Io { offset: 0, source })?;
        let src: Box<dyn Read + 'a> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let mut r = Self {
            src,
            offset: 0,
            opts,
            meta: Metadata::default(),
            section_pl_complete: true,
            in_events: false,
            lookahead: VecDeque::new(),
            pending_error: None,
            containers: Vec::new(),
            num: 0,
            skipped_events: 0,
            done: false,
            scratch: Vec::new(),
        };
        if let Some(b) = r.read_first_section()? {
            match r.decode_event_block(&b) {
                Ok(Some(ev)) => r.lookahead.push_back(ev),
                Ok(None) => {}
                Err(e) => r.pending_error = Some(e),
            }
        }
        r.prefetch_container_events();
        Ok(r)
    }

    /// Metadata from all sections read so far.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// JSON payloads of the container events read so far; after opening, the ones that lead
    /// the event stream (which sysdig consumes before importing the process list).
    pub fn container_json(&self) -> &[String] {
        &self.containers
    }

    /// Events skipped because their type is beyond the table (`>= PPM_EVENT_MAX`).
    pub fn skipped_events(&self) -> u64 {
        self.skipped_events
    }

    /// The next event, `None` at the end, or the error that ends the stream.
    pub fn next_event(&mut self) -> Option<Result<EventRecord, ReadError>> {
        if let Some(ev) = self.lookahead.pop_front() {
            return Some(Ok(ev));
        }
        if let Some(e) = self.pending_error.take() {
            self.done = true;
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        match self.read_event() {
            Ok(Some(ev)) => Some(Ok(ev)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    fn read_first_section(&mut self) -> Result<Option<RawBlock>, ReadError> {
        let mut first = [0u8; 8];
        let got = self.read_up_to(&mut first)?;
        if got == 0 {
            return Err(ReadError::Empty);
        }
        let block_type = u32::from_le_bytes([first[0], first[1], first[2], first[3]]);
        if got >= 4 && block_type != block::SHB {
            return Err(ReadError::NotScap {
                offset: 0,
                what: format!(
                    "first block type {block_type:#010x} is not a section header ({:#010x})",
                    block::SHB
                ),
            });
        }
        if got < 8 {
            return Err(ReadError::Truncated {
                offset: 0,
                what: "section header",
                needed: u64::from(block::SHB_LEN),
                available: got as u64,
            });
        }
        self.read_section_header(0, &first)?;
        self.read_metadata()
    }

    /// Reads the rest of an SHB whose first 8 bytes are `head`.
    fn read_section_header(&mut self, offset: u64, head: &[u8; 8]) -> Result<(), ReadError> {
        let mut rest = [0u8; block::SHB_LEN as usize - 8];
        let got = self.read_up_to(&mut rest)?;
        if got < rest.len() {
            return Err(ReadError::Truncated {
                offset,
                what: "section header",
                needed: u64::from(block::SHB_LEN),
                available: 8 + got as u64,
            });
        }
        let mut c = Cursor::new(&rest, offset + 8);
        let magic = c.u32("section header")?;
        let major = c.u16("section header")?;
        let minor = c.u16("section header")?;
        if magic == block::BYTE_ORDER_MAGIC.swap_bytes() {
            return Err(ReadError::NotScap {
                offset: offset + 8,
                what:
                    "big-endian capture (byte-order magic is swapped); only little-endian is read"
                        .into(),
            });
        }
        if magic != block::BYTE_ORDER_MAGIC {
            return Err(ReadError::NotScap {
                offset: offset + 8,
                what: format!(
                    "byte-order magic {magic:#010x}, expected {:#010x}",
                    block::BYTE_ORDER_MAGIC
                ),
            });
        }
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len != block::SHB_LEN {
            return Err(ReadError::corrupt(
                offset + 4,
                "section header",
                format!("length {len}, must be {}", block::SHB_LEN),
            ));
        }
        c.skip(8, "section header")?;
        let trailer = c.u32("section header")?;
        if trailer != block::SHB_LEN {
            return Err(ReadError::corrupt(
                offset + 24,
                "section header",
                format!("trailer {trailer}, must be {}", block::SHB_LEN),
            ));
        }
        if major > block::SHB_MAJOR {
            return Err(ReadError::UnsupportedVersion {
                offset,
                major,
                minor,
            });
        }
        if self.meta.sections == 0 {
            self.meta.version = (major, minor);
        }
        self.meta.sections += 1;
        self.section_pl_complete = true;
        self.in_events = false;
        Ok(())
    }

    /// Reads metadata blocks up to the first event block of the section, which it returns.
    fn read_metadata(&mut self) -> Result<Option<RawBlock>, ReadError> {
        loop {
            let Some(b) = self.read_block()? else {
                return Ok(None);
            };
            match block::kind(b.block_type) {
                BlockKind::Event { .. } => {
                    self.in_events = true;
                    return Ok(Some(b));
                }
                BlockKind::SectionHeader => self.check_shb_block(&b)?,
                BlockKind::Other => self.decode_metadata_block(&b)?,
            }
        }
    }

    /// Reads container events that follow the first event (sysdig consumes this run first).
    fn prefetch_container_events(&mut self) {
        while self
            .lookahead
            .back()
            .is_some_and(|r| is_container_event(&r.event))
        {
            match self.read_event() {
                Ok(Some(ev)) => self.lookahead.push_back(ev),
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.pending_error = Some(e);
                    break;
                }
            }
        }
    }

    fn check_shb_block(&mut self, b: &RawBlock) -> Result<(), ReadError> {
        // An SHB read through read_block: re-validate its fixed layout from the buffered bytes.
        if b.len != block::SHB_LEN {
            return Err(ReadError::corrupt(
                b.offset + 4,
                "section header",
                format!("length {}, must be {}", b.len, block::SHB_LEN),
            ));
        }
        let mut c = Cursor::new(&b.data, b.offset + 8);
        let magic = c.u32("section header")?;
        let major = c.u16("section header")?;
        let minor = c.u16("section header")?;
        if magic != block::BYTE_ORDER_MAGIC {
            return Err(ReadError::NotScap {
                offset: b.offset + 8,
                what: format!("byte-order magic {magic:#010x} in a later section header"),
            });
        }
        if major > block::SHB_MAJOR {
            return Err(ReadError::UnsupportedVersion {
                offset: b.offset,
                major,
                minor,
            });
        }
        self.meta.sections += 1;
        self.section_pl_complete = true;
        self.in_events = false;
        Ok(())
    }

    fn decode_metadata_block(&mut self, b: &RawBlock) -> Result<(), ReadError> {
        let base = b.offset + 8;
        match b.block_type {
            block::MI | block::MI_LEGACY => {
                if b.len != block::MI_LEN {
                    return Err(ReadError::corrupt(
                        b.offset + 4,
                        "machine info",
                        format!("length {}, must be {}", b.len, block::MI_LEN),
                    ));
                }
                let mut c = Cursor::new(b.body(), base);
                self.meta.machine = Some(MachineInfo::decode(&mut c)?);
            }
            block::PL_V9 => self
                .meta
                .processes
                .extend(ProcessInfo::decode_all(b.body(), base)?),
            block::FDL_V2 => {
                let t = ThreadFds::decode(b.body(), base)?;
                if self.section_pl_complete && !self.meta.processes.iter().any(|p| p.tid == t.tid) {
                    return Err(ReadError::corrupt(
                        base,
                        "fd list",
                        format!("references thread {}, which no process list holds", t.tid),
                    ));
                }
                self.meta.fds.push(t);
            }
            block::UL_V2 => {
                let (u, g) = decode_users(b.body(), base)?;
                self.meta.users.extend(u);
                self.meta.groups.extend(g);
            }
            block::IL_V2 => self
                .meta
                .interfaces
                .extend(decode_interfaces(b.body(), base)?),
            other => {
                if matches!(
                    other,
                    0x202 | 0x207 | 0x209 | 0x210..=0x214 | 0x8000_ABCD | 0x8013_ABCD | 0x8014_ABCD
                ) {
                    self.section_pl_complete = false;
                }
                self.meta.skipped_blocks.push(SkippedBlock {
                    offset: b.offset,
                    block_type: b.block_type,
                    len: b.len,
                });
            }
        }
        Ok(())
    }

    fn read_event(&mut self) -> Result<Option<EventRecord>, ReadError> {
        loop {
            let Some(b) = self.read_block()? else {
                return Ok(None);
            };
            match block::kind(b.block_type) {
                BlockKind::Event { .. } => {
                    self.in_events = true;
                    let ev = self.decode_event_block(&b);
                    self.scratch = b.data;
                    if let Some(ev) = ev? {
                        return Ok(Some(ev));
                    }
                }
                BlockKind::SectionHeader => {
                    self.check_shb_block(&b)?;
                    if let Some(first) = self.read_metadata()? {
                        if let Some(ev) = self.decode_event_block(&first)? {
                            return Ok(Some(ev));
                        }
                    }
                }
                BlockKind::Other if !self.in_events => self.decode_metadata_block(&b)?,
                BlockKind::Other => {
                    return Err(ReadError::corrupt(
                        b.offset,
                        "block",
                        format!(
                            "block type {:#x} after events without a new section header",
                            b.block_type
                        ),
                    ))
                }
            }
        }
    }

    fn decode_event_block(&mut self, b: &RawBlock) -> Result<Option<EventRecord>, ReadError> {
        let BlockKind::Event { v1, flags, .. } = block::kind(b.block_type) else {
            return Ok(None);
        };
        let mut c = Cursor::new(b.body(), b.offset + 8);
        let cpu = c.u16("event block")?;
        let evf = if flags {
            Some(c.u32("event block")?)
        } else {
            None
        };
        let prefix = if flags { 6 } else { 2 };
        let body = &b.body()[prefix..];
        let Some(event) = event::decode(body, b.offset + 8 + prefix as u64, v1, cpu, evf)? else {
            self.skipped_events += 1;
            return Ok(None);
        };
        self.num += 1;
        if is_container_event(&event) {
            if let Some(json) = event.params.first().and_then(ParamValue::as_str) {
                self.containers.push(json.into_owned());
            }
        }
        Ok(Some(EventRecord {
            num: self.num,
            offset: b.offset,
            block_type: b.block_type,
            event,
        }))
    }

    /// Reads one whole block, or `None` at a clean end of input.
    fn read_block(&mut self) -> Result<Option<RawBlock>, ReadError> {
        let offset = self.offset;
        let mut head = [0u8; 8];
        let got = self.read_up_to(&mut head)?;
        if got == 0 {
            return Ok(None);
        }
        if got < 8 {
            return Err(ReadError::Truncated {
                offset,
                what: "block header",
                needed: 8,
                available: got as u64,
            });
        }
        let block_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len < 12 {
            return Err(ReadError::corrupt(
                offset + 4,
                "block header",
                format!("block type {block_type:#x} has total length {len}, minimum is 12"),
            ));
        }
        let limit = match block::kind(block_type) {
            BlockKind::Event { large: false, .. } => u64::from(block::NON_LARGE_MAX_READ) + 8,
            _ => self.opts.max_block_len,
        };
        if u64::from(len) > limit {
            return Err(ReadError::BlockTooLarge {
                offset,
                block_type,
                len: u64::from(len),
                limit,
            });
        }
        let want = len as usize - 8;
        let mut data = std::mem::take(&mut self.scratch);
        data.clear();
        data.resize(want, 0);
        let got = self.read_up_to(&mut data)?;
        data.truncate(got);
        if got < want {
            return Err(ReadError::Truncated {
                offset,
                what: "block",
                needed: u64::from(len),
                available: 8 + got as u64,
            });
        }
        let trailer = u32::from_le_bytes([
            data[want - 4],
            data[want - 3],
            data[want - 2],
            data[want - 1],
        ]);
        if trailer != len {
            return Err(ReadError::corrupt(
                offset + u64::from(len) - 4,
                "block trailer",
                format!("block type {block_type:#x} at {offset}: header length {len}, trailer {trailer}"),
            ));
        }
        Ok(Some(RawBlock {
            offset,
            block_type,
            len,
            data,
        }))
    }

    /// Fills `buf` as far as the input allows; returns the byte count.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        let mut got = 0;
        while got < buf.len() {
            match self.src.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(ReadError::Io {
                        offset: self.offset + got as u64,
                        source,
                    })
                }
            }
        }
        self.offset += got as u64;
        Ok(got)
    }
}

fn is_container_event(e: &Event) -> bool {
    matches!(e.event_type, CONTAINER_JSON_E | CONTAINER_JSON_2_E)
}

impl Iterator for ScapReader<'_> {
    type Item = Result<EventRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}
