//! Typed errors: [`ReadError`] for decoding captures, [`BuildError`] for events that do not
//! match the event table, [`WriteError`] for the writer.

use crate::event_table::ParamType;

/// Why a capture could not be read. Every variant that concerns the file's content names the
/// byte offset, counted in the decompressed stream (the same as the file offset for plain files).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The underlying reader failed (this includes a damaged gzip stream).
    #[error("read error at byte {offset}: {source}")]
    Io {
        /// Where reading stopped.
        offset: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input has no bytes at all.
    #[error("empty input: no SCAP section header")]
    Empty,
    /// The input does not start with a SCAP section header.
    #[error("byte {offset}: not a SCAP capture: {what}")]
    NotScap {
        /// Where the bad bytes are.
        offset: u64,
        /// What was found instead.
        what: String,
    },
    /// The section header has a major version this reader does not know.
    #[error("byte {offset}: unsupported SCAP version {major}.{minor} (this reader reads major 1)")]
    UnsupportedVersion {
        /// Offset of the section header.
        offset: u64,
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// The input ends in the middle of something.
    #[error(
        "byte {offset}: input truncated in {what}: {needed} bytes needed, {available} present"
    )]
    Truncated {
        /// Offset of the incomplete item.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// Bytes the item needs.
        needed: u64,
        /// Bytes that were there.
        available: u64,
    },
    /// A block claims a size beyond the format's or this reader's limit.
    #[error("byte {offset}: block type {block_type:#x} claims {len} bytes, limit is {limit}")]
    BlockTooLarge {
        /// Offset of the block.
        offset: u64,
        /// Block type.
        block_type: u32,
        /// Claimed total length.
        len: u64,
        /// Allowed maximum.
        limit: u64,
    },
    /// The bytes are inconsistent with the format.
    #[error("byte {offset}: corrupt {what}: {detail}")]
    Corrupt {
        /// Offset of the bad item.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl ReadError {
    /// The byte offset the error names, if any.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Io { offset, .. }
            | Self::NotScap { offset, .. }
            | Self::UnsupportedVersion { offset, .. }
            | Self::Truncated { offset, .. }
            | Self::BlockTooLarge { offset, .. }
            | Self::Corrupt { offset, .. } => Some(*offset),
            Self::Empty => None,
        }
    }

    pub(crate) fn corrupt(offset: u64, what: &'static str, detail: impl Into<String>) -> Self {
        Self::Corrupt {
            offset,
            what,
            detail: detail.into(),
        }
    }
}

/// An event that does not match the event table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The code is not in the table (`>= PPM_EVENT_MAX`).
    #[error("event type {0} is not in the event table (PPM_EVENT_MAX is 336)")]
    UnknownEventType(u16),
    /// More parameters than the event type has.
    #[error("event {event} ({code}) takes {expected} parameters, got more")]
    TooManyParams {
        /// Event name.
        event: &'static str,
        /// Event code.
        code: u16,
        /// The table's count.
        expected: usize,
    },
    /// Fewer parameters than the event type has (sysdig can crash on short events).
    #[error("event {event} ({code}) takes {expected} parameters, got {given}")]
    MissingParams {
        /// Event name.
        event: &'static str,
        /// Event code.
        code: u16,
        /// The table's count.
        expected: usize,
        /// How many were given.
        given: usize,
    },
    /// A value of the wrong kind for the parameter's type.
    #[error("event {event} parameter {index} ({param}) is {expected:?}, cannot take {given}")]
    TypeMismatch {
        /// Event name.
        event: &'static str,
        /// Parameter name.
        param: &'static str,
        /// Parameter index.
        index: usize,
        /// The table's type.
        expected: ParamType,
        /// What was given.
        given: &'static str,
    },
    /// A number that does not fit the parameter's width.
    #[error("event {event} parameter {param}: value {value} does not fit {expected:?}")]
    OutOfRange {
        /// Event name.
        event: &'static str,
        /// Parameter name.
        param: &'static str,
        /// The table's type.
        expected: ParamType,
        /// The value.
        value: i128,
    },
    /// A string with an interior NUL (it would be cut short on disk).
    #[error("event {event} parameter {param}: string contains a NUL byte")]
    InteriorNul {
        /// Event name.
        event: &'static str,
        /// Parameter name.
        param: &'static str,
    },
    /// A value longer than its length field can express.
    #[error("event {event} parameter {param}: {len} bytes exceed the maximum {max}")]
    TooLong {
        /// Event name.
        event: &'static str,
        /// Parameter name.
        param: &'static str,
        /// Encoded length.
        len: usize,
        /// Maximum.
        max: usize,
    },
}

/// Why the writer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The sink failed.
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    /// The event does not match the table.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// An event was written before any section header.
    #[error("no section started: call write_section before writing events")]
    NoSection,
    /// Metadata that cannot be encoded.
    #[error("invalid {what}: {detail}")]
    InvalidMetadata {
        /// Which block.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
}
