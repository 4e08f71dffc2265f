//! Opening an archive (`.tar` or `.tar.zst`) for reading, with strict, bounded parsing: the
//! whole stream is read once at open, every member hashed, and the small JSON members kept.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{ArchiveError, Result};
use crate::manifest::{members, Manifest, ManifestSignature};
use crate::metadata::Metadata;
use crate::pathenc::escape_bytes;
use crate::tar::{read_members, ReadLimits, TarError};

/// Largest JSON member (manifest, signature, metadata) kept in memory.
const MAX_JSON_MEMBER: u64 = 16 << 20;
/// zstd window accepted (2^25 = 32 MiB; levels 1–19 use at most 2^23).
const ZSTD_WINDOW_LOG_MAX: u32 = 25;

/// How the archive file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// Plain tar.
    Tar,
    /// tar compressed as a whole with zstd.
    TarZstd,
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// Raw name.
    pub name: Vec<u8>,
    /// Size of the data.
    pub size: u64,
    /// SHA-256 of the data.
    pub sha256: [u8; 32],
    /// Offset of the data in the (decompressed) tar stream.
    pub data_offset: u64,
}

impl MemberInfo {
    /// The name in the escaped form.
    pub fn display_name(&self) -> String {
        escape_bytes(&self.name)
    }
}

/// An archive opened for reading.
#[derive(Debug)]
pub struct Archive {
    path: PathBuf,
    kind: ArchiveKind,
    file_size: u64,
    members: Vec<MemberInfo>,
    manifest: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
    metadata: Option<Vec<u8>>,
}

impl Archive {
    /// Opens and scans `path` with the default limits.
    pub fn open(path: &Path) -> Result<Archive> {
        Self::open_with_limits(path, &ReadLimits::default())
    }

    /// Opens and scans `path`. Fails when it is not a tar/tar.zst, is damaged or truncated,
    /// breaks a limit, or has no `manifest.json` (not a blackbox archive). A tampered but
    /// well-formed archive opens; [`crate::verify`] tells.
    pub fn open_with_limits(path: &Path, limits: &ReadLimits) -> Result<Archive> {
        let (kind, file_size) = detect(path)?;
        let mut manifest = None;
        let mut signature = None;
        let mut metadata = None;
        let scanned = {
            let mut keep = |h: &crate::tar::MemberHeader, r: &mut dyn Read| -> Result<()> {
                let slot = match h.name.as_slice() {
                    n if n == members::MANIFEST.as_bytes() => &mut manifest,
                    n if n == members::SIGNATURE.as_bytes() => &mut signature,
                    n if n == members::METADATA.as_bytes() => &mut metadata,
                    _ => return Ok(()),
                };
                if h.size > MAX_JSON_MEMBER {
                    return Err(ArchiveError::Limit {
                        path: path.to_path_buf(),
                        reason: format!(
                            "member {} is {} bytes (limit {MAX_JSON_MEMBER})",
                            escape_bytes(&h.name),
                            h.size
                        ),
                    });
                }
                let mut v = Vec::new();
                r.read_to_end(&mut v).map_err(|e| ArchiveError::Corrupt {
                    path: path.to_path_buf(),
                    offset: h.data_offset,
                    reason: e.to_string(),
                })?;
                *slot = Some(v);
                Ok(())
            };
            let stream = open_stream(path, kind)?;
            read_members(stream, limits, &mut keep)
        };
        let scanned = scanned.map_err(|e| tar_error(path, kind, e))?;
        if manifest.is_none() {
            return Err(ArchiveError::NotAnArchive {
                path: path.to_path_buf(),
                reason: "a tar file without manifest.json".into(),
            });
        }
        Ok(Archive {
            path: path.to_path_buf(),
            kind,
            file_size,
            members: scanned
                .into_iter()
                .map(|(h, sha256)| MemberInfo {
                    name: h.name,
                    size: h.size,
                    sha256,
                    data_offset: h.data_offset,
                })
                .collect(),
            manifest,
            signature,
            metadata,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Plain or zstd.
    pub fn kind(&self) -> ArchiveKind {
        self.kind
    }

    /// Size of the file on disk.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Every member in archive order.
    pub fn members(&self) -> &[MemberInfo] {
        &self.members
    }

    /// A member by raw name.
    pub fn member(&self, name: &[u8]) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The data of `manifest.json` as stored.
    pub fn manifest_bytes(&self) -> Option<&[u8]> {
        self.manifest.as_deref()
    }

    /// The data of `manifest.sig` as stored.
    pub fn signature_bytes(&self) -> Option<&[u8]> {
        self.signature.as_deref()
    }

    /// `manifest.json`, parsed.
    pub fn manifest(&self) -> Result<Manifest> {
        self.parse_json(members::MANIFEST, self.manifest.as_deref())
    }

    /// `manifest.sig`, parsed.
    pub fn signature(&self) -> Result<ManifestSignature> {
        self.parse_json(members::SIGNATURE, self.signature.as_deref())
    }

    /// `metadata.json`, parsed.
    pub fn metadata(&self) -> Result<Metadata> {
        self.parse_json(members::METADATA, self.metadata.as_deref())
    }

    fn parse_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        data: Option<&[u8]>,
    ) -> Result<T> {
        let data = data.ok_or_else(|| ArchiveError::MemberMissing {
            path: self.path.clone(),
            member: name.to_owned(),
        })?;
        serde_json::from_slice(data).map_err(|e| ArchiveError::BadMember {
            path: self.path.clone(),
            member: name.to_owned(),
            reason: format!("not valid JSON of the expected shape: {e}"),
        })
    }

    /// Reads one member: `f` gets its data. The data is hashed on the way and compared with
    /// what was seen at open, so a file changed since then is reported, not silently read.
    pub fn read_member<T>(
        &self,
        name: &[u8],
        f: impl FnOnce(&mut dyn Read) -> Result<T>,
    ) -> Result<T> {
        let m = self
            .member(name)
            .ok_or_else(|| ArchiveError::MemberMissing {
                path: self.path.clone(),
                member: escape_bytes(name),
            })?;
        let mut stream = open_stream(&self.path, self.kind)?;
        match self.kind {
            ArchiveKind::Tar => {
                // Plain files are seekable: jump to the data.
                let mut f =
                    File::open(&self.path).map_err(|e| ArchiveError::io("open", &self.path, e))?;
                f.seek(SeekFrom::Start(m.data_offset))
                    .map_err(|e| ArchiveError::io("seek", &self.path, e))?;
                stream = Box::new(f);
            }
            ArchiveKind::TarZstd => {
                let skipped = io::copy(&mut (&mut stream).take(m.data_offset), &mut io::sink())
                    .map_err(|e| self.corrupt(m.data_offset, &format!("decompress: {e}")))?;
                if skipped != m.data_offset {
                    return Err(self.corrupt(skipped, "shorter than when it was opened"));
                }
            }
        }
        let mut hr = HashingReader {
            inner: stream.take(m.size),
            hasher: Sha256::new(),
            count: 0,
        };
        let out = f(&mut hr)?;
        io::copy(&mut hr, &mut io::sink())
            .map_err(|e| self.corrupt(m.data_offset, &format!("read {}: {e}", m.display_name())))?;
        let sha: [u8; 32] = hr.hasher.finalize().into();
        if hr.count != m.size || sha != m.sha256 {
            return Err(self.corrupt(
                m.data_offset,
                &format!(
                    "member {} changed since the archive was opened",
                    m.display_name()
                ),
            ));
        }
        Ok(out)
    }

    /// Reads a member completely into memory, refusing one larger than `max`.
    pub fn read_member_bytes(&self, name: &[u8], max: u64) -> Result<Vec<u8>> {
        if let Some(m) = self.member(name) {
            if m.size > max {
                return Err(ArchiveError::Limit {
                    path: self.path.clone(),
                    reason: format!(
                        "member {} is {} bytes (limit {max})",
                        m.display_name(),
                        m.size
                    ),
                });
            }
        }
        self.read_member(name, |r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v)
                .map_err(|e| ArchiveError::io("read", &self.path, e))?;
            Ok(v)
        })
    }

    /// Streams every member once more, in order (one pass, also for `.tar.zst`).
    pub fn for_each_member(
        &self,
        mut f: impl FnMut(&MemberInfo, &mut dyn Read) -> Result<()>,
    ) -> Result<()> {
        let stream = open_stream(&self.path, self.kind)?;
        let mut i = 0usize;
        let limits = ReadLimits::default();
        let scanned = read_members(stream, &limits, |h, r| {
            let known = self
                .members
                .get(i)
                .filter(|m| m.name == h.name && m.size == h.size)
                .cloned();
            i += 1;
            match known {
                Some(m) => f(&m, r),
                None => Err(self.corrupt(h.data_offset, "archive changed since it was opened")),
            }
        })
        .map_err(|e| tar_error(&self.path, self.kind, e))?;
        if scanned.len() != self.members.len()
            || scanned
                .iter()
                .zip(&self.members)
                .any(|((_, s), m)| *s != m.sha256)
        {
            return Err(self.corrupt(0, "archive changed since it was opened"));
        }
        Ok(())
    }

    fn corrupt(&self, offset: u64, reason: &str) -> ArchiveError {
        ArchiveError::Corrupt {
            path: self.path.clone(),
            offset,
            reason: reason.to_owned(),
        }
    }
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

fn detect(path: &Path) -> Result<(ArchiveKind, u64)> {
    let mut f = File::open(path).map_err(|e| ArchiveError::io("open", path, e))?;
    let meta = f
        .metadata()
        .map_err(|e| ArchiveError::io("stat", path, e))?;
    if !meta.is_file() {
        return Err(ArchiveError::NotAnArchive {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ArchiveError::io("read", path, e)),
        }
    }
    let not = |reason: &str| ArchiveError::NotAnArchive {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    if got == 0 {
        return Err(not("empty file"));
    }
    if head[..got].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) && got == 4 {
        return Ok((ArchiveKind::TarZstd, meta.len()));
    }
    if head[..got].starts_with(&[0x1f, 0x8b]) {
        return Err(not("gzip data; blackbox archives are .tar or .tar.zst"));
    }
    if meta.len() < 1024 {
        return Err(not("too short to be a tar file"));
    }
    Ok((ArchiveKind::Tar, meta.len()))
}

fn open_stream(path: &Path, kind: ArchiveKind) -> Result<Box<dyn Read>> {
    let f = File::open(path).map_err(|e| ArchiveError::io("open", path, e))?;
    Ok(match kind {
        ArchiveKind::Tar => Box::new(io::BufReader::with_capacity(256 * 1024, f)),
        ArchiveKind::TarZstd => {
            let mut d = zstd::stream::read::Decoder::new(f)
                .map_err(|e| ArchiveError::io("start zstd", path, e))?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| ArchiveError::io("start zstd", path, e))?;
            Box::new(d)
        }
    })
}

fn tar_error(path: &Path, kind: ArchiveKind, e: TarError) -> ArchiveError {
    match e {
        TarError::NotTar(reason) => ArchiveError::NotAnArchive {
            path: path.to_path_buf(),
            reason: format!("not a tar file: {reason}"),
        },
        TarError::Corrupt { offset, reason } => ArchiveError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        },
        TarError::Limit(reason) => ArchiveError::Limit {
            path: path.to_path_buf(),
            reason,
        },
        TarError::Io { offset, source } => match kind {
            ArchiveKind::TarZstd => ArchiveError::Corrupt {
                path: path.to_path_buf(),
                offset,
                reason: format!("zstd decompression failed: {source}"),
            },
            ArchiveKind::Tar => ArchiveError::io("read", path, source),
        },
        TarError::Callback(e) => e,
    }
}
