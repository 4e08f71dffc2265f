//! The cgroup pre-filter (`bb_cgroup_bits`), written through a shared mapping.
//!
//! The programs test one bit per cgroup id before the exact lookup in
//! `bb_cgroups`; a bit must be set before the cgroup's entry is inserted.
//! The cgroup_mkdir program sets bits with an atomic OR on the same words, so
//! userspace may not read-modify-write them through the map syscalls (a
//! concurrent bit would be lost, and with it a sub-cgroup's recording): it
//! maps the array (BPF_F_MMAPABLE) and ORs atomically too. Bits are never
//! cleared; a stale one only sends that cgroup's syscalls to the exact lookup.

use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use aya::maps::MapData;
use blackbox_recorder_ebpf::map_names::CGROUP_BITS;
use blackbox_recorder_ebpf::wire::BB_CGROUP_BITS_WORDS;

use crate::error::{RecorderError, Result};

const WORDS: usize = BB_CGROUP_BITS_WORDS as usize;
const BYTES: usize = WORDS * std::mem::size_of::<u64>();

/// The word index and bit mask of cgroup `id`, as the programs compute them.
pub(crate) fn position(id: u64) -> (usize, u64) {
    // Masked to WORDS - 1: fits usize.
    let word = usize::try_from((id >> 6) & (WORDS as u64 - 1)).unwrap_or(0);
    (word, 1u64 << (id & 63))
}

/// A shared, writable mapping of the pinned `bb_cgroup_bits` array.
pub(crate) struct CgroupBits {
    words: NonNull<AtomicU64>,
    // The map's fd, kept for as long as the mapping (not required by mmap, but
    // it keeps the handle's lifetime obvious).
    _map: MapData,
}

// SAFETY: the mapping is only accessed through atomics and lives as long as the value.
unsafe impl Send for CgroupBits {}

impl CgroupBits {
    pub(crate) fn map(map: MapData) -> Result<Self> {
        // SAFETY: mmap of a BPF array created with BPF_F_MMAPABLE: the kernel
        // maps its value area (WORDS u64s, page-aligned) shared and writable.
        // The result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&map.fd().as_fd()),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(RecorderError::io(
                format!("mmap {CGROUP_BITS}"),
                std::io::Error::last_os_error(),
            ));
        }
        let words = NonNull::new(ptr.cast::<AtomicU64>())
            .ok_or_else(|| RecorderError::Missing(format!("mapping of {CGROUP_BITS}")))?;
        Ok(Self { words, _map: map })
    }

    fn word(&self, index: usize) -> &AtomicU64 {
        let index = index.min(WORDS - 1);
        // SAFETY: index < WORDS, inside the mapping, which is u64-aligned (page
        // aligned) and only ever accessed atomically, here and by the programs.
        unsafe { &*self.words.as_ptr().add(index) }
    }

    /// Sets cgroup `id`'s bit (before its `bb_cgroups` entry is inserted).
    pub(crate) fn set(&self, id: u64) {
        let (word, mask) = position(id);
        self.word(word).fetch_or(mask, Ordering::SeqCst);
    }
}

impl Drop for CgroupBits {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, of BYTES bytes, unmapped once.
        unsafe {
            libc::munmap(self.words.as_ptr().cast(), BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_the_programs() {
        assert_eq!(position(0), (0, 1));
        assert_eq!(position(63), (0, 1 << 63));
        assert_eq!(position(64), (1, 1));
        // Ids past the bitmap wrap, as `(id >> 6) & (WORDS - 1)` does in C.
        assert_eq!(position((WORDS as u64) << 6), (0, 1));
        assert_eq!(position(u64::MAX), (WORDS - 1, 1 << 63));
    }
}
