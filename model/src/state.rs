//! The state tables: threads, fds, users, groups and containers, as libsinsp keeps them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// What an fd is (libsinsp `scap_fd_type`), with Falco's `fd.type` / `fd.typechar` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdKind {
    File,
    Directory,
    Ipv4,
    Ipv6,
    Unix,
    Pipe,
    Event,
    Signalfd,
    Eventpoll,
    Inotify,
    Timerfd,
    Netlink,
    Bpf,
    Userfaultfd,
    Memfd,
    Unknown,
    Unsupported,
}

impl FdKind {
    /// `fd.typechar`.
    pub fn typechar(self) -> &'static str {
        match self {
            FdKind::File => "f",
            FdKind::Directory => "d",
            FdKind::Ipv4 => "4",
            FdKind::Ipv6 => "6",
            FdKind::Unix | FdKind::Userfaultfd => "u",
            FdKind::Pipe => "p",
            FdKind::Event => "e",
            FdKind::Signalfd => "s",
            FdKind::Eventpoll => "l",
            FdKind::Inotify => "i",
            FdKind::Timerfd => "t",
            FdKind::Netlink => "n",
            FdKind::Bpf => "b",
            FdKind::Memfd => "m",
            FdKind::Unknown => "o",
            FdKind::Unsupported => "X",
        }
    }

    /// `fd.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Event => "event",
            FdKind::Signalfd => "signalfd",
            FdKind::Eventpoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::Timerfd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Bpf => "bpf",
            FdKind::Userfaultfd => "userfaultfd",
            FdKind::Memfd => "memfd",
            FdKind::Unknown => "unknown",
            FdKind::Unsupported => "unsupported",
        }
    }

    pub fn is_ip(self) -> bool {
        matches!(self, FdKind::Ipv4 | FdKind::Ipv6)
    }
}

/// Layer-4 protocol of an IP socket (`fd.l4proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L4 {
    #[default]
    Unknown,
    Tcp,
    Udp,
    Icmp,
    Raw,
}

impl L4 {
    pub fn name(self) -> Option<&'static str> {
        match self {
            L4::Unknown => None,
            L4::Tcp => Some("tcp"),
            L4::Udp => Some("udp"),
            L4::Icmp => Some("icmp"),
            L4::Raw => Some("raw"),
        }
    }
}

/// A socket's endpoints, client and server (libsinsp's tuple orientation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    pub cip: IpAddr,
    pub cport: u16,
    pub sip: IpAddr,
    pub sport: u16,
}

/// One open fd.
#[derive(Debug, Clone, PartialEq)]
pub struct FdInfo {
    pub kind: FdKind,
    /// `fd.name`: absolute path, socket tuple text, unix path.
    pub name: String,
    /// `fd.nameraw`: the path as the process passed it (opens only).
    pub nameraw: String,
    /// PPM_O_* flags of the open.
    pub open_flags: u32,
    pub l4: L4,
    pub tuple: Option<Tuple>,
    /// The socket was accepted / bound (server side of the tuple).
    pub server: bool,
    pub connected: bool,
    pub dev: Option<u32>,
    pub ino: Option<u64>,
}

impl FdInfo {
    pub fn new(kind: FdKind, name: String) -> FdInfo {
        FdInfo {
            kind,
            name,
            nameraw: String::new(),
            open_flags: 0,
            l4: L4::Unknown,
            tuple: None,
            server: false,
            connected: false,
            dev: None,
            ino: None,
        }
    }

    /// Local endpoint (ip, port) of the tuple.
    pub fn local(&self) -> Option<(IpAddr, u16)> {
        let t = self.tuple?;
        Some(if self.server {
            (t.sip, t.sport)
        } else {
            (t.cip, t.cport)
        })
    }

    /// Remote endpoint (ip, port) of the tuple.
    pub fn remote(&self) -> Option<(IpAddr, u16)> {
        let t = self.tuple?;
        Some(if self.server {
            (t.cip, t.cport)
        } else {
            (t.sip, t.sport)
        })
    }
}

/// Formats an endpoint the way libsinsp names sockets (`1.2.3.4:80`, IPv6 without brackets).
pub fn endpoint_text(ip: IpAddr, port: u16) -> String {
    format!("{ip}:{port}")
}

/// `cip:cport->sip:sport`.
pub fn tuple_name(t: &Tuple) -> String {
    format!(
        "{}->{}",
        endpoint_text(t.cip, t.cport),
        endpoint_text(t.sip, t.sport)
    )
}

/// One thread (libsinsp `sinsp_threadinfo`).
#[derive(Debug, Clone, Default)]
pub struct Thread {
    pub tid: i64,
    pub pid: i64,
    pub ptid: i64,
    pub sid: i64,
    pub vpgid: i64,
    pub vtid: i64,
    pub vpid: i64,
    pub comm: String,
    pub exe: String,
    pub exepath: String,
    pub args: Vec<String>,
    /// `proc.args`: the args joined by spaces (built at exec/clone, not per event).
    pub args_joined: String,
    /// `proc.cmdline`: comm followed by the args.
    pub cmdline: String,
    /// With a trailing `/`.
    pub cwd: String,
    pub env: Vec<String>,
    pub cgroups: Vec<String>,
    pub uid: u32,
    pub gid: u32,
    pub loginuid: u32,
    pub tty: u32,
    pub fdlimit: i64,
    pub cap_permitted: Option<u64>,
    pub cap_inheritable: Option<u64>,
    pub cap_effective: Option<u64>,
    /// PPM_EXE_* flags of the last exec, when the capture has them.
    pub exe_flags: Option<u32>,
    pub exe_ino: Option<u64>,
    pub exe_ino_ctime: Option<u64>,
    pub exe_ino_mtime: Option<u64>,
    pub pidns_init_start_ts: Option<u64>,
    /// Clone time (ns), when the capture saw the clone.
    pub clone_ts: Option<u64>,
    pub vmsize_kb: u32,
    pub vmrss_kb: u32,
    pub vmswap_kb: u32,
    pub pfmajor: u64,
    pub pfminor: u64,
    /// Short (12-character) container id from the cgroups; `None` = host.
    pub container_id: Option<String>,
    /// libsinsp's placeholder for a thread seen only through its events.
    pub placeholder: bool,
    /// fd of the thread's last enter event (`m_lastevent_fd`): -1 after an enter without one, 0 for a
    /// thread no enter was seen of (libsinsp 0.29 initialises it so).
    pub lastevent_fd: i64,
}

impl Thread {
    /// libsinsp's placeholder for an unknown tid: comm/exe `<NA>`, ids unset.
    pub fn placeholder(tid: i64) -> Thread {
        let mut t = Thread {
            tid,
            pid: -1,
            ptid: -1,
            sid: -1,
            vpgid: -1,
            vtid: -1,
            vpid: -1,
            comm: "<NA>".into(),
            exe: "<NA>".into(),
            uid: u32::MAX,
            gid: u32::MAX,
            loginuid: u32::MAX,
            placeholder: true,
            lastevent_fd: 0,
            ..Thread::default()
        };
        t.rebuild_cmdline();
        t
    }

    /// The key of the fd table this thread uses (its process).
    pub fn fd_key(&self) -> i64 {
        if self.pid > 0 {
            self.pid
        } else {
            self.tid
        }
    }

    pub fn rebuild_cmdline(&mut self) {
        self.args_joined = self.args.join(" ");
        self.cmdline.clear();
        self.cmdline.push_str(&self.comm);
        if !self.args_joined.is_empty() {
            self.cmdline.push(' ');
            self.cmdline.push_str(&self.args_joined);
        }
    }
}

/// One container, from the container JSON event.
#[derive(Debug, Clone, Default)]
pub struct Container {
    pub id: String,
    pub full_id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub image_repo: String,
    pub image_tag: String,
    pub image_digest: String,
    pub container_type: Option<u64>,
    pub privileged: Option<bool>,
    /// Seconds or ns since the epoch, as written.
    pub created_time: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub ip: Option<String>,
}

impl Container {
    /// Parses sysdig's container JSON payload (`{"container": {...}}`).
    pub fn from_json(text: &str) -> Option<Container> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let c = v.get("container")?;
        let s = |k: &str| {
            c.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let full_id = s("full_id");
        let mut id = s("id");
        if id.is_empty() {
            id = full_id.chars().take(12).collect();
        }
        let labels = c
            .get("labels")
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let ip = c
            .get("ip")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        Some(Container {
            id,
            full_id,
            name: s("name"),
            image: s("image"),
            image_id: s("imageid"),
            image_repo: s("imagerepo"),
            image_tag: s("imagetag"),
            image_digest: s("imagedigest"),
            container_type: c.get("type").and_then(serde_json::Value::as_u64),
            privileged: c.get("privileged").and_then(serde_json::Value::as_bool),
            created_time: c.get("created_time").and_then(serde_json::Value::as_i64),
            labels,
            ip,
        })
    }

    /// Container start time in ns since the epoch.
    pub fn start_ts_ns(&self) -> Option<u64> {
        let t = u64::try_from(self.created_time?).ok()?;
        if t == 0 {
            return None;
        }
        // sysdig writes seconds; accept ns as well.
        Some(if t < 100_000_000_000 {
            t.saturating_mul(1_000_000_000)
        } else {
            t
        })
    }

    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self.container_type? {
            0 => "docker",
            1 => "lxc",
            2 => "libvirt-lxc",
            3 => "mesos",
            4 => "rkt",
            5 => "custom",
            6 => "cri",
            7 => "containerd",
            8 => "cri-o",
            9 => "bpm",
            _ => return None,
        })
    }
}

/// Users and groups of the capture (UL blocks).
#[derive(Debug, Clone, Default)]
pub struct Users {
    pub users: HashMap<u32, blackbox_scap::UserInfo>,
    pub groups: HashMap<u32, String>,
}

/// A fast hasher for the integer keys of the state tables (thread ids, fds): the
/// multiply-rotate of rustc's `FxHasher`. The keys come from the kernel, not from an
/// adversary choosing them to collide, and SipHash (std's default) cost more per event than
/// the rest of a lookup.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

const ID_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(ID_SEED);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

/// `HashMap` with [`IdHasher`], for integer keys.
pub type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// fd table of a process.
pub type FdTable = IdMap<i64, FdInfo>;

/// Resolves `path` against `base` (a directory, with or without trailing `/`) and normalises
/// it like libsinsp's `concatenate_paths`: `.` and empty components dropped, `..` collapsed.
pub fn resolve_path(base: &str, path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let joined_base = if path.starts_with('/') { "" } else { base };
    for part in joined_base.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    let mut s = String::with_capacity(path.len() + base.len() + 1);
    for p in &out {
        s.push('/');
        s.push_str(p);
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_and_normalise() {
        assert_eq!(resolve_path("/root/", "a/../b/./c"), "/root/b/c");
        assert_eq!(resolve_path("/root", "/etc//passwd"), "/etc/passwd");
        assert_eq!(resolve_path("/", "../../x"), "/x");
        assert_eq!(resolve_path("", "x"), "/x");
        assert_eq!(resolve_path("/a/", "."), "/a");
    }
}
