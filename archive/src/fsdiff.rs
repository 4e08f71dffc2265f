//! The file-system diff: a walk of the container's overlay upper directory that never follows
//! a symlink and never leaves the directory (every entry is opened with `openat2`
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV` relative
//! to its parent's descriptor, symlinks/devices/fifos/sockets only with `O_PATH`, and what is
//! opened is checked with `fstat`). FIFOs and devices are never read.
//!
//! Each entry becomes a line of `fsdiff.jsonl` ([`FsEntry`]); regular-file contents are handed
//! to a sink (the archive's `fs/…` members) within a byte budget.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ArchiveError, Result};
use crate::pathenc::escape_bytes;
use crate::sys::{self, Confine};
use crate::tar::Appended;

/// Default budget of file contents copied into one archive.
pub const DEFAULT_CONTENT_CAP: u64 = 64 << 20;

/// Options of the walk.
#[derive(Debug, Clone)]
pub struct FsDiffOptions {
    /// The overlay upper directory.
    pub upper: PathBuf,
    /// Lower directories (to tell created from modified); may be empty.
    pub lower: Vec<PathBuf>,
    /// Copy regular-file contents at all (off when the disk is low).
    pub copy_contents: bool,
    /// Bytes of file contents copied at most ([`DEFAULT_CONTENT_CAP`]).
    pub content_cap: u64,
    /// Files larger than this are listed without a hash.
    pub max_hash_bytes: u64,
    /// Entries listed at most; the walk stops there (noted).
    pub max_entries: u64,
    /// Directory depth descended at most.
    pub max_depth: usize,
}

impl FsDiffOptions {
    /// Defaults for `upper`.
    pub fn new(upper: impl Into<PathBuf>) -> Self {
        Self {
            upper: upper.into(),
            lower: Vec::new(),
            copy_contents: true,
            content_cap: DEFAULT_CONTENT_CAP,
            max_hash_bytes: 4 << 30,
            max_entries: 200_000,
            max_depth: 512,
        }
    }
}

/// What kind of file an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Overlay whiteout (a deleted lower file): char device 0/0, or an empty file with the
    /// `overlay.whiteout` xattr.
    Whiteout,
    /// Could not be determined.
    Unknown,
}

/// What happened to the path, as far as the upper directory tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Not in any lower directory (or under an opaque directory).
    Created,
    /// Present in a lower directory too.
    Modified,
    /// No lower directories given: cannot tell.
    CreatedOrModified,
    /// A whiteout: deleted from the lower layers.
    Deleted,
}

/// What became of a regular file's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Copied into the archive under `member`.
    Copied,
    /// Not copied: the archive's content budget was spent.
    NotCopiedCap,
    /// Not copied: copying was off (low disk).
    NotCopiedDisabled,
    /// A hard link to `link_to`, whose content is recorded there.
    Hardlink,
    /// Could not be read (see `error`).
    Unreadable,
}

/// One line of `fsdiff.jsonl`. Paths use the escaped form (see `pathenc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsEntry {
    /// Path relative to the container root, escaped.
    pub path: String,
    /// Kind.
    pub kind: FileKind,
    /// Change.
    pub change: Change,
    /// A directory that hides the lower layers' contents (`overlay.opaque=y`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub opaque: bool,
    /// Permission bits including set-id and sticky bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Link count.
    pub nlink: u64,
    /// Modification time (RFC 3339, ns).
    pub mtime: String,
    /// Status change time (RFC 3339, ns).
    pub ctime: String,
    /// Device numbers of a device node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rdev: Option<(u32, u32)>,
    /// Symlink target, escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symlink_target: Option<String>,
    /// SHA-256 of the bytes read (regular files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What became of the contents (regular files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// The archive member holding the contents, escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Earlier path of the same inode (hard link), escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_to: Option<String>,
    /// Size, mtime or ctime differed before and after reading, or fewer/more bytes came
    /// than the size said: the contents and hash may be inconsistent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub changed_while_read: bool,
    /// Why something about the entry could not be recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Totals of a walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsDiffSummary {
    /// Entries listed.
    pub entries: u64,
    /// Content bytes copied.
    pub copied_bytes: u64,
    /// Regular files whose contents were not copied.
    pub not_copied: u64,
    /// Notes for the metadata (limits hit, …).
    pub notes: Vec<String>,
}

/// Receives regular-file contents: `(raw path, declared size, source)`. Errors are errors of
/// the destination (fatal); the source never fails (read errors end it early).
pub(crate) type ContentSink<'a> = dyn FnMut(&[u8], u64, &mut dyn Read) -> io::Result<Appended> + 'a;

/// Walks `opts.upper`, calling `entry` for every entry (in walk order) and `sink` for the
/// contents of regular files that fit the budget.
pub(crate) fn walk(
    opts: &FsDiffOptions,
    sink: &mut ContentSink<'_>,
    entry: &mut dyn FnMut(&FsEntry) -> Result<()>,
) -> Result<FsDiffSummary> {
    let root = sys::open_dir_path(&opts.upper).map_err(|e| ArchiveError::FsDiff {
        path: opts.upper.clone(),
        reason: format!("cannot open the upper directory: {e}"),
    })?;
    let mut lowers = Vec::new();
    let mut summary = FsDiffSummary::default();
    for l in &opts.lower {
        match sys::open_dir_path(l) {
            Ok(fd) => lowers.push(fd),
            Err(e) => summary.notes.push(format!(
                "lower directory {} not usable ({e}); changes may be reported as created",
                l.display()
            )),
        }
    }
    let mut w = Walker {
        opts,
        lowers,
        budget: opts.content_cap,
        links: HashMap::new(),
        summary,
        sink,
        entry,
        stopped: false,
    };
    let names = sys::list_dir(root.as_fd()).map_err(|e| ArchiveError::FsDiff {
        path: opts.upper.clone(),
        reason: format!("cannot list the upper directory: {e}"),
    })?;
    let mut stack = vec![Frame {
        fd: root,
        rel: Vec::new(),
        names,
        next: 0,
        under_opaque: false,
    }];
    loop {
        let depth = stack.len();
        let Some(top) = stack.last_mut() else { break };
        if w.stopped || top.next >= top.names.len() {
            stack.pop();
            continue;
        }
        let name = std::mem::take(&mut top.names[top.next]);
        top.next += 1;
        let mut rel = top.rel.clone();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(&name);
        let under_opaque = top.under_opaque;
        if let Some(child) = w.visit(top.fd.as_fd(), &name, rel, under_opaque, depth)? {
            stack.push(child);
        }
    }
    Ok(w.summary)
}

struct Frame {
    fd: OwnedFd,
    rel: Vec<u8>,
    names: Vec<Vec<u8>>,
    next: usize,
    under_opaque: bool,
}

struct Walker<'o, 's, 'e> {
    opts: &'o FsDiffOptions,
    lowers: Vec<OwnedFd>,
    budget: u64,
    links: HashMap<(u64, u64), (String, Option<String>)>,
    summary: FsDiffSummary,
    sink: &'s mut ContentSink<'s>,
    entry: &'e mut dyn FnMut(&FsEntry) -> Result<()>,
    stopped: bool,
}

fn ns(sec: i64, nsec: i64) -> i128 {
    i128::from(sec) * 1_000_000_000 + i128::from(nsec)
}

fn base_entry(rel: &[u8], st: &libc::stat) -> FsEntry {
    FsEntry {
        path: escape_bytes(rel),
        kind: FileKind::Unknown,
        change: Change::CreatedOrModified,
        opaque: false,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        size: u64::try_from(st.st_size).unwrap_or(0),
        nlink: st.st_nlink,
        mtime: crate::timefmt::format_unix_ns(ns(st.st_mtime, st.st_mtime_nsec)),
        ctime: crate::timefmt::format_unix_ns(ns(st.st_ctime, st.st_ctime_nsec)),
        rdev: None,
        symlink_target: None,
        sha256: None,
        content: None,
        member: None,
        link_to: None,
        changed_while_read: false,
        error: None,
    }
}

/// A source that turns read errors into an early end (the error is kept).
struct Guarded<'a> {
    f: &'a File,
    err: Option<io::Error>,
}

impl Read for Guarded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.err.is_some() {
            return Ok(0);
        }
        loop {
            match (&mut &*self.f).read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.err = Some(e);
                    return Ok(0);
                }
            }
        }
    }
}

impl Walker<'_, '_, '_> {
    fn emit(&mut self, e: &FsEntry) -> Result<()> {
        self.summary.entries += 1;
        (self.entry)(e)?;
        if self.summary.entries >= self.opts.max_entries {
            self.stopped = true;
            self.summary.notes.push(format!(
                "file-system diff stopped after {} entries (limit)",
                self.opts.max_entries
            ));
        }
        Ok(())
    }

    fn change(&self, rel: &[u8], under_opaque: bool) -> Change {
        if under_opaque {
            return Change::Created;
        }
        if self.lowers.is_empty() {
            return Change::CreatedOrModified;
        }
        let mut unknown = false;
        for l in &self.lowers {
            match sys::open_beneath(l.as_fd(), rel, libc::O_PATH, 0, Confine::Beneath) {
                Ok(_) => return Change::Modified,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {}
                Err(_) => unknown = true,
            }
        }
        if unknown {
            Change::CreatedOrModified
        } else {
            Change::Created
        }
    }

    fn visit(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        rel: Vec<u8>,
        under_opaque: bool,
        depth: usize,
    ) -> Result<Option<Frame>> {
        let opath = match sys::open_beneath(dir, name, libc::O_PATH, 0, Confine::BeneathSameMount) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => {
                // SAFETY: an all-zero stat is a valid value.
                let zero: libc::stat = unsafe { std::mem::zeroed() };
                let mut ent = base_entry(&rel, &zero);
                ent.error = Some(if e.raw_os_error() == Some(libc::EXDEV) {
                    "a mount point: not descended".to_owned()
                } else {
                    format!("cannot open: {e}")
                });
                self.emit(&ent)?;
                return Ok(None);
            }
        };
        let st = match sys::fstat(opath.as_fd()) {
            Ok(st) => st,
            Err(e) => {
                // SAFETY: an all-zero stat is a valid value.
                let zero: libc::stat = unsafe { std::mem::zeroed() };
                let mut ent = base_entry(&rel, &zero);
                ent.error = Some(format!("fstat: {e}"));
                self.emit(&ent)?;
                return Ok(None);
            }
        };
        let mut ent = base_entry(&rel, &st);
        ent.change = self.change(&rel, under_opaque);
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                ent.kind = FileKind::Dir;
                let fd = match sys::open_beneath(
                    dir,
                    name,
                    libc::O_RDONLY | libc::O_DIRECTORY,
                    0,
                    Confine::BeneathSameMount,
                ) {
                    Ok(fd) => fd,
                    Err(e) => {
                        ent.error = Some(format!("cannot open directory: {e}"));
                        self.emit(&ent)?;
                        return Ok(None);
                    }
                };
                if !same_inode(&fd, &st) {
                    ent.changed_while_read = true;
                    ent.error = Some("replaced while walking".into());
                    self.emit(&ent)?;
                    return Ok(None);
                }
                ent.opaque = is_opaque(fd.as_fd());
                self.emit(&ent)?;
                if self.stopped {
                    return Ok(None);
                }
                if depth >= self.opts.max_depth {
                    self.summary.notes.push(format!(
                        "{}: deeper than {} levels, not descended",
                        ent.path, self.opts.max_depth
                    ));
                    return Ok(None);
                }
                return match sys::list_dir(fd.as_fd()) {
                    Ok(names) => Ok(Some(Frame {
                        fd,
                        rel,
                        names,
                        next: 0,
                        under_opaque: under_opaque || ent.opaque,
                    })),
                    Err(e) => {
                        self.summary
                            .notes
                            .push(format!("{}: cannot list: {e}", ent.path));
                        Ok(None)
                    }
                };
            }
            libc::S_IFLNK => {
                ent.kind = FileKind::Symlink;
                match sys::readlink_fd(opath.as_fd()) {
                    Ok(t) => ent.symlink_target = Some(escape_bytes(&t)),
                    Err(e) => ent.error = Some(format!("readlink: {e}")),
                }
            }
            libc::S_IFCHR => {
                if st.st_rdev == 0 {
                    ent.kind = FileKind::Whiteout;
                    ent.change = Change::Deleted;
                } else {
                    ent.kind = FileKind::CharDevice;
                    ent.rdev = Some(sys::dev_major_minor(st.st_rdev));
                }
            }
            libc::S_IFBLK => {
                ent.kind = FileKind::BlockDevice;
                ent.rdev = Some(sys::dev_major_minor(st.st_rdev));
            }
            libc::S_IFIFO => ent.kind = FileKind::Fifo,
            libc::S_IFSOCK => ent.kind = FileKind::Socket,
            libc::S_IFREG => {
                ent.kind = FileKind::File;
                drop(opath);
                self.regular(dir, name, &rel, &st, &mut ent)?;
            }
            _ => ent.kind = FileKind::Unknown,
        }
        self.emit(&ent)?;
        Ok(None)
    }

    fn regular(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        rel: &[u8],
        st: &libc::stat,
        ent: &mut FsEntry,
    ) -> Result<()> {
        let key = (st.st_dev, st.st_ino);
        if st.st_nlink > 1 {
            if let Some((first, sha)) = self.links.get(&key) {
                ent.link_to = Some(first.clone());
                ent.sha256 = sha.clone();
                ent.content = Some(Content::Hardlink);
                return Ok(());
            }
        }
        // O_NONBLOCK: should the name have become a FIFO since, opening it does not block
        // (and the fstat below refuses it). O_NOATIME keeps the evidence's atime.
        let base = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
        let fd = match sys::open_beneath(
            dir,
            name,
            base | libc::O_NOATIME,
            0,
            Confine::BeneathSameMount,
        ) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                sys::open_beneath(dir, name, base, 0, Confine::BeneathSameMount)
            }
            r => r,
        };
        let fd = match fd {
            Ok(fd) => fd,
            Err(e) => {
                ent.content = Some(Content::Unreadable);
                ent.error = Some(format!("cannot open: {e}"));
                return Ok(());
            }
        };
        let before = match sys::fstat(fd.as_fd()) {
            Ok(s) if s.st_mode & libc::S_IFMT == libc::S_IFREG && same_inode(&fd, st) => s,
            _ => {
                ent.content = Some(Content::Unreadable);
                ent.changed_while_read = true;
                ent.error = Some("replaced while walking".into());
                return Ok(());
            }
        };
        if before.st_size == 0 && is_xwhiteout(fd.as_fd()) {
            ent.kind = FileKind::Whiteout;
            ent.change = Change::Deleted;
            return Ok(());
        }
        let size = u64::try_from(before.st_size).unwrap_or(0);
        let file = File::from(fd);
        let mut src = Guarded {
            f: &file,
            err: None,
        };
        let copy = self.opts.copy_contents && size <= self.budget;
        let (sha, read, longer) = if copy {
            let mut member = b"fs/".to_vec();
            member.extend_from_slice(rel);
            let a = (self.sink)(&member, size, &mut src).map_err(|e| ArchiveError::Io {
                op: "write archive member",
                path: PathBuf::from(escape_bytes(&member)),
                source: e,
            })?;
            self.budget -= size;
            self.summary.copied_bytes += size;
            ent.content = Some(Content::Copied);
            ent.member = Some(escape_bytes(&member));
            (Some(a.source_sha256), a.source_bytes, a.source_longer)
        } else {
            self.summary.not_copied += 1;
            ent.content = Some(if self.opts.copy_contents {
                Content::NotCopiedCap
            } else {
                Content::NotCopiedDisabled
            });
            if size > self.opts.max_hash_bytes {
                ent.error = Some(format!(
                    "larger than {} bytes: not hashed",
                    self.opts.max_hash_bytes
                ));
                (None, size, false)
            } else {
                let (h, n, longer) = hash_up_to(&mut src, size);
                (Some(h), n, longer)
            }
        };
        if let Some(e) = src.err.take() {
            ent.error = Some(format!("read: {e}"));
        }
        let after = sys::fstat(file.as_fd()).ok();
        ent.changed_while_read = read != size
            || longer
            || after.is_none_or(|a| {
                a.st_size != before.st_size
                    || a.st_mtime != before.st_mtime
                    || a.st_mtime_nsec != before.st_mtime_nsec
                    || a.st_ctime != before.st_ctime
                    || a.st_ctime_nsec != before.st_ctime_nsec
            });
        ent.sha256 = sha.map(hex::encode);
        ent.size = size;
        if st.st_nlink > 1 {
            self.links
                .insert(key, (ent.path.clone(), ent.sha256.clone()));
        }
        Ok(())
    }
}

fn hash_up_to(src: &mut dyn Read, size: u64) -> ([u8; 32], u64, bool) {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < size {
        let want = usize::try_from((size - done).min(buf.len() as u64)).unwrap_or(buf.len());
        match src.read(&mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                done += n as u64;
            }
        }
    }
    let mut probe = [0u8; 1];
    let longer = done == size && matches!(src.read(&mut probe), Ok(1));
    (h.finalize().into(), done, longer)
}

fn same_inode(fd: &OwnedFd, st: &libc::stat) -> bool {
    sys::fstat(fd.as_fd()).is_ok_and(|s| s.st_ino == st.st_ino && s.st_dev == st.st_dev)
}

fn is_opaque(fd: BorrowedFd<'_>) -> bool {
    ["trusted.overlay.opaque", "user.overlay.opaque"]
        .iter()
        .any(|x| sys::fgetxattr(fd, x).is_some_and(|v| v == b"y"))
}

fn is_xwhiteout(fd: BorrowedFd<'_>) -> bool {
    ["trusted.overlay.whiteout", "user.overlay.whiteout"]
        .iter()
        .any(|x| sys::fgetxattr(fd, x).is_some())
}
