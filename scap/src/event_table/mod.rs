//! The SCAP event table: every event type (ppm event code) with its parameter list.
//!
//! The data lives in [`EVENT_TABLE`] (file `data.rs`), one row per code `0..PPM_EVENT_MAX`.
//! It describes the event versions known to falcosecurity/libs commit `e5c53d648f3c` (the libs
//! inside Debian's sysdig 0.29.3, see `docs/scap.md`). Where each fact comes from:
//!
//! * codes, names, parameter names, types, print formats, flag tables, event flags and
//!   categories: the `g_event_info` array of Debian's
//!   `libscap.so.0.1.1dev+git20220316.e5c53d64`, read as data by
//!   `scap/tools/gen_event_table.py`; `tests/event_table_oracle.rs` re-reads the installed
//!   library and fails when the two disagree. The PPM_SC syscall names of GENERIC events
//!   ([`PPM_SC_NAMES`]) come from `g_syscall_info_table` of the same library;
//! * the numbering of [`ParamType`] was cross-checked against `sysdig -L` (which prints type
//!   names); the rows that `shared/spec/scap-format.md` section 6 lists are checked against
//!   the table by a unit test (`table_agrees_with_the_spec_catalogue`);
//! * decoding of real captures with this table agrees with `sysdig -r FILE -j` on every printed
//!   event of the corpus (`tests/sysdig_corpus.rs`).

// One row per line reads as a table; rustfmt would spread each row over many lines.
#[rustfmt::skip]
mod data;

pub use data::{EVENT_TABLE, PPM_SC_NAMES};

/// Number of event types this libs version knows (`PPM_EVENT_MAX`). Higher types are skipped
/// by readers of that version.
pub const PPM_EVENT_MAX: u16 = 336;

/// Maximum number of parameters an event may carry (`PPM_MAX_EVENT_PARAMS`).
pub const PPM_MAX_EVENT_PARAMS: usize = 32;

/// Event flag: the event creates a file descriptor (`EF_CREATES_FD`).
pub const EF_CREATES_FD: u32 = 1 << 0;
/// Event flag: the event destroys a file descriptor (`EF_DESTROYS_FD`).
pub const EF_DESTROYS_FD: u32 = 1 << 1;
/// Event flag: the event uses a file descriptor (`EF_USES_FD`).
pub const EF_USES_FD: u32 = 1 << 2;
/// Event flag: the event reads from a file descriptor (`EF_READS_FROM_FD`).
pub const EF_READS_FROM_FD: u32 = 1 << 3;
/// Event flag: the event writes to a file descriptor (`EF_WRITES_TO_FD`).
pub const EF_WRITES_TO_FD: u32 = 1 << 4;
/// Event flag: the event changes the reader's state (`EF_MODIFIES_STATE`).
pub const EF_MODIFIES_STATE: u32 = 1 << 5;
/// Event flag: the code is a placeholder that no driver emits (`EF_UNUSED`).
pub const EF_UNUSED: u32 = 1 << 6;
/// Event flag: the event waits (`EF_WAITS`).
pub const EF_WAITS: u32 = 1 << 7;
/// Event flag: `EF_SKIPPARSERESET`.
pub const EF_SKIPPARSERESET: u32 = 1 << 8;
/// Event flag: an older version of an event that has a newer code (`EF_OLD_VERSION`).
/// Readable, but a writer should use the current version.
pub const EF_OLD_VERSION: u32 = 1 << 9;
/// Event flag: `EF_DROP_SIMPLE_CONS`.
pub const EF_DROP_SIMPLE_CONS: u32 = 1 << 10;
/// Event flag: parameter lengths are `u32` instead of `u16` (`EF_LARGE_PAYLOAD`).
pub const EF_LARGE_PAYLOAD: u32 = 1 << 11;

/// On-disk parameter type (`enum ppm_param_type`). Discriminants are the on-disk numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ParamType {
    /// `PT_NONE`
    None = 0,
    /// `PT_INT8`
    Int8 = 1,
    /// `PT_INT16`
    Int16 = 2,
    /// `PT_INT32`
    Int32 = 3,
    /// `PT_INT64`
    Int64 = 4,
    /// `PT_UINT8`
    Uint8 = 5,
    /// `PT_UINT16`
    Uint16 = 6,
    /// `PT_UINT32`
    Uint32 = 7,
    /// `PT_UINT64`
    Uint64 = 8,
    /// `PT_CHARBUF`: NUL-terminated string.
    CharBuf = 9,
    /// `PT_BYTEBUF`: raw bytes.
    ByteBuf = 10,
    /// `PT_ERRNO`: signed 64-bit return value, negative = -errno.
    Errno = 11,
    /// `PT_SOCKADDR`
    SockAddr = 12,
    /// `PT_SOCKTUPLE`
    SockTuple = 13,
    /// `PT_FD`: signed 64-bit.
    Fd = 14,
    /// `PT_PID`: signed 64-bit.
    Pid = 15,
    /// `PT_FDLIST`: `u16` count, then `(u64 fd, u16 flags)` pairs.
    FdList = 16,
    /// `PT_FSPATH`: NUL-terminated path.
    FsPath = 17,
    /// `PT_SYSCALLID`: `u16` PPM_SC code.
    SyscallId = 18,
    /// `PT_SIGTYPE`: `u8` signal number.
    SigType = 19,
    /// `PT_RELTIME`: `u64` nanoseconds.
    RelTime = 20,
    /// `PT_ABSTIME`: `u64` nanoseconds since the epoch.
    AbsTime = 21,
    /// `PT_PORT`
    Port = 22,
    /// `PT_L4PROTO`
    L4Proto = 23,
    /// `PT_SOCKFAMILY`
    SockFamily = 24,
    /// `PT_BOOL`: `u32`.
    Bool = 25,
    /// `PT_IPV4ADDR`
    Ipv4Addr = 26,
    /// `PT_DYN`: one index byte into the parameter's dynamic table, then the selected type.
    Dyn = 27,
    /// `PT_FLAGS8`
    Flags8 = 28,
    /// `PT_FLAGS16`
    Flags16 = 29,
    /// `PT_FLAGS32`
    Flags32 = 30,
    /// `PT_UID`: `u32`.
    Uid = 31,
    /// `PT_GID`: `u32`.
    Gid = 32,
    /// `PT_DOUBLE`
    Double = 33,
    /// `PT_SIGSET`: `u32`.
    SigSet = 34,
    /// `PT_CHARBUFARRAY`: NUL-separated strings.
    CharBufArray = 35,
    /// `PT_CHARBUF_PAIR_ARRAY`: NUL-separated strings, in pairs.
    CharBufPairArray = 36,
    /// `PT_IPV4NET`
    Ipv4Net = 37,
    /// `PT_IPV6ADDR`
    Ipv6Addr = 38,
    /// `PT_IPV6NET`
    Ipv6Net = 39,
    /// `PT_IPADDR`
    IpAddr = 40,
    /// `PT_IPNET`
    IpNet = 41,
    /// `PT_MODE`: `u32` permission bits.
    Mode = 42,
    /// `PT_FSRELPATH`: NUL-terminated path relative to a dirfd.
    FsRelPath = 43,
}

impl ParamType {
    /// The fixed on-disk width in bytes, or `None` for variable-length types.
    pub const fn fixed_width(self) -> Option<usize> {
        use ParamType as T;
        match self {
            T::Int8 | T::Uint8 | T::Flags8 | T::SigType | T::L4Proto | T::SockFamily => Some(1),
            T::Int16 | T::Uint16 | T::Flags16 | T::Port | T::SyscallId => Some(2),
            T::Int32
            | T::Uint32
            | T::Flags32
            | T::Uid
            | T::Gid
            | T::Mode
            | T::Bool
            | T::Ipv4Addr
            | T::SigSet => Some(4),
            T::Int64
            | T::Uint64
            | T::Errno
            | T::Fd
            | T::Pid
            | T::RelTime
            | T::AbsTime
            | T::Double => Some(8),
            T::Ipv6Addr => Some(16),
            T::Ipv4Net => Some(8),
            T::Ipv6Net => Some(32),
            _ => None,
        }
    }

    /// Whether the value is a NUL-terminated string on disk.
    pub const fn is_string(self) -> bool {
        matches!(self, Self::CharBuf | Self::FsPath | Self::FsRelPath)
    }
}

/// How sysdig prints a numeric parameter (`enum ppm_print_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PrintFormat {
    /// `PF_NA`
    Na = 0,
    /// `PF_DEC`
    Dec = 1,
    /// `PF_HEX`
    Hex = 2,
    /// `PF_10_PADDED_DEC`
    PaddedDec = 3,
    /// `PF_ID`
    Id = 4,
    /// `PF_DIR`
    Dir = 5,
    /// `PF_OCT`
    Oct = 6,
}

/// Event category (`enum ppm_event_category`), without the syscall/tracepoint source bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Category {
    /// `EC_UNKNOWN`
    Unknown = 0,
    /// `EC_OTHER`
    Other = 1,
    /// `EC_FILE`
    File = 2,
    /// `EC_NET`
    Net = 3,
    /// `EC_IPC`
    Ipc = 4,
    /// `EC_MEMORY`
    Memory = 5,
    /// `EC_PROCESS`
    Process = 6,
    /// `EC_SLEEP`
    Sleep = 7,
    /// `EC_SYSTEM`
    System = 8,
    /// `EC_SIGNAL`
    Signal = 9,
    /// `EC_USER`
    User = 10,
    /// `EC_TIME`
    Time = 11,
    /// `EC_IO_READ`
    IoRead = 32,
    /// `EC_IO_WRITE`
    IoWrite = 33,
    /// `EC_IO_OTHER`
    IoOther = 34,
    /// `EC_WAIT`
    Wait = 64,
    /// `EC_SCHEDULER`
    Scheduler = 128,
    /// `EC_INTERNAL`
    Internal = 256,
}

/// Extra information attached to a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamAux {
    /// Nothing.
    None,
    /// The name of the libs value/name table that gives names to flag bits or enum values
    /// (`file_flags`, `clone_flags`, …). The numbers themselves are in [`crate::flags`] for the
    /// tables this crate writes.
    Flags(&'static str),
    /// A `PT_DYN` parameter: the types selectable by the index byte, in index order.
    Dyn(&'static [ParamType]),
}

/// One parameter of an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamInfo {
    /// Parameter name as sysdig prints it (`fd`, `res`, `name`, …).
    pub name: &'static str,
    /// On-disk type.
    pub ty: ParamType,
    /// How sysdig prints it.
    pub fmt: PrintFormat,
    /// Flag table or dynamic-type table.
    pub aux: ParamAux,
}

/// One event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// ppm event code (`PPME_*`).
    pub code: u16,
    /// Event name as sysdig prints it in `evt.type`.
    pub name: &'static str,
    /// Category.
    pub category: Category,
    /// `EF_*` bits.
    pub flags: u32,
    /// Parameters, in on-disk order.
    pub params: &'static [ParamInfo],
}

impl EventInfo {
    /// Enter events have even codes, exit events odd ones.
    pub const fn is_enter(&self) -> bool {
        self.code % 2 == 0
    }

    /// Whether the parameter length array uses `u32` entries (`EF_LARGE_PAYLOAD`).
    pub const fn large_payload(&self) -> bool {
        self.flags & EF_LARGE_PAYLOAD != 0
    }

    /// Whether no driver emits this code (`EF_UNUSED`).
    pub const fn is_unused(&self) -> bool {
        self.flags & EF_UNUSED != 0
    }

    /// Whether this is a superseded version of an event (`EF_OLD_VERSION`).
    pub const fn is_old_version(&self) -> bool {
        self.flags & EF_OLD_VERSION != 0
    }

    /// `>` for enter events, `<` for exit events, as sysdig prints `evt.dir`.
    pub const fn dir_char(&self) -> char {
        if self.is_enter() {
            '>'
        } else {
            '<'
        }
    }
}

/// The table row for `code`, or `None` for codes `>= PPM_EVENT_MAX`.
pub fn event_info(code: u16) -> Option<&'static EventInfo> {
    EVENT_TABLE.get(usize::from(code))
}

/// The syscall name for a PPM_SC code (the `ID` parameter of GENERIC events 0/1); sysdig
/// prints GENERIC events under this name.
pub fn syscall_name(ppm_sc: u16) -> Option<&'static str> {
    PPM_SC_NAMES
        .get(usize::from(ppm_sc))
        .copied()
        .filter(|n| !n.is_empty())
}

/// Builds a parameter with no extra information (used by the table).
pub(crate) const fn p(name: &'static str, ty: ParamType, fmt: PrintFormat) -> ParamInfo {
    ParamInfo {
        name,
        ty,
        fmt,
        aux: ParamAux::None,
    }
}

/// Builds a flags/enum parameter with the name of its value table (used by the table).
pub(crate) const fn pf(
    name: &'static str,
    ty: ParamType,
    fmt: PrintFormat,
    table: &'static str,
) -> ParamInfo {
    ParamInfo {
        name,
        ty,
        fmt,
        aux: ParamAux::Flags(table),
    }
}

/// Builds a `PT_DYN` parameter with its selectable types (used by the table).
pub(crate) const fn pd(
    name: &'static str,
    fmt: PrintFormat,
    types: &'static [ParamType],
) -> ParamInfo {
    ParamInfo {
        name,
        ty: ParamType::Dyn,
        fmt,
        aux: ParamAux::Dyn(types),
    }
}

/// Builds a table row (used by the table).
pub(crate) const fn ev(
    code: u16,
    name: &'static str,
    category: Category,
    flags: u32,
    params: &'static [ParamInfo],
) -> EventInfo {
    EventInfo {
        code,
        name,
        category,
        flags,
        params,
    }
}

#[cfg(test)]
mod tests;
