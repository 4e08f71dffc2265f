//! Looking at the host: processes, mounts, cgroups and open files, to find what a run left over.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A process and its NUL-separated command line split into arguments.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: i32,
    pub args: Vec<String>,
}

impl Process {
    /// The value following `flag` in the command line (`-address X`).
    #[must_use]
    pub fn flag(&self, flag: &str) -> Option<&str> {
        let i = self.args.iter().position(|a| a == flag)?;
        self.args.get(i + 1).map(String::as_str)
    }

    /// The program's file name (first argument without its directory).
    #[must_use]
    pub fn program(&self) -> &str {
        self.args
            .first()
            .map(|a| a.rsplit('/').next().unwrap_or(a))
            .unwrap_or("")
    }
}

/// Every process with a readable command line.
#[must_use]
pub fn processes() -> Vec<Process> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            (!args.is_empty()).then_some(Process { pid, args })
        })
        .collect()
}

/// Shim processes (`containerd-shim-*`) started by the containerd listening on `address`.
#[must_use]
pub fn shims_of(address: &Path) -> Vec<Process> {
    let address = address.to_string_lossy();
    processes()
        .into_iter()
        .filter(|p| p.program().starts_with("containerd-shim"))
        .filter(|p| p.flag("-address") == Some(&*address))
        .collect()
}

/// Sends SIGKILL, ignoring processes that are already gone.
pub fn kill_pid(pid: i32) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
}

/// True while `pid` exists and is not a zombie.
#[must_use]
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Mount points (from /proc/self/mountinfo) at or below `prefix`, deepest last.
#[must_use]
pub fn mounts_under(prefix: &Path) -> Vec<PathBuf> {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mount_path)
        .filter(|p| p.starts_with(prefix))
        .collect()
}

fn unescape_mount_path(raw: &str) -> PathBuf {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let mut out = String::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(v) = u8::from_str_radix(&raw[i + 1..i + 4], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    PathBuf::from(out)
}

/// Lazily unmounts everything at or below `prefix`, deepest first.
pub fn unmount_all_under(prefix: &Path) {
    for _ in 0..3 {
        let mounts = mounts_under(prefix);
        if mounts.is_empty() {
            return;
        }
        for m in mounts.iter().rev() {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// Number of open file descriptors of `pid`.
pub fn fd_count(pid: i32) -> std::io::Result<usize> {
    Ok(fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// Targets of `pid`'s open file descriptors (for leak messages).
#[must_use]
pub fn fd_targets(pid: i32) -> Vec<String> {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| fs::read_link(e.path()).ok())
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

/// Cgroup hierarchies mounted here: every v1 controller directory and the unified one.
#[must_use]
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").is_file() {
        return vec![base.to_path_buf()];
    }
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        // cpu,cpuacct style symlinks point at a real hierarchy already listed.
        .filter(|p| p.is_dir() && !p.is_symlink() && p.join("cgroup.procs").is_file())
        .collect();
    v.sort();
    v
}

/// The directories of cgroup `path` (like `/ns/id`) that exist in any hierarchy.
#[must_use]
pub fn cgroup_dirs(path: &str) -> Vec<PathBuf> {
    let rel = path.trim_start_matches('/');
    cgroup_hierarchies()
        .into_iter()
        .map(|h| h.join(rel))
        .filter(|p| p.is_dir())
        .collect()
}

/// Kills every process in cgroup `path` and its descendants, then removes the (now empty)
/// directories, deepest first, in every hierarchy.
pub fn remove_cgroup_tree(path: &str) {
    for dir in cgroup_dirs(path) {
        for _ in 0..20 {
            let pids = cgroup_tree_procs(&dir);
            if pids.is_empty() {
                break;
            }
            pids.into_iter().for_each(kill_pid);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        remove_dir_tree_depth_first(&dir);
    }
}

fn cgroup_tree_procs(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            if e.path().is_dir() {
                pids.extend(cgroup_tree_procs(&e.path()));
            }
        }
    }
    pids
}

fn remove_dir_tree_depth_first(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            if e.path().is_dir() {
                remove_dir_tree_depth_first(&e.path());
            }
        }
    }
    // cgroup directories can only be removed with rmdir, and only when empty.
    let _ = fs::remove_dir(dir);
}

/// Every regular file, socket, fifo or symlink below `dir` (directories themselves not listed).
#[must_use]
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(&path)),
            Ok(_) => out.push(path),
            Err(_) => {}
        }
    }
    out
}

/// The socket a task-v2 shim of the containerd at `address` listens on for task `id` in
/// `namespace` (containerd 1.6's `shim.SocketAddress`: `/run/containerd/s/<sha256 hex>`).
#[must_use]
pub fn shim_socket_path(address: &Path, namespace: &str, id: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let key = address.join(namespace).join(id);
    let digest = Sha256::digest(key.as_os_str().as_encoded_bytes());
    Path::new("/run/containerd/s").join(format!("{digest:x}"))
}
