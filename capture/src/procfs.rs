//! The metadata read from the host at capture start: machine info, the container init's
//! process-list entry and stdio fds from `/proc/<pid>`, its parent's entry.
//!
//! Everything here is best effort: a process that is gone or unreadable yields `None` (or a
//! minimal entry), never an error, because the capture must start regardless.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use blackbox_scap::container::cgroup_entries;
use blackbox_scap::flags::clone;
use blackbox_scap::{fd_type, FdInfo, FdKind, MachineInfo, ProcessInfo, ThreadFds};

use crate::convert::flags::open_flags_to_ppm;

/// Machine info of this host, with `hostname` if not empty.
pub fn machine_info(hostname: &str) -> MachineInfo {
    let num_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    let memory_bytes = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    let max_pid = read_trimmed("/proc/sys/kernel/pid_max")
        .and_then(|s| s.parse().ok())
        .unwrap_or(4_194_304);
    let hostname = if hostname.is_empty() {
        read_trimmed("/proc/sys/kernel/hostname").unwrap_or_default()
    } else {
        hostname.to_string()
    };
    MachineInfo {
        num_cpus,
        memory_bytes,
        max_pid,
        hostname,
    }
}

fn read_trimmed(p: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

/// The fields of `/proc/<pid>/stat` after the command name.
struct Stat {
    ppid: u64,
    pgrp: u64,
    session: u64,
}

fn read_stat(dir: &Path) -> Option<Stat> {
    let s = fs::read_to_string(dir.join("stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(1); // state
    let ppid = f.next()?.parse().ok()?;
    let pgrp = f.next()?.parse().ok()?;
    let session = f.next()?.parse().ok()?;
    Some(Stat {
        ppid,
        pgrp,
        session,
    })
}

/// Values of a `Key:\tv1\tv2…` line of `/proc/<pid>/status`.
fn status_values(status: &str, key: &str) -> Vec<i64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn link(dir: &Path, name: &str) -> Option<String> {
    fs::read_link(dir.join(name))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

fn soft_nofile(dir: &Path) -> Option<i64> {
    let limits = fs::read_to_string(dir.join("limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let v = line["Max open files".len()..].split_whitespace().next()?;
    Some(if v == "unlimited" {
        i64::MAX
    } else {
        v.parse().ok()?
    })
}

/// A path as seen from inside the process's root (`cwd` under `root` loses the prefix).
fn relative_to_root(path: &str, root: &str) -> String {
    if root == "/" || root.is_empty() {
        return path.to_string();
    }
    match path.strip_prefix(root) {
        Some("") => "/".to_string(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => path.to_string(),
    }
}

/// The process-list entry of `pid` read from `/proc`, with `cgroups` (the container's, so that
/// `container.id` resolves; `None` reads the process's own first cgroup path).
/// The environment is not read (runc init's holds runc's own variables).
pub fn process_entry(pid: i32, cgroups: Option<&[String]>) -> Option<ProcessInfo> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let stat = read_stat(&dir)?;
    let status = fs::read_to_string(dir.join("status")).ok()?;
    let comm = read_trimmed(dir.join("comm")).unwrap_or_default();
    let cmdline = fs::read(dir.join("cmdline")).unwrap_or_default();
    let mut argv = blackbox_recorder::decode::split_nul(&cmdline)
        .into_iter()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    let exe = argv.next().unwrap_or_default();
    let args: Vec<String> = argv.collect();
    let root = link(&dir, "root").unwrap_or_else(|| "/".into());
    let cwd = link(&dir, "cwd").map_or_else(|| "/".into(), |c| relative_to_root(&c, &root));
    let exepath = link(&dir, "exe").unwrap_or_else(|| exe.clone());
    let uid = status_values(&status, "Uid").get(1).copied().unwrap_or(0);
    let gid = status_values(&status, "Gid").get(1).copied().unwrap_or(0);
    let nspid = status_values(&status, "NSpid");
    let nspgid = status_values(&status, "NSpgid");
    let vpid = nspid.last().copied().unwrap_or(i64::from(pid));
    let vpgid = nspgid.last().copied().unwrap_or(stat.pgrp as i64);
    let loginuid = read_trimmed(dir.join("loginuid")).and_then(|s| s.parse::<u32>().ok());
    let cgroups = match cgroups {
        Some(c) => c.to_vec(),
        None => fs::read_to_string(dir.join("cgroup"))
            .ok()
            .and_then(|c| {
                c.lines()
                    .filter_map(|l| l.splitn(3, ':').nth(2))
                    .find(|p| !p.is_empty())
                    .map(cgroup_entries)
            })
            .unwrap_or_default(),
    };
    Some(ProcessInfo {
        tid: pid as u64,
        pid: pid as u64,
        ptid: stat.ppid,
        sid: stat.session,
        vpgid: vpgid as u64,
        comm,
        exe,
        exepath,
        args,
        cwd,
        fdlimit: soft_nofile(&dir).unwrap_or(1024),
        flags: if nspid.len() > 1 {
            clone::CHILD_IN_PIDNS
        } else {
            0
        },
        uid: uid as u32,
        gid: gid as u32,
        vtid: vpid,
        vpid,
        cgroups,
        root: "/".into(),
        loginuid,
        ..ProcessInfo::default()
    })
}

/// Whether `pid` still runs runc's init (comm `runc:[2:INIT]` or another `runc…` name), i.e.
/// has not exec'd the container's process yet. `None` when `/proc/<pid>` cannot be read.
pub fn is_runc_init(pid: i32) -> Option<bool> {
    read_trimmed(format!("/proc/{pid}/comm")).map(|c| c.starts_with("runc"))
}

/// The stdio fds (0, 1, 2) of `pid` as fd-list entries: files with their open flags, pipes.
/// Other fds of `runc init` are close-on-exec and would be stale after its execve.
pub fn stdio_fds(pid: i32) -> Option<ThreadFds> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let mut fds = Vec::new();
    for fd in 0..3i64 {
        let Some(target) = link(&dir.join("fd"), &fd.to_string()) else {
            continue;
        };
        let ino = fs::metadata(dir.join("fd").join(fd.to_string())).map_or(0, |m| m.ino());
        let kind = if target.starts_with('/') {
            let flags = fs::read_to_string(dir.join("fdinfo").join(fd.to_string()))
                .ok()
                .and_then(|i| {
                    i.lines()
                        .find_map(|l| l.strip_prefix("flags:"))
                        .and_then(|v| u64::from_str_radix(v.trim(), 8).ok())
                })
                .unwrap_or(0);
            FdKind::FileV2 {
                open_flags: open_flags_to_ppm(flags),
                name: target,
                dev: None,
            }
        } else if target.starts_with("pipe:") {
            FdKind::Named {
                fd_type: fd_type::FIFO,
                name: target,
            }
        } else {
            continue;
        };
        fds.push(FdInfo { fd, ino, kind });
    }
    (!fds.is_empty()).then_some(ThreadFds {
        tid: pid as u64,
        fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        let p = process_entry(me, None).expect("own /proc entry");
        assert_eq!((p.tid, p.pid), (me as u64, me as u64));
        assert!(!p.comm.is_empty());
        assert!(p.fdlimit > 0);
        assert!(p.cwd.starts_with('/'));
        let cg = vec!["cpu=/x".to_string()];
        assert_eq!(process_entry(me, Some(&cg)).map(|p| p.cgroups), Some(cg));
        assert!(process_entry(-5, None).is_none());
        assert_eq!(is_runc_init(me), Some(false));
        assert_eq!(is_runc_init(-5), None);
        let m = machine_info("");
        assert!(m.num_cpus >= 1 && m.memory_bytes > 0 && !m.hostname.is_empty());
        assert_eq!(machine_info("node-9").hostname, "node-9");
    }

    #[test]
    fn cwd_is_made_relative_to_the_root() {
        assert_eq!(
            relative_to_root("/run/c/rootfs/app", "/run/c/rootfs"),
            "/app"
        );
        assert_eq!(relative_to_root("/run/c/rootfs", "/run/c/rootfs"), "/");
        assert_eq!(
            relative_to_root("/run/c/rootfsx", "/run/c/rootfs"),
            "/run/c/rootfsx"
        );
        assert_eq!(relative_to_root("/app", "/"), "/app");
    }
}
