//! The two runtimes every behavioural test runs under: containerd's stock runc shim and ours.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Name of our shim binary; containerd derives it from the runtime type `io.containerd.blackbox.v2`.
pub const BLACKBOX_SHIM: &str = "containerd-shim-blackbox-v2";
/// Name of containerd's runc shim binary.
pub const RUNC_SHIM: &str = "containerd-shim-runc-v2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Blackbox,
}

impl Runtime {
    pub const ALL: [Runtime; 2] = [Runtime::Runc, Runtime::Blackbox];

    /// Suffix of test names (`ctr::exit_codes::runc`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Blackbox => "blackbox",
        }
    }

    /// The containerd runtime type (`ctr run --runtime`).
    #[must_use]
    pub fn runtime_type(self) -> &'static str {
        match self {
            Runtime::Runc => "io.containerd.runc.v2",
            Runtime::Blackbox => "io.containerd.blackbox.v2",
        }
    }

    /// The CRI runtime handler name in our containerd config.
    #[must_use]
    pub fn cri_handler(self) -> &'static str {
        self.name()
    }

    /// The shim binary's file name.
    #[must_use]
    pub fn shim_binary(self) -> &'static str {
        match self {
            Runtime::Runc => RUNC_SHIM,
            Runtime::Blackbox => BLACKBOX_SHIM,
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The directory holding the freshly built `containerd-shim-blackbox-v2`:
/// `$BLACKBOX_SHIM_DIR`, else `$CARGO_TARGET_DIR/debug`, else `<workspace>/target/debug`.
#[must_use]
pub fn shim_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BLACKBOX_SHIM_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&dir).join("debug");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug");
    dir.canonicalize().unwrap_or(dir)
}

/// Fails with a clear message when the blackbox shim has not been built.
pub fn require_blackbox_shim() -> Result<PathBuf> {
    let path = shim_dir().join(BLACKBOX_SHIM);
    if !path.is_file() {
        bail!(
            "{} is missing: build it first with `cargo build -p blackbox-shim` \
             (or point BLACKBOX_SHIM_DIR at the directory holding it)",
            path.display()
        );
    }
    Ok(path)
}

/// A warning when a source file of the shim crate is newer than the built binary (the suite
/// does not build the shim; a stale binary makes for confusing failures).
#[must_use]
pub fn stale_shim_warning() -> Option<String> {
    let binary = shim_dir().join(BLACKBOX_SHIM);
    let built = std::fs::metadata(&binary).ok()?.modified().ok()?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shim/src");
    let newer = crate::host::files_under(&src).into_iter().find(|f| {
        std::fs::metadata(f)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > built)
    })?;
    Some(format!(
        "warning: {} is newer than {}: rebuild with `cargo build -p blackbox-shim`",
        newer.display(),
        binary.display()
    ))
}

/// Checks what a test under `runtime` needs beyond the shared prerequisites.
pub fn require(runtime: Runtime) -> Result<()> {
    match runtime {
        Runtime::Runc => Ok(()),
        Runtime::Blackbox => require_blackbox_shim().map(drop),
    }
}
