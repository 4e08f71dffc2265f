//! Typed errors of the recorder.

use std::io;
use std::path::PathBuf;

/// Anything that can go wrong loading, pinning, registering or reading.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// Not root / missing CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN.
    #[error("loading eBPF programs needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): {0}")]
    NotPermitted(String),

    /// The pin root is not on a bpf file system and could not be mounted.
    #[error("{path} is not on a bpf file system ({reason}); mount one with `mount -t bpf bpf /sys/fs/bpf`")]
    NoBpffs {
        /// The directory that should be on bpffs.
        path: PathBuf,
        /// What was found or what failed.
        reason: String,
    },

    /// No cgroup2 file system is mounted.
    #[error(
        "no cgroup2 mount found in /proc/self/mountinfo (the recorder filters on cgroup-v2 ids)"
    )]
    NoCgroup2,

    /// aya failed to load or attach the object.
    #[error("loading the eBPF object: {0}")]
    Load(#[from] aya::EbpfError),

    /// A program failed to load (verifier) or attach.
    #[error("program {name}: {source}")]
    Program {
        /// The program name.
        name: String,
        /// What aya reported.
        #[source]
        source: aya::programs::ProgramError,
    },

    /// A map operation failed.
    #[error("map {name}: {source}")]
    Map {
        /// The map name.
        name: &'static str,
        /// What aya reported.
        #[source]
        source: aya::maps::MapError,
    },

    /// Pinning or unpinning failed.
    #[error("pinning {path}: {reason}")]
    Pin {
        /// The pin path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },

    /// A file-system operation on a path failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// The object or program is missing something the loader expects.
    #[error("the eBPF object has no {0}")]
    Missing(String),

    /// The recording policy is out of range.
    #[error("invalid recording policy: {0}")]
    InvalidPolicy(String),

    /// The cgroup is already registered.
    #[error("cgroup {0} is already registered")]
    AlreadyRegistered(u64),

    /// The cgroup id or path does not exist.
    #[error("cgroup {0} not found")]
    NoSuchCgroup(String),
}

impl RecorderError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn map(name: &'static str, source: aya::maps::MapError) -> Self {
        Self::Map { name, source }
    }
}

/// Result alias for the crate.
pub type Result<T, E = RecorderError> = std::result::Result<T, E>;
