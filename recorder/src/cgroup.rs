//! cgroup-v2 helpers: where cgroup2 is mounted, path → id, whether an id still
//! exists, and a cgroup's descendants.
//!
//! The id the programs see (`bpf_get_current_cgroup_id`) is the kernfs id of
//! the task's cgroup in the default (v2) hierarchy, which is the inode number
//! of its directory under the cgroup2 mount (checked by the privileged tests
//! on this hybrid-cgroup host, where cgroup2 is at /sys/fs/cgroup/unified).

use std::fs::{self, File};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{RecorderError, Result};

/// A cgroup to record: by path (absolute, or relative to the cgroup2 mount) or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupRef {
    /// A directory of the cgroup2 file system.
    Path(PathBuf),
    /// A cgroup-v2 id (inode number of the directory).
    Id(u64),
}

/// The cgroup2 mount.
#[derive(Debug)]
pub struct Cgroup2 {
    root: PathBuf,
    root_dir: File,
}

impl Cgroup2 {
    /// Finds the cgroup2 mount in /proc/self/mountinfo (unified or hybrid layout).
    pub fn discover() -> Result<Self> {
        let info = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| RecorderError::io("/proc/self/mountinfo", e))?;
        let root = cgroup2_mount_point(&info).ok_or(RecorderError::NoCgroup2)?;
        Self::at(root)
    }

    /// Uses the cgroup2 file system mounted at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let root_dir = File::open(&root).map_err(|e| RecorderError::io(&root, e))?;
        Ok(Self { root, root_dir })
    }

    /// The mount point.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a reference to (id, directory path).
    pub fn resolve(&self, cgroup: &CgroupRef) -> Result<(u64, PathBuf)> {
        match cgroup {
            CgroupRef::Path(p) => {
                let path = if p.is_absolute() {
                    p.clone()
                } else {
                    self.root.join(p)
                };
                let meta = fs::metadata(&path)
                    .map_err(|_| RecorderError::NoSuchCgroup(path.display().to_string()))?;
                Ok((meta.ino(), path))
            }
            CgroupRef::Id(id) => {
                let dir = self
                    .open_by_id(*id)?
                    .ok_or_else(|| RecorderError::NoSuchCgroup(id.to_string()))?;
                let link = format!("/proc/self/fd/{}", dir.as_raw_fd());
                let path = fs::read_link(&link).map_err(|e| RecorderError::io(link, e))?;
                Ok((*id, path))
            }
        }
    }

    /// Whether a cgroup with this id exists. Errors other than "gone" count as
    /// existing, so a cleanup pass never removes a live container's entries.
    pub fn exists(&self, id: u64) -> bool {
        !matches!(self.open_by_id(id), Ok(None))
    }

    /// Opens the cgroup directory with this id through a kernfs file handle
    /// (type FILEID_KERNFS, 8 bytes: the id). Ok(None) when it does not exist.
    fn open_by_id(&self, id: u64) -> Result<Option<OwnedFd>> {
        #[repr(C)]
        struct KernfsHandle {
            handle_bytes: u32,
            handle_type: i32,
            id: u64,
        }
        const FILEID_KERNFS: i32 = 0xfe;
        let mut handle = KernfsHandle {
            handle_bytes: 8,
            handle_type: FILEID_KERNFS,
            id,
        };
        // SAFETY: the handle is a valid struct file_handle with 8 bytes of payload,
        // the mount fd is open for the duration of the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_open_by_handle_at,
                self.root_dir.as_raw_fd(),
                std::ptr::addr_of_mut!(handle),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd >= 0 {
            let fd = i32::try_from(fd).map_err(|_| RecorderError::NoSuchCgroup(id.to_string()))?;
            // SAFETY: the kernel just returned this fd to us.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ESTALE | libc::ENOENT) => Ok(None),
            _ => Err(RecorderError::io(&self.root, err)),
        }
    }
}

/// The mount point of the first cgroup2 entry of a mountinfo text.
fn cgroup2_mount_point(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // "id parent maj:min root mountpoint opts... - fstype source superopts"
        let (pre, post) = line.split_once(" - ")?;
        if post.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        pre.split_whitespace()
            .nth(4)
            .map(|p| PathBuf::from(unescape_mountinfo(p)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// (id, path) of every cgroup below `dir` (not `dir` itself). Directories that
/// vanish while walking are skipped: they hold no task any more.
pub fn descendants(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                out.push((meta.ino(), e.path()));
                stack.push(e.path());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cgroup2_in_a_hybrid_mountinfo() {
        let info = "\
30 24 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
";
        assert_eq!(
            cgroup2_mount_point(info),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_mount_point("1 0 0:1 / / rw - ext4 /dev/sda rw\n"),
            None
        );
    }

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape_mountinfo(r"/a\040b\134c"), r"/a b\c");
        assert_eq!(unescape_mountinfo(r"/x\0"), r"/x\0");
    }
}
