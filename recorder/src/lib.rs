//! blackbox's flight recorder, userspace side.
//!
//! The eBPF programs of `blackbox-recorder-ebpf` are loaded once per node and
//! pinned under bpffs ([`pins`]); every shim opens them with
//! [`Recorder::open`], registers its container's cgroup with
//! [`Recorder::register`] and drains the returned [`ContainerRecorder`].
//! No async runtime is required: the reader is a blocking timed poll that a
//! shim can run on a thread or in `spawn_blocking`.
//!
//! See docs/recorder.md for the data flow, the wire format and what is recorded.

mod bits;
mod cgroup;
pub mod classes;
mod clock;
pub mod decode;
mod error;
mod loader;
mod losses;
mod maps;
pub mod pins;
mod reader;
mod recorder;
mod wire_pod;

pub use blackbox_recorder_ebpf::wire;
pub use cgroup::{Cgroup2, CgroupRef};
pub use classes::SyscallClass;
pub use clock::BootClock;
pub use decode::{
    Blob, BlobKind, Direction, ProcExit, ProcInfo, Record, SockAddr, SockTuple, SyscallRecord,
};
pub use error::{RecorderError, Result};
pub use loader::{Floor, LoadOutcome};
pub use losses::LossCounters;
pub use reader::{ContainerRecorder, DrainStats, DEFAULT_POLL};
pub use recorder::{PreparedRing, Recorder, RecorderOptions, RecordingPolicy};
