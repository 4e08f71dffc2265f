//! State updates from events (libsinsp `sinsp_parser`), run before filters see the event.

use std::net::IpAddr;

use blackbox_scap::event_table::{EF_CREATES_FD, EF_DESTROYS_FD, EF_USES_FD};
use blackbox_scap::{Event, FdInfo as ListFd, ParamValue, SockAddr, SockTuple};

use crate::state::{resolve_path, tuple_name, FdInfo, FdKind, Thread, Tuple, L4};
use crate::Model;

const AT_FDCWD: i64 = -100;
const PPM_O_DIRECTORY: u32 = 1 << 10;
const PPM_CL_CLONE_THREAD: u64 = 1 << 13;
const PPM_CL_CLONE_FILES: u64 = 1 << 0;
/// PPM fcntl commands that duplicate an fd.
const PPM_FCNTL_F_DUPFD: u64 = 1;
const PPM_FCNTL_F_DUPFD_CLOEXEC: u64 = 0x1a;

pub(crate) fn fd_from_list(f: &ListFd) -> FdInfo {
    use blackbox_scap::fd_type as t;
    use blackbox_scap::FdKind as K;
    let mut info = match &f.kind {
        K::Named { fd_type, name } => {
            let kind = match *fd_type {
                t::FILE | t::FILE_V2 => FdKind::File,
                t::DIRECTORY => FdKind::Directory,
                t::FIFO => FdKind::Pipe,
                t::EVENT => FdKind::Event,
                t::SIGNALFD => FdKind::Signalfd,
                t::EVENTPOLL => FdKind::Eventpoll,
                t::INOTIFY => FdKind::Inotify,
                t::TIMERFD => FdKind::Timerfd,
                t::NETLINK => FdKind::Netlink,
                t::UNIX_SOCK => FdKind::Unix,
                t::UNSUPPORTED => FdKind::Unsupported,
                _ => FdKind::Unknown,
            };
            FdInfo::new(kind, name.clone())
        }
        K::FileV2 {
            open_flags,
            name,
            dev,
        } => {
            let mut i = FdInfo::new(FdKind::File, name.clone());
            i.open_flags = *open_flags;
            i.dev = *dev;
            i
        }
        K::Ipv4Socket {
            sip,
            dip,
            sport,
            dport,
            l4proto,
        } => socket_fd(
            FdKind::Ipv4,
            Tuple {
                cip: IpAddr::V4(*sip),
                cport: *sport,
                sip: IpAddr::V4(*dip),
                sport: *dport,
            },
            *l4proto,
            false,
        ),
        K::Ipv6Socket {
            sip,
            dip,
            sport,
            dport,
            l4proto,
        } => socket_fd(
            FdKind::Ipv6,
            Tuple {
                cip: IpAddr::V6(*sip),
                cport: *sport,
                sip: IpAddr::V6(*dip),
                sport: *dport,
            },
            *l4proto,
            false,
        ),
        K::Ipv4Server { ip, port, l4proto } => {
            let mut i = FdInfo::new(FdKind::Ipv4, format!("{ip}:{port}"));
            i.l4 = l4_from_scap(*l4proto);
            i.server = true;
            i.tuple = Some(Tuple {
                cip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                cport: 0,
                sip: IpAddr::V4(*ip),
                sport: *port,
            });
            i
        }
        K::Ipv6Server { ip, port, l4proto } => {
            let mut i = FdInfo::new(FdKind::Ipv6, format!("{ip}:{port}"));
            i.l4 = l4_from_scap(*l4proto);
            i.server = true;
            i.tuple = Some(Tuple {
                cip: IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                cport: 0,
                sip: IpAddr::V6(*ip),
                sport: *port,
            });
            i
        }
        // /proc/net/unix paths can carry the line's newline.
        K::Unix { path, .. } => FdInfo::new(FdKind::Unix, path.trim_end().to_string()),
    };
    info.ino = Some(f.ino);
    info
}

/// PPME_SCHEDSWITCH_6_E, the `switch` event with the page-fault and memory counters.
const SCHEDSWITCH_6_E: u16 = 152;

fn socket_fd(kind: FdKind, t: Tuple, l4proto: u8, server: bool) -> FdInfo {
    let mut i = FdInfo::new(kind, tuple_name(&t));
    i.tuple = Some(t);
    i.l4 = l4_from_scap(l4proto);
    i.server = server;
    i.connected = true;
    i
}

/// SCAP_L4_* numbers.
fn l4_from_scap(p: u8) -> L4 {
    match p {
        2 => L4::Tcp,
        3 => L4::Udp,
        4 => L4::Icmp,
        5 => L4::Raw,
        _ => L4::Unknown,
    }
}

fn param<'e>(ev: &'e Event, name: &str) -> Option<&'e ParamValue> {
    ev.param(name)
}

fn int(ev: &Event, name: &str) -> Option<i64> {
    param(ev, name).and_then(ParamValue::as_i64)
}

fn uint(ev: &Event, name: &str) -> Option<u64> {
    param(ev, name).and_then(ParamValue::as_u64)
}

fn text(ev: &Event, name: &str) -> Option<String> {
    match param(ev, name)? {
        ParamValue::Str(b) | ParamValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// A NUL-separated list (args, env, cgroups).
fn list(ev: &Event, name: &str) -> Option<Vec<String>> {
    let b = param(ev, name)?.as_bytes()?;
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Some(Vec::new());
    }
    Some(
        b.split(|&c| c == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// Returns the thread of the current event, creating libsinsp's placeholder if unknown.
fn ensure_thread(m: &mut Model, tid: i64) {
    m.threads
        .entry(tid)
        .or_insert_with(|| Thread::placeholder(tid));
}

pub(crate) fn update(m: &mut Model) {
    let Some(ev) = m.cur.take() else {
        return;
    };
    let Some(info) = ev.info() else {
        m.cur = Some(ev);
        return;
    };
    let code = ev.event_type;
    if code == blackbox_scap::CONTAINER_JSON_E || code == blackbox_scap::CONTAINER_JSON_2_E {
        if let Some(ParamValue::Str(b) | ParamValue::Bytes(b)) = ev.params.first() {
            let s = String::from_utf8_lossy(b).into_owned();
            m.add_container_json(&s);
        }
        m.cur = Some(ev);
        return;
    }
    let tid = i64::try_from(ev.tid).unwrap_or(-1);
    let enter = code % 2 == 0;
    let fd_flags = info.flags & (EF_CREATES_FD | EF_USES_FD | EF_DESTROYS_FD);
    m.cur_fd.relevant = fd_flags != 0;
    // Exit events of clone create the child; the rest need the caller.
    let is_clone_exit = !enter && exit_kind(code, info.name) == Exit::Clone;
    if !is_clone_exit || int(&ev, "res") != Some(0) {
        ensure_thread(m, tid);
    }
    // Scheduler-style events skip libsinsp's per-event reset: they do not touch the thread's
    // last fd. That is the EF_SKIPPARSERESET flag, and (libsinsp's `reset` tests the type, not
    // the flag) the six-parameter `switch` (PPME_SCHEDSWITCH_6_E, code 152) too.
    if info.flags & blackbox_scap::event_table::EF_SKIPPARSERESET != 0 || code == SCHEDSWITCH_6_E {
        m.cur = Some(ev);
        return;
    }
    if enter {
        let fd = if info.flags & EF_USES_FD != 0 {
            ev.params.first().and_then(ParamValue::as_i64).unwrap_or(-1)
        } else {
            -1
        };
        if let Some(t) = m.threads.get_mut(&tid) {
            t.lastevent_fd = fd;
        }
        m.cur_fd.num = fd;
        if info.name == "procexit" {
            m.pending_exit = Some(tid);
        }
        m.cur = Some(ev);
        return;
    }
    let last_fd = m.threads.get(&tid).map_or(-1, |t| t.lastevent_fd);
    if info.flags & (EF_USES_FD | EF_DESTROYS_FD) != 0 {
        m.cur_fd.num = last_fd;
        // An fd the state never saw (opened before the capture and not in its fd lists):
        // as sysdig, the exit describes it as an fd of unknown type (`o`) with an empty name.
        if last_fd >= 0 && fd_of(m, tid, last_fd).is_none() {
            m.cur_fd.detached = Some(FdInfo::new(FdKind::Unknown, String::new()));
        }
    }
    // Moved out and back (no copy): the exit's own enter, if it is the thread's last one.
    let enter_ev = m
        .last_enter
        .remove(&tid)
        .filter(|e| e.event_type + 1 == code);
    match exit_kind(code, info.name) {
        Exit::Exec => exec_exit(m, tid, &ev, enter_ev.as_ref()),
        Exit::Clone => clone_exit(m, tid, &ev),
        Exit::Open => open_exit(m, tid, &ev, enter_ev.as_ref()),
        Exit::Socket => socket_exit(m, tid, &ev, enter_ev.as_ref()),
        Exit::Connect => connect_exit(m, tid, &ev, last_fd),
        Exit::Accept => accept_exit(m, tid, &ev),
        Exit::Bind => bind_exit(m, tid, &ev, last_fd),
        Exit::IoTuple => io_tuple_exit(m, tid, &ev, last_fd),
        Exit::Pipe => pair_exit(m, tid, &ev, true),
        Exit::Socketpair => pair_exit(m, tid, &ev, false),
        Exit::Dup => dup_exit(m, tid, &ev, last_fd),
        Exit::Fcntl => {
            let cmd = enter_ev.as_ref().and_then(|e| uint(e, "cmd"));
            if matches!(cmd, Some(PPM_FCNTL_F_DUPFD | PPM_FCNTL_F_DUPFD_CLOEXEC)) {
                dup_exit(m, tid, &ev, last_fd);
            }
        }
        Exit::Close => close_exit(m, tid, &ev, last_fd),
        Exit::Chdir if int(&ev, "res") == Some(0) => {
            if let (Some(path), Some(t)) = (text(&ev, "path"), m.threads.get_mut(&tid)) {
                let mut cwd = resolve_path(&t.cwd, &path);
                if !cwd.ends_with('/') {
                    cwd.push('/');
                }
                t.cwd = cwd;
            }
        }
        Exit::Fchdir if int(&ev, "res") == Some(0) => {
            let name = fd_of(m, tid, last_fd).map(|f| f.name.clone());
            if let (Some(mut cwd), Some(t)) = (name, m.threads.get_mut(&tid)) {
                if !cwd.ends_with('/') {
                    cwd.push('/');
                }
                t.cwd = cwd;
            }
        }
        Exit::SetIds => set_ids(m, tid, &ev, enter_ev.as_ref(), info.name),
        Exit::NewFd(kind) => {
            let fd = ev.params.first().and_then(ParamValue::as_i64).unwrap_or(-1);
            if fd >= 0 {
                add_fd(m, tid, fd, FdInfo::new(kind, String::new()));
                m.cur_fd.num = fd;
            }
        }
        _ => {}
    }
    if let Some(e) = enter_ev {
        m.last_enter.insert(tid, e);
    }
    m.cur = Some(ev);
}

/// What an exit event does to the state (by its name; see [`exit_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Exec,
    Clone,
    Open,
    Socket,
    Connect,
    Accept,
    Bind,
    IoTuple,
    Pipe,
    Socketpair,
    Dup,
    Fcntl,
    Close,
    Chdir,
    Fchdir,
    SetIds,
    NewFd(FdKind),
    Nothing,
}

fn exit_kind_of_name(name: &str) -> Exit {
    match name {
        "execve" | "execveat" => Exit::Exec,
        "clone" | "fork" | "vfork" | "clone3" => Exit::Clone,
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at" => Exit::Open,
        "socket" => Exit::Socket,
        "connect" => Exit::Connect,
        "accept" => Exit::Accept,
        "bind" => Exit::Bind,
        "sendto" | "sendmsg" | "recvfrom" | "recvmsg" => Exit::IoTuple,
        "pipe" => Exit::Pipe,
        "socketpair" => Exit::Socketpair,
        "dup" => Exit::Dup,
        "fcntl" => Exit::Fcntl,
        "close" => Exit::Close,
        "chdir" => Exit::Chdir,
        "fchdir" => Exit::Fchdir,
        "setuid" | "setresuid" | "setgid" | "setresgid" => Exit::SetIds,
        "eventfd" => Exit::NewFd(FdKind::Event),
        "signalfd" => Exit::NewFd(FdKind::Signalfd),
        "timerfd_create" => Exit::NewFd(FdKind::Timerfd),
        "inotify_init" => Exit::NewFd(FdKind::Inotify),
        "epoll_create" => Exit::NewFd(FdKind::Eventpoll),
        "userfaultfd" => Exit::NewFd(FdKind::Userfaultfd),
        "bpf" => Exit::NewFd(FdKind::Bpf),
        _ => Exit::Nothing,
    }
}

/// [`exit_kind_of_name`] by event code, from a table built once (the name comparisons cost
/// more than the rest of the update for most events).
fn exit_kind(code: u16, name: &str) -> Exit {
    static TABLE: std::sync::OnceLock<Vec<Exit>> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map_while(blackbox_scap::event_table::event_info)
            .map(|i| exit_kind_of_name(i.name))
            .collect()
    });
    t.get(usize::from(code))
        .copied()
        .unwrap_or_else(|| exit_kind_of_name(name))
}

fn fd_table_key(m: &Model, tid: i64) -> i64 {
    m.threads.get(&tid).map_or(tid, Thread::fd_key)
}

pub(crate) fn fd_of(m: &Model, tid: i64, fd: i64) -> Option<&FdInfo> {
    m.fds.get(&fd_table_key(m, tid))?.get(&fd)
}

/// Adds `fd` to the thread's table; like libsinsp's `add_fd`, it becomes the thread's last
/// event fd, and with it the event's `fd.num` (a pipe's exit shows its second fd).
fn add_fd(m: &mut Model, tid: i64, fd: i64, info: FdInfo) {
    let key = fd_table_key(m, tid);
    m.fds.entry(key).or_default().insert(fd, info);
    if let Some(t) = m.threads.get_mut(&tid) {
        t.lastevent_fd = fd;
    }
    m.cur_fd.num = fd;
}

fn exec_exit(m: &mut Model, tid: i64, ev: &Event, enter: Option<&Event>) {
    if int(ev, "res") != Some(0) {
        return;
    }
    let cwd_param = text(ev, "cwd").filter(|c| !c.is_empty());
    let enter_path = enter.and_then(|e| text(e, "filename").or_else(|| text(e, "pathname")));
    let trusted = text(ev, "trusted_exepath").filter(|s| !s.is_empty());
    let cgroups = list(ev, "cgroups");
    let Some(t) = m.threads.get_mut(&tid) else {
        return;
    };
    t.placeholder = false;
    if let Some(exe) = text(ev, "exe") {
        t.exe = exe;
    }
    if let Some(args) = list(ev, "args") {
        t.args = args;
    }
    if let Some(comm) = text(ev, "comm") {
        t.comm = comm;
    } else if let Some(name) = t.exe.rsplit('/').next() {
        // Old execve versions have no comm: libsinsp uses the exe's basename.
        t.comm = name.to_string();
    }
    if let Some(p) = int(ev, "pid") {
        t.pid = p;
    }
    if let Some(p) = int(ev, "ptid") {
        t.ptid = p;
    }
    if let Some(mut c) = cwd_param {
        if !c.ends_with('/') {
            c.push('/');
        }
        t.cwd = c;
    }
    if let Some(env) = list(ev, "env") {
        t.env = env;
    }
    if let Some(cg) = cgroups {
        t.container_id = blackbox_scap::container::container_id_from_cgroups(&cg);
        t.cgroups = cg;
    }
    if let Some(v) = int(ev, "tty") {
        t.tty = u32::try_from(v).unwrap_or(0);
    }
    if let Some(v) = int(ev, "pgid") {
        t.vpgid = v;
    }
    if let Some(v) = int(ev, "loginuid") {
        t.loginuid = v as u32;
    }
    if let Some(v) = uint(ev, "flags") {
        t.exe_flags = u32::try_from(v).ok();
    }
    if let Some(v) = int(ev, "fdlimit") {
        t.fdlimit = v;
    }
    for (name, slot) in [
        ("cap_inheritable", &mut t.cap_inheritable),
        ("cap_permitted", &mut t.cap_permitted),
        ("cap_effective", &mut t.cap_effective),
        ("exe_ino", &mut t.exe_ino),
        ("exe_ino_ctime", &mut t.exe_ino_ctime),
        ("exe_ino_mtime", &mut t.exe_ino_mtime),
        ("pidns_init_start_ts", &mut t.pidns_init_start_ts),
    ] {
        if let Some(v) = uint(ev, name) {
            *slot = Some(v);
        }
    }
    if let Some(v) = uint(ev, "uid") {
        t.uid = v as u32;
    }
    if let Some(v) = uint(ev, "gid") {
        t.gid = v as u32;
    }
    if let Some(v) = uint(ev, "vm_size") {
        t.vmsize_kb = v as u32;
    }
    if let Some(v) = uint(ev, "vm_rss") {
        t.vmrss_kb = v as u32;
    }
    t.exepath = match (trusted, enter_path) {
        (Some(p), _) => p,
        (None, Some(p)) if p.starts_with('/') => p,
        (None, Some(p)) if !p.is_empty() => resolve_path(&t.cwd, &p),
        _ => t.exe.clone(),
    };
    t.rebuild_cmdline();
}

fn clone_exit(m: &mut Model, tid: i64, ev: &Event) {
    let Some(res) = int(ev, "res") else {
        return;
    };
    let flags = uint(ev, "flags").unwrap_or(0);
    let ts = ev.ts;
    if res == 0 {
        // Child side: the event describes the new thread.
        let ptid = int(ev, "ptid").unwrap_or(-1);
        let pid = int(ev, "pid").unwrap_or(tid);
        let parent = m
            .threads
            .get(&ptid)
            .cloned()
            .or_else(|| m.threads.get(&pid).cloned());
        let existed = m.threads.contains_key(&tid);
        let mut t = m
            .threads
            .remove(&tid)
            .filter(|t| !t.placeholder)
            .or(parent.clone())
            .unwrap_or_else(|| Thread::placeholder(tid));
        t.tid = tid;
        t.pid = pid;
        t.ptid = ptid;
        t.placeholder = false;
        t.lastevent_fd = 0;
        if let Some(exe) = text(ev, "exe") {
            t.exe = exe;
        }
        if let Some(args) = list(ev, "args") {
            t.args = args;
        }
        if let Some(comm) = text(ev, "comm") {
            t.comm = comm;
        }
        if let Some(mut c) = text(ev, "cwd").filter(|c| !c.is_empty()) {
            if !c.ends_with('/') {
                c.push('/');
            }
            t.cwd = c;
        }
        if let Some(cg) = list(ev, "cgroups") {
            t.container_id = blackbox_scap::container::container_id_from_cgroups(&cg);
            t.cgroups = cg;
        }
        if let Some(v) = uint(ev, "uid") {
            t.uid = v as u32;
        }
        if let Some(v) = uint(ev, "gid") {
            t.gid = v as u32;
        }
        if let Some(v) = int(ev, "vtid") {
            t.vtid = v;
        }
        if let Some(v) = int(ev, "vpid") {
            t.vpid = v;
        }
        if let Some(v) = int(ev, "fdlimit") {
            t.fdlimit = v;
        }
        if !existed || t.clone_ts.is_none() {
            t.clone_ts = Some(ts);
        }
        t.rebuild_cmdline();
        let parent_key = parent.as_ref().map(Thread::fd_key);
        let own_key = t.fd_key();
        m.threads.insert(tid, t);
        if let Some(pk) = parent_key {
            if pk != own_key && flags & (PPM_CL_CLONE_THREAD | PPM_CL_CLONE_FILES) == 0 {
                if let Some(table) = m.fds.get(&pk).cloned() {
                    m.fds.entry(own_key).or_insert(table);
                }
            }
        }
    } else if res > 0 {
        // Parent side: create the child from the parent if the child side has not come yet.
        if m.threads.contains_key(&res) {
            return;
        }
        let Some(parent) = m.threads.get(&tid).cloned() else {
            return;
        };
        let mut t = parent.clone();
        t.tid = res;
        t.lastevent_fd = 0;
        t.clone_ts = Some(ts);
        if flags & PPM_CL_CLONE_THREAD != 0 {
            t.pid = parent.pid;
            t.ptid = parent.ptid;
        } else {
            t.pid = res;
            t.ptid = parent.pid;
            t.vtid = -1;
            t.vpid = -1;
        }
        let own_key = t.fd_key();
        m.threads.insert(res, t);
        if own_key != parent.fd_key() && flags & PPM_CL_CLONE_FILES == 0 {
            if let Some(table) = m.fds.get(&parent.fd_key()).cloned() {
                m.fds.entry(own_key).or_insert(table);
            }
        }
    }
}

fn open_exit(m: &mut Model, tid: i64, ev: &Event, enter: Option<&Event>) {
    let fd = ev.params.first().and_then(ParamValue::as_i64).unwrap_or(-1);
    let name = text(ev, "name").or_else(|| enter.and_then(|e| text(e, "name")));
    let flags = uint(ev, "flags")
        .or_else(|| enter.and_then(|e| uint(e, "flags")))
        .unwrap_or(0) as u32;
    let dirfd = int(ev, "dirfd")
        .or_else(|| enter.and_then(|e| int(e, "dirfd")))
        .unwrap_or(AT_FDCWD);
    // A failed open has no fd: fd.num is -1 (what `open_file_failed` tests).
    let fd_num = if fd >= 0 { fd } else { -1 };
    m.cur_fd.num = fd_num;
    if let Some(t) = m.threads.get_mut(&tid) {
        t.lastevent_fd = fd_num;
    }
    let Some(raw) = name else {
        return;
    };
    let base = if raw.starts_with('/') {
        String::new()
    } else if dirfd == AT_FDCWD {
        m.threads
            .get(&tid)
            .map(|t| t.cwd.clone())
            .unwrap_or_default()
    } else {
        fd_of(m, tid, dirfd)
            .map(|f| f.name.clone())
            .unwrap_or_default()
    };
    let full = resolve_path(&base, &raw);
    let kind = if flags & PPM_O_DIRECTORY != 0 {
        FdKind::Directory
    } else {
        FdKind::File
    };
    let mut info = FdInfo::new(kind, full);
    info.nameraw = raw;
    info.open_flags = flags;
    info.dev = uint(ev, "dev").and_then(|d| u32::try_from(d).ok());
    info.ino = uint(ev, "ino");
    if fd >= 0 {
        add_fd(m, tid, fd, info);
    } else {
        m.cur_fd.detached = Some(info);
    }
}

/// PPM socket families (same numbers as Linux AF_*).
fn socket_kind(domain: u64) -> FdKind {
    match domain {
        1 => FdKind::Unix,
        2 => FdKind::Ipv4,
        10 => FdKind::Ipv6,
        16 => FdKind::Netlink,
        _ => FdKind::Unknown,
    }
}

fn socket_exit(m: &mut Model, tid: i64, ev: &Event, enter: Option<&Event>) {
    let fd = ev.params.first().and_then(ParamValue::as_i64).unwrap_or(-1);
    m.cur_fd.num = fd;
    if fd < 0 {
        return;
    }
    let domain = enter.and_then(|e| uint(e, "domain")).unwrap_or(0);
    let ty = enter.and_then(|e| uint(e, "type")).unwrap_or(0) & 0xf;
    let proto = enter.and_then(|e| uint(e, "proto")).unwrap_or(0);
    let kind = socket_kind(domain);
    let mut info = FdInfo::new(kind, String::new());
    if kind.is_ip() {
        info.l4 = match (ty, proto) {
            (_, 1 | 58) => L4::Icmp,
            (1, _) => L4::Tcp,
            (2, _) => L4::Udp,
            (3, _) => L4::Raw,
            _ => L4::Unknown,
        };
    }
    add_fd(m, tid, fd, info);
}

fn tuple_of(t: &SockTuple) -> Option<(FdKind, Tuple)> {
    match t {
        SockTuple::V4 { src, dst } => Some((
            FdKind::Ipv4,
            Tuple {
                cip: IpAddr::V4(*src.ip()),
                cport: src.port(),
                sip: IpAddr::V4(*dst.ip()),
                sport: dst.port(),
            },
        )),
        SockTuple::V6 { src, dst } => Some((
            FdKind::Ipv6,
            Tuple {
                cip: IpAddr::V6(*src.ip()),
                cport: src.port(),
                sip: IpAddr::V6(*dst.ip()),
                sport: dst.port(),
            },
        )),
        _ => None,
    }
}

fn unix_path(t: &SockTuple) -> Option<String> {
    match t {
        SockTuple::Unix { path, .. } => Some(String::from_utf8_lossy(path).into_owned()),
        _ => None,
    }
}

fn connect_exit(m: &mut Model, tid: i64, ev: &Event, fd: i64) {
    let res = int(ev, "res").unwrap_or(-1);
    // A failed connect leaves the socket as it was (EINPROGRESS: non-blocking, connecting).
    if res != 0 && res != -115 {
        return;
    }
    let Some(ParamValue::SockTuple(st)) = param(ev, "tuple") else {
        return;
    };
    let key = fd_table_key(m, tid);
    let table = m.fds.entry(key).or_default();
    let info = table
        .entry(fd)
        .or_insert_with(|| FdInfo::new(FdKind::Unknown, String::new()));
    if let Some((kind, tup)) = tuple_of(st) {
        info.kind = kind;
        info.tuple = Some(tup);
        info.server = false;
        info.name = tuple_name(&tup);
        if info.l4 == L4::Unknown {
            info.l4 = L4::Tcp;
        }
    } else if let Some(path) = unix_path(st) {
        info.kind = FdKind::Unix;
        info.name = path;
    }
    info.connected = true;
    m.cur_fd.name_changed = true;
}

fn accept_exit(m: &mut Model, tid: i64, ev: &Event) {
    let fd = int(ev, "fd").unwrap_or(-1);
    m.cur_fd.num = fd;
    if let Some(t) = m.threads.get_mut(&tid) {
        t.lastevent_fd = fd;
    }
    if fd < 0 {
        return;
    }
    let mut info = FdInfo::new(FdKind::Unknown, String::new());
    if let Some(ParamValue::SockTuple(st)) = param(ev, "tuple") {
        if let Some((kind, tup)) = tuple_of(st) {
            // accept's tuple is remote→local: the remote peer is the client.
            info = socket_fd(kind, tup, 2, true);
        } else if let Some(path) = unix_path(st) {
            info = FdInfo::new(FdKind::Unix, path);
        }
    }
    add_fd(m, tid, fd, info);
}

fn bind_exit(m: &mut Model, tid: i64, ev: &Event, fd: i64) {
    if int(ev, "res") != Some(0) {
        return;
    }
    let Some(ParamValue::SockAddr(addr)) = param(ev, "addr") else {
        return;
    };
    let key = fd_table_key(m, tid);
    let Some(info) = m.fds.get_mut(&key).and_then(|t| t.get_mut(&fd)) else {
        return;
    };
    match addr {
        SockAddr::V4(a) => {
            info.server = true;
            info.tuple = Some(Tuple {
                cip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                cport: 0,
                sip: IpAddr::V4(*a.ip()),
                sport: a.port(),
            });
            info.name = format!("{}:{}", a.ip(), a.port());
        }
        SockAddr::V6(a) => {
            info.server = true;
            info.tuple = Some(Tuple {
                cip: IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                cport: 0,
                sip: IpAddr::V6(*a.ip()),
                sport: a.port(),
            });
            info.name = format!("{}:{}", a.ip(), a.port());
        }
        SockAddr::Unix(p) => info.name = String::from_utf8_lossy(p).into_owned(),
        SockAddr::Other { .. } => {}
    }
}

/// sendto/sendmsg/recvfrom/recvmsg: an unconnected socket takes the tuple of the call.
fn io_tuple_exit(m: &mut Model, tid: i64, ev: &Event, fd: i64) {
    let Some(ParamValue::SockTuple(st)) = param(ev, "tuple") else {
        return;
    };
    let Some((kind, mut tup)) = tuple_of(st) else {
        return;
    };
    let inbound = ev
        .info()
        .is_some_and(|i| i.name == "recvfrom" || i.name == "recvmsg");
    let key = fd_table_key(m, tid);
    let Some(info) = m.fds.get_mut(&key).and_then(|t| t.get_mut(&fd)) else {
        return;
    };
    if info.connected {
        return;
    }
    if inbound {
        // remote→local: the sender is the client unless we are the client already.
        if !info.server {
            tup = Tuple {
                cip: tup.sip,
                cport: tup.sport,
                sip: tup.cip,
                sport: tup.cport,
            };
        }
    }
    if info.tuple != Some(tup) {
        info.kind = kind;
        info.tuple = Some(tup);
        info.name = tuple_name(&tup);
        m.cur_fd.name_changed = true;
    }
}

fn pair_exit(m: &mut Model, tid: i64, ev: &Event, pipe: bool) {
    if int(ev, "res").unwrap_or(-1) < 0 {
        return;
    }
    let kind = if pipe { FdKind::Pipe } else { FdKind::Unix };
    for n in ["fd1", "fd2"] {
        if let Some(fd) = int(ev, n).filter(|f| *f >= 0) {
            add_fd(m, tid, fd, FdInfo::new(kind, String::new()));
        }
    }
}

fn dup_exit(m: &mut Model, tid: i64, ev: &Event, old: i64) {
    let newfd = ev.params.first().and_then(ParamValue::as_i64).unwrap_or(-1);
    if newfd < 0 {
        return;
    }
    // The new fd is a copy of the old one, and the event's fd (sysdig: `fd.num` = the new
    // fd, with the old one's name).
    if let Some(info) = fd_of(m, tid, old).cloned() {
        add_fd(m, tid, newfd, info);
        m.cur_fd.num = newfd;
        if let Some(t) = m.threads.get_mut(&tid) {
            t.lastevent_fd = newfd;
        }
    }
}

fn close_exit(m: &mut Model, tid: i64, ev: &Event, fd: i64) {
    if int(ev, "res") != Some(0) {
        return;
    }
    let key = fd_table_key(m, tid);
    if let Some(info) = m.fds.get_mut(&key).and_then(|t| t.remove(&fd)) {
        m.cur_fd.detached = Some(info);
    }
}

fn set_ids(m: &mut Model, tid: i64, ev: &Event, enter: Option<&Event>, name: &str) {
    if int(ev, "res") != Some(0) {
        return;
    }
    let Some(enter) = enter else {
        return;
    };
    let Some(t) = m.threads.get_mut(&tid) else {
        return;
    };
    let pick = |n: &str| uint(enter, n).filter(|v| *v != u64::from(u32::MAX));
    match name {
        "setuid" => {
            if let Some(v) = pick("uid") {
                t.uid = v as u32;
            }
        }
        "setresuid" => {
            if let Some(v) = pick("euid") {
                t.uid = v as u32;
            }
        }
        "setgid" => {
            if let Some(v) = pick("gid") {
                t.gid = v as u32;
            }
        }
        _ => {
            if let Some(v) = pick("egid") {
                t.gid = v as u32;
            }
        }
    }
}
