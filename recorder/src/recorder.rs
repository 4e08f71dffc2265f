//! The node-wide recorder handle: open (load or reuse the pins), register and
//! unregister containers, clean up after crashed shims.

use std::path::{Path, PathBuf};

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

    /// Keys (root cgroup ids) of every container registered on the node.
    pub fn registered(&self) -> Vec<u64> {
        self.maps.container_keys()
    }

    /// Starts recording the cgroup (and every cgroup below it, now or later):
    /// creates its ring buffer, fills the maps, returns the reader.
    /// Stale entries of containers whose cgroup is gone are removed first.
    pub fn register(
        &mut self,
        cgroup: &CgroupRef,
        policy: RecordingPolicy,
    ) -> Result<ContainerRecorder> {
        policy.validate()?;
        let (key, path) = self.cgroup2.resolve(cgroup)?;
        let _lock = pins::lock_pin_root(&self.pin_root)?;
        if !self.version_dir.is_dir() {
            // Pruned by a newer version's loader while we held no container: reload ours.
            let (dir, outcome, maps) = open_version_locked(&self.pin_root)?;
            (self.version_dir, self.outcome, self.maps) = (dir, outcome, maps);
        }
        self.remove_stale();
        if self.maps.container_keys().contains(&key) {
            return Err(RecorderError::AlreadyRegistered(key));
        }

        let ring_obj =
            aya_obj::Map::new_from_params(BPF_MAP_TYPE_RINGBUF, 0, 0, policy.ring_bytes, 0);
        let ring = MapData::create(ring_obj, "bb_ring", None)
            .map_err(|e| RecorderError::map("bb_ring", e))?;
        let cfg = bb_container_cfg {
            key,
            snaplen: policy.snaplen,
            wakeup_bytes: policy.wakeup(),
            syscalls: crate::classes::syscall_mask(&policy.classes),
        };

        self.maps.reset_losses(key)?;
        self.maps
            .rings
            .insert(key, &ring, 0)
            .map_err(|e| RecorderError::map("bb_rings", e))?;
        // The root first: from now on the mkdir program adds new sub-cgroups,
        // and the walk below adds those that already exist.
        let fill = (|| {
            self.maps.insert_cgroup(key, cfg)?;
            for (id, _) in descendants(&path) {
                self.maps.insert_cgroup(id, cfg)?;
            }
            Ok(())
        })();
        if let Err(e) = fill {
            let _ = self.maps.remove_container(key);
            return Err(e);
        }
        let ring =
            RingBuf::try_from(Map::RingBuf(ring)).map_err(|e| RecorderError::map("bb_ring", e))?;
        let own_maps = Maps::open(&self.version_dir)?;
        Ok(ContainerRecorder::new(key, path, ring, own_maps))
    }

    /// Removes the entries of containers whose cgroup no longer exists (their
    /// shim died without unregistering). Returns the keys removed.
    pub fn remove_stale(&mut self) -> Vec<u64> {
        let mut removed = Vec::new();
        for key in self.maps.container_keys() {
            if self.cgroup2.exists(key) {
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
