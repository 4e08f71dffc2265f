//! Stats: a container's cgroup metrics, in the message containerd expects.
//!
//! As containerd's runc shim does, a host whose cgroup root is the unified
//! hierarchy answers `io.containerd.cgroups.v2.Metrics`; a legacy or hybrid
//! host answers `io.containerd.cgroups.v1.Metrics`, read from the v1
//! controllers. Files are read directly: a missing controller or file leaves
//! its fields at zero rather than failing the whole request.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use containerd_shim::protos::{
    cgroups::metrics as v1, cgroups_v2::metrics as v2, protobuf::MessageField,
};

use crate::errors::{other, Result};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The metrics of the cgroup(s) `pid` is in, as an encoded message.
pub enum Collected {
    V1(v1::Metrics),
    V2(v2::Metrics),
}

impl Collected {
    pub fn into_message(self) -> Box<dyn containerd_shim::protos::protobuf::MessageDyn> {
        match self {
            Collected::V1(m) => Box::new(m),
            Collected::V2(m) => Box::new(m),
        }
    }
}

pub fn collect(pid: i32) -> Result<Collected> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| other(format!("read cgroups of pid {pid}: {e}")))?;
    let root = Path::new(CGROUP_ROOT);
    if root.join("cgroup.controllers").exists() {
        let rel = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or_else(|| other(format!("pid {pid} has no unified cgroup")))?;
        Ok(Collected::V2(collect_v2(
            &root.join(rel.trim_start_matches('/')),
        )))
    } else {
        Ok(Collected::V1(collect_v1(&v1_paths(&text, root))))
    }
}

/// controller name → directory, for every v1 hierarchy of the process.
fn v1_paths(text: &str, root: &Path) -> HashMap<String, PathBuf> {
    let mut paths = HashMap::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            continue;
        }
        let rel = path.trim_start_matches('/');
        let joint = root.join(ctrls);
        for ctrl in ctrls.split(',') {
            let ctrl = ctrl.trim_start_matches("name=");
            let dir = if joint.exists() {
                joint.clone()
            } else {
                root.join(ctrl)
            };
            paths.insert(ctrl.to_string(), dir.join(rel));
        }
    }
    paths
}

fn read_u64(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            let s = s.trim();
            if s == "max" {
                Some(0)
            } else {
                s.parse().ok()
            }
        })
        .unwrap_or(0)
}

/// `key value` lines (memory.stat, cpu.stat, …).
fn read_flat_keyed(path: &Path) -> HashMap<String, u64> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn collect_v1(paths: &HashMap<String, PathBuf>) -> v1::Metrics {
    let mut m = v1::Metrics::new();
    if let Some(dir) = paths.get("pids") {
        m.pids = MessageField::some(v1::PidsStat {
            current: read_u64(&dir.join("pids.current")),
            limit: read_u64(&dir.join("pids.max")),
            ..Default::default()
        });
    }
    if let Some(dir) = paths.get("cpuacct") {
        // cpuacct.stat counts USER_HZ ticks (100 per second on Linux).
        let ticks = read_flat_keyed(&dir.join("cpuacct.stat"));
        let per_cpu = fs::read_to_string(dir.join("cpuacct.usage_percpu"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let throttle = paths
            .get("cpu")
            .map(|d| read_flat_keyed(&d.join("cpu.stat")))
            .unwrap_or_default();
        m.cpu = MessageField::some(v1::CPUStat {
            usage: MessageField::some(v1::CPUUsage {
                total: read_u64(&dir.join("cpuacct.usage")),
                kernel: ticks.get("system").copied().unwrap_or(0) * 10_000_000,
                user: ticks.get("user").copied().unwrap_or(0) * 10_000_000,
                per_cpu,
                ..Default::default()
            }),
            throttling: MessageField::some(v1::Throttle {
                periods: throttle.get("nr_periods").copied().unwrap_or(0),
                throttled_periods: throttle.get("nr_throttled").copied().unwrap_or(0),
                throttled_time: throttle.get("throttled_time").copied().unwrap_or(0),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    if let Some(dir) = paths.get("memory") {
        m.memory = MessageField::some(memory_v1(dir));
    }
    if let Some(dir) = paths.get("blkio") {
        m.blkio = MessageField::some(blkio_v1(dir));
    }
    m
}

fn memory_entry_v1(dir: &Path, prefix: &str) -> v1::MemoryEntry {
    v1::MemoryEntry {
        usage: read_u64(&dir.join(format!("{prefix}.usage_in_bytes"))),
        max: read_u64(&dir.join(format!("{prefix}.max_usage_in_bytes"))),
        failcnt: read_u64(&dir.join(format!("{prefix}.failcnt"))),
        limit: read_u64(&dir.join(format!("{prefix}.limit_in_bytes"))),
        ..Default::default()
    }
}

fn memory_v1(dir: &Path) -> v1::MemoryStat {
    let s = read_flat_keyed(&dir.join("memory.stat"));
    let g = |k: &str| s.get(k).copied().unwrap_or(0);
    v1::MemoryStat {
        cache: g("cache"),
        rss: g("rss"),
        rss_huge: g("rss_huge"),
        mapped_file: g("mapped_file"),
        dirty: g("dirty"),
        writeback: g("writeback"),
        pg_pg_in: g("pgpgin"),
        pg_pg_out: g("pgpgout"),
        pg_fault: g("pgfault"),
        pg_maj_fault: g("pgmajfault"),
        inactive_anon: g("inactive_anon"),
        active_anon: g("active_anon"),
        inactive_file: g("inactive_file"),
        active_file: g("active_file"),
        unevictable: g("unevictable"),
        hierarchical_memory_limit: g("hierarchical_memory_limit"),
        hierarchical_swap_limit: g("hierarchical_memsw_limit"),
        total_cache: g("total_cache"),
        total_rss: g("total_rss"),
        total_rss_huge: g("total_rss_huge"),
        total_mapped_file: g("total_mapped_file"),
        total_dirty: g("total_dirty"),
        total_writeback: g("total_writeback"),
        total_pg_pg_in: g("total_pgpgin"),
        total_pg_pg_out: g("total_pgpgout"),
        total_pg_fault: g("total_pgfault"),
        total_pg_maj_fault: g("total_pgmajfault"),
        total_inactive_anon: g("total_inactive_anon"),
        total_active_anon: g("total_active_anon"),
        total_inactive_file: g("total_inactive_file"),
        total_active_file: g("total_active_file"),
        total_unevictable: g("total_unevictable"),
        usage: MessageField::some(memory_entry_v1(dir, "memory")),
        swap: MessageField::some(memory_entry_v1(dir, "memory.memsw")),
        kernel: MessageField::some(memory_entry_v1(dir, "memory.kmem")),
        kernel_tcp: MessageField::some(memory_entry_v1(dir, "memory.kmem.tcp")),
        ..Default::default()
    }
}

/// `MAJ:MIN Op value` lines of the blkio controller.
fn blkio_entries(path: &Path) -> Vec<v1::BlkIOEntry> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f.as_slice() else {
                return None;
            };
            let (major, minor) = dev.split_once(':')?;
            Some(v1::BlkIOEntry {
                op: (*op).to_string(),
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                value: value.parse().ok()?,
                ..Default::default()
            })
        })
        .collect()
}

fn blkio_v1(dir: &Path) -> v1::BlkIOStat {
    // The CFQ files are empty on blk-mq kernels; the throttle files are not.
    let pick = |name: &str| {
        let entries = blkio_entries(&dir.join(format!("blkio.{name}")));
        if entries.is_empty() {
            blkio_entries(&dir.join(format!(
                "blkio.throttle.{}",
                name.trim_end_matches("_recursive")
            )))
        } else {
            entries
        }
    };
    v1::BlkIOStat {
        io_service_bytes_recursive: pick("io_service_bytes_recursive"),
        io_serviced_recursive: pick("io_serviced_recursive"),
        io_queued_recursive: blkio_entries(&dir.join("blkio.io_queued_recursive")),
        io_service_time_recursive: blkio_entries(&dir.join("blkio.io_service_time_recursive")),
        io_wait_time_recursive: blkio_entries(&dir.join("blkio.io_wait_time_recursive")),
        io_merged_recursive: blkio_entries(&dir.join("blkio.io_merged_recursive")),
        io_time_recursive: blkio_entries(&dir.join("blkio.time_recursive")),
        sectors_recursive: blkio_entries(&dir.join("blkio.sectors_recursive")),
        ..Default::default()
    }
}

fn collect_v2(dir: &Path) -> v2::Metrics {
    let mut m = v2::Metrics::new();
    m.pids = MessageField::some(v2::PidsStat {
        current: read_u64(&dir.join("pids.current")),
        limit: read_u64(&dir.join("pids.max")),
        ..Default::default()
    });
    let cpu = read_flat_keyed(&dir.join("cpu.stat"));
    let c = |k: &str| cpu.get(k).copied().unwrap_or(0);
    m.cpu = MessageField::some(v2::CPUStat {
        usage_usec: c("usage_usec"),
        user_usec: c("user_usec"),
        system_usec: c("system_usec"),
        nr_periods: c("nr_periods"),
        nr_throttled: c("nr_throttled"),
        throttled_usec: c("throttled_usec"),
        nr_bursts: c("nr_bursts"),
        burst_usec: c("burst_usec"),
        ..Default::default()
    });
    let mem = read_flat_keyed(&dir.join("memory.stat"));
    let g = |k: &str| mem.get(k).copied().unwrap_or(0);
    m.memory = MessageField::some(v2::MemoryStat {
        anon: g("anon"),
        file: g("file"),
        kernel_stack: g("kernel_stack"),
        slab: g("slab"),
        sock: g("sock"),
        shmem: g("shmem"),
        file_mapped: g("file_mapped"),
        file_dirty: g("file_dirty"),
        file_writeback: g("file_writeback"),
        anon_thp: g("anon_thp"),
        inactive_anon: g("inactive_anon"),
        active_anon: g("active_anon"),
        inactive_file: g("inactive_file"),
        active_file: g("active_file"),
        unevictable: g("unevictable"),
        slab_reclaimable: g("slab_reclaimable"),
        slab_unreclaimable: g("slab_unreclaimable"),
        pgfault: g("pgfault"),
        pgmajfault: g("pgmajfault"),
        workingset_refault: g("workingset_refault_anon") + g("workingset_refault_file"),
        workingset_activate: g("workingset_activate_anon") + g("workingset_activate_file"),
        workingset_nodereclaim: g("workingset_nodereclaim"),
        pgrefill: g("pgrefill"),
        pgscan: g("pgscan"),
        pgsteal: g("pgsteal"),
        pgactivate: g("pgactivate"),
        pgdeactivate: g("pgdeactivate"),
        pglazyfree: g("pglazyfree"),
        pglazyfreed: g("pglazyfreed"),
        thp_fault_alloc: g("thp_fault_alloc"),
        thp_collapse_alloc: g("thp_collapse_alloc"),
        usage: read_u64(&dir.join("memory.current")),
        usage_limit: read_u64(&dir.join("memory.max")),
        swap_usage: read_u64(&dir.join("memory.swap.current")),
        swap_limit: read_u64(&dir.join("memory.swap.max")),
        max_usage: read_u64(&dir.join("memory.peak")),
        swap_max_usage: read_u64(&dir.join("memory.swap.peak")),
        ..Default::default()
    });
    let events = read_flat_keyed(&dir.join("memory.events"));
    let e = |k: &str| events.get(k).copied().unwrap_or(0);
    m.memory_events = MessageField::some(v2::MemoryEvents {
        low: e("low"),
        high: e("high"),
        max: e("max"),
        oom: e("oom"),
        oom_kill: e("oom_kill"),
        oom_group_kill: e("oom_group_kill"),
        ..Default::default()
    });
    m.io = MessageField::some(v2::IOStat {
        usage: io_v2(&dir.join("io.stat")),
        ..Default::default()
    });
    m
}

/// `MAJ:MIN rbytes=… wbytes=… rios=… wios=…` lines of io.stat.
fn io_v2(path: &Path) -> Vec<v2::IOEntry> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let (major, minor) = fields.next()?.split_once(':')?;
            let mut entry = v2::IOEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                ..Default::default()
            };
            for kv in fields {
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                let v = v.parse().unwrap_or(0);
                match k {
                    "rbytes" => entry.rbytes = v,
                    "wbytes" => entry.wbytes = v,
                    "rios" => entry.rios = v,
                    "wios" => entry.wios = v,
                    _ => {}
                }
            }
            Some(entry)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_paths_handle_joint_and_split_hierarchies() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join("cpu,cpuacct")).expect("mkdir");
        let text = "4:memory:/ns/c1\n3:cpu,cpuacct:/ns/c1\n1:name=systemd:/x\n0::/ns/c1\n";
        let p = v1_paths(text, root.path());
        assert_eq!(p["memory"], root.path().join("memory/ns/c1"));
        assert_eq!(p["cpuacct"], root.path().join("cpu,cpuacct/ns/c1"));
        assert_eq!(p["cpu"], root.path().join("cpu,cpuacct/ns/c1"));
    }

    #[test]
    fn v1_memory_and_blkio_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(d.join("memory.stat"), "cache 10\nrss 20\ntotal_rss 30\n").expect("w");
        std::fs::write(d.join("memory.usage_in_bytes"), "4096\n").expect("w");
        std::fs::write(d.join("memory.limit_in_bytes"), "67108864\n").expect("w");
        std::fs::write(
            d.join("blkio.throttle.io_service_bytes"),
            "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n",
        )
        .expect("w");
        let m = memory_v1(d);
        assert_eq!((m.cache, m.rss, m.total_rss), (10, 20, 30));
        assert_eq!(m.usage.usage, 4096);
        assert_eq!(m.usage.limit, 67_108_864);
        let b = blkio_v1(d);
        assert_eq!(b.io_service_bytes_recursive.len(), 2);
        assert_eq!(b.io_service_bytes_recursive[1].op, "Write");
        assert_eq!(b.io_service_bytes_recursive[1].value, 1024);
    }

    #[test]
    fn v2_files_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(
            d.join("cpu.stat"),
            "usage_usec 100\nuser_usec 60\nsystem_usec 40\n",
        )
        .expect("w");
        std::fs::write(d.join("memory.current"), "8192\n").expect("w");
        std::fs::write(d.join("memory.max"), "max\n").expect("w");
        std::fs::write(d.join("pids.current"), "3\n").expect("w");
        std::fs::write(
            d.join("memory.events"),
            "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n",
        )
        .expect("w");
        std::fs::write(
            d.join("io.stat"),
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0\n",
        )
        .expect("w");
        let m = collect_v2(d);
        assert_eq!(m.cpu.usage_usec, 100);
        assert_eq!(m.memory.usage, 8192);
        assert_eq!(m.memory.usage_limit, 0);
        assert_eq!(m.pids.current, 3);
        assert_eq!(m.memory_events.oom_kill, 1);
        assert_eq!(m.io.usage[0].wbytes, 20);
    }
}
