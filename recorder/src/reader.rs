//! One container's reader: waits on its ring buffer with a timeout (the
//! programs do not wake it per record) and decodes what it drains.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::clock::BootClock;
use crate::decode::{decode, DecodeError, Record};
use crate::error::{RecorderError, Result};
use crate::losses::LossCounters;
use crate::maps::Maps;

/// The default wait of [`ContainerRecorder::wait`] callers: the latency bound
/// of the timed poll, as the programs write with BPF_RB_NO_WAKEUP.
pub const DEFAULT_POLL: Duration = Duration::from_millis(100);

/// What one drain pass saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainStats {
    /// Records decoded and handed to the callback.
    pub records: u64,
    /// Records that did not decode (counted, logged, skipped).
    pub malformed: u64,
}

/// A registered container: its ring buffer and counters.
pub struct ContainerRecorder {
    key: u64,
    cgroup_id: u64,
    cgroup_path: PathBuf,
    ring: RingBuf<MapData>,
    maps: Maps,
    clock: BootClock,
    registered: bool,
    /// Whether the ring and loss counters are still in the maps (see [`Self::release`]).
    in_maps: bool,
    last_decode_error: Option<DecodeError>,
    /// What was drained (records and their flags; the kernel counts only losses).
    drained: LossCounters,
    /// The kernel's counters as read when the container was unregistered (the
    /// map entry is gone after that).
    final_kernel: Option<LossCounters>,
}

impl std::fmt::Debug for ContainerRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerRecorder")
            .field("key", &self.key)
            .field("cgroup_path", &self.cgroup_path)
            .field("registered", &self.registered)
            .finish_non_exhaustive()
    }
}

impl ContainerRecorder {
    pub(crate) fn new(
        key: u64,
        cgroup_id: u64,
        cgroup_path: PathBuf,
        ring: RingBuf<MapData>,
        maps: Maps,
    ) -> Self {
        Self {
            key,
            cgroup_id,
            cgroup_path,
            ring,
            maps,
            clock: BootClock::now(),
            registered: true,
            in_maps: true,
            last_decode_error: None,
            drained: LossCounters::default(),
            final_kernel: None,
        }
    }

    /// The container's key in the maps (its ring and loss counters).
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The cgroup-v2 id of the container's root cgroup.
    pub fn cgroup_id(&self) -> u64 {
        self.cgroup_id
    }

    /// The container's root cgroup directory.
    pub fn cgroup_path(&self) -> &Path {
        &self.cgroup_path
    }

    /// Converts record timestamps to epoch time.
    pub fn clock(&self) -> &BootClock {
        &self.clock
    }

    /// Waits until the ring has data or was explicitly woken (fill threshold),
    /// at most `timeout`. Returns whether it became readable; drain either way,
    /// since records written without wakeup do not make it readable.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool> {
        self.wait_or_wake(timeout, None)
    }

    /// [`Self::wait`], also returning as soon as `wake` (an eventfd or a
    /// pipe the owner writes to when it wants the reader to stop) is
    /// readable, so a stop does not sit out the poll interval.
    pub fn wait_or_wake(
        &mut self,
        timeout: Duration,
        wake: Option<BorrowedFd<'_>>,
    ) -> Result<bool> {
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let mut fds = vec![PollFd::new(self.ring.as_fd(), PollFlags::POLLIN)];
        if let Some(wake) = wake {
            fds.push(PollFd::new(wake, PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(RecorderError::io(
                "ring buffer poll",
                std::io::Error::from(e),
            )),
        }
    }

    /// Hands every pending record to `f`, decoded. Undecodable records are
    /// counted in the stats and skipped.
    pub fn drain(&mut self, mut f: impl FnMut(Record<'_>)) -> DrainStats {
        let mut stats = DrainStats::default();
        while let Some(item) = self.ring.next() {
            match decode(&item) {
                Ok(rec) => {
                    stats.records += 1;
                    self.drained.count_drained(rec.header().flags);
                    f(rec);
                }
                Err(e) => {
                    stats.malformed += 1;
                    self.drained.records += 1;
                    if self.last_decode_error.as_ref() != Some(&e) {
                        log::warn!("container {}: undecodable record: {e}", self.key);
                        self.last_decode_error = Some(e);
                    }
                }
            }
        }
        stats
    }

    /// `wait(timeout)` then `drain(f)`: one iteration of a reader loop.
    pub fn poll_records(
        &mut self,
        timeout: Duration,
        f: impl FnMut(Record<'_>),
    ) -> Result<DrainStats> {
        self.wait(timeout)?;
        Ok(self.drain(f))
    }

    /// This container's counters: the kernel side's losses, and the records
    /// drained so far (with their flags). After [`Self::unregister`], the
    /// losses are final; drain the ring to the end before reading them for
    /// the last time.
    pub fn losses(&self) -> Result<LossCounters> {
        let kernel = match self.final_kernel {
            Some(k) => k,
            None => self.maps.losses_of(self.key)?,
        };
        Ok(kernel.with_drained(&self.drained))
    }

    /// Stops recording: removes the container's cgroup entries, so nothing
    /// more is written, and keeps the kernel's final loss counters. The ring
    /// stays readable: drain it afterwards for the last records, then read the
    /// final counters with [`Self::losses`]. The ring leaves the maps with
    /// [`Self::release`] (or when this is dropped).
    pub fn unregister(&mut self) -> Result<()> {
        if !self.registered {
            return Ok(());
        }
        self.maps.remove_cgroups_of(self.key)?;
        // No program writes for this key any more: the counters are final.
        let kernel = self.maps.losses_of(self.key)?;
        self.final_kernel = Some(kernel);
        self.registered = false;
        Ok(())
    }

    /// Unregisters if needed and removes the ring and loss counters from the
    /// maps. This waits for an RCU grace period (~8 ms): call it, or drop the
    /// reader, off any latency-critical path. A process that dies before
    /// leaves the entries to the next registration's cleanup.
    pub fn release(&mut self) -> Result<()> {
        self.unregister()?;
        if self.in_maps {
            self.maps.remove_ring(self.key)?;
            self.in_maps = false;
        }
        Ok(())
    }
}

impl Drop for ContainerRecorder {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            log::warn!("unregistering container {}: {e}", self.key);
        }
    }
}
