//! The node-wide recorder handle: open (load or reuse the pins), register and
//! unregister containers, clean up after crashed shims.
//!
//! Registration is two steps, so the slow one can run before the container's
//! cgroup exists (in the shim: while `runc create` runs). [`Recorder::prepare`]
//! creates the container's ring buffer and inserts it into `bb_rings` under a
//! fresh key; that insertion waits for an RCU grace period in the kernel
//! (~10-17 ms here: userspace updates of a map-of-maps call `synchronize_rcu`).
//! [`Recorder::register_prepared`] then only creates the loss counters and the
//! cgroup entries (plain hash inserts). The loss counters' entry also marks the
//! ring as registered, which is what the stale-entry cleanup goes by.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use aya::maps::{Map, MapData, RingBuf};
use blackbox_recorder_ebpf::wire::{bb_container_cfg, BB_DEFAULT_SNAPLEN, BB_MAX_SNAPLEN};

use crate::cgroup::{descendants, Cgroup2, CgroupRef};
use crate::classes::SyscallClass;
use crate::error::{RecorderError, Result};
use crate::loader::{open_version, open_version_locked, LoadOutcome};
use crate::maps::Maps;
use crate::pins::{self, DEFAULT_PIN_ROOT};
use crate::reader::ContainerRecorder;

const BPF_MAP_TYPE_RINGBUF: u32 = 27;
/// Map update flag: fail with EEXIST instead of replacing (uapi `BPF_NOEXIST`).
const BPF_NOEXIST: u64 = 1;

/// A prepared ring not registered within this time is taken for abandoned (its
/// process died between prepare and register) and removed by the next cleanup.
const PREPARED_GRACE_SECS: u64 = 120;

/// Container keys have this bit set (cgroup ids, which never have it, were the
/// keys before the ring could be prepared without a cgroup); below it,
/// CLOCK_BOOTTIME seconds at prepare time (31 bits) and a per-process number
/// (32 bits: pid and counter; inserted with BPF_NOEXIST, so never shared).
const KEY_FLAG: u64 = 1 << 63;

static KEY_SEQ: AtomicU32 = AtomicU32::new(0);

fn boot_secs() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map_or(0, |t| u64::try_from(t.tv_sec()).unwrap_or(0))
}

fn new_key(attempt: u32) -> u64 {
    let seq = KEY_SEQ
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_add(attempt);
    let unique = (std::process::id() << 12) ^ seq;
    KEY_FLAG | ((boot_secs() & 0x7fff_ffff) << 32) | u64::from(unique)
}

/// When a key was prepared (CLOCK_BOOTTIME seconds), for keys made by [`new_key`].
fn key_born(key: u64) -> Option<u64> {
    (key & KEY_FLAG != 0).then_some((key >> 32) & 0x7fff_ffff)
}

/// A ring buffer in `bb_rings`, not yet tied to a cgroup. Dropped unregistered,
/// it removes itself from the map.
pub struct PreparedRing {
    key: u64,
    ring: Option<MapData>,
    cfg: bb_container_cfg,
    maps: Maps,
    version_dir: PathBuf,
}

impl std::fmt::Debug for PreparedRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedRing")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Drop for PreparedRing {
    fn drop(&mut self) {
        if self.ring.is_some() {
            if let Err(e) = self.maps.remove_container(self.key) {
                log::warn!("removing unused prepared ring {}: {e}", self.key);
            }
        }
    }
}

/// Where and how to open the recorder.
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// bpffs directory holding the versioned pins (tests use their own).
    pub pin_root: PathBuf,
    /// Mount bpffs on /sys/fs/bpf if it is not mounted.
    pub mount_bpffs: bool,
    /// cgroup2 mount point; found in /proc/self/mountinfo when `None`.
    pub cgroup2_root: Option<PathBuf>,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        Self {
            pin_root: PathBuf::from(DEFAULT_PIN_ROOT),
            mount_bpffs: true,
            cgroup2_root: None,
        }
    }
}

/// What to record for one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingPolicy {
    /// Bytes of I/O payload kept per read/write/send/recv (1..=65535; default 80).
    pub snaplen: u32,
    /// Ring buffer size in bytes (a power of two, at least one page; default 8 MiB).
    pub ring_bytes: u32,
    /// Wake the reader once this many bytes are pending (default: a quarter of the ring).
    pub wakeup_bytes: Option<u32>,
    /// The syscall classes recorded (default: all; process ones are recorded regardless).
    pub classes: Vec<SyscallClass>,
}

impl Default for RecordingPolicy {
    fn default() -> Self {
        Self {
            snaplen: BB_DEFAULT_SNAPLEN,
            ring_bytes: 8 << 20,
            wakeup_bytes: None,
            classes: SyscallClass::ALL.to_vec(),
        }
    }
}

impl RecordingPolicy {
    fn validate(&self) -> Result<()> {
        if self.snaplen == 0 || self.snaplen > BB_MAX_SNAPLEN {
            return Err(RecorderError::InvalidPolicy(format!(
                "snaplen {} is outside 1..={BB_MAX_SNAPLEN}",
                self.snaplen
            )));
        }
        if !self.ring_bytes.is_power_of_two() || self.ring_bytes < 4096 {
            return Err(RecorderError::InvalidPolicy(format!(
                "ring_bytes {} is not a power of two >= 4096",
                self.ring_bytes
            )));
        }
        Ok(())
    }

    fn wakeup(&self) -> u32 {
        self.wakeup_bytes
            .unwrap_or(self.ring_bytes / 4)
            .min(self.ring_bytes)
    }
}

/// The node's recorder, as seen by one process.
pub struct Recorder {
    pin_root: PathBuf,
    version_dir: PathBuf,
    outcome: LoadOutcome,
    maps: Maps,
    cgroup2: Cgroup2,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("version_dir", &self.version_dir)
            .field("outcome", &self.outcome)
            .finish()
    }
}

impl Recorder {
    /// Opens the recorder: reuses this build's pinned programs and maps, or
    /// loads, attaches and pins them if no process has yet.
    pub fn open(options: &RecorderOptions) -> Result<Self> {
        let cgroup2 = match &options.cgroup2_root {
            Some(root) => Cgroup2::at(root)?,
            None => Cgroup2::discover()?,
        };
        let (version_dir, outcome, maps) = open_version(&options.pin_root, options.mount_bpffs)?;
        Ok(Self {
            pin_root: options.pin_root.clone(),
            version_dir,
            outcome,
            maps,
            cgroup2,
        })
    }

    /// Whether this `open` loaded the programs or reused pinned ones.
    pub fn load_outcome(&self) -> LoadOutcome {
        self.outcome
    }

    /// The version directory in use (`<pin_root>/v<wire>-<hash>`).
    pub fn version_dir(&self) -> &Path {
        &self.version_dir
    }

    /// The cgroup2 mount in use.
    pub fn cgroup2(&self) -> &Cgroup2 {
        &self.cgroup2
    }

    /// Keys of every container registered (or prepared) on the node.
    pub fn registered(&self) -> Vec<u64> {
        self.maps.container_keys()
    }

    /// Starts recording the cgroup (and every cgroup below it, now or later):
    /// [`Self::prepare`] then [`Self::register_prepared`].
    pub fn register(
        &mut self,
        cgroup: &CgroupRef,
        policy: RecordingPolicy,
    ) -> Result<ContainerRecorder> {
        let prepared = self.prepare(policy)?;
        self.register_prepared(prepared, cgroup)
    }

    /// Creates a container's ring buffer and puts it into `bb_rings` under a
    /// new key: the slow part of a registration, which needs no cgroup yet.
    /// Stale entries (containers whose cgroups are gone, rings prepared and
    /// abandoned) are removed first.
    pub fn prepare(&mut self, policy: RecordingPolicy) -> Result<PreparedRing> {
        policy.validate()?;
        let _lock = pins::lock_pin_root(&self.pin_root)?;
        if !self.version_dir.is_dir() {
            // Pruned by a newer version's loader while we held no container: reload ours.
            let (dir, outcome, maps) = open_version_locked(&self.pin_root)?;
            (self.version_dir, self.outcome, self.maps) = (dir, outcome, maps);
        }
        self.remove_stale();

        let ring_obj =
            aya_obj::Map::new_from_params(BPF_MAP_TYPE_RINGBUF, 0, 0, policy.ring_bytes, 0);
        let ring = MapData::create(ring_obj, "bb_ring", None)
            .map_err(|e| RecorderError::map("bb_ring", e))?;
        let mut attempt = 0;
        let key = loop {
            let key = new_key(attempt);
            // BPF_NOEXIST: another process's key is never replaced.
            match self.maps.rings.insert(key, &ring, BPF_NOEXIST) {
                Ok(()) => break key,
                Err(aya::maps::MapError::SyscallError(e))
                    if e.io_error.raw_os_error() == Some(libc::EEXIST) && attempt < 16 =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(RecorderError::map("bb_rings", e)),
            }
        };
        let cfg = bb_container_cfg {
            key,
            snaplen: policy.snaplen,
            wakeup_bytes: policy.wakeup(),
            syscalls: crate::classes::syscall_mask(&policy.classes),
        };
        Ok(PreparedRing {
            key,
            ring: Some(ring),
            cfg,
            maps: Maps::open(&self.version_dir)?,
            version_dir: self.version_dir.clone(),
        })
    }

    /// Ties a prepared ring to the cgroup (and every cgroup below it, now or
    /// later) and returns the reader. Only plain hash inserts: fast.
    pub fn register_prepared(
        &mut self,
        mut prepared: PreparedRing,
        cgroup: &CgroupRef,
    ) -> Result<ContainerRecorder> {
        let (cgroup_id, path) = self.cgroup2.resolve(cgroup)?;
        let _lock = pins::lock_pin_root(&self.pin_root)?;
        if prepared.version_dir != self.version_dir || !self.version_dir.is_dir() {
            // Its version was pruned (it cannot be while the ring is in it) or this
            // handle reloaded another one: the ring is in no map the programs use.
            return Err(RecorderError::Missing(format!(
                "the prepared ring's version {} is gone",
                prepared.version_dir.display()
            )));
        }
        if let Ok(existing) = self.maps.cgroups.get(&cgroup_id, 0) {
            if self.maps.container_keys().contains(&existing.0.key) {
                return Err(RecorderError::AlreadyRegistered(cgroup_id));
            }
        }
        let key = prepared.key;
        let cfg = prepared.cfg;
        // The loss counters first: their entry marks the ring as registered.
        self.maps.reset_losses(key)?;
        // The root next: from now on the mkdir program adds new sub-cgroups,
        // and the walk below adds those that already exist.
        let fill = (|| {
            self.maps.insert_cgroup(cgroup_id, cfg)?;
            for (id, _) in descendants(&path) {
                self.maps.insert_cgroup(id, cfg)?;
            }
            Ok(())
        })();
        if let Err(e) = fill {
            let _ = self.maps.remove_container(key);
            prepared.ring = None;
            return Err(e);
        }
        let ring = prepared
            .ring
            .take()
            .ok_or_else(|| RecorderError::Missing("the prepared ring".into()))?;
        let ring =
            RingBuf::try_from(Map::RingBuf(ring)).map_err(|e| RecorderError::map("bb_ring", e))?;
        let own_maps = Maps::open(&self.version_dir)?;
        Ok(ContainerRecorder::new(key, cgroup_id, path, ring, own_maps))
    }

    /// Whether container `key` may still be in use: registered, with a cgroup
    /// that exists; or prepared (not registered yet) less than
    /// [`PREPARED_GRACE_SECS`] ago.
    fn in_use(&self, key: u64) -> bool {
        if !self.maps.has_losses(key) {
            return match key_born(key) {
                Some(born) => boot_secs().saturating_sub(born) < PREPARED_GRACE_SECS,
                // An old-style key (a cgroup id) always had its loss counters: stale.
                None => false,
            };
        }
        let mut cgroups = self.maps.cgroups_of(key);
        if key_born(key).is_none() {
            cgroups.push(key);
        }
        cgroups.iter().any(|&id| self.cgroup2.exists(id))
    }

    /// Removes the entries of containers whose cgroup no longer exists (their
    /// shim died without unregistering) and rings prepared and never
    /// registered. Returns the keys removed.
    pub fn remove_stale(&mut self) -> Vec<u64> {
        let mut removed = Vec::new();
        for key in self.maps.container_keys() {
            if self.in_use(key) {
                continue;
            }
            match self.maps.remove_container(key) {
                Ok(()) => removed.push(key),
                Err(e) => log::warn!("removing stale recorder entry {key}: {e}"),
            }
        }
        if !removed.is_empty() {
            log::info!("removed stale recorder entries {removed:?}");
        }
        removed
    }
}
