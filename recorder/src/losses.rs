//! Per-container loss and volume counters (summed over CPUs).

use blackbox_recorder_ebpf::wire::bb_losses;

/// What the kernel side wrote and what it could not, for one container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossCounters {
    /// Records written to the ring.
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
    pub(crate) fn sum<'a>(per_cpu: impl Iterator<Item = &'a bb_losses>) -> Self {
        per_cpu.fold(Self::default(), |a, l| Self {
            records: a.records + l.records,
            ringbuf_full: a.ringbuf_full + l.ringbuf_full,
            ringbuf_full_bytes: a.ringbuf_full_bytes + l.ringbuf_full_bytes,
            no_ring: a.no_ring + l.no_ring,
            str_truncated: a.str_truncated + l.str_truncated,
            data_snapped: a.data_snapped + l.data_snapped,
            read_failed: a.read_failed + l.read_failed,
            scratch_overflow: a.scratch_overflow + l.scratch_overflow,
        })
    }

    /// Records lost entirely (not written at all), whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.ringbuf_full + self.no_ring + self.scratch_overflow
    }
}
