//! `impl EventAccess for Model`: Falco's fields of the current event and the state.
//!
//! Field ids are mapped once to [`Fld`] (a dense table indexed by [`FieldId`]); extraction
//! is a `match` that borrows from the state and builds strings only for fields that are
//! built from several parts (`evt.args`, `evt.arg.*` with names, ancestor lists, times).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::OnceLock;

use blackbox_rules::output::{iso8601_offset, rfc3339_nanos, time_of_day};
use blackbox_rules::{EventAccess, FieldArg, FieldId, Value, FIELDS};
use blackbox_scap::event_table::{
    Category as Cat, ParamAux, ParamInfo, ParamType, EF_READS_FROM_FD, EF_WAITS, EF_WRITES_TO_FD,
};
use blackbox_scap::render::render_value;
use blackbox_scap::{Event, ParamValue};

use crate::names::{caps_text, errno_name, flag_table, render_flags};
use crate::state::{Container, FdInfo, Thread};
use crate::Model;

/// Whether blackbox provides a value for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Extracted with Falco's meaning (where the capture holds the data).
    Yes,
    /// Extracted, with a limitation (the note says which).
    Partial(&'static str),
    /// Never has a value here (always missing); the note says why.
    No(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fld {
    // evt
    Num,
    Time,
    TimeS,
    TimeIso,
    Datetime,
    DatetimeS,
    Rawtime,
    RawtimeS,
    RawtimeNs,
    Reltime,
    ReltimeS,
    ReltimeNs,
    Deltatime,
    DeltatimeS,
    DeltatimeNs,
    Latency,
    LatencyS,
    LatencyNs,
    Outputtime,
    Source,
    IsAsync,
    Hostname,
    Dir,
    Type,
    TypeIs,
    SyscallType,
    Category,
    Cpu,
    Args,
    Arg,
    Rawarg,
    Info,
    Buffer,
    Buflen,
    Res,
    Rawres,
    Failed,
    IsIo,
    IsIoRead,
    IsIoWrite,
    IoDir,
    IsWait,
    IsSyslog,
    Count,
    CountError,
    CountExit,
    IsOpenRead,
    IsOpenWrite,
    IsOpenExec,
    IsOpenCreate,
    // proc / thread
    Exe,
    Pexe,
    Aexe,
    Exepath,
    Pexepath,
    Aexepath,
    Name,
    Pname,
    Aname,
    ProcArgs,
    Cmdline,
    Pcmdline,
    Acmdline,
    Cmdnargs,
    Cmdlenargs,
    Exeline,
    Env,
    Cwd,
    Tty,
    Pid,
    Ppid,
    Apid,
    Vpid,
    Pvpid,
    Sid,
    Sname,
    SidExe,
    SidExepath,
    Vpgid,
    VpgidName,
    VpgidExe,
    VpgidExepath,
    Duration,
    PpidDuration,
    PidTs,
    PpidTs,
    IsExeWritable,
    IsExeUpper,
    IsExeLower,
    IsExeMemfd,
    IsSidLeader,
    IsVpgidLeader,
    ExeIno,
    ExeInoCtime,
    ExeInoMtime,
    ExeInoCtimeDurProc,
    PidnsInitStartTs,
    CapPermitted,
    CapInheritable,
    CapEffective,
    Fdopencount,
    Fdlimit,
    Vmsize,
    Vmrss,
    Vmswap,
    Pfmajor,
    Pfminor,
    Tid,
    Ismain,
    Vtid,
    Nametid,
    Cgroups,
    Cgroup,
    Nthreads,
    Nchilds,
    VmsizeB,
    VmrssB,
    StdType(i64),
    StdName(i64),
    // user / group
    Uid,
    UserName,
    Homedir,
    Shell,
    Loginuid,
    Loginname,
    Gid,
    GroupName,
    // fd
    FdNum,
    FdType,
    FdTypechar,
    FdName,
    FdDirectory,
    FdFilename,
    FdIp,
    FdCip,
    FdSip,
    FdLip,
    FdRip,
    FdPort,
    FdCport,
    FdSport,
    FdLport,
    FdRport,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdContainername,
    FdContainerdirectory,
    FdNet,
    FdConnected,
    FdNameChanged,
    FdDev,
    FdDevMajor,
    FdDevMinor,
    FdIno,
    FdNameraw,
    // fs.path
    PathName,
    PathNameraw,
    PathSource,
    PathSourceraw,
    PathTarget,
    PathTargetraw,
    // container / k8s
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageId,
    ContainerType,
    ContainerPrivileged,
    ContainerRepo,
    ContainerTag,
    ContainerDigest,
    ContainerStartTs,
    ContainerDuration,
    ContainerIp,
    ContainerLabel,
    ContainerLabels,
    ProcIsProbe,
    PodName,
    PodNs,
    PodUid,
    PodSandbox,
    PodFullSandbox,
    PodLabel,
    PodIp,
    Unsupported(&'static str),
}

const NO_DNS: &str = "needs libsinsp's DNS cache; not tracked";
const NO_DATA: &str = "the capture has no such data";

fn classify(name: &str) -> Fld {
    use Fld::*;
    match name {
        "evt.num" => Num,
        "evt.time" => Time,
        "evt.time.s" => TimeS,
        "evt.time.iso8601" => TimeIso,
        "evt.datetime" => Datetime,
        "evt.datetime.s" => DatetimeS,
        "evt.rawtime" => Rawtime,
        "evt.rawtime.s" => RawtimeS,
        "evt.rawtime.ns" => RawtimeNs,
        "evt.reltime" => Reltime,
        "evt.reltime.s" => ReltimeS,
        "evt.reltime.ns" => ReltimeNs,
        "evt.deltatime" => Deltatime,
        "evt.deltatime.s" => DeltatimeS,
        "evt.deltatime.ns" => DeltatimeNs,
        "evt.latency" => Latency,
        "evt.latency.s" => LatencyS,
        "evt.latency.ns" => LatencyNs,
        "evt.outputtime" => Outputtime,
        "evt.source" => Source,
        "evt.is_async" => IsAsync,
        "evt.hostname" => Hostname,
        "evt.dir" => Dir,
        "evt.type" => Type,
        "evt.type.is" => TypeIs,
        "syscall.type" => SyscallType,
        "evt.category" => Category,
        "evt.cpu" => Cpu,
        "evt.args" => Args,
        "evt.arg" => Arg,
        "evt.rawarg" => Rawarg,
        "evt.info" => Info,
        "evt.buffer" => Buffer,
        "evt.buflen" => Buflen,
        "evt.res" => Res,
        "evt.rawres" => Rawres,
        "evt.failed" => Failed,
        "evt.is_io" => IsIo,
        "evt.is_io_read" => IsIoRead,
        "evt.is_io_write" => IsIoWrite,
        "evt.io_dir" => IoDir,
        "evt.is_wait" => IsWait,
        "evt.is_syslog" => IsSyslog,
        "evt.count" => Count,
        "evt.count.error" => CountError,
        "evt.count.exit" => CountExit,
        "evt.is_open_read" => IsOpenRead,
        "evt.is_open_write" => IsOpenWrite,
        "evt.is_open_exec" => IsOpenExec,
        "evt.is_open_create" => IsOpenCreate,
        "proc.exe" => Exe,
        "proc.pexe" => Pexe,
        "proc.aexe" => Aexe,
        "proc.exepath" => Exepath,
        "proc.pexepath" => Pexepath,
        "proc.aexepath" => Aexepath,
        "proc.name" => Name,
        "proc.pname" => Pname,
        "proc.aname" => Aname,
        "proc.args" => ProcArgs,
        "proc.cmdline" => Cmdline,
        "proc.pcmdline" => Pcmdline,
        "proc.acmdline" => Acmdline,
        "proc.cmdnargs" => Cmdnargs,
        "proc.cmdlenargs" => Cmdlenargs,
        "proc.exeline" => Exeline,
        "proc.env" => Env,
        "proc.cwd" => Cwd,
        "proc.tty" => Tty,
        "proc.pid" => Pid,
        "proc.ppid" => Ppid,
        "proc.apid" => Apid,
        "proc.vpid" => Vpid,
        "proc.pvpid" => Pvpid,
        "proc.sid" => Sid,
        "proc.sname" => Sname,
        "proc.sid.exe" => SidExe,
        "proc.sid.exepath" => SidExepath,
        "proc.vpgid" => Vpgid,
        "proc.vpgid.name" => VpgidName,
        "proc.vpgid.exe" => VpgidExe,
        "proc.vpgid.exepath" => VpgidExepath,
        "proc.duration" => Duration,
        "proc.ppid.duration" => PpidDuration,
        "proc.pid.ts" => PidTs,
        "proc.ppid.ts" => PpidTs,
        "proc.is_exe_writable" => IsExeWritable,
        "proc.is_exe_upper_layer" => IsExeUpper,
        "proc.is_exe_lower_layer" => IsExeLower,
        "proc.is_exe_from_memfd" => IsExeMemfd,
        "proc.is_sid_leader" => IsSidLeader,
        "proc.is_vpgid_leader" => IsVpgidLeader,
        "proc.exe_ino" => ExeIno,
        "proc.exe_ino.ctime" => ExeInoCtime,
        "proc.exe_ino.mtime" => ExeInoMtime,
        "proc.exe_ino.ctime_duration_proc_start" => ExeInoCtimeDurProc,
        "proc.pidns_init_start_ts" => PidnsInitStartTs,
        "thread.cap_permitted" => CapPermitted,
        "thread.cap_inheritable" => CapInheritable,
        "thread.cap_effective" => CapEffective,
        "proc.fdopencount" => Fdopencount,
        "proc.fdlimit" => Fdlimit,
        "proc.vmsize" | "thread.vmsize" => Vmsize,
        "proc.vmrss" | "thread.vmrss" => Vmrss,
        "proc.vmswap" => Vmswap,
        "thread.pfmajor" => Pfmajor,
        "thread.pfminor" => Pfminor,
        "thread.tid" => Tid,
        "thread.ismain" => Ismain,
        "thread.vtid" => Vtid,
        "thread.nametid" => Nametid,
        "thread.cgroups" => Cgroups,
        "thread.cgroup" => Cgroup,
        "proc.nthreads" => Nthreads,
        "proc.nchilds" => Nchilds,
        "thread.vmsize.b" => VmsizeB,
        "thread.vmrss.b" => VmrssB,
        "proc.stdin.type" => StdType(0),
        "proc.stdout.type" => StdType(1),
        "proc.stderr.type" => StdType(2),
        "proc.stdin.name" => StdName(0),
        "proc.stdout.name" => StdName(1),
        "proc.stderr.name" => StdName(2),
        "user.uid" => Uid,
        "user.name" => UserName,
        "user.homedir" => Homedir,
        "user.shell" => Shell,
        "user.loginuid" => Loginuid,
        "user.loginname" => Loginname,
        "group.gid" => Gid,
        "group.name" => GroupName,
        "fd.num" => FdNum,
        "fd.type" => FdType,
        "fd.typechar" => FdTypechar,
        "fd.name" => FdName,
        "fd.directory" => FdDirectory,
        "fd.filename" => FdFilename,
        "fd.ip" => FdIp,
        "fd.cip" | "fd.cnet" => FdCip,
        "fd.sip" | "fd.snet" => FdSip,
        "fd.lip" | "fd.lnet" => FdLip,
        "fd.rip" | "fd.rnet" => FdRip,
        "fd.port" => FdPort,
        "fd.cport" => FdCport,
        "fd.sport" => FdSport,
        "fd.lport" => FdLport,
        "fd.rport" => FdRport,
        "fd.l4proto" => FdL4proto,
        "fd.sockfamily" => FdSockfamily,
        "fd.is_server" => FdIsServer,
        "fd.containername" => FdContainername,
        "fd.containerdirectory" => FdContainerdirectory,
        "fd.net" => FdNet,
        "fd.connected" => FdConnected,
        "fd.name_changed" => FdNameChanged,
        "fd.dev" => FdDev,
        "fd.dev.major" => FdDevMajor,
        "fd.dev.minor" => FdDevMinor,
        "fd.ino" => FdIno,
        "fd.nameraw" => FdNameraw,
        "fs.path.name" => PathName,
        "fs.path.nameraw" => PathNameraw,
        "fs.path.source" => PathSource,
        "fs.path.sourceraw" => PathSourceraw,
        "fs.path.target" => PathTarget,
        "fs.path.targetraw" => PathTargetraw,
        "container.id" => ContainerId,
        "container.full_id" => ContainerFullId,
        "container.name" => ContainerName,
        "container.image" => ContainerImage,
        "container.image.id" => ContainerImageId,
        "container.type" => ContainerType,
        "container.privileged" => ContainerPrivileged,
        "container.image.repository" => ContainerRepo,
        "container.image.tag" => ContainerTag,
        "container.image.digest" => ContainerDigest,
        "container.start_ts" => ContainerStartTs,
        "container.duration" => ContainerDuration,
        "container.ip" => ContainerIp,
        "container.label" => ContainerLabel,
        "container.labels" => ContainerLabels,
        "proc.is_container_healthcheck"
        | "proc.is_container_liveness_probe"
        | "proc.is_container_readiness_probe" => ProcIsProbe,
        "k8s.pod.name" => PodName,
        "k8s.ns.name" => PodNs,
        "k8s.pod.uid" | "k8s.pod.id" => PodUid,
        "k8s.pod.sandbox_id" => PodSandbox,
        "k8s.pod.full_sandbox_id" => PodFullSandbox,
        "k8s.pod.label" => PodLabel,
        "k8s.pod.ip" => PodIp,
        "fd.cip.name" | "fd.sip.name" | "fd.lip.name" | "fd.rip.name" => Unsupported(NO_DNS),
        "proc.is_exe_lower_layer_x" => Unsupported(NO_DATA),
        n if n.starts_with("fdlist.") => {
            Unsupported("poll fd lists are not decoded (the recorder writes no poll events)")
        }
        n if n.starts_with("evt.buflen.") || n.starts_with("evt.count.") => {
            Unsupported("sysdig chisel aggregate; not a per-event value here")
        }
        n if n.starts_with("evt.infra.") => Unsupported("sysdig infrastructure events"),
        "evt.around"
        | "evt.abspath"
        | "evt.latency.quantized"
        | "evt.latency.human"
        | "evt.wait_latency"
        | "evt.pluginname"
        | "evt.plugininfo"
        | "evt.asynctype"
        | "thread.exectime"
        | "thread.totexectime"
        | "thread.cpu"
        | "thread.cpu.user"
        | "thread.cpu.system" => Unsupported("needs sysdig's scheduler/CPU accounting or plugins"),
        "container.mounts"
        | "container.mount"
        | "container.mount.source"
        | "container.mount.dest"
        | "container.mount.mode"
        | "container.mount.rdwr"
        | "container.mount.propagation" => {
            Unsupported("the container JSON event we write carries no mounts")
        }
        "container.healthcheck"
        | "container.liveness_probe"
        | "container.readiness_probe"
        | "container.cni.json"
        | "container.host_pid"
        | "container.host_network"
        | "container.host_ipc"
        | "k8s.pod.labels"
        | "k8s.pod.cni.json" => Unsupported("not in the container metadata we record"),
        _ => Unsupported(NO_DATA),
    }
}

fn table() -> &'static [Fld] {
    static T: OnceLock<Vec<Fld>> = OnceLock::new();
    T.get_or_init(|| FIELDS.iter().map(|f| classify(f.name)).collect())
}

fn fld(id: FieldId) -> Fld {
    table()
        .get(usize::from(id.0))
        .copied()
        .unwrap_or(Fld::Unsupported(NO_DATA))
}

/// Whether blackbox gives `field` a value, and the caveat if any.
pub fn field_support(field: FieldId) -> Support {
    use Fld::*;
    match fld(field) {
        Unsupported(why) => Support::No(why),
        CapPermitted | CapInheritable | CapEffective | ExeIno | ExeInoCtime | ExeInoMtime
        | ExeInoCtimeDurProc | PidnsInitStartTs | IsExeUpper | IsExeLower | IsExeMemfd => {
            Support::Partial("only when the capture's execve exit carries it (newer drivers; not sysdig 0.29.3's event version)")
        }
        Duration | PpidDuration | PidTs | PpidTs => {
            Support::Partial("only for processes whose clone is in the capture")
        }
        Latency | LatencyS | LatencyNs => Support::Partial("exit events with their enter"),
        ContainerIp | PodIp => Support::Partial("when the container JSON has an ip"),
        PodLabel => Support::Partial("the container's labels (no separate pod sandbox event)"),
        Category => Support::Partial("libsinsp category names; I/O events by fd type"),
        FdDev | FdDevMajor | FdDevMinor | FdIno => {
            Support::Partial("as written by the capture (our writer writes dev 0)")
        }
        _ => Support::Yes,
    }
}

fn s(v: &str) -> Option<Value<'_>> {
    Some(Value::Str(Cow::Borrowed(v)))
}

fn owned(v: String) -> Option<Value<'static>> {
    Some(Value::Str(Cow::Owned(v)))
}

fn u(v: u64) -> Option<Value<'static>> {
    Some(Value::Uint(v))
}

fn i(v: i64) -> Option<Value<'static>> {
    Some(Value::Int(v))
}

fn b(v: bool) -> Option<Value<'static>> {
    Some(Value::Bool(v))
}

const PPM_O_RDONLY: u32 = 1;
const PPM_O_WRONLY: u32 = 2;
const PPM_O_CREAT: u32 = 1 << 2;
const PPM_O_TMPFILE: u32 = 1 << 13;
const PPM_EXE_WRITABLE: u32 = 1;
const PPM_EXE_UPPER_LAYER: u32 = 2;
const PPM_EXE_FROM_MEMFD: u32 = 4;
const PPM_EXE_LOWER_LAYER: u32 = 8;

fn is_open_family(name: &str) -> bool {
    matches!(
        name,
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at"
    )
}

fn param_index(ev: &Event, arg: Option<&FieldArg>) -> Option<usize> {
    let info = ev.info()?;
    match arg? {
        FieldArg::Index(n) => usize::try_from(*n).ok().filter(|n| *n < ev.params.len()),
        FieldArg::Key(k) => info
            .params
            .iter()
            .position(|p| p.name == k.as_str())
            .filter(|n| *n < ev.params.len()),
    }
}

impl Model {
    fn cur_tid(&self) -> i64 {
        self.cur
            .as_ref()
            .and_then(|e| i64::try_from(e.tid).ok())
            .unwrap_or(-1)
    }

    fn cur_thread(&self) -> Option<&Thread> {
        self.threads.get(&self.cur_tid())
    }

    fn parent_of(&self, t: &Thread) -> Option<&Thread> {
        if t.ptid == t.tid {
            return None;
        }
        self.threads.get(&t.ptid)
    }

    /// The `n`-th ancestor (0 = the thread itself).
    fn ancestor(&self, n: u64) -> Option<&Thread> {
        let mut t = self.cur_thread()?;
        for _ in 0..n {
            t = self.parent_of(t)?;
        }
        Some(t)
    }

    /// All ancestors, parent first (bounded against loops).
    fn ancestors(&self) -> Vec<&Thread> {
        let mut out = Vec::new();
        let Some(mut t) = self.cur_thread() else {
            return out;
        };
        while let Some(p) = self.parent_of(t) {
            if out.len() >= 128 {
                break;
            }
            out.push(p);
            t = p;
        }
        out
    }

    /// The fd the current event is about (libsinsp `evt->get_fd_info()`).
    fn cur_fdinfo(&self) -> Option<&FdInfo> {
        if !self.cur_fd.relevant {
            return None;
        }
        if let Some(d) = &self.cur_fd.detached {
            return Some(d);
        }
        let t = self.cur_thread()?;
        self.fds.get(&t.fd_key())?.get(&self.cur_fd.num)
    }

    fn container(&self) -> Option<&Container> {
        let id = self.cur_thread()?.container_id.as_deref()?;
        self.containers.get(id)
    }

    fn label(&self, key: &str) -> Option<Value<'_>> {
        self.container()?
            .labels
            .get(key)
            .map(|v| Value::Str(Cow::Borrowed(v.as_str())))
    }

    /// The return value of an exit event (its first parameter when it is a result).
    fn rawres(&self) -> Option<i64> {
        let ev = self.cur.as_ref()?;
        if ev.event_type % 2 == 0 {
            return None;
        }
        let info = ev.info()?;
        let p = info.params.first()?;
        if !(matches!(p.ty, ParamType::Errno | ParamType::Fd | ParamType::Pid)
            || p.name == "res"
            || p.name == "fd")
        {
            return None;
        }
        ev.params.first()?.as_i64()
    }

    fn open_flags(&self) -> Option<u32> {
        let ev = self.cur.as_ref()?;
        if ev.event_type % 2 == 0 || !is_open_family(ev.info()?.name) {
            return None;
        }
        if let Some(f) = ev.param("flags").and_then(ParamValue::as_u64) {
            return u32::try_from(f).ok();
        }
        self.cur_fdinfo().map(|f| f.open_flags)
    }

    /// The resolved ("annotated") form of a parameter, as libsinsp's `get_param_as_str`
    /// fills `resolved_str`: fd names, errno names, flag names, thread names.
    fn resolved(&self, p: &ParamInfo, v: &ParamValue) -> Option<String> {
        match (p.ty, v) {
            (ParamType::Fd, ParamValue::Fd(fd) | ParamValue::Int(fd)) if *fd >= 0 => {
                let t = self.cur_thread()?;
                let f = self.fds.get(&t.fd_key())?.get(fd)?;
                // sysdig adds the l4 protocol letter for IP sockets (`<4t>`), once the socket
                // has a role (libsinsp's get_l4proto answers "n/a" before connect/bind/accept).
                let has_role = f.server || f.connected || f.tuple.is_some();
                let l4 = match f.l4 {
                    _ if !has_role => "",
                    crate::state::L4::Tcp if f.kind.is_ip() => "t",
                    crate::state::L4::Udp if f.kind.is_ip() => "u",
                    crate::state::L4::Icmp if f.kind.is_ip() => "i",
                    crate::state::L4::Raw if f.kind.is_ip() => "r",
                    _ => "",
                };
                Some(format!("<{}{l4}>{}", f.kind.typechar(), f.name))
            }
            (ParamType::Errno | ParamType::Fd | ParamType::Pid, _) => {
                let n = v.as_i64()?;
                if n < 0 {
                    return errno_name(n).map(str::to_string);
                }
                None
            }
            (
                ParamType::Flags8 | ParamType::Flags16 | ParamType::Flags32 | ParamType::Mode,
                ParamValue::Uint(n),
            ) => {
                let ParamAux::Flags(table) = p.aux else {
                    return None;
                };
                let t = flag_table(table)?;
                let r = render_flags(t, u32::try_from(*n).unwrap_or(u32::MAX));
                (!r.is_empty()).then_some(r)
            }
            _ => None,
        }
    }

    fn arg_text(&self, idx: usize) -> Option<String> {
        let ev = self.cur.as_ref()?;
        let p = ev.info()?.params.get(idx)?;
        let v = ev.params.get(idx)?;
        if matches!(v, ParamValue::Empty) {
            return Some("NULL".into());
        }
        Some(self.resolved(p, v).unwrap_or_else(|| render_value(p, v)))
    }

    fn rawarg(&self, idx: usize) -> Option<Value<'_>> {
        let ev = self.cur.as_ref()?;
        let p = ev.info()?.params.get(idx)?;
        match ev.params.get(idx)? {
            ParamValue::Int(n) | ParamValue::Fd(n) | ParamValue::Pid(n) | ParamValue::Errno(n) => {
                i(*n)
            }
            ParamValue::Uint(n) => u(*n),
            ParamValue::Str(b) => Some(Value::Str(String::from_utf8_lossy(b))),
            ParamValue::Empty => None,
            v => owned(render_value(p, v)),
        }
    }

    /// `evt.args`; with [`Model::set_param_text_limit`] each parameter's text is cut (the
    /// resolutions in parentheses are not), as sysdig's `max_evt_output_len` does.
    fn args_text(&self) -> String {
        let max_param = self.param_text_limit;
        let mut out = String::new();
        let Some(ev) = self.cur.as_ref() else {
            return out;
        };
        let Some(info) = ev.info() else {
            return out;
        };
        for (idx, (p, v)) in info.params.iter().zip(&ev.params).enumerate() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(p.name);
            out.push('=');
            if matches!(v, ParamValue::Empty) {
                out.push_str("NULL");
                continue;
            }
            let text = render_value(p, v);
            match max_param {
                Some(max) if max > 3 && text.chars().count() > max => {
                    out.extend(text.chars().take(max - 3));
                    out.push_str("...");
                }
                _ => out.push_str(&text),
            }
            let pid_name = match v {
                ParamValue::Pid(n) if p.ty == ParamType::Pid && *n > 0 => {
                    self.threads.get(n).map(|t| t.comm.clone())
                }
                // sysdig's argument line names the *at() "current directory" fd, where
                // evt.arg.<name> gives the errno name of -100 (ENETDOWN).
                ParamValue::Fd(-100) | ParamValue::Int(-100) if p.ty == ParamType::Fd => {
                    Some("AT_FDCWD".to_string())
                }
                // A relative path is followed by its resolution against the cwd, as
                // libsinsp renders PT_FSPATH: `name=.(/)`.
                ParamValue::Str(b)
                    if p.ty == ParamType::FsPath && !b.is_empty() && b[0] != b'/' =>
                {
                    self.cur_thread()
                        .filter(|t| !t.cwd.is_empty())
                        .map(|t| crate::state::resolve_path(&t.cwd, &String::from_utf8_lossy(b)))
                }
                // PT_FSRELPATH: against its dirfd (the closest fd parameter before it).
                ParamValue::Str(b)
                    if p.ty == ParamType::FsRelPath && !b.is_empty() && b[0] != b'/' =>
                {
                    self.relpath_base(&info.params[..idx], &ev.params[..idx])
                        .map(|base| crate::state::resolve_path(&base, &String::from_utf8_lossy(b)))
                }
                _ => None,
            };
            if let Some(r) = pid_name.or_else(|| self.resolved(p, v)) {
                out.push('(');
                out.push_str(&r);
                out.push(')');
            }
        }
        out
    }

    /// The directory a PT_FSRELPATH parameter is relative to: the cwd for AT_FDCWD, else the
    /// name of the dirfd, the last fd parameter in `params` (what precedes the path).
    fn relpath_base(&self, params: &[ParamInfo], values: &[ParamValue]) -> Option<String> {
        let (_, dirfd) = params
            .iter()
            .zip(values)
            .rev()
            .find(|(p, _)| p.ty == ParamType::Fd)?;
        let t = self.cur_thread()?;
        match dirfd.as_i64()? {
            -100 => (!t.cwd.is_empty()).then(|| t.cwd.clone()),
            fd if fd >= 0 => {
                let f = self.fds.get(&t.fd_key())?.get(&fd)?;
                (f.name.starts_with('/')).then(|| f.name.clone())
            }
            _ => None,
        }
    }

    /// fs.path.* : (resolved, raw) of the event's path parameter(s).
    fn fs_path(&self, which: u8) -> Option<(String, String)> {
        let ev = self.cur.as_ref()?;
        if ev.event_type % 2 == 0 {
            return None;
        }
        let info = ev.info()?;
        let names: &[&str] = match (info.name, which) {
            (
                "mkdir" | "mkdirat" | "rmdir" | "unlink" | "unlinkat" | "chmod" | "fchmodat"
                | "chdir" | "chroot",
                0,
            ) => &["path", "name", "filename"],
            ("rename" | "renameat" | "renameat2" | "link" | "linkat", 1) => &["oldpath"],
            ("rename" | "renameat" | "renameat2" | "link" | "linkat", 2) => &["newpath"],
            ("symlink" | "symlinkat", 1) => &["target"],
            ("symlink" | "symlinkat", 2) => &["linkpath"],
            _ => return None,
        };
        let raw = names.iter().find_map(|n| ev.param(n))?;
        let raw = String::from_utf8_lossy(raw.as_bytes()?).into_owned();
        // Symlink targets are stored as written.
        if which == 1 && info.name.starts_with("symlink") {
            return Some((raw.clone(), raw));
        }
        let dirfd_name = match which {
            1 => "olddirfd",
            2 if info.name.starts_with("symlink") => "linkdirfd",
            2 => "newdirfd",
            _ => "dirfd",
        };
        let t = self.cur_thread()?;
        let base = match ev.param(dirfd_name).and_then(ParamValue::as_i64) {
            Some(fd) if fd != -100 => self
                .fds
                .get(&t.fd_key())
                .and_then(|tb| tb.get(&fd))
                .map_or(String::new(), |f| f.name.clone()),
            _ => t.cwd.clone(),
        };
        Some((crate::state::resolve_path(&base, &raw), raw))
    }

    fn thread_field<'a>(&'a self, f: Fld, t: &'a Thread) -> Option<Value<'a>> {
        use Fld::*;
        match f {
            Exe => s(&t.exe),
            Exepath => s(&t.exepath),
            Name => s(&t.comm),
            Cmdline => s(&t.cmdline),
            Pid => i(t.pid),
            Env => owned(t.env.join(" ")),
            _ => None,
        }
    }

    fn ancestor_field(&self, f: Fld, arg: Option<&FieldArg>) -> Option<Value<'_>> {
        let inner = match f {
            Fld::Aexe => Fld::Exe,
            Fld::Aexepath => Fld::Exepath,
            Fld::Aname => Fld::Name,
            Fld::Acmdline => Fld::Cmdline,
            _ => Fld::Pid,
        };
        match arg {
            Some(FieldArg::Index(n)) => {
                let t = self.ancestor(*n)?;
                self.thread_field(inner, t)
            }
            Some(FieldArg::Key(_)) => None,
            None => {
                let list: Vec<Value<'_>> = self
                    .ancestors()
                    .into_iter()
                    .filter_map(|t| self.thread_field(inner, t))
                    .collect();
                Some(Value::List(list))
            }
        }
    }

    fn extract_inner(&mut self, f: Fld, arg: Option<&FieldArg>) -> Option<Value<'_>> {
        use Fld::*;
        let ev = self.cur.as_ref()?;
        let info = ev.info()?;
        let ts = ev.ts;
        let exit = ev.event_type % 2 == 1;
        match f {
            Num => u(self.cur_num),
            Time => owned(time_of_day(ts)),
            TimeS => owned(time_of_day(ts).chars().take(8).collect()),
            TimeIso => owned(iso8601_offset(ts)),
            Datetime => owned(rfc3339_nanos(ts).replace('T', " ").replace('Z', "")),
            DatetimeS => owned(
                rfc3339_nanos(ts)
                    .replace('T', " ")
                    .chars()
                    .take(19)
                    .collect(),
            ),
            Rawtime | Outputtime if f == Rawtime => u(ts),
            Outputtime => owned(time_of_day(ts)),
            RawtimeS => u(ts / 1_000_000_000),
            RawtimeNs => u(ts % 1_000_000_000),
            Reltime => u(ts.saturating_sub(self.first_ts.unwrap_or(ts))),
            ReltimeS => u(ts.saturating_sub(self.first_ts.unwrap_or(ts)) / 1_000_000_000),
            ReltimeNs => u(ts.saturating_sub(self.first_ts.unwrap_or(ts)) % 1_000_000_000),
            Deltatime => u(ts.saturating_sub(self.prev_ts)),
            DeltatimeS => u(ts.saturating_sub(self.prev_ts) / 1_000_000_000),
            DeltatimeNs => u(ts.saturating_sub(self.prev_ts) % 1_000_000_000),
            Latency | LatencyS | LatencyNs => {
                if !exit {
                    return u(0);
                }
                let enter = self
                    .last_enter
                    .get(&self.cur_tid())
                    .filter(|e| e.event_type + 1 == ev.event_type)?;
                let l = ts.saturating_sub(enter.ts);
                u(match f {
                    LatencyS => l / 1_000_000_000,
                    LatencyNs => l % 1_000_000_000,
                    _ => l,
                })
            }
            Source => s("syscall"),
            IsAsync => b(false),
            Hostname => s(&self.hostname),
            Dir => s(if exit { "<" } else { ">" }),
            Type => s(self.event_type()),
            TypeIs => {
                let want = arg?.as_key()?;
                u(u64::from(self.event_type() == want))
            }
            SyscallType => {
                if info.category == blackbox_scap::event_table::Category::Internal {
                    None
                } else {
                    s(self.event_type())
                }
            }
            Category => {
                let c = match info.category {
                    Cat::IoRead | Cat::IoWrite | Cat::IoOther => {
                        match self.cur_fdinfo().map(|f| f.kind) {
                            Some(crate::FdKind::File | crate::FdKind::Directory) => "file",
                            Some(k) if k.is_ip() || k == crate::FdKind::Unix => "net",
                            Some(crate::FdKind::Pipe) => "ipc",
                            _ => "unknown",
                        }
                    }
                    Cat::Unknown => "unknown",
                    Cat::Other => "other",
                    Cat::File => "file",
                    Cat::Net => "net",
                    Cat::Ipc => "ipc",
                    Cat::Memory => "memory",
                    Cat::Process => "process",
                    Cat::Sleep => "sleep",
                    Cat::System => "system",
                    Cat::Signal => "signal",
                    Cat::User => "user",
                    Cat::Time => "time",
                    Cat::Wait => "wait",
                    Cat::Scheduler => "scheduler",
                    Cat::Internal => "internal",
                };
                s(c)
            }
            Cpu => i(i64::from(ev.cpu)),
            Args | Info => owned(self.args_text()),
            Arg => {
                let idx = param_index(ev, arg)?;
                owned(self.arg_text(idx)?)
            }
            Rawarg => {
                let idx = param_index(ev, arg)?;
                self.rawarg(idx)
            }
            Buffer => match ev.param("data")? {
                ParamValue::Bytes(d) | ParamValue::Str(d) => Some(Value::Bytes(Cow::Borrowed(d))),
                _ => None,
            },
            Buflen => {
                if info.flags & (EF_READS_FROM_FD | EF_WRITES_TO_FD) == 0 || !exit {
                    return None;
                }
                u(u64::try_from(self.rawres()?).ok()?)
            }
            Res => {
                let r = self.rawres()?;
                if r >= 0 {
                    s("SUCCESS")
                } else {
                    match errno_name(r) {
                        Some(n) => s(n),
                        None => owned(r.to_string()),
                    }
                }
            }
            Rawres => i(self.rawres()?),
            Failed => b(self.rawres().is_some_and(|r| r < 0)),
            IsIo => b(info.flags & (EF_READS_FROM_FD | EF_WRITES_TO_FD) != 0),
            IsIoRead => b(info.flags & EF_READS_FROM_FD != 0),
            IsIoWrite => b(info.flags & EF_WRITES_TO_FD != 0),
            IoDir => {
                if info.flags & EF_READS_FROM_FD != 0 {
                    s("r")
                } else if info.flags & EF_WRITES_TO_FD != 0 {
                    s("w")
                } else {
                    None
                }
            }
            IsWait => b(info.flags & EF_WAITS != 0),
            IsSyslog => b(false),
            Count => u(1),
            CountExit => u(u64::from(exit)),
            CountError => u(u64::from(self.rawres().is_some_and(|r| r < 0))),
            IsOpenRead => b(self.open_flags().is_some_and(|f| f & PPM_O_RDONLY != 0)),
            IsOpenWrite => b(self.open_flags().is_some_and(|f| f & PPM_O_WRONLY != 0)),
            IsOpenCreate => b(self.open_flags().is_some_and(|f| f & PPM_O_CREAT != 0)),
            IsOpenExec => {
                let flags = self.open_flags().unwrap_or(0);
                let mode = ev.param("mode").and_then(ParamValue::as_u64).unwrap_or(0);
                b(flags & (PPM_O_CREAT | PPM_O_TMPFILE) != 0 && mode & 0o111 != 0)
            }
            Aexe | Aexepath | Aname | Acmdline | Apid => self.ancestor_field(f, arg),
            Pexe | Pexepath | Pname | Pcmdline | Ppid | Pvpid | PpidDuration | PpidTs => {
                let t = self.cur_thread()?;
                if f == Ppid {
                    return i(t.ptid);
                }
                let p = self.parent_of(t)?;
                match f {
                    Pexe => s(&p.exe),
                    Pexepath => s(&p.exepath),
                    Pname => s(&p.comm),
                    Pcmdline => s(&p.cmdline),
                    Pvpid => i(p.vpid),
                    PpidDuration => u(ts.saturating_sub(p.clone_ts?)),
                    _ => u(p.clone_ts?),
                }
            }
            StdType(n) | StdName(n) => {
                let t = self.cur_thread()?;
                let fd = self.fds.get(&t.fd_key())?.get(&n)?;
                if matches!(f, StdType(_)) {
                    s(fd.kind.type_name())
                } else {
                    s(&fd.name)
                }
            }
            Sname | SidExe | SidExepath => {
                let t = self.cur_thread()?;
                let mut leader = t;
                if t.tid != t.sid {
                    let mut cur = t;
                    while let Some(p) = self.parent_of(cur) {
                        if p.sid != t.sid {
                            break;
                        }
                        leader = p;
                        if p.tid == t.sid {
                            break;
                        }
                        cur = p;
                    }
                    if let Some(l) = self.threads.get(&t.sid) {
                        leader = l;
                    }
                }
                match f {
                    Sname => s(&leader.comm),
                    SidExe => s(&leader.exe),
                    _ => s(&leader.exepath),
                }
            }
            VpgidName | VpgidExe | VpgidExepath => {
                let t = self.cur_thread()?;
                let l = self
                    .threads
                    .values()
                    .find(|o| o.vpid == t.vpgid && o.tid == o.pid)?;
                match f {
                    VpgidName => s(&l.comm),
                    VpgidExe => s(&l.exe),
                    _ => s(&l.exepath),
                }
            }
            Nthreads | Nchilds => {
                let t = self.cur_thread()?;
                let n = if f == Nthreads {
                    self.threads.values().filter(|o| o.pid == t.pid).count()
                } else {
                    self.threads
                        .values()
                        .filter(|o| o.ptid == t.pid && o.pid == o.tid)
                        .count()
                };
                u(n as u64)
            }
            Fdopencount => {
                let t = self.cur_thread()?;
                u(self.fds.get(&t.fd_key()).map_or(0, |tb| tb.len() as u64))
            }
            Uid | UserName | Homedir | Shell | Loginuid | Loginname | Gid | GroupName => {
                let t = self.cur_thread()?;
                match f {
                    Uid => u(u64::from(t.uid)),
                    UserName => match self.users.users.get(&t.uid) {
                        Some(usr) => s(&usr.name),
                        None if t.uid == 0 => s("root"),
                        None => s("<NA>"),
                    },
                    Homedir => s(&self.users.users.get(&t.uid)?.homedir),
                    Shell => s(&self.users.users.get(&t.uid)?.shell),
                    Loginuid => i(if t.loginuid == u32::MAX {
                        -1
                    } else {
                        i64::from(t.loginuid)
                    }),
                    Loginname => {
                        if t.loginuid == u32::MAX {
                            return None;
                        }
                        match self.users.users.get(&t.loginuid) {
                            Some(usr) => s(&usr.name),
                            None if t.loginuid == 0 => s("root"),
                            None => s("<NA>"),
                        }
                    }
                    Gid => u(u64::from(t.gid)),
                    _ => match self.users.groups.get(&t.gid) {
                        Some(g) => s(g),
                        None if t.gid == 0 => s("root"),
                        None => s("<NA>"),
                    },
                }
            }
            FdNum => {
                if !self.cur_fd.relevant {
                    return None;
                }
                i(self.cur_fd.num)
            }
            FdNameChanged => {
                self.cur_fdinfo()?;
                b(self.cur_fd.name_changed)
            }
            FdType | FdTypechar | FdName | FdDirectory | FdFilename | FdIp | FdCip | FdSip
            | FdLip | FdRip | FdPort | FdCport | FdSport | FdLport | FdRport | FdL4proto
            | FdSockfamily | FdIsServer | FdContainername | FdContainerdirectory | FdNet
            | FdConnected | FdDev | FdDevMajor | FdDevMinor | FdIno | FdNameraw => self.fd_field(f),
            PathName | PathNameraw | PathSource | PathSourceraw | PathTarget | PathTargetraw => {
                let which = match f {
                    PathName | PathNameraw => 0,
                    PathSource | PathSourceraw => 1,
                    _ => 2,
                };
                let (full, raw) = self.fs_path(which)?;
                owned(if matches!(f, PathName | PathSource | PathTarget) {
                    full
                } else {
                    raw
                })
            }
            ContainerId | ContainerName if self.cur_thread()?.container_id.is_none() => s("host"),
            ContainerId => s(self.cur_thread()?.container_id.as_deref()?),
            ContainerFullId => s(&self.container()?.full_id),
            ContainerName => s(&self.container()?.name),
            ContainerImage => s(&self.container()?.image),
            ContainerImageId => s(&self.container()?.image_id),
            ContainerType => s(self.container()?.type_name()?),
            ContainerPrivileged => b(self.container()?.privileged?),
            ContainerRepo => s(&self.container()?.image_repo),
            ContainerTag => s(&self.container()?.image_tag),
            ContainerDigest => s(&self.container()?.image_digest),
            ContainerStartTs => u(self.container()?.start_ts_ns()?),
            ContainerDuration => u(ts.saturating_sub(self.container()?.start_ts_ns()?)),
            ContainerIp | PodIp => s(self.container()?.ip.as_deref()?),
            ContainerLabel | PodLabel => self.label(arg?.as_key()?),
            ContainerLabels => {
                let c = self.container()?;
                owned(
                    c.labels
                        .iter()
                        .map(|(k, v)| format!("{k}:{v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            }
            ProcIsProbe => {
                self.cur_thread()?;
                b(false)
            }
            PodName => self.label("io.kubernetes.pod.name"),
            PodNs => self.label("io.kubernetes.pod.namespace"),
            PodUid => self.label("io.kubernetes.pod.uid"),
            PodFullSandbox => self.label("io.kubernetes.sandbox.id"),
            PodSandbox => {
                let c = self.container()?;
                let id = c.labels.get("io.kubernetes.sandbox.id")?;
                s(id.get(..12).unwrap_or(id))
            }
            Unsupported(_) => None,
            _ => self.proc_field(f, arg, ts),
        }
    }

    fn proc_field(&self, f: Fld, arg: Option<&FieldArg>, ts: u64) -> Option<Value<'_>> {
        use Fld::*;
        let t = self.cur_thread()?;
        match f {
            Exe => s(&t.exe),
            Exepath => s(&t.exepath),
            Name => s(&t.comm),
            ProcArgs => match arg {
                Some(FieldArg::Index(n)) => {
                    s(t.args.get(usize::try_from(*n).ok()?.checked_sub(1)?)?)
                }
                Some(FieldArg::Key(_)) => None,
                None => s(&t.args_joined),
            },
            Cmdline => s(&t.cmdline),
            Cmdnargs => u(t.args.len() as u64),
            Cmdlenargs => u(t.args.iter().map(|a| a.len() as u64).sum()),
            Exeline => {
                let mut l = t.exe.clone();
                if !t.args_joined.is_empty() {
                    l.push(' ');
                    l.push_str(&t.args_joined);
                }
                owned(l)
            }
            Env => match arg {
                Some(FieldArg::Key(k)) => t.env.iter().find_map(|e| {
                    e.strip_prefix(k.as_str())
                        .and_then(|r| r.strip_prefix('='))
                        .map(|v| Value::Str(Cow::Borrowed(v)))
                }),
                _ => owned(t.env.join(" ")),
            },
            Cwd => s(&t.cwd),
            Tty => u(u64::from(t.tty)),
            Pid => i(t.pid),
            Vpid => i(t.vpid),
            Sid => i(t.sid),
            Vpgid => i(t.vpgid),
            Duration => u(ts.saturating_sub(self.main_thread(t).clone_ts?)),
            PidTs => u(self.main_thread(t).clone_ts?),
            IsExeWritable => b(t.exe_flags? & PPM_EXE_WRITABLE != 0),
            IsExeUpper => b(t.exe_flags? & PPM_EXE_UPPER_LAYER != 0),
            IsExeLower => b(t.exe_flags? & PPM_EXE_LOWER_LAYER != 0),
            IsExeMemfd => b(t.exe_flags? & PPM_EXE_FROM_MEMFD != 0),
            IsSidLeader => b(t.sid == t.vpid),
            IsVpgidLeader => b(t.vpgid == t.vpid),
            ExeIno => i(i64::try_from(t.exe_ino?).ok()?),
            ExeInoCtime => u(t.exe_ino_ctime?),
            ExeInoMtime => u(t.exe_ino_mtime?),
            ExeInoCtimeDurProc => u(self
                .main_thread(t)
                .clone_ts?
                .saturating_sub(t.exe_ino_ctime?)),
            PidnsInitStartTs => u(t.pidns_init_start_ts?),
            CapPermitted => owned(caps_text(t.cap_permitted?)),
            CapInheritable => owned(caps_text(t.cap_inheritable?)),
            CapEffective => owned(caps_text(t.cap_effective?)),
            Fdlimit => i(t.fdlimit),
            Vmsize => u(u64::from(t.vmsize_kb)),
            Vmrss => u(u64::from(t.vmrss_kb)),
            Vmswap => u(u64::from(t.vmswap_kb)),
            VmsizeB => u(u64::from(t.vmsize_kb) * 1024),
            VmrssB => u(u64::from(t.vmrss_kb) * 1024),
            Pfmajor => u(t.pfmajor),
            Pfminor => u(t.pfminor),
            Tid => i(t.tid),
            Ismain => b(t.tid == t.pid),
            Vtid => i(t.vtid),
            Nametid => owned(format!("{}-{}", t.comm, t.tid)),
            Cgroups => owned(t.cgroups.join(" ")),
            Cgroup => {
                let want = arg?.as_key()?;
                t.cgroups.iter().find_map(|c| {
                    let (k, v) = c.split_once('=')?;
                    (k == want).then_some(Value::Str(Cow::Borrowed(v)))
                })
            }
            _ => None,
        }
    }

    fn main_thread<'a>(&'a self, t: &'a Thread) -> &'a Thread {
        if t.pid == t.tid {
            return t;
        }
        self.threads.get(&t.pid).unwrap_or(t)
    }

    fn fd_field(&self, f: Fld) -> Option<Value<'_>> {
        use Fld::*;
        let fd = self.cur_fdinfo()?;
        let ip = |a: IpAddr| Some(Value::Ip(a));
        match f {
            // An fd of unknown type is one the state never saw: sysdig has no fd.type for it.
            FdType if fd.kind == crate::FdKind::Unknown => None,
            FdType => s(fd.kind.type_name()),
            FdTypechar => s(fd.kind.typechar()),
            FdName => s(&fd.name),
            FdNameraw => {
                if fd.nameraw.is_empty() {
                    s(&fd.name)
                } else {
                    s(&fd.nameraw)
                }
            }
            FdDirectory => match fd.kind {
                crate::FdKind::Directory => s(&fd.name),
                crate::FdKind::File => {
                    let cut = fd.name.rfind('/')?;
                    s(if cut == 0 { "/" } else { &fd.name[..cut] })
                }
                _ => None,
            },
            FdFilename => match fd.kind {
                crate::FdKind::File => s(fd.name.rsplit('/').next()?),
                _ => None,
            },
            FdIp | FdNet => {
                let t = fd.tuple.filter(|_| fd.kind.is_ip())?;
                Some(Value::List(vec![Value::Ip(t.cip), Value::Ip(t.sip)]))
            }
            FdPort => {
                let t = fd.tuple.filter(|_| fd.kind.is_ip())?;
                Some(Value::List(vec![
                    Value::Uint(u64::from(t.cport)),
                    Value::Uint(u64::from(t.sport)),
                ]))
            }
            FdCip => ip(fd.tuple.filter(|_| fd.kind.is_ip())?.cip),
            FdSip => ip(fd.tuple.filter(|_| fd.kind.is_ip())?.sip),
            FdCport => u(u64::from(fd.tuple.filter(|_| fd.kind.is_ip())?.cport)),
            FdSport => u(u64::from(fd.tuple.filter(|_| fd.kind.is_ip())?.sport)),
            FdLip => ip(fd.local().filter(|_| fd.kind.is_ip())?.0),
            FdRip => ip(fd.remote().filter(|_| fd.kind.is_ip())?.0),
            FdLport => u(u64::from(fd.local().filter(|_| fd.kind.is_ip())?.1)),
            FdRport => u(u64::from(fd.remote().filter(|_| fd.kind.is_ip())?.1)),
            FdL4proto => {
                if !fd.kind.is_ip() {
                    return None;
                }
                // libsinsp's get_l4proto: an IP socket with no role yet (no connect, bind,
                // accept or tuple) answers "n/a" unless it is raw.
                let has_role = fd.server || fd.connected || fd.tuple.is_some();
                if !has_role && fd.l4 != crate::state::L4::Raw {
                    return None;
                }
                s(fd.l4.name()?)
            }
            FdSockfamily => match fd.kind {
                k if k.is_ip() => s("ip"),
                crate::FdKind::Unix => s("unix"),
                _ => None,
            },
            FdIsServer => {
                if !(fd.kind.is_ip() || fd.kind == crate::FdKind::Unix) {
                    return None;
                }
                b(fd.server)
            }
            FdConnected => {
                if !(fd.kind.is_ip() || fd.kind == crate::FdKind::Unix) {
                    return None;
                }
                b(fd.connected)
            }
            FdContainername | FdContainerdirectory => {
                let id = self.cur_thread()?.container_id.as_deref().unwrap_or("host");
                let part = if f == FdContainername {
                    fd.name.as_str()
                } else {
                    match fd.kind {
                        crate::FdKind::Directory => fd.name.as_str(),
                        crate::FdKind::File => &fd.name[..fd.name.rfind('/')?.max(1)],
                        _ => return None,
                    }
                };
                owned(format!("{id}:{part}"))
            }
            FdDev => i(i64::from(fd.dev?)),
            FdDevMajor => i(i64::from(fd.dev? >> 20)),
            FdDevMinor => i(i64::from(fd.dev? & 0xfffff)),
            FdIno => i(i64::try_from(fd.ino?).ok()?),
            _ => None,
        }
    }
}

impl EventAccess for Model {
    fn event_type(&self) -> &str {
        let Some(ev) = self.cur.as_ref() else {
            return "";
        };
        match ev.event_type {
            0 | 1 => {
                let id = ev
                    .params
                    .first()
                    .and_then(ParamValue::as_u64)
                    .and_then(|v| u16::try_from(v).ok())
                    .unwrap_or(0);
                blackbox_scap::syscall_name(id).unwrap_or("<unknown>")
            }
            _ => ev.info().map_or("<unknown>", |i| i.name),
        }
    }

    fn event_type_index(&self) -> Option<usize> {
        let Some(ev) = self.cur.as_ref() else {
            return blackbox_rules::evttype::event_index("");
        };
        let (table, key) = match ev.event_type {
            0 | 1 => {
                let id = ev
                    .params
                    .first()
                    .and_then(ParamValue::as_u64)
                    .and_then(|v| u16::try_from(v).ok())
                    .unwrap_or(0);
                (syscall_type_index(), id)
            }
            code => (code_type_index(), code),
        };
        match table.get(usize::from(key)) {
            Some(&i) => (i != NO_INDEX).then_some(usize::from(i)),
            None => blackbox_rules::evttype::event_index(self.event_type()),
        }
    }

    fn extract(&mut self, field: FieldId, arg: Option<&FieldArg>) -> Option<Value<'_>> {
        self.extract_inner(fld(field), arg)
    }
}

/// No index in `EVENT_NAMES` (in the tables below).
const NO_INDEX: u16 = u16::MAX;

/// Table size for PPM_SC codes (generic events); larger codes are looked up by name.
const SYSCALL_CODES: u16 = 1024;

fn name_index(name: &str) -> u16 {
    blackbox_rules::evttype::event_index(name)
        .and_then(|i| u16::try_from(i).ok())
        .filter(|&i| i != NO_INDEX)
        .unwrap_or(NO_INDEX)
}

/// `EVENT_NAMES` index of each event code's name, for every code of the event table.
fn code_type_index() -> &'static [u16] {
    static T: OnceLock<Vec<u16>> = OnceLock::new();
    T.get_or_init(|| {
        (0..=u16::MAX)
            .map_while(blackbox_scap::event_table::event_info)
            .map(|i| name_index(i.name))
            .collect()
    })
}

/// `EVENT_NAMES` index of each PPM_SC code's name (the `evt.type` of generic events).
fn syscall_type_index() -> &'static [u16] {
    static T: OnceLock<Vec<u16>> = OnceLock::new();
    T.get_or_init(|| {
        (0..SYSCALL_CODES)
            .map(|id| name_index(blackbox_scap::syscall_name(id).unwrap_or("<unknown>")))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_field_is_classified() {
        let t = table();
        assert_eq!(t.len(), FIELDS.len());
        let names = [
            "proc.name",
            "proc.aname",
            "fd.name",
            "evt.arg",
            "container.id",
            "k8s.ns.name",
        ];
        for n in names {
            let id = blackbox_rules::field_id(n).expect(n);
            assert!(
                !matches!(field_support(id), Support::No(_)),
                "{n} should be supported"
            );
        }
    }
}
