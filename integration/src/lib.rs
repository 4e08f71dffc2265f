//! Harness of blackbox's privileged end-to-end suite: a private containerd per run, images built
//! locally, and clients for containerd's task level (`ctr`, the tasks API) and for CRI, so that
//! every behavioural test runs once under `io.containerd.runc.v2` and once under
//! `io.containerd.blackbox.v2`. See docs/testing.md.

pub mod archive;
pub mod cmd;
pub mod config;
pub mod containerd;
pub mod cri;
pub mod ctr;
pub mod env;
pub mod events;
pub mod exec_stream;
pub mod grpc;
pub mod host;
pub mod image;
pub mod prereq;
pub mod pty;
pub mod runtime;
pub mod webhook;

pub use env::{Env, TestNamespace};
pub use runtime::{Runtime, BLACKBOX_SHIM, RUNC_SHIM};
