//! Per-container loss and volume counters: what the programs could not write
//! (per-CPU kernel counters, summed), and what the reader drained.

use blackbox_recorder_ebpf::wire::{
    bb_losses, BB_F_ARGV_TRUNCATED, BB_F_DATA_SNAPPED, BB_F_READ_FAILED, BB_F_STR_TRUNCATED,
};

/// What the kernel side wrote and what it could not, for one container. The
/// programs count only losses (a written record touches no counter); the
/// counts of written records and of their flags are the reader's, of what it
/// drained (every record written reaches the ring, and the reader drains it
/// to the end before it reports the final counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossCounters {
    /// Records written to the ring (counted as drained).
    pub records: u64,
    /// Records dropped because the ring was full.
    pub ringbuf_full: u64,
    /// Bytes of those records.
    pub ringbuf_full_bytes: u64,
    /// Records dropped because the container had no ring (registration race).
    pub no_ring: u64,
    /// Records whose strings, argv or env hit their cap.
    pub str_truncated: u64,
    /// Records whose data blob was cut at the snaplen (expected, by policy).
    pub data_snapped: u64,
    /// Records where a user/kernel memory read failed (that blob is empty).
    pub read_failed: u64,
    /// Records dropped because they did not fit the scratch area (should stay 0).
    pub scratch_overflow: u64,
}

impl LossCounters {
    /// The kernel's loss counters of one container, summed over CPUs.
    pub(crate) fn sum<'a>(per_cpu: impl Iterator<Item = &'a bb_losses>) -> Self {
        per_cpu.fold(Self::default(), |a, l| Self {
            ringbuf_full: a.ringbuf_full + l.ringbuf_full,
            ringbuf_full_bytes: a.ringbuf_full_bytes + l.ringbuf_full_bytes,
            no_ring: a.no_ring + l.no_ring,
            scratch_overflow: a.scratch_overflow + l.scratch_overflow,
            ..a
        })
    }

    /// Counts one drained record with its `BB_F_*` header flags.
    pub(crate) fn count_drained(&mut self, flags: u16) {
        let flags = u32::from(flags);
        self.records += 1;
        if flags & (BB_F_STR_TRUNCATED | BB_F_ARGV_TRUNCATED) != 0 {
            self.str_truncated += 1;
        }
        if flags & BB_F_DATA_SNAPPED != 0 {
            self.data_snapped += 1;
        }
        if flags & BB_F_READ_FAILED != 0 {
            self.read_failed += 1;
        }
    }

    /// The kernel's counters (`self`) with the reader's counts of what it drained.
    pub(crate) fn with_drained(self, drained: &Self) -> Self {
        Self {
            records: drained.records,
            str_truncated: drained.str_truncated,
            data_snapped: drained.data_snapped,
            read_failed: drained.read_failed,
            ..self
        }
    }

    /// Records lost entirely (not written at all), whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.ringbuf_full + self.no_ring + self.scratch_overflow
    }
}
