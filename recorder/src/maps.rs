//! Handles on the pinned maps of one version directory.

use std::path::{Path, PathBuf};

use aya::maps::{HashMap, HashOfMaps, Map, MapData, PerCpuHashMap, PerCpuValues};
use blackbox_recorder_ebpf::map_names::{CGROUPS, CGROUP_BITS, LOSSES, RINGS};
use blackbox_recorder_ebpf::wire::bb_container_cfg;

use crate::bits::CgroupBits;
use crate::error::{RecorderError, Result};
use crate::losses::LossCounters;
use crate::wire_pod::{CfgValue, LossesValue};

/// The maps userspace writes: each process opens its own fds from the pins.
pub(crate) struct Maps {
    pub cgroups: HashMap<MapData, u64, CfgValue>,
    /// Mapped when a cgroup is first inserted: only the registering handle writes it.
    cgroup_bits: Option<CgroupBits>,
    dir: PathBuf,
    pub rings: HashOfMaps<MapData, u64>,
    pub losses: PerCpuHashMap<MapData, u64, LossesValue>,
}

impl Maps {
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Self {
            cgroups: HashMap::try_from(open_pinned(dir, CGROUPS)?)
                .map_err(|e| RecorderError::map(CGROUPS, e))?,
            cgroup_bits: None,
            dir: dir.to_path_buf(),
            rings: HashOfMaps::try_from(open_pinned(dir, RINGS)?)
                .map_err(|e| RecorderError::map(RINGS, e))?,
            losses: PerCpuHashMap::try_from(open_pinned(dir, LOSSES)?)
                .map_err(|e| RecorderError::map(LOSSES, e))?,
        })
    }

    /// Keys of the registered containers (ring buffers).
    pub fn container_keys(&self) -> Vec<u64> {
        self.rings.keys().flatten().collect()
    }

    /// Whether container `key` has its loss counters (it was registered).
    pub fn has_losses(&self, key: u64) -> bool {
        !matches!(
            self.losses.get(&key, 0),
            Err(aya::maps::MapError::KeyNotFound)
        )
    }

    /// Every cgroup entry that belongs to container `key`.
    pub fn cgroups_of(&self, key: u64) -> Vec<u64> {
        self.cgroups
            .iter()
            .flatten()
            .filter(|(_, v)| v.0.key == key)
            .map(|(id, _)| id)
            .collect()
    }

    /// Inserts cgroup `id`'s entry, its pre-filter bit first (the programs
    /// look the entry up only for ids whose bit is set).
    pub fn insert_cgroup(&mut self, id: u64, cfg: bb_container_cfg) -> Result<()> {
        let bits = match &mut self.cgroup_bits {
            Some(bits) => bits,
            None => self.cgroup_bits.insert(CgroupBits::map(
                MapData::from_pin(self.dir.join(CGROUP_BITS))
                    .map_err(|e| RecorderError::map(CGROUP_BITS, e))?,
            )?),
        };
        bits.set(id);
        self.cgroups
            .insert(id, CfgValue(cfg), 0)
            .map_err(|e| RecorderError::map(CGROUPS, e))
    }

    pub fn reset_losses(&mut self, key: u64) -> Result<()> {
        let cpus = aya::util::nr_cpus().map_err(|(what, e)| RecorderError::io(what, e))?;
        let zero = PerCpuValues::try_from(vec![LossesValue::default(); cpus])
            .map_err(|e| RecorderError::io("per-cpu values", e))?;
        self.losses
            .insert(key, zero, 0)
            .map_err(|e| RecorderError::map(LOSSES, e))
    }

    pub fn losses_of(&self, key: u64) -> Result<LossCounters> {
        match self.losses.get(&key, 0) {
            Ok(per_cpu) => Ok(LossCounters::sum(per_cpu.iter().map(|v| &v.0))),
            Err(aya::maps::MapError::KeyNotFound) => Ok(LossCounters::default()),
            Err(e) => Err(RecorderError::map(LOSSES, e)),
        }
    }

    /// Removes every trace of container `key`; missing entries are fine.
    pub fn remove_container(&mut self, key: u64) -> Result<()> {
        self.remove_cgroups_of(key)?;
        self.remove_ring(key)
    }

    /// Stops the recording of container `key`: removes its cgroup entries (fast).
    pub fn remove_cgroups_of(&mut self, key: u64) -> Result<()> {
        for id in self.cgroups_of(key) {
            ignore_missing(self.cgroups.remove(&id)).map_err(|e| RecorderError::map(CGROUPS, e))?;
        }
        Ok(())
    }

    /// Removes container `key`'s ring and loss counters. The ring's removal
    /// from the map-of-maps waits for an RCU grace period (~8 ms here).
    pub fn remove_ring(&mut self, key: u64) -> Result<()> {
        ignore_missing(self.rings.remove(&key)).map_err(|e| RecorderError::map(RINGS, e))?;
        ignore_missing(self.losses.remove(&key)).map_err(|e| RecorderError::map(LOSSES, e))?;
        Ok(())
    }
}

fn ignore_missing(r: Result<(), aya::maps::MapError>) -> Result<(), aya::maps::MapError> {
    match r {
        Err(aya::maps::MapError::KeyNotFound) => Ok(()),
        Err(aya::maps::MapError::SyscallError(e))
            if e.io_error.raw_os_error() == Some(libc::ENOENT) =>
        {
            Ok(())
        }
        other => other,
    }
}

pub(crate) fn open_pinned(dir: &Path, name: &'static str) -> Result<Map> {
    let data = MapData::from_pin(dir.join(name)).map_err(|e| RecorderError::map(name, e))?;
    Map::from_map_data(data).map_err(|e| RecorderError::map(name, e))
}
