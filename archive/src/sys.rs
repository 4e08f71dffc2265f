//! Thin, safe wrappers over the system calls the file-system walk and the extraction need:
//! `openat2` confined beneath a directory without following any symlink, `fstat`,
//! `readlinkat` on an `O_PATH` descriptor, `fgetxattr`, directory listing by descriptor,
//! `mkdirat`/`symlinkat`/`linkat`, and `flock`.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// How strictly a path is resolved beneath its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confine {
    /// Beneath, no symlinks, no magic links.
    Beneath,
    /// The same, and no crossing into another mount.
    BeneathSameMount,
}

fn cname(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))
}

/// Opens `name` (one or more components) relative to `dir`, never leaving `dir` and never
/// following a symlink. Falls back to `openat` with `O_NOFOLLOW` on kernels without openat2,
/// which is equally safe for a single component (the only use then: every caller passes
/// single components, and `..` is refused here).
pub(crate) fn open_beneath(
    dir: BorrowedFd<'_>,
    name: &[u8],
    flags: i32,
    mode: u32,
    confine: Confine,
) -> io::Result<OwnedFd> {
    let c = cname(name)?;
    let mut resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    if confine == Confine::BeneathSameMount {
        resolve |= RESOLVE_NO_XDEV;
    }
    let flags = flags | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    let how = OpenHow {
        flags: u64::try_from(flags).unwrap_or(0),
        mode: u64::from(mode),
        resolve,
    };
    // SAFETY: `how` and `c` outlive the call; the kernel reads `size_of::<OpenHow>()` bytes.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if rc >= 0 {
        let fd = RawFd::try_from(rc).map_err(|_| io::Error::other("fd out of range"))?;
        // SAFETY: the kernel returned a new descriptor we now own.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    if name.contains(&b'/') || name == b".." || name == b"." {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "openat2 unavailable: only single components can be opened safely",
        ));
    }
    // SAFETY: valid descriptor and NUL-terminated name.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a directory given by path (the root of a walk), refusing a symlink at its end.
pub(crate) fn open_dir_path(path: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = cname(path.as_os_str().as_bytes())?;
    // SAFETY: NUL-terminated path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstat`.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor and out-pointer.
    let rc = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// The target of a symlink opened with `O_PATH | O_NOFOLLOW`.
pub(crate) fn readlink_fd(fd: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: buffer valid for its length; empty path reads the link `fd` refers to.
        let n = unsafe {
            libc::readlinkat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::try_from(n).unwrap_or(0);
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 1 << 20 {
            return Err(io::Error::other("symlink target longer than 1 MiB"));
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// An extended attribute's value, `None` when absent (or not supported).
pub(crate) fn fgetxattr(fd: BorrowedFd<'_>, name: &str) -> Option<Vec<u8>> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: valid descriptor, name and buffer.
    let n = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return None;
    }
    buf.truncate(usize::try_from(n).ok()?);
    Some(buf)
}

/// The names in a directory (without `.` and `..`), sorted bytewise.
pub(crate) fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    // fdopendir takes ownership of its descriptor, so give it a duplicate.
    let dup = dir.try_clone_to_owned()?;
    let raw = std::os::fd::IntoRawFd::into_raw_fd(dup);
    // SAFETY: `raw` is a directory descriptor we own; closedir closes it.
    let dp = unsafe { libc::fdopendir(raw) };
    if dp.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so `raw` is still ours to close.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    // SAFETY: rewind so a reused descriptor lists from the start.
    unsafe { libc::rewinddir(dp) };
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno is thread-local; reset to tell end-of-directory from an error.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `dp` is a valid DIR stream.
        let ent = unsafe { libc::readdir64(dp) };
        if ent.is_null() {
            let errno = io::Error::last_os_error();
            break match errno.raw_os_error() {
                Some(0) | None => Ok(()),
                Some(_) => Err(errno),
            };
        }
        // SAFETY: d_name is NUL-terminated inside the entry readdir returned.
        let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    };
    // SAFETY: `dp` valid, closed once.
    unsafe { libc::closedir(dp) };
    result?;
    names.sort();
    Ok(names)
}

/// `mkdirat(dir, name, mode)`; `Ok(false)` if it already exists.
pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> io::Result<bool> {
    let c = cname(name)?;
    // SAFETY: valid descriptor and name.
    let rc = unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EEXIST) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// `symlinkat(target, dir, name)`: creates a symlink; never follows anything.
pub(crate) fn symlinkat(target: &[u8], dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let t = cname(target)?;
    let c = cname(name)?;
    // SAFETY: valid strings and descriptor.
    let rc = unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `linkat(old_dir, old, new_dir, new, 0)`: a hard link; does not follow a symlink at `old`.
pub(crate) fn linkat(
    old_dir: BorrowedFd<'_>,
    old: &[u8],
    new_dir: BorrowedFd<'_>,
    new: &[u8],
) -> io::Result<()> {
    let o = cname(old)?;
    let n = cname(new)?;
    // SAFETY: valid strings and descriptors.
    let rc = unsafe {
        libc::linkat(
            old_dir.as_raw_fd(),
            o.as_ptr(),
            new_dir.as_raw_fd(),
            n.as_ptr(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `fchmod`.
pub(crate) fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: valid descriptor.
    let rc = unsafe { libc::fchmod(fd.as_raw_fd(), mode) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets access and modification time of an open file.
pub(crate) fn futimens(fd: BorrowedFd<'_>, mtime_ns: i128) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(mtime_ns.div_euclid(1_000_000_000)).unwrap_or(0),
        tv_nsec: libc::c_long::try_from(mtime_ns.rem_euclid(1_000_000_000)).unwrap_or(0),
    };
    let times = [ts, ts];
    // SAFETY: valid descriptor and two timespecs.
    let rc = unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Tries to take an exclusive `flock` without blocking; `Ok(false)` if another holds it.
pub(crate) fn try_lock_exclusive(f: &File) -> io::Result<bool> {
    // SAFETY: valid descriptor.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Free bytes for unprivileged users on the file system holding `path`.
pub(crate) fn free_bytes(path: &std::path::Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = cname(path.as_os_str().as_bytes())?;
    // SAFETY: zeroed statvfs is a valid out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// A process's start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot), `None`
/// if the process does not exist or has died: a zombie (state `Z`, killed but not yet reaped
/// by its parent) still has its `/proc` entry, but holds no file and writes nothing.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm (field 2) may contain spaces and parentheses: fields after the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// `makedev` major/minor split.
pub(crate) fn dev_major_minor(rdev: u64) -> (u32, u32) {
    (libc::major(rdev), libc::minor(rdev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn open_beneath_refuses_symlinks_and_escapes() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("f"), b"x")?;
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("l"))?;
        let d = open_dir_path(dir.path())?;
        assert!(open_beneath(d.as_fd(), b"f", libc::O_RDONLY, 0, Confine::Beneath).is_ok());
        assert!(open_beneath(d.as_fd(), b"l", libc::O_RDONLY, 0, Confine::Beneath).is_err());
        assert!(open_beneath(d.as_fd(), b"../x", libc::O_RDONLY, 0, Confine::Beneath).is_err());
        let l = open_beneath(d.as_fd(), b"l", libc::O_PATH, 0, Confine::Beneath)?;
        assert_eq!(readlink_fd(l.as_fd())?, b"/etc/passwd");
        assert_eq!(list_dir(d.as_fd())?, vec![b"f".to_vec(), b"l".to_vec()]);
        assert!(process_start_time(std::process::id()).is_some());
        assert_eq!(process_start_time(u32::MAX), None);
        // A child that exited and was not reaped yet is a zombie: not running.
        let mut child = std::process::Command::new("true").spawn()?;
        let zombie = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            process_start_time(child.id()).is_none()
        });
        child.wait()?;
        assert!(zombie, "a zombie counts as running");
        assert!(free_bytes(dir.path())? > 0);
        Ok(())
    }
}
