//! Loading the programs once per node, pinning them, and reusing the pins.

use std::fs;
use std::path::{Path, PathBuf};

use aya::programs::links::FdLink;
use aya::programs::BtfTracePoint;
use aya::{Btf, EbpfLoader};
use blackbox_recorder_ebpf::map_names::{CGROUPS, CGROUP_BITS, LOSSES, RINGS, SCRATCH};
use blackbox_recorder_ebpf::{FLOOR_OBJECT, FLOOR_PROGRAMS, OBJECT, PROGRAMS};

use crate::error::{RecorderError, Result};
use crate::maps::Maps;
use crate::pins;

/// How the programs were obtained by [`crate::Recorder::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// This process loaded, attached and pinned them.
    Loaded,
    /// They were already pinned (by another shim, or earlier by this one).
    Reused,
}

/// Opens (loading if needed) the pinned programs of this build under `pin_root`.
pub(crate) fn open_version(
    pin_root: &Path,
    mount_bpffs: bool,
) -> Result<(PathBuf, LoadOutcome, Maps)> {
    pins::ensure_bpffs(pin_root, mount_bpffs)?;
    let _lock = pins::lock_pin_root(pin_root)?;
    open_version_locked(pin_root)
}

/// [`open_version`] for a caller that holds the pin-root lock.
pub(crate) fn open_version_locked(pin_root: &Path) -> Result<(PathBuf, LoadOutcome, Maps)> {
    let dir = pin_root.join(pins::version_dir_name());
    let outcome = if dir.is_dir() {
        LoadOutcome::Reused
    } else {
        pins::remove_partial_loads(pin_root);
        let tmp = pin_root.join(format!(
            "{}-tmp-{}",
            pins::version_dir_name(),
            std::process::id()
        ));
        fs::create_dir_all(&tmp).map_err(|e| RecorderError::io(&tmp, e))?;
        if let Err(e) = load_and_pin(&tmp) {
            // Unpinning detaches whatever was attached before the failure.
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        // The version directory appears complete or not at all.
        fs::rename(&tmp, &dir).map_err(|e| RecorderError::io(&dir, e))?;
        LoadOutcome::Loaded
    };
    prune_old_versions(pin_root, &dir);
    let maps = Maps::open(&dir)?;
    Ok((dir, outcome, maps))
}

fn load_and_pin(dir: &Path) -> Result<()> {
    let cpus = aya::util::nr_cpus().map_err(|(what, e)| RecorderError::io(what, e))?;
    let cpus =
        u32::try_from(cpus).map_err(|_| RecorderError::Missing("a sane CPU count".into()))?;
    let mut ebpf = EbpfLoader::new()
        .map_max_entries(SCRATCH, cpus)
        .load(&OBJECT.0)
        .map_err(classify_load_error)?;

    for name in [CGROUPS, RINGS, LOSSES, SCRATCH, CGROUP_BITS] {
        let path = dir.join(name);
        let map = ebpf
            .map(name)
            .ok_or_else(|| RecorderError::Missing(format!("map {name}")))?;
        map.pin(&path).map_err(|e| RecorderError::Pin {
            path,
            reason: e.to_string(),
        })?;
    }

    let btf = kernel_btf()?;
    for (name, tracepoint) in PROGRAMS {
        let prog_err = |source| RecorderError::Program {
            name: (*name).to_owned(),
            source,
        };
        let program = load_tracepoint(&mut ebpf, name, tracepoint, &btf)?;
        let path = dir.join(format!("prog_{name}"));
        program.pin(&path).map_err(|e| RecorderError::Pin {
            path,
            reason: e.to_string(),
        })?;
        let link_id = program.attach().map_err(prog_err)?;
        let link = program.take_link(link_id).map_err(prog_err)?;
        let link = FdLink::from(link);
        let path = dir.join(format!("link_{name}"));
        link.pin(&path).map_err(|e| RecorderError::Pin {
            path,
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// The benchmark's floor ([`FLOOR_OBJECT`]): programs on the recorder's syscall
/// tracepoints that do nothing, attached (not pinned) for as long as the value lives.
pub struct Floor {
    _ebpf: aya::Ebpf,
}

impl Floor {
    /// Loads and attaches the floor programs.
    pub fn attach() -> Result<Self> {
        let mut ebpf = EbpfLoader::new()
            .load(&FLOOR_OBJECT.0)
            .map_err(classify_load_error)?;
        let btf = kernel_btf()?;
        for (name, tracepoint) in FLOOR_PROGRAMS {
            load_tracepoint(&mut ebpf, name, tracepoint, &btf)?
                .attach()
                .map_err(|source| RecorderError::Program {
                    name: (*name).to_owned(),
                    source,
                })?;
        }
        Ok(Self { _ebpf: ebpf })
    }
}

fn kernel_btf() -> Result<Btf> {
    Btf::from_sys_fs()
        .map_err(|e| RecorderError::Missing(format!("kernel BTF (/sys/kernel/btf/vmlinux): {e}")))
}

/// Loads program `name` of `ebpf` as a BTF tracepoint program on `tracepoint`.
fn load_tracepoint<'a>(
    ebpf: &'a mut aya::Ebpf,
    name: &str,
    tracepoint: &str,
    btf: &Btf,
) -> Result<&'a mut BtfTracePoint> {
    let prog_err = |source| RecorderError::Program {
        name: name.to_owned(),
        source,
    };
    let program: &mut BtfTracePoint = ebpf
        .program_mut(name)
        .ok_or_else(|| RecorderError::Missing(format!("program {name}")))?
        .try_into()
        .map_err(prog_err)?;
    program.load(tracepoint, btf).map_err(prog_err)?;
    Ok(program)
}

fn classify_load_error(e: aya::EbpfError) -> RecorderError {
    let text = format!("{e:?}");
    if text.contains("EPERM") || text.contains("Operation not permitted") {
        RecorderError::NotPermitted(text)
    } else {
        RecorderError::Load(e)
    }
}

/// Unpins versions other than `current` that no container uses any more
/// (their rings map is empty), which detaches their programs. Best effort.
fn prune_old_versions(pin_root: &Path, current: &Path) {
    for dir in pins::subdirs(pin_root) {
        if dir == current || dir.to_string_lossy().contains("-tmp-") {
            continue;
        }
        let in_use = match Maps::open(&dir) {
            Ok(maps) => !maps.container_keys().is_empty(),
            Err(e) => {
                log::warn!("not pruning {}: {e}", dir.display());
                true
            }
        };
        if !in_use {
            log::info!("unpinning unused recorder version {}", dir.display());
            if let Err(e) = fs::remove_dir_all(&dir) {
                log::warn!("unpinning {}: {e}", dir.display());
            }
        }
    }
}
