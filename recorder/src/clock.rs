//! Record timestamps are CLOCK_BOOTTIME (monotonic, counts suspend); SCAP wants
//! nanoseconds since the epoch.

use nix::time::{clock_gettime, ClockId};

/// Converts boot-time nanoseconds to epoch nanoseconds with an offset sampled
/// once. Re-sample (`BootClock::now()`) after wall-clock steps if they matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootClock {
    offset_ns: i128,
}

impl BootClock {
    /// Samples REALTIME - BOOTTIME now.
    pub fn now() -> Self {
        let ns = |id| {
            clock_gettime(id).map_or(0, |t| {
                i128::from(t.tv_sec()) * 1_000_000_000 + i128::from(t.tv_nsec())
            })
        };
        let boot1 = ns(ClockId::CLOCK_BOOTTIME);
        let real = ns(ClockId::CLOCK_REALTIME);
        let boot2 = ns(ClockId::CLOCK_BOOTTIME);
        Self {
            offset_ns: real - (boot1 + boot2) / 2,
        }
    }

    /// Epoch nanoseconds of a record timestamp.
    pub fn to_epoch_ns(&self, boot_ns: u64) -> u64 {
        u64::try_from(i128::from(boot_ns) + self.offset_ns).unwrap_or(0)
    }
}
