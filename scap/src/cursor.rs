//! Bounds-checked little-endian reading of a byte slice, with errors that name the absolute
//! byte offset of what was being read.

use crate::error::ReadError;

/// A position in a byte slice that belongs to a larger stream starting at `base`.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor over `buf`, whose first byte is at stream offset `base`.
    pub(crate) fn new(buf: &'a [u8], base: u64) -> Self {
        Self { buf, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads one entry of a metadata list, framed by a u32 length that counts
    /// itself and must be at least `min_len`: returns the entry's offset and
    /// a cursor over the rest of it.
    pub(crate) fn framed_entry(
        &mut self,
        min_len: usize,
        length_what: &'static str,
        block: &'static str,
        entry_what: &'static str,
    ) -> Result<(u64, Cursor<'a>), ReadError> {
        let at = self.offset();
        let len = self.u32(length_what)? as usize;
        if len < min_len || len - 4 > self.remaining() {
            return Err(ReadError::corrupt(
                at,
                block,
                format!(
                    "entry length {len}, {} bytes left in the block",
                    self.remaining() + 4
                ),
            ));
        }
        let body = self.take(len - 4, entry_what)?;
        Ok((at, Cursor::new(body, at + 4)))
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ReadError> {
        if n > self.remaining() {
            return Err(ReadError::Truncated {
                offset: self.offset(),
                what,
                needed: n as u64,
                available: self.remaining() as u64,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn skip(&mut self, n: usize, what: &'static str) -> Result<(), ReadError> {
        self.take(n, what).map(|_| ())
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ReadError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ReadError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, ReadError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, ReadError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, ReadError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn bytes16(&mut self, what: &'static str) -> Result<[u8; 16], ReadError> {
        self.array(what)
    }

    /// A `u16` length followed by that many bytes.
    pub(crate) fn s16(&mut self, what: &'static str) -> Result<&'a [u8], ReadError> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what)
    }

    /// An `s16` string, decoded lossily (metadata strings are not NUL-terminated on disk).
    pub(crate) fn s16_string(&mut self, what: &'static str) -> Result<String, ReadError> {
        Ok(String::from_utf8_lossy(self.s16(what)?).into_owned())
    }
}

/// Splits NUL-separated strings (`a\0b\0`), ignoring the final terminator.
pub(crate) fn split_nul(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Joins strings as `a\0b\0` (every one NUL-terminated).
pub(crate) fn join_nul<S: AsRef<str>>(items: &[S]) -> Vec<u8> {
    let mut v = Vec::new();
    for s in items {
        v.extend_from_slice(s.as_ref().as_bytes());
        v.push(0);
    }
    v
}
