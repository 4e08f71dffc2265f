//! Turns the flight recorder's records into one SCAP capture per container, as Debian's
//! sysdig 0.29.3 (and Falco of that libs generation) read it.
//!
//! ```no_run
//! # fn main() -> Result<(), blackbox_capture::CaptureError> {
//! use blackbox_capture::{CaptureMeta, CaptureWriter};
//! let meta = CaptureMeta { container_id: "0123…".into(), init_pid: 4242, ..Default::default() };
//! let mut w = CaptureWriter::create("/var/lib/blackbox/c.scap".as_ref(), &meta, None)?;
//! let clock = blackbox_recorder::BootClock::now();
//! # let records: Vec<blackbox_recorder::Record<'static>> = Vec::new();
//! for r in &records {
//!     w.push(r, &clock)?;
//! }
//! w.flush()?; // about once per second
//! let summary = w.finish()?;
//! # let _ = summary; Ok(()) }
//! ```
//!
//! See `docs/capture.md` for the record → event mapping and what is approximated.

pub mod convert;
mod error;
mod meta;
mod procfs;
pub mod synth;
mod threads;
mod users;
mod writer;

pub use error::CaptureError;
pub use meta::{full_id_of, CaptureMeta, ContainerIdentity, ORIGINAL_ID_LABEL};
pub use users::{parse_group, parse_passwd};
pub use writer::{
    CaptureOptions, CaptureSummary, CaptureWriter, EventTap, InitExit, DROP_E, DROP_X,
};
