//! Processes: execve/execveat, the clone family, procexit, set*id, kill family, ptrace,
//! chroot, setns, unshare.
//!
//! The big exits (EXECVE_19 293/331, CLONE_20 223/225/227/335) carry what sysdig keeps about
//! a process. The recorder supplies comm, argv, env, ids, fdlimit and clone flags; cwd, page
//! faults, vm sizes and tty are not recorded and are written as ""/0.

use blackbox_recorder::{ProcExit, ProcInfo};
use blackbox_scap::{BuildError, Event, EventBuilder, ParamValue};

use super::flags::{clone_flags_to_ppm, ptrace_request_to_ppm};
use super::{fd_arg, join_nul, str_or_empty, EnterInput, ExitInput};
use crate::threads::ProcSnapshot;

/// `PPME_PROCEXIT_1_E`.
pub const PROCEXIT_E: u16 = 186;

/// Linux `AT_EMPTY_PATH` / `AT_SYMLINK_NOFOLLOW` to `PPM_EXVAT_*`.
fn execveat_flags_to_ppm(f: u64) -> u32 {
    let mut r = 0;
    if f & 0x1000 != 0 {
        r |= 1;
    }
    if f & 0x100 != 0 {
        r |= 2;
    }
    r
}

/// The enter event's parameters.
pub fn enter(code: u16, b: EventBuilder, i: &EnterInput<'_, '_>) -> EventBuilder {
    let a = i.args;
    match code {
        292 => b.param(str_or_empty(i.path)),
        330 => b
            .param_fd(fd_arg(a[0]))
            .param(str_or_empty(i.path))
            .param_u32(execveat_flags_to_ppm(a[4])),
        198 | 200 => b.param_u32(a[0] as u32),
        192 | 194 => b
            .param_u32(a[0] as u32)
            .param_u32(a[1] as u32)
            .param_u32(a[2] as u32),
        128 | 130 => b.param_pid(fd_arg(a[0])).param_u8(a[1] as u8),
        132 => b
            .param_pid(fd_arg(a[0]))
            .param_pid(fd_arg(a[1]))
            .param_u8(a[2] as u8),
        168 => b
            .param_u16(ptrace_request_to_ppm(a[0]))
            .param_pid(fd_arg(a[1])),
        240 => b
            .param_fd(fd_arg(a[0]))
            .param_u32(clone_flags_to_ppm(a[1], false)),
        284 => b.param_u32(clone_flags_to_ppm(a[0], false)),
        // clone family, chroot: no enter parameters.
        _ => b,
    }
}

/// The exit event's parameters.
pub fn exit(code: u16, b: EventBuilder, i: &ExitInput<'_, '_>) -> EventBuilder {
    let r = i.rec;
    match code {
        293 | 331 => exec_exit(b, i),
        223 | 225 | 227 | 335 => clone_exit(code, b, i),
        169 => b
            .param_errno(r.ret)
            .param_dyn(0, ParamValue::Uint(i.args[2]))
            .param_dyn(0, ParamValue::Uint(i.args[3])),
        267 => b.param_errno(r.ret).param(str_or_empty(r.path_arg(0))),
        // set*id, kill family, setns, unshare.
        _ => b.param_errno(r.ret),
    }
}

/// exe (argv\[0\], or comm when argv is empty) and args (argv\[1..\]) of a record.
fn exe_and_args(argv: &[&[u8]], comm: &[u8]) -> (Vec<u8>, Vec<u8>) {
    match argv.split_first() {
        Some((first, rest)) => (first.to_vec(), join_nul(rest)),
        None => (comm.to_vec(), Vec::new()),
    }
}

/// What sysdig should know about the process after this exec or clone child exit.
pub fn snapshot_of(pi: &ProcInfo, argv: &[&[u8]]) -> ProcSnapshot {
    let (exe, args) = exe_and_args(argv, &pi.comm);
    ProcSnapshot {
        comm: pi.comm.clone(),
        exe,
        args,
        ptid: u64::from(pi.ppid),
        uid: pi.euid,
        gid: pi.egid,
        fdlimit: pi.fdlimit,
        vpid: i64::from(pi.vpid),
        vpgid: i64::from(pi.vpgid),
        loginuid: pi.loginuid.map_or(-1, |u| u as i32),
        in_pidns: pi.pidns_level > 0,
        exe_flags: pi.exe_flags,
    }
}

fn exec_exit(b: EventBuilder, i: &ExitInput<'_, '_>) -> EventBuilder {
    let r = i.rec;
    let h = &r.header;
    let cgroups = ParamValue::Bytes(i.ctx.cgroups.clone());
    let (snap, env) = match r.proc_info() {
        Some(pi) if r.ret == 0 => (snapshot_of(&pi, &r.argv()), join_nul(&r.env())),
        // A failed execve: the process keeps its image; repeat what is known about it.
        _ => (i.proc.cloned().unwrap_or_default(), Vec::new()),
    };
    b.param_errno(r.ret)
        .param(ParamValue::Str(snap.exe))
        .param(ParamValue::Bytes(snap.args))
        .param_pid(i64::from(h.tid))
        .param_pid(i64::from(h.pid))
        .param_pid(snap.ptid as i64)
        .param_str("")
        .param_u64(snap.fdlimit)
        .param_u64(0)
        .param_u64(0)
        .param_u32(0)
        .param_u32(0)
        .param_u32(0)
        .param(ParamValue::Str(snap.comm))
        .param(cgroups)
        .param(ParamValue::Bytes(env))
        .param_i32(0)
        .param_pid(snap.vpgid)
        .param_i32(snap.loginuid)
        .param_u32(snap.exe_flags)
}

fn clone_exit(code: u16, b: EventBuilder, i: &ExitInput<'_, '_>) -> EventBuilder {
    let r = i.rec;
    let h = &r.header;
    let cgroups = ParamValue::Bytes(i.ctx.cgroups.clone());
    let (snap, flags, vtid, vpid) = match r.proc_info() {
        // The child side: the new task, as the recorder saw it.
        Some(pi) if r.ret == 0 => {
            let in_pidns = pi.pidns_level > 0;
            (
                snapshot_of(&pi, &r.argv()),
                clone_flags_to_ppm(pi.clone_flags, in_pidns),
                i64::from(pi.vtid),
                i64::from(pi.vpid),
            )
        }
        // The parent side (or a failure): the caller, as last seen.
        _ => {
            let snap = i.proc.cloned().unwrap_or_default();
            let linux = match code {
                223 => i.args[0],
                227 => 0x4100, // CLONE_VM | CLONE_VFORK
                _ => 0,        // fork: SIGCHLD only; clone3: flags are behind a pointer
            };
            let flags = clone_flags_to_ppm(linux, snap.in_pidns);
            let vtid = if h.tid == h.pid { snap.vpid } else { 0 };
            let vpid = snap.vpid;
            (snap, flags, vtid, vpid)
        }
    };
    b.param_pid(r.ret)
        .param(ParamValue::Str(snap.exe))
        .param(ParamValue::Bytes(snap.args))
        .param_pid(i64::from(h.tid))
        .param_pid(i64::from(h.pid))
        .param_pid(snap.ptid as i64)
        .param_str("")
        .param_i64(i64::try_from(snap.fdlimit).unwrap_or(i64::MAX))
        .param_u64(0)
        .param_u64(0)
        .param_u32(0)
        .param_u32(0)
        .param_u32(0)
        .param(ParamValue::Str(snap.comm))
        .param(cgroups)
        .param_u32(flags)
        .param_u32(snap.uid)
        .param_u32(snap.gid)
        .param_pid(vtid)
        .param_pid(vpid)
}

/// The procexit event of a thread.
pub fn procexit(ts: u64, p: &ProcExit) -> Result<Event, BuildError> {
    let status = p.exit_code;
    EventBuilder::new(ts, u64::from(p.header.tid), PROCEXIT_E)
        .cpu(p.header.cpu as u16)
        .param_errno(i64::from(status))
        .param_errno(i64::from(p.exit_status().unwrap_or(0)))
        .param_u8(p.signal().unwrap_or(0) as u8)
        .param_u8(u8::from(p.core_dumped()))
        .build()
}
