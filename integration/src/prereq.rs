//! What the privileged suite needs from the machine. A missing piece is an error with a clear
//! message: the suite fails, it never skips.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Absolute paths of the host programs the suite drives.
#[derive(Debug, Clone)]
pub struct HostTools {
    pub containerd: PathBuf,
    pub ctr: PathBuf,
    pub runc: PathBuf,
    pub busybox: PathBuf,
    pub cni_bin_dir: PathBuf,
}

/// Finds `name` on `$PATH` (and in the sbin directories, which a non-login root may lack).
#[must_use]
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file());
    found
}

/// Checks root, containerd, ctr, runc, containerd-shim-runc-v2, a static busybox and cgroups.
pub fn check() -> Result<HostTools> {
    let mut missing = Vec::new();
    if !nix::unistd::geteuid().is_root() {
        missing.push("root (run the privileged suite as root, e.g. with sudo -E)".to_string());
    }
    let mut find = |name: &str, hint: &str| {
        which(name).unwrap_or_else(|| {
            missing.push(format!("`{name}` on PATH ({hint})"));
            PathBuf::new()
        })
    };
    let containerd = find("containerd", "apt-get install containerd");
    let ctr = find("ctr", "apt-get install containerd");
    let runc = find("runc", "apt-get install runc");
    find(crate::RUNC_SHIM, "apt-get install containerd");
    let busybox = PathBuf::from("/bin/busybox");
    if !is_static_elf(&busybox) {
        missing.push("a static /bin/busybox (apt-get install busybox-static)".to_string());
    }
    if !Path::new("/sys/fs/cgroup/memory").is_dir()
        && !Path::new("/sys/fs/cgroup/cgroup.controllers").is_file()
    {
        missing.push("mounted cgroups under /sys/fs/cgroup".to_string());
    }
    let cni_bin_dir = PathBuf::from("/usr/lib/cni");
    if !missing.is_empty() {
        bail!(
            "prerequisites of the privileged integration suite are missing: {}",
            missing.join("; ")
        );
    }
    Ok(HostTools {
        containerd,
        ctr,
        runc,
        busybox,
        cni_bin_dir,
    })
}

/// A static ELF has no PT_INTERP program header; good enough to tell busybox-static apart.
fn is_static_elf(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[o..o + 8]);
        u64::from_le_bytes(b) as usize
    };
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    (0..phnum).all(|i| {
        let off = phoff + i * phentsize;
        // p_type 3 is PT_INTERP.
        off + 4 <= bytes.len()
            && u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap_or([0; 4])) != 3
    })
}
