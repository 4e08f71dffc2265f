//! Preparing capture segments for sealing after a crash.
//!
//! The capture writer ends a gzip member and fsyncs about once a second, so after a crash a
//! segment is a run of complete gzip members followed by at most one partial member (or
//! zeros, when the file system extended the file without its data). The reader would return
//! every complete event and then an error; sysdig may stop with an error. Recovery therefore
//! keeps the complete members byte for byte, decodes what it can of the partial one, keeps its
//! complete SCAP blocks re-compressed as one new member (`salvage`), and moves the raw damaged
//! bytes into the archive member `capture.tail` so that nothing on disk is lost. Plain
//! (uncompressed) segments are cut after their last complete block.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;

use crate::error::{ArchiveError, Result};

/// Largest decoded gzip member buffered for salvage; a bigger partial member is not salvaged
/// (its raw bytes still go to `capture.tail`).
const MAX_SALVAGE: usize = 256 << 20;

/// How one segment goes into `capture.scap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentPlan {
    pub path: PathBuf,
    /// Bytes of the file copied as they are.
    pub keep: u64,
    /// Re-compressed complete blocks decoded from the damaged part.
    pub salvage: Vec<u8>,
    /// Raw bytes after `keep` (to `capture.tail`).
    pub tail: u64,
    /// What was done, for the metadata notes.
    pub note: Option<String>,
}

/// A segment taken as it is.
pub(crate) fn plan_as_is(path: &Path) -> Result<SegmentPlan> {
    let len = std::fs::metadata(path)
        .map_err(|e| ArchiveError::io("stat", path, e))?
        .len();
    Ok(SegmentPlan {
        path: path.to_path_buf(),
        keep: len,
        salvage: Vec::new(),
        tail: 0,
        note: None,
    })
}

/// A segment checked and trimmed to what decodes.
pub(crate) fn plan_repaired(path: &Path) -> Result<SegmentPlan> {
    let f = File::open(path).map_err(|e| ArchiveError::io("open capture", path, e))?;
    let len = f
        .metadata()
        .map_err(|e| ArchiveError::io("stat", path, e))?
        .len();
    let mut br = BufReader::with_capacity(64 * 1024, Counting { inner: f, count: 0 });
    let head = br
        .fill_buf()
        .map_err(|e| ArchiveError::io("read capture", path, e))?;
    let mut plan = SegmentPlan {
        path: path.to_path_buf(),
        keep: len,
        salvage: Vec::new(),
        tail: 0,
        note: None,
    };
    if head.is_empty() {
        return Ok(plan);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let (keep, salvage) =
            scan_gzip(&mut br).map_err(|e| ArchiveError::io("read capture", path, e))?;
        plan.keep = keep;
        plan.salvage = salvage;
    } else if head.starts_with(&blackbox_scap::block::SHB.to_le_bytes()) {
        plan.keep = complete_blocks_stream(&mut br)
            .map_err(|e| ArchiveError::io("read capture", path, e))?;
    } else {
        plan.note = Some(format!(
            "{}: neither gzip nor SCAP; kept as it is",
            name_of(path)
        ));
        return Ok(plan);
    }
    plan.tail = len.saturating_sub(plan.keep);
    if plan.tail > 0 {
        plan.note = Some(format!(
            "{}: last {} bytes damaged (crash while writing); {} bytes of complete events re-compressed and kept, the raw bytes are in capture.tail",
            name_of(path),
            plan.tail,
            plan.salvage.len()
        ));
    }
    Ok(plan)
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn consumed<R: Read>(br: &BufReader<Counting<R>>) -> u64 {
    br.get_ref().count - br.buffer().len() as u64
}

/// Walks gzip members; returns the end of the last complete one and the salvage.
fn scan_gzip<R: Read>(br: &mut BufReader<Counting<R>>) -> io::Result<(u64, Vec<u8>)> {
    let mut good_end = 0u64;
    loop {
        if br.fill_buf()?.is_empty() {
            return Ok((good_end, Vec::new()));
        }
        let mut decoded = Vec::new();
        let result = {
            let dec = GzDecoder::new(&mut *br);
            dec.take(MAX_SALVAGE as u64 + 1).read_to_end(&mut decoded)
        };
        match result {
            Ok(_) if decoded.len() <= MAX_SALVAGE => {
                good_end = consumed(br);
            }
            Ok(_) => {
                // Too large to buffer: decode the rest of the member without keeping it.
                let mut dec = GzDecoder::new(&mut *br);
                if io::copy(&mut dec, &mut io::sink()).is_err() {
                    return Ok((good_end, Vec::new()));
                }
                good_end = consumed(br);
            }
            Err(_) => {
                let complete = complete_blocks(&decoded);
                if complete == 0 {
                    return Ok((good_end, Vec::new()));
                }
                let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::new(3));
                enc.write_all(&decoded[..complete])?;
                return Ok((good_end, enc.finish()?));
            }
        }
    }
}

/// Length of the prefix of `data` made of complete SCAP blocks.
pub(crate) fn complete_blocks(data: &[u8]) -> usize {
    let mut at = 0usize;
    while let Some(len) = block_len_at(data, at) {
        at += len;
    }
    at
}

fn block_len_at(data: &[u8], at: usize) -> Option<usize> {
    let head = data.get(at..at.checked_add(8)?)?;
    let len = usize::try_from(u32::from_le_bytes([head[4], head[5], head[6], head[7]])).ok()?;
    if len < 12 || len % 4 != 0 {
        return None;
    }
    let end = at.checked_add(len)?;
    let trailer = data.get(end - 4..end)?;
    (usize::try_from(u32::from_le_bytes([
        trailer[0], trailer[1], trailer[2], trailer[3],
    ]))
    .ok()?
        == len)
        .then_some(len)
}

/// Like [`complete_blocks`] on a stream, holding one block at a time.
fn complete_blocks_stream<R: Read>(br: &mut BufReader<Counting<R>>) -> io::Result<u64> {
    let mut good = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut head = [0u8; 8];
        if read_full(br, &mut head)? < 8 {
            return Ok(good);
        }
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len < 12 || len % 4 != 0 || u64::from(len) > (1 << 32) {
            return Ok(good);
        }
        let len = usize::try_from(len).unwrap_or(0);
        buf.clear();
        buf.extend_from_slice(&head);
        buf.resize(len, 0);
        if read_full(br, &mut buf[8..])? < len - 8 || block_len_at(&buf, 0) != Some(len) {
            return Ok(good);
        }
        good += len as u64;
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(12 + body.len()).unwrap_or(0);
        let mut v = ty.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&len.to_le_bytes());
        v
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::new(3));
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    }

    #[test]
    fn trims_partial_gzip_member_and_salvages_blocks() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let m1 = gz(&block(blackbox_scap::block::SHB, &[0u8; 16]));
        let second: Vec<u8> = [block(0x216, &[1u8; 100]), block(0x216, &[2u8; 200])].concat();
        let m2 = gz(&second);
        let mut file = m1.clone();
        file.extend_from_slice(&m2);
        let p = dir.path().join("capture.scap");
        // Intact.
        std::fs::write(&p, &file)?;
        let plan = plan_repaired(&p)?;
        assert_eq!((plan.keep, plan.tail), (file.len() as u64, 0));
        // Cut inside the second member: the first is kept, the second's complete blocks salvaged.
        for cut in m1.len() + 1..file.len() {
            std::fs::write(&p, &file[..cut])?;
            let plan = plan_repaired(&p)?;
            assert_eq!(plan.keep, m1.len() as u64, "cut {cut}");
            assert_eq!(plan.tail, (cut - m1.len()) as u64);
            if !plan.salvage.is_empty() {
                let mut d = Vec::new();
                GzDecoder::new(&plan.salvage[..]).read_to_end(&mut d)?;
                assert!(second.starts_with(&d) && complete_blocks(&d) == d.len());
            }
        }
        // Zeros after the members (extended file without data).
        let mut z = file.clone();
        z.extend_from_slice(&[0u8; 4096]);
        std::fs::write(&p, &z)?;
        let plan = plan_repaired(&p)?;
        assert_eq!((plan.keep, plan.tail), (file.len() as u64, 4096));
        Ok(())
    }

    #[test]
    fn trims_plain_capture_to_complete_blocks() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let data: Vec<u8> = [
            block(blackbox_scap::block::SHB, &[0u8; 16]),
            block(0x216, &[1u8; 40]),
        ]
        .concat();
        let p = dir.path().join("capture.scap");
        for cut in 1..=data.len() {
            std::fs::write(&p, &data[..cut])?;
            let plan = plan_repaired(&p)?;
            // The SHB alone is 28 bytes (12 + 16); under 4 bytes it is not recognisable as SCAP.
            let expect = if cut == data.len() {
                data.len()
            } else if cut >= 28 {
                28
            } else if cut < 4 {
                cut
            } else {
                0
            };
            assert_eq!(plan.keep, expect as u64, "cut {cut}");
        }
        Ok(())
    }
}
