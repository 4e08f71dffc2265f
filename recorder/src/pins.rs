//! The bpffs layout: one directory per object version, holding the pinned
//! maps, programs and links, shared by every shim on the node.
//!
//! ```text
//! <pin_root>/                       flock()ed while loading / pruning
//!   v1-<fnv64 of the object>/       complete version (renamed into place)
//!     bb_cgroups bb_rings bb_losses bb_scratch bb_cgroup_bits
//!     prog_<name> link_<name>       for each program in PROGRAMS
//!   v1-<...>-tmp-<pid>/             being built (left over only by a crash)
//! ```

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use blackbox_recorder_ebpf::{wire::BB_WIRE_VERSION, OBJECT};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::statfs::{statfs, BPF_FS_MAGIC};

use crate::error::{RecorderError, Result};

/// Where a standard install pins.
pub const DEFAULT_PIN_ROOT: &str = "/sys/fs/bpf/blackbox";
const BPFFS: &str = "/sys/fs/bpf";

/// Name of this build's version directory: wire version and a hash of the
/// object, so an upgrade never mixes layouts or programs.
pub fn version_dir_name() -> String {
    format!("v{BB_WIRE_VERSION}-{:016x}", fnv1a64(&OBJECT.0))
}

/// FNV-1a: a stable content tag, not a security measure.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Makes sure `pin_root` is on bpffs, mounting /sys/fs/bpf if allowed and needed.
pub(crate) fn ensure_bpffs(pin_root: &Path, mount_if_missing: bool) -> Result<()> {
    let mut probe = pin_root;
    while !probe.exists() {
        probe = probe.parent().unwrap_or(Path::new("/"));
    }
    if is_bpffs(probe)? {
        return Ok(());
    }
    let may_mount = mount_if_missing && pin_root.starts_with(BPFFS) && Path::new(BPFFS).is_dir();
    if !may_mount {
        return Err(RecorderError::NoBpffs {
            path: pin_root.into(),
            reason: format!("{} is not bpffs", probe.display()),
        });
    }
    // Two shims starting together on a fresh node would both see no bpffs and
    // both mount it, the second mount hiding the first one's pins. Serialize on
    // the mount point's directory and look again once the lock is held.
    let mount_point = File::open(BPFFS).map_err(|e| RecorderError::io(BPFFS, e))?;
    let _lock = Flock::lock(mount_point, FlockArg::LockExclusive)
        .map_err(|(_, e)| RecorderError::io(BPFFS, io::Error::from(e)))?;
    if is_bpffs(Path::new(BPFFS))? {
        return Ok(());
    }
    nix::mount::mount(
        Some("bpf"),
        BPFFS,
        Some("bpf"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| RecorderError::NoBpffs {
        path: pin_root.into(),
        reason: format!("mounting bpffs on {BPFFS}: {e}"),
    })?;
    if is_bpffs(Path::new(BPFFS))? {
        Ok(())
    } else {
        Err(RecorderError::NoBpffs {
            path: pin_root.into(),
            reason: "still not bpffs after mounting".into(),
        })
    }
}

fn is_bpffs(path: &Path) -> Result<bool> {
    let st = statfs(path).map_err(|e| RecorderError::io(path, io::Error::from(e)))?;
    Ok(st.filesystem_type() == BPF_FS_MAGIC)
}

/// Exclusive lock on the pin root (a directory fd), held while loading or pruning.
pub(crate) fn lock_pin_root(pin_root: &Path) -> Result<Flock<File>> {
    fs::create_dir_all(pin_root).map_err(|e| RecorderError::io(pin_root, e))?;
    let dir = File::open(pin_root).map_err(|e| RecorderError::io(pin_root, e))?;
    Flock::lock(dir, FlockArg::LockExclusive)
        .map_err(|(_, e)| RecorderError::io(pin_root, io::Error::from(e)))
}

/// Removes directories of interrupted loads (`*-tmp-*`). Their links detach
/// once unpinned, as no process holds them.
pub(crate) fn remove_partial_loads(pin_root: &Path) {
    for path in subdirs(pin_root) {
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains("-tmp-"))
        {
            if let Err(e) = fs::remove_dir_all(&path) {
                log::warn!("removing partial load {}: {e}", path.display());
            }
        }
    }
}

pub(crate) fn subdirs(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes every pin under `pin_root` (all versions): programs detach once no
/// process holds them. For uninstall and tests; running shims keep their fds.
pub fn remove_all_pins(pin_root: &Path) -> Result<()> {
    match fs::remove_dir_all(pin_root) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RecorderError::io(pin_root, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_name_has_wire_version_and_hash() {
        let name = version_dir_name();
        assert!(name.starts_with(&format!("v{BB_WIRE_VERSION}-")), "{name}");
        assert_eq!(name.len(), format!("v{BB_WIRE_VERSION}-").len() + 16);
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
