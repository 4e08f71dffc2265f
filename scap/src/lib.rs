//! SCAP capture files (the sysdig/Falco capture format), as Debian's sysdig 0.29.3
//! (falcosecurity/libs `e5c53d648f3c`) reads them: a streaming [`ScapWriter`] and a
//! [`ScapReader`] for our captures and real ones. See `docs/scap.md` and
//! `shared/spec/scap-format.md`.
//!
//! * [`event_table`]: every event type with its parameters, as one static table.
//! * [`EventBuilder`]: typed construction of events, checked against the table.
//! * [`ScapWriter`]: section header, metadata blocks, container JSON, event blocks; plain or
//!   multi-member gzip.
//! * [`ScapReader`]: plain and gzip input, metadata, events decoded into [`ParamValue`]s, typed
//!   errors with byte offsets.
//! * [`oracle`]: test support shared by every crate's tests: Debian's sysdig as the oracle,
//!   and [`oracle::check_agreement`] (our reader vs `sysdig -r FILE -j`, event for event).

pub mod block;
pub mod container;
mod cursor;
mod error;
mod event;
pub mod event_table;
mod fdlist;
pub mod flags;
mod metadata;
pub mod oracle;
mod params;
mod reader;
pub mod render;
mod writer;

pub use container::{BadContainerId, ContainerInfo};
pub use error::{BuildError, ReadError, WriteError};
pub use event::{Event, EventBuilder, CONTAINER_JSON_2_E, CONTAINER_JSON_E};
pub use event_table::{
    event_info, syscall_name, EventInfo, ParamInfo, ParamType, EVENT_TABLE, PPM_EVENT_MAX,
};
pub use fdlist::{fd_type, FdInfo, FdKind, ThreadFds};
pub use metadata::{GroupInfo, Interface, MachineInfo, ProcessInfo, UserInfo};
pub use params::{ParamValue, SockAddr, SockTuple};
pub use reader::{EventRecord, Metadata, ReaderOptions, ScapReader, SkippedBlock};
pub use writer::{Compression, ScapWriter, SectionMetadata};
