//! The subset of POSIX tar (pax interchange format, ustar headers) that blackbox archives
//! use: regular-file members only, names in pax `path` records when they do not fit (or are
//! not plain ASCII), sizes in pax `size` records beyond 8 GiB. GNU tar and bsdtar list and
//! extract it. The reader is strict and bounded, because archives are evidence that may have
//! been tampered with: header checksums, zero padding, end-of-archive blocks, limits on member
//! count and sizes, duplicate and unsafe names, and no member types other than regular files.

use std::collections::HashSet;
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use crate::pathenc::check_member_name;

pub(crate) const BLOCK: usize = 512;
const MAX_OCTAL_SIZE: u64 = 0o77_777_777_777;
const MAX_PAX_HEADER: u64 = 64 * 1024;

/// Per-member facts the writer returns.
#[derive(Debug, Clone)]
pub(crate) struct Appended {
    /// SHA-256 of the member's data as stored (exactly `size` bytes).
    pub sha256: [u8; 32],
    /// SHA-256 of what the source yielded (differs when the source ended early: the member is
    /// then zero-padded to its declared size).
    pub source_sha256: [u8; 32],
    /// Bytes the source yielded (at most the declared size).
    pub source_bytes: u64,
    /// The source had more bytes than declared (they were not stored).
    pub source_longer: bool,
}

/// Writes tar members to `W`.
pub(crate) struct TarWriter<W: Write> {
    out: W,
    mtime: u64,
    pax_seq: u64,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W, mtime: u64) -> Self {
        Self {
            out,
            mtime,
            pax_seq: 0,
        }
    }

    /// Appends a member of exactly `size` bytes read from `src`.
    pub(crate) fn append(
        &mut self,
        name: &[u8],
        size: u64,
        src: &mut dyn Read,
    ) -> io::Result<Appended> {
        let plain_name = name.len() <= 100 && name.iter().all(|&b| (0x20..0x7f).contains(&b));
        let mut pax = Vec::new();
        if !plain_name {
            if std::str::from_utf8(name).is_err() {
                // Tells pax readers not to convert the name from UTF-8 (GNU tar honours it).
                pax_record(&mut pax, b"hdrcharset", b"BINARY");
            }
            pax_record(&mut pax, b"path", name);
        }
        if size > MAX_OCTAL_SIZE {
            pax_record(&mut pax, b"size", size.to_string().as_bytes());
        }
        if !pax.is_empty() {
            self.pax_seq += 1;
            let pax_name = format!("PaxHeaders/{}", self.pax_seq);
            let hdr = header(pax_name.as_bytes(), pax.len() as u64, b'x', self.mtime);
            self.out.write_all(&hdr)?;
            self.out.write_all(&pax)?;
            self.pad(pax.len() as u64)?;
        }
        let fallback;
        let ustar_name: &[u8] = if plain_name {
            name
        } else {
            fallback = ascii_fallback(name);
            &fallback
        };
        let hdr = header(ustar_name, size.min(MAX_OCTAL_SIZE), b'0', self.mtime);
        self.out.write_all(&hdr)?;

        let mut member = Sha256::new();
        let mut source = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut done: u64 = 0;
        while done < size {
            let want = usize::try_from((size - done).min(buf.len() as u64)).unwrap_or(buf.len());
            let n = match src.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            member.update(&buf[..n]);
            source.update(&buf[..n]);
            self.out.write_all(&buf[..n])?;
            done += n as u64;
        }
        let source_bytes = done;
        let source_sha256: [u8; 32] = source.finalize().into();
        // A source that ended early: pad the member to the size already in the header.
        let zeros = [0u8; 8192];
        while done < size {
            let n = usize::try_from((size - done).min(zeros.len() as u64)).unwrap_or(0);
            member.update(&zeros[..n]);
            self.out.write_all(&zeros[..n])?;
            done += n as u64;
        }
        let mut probe = [0u8; 1];
        let source_longer = source_bytes == size
            && loop {
                match src.read(&mut probe) {
                    Ok(n) => break n > 0,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break false,
                }
            };
        self.pad(size)?;
        Ok(Appended {
            sha256: member.finalize().into(),
            source_sha256,
            source_bytes,
            source_longer,
        })
    }

    /// Appends an in-memory member.
    pub(crate) fn append_bytes(&mut self, name: &[u8], data: &[u8]) -> io::Result<Appended> {
        let mut src = data;
        self.append(name, data.len() as u64, &mut src)
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = usize::try_from(len % BLOCK as u64).unwrap_or(0);
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    /// Writes the two zero blocks that end the archive and returns the sink.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// An ASCII stand-in for the ustar name field of a member whose real name is in a pax record
/// (readers without pax support see this).
fn ascii_fallback(name: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = name
        .iter()
        .map(|&b| if (0x21..0x7f).contains(&b) { b } else { b'_' })
        .collect();
    v.truncate(100);
    v
}

fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    // "<len> <key>=<value>\n" where <len> counts the whole record including its own digits.
    let base = key.len() + value.len() + 3;
    let mut len = base + 1;
    while len != base + len.to_string().len() {
        len = base + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn header(name: &[u8], size: u64, typeflag: u8, mtime: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], 0o600);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime.min(MAX_OCTAL_SIZE));
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

/// Zero-padded octal digits with a trailing NUL, filling `field`.
fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    let b = s.as_bytes();
    let start = b.len().saturating_sub(digits);
    field[..digits].copy_from_slice(&b[start..]);
    field[digits] = 0;
}

/// Limits of the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most members accepted.
    pub max_members: u64,
    /// Largest member accepted, in bytes.
    pub max_member_size: u64,
    /// Largest total of the tar stream (after decompression), in bytes.
    pub max_total_size: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_members: 1_000_000,
            max_member_size: 1 << 40,
            max_total_size: 1 << 41,
        }
    }
}

/// What went wrong reading the tar stream.
#[derive(Debug)]
pub(crate) enum TarError {
    /// Damaged or truncated at `offset`.
    Corrupt { offset: u64, reason: String },
    /// A limit was exceeded.
    Limit(String),
    /// The stream is not tar at all (first header).
    NotTar(String),
    /// Reading the source failed (e.g. zstd decoding error, I/O).
    Io { offset: u64, source: io::Error },
    /// The member callback failed.
    Callback(crate::error::ArchiveError),
}

/// One member as the reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberHeader {
    pub name: Vec<u8>,
    pub size: u64,
    /// Offset of the data in the tar stream.
    pub data_offset: u64,
}

/// Counts bytes read from the underlying stream.
struct Counted<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> Counted<R> {
    /// Reads exactly `buf.len()` bytes, or returns how many were available before EOF.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => {
                    got += n;
                    self.offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(TarError::Io {
                        offset: self.offset,
                        source: e,
                    })
                }
            }
        }
        Ok(got)
    }
}

/// The data of one member, handed to the callback; whatever the callback leaves unread is
/// read (and hashed) afterwards.
pub(crate) struct MemberData<'a, R: Read> {
    src: &'a mut Counted<R>,
    remaining: u64,
    hasher: Sha256,
}

impl<R: Read> Read for MemberData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.remaining.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = loop {
            match self.src.inner.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "member data truncated at byte {}: {} bytes missing",
                    self.src.offset, self.remaining
                ),
            ));
        }
        self.src.offset += n as u64;
        self.remaining -= n as u64;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads every member of a tar stream, in order, calling `each` with its header and data.
/// Returns the SHA-256 of every member's data. Fails on the first structural problem.
pub(crate) fn read_members<R: Read>(
    input: R,
    limits: &ReadLimits,
    mut each: impl FnMut(&MemberHeader, &mut dyn Read) -> Result<(), crate::error::ArchiveError>,
) -> Result<Vec<(MemberHeader, [u8; 32])>, TarError> {
    let mut src = Counted {
        inner: input,
        offset: 0,
    };
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut out = Vec::new();
    let mut pax: Option<PaxOverrides> = None;
    let mut block = [0u8; BLOCK];
    loop {
        let at = src.offset;
        let got = src.fill(&mut block)?;
        if got == 0 {
            return Err(if at == 0 {
                TarError::NotTar("empty".into())
            } else {
                TarError::Corrupt {
                    offset: at,
                    reason: "truncated: the stream ends without the end-of-archive blocks".into(),
                }
            });
        }
        if got < BLOCK {
            return Err(TarError::Corrupt {
                offset: at,
                reason: format!("truncated inside a header ({got} of 512 bytes)"),
            });
        }
        if block.iter().all(|&b| b == 0) {
            if pax.is_some() {
                return Err(corrupt(at, "pax header not followed by a member"));
            }
            let got = src.fill(&mut block)?;
            if got < BLOCK || block.iter().any(|&b| b != 0) {
                return Err(corrupt(
                    at,
                    "truncated or damaged end-of-archive (expected two zero blocks)",
                ));
            }
            check_trailing_zeros(&mut src, limits)?;
            return Ok(out);
        }
        let h = parse_header(&block, at, out.is_empty() && pax.is_none())?;
        if src.offset > limits.max_total_size {
            return Err(TarError::Limit(format!(
                "archive larger than {} bytes",
                limits.max_total_size
            )));
        }
        match h.typeflag {
            b'x' => {
                if pax.is_some() {
                    return Err(corrupt(at, "two pax headers in a row"));
                }
                if h.size > MAX_PAX_HEADER {
                    return Err(TarError::Limit(format!(
                        "pax header at byte {at} is {} bytes (limit {MAX_PAX_HEADER})",
                        h.size
                    )));
                }
                let len = usize::try_from(h.size).unwrap_or(0);
                let mut data = vec![0u8; len];
                if src.fill(&mut data)? < len {
                    return Err(corrupt(at, "truncated pax header"));
                }
                skip_padding(&mut src, h.size)?;
                pax = Some(parse_pax(&data, at)?);
            }
            b'0' | 0 => {
                let overrides = pax.take().unwrap_or_default();
                let name = overrides.path.unwrap_or(h.name);
                let size = overrides.size.unwrap_or(h.size);
                if let Err(why) = check_member_name(&name) {
                    return Err(corrupt(
                        at,
                        &format!(
                            "member name {:?} refused: {why}",
                            crate::pathenc::escape_bytes(&name)
                        ),
                    ));
                }
                if !seen.insert(name.clone()) {
                    return Err(corrupt(
                        at,
                        &format!("duplicate member {}", crate::pathenc::escape_bytes(&name)),
                    ));
                }
                if out.len() as u64 >= limits.max_members {
                    return Err(TarError::Limit(format!(
                        "more than {} members",
                        limits.max_members
                    )));
                }
                if size > limits.max_member_size {
                    return Err(TarError::Limit(format!(
                        "member {} is {size} bytes (limit {})",
                        crate::pathenc::escape_bytes(&name),
                        limits.max_member_size
                    )));
                }
                if src.offset.saturating_add(size) > limits.max_total_size {
                    return Err(TarError::Limit(format!(
                        "archive larger than {} bytes",
                        limits.max_total_size
                    )));
                }
                let header = MemberHeader {
                    name,
                    size,
                    data_offset: src.offset,
                };
                let mut data = MemberData {
                    src: &mut src,
                    remaining: size,
                    hasher: Sha256::new(),
                };
                let cb = each(&header, &mut data);
                // Drain what the callback left, so the hash covers the whole member.
                let drained = io::copy(&mut data, &mut io::sink());
                let hash: [u8; 32] = data.hasher.clone().finalize().into();
                if let Err(e) = drained {
                    return Err(corrupt(
                        src.offset,
                        &format!("member {}: {e}", crate::pathenc::escape_bytes(&header.name)),
                    ));
                }
                cb.map_err(TarError::Callback)?;
                skip_padding(&mut src, size)?;
                out.push((header, hash));
            }
            other => {
                let what = match other {
                    b'1' => "hard link",
                    b'2' => "symbolic link",
                    b'3' => "character device",
                    b'4' => "block device",
                    b'5' => "directory",
                    b'6' => "fifo",
                    b'g' => "pax global header",
                    _ => "unknown type",
                };
                return Err(corrupt(
                    at,
                    &format!(
                        "member {} has type {:?} ({what}); blackbox archives hold regular files only",
                        crate::pathenc::escape_bytes(&h.name),
                        char::from(other)
                    ),
                ));
            }
        }
    }
}

fn corrupt(offset: u64, reason: &str) -> TarError {
    TarError::Corrupt {
        offset,
        reason: reason.to_owned(),
    }
}

fn skip_padding<R: Read>(src: &mut Counted<R>, size: u64) -> Result<(), TarError> {
    let rem = usize::try_from(size % BLOCK as u64).unwrap_or(0);
    if rem == 0 {
        return Ok(());
    }
    let at = src.offset;
    let mut pad = [0u8; BLOCK];
    let want = BLOCK - rem;
    if src.fill(&mut pad[..want])? < want {
        return Err(corrupt(at, "truncated inside member padding"));
    }
    if pad[..want].iter().any(|&b| b != 0) {
        return Err(corrupt(at, "non-zero bytes in member padding"));
    }
    Ok(())
}

/// After the end-of-archive blocks only zeros may follow (tar's record padding).
fn check_trailing_zeros<R: Read>(
    src: &mut Counted<R>,
    limits: &ReadLimits,
) -> Result<(), TarError> {
    let mut buf = [0u8; 8192];
    loop {
        let at = src.offset;
        let n = src.fill(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
            return Err(corrupt(
                at + i as u64,
                "data after the end-of-archive blocks",
            ));
        }
        if src.offset > limits.max_total_size {
            return Err(TarError::Limit(
                "too much padding after the end of the archive".into(),
            ));
        }
    }
}

struct Header {
    name: Vec<u8>,
    size: u64,
    typeflag: u8,
}

fn parse_header(b: &[u8; BLOCK], at: u64, first: bool) -> Result<Header, TarError> {
    let bad = |reason: String| {
        if first {
            TarError::NotTar(reason)
        } else {
            TarError::Corrupt { offset: at, reason }
        }
    };
    if &b[257..263] != b"ustar\0" || &b[263..265] != b"00" {
        return Err(bad("header without the POSIX ustar magic".into()));
    }
    // Exactly as written: six octal digits, NUL, space (so no byte of the header escapes
    // the check).
    if b[154] != 0 || b[155] != b' ' {
        return Err(bad("header checksum field is malformed".into()));
    }
    let stored = parse_octal(&b[148..154])
        .ok_or_else(|| bad("header checksum field is not octal".into()))?;
    let sum: u64 = b
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(c)
            }
        })
        .sum();
    if stored != sum {
        return Err(bad(format!(
            "header checksum mismatch (stored {stored:o}, computed {sum:o})"
        )));
    }
    let size = parse_octal(&b[124..136]).ok_or_else(|| bad("size field is not octal".into()))?;
    let field = |r: std::ops::Range<usize>| -> Vec<u8> {
        let f = &b[r];
        let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
        f[..end].to_vec()
    };
    let name = field(0..100);
    let prefix = field(345..500);
    let name = if prefix.is_empty() {
        name
    } else {
        let mut p = prefix;
        p.push(b'/');
        p.extend_from_slice(&name);
        p
    };
    Ok(Header {
        name,
        size,
        typeflag: b[156],
    })
}

/// An octal numeric field: optional leading spaces, digits, then NUL/space terminators.
fn parse_octal(f: &[u8]) -> Option<u64> {
    let s: &[u8] = {
        let start = f.iter().position(|&c| c != b' ')?;
        let rest = &f[start..];
        let end = rest
            .iter()
            .position(|&c| c == 0 || c == b' ')
            .unwrap_or(rest.len());
        if rest[end..].iter().any(|&c| c != 0 && c != b' ') {
            return None;
        }
        &rest[..end]
    };
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !(b'0'..=b'7').contains(&c) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

#[derive(Default)]
struct PaxOverrides {
    path: Option<Vec<u8>>,
    size: Option<u64>,
}

fn parse_pax(data: &[u8], at: u64) -> Result<PaxOverrides, TarError> {
    let mut o = PaxOverrides::default();
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|&c| c == b' ')
            .filter(|&p| p > 0 && p <= 20)
            .ok_or_else(|| corrupt(at, "malformed pax record length"))?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt(at, "malformed pax record length"))?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(corrupt(at, "malformed pax record"));
        }
        let rec = &rest[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|&c| c == b'=')
            .ok_or_else(|| corrupt(at, "pax record without `=`"))?;
        let (key, value) = (&rec[..eq], &rec[eq + 1..]);
        match key {
            b"path" => o.path = Some(value.to_vec()),
            b"size" => {
                let s = std::str::from_utf8(value)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| corrupt(at, "pax size is not a decimal number"))?;
                o.size = Some(s);
            }
            b"hdrcharset" if value == b"BINARY" => {}
            b"linkpath" => return Err(corrupt(at, "pax linkpath: links are not allowed")),
            // Only what the writer produces: anything else is damage or someone else's tar.
            _ => {
                return Err(corrupt(
                    at,
                    &format!(
                        "unexpected pax record {:?}",
                        crate::pathenc::escape_bytes(key)
                    ),
                ))
            }
        }
        rest = &rest[len..];
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(members: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut w = TarWriter::new(Vec::new(), 1_700_000_000);
        for (n, d) in members {
            let _ = w.append_bytes(n, d);
        }
        w.finish().unwrap_or_default()
    }

    fn names(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        read_members(data, &ReadLimits::default(), |_, _| Ok(()))
            .map(|v| v.into_iter().map(|(h, _)| h.name).collect())
            .map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn roundtrip_with_long_and_binary_names() {
        let long = vec![b'a'; 300];
        let weird = b"fs/new\nline/\xff\xfe".to_vec();
        let data = build(&[(b"metadata.json", b"{}"), (&long, b"x"), (&weird, b"")]);
        assert_eq!(data.len() % BLOCK, 0);
        assert_eq!(
            names(&data),
            Ok(vec![b"metadata.json".to_vec(), long, weird])
        );
    }

    #[test]
    fn pax_record_lengths_are_self_consistent() {
        for n in [1usize, 5, 90, 95, 96, 97, 990, 995, 9990] {
            let mut v = Vec::new();
            pax_record(&mut v, b"path", &vec![b'x'; n]);
            let sp = v.iter().position(|&c| c == b' ').unwrap_or(0);
            let len: usize = String::from_utf8_lossy(&v[..sp]).parse().unwrap_or(0);
            assert_eq!(len, v.len(), "{n}");
        }
    }

    #[test]
    fn hostile_streams_are_refused() {
        let good = build(&[(b"a", b"hello")]);
        // Truncations everywhere fail cleanly.
        for cut in 0..good.len() {
            assert!(names(&good[..cut]).is_err(), "cut {cut}");
        }
        // Duplicates.
        assert!(names(&build(&[(b"a", b"1"), (b"a", b"2")])).is_err());
        // Traversal and absolute names.
        for n in [&b"../x"[..], b"/etc/passwd", b"fs/../../x"] {
            let e = names(&build(&[(n, b"1")])).err().unwrap_or_default();
            assert!(e.contains("refused"), "{e}");
        }
        // A symlink member.
        let mut sym = header(b"fs/link", 0, b'2', 0);
        sym[157..168].copy_from_slice(b"/etc/shadow");
        fix_checksum(&mut sym);
        let mut data = sym.to_vec();
        data.extend_from_slice(&[0u8; 1024]);
        let e = names(&data).err().unwrap_or_default();
        assert!(e.contains("symbolic link"), "{e}");
        // Absurd size: larger than the limit.
        let mut big = header(b"a", MAX_OCTAL_SIZE, b'0', 0);
        fix_checksum(&mut big);
        let limits = ReadLimits {
            max_member_size: 1 << 20,
            ..ReadLimits::default()
        };
        let r = read_members(&big[..], &limits, |_, _| Ok(()));
        assert!(matches!(r, Err(TarError::Limit(_))));
        // Absurd size within limits: truncated data.
        let r = read_members(&big[..], &ReadLimits::default(), |_, _| Ok(()));
        assert!(matches!(r, Err(TarError::Corrupt { .. })));
        // Garbage after the end.
        let mut g = good.clone();
        g.extend_from_slice(b"junk");
        assert!(names(&g).is_err());
        // Zero padding after the end is fine.
        let mut z = good.clone();
        z.extend_from_slice(&[0u8; 4096]);
        assert!(names(&z).is_ok());
        // Not tar.
        assert!(matches!(
            read_members(&b"hello world"[..], &ReadLimits::default(), |_, _| Ok(())),
            Err(TarError::Corrupt { .. } | TarError::NotTar(_))
        ));
        // Member count.
        let many = build(&[(b"a", b""), (b"b", b""), (b"c", b"")]);
        let limits = ReadLimits {
            max_members: 2,
            ..ReadLimits::default()
        };
        assert!(matches!(
            read_members(&many[..], &limits, |_, _| Ok(())),
            Err(TarError::Limit(_))
        ));
    }

    fn fix_checksum(h: &mut [u8; BLOCK]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    #[test]
    fn octal_fields() {
        assert_eq!(parse_octal(b"0000644\0"), Some(0o644));
        assert_eq!(parse_octal(b"  644 \0\0"), Some(0o644));
        assert_eq!(parse_octal(b"0009\0"), None);
        assert_eq!(parse_octal(b"\0\0\0"), None);
        assert_eq!(parse_octal(b"1 2\0"), None);
    }
}
