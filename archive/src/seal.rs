//! Sealing a working directory into one signed archive, written atomically.
//!
//! Members, in this order: `capture.scap`, `capture.tail` (recovered archives with a damaged
//! capture only), `execs.jsonl`, `alerts.jsonl`, `fs/…` (copied file contents, in walk
//! order), `fsdiff.jsonl`, `metadata.json`, `manifest.json`, `manifest.sig`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::capture::{plan_as_is, plan_repaired, SegmentPlan};
use crate::error::{ArchiveError, Result};
use crate::fsdiff::{self, FsDiffOptions, DEFAULT_CONTENT_CAP};
use crate::fsutil;
use crate::key::NodeKey;
use crate::manifest::{
    members, signed_message, Manifest, ManifestMember, ManifestSignature, FORMAT_MAJOR,
    FORMAT_MINOR, MANIFEST_FORMAT, SIGNING_CONTEXT,
};
use crate::metadata::{Metadata, SealInfo, SealState};
use crate::pathenc::{escape_bytes, sanitize_component};
use crate::retention::disk_low;
use crate::tar::{Appended, TarWriter};
use crate::timefmt;
use crate::workdir::{files, WorkDir, WorkState};

/// Default root of the sealed archives.
pub const DEFAULT_ARCHIVES_ROOT: &str = "/var/lib/blackbox/archives";

/// Whole-archive compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveCompression {
    /// Plain tar (`.tar`).
    None,
    /// zstd at this level, 1–19 (`.tar.zst`).
    Zstd(i32),
}

/// How to seal.
#[derive(Debug, Clone)]
pub struct SealOptions {
    /// Root of the archive tree: `<root>/<namespace>/<pod>/<file>`.
    pub archives_root: PathBuf,
    /// Compression of the archive as a whole.
    pub compression: ArchiveCompression,
    /// `sealed` (the shim, at container delete) or `recovered` (after a crash).
    pub state: SealState,
    /// Overlay upper directory to diff; `None` uses the one recorded in the metadata
    /// (`overlay`), if any and if it still exists.
    pub upperdir: Option<PathBuf>,
    /// Lower directories (with `upperdir`).
    pub lowerdirs: Vec<PathBuf>,
    /// Budget of file contents copied into the archive.
    pub content_cap: u64,
    /// Entries of the file-system diff at most.
    pub max_fs_entries: u64,
    /// Below this many free bytes on the archive file system no file contents are copied.
    pub min_free_bytes: u64,
    /// Check every capture segment and cut damaged ends (recovery; see `capture.rs`).
    pub repair_capture: bool,
}

impl SealOptions {
    /// Defaults: plain tar, `sealed`, 64 MiB content budget, 1 GiB free-space guard.
    pub fn new(archives_root: impl Into<PathBuf>) -> Self {
        Self {
            archives_root: archives_root.into(),
            compression: ArchiveCompression::None,
            state: SealState::Sealed,
            upperdir: None,
            lowerdirs: Vec::new(),
            content_cap: DEFAULT_CONTENT_CAP,
            max_fs_entries: 200_000,
            min_free_bytes: 1 << 30,
            repair_capture: false,
        }
    }
}

/// What a seal produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedArchive {
    /// The archive file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// `sealed` or `recovered`.
    pub state: SealState,
    /// Members written (manifest and signature included).
    pub members: usize,
    /// The notes recorded in the archive's metadata.
    pub notes: Vec<String>,
}

/// Where the archive of `m` goes (before collision suffixes):
/// `<root>/<namespace>/<pod>/<container>-<short id>-<start>.tar[.zst]`. A container that is
/// not a pod's (`ctr run`) goes under `_containerd.<containerd namespace>/_/`: names that
/// a Kubernetes namespace (a DNS label) cannot take.
pub fn archive_path(root: &Path, m: &Metadata, compression: ArchiveCompression) -> PathBuf {
    let comp = |v: &Option<String>| sanitize_component(v.as_deref().unwrap_or("_"));
    let short: String = sanitize_component(&m.container_id)
        .chars()
        .take(12)
        .collect();
    let ext = match compression {
        ArchiveCompression::None => "tar",
        ArchiveCompression::Zstd(_) => "tar.zst",
    };
    let file = format!(
        "{}-{}-{}.{ext}",
        comp(&m.container_name),
        short,
        timefmt::compact(m.start_or_created())
    );
    let namespace = match (&m.pod_namespace, &m.containerd_namespace) {
        (Some(ns), _) => sanitize_component(ns),
        (None, Some(cns)) => sanitize_component(&format!("_containerd.{cns}")),
        (None, None) => "_".to_string(),
    };
    root.join(namespace)
        .join(comp(&m.pod_name))
        .join(sanitize_component(&file))
}

enum Sink {
    Plain(BufWriter<File>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

impl Sink {
    fn finish(self) -> io::Result<File> {
        let bw = match self {
            Sink::Plain(w) => w,
            Sink::Zstd(w) => w.finish()?,
        };
        bw.into_inner().map_err(io::IntoInnerError::into_error)
    }
}

struct Members<'a> {
    tar: TarWriter<Sink>,
    list: Vec<ManifestMember>,
    tmp: &'a Path,
}

impl Members<'_> {
    fn add(&mut self, name: &[u8], size: u64, src: &mut dyn Read) -> Result<Appended> {
        let a = self
            .tar
            .append(name, size, src)
            .map_err(|e| ArchiveError::io("write archive", self.tmp, e))?;
        self.record(name, size, &a);
        Ok(a)
    }

    fn record(&mut self, name: &[u8], size: u64, a: &Appended) {
        self.list.push(ManifestMember {
            name: escape_bytes(name),
            size,
            sha256: hex::encode(a.sha256),
        });
    }
}

/// Seals `work` into a signed archive under `opts.archives_root`, atomically (a temporary
/// hidden file in the destination directory, fsync, rename without replacing, directory
/// fsync), and marks the working directory sealed. The working directory is left in place
/// (remove it with [`WorkDir::remove`]).
pub fn seal(work: &WorkDir, key: &NodeKey, opts: &SealOptions) -> Result<SealedArchive> {
    if let ArchiveCompression::Zstd(l) = opts.compression {
        if !(1..=19).contains(&l) {
            return Err(ArchiveError::InvalidOption(format!(
                "zstd level {l} (1–19)"
            )));
        }
    }
    work.set_state(&WorkState::Sealing)?;
    let sealed_at = timefmt::now_rfc3339();
    let mut meta = work.metadata().clone();
    let final_path = archive_path(&opts.archives_root, &meta, opts.compression);
    let dir = final_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| opts.archives_root.clone());
    fsutil::create_dir_all(&dir, 0o700)?;
    let tmp = fsutil::temp_sibling(&final_path);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(|e| ArchiveError::io("create", &tmp, e))?;
    let written = write_archive(work, key, opts, &mut meta, &sealed_at, file, &tmp);
    let (count, notes) = match written {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let path = match place(&tmp, &final_path) {
        Ok(p) => p,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    fsutil::fsync_dir(&dir)?;
    work.set_state(&WorkState::Sealed(path.clone()))?;
    let size = std::fs::metadata(&path)
        .map_err(|e| ArchiveError::io("stat", &path, e))?
        .len();
    Ok(SealedArchive {
        path,
        size,
        state: opts.state,
        members: count,
        notes,
    })
}

/// Renames the finished temp file to `want`, or `want` with `-1`, `-2`, … before the
/// extension when taken.
fn place(tmp: &Path, want: &Path) -> Result<PathBuf> {
    let name = want
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.find(".tar") {
        Some(i) => (name[..i].to_owned(), name[i..].to_owned()),
        None => (name.clone(), String::new()),
    };
    for i in 0..1000 {
        let candidate = if i == 0 {
            want.to_path_buf()
        } else {
            want.with_file_name(format!("{stem}-{i}{ext}"))
        };
        if fsutil::rename_noreplace(tmp, &candidate)? {
            return Ok(candidate);
        }
    }
    Err(ArchiveError::io(
        "rename into place",
        want,
        io::Error::new(io::ErrorKind::AlreadyExists, "1000 archives of that name"),
    ))
}

fn write_archive(
    work: &WorkDir,
    key: &NodeKey,
    opts: &SealOptions,
    meta: &mut Metadata,
    sealed_at: &str,
    file: File,
    tmp: &Path,
) -> Result<(usize, Vec<String>)> {
    let bw = BufWriter::with_capacity(256 * 1024, file);
    let sink = match opts.compression {
        ArchiveCompression::None => Sink::Plain(bw),
        ArchiveCompression::Zstd(level) => {
            let mut e = zstd::stream::write::Encoder::new(bw, level)
                .map_err(|e| ArchiveError::io("start zstd", tmp, e))?;
            e.include_checksum(true)
                .map_err(|e| ArchiveError::io("start zstd", tmp, e))?;
            Sink::Zstd(e)
        }
    };
    let mtime = timefmt::parse_rfc3339(sealed_at)
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let mut m = Members {
        tar: TarWriter::new(sink, mtime),
        list: Vec::new(),
        tmp,
    };
    let mut notes = Vec::new();

    // The capture.
    let segments = work.capture_segments()?;
    let plans: Vec<SegmentPlan> = segments
        .iter()
        .map(|p| {
            if opts.repair_capture {
                plan_repaired(p)
            } else {
                plan_as_is(p)
            }
        })
        .collect::<Result<_>>()?;
    notes.extend(plans.iter().filter_map(|p| p.note.clone()));
    if segments.is_empty() {
        notes.push("no capture was written (recording off or failed to start)".into());
    }
    let capture_bytes: u64 = plans.iter().map(|p| p.keep + p.salvage.len() as u64).sum();
    let mut src = SegmentsReader::new(&plans, false);
    let a = m.add(members::CAPTURE.as_bytes(), capture_bytes, &mut src)?;
    if let Some(e) = src.err.take() {
        return Err(e);
    }
    if a.source_bytes != capture_bytes || a.source_longer {
        notes.push("capture segments changed while sealing".into());
    }
    let trimmed: u64 = plans.iter().map(|p| p.tail).sum();
    if trimmed > 0 {
        let mut src = SegmentsReader::new(&plans, true);
        m.add(members::CAPTURE_TAIL.as_bytes(), trimmed, &mut src)?;
        if let Some(e) = src.err.take() {
            return Err(e);
        }
    }

    // Execs and alerts.
    for (file, member) in [
        (files::EXECS, members::EXECS),
        (files::ALERTS, members::ALERTS),
    ] {
        let p = work.path().join(file);
        match File::open(&p) {
            Ok(f) => {
                let len = f
                    .metadata()
                    .map_err(|e| ArchiveError::io("stat", &p, e))?
                    .len();
                if file == files::EXECS && len <= MAX_EXECS_MERGE_BYTES {
                    // One line per session: the shim appends one at the start (durable
                    // if it dies) and one at the end.
                    let mut raw = Vec::new();
                    (&f).take(len)
                        .read_to_end(&mut raw)
                        .map_err(|e| ArchiveError::io("read", &p, e))?;
                    let merged = merge_exec_sessions(&raw);
                    m.add(
                        member.as_bytes(),
                        merged.len() as u64,
                        &mut merged.as_slice(),
                    )?;
                    if (raw.len() as u64) < len {
                        notes.push(format!("{file}: shorter than expected while sealing"));
                    }
                } else {
                    let a = m.add(member.as_bytes(), len, &mut &f)?;
                    if a.source_bytes < len {
                        notes.push(format!("{file}: shorter than expected while sealing"));
                    }
                }
                if !last_line_complete(&p, len) {
                    notes.push(format!(
                        "{file}: the last line is incomplete (interrupted write)"
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                m.add(member.as_bytes(), 0, &mut io::empty())?;
            }
            Err(e) => return Err(ArchiveError::io("open", &p, e)),
        }
    }

    // The file-system diff.
    let mut index = Vec::new();
    let fs = fs_options(opts, meta, &mut notes);
    let (entries, copied) = match fs {
        Some(fso) => {
            let tar = &mut m;
            let mut sink = |name: &[u8], size: u64, src: &mut dyn Read| {
                let a = tar.tar.append(name, size, src)?;
                tar.record(name, size, &a);
                Ok(a)
            };
            let mut on_entry = |e: &fsdiff::FsEntry| {
                serde_json::to_writer(&mut index, e).map_err(|err| ArchiveError::Json {
                    path: PathBuf::from(members::FSDIFF),
                    reason: err.to_string(),
                })?;
                index.push(b'\n');
                Ok(())
            };
            match fsdiff::walk(&fso, &mut sink, &mut on_entry) {
                Ok(s) => {
                    notes.extend(s.notes);
                    if s.not_copied > 0 {
                        notes.push(format!(
                            "{} regular files listed and hashed but not copied (content budget {} bytes{})",
                            s.not_copied,
                            fso.content_cap,
                            if fso.copy_contents { "" } else { ", copying off: low disk" }
                        ));
                    }
                    (s.entries, s.copied_bytes)
                }
                Err(ArchiveError::FsDiff { path, reason }) => {
                    notes.push(format!(
                        "file-system diff of {} failed: {reason}",
                        path.display()
                    ));
                    (0, 0)
                }
                Err(e) => return Err(e),
            }
        }
        None => (0, 0),
    };
    m.add(
        members::FSDIFF.as_bytes(),
        index.len() as u64,
        &mut &index[..],
    )?;

    // Metadata.
    meta.notes.extend(notes.iter().cloned());
    meta.seal = Some(SealInfo {
        state: opts.state,
        sealed_at: sealed_at.to_owned(),
        capture_segments: segments
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect(),
        capture_bytes,
        capture_trimmed_bytes: trimmed,
        fsdiff_entries: entries,
        fsdiff_copied_bytes: copied,
    });
    let mut mbytes = serde_json::to_vec_pretty(&*meta).map_err(|e| ArchiveError::Json {
        path: PathBuf::from(members::METADATA),
        reason: e.to_string(),
    })?;
    mbytes.push(b'\n');
    m.add(
        members::METADATA.as_bytes(),
        mbytes.len() as u64,
        &mut &mbytes[..],
    )?;

    // Manifest and signature.
    let public = key.public_key();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_owned(),
        version_major: FORMAT_MAJOR,
        version_minor: FORMAT_MINOR,
        container_id: meta.container_id.clone(),
        seal_state: opts.state.as_str().to_owned(),
        sealed_at: sealed_at.to_owned(),
        key_fingerprint: public.fingerprint(),
        public_key: public.to_hex(),
        members: std::mem::take(&mut m.list),
    };
    let count = manifest.members.len() + 2;
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| ArchiveError::Json {
            path: PathBuf::from(members::MANIFEST),
            reason: e.to_string(),
        })?;
    manifest_bytes.push(b'\n');
    let sig = key.sign(&signed_message(&manifest_bytes));
    let signature = ManifestSignature {
        algorithm: "ed25519".into(),
        key_fingerprint: public.fingerprint(),
        signed_member: members::MANIFEST.into(),
        context: String::from_utf8_lossy(SIGNING_CONTEXT).into_owned(),
        signature: hex::encode(sig),
    };
    let mut sig_bytes = serde_json::to_vec_pretty(&signature).map_err(|e| ArchiveError::Json {
        path: PathBuf::from(members::SIGNATURE),
        reason: e.to_string(),
    })?;
    sig_bytes.push(b'\n');
    let io_err = |e| ArchiveError::io("write archive", tmp, e);
    m.tar
        .append_bytes(members::MANIFEST.as_bytes(), &manifest_bytes)
        .map_err(io_err)?;
    m.tar
        .append_bytes(members::SIGNATURE.as_bytes(), &sig_bytes)
        .map_err(io_err)?;
    let sink = m.tar.finish().map_err(io_err)?;
    let file = sink.finish().map_err(io_err)?;
    file.sync_all()
        .map_err(|e| ArchiveError::io("fsync", tmp, e))?;
    Ok((count, notes))
}

fn fs_options(
    opts: &SealOptions,
    meta: &Metadata,
    notes: &mut Vec<String>,
) -> Option<FsDiffOptions> {
    let (upper, lower) = match (&opts.upperdir, &meta.overlay) {
        (Some(u), _) => (u.clone(), opts.lowerdirs.clone()),
        (None, Some(o)) => (
            PathBuf::from(&o.upper),
            o.lower.iter().map(PathBuf::from).collect(),
        ),
        (None, None) => {
            notes.push("no overlay upper directory known: no file-system diff".into());
            return None;
        }
    };
    let mut fso = FsDiffOptions::new(upper);
    fso.lower = lower;
    fso.content_cap = opts.content_cap;
    fso.max_entries = opts.max_fs_entries;
    fso.copy_contents = !disk_low(&opts.archives_root, opts.min_free_bytes);
    Some(fso)
}

fn last_line_complete(p: &Path, len: u64) -> bool {
    if len == 0 {
        return true;
    }
    let mut f = match File::open(p) {
        Ok(f) => f,
        Err(_) => return true,
    };
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1)).is_ok() && f.read_exact(&mut b).is_ok() && b[0] == b'\n'
}

/// Reads the kept part (and salvage) of every segment in order, or their raw tails.
struct SegmentsReader<'a> {
    plans: &'a [SegmentPlan],
    tails: bool,
    idx: usize,
    cur: Option<Box<dyn Read + 'a>>,
    err: Option<ArchiveError>,
}

impl<'a> SegmentsReader<'a> {
    fn new(plans: &'a [SegmentPlan], tails: bool) -> Self {
        Self {
            plans,
            tails,
            idx: 0,
            cur: None,
            err: None,
        }
    }

    fn open(&mut self) -> Option<Box<dyn Read + 'a>> {
        let p = self.plans.get(self.idx)?;
        self.idx += 1;
        let mut f = match File::open(&p.path) {
            Ok(f) => f,
            Err(e) => {
                self.err = Some(ArchiveError::io("open capture", &p.path, e));
                return None;
            }
        };
        if self.tails {
            if let Err(e) = f.seek(SeekFrom::Start(p.keep)) {
                self.err = Some(ArchiveError::io("seek capture", &p.path, e));
                return None;
            }
            Some(Box::new(f.take(p.tail)))
        } else {
            Some(Box::new(f.take(p.keep).chain(&p.salvage[..])))
        }
    }
}

impl Read for SegmentsReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.err.is_some() {
                return Ok(0);
            }
            if self.cur.is_none() {
                self.cur = self.open();
                if self.cur.is_none() {
                    return Ok(0);
                }
            }
            let n = match self.cur.as_mut().map(|r| r.read(buf)) {
                Some(Ok(n)) => n,
                Some(Err(e)) => {
                    let path = self
                        .plans
                        .get(self.idx.saturating_sub(1))
                        .map(|p| p.path.clone())
                        .unwrap_or_default();
                    self.err = Some(ArchiveError::io("read capture", path, e));
                    return Ok(0);
                }
                None => 0,
            };
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.cur = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContainerIdentity;

    #[test]
    fn archives_are_filed_by_pod_or_containerd_namespace() {
        let root = Path::new("/a");
        let mut id = ContainerIdentity {
            id: "0123456789abcdef".into(),
            containerd_namespace: Some("default".into()),
            ..ContainerIdentity::default()
        };
        let m = Metadata::new(&id, "2026-12-01T10:00:00Z".into());
        assert_eq!(
            archive_path(root, &m, ArchiveCompression::None),
            Path::new("/a/_containerd.default/_/_-0123456789ab-20261201T100000Z.tar")
        );
        id.pod_namespace = Some("prod".into());
        id.pod_name = Some("web-1".into());
        id.name = Some("nginx".into());
        let m = Metadata::new(&id, "2026-12-01T10:00:00Z".into());
        assert_eq!(
            archive_path(root, &m, ArchiveCompression::Zstd(3)),
            Path::new("/a/prod/web-1/nginx-0123456789ab-20261201T100000Z.tar.zst")
        );
    }
}

/// `execs.jsonl` larger than this is sealed as it is (line per start and per end).
const MAX_EXECS_MERGE_BYTES: u64 = 64 << 20;

/// Folds the working directory's exec lines into one record per session: the fields of a
/// later line with the same `exec_id` replace the earlier ones, at the session's first
/// position. A line that is not a JSON object with an `exec_id` (an interrupted write) is
/// kept as it is, so nothing recorded is dropped.
pub(crate) fn merge_exec_sessions(raw: &[u8]) -> Vec<u8> {
    enum Line<'a> {
        Session(serde_json::Map<String, serde_json::Value>),
        Raw(&'a [u8]),
    }
    let mut lines: Vec<Line<'_>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in raw.split_inclusive(|b| *b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.is_empty() {
            continue;
        }
        let parsed = line
            .ends_with(b"\n")
            .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
            .flatten();
        let Some(serde_json::Value::Object(obj)) = parsed else {
            lines.push(Line::Raw(line));
            continue;
        };
        let Some(id) = obj
            .get("exec_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
        else {
            lines.push(Line::Raw(line));
            continue;
        };
        match index.get(&id).and_then(|&i| lines.get_mut(i)) {
            Some(Line::Session(prev)) => prev.extend(obj),
            _ => {
                index.insert(id, lines.len());
                lines.push(Line::Session(obj));
            }
        }
    }
    let mut out = Vec::with_capacity(raw.len());
    for l in lines {
        match l {
            Line::Session(obj) => {
                // A map of JSON values always serialises.
                if serde_json::to_writer(&mut out, &obj).is_ok() {
                    out.push(b'\n');
                }
            }
            Line::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
    out
}

#[cfg(test)]
mod exec_merge_tests {
    use super::merge_exec_sessions;

    #[test]
    fn one_line_per_session_and_nothing_dropped() {
        let raw = concat!(
            r#"{"exec_id":"a","argv":["sh"],"tty":false,"started_at":"t1","pids":[7]}"#,
            "\n",
            r#"{"exec_id":"b","argv":["ls"],"tty":true,"started_at":"t2","pids":[9]}"#,
            "\n",
            r#"{"exec_id":"a","argv":["sh"],"tty":false,"started_at":"t1","ended_at":"t3","exit_code":5,"pids":[7]}"#,
            "\n",
            "not json\n",
            r#"{"exec_id":"b","argv":"#,
        );
        let out = String::from_utf8(merge_exec_sessions(raw.as_bytes())).unwrap_or_default();
        let lines: Vec<&str> = out.split_inclusive('\n').collect();
        assert_eq!(lines.len(), 4, "{out}");
        let a: serde_json::Value = serde_json::from_str(lines[0]).unwrap_or_default();
        assert_eq!(a["exec_id"], "a");
        assert_eq!(a["exit_code"], 5);
        assert_eq!(a["ended_at"], "t3");
        assert_eq!(a["started_at"], "t1");
        let b: serde_json::Value = serde_json::from_str(lines[1]).unwrap_or_default();
        assert_eq!(b["exec_id"], "b");
        assert!(b.get("exit_code").is_none());
        assert_eq!(lines[2], "not json\n");
        assert_eq!(lines[3], r#"{"exec_id":"b","argv":"#);
    }
}
