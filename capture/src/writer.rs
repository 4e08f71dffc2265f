//! [`CaptureWriter`]: one SCAP capture file per container, fed with recorder records.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use blackbox_recorder::{BootClock, Direction, LossCounters, ProcInfo, Record, SyscallRecord};
use blackbox_scap::flags::clone;
use blackbox_scap::{
    event_info, BuildError, Compression, ContainerInfo, Event, EventBuilder, Interface,
    ProcessInfo, ScapWriter, SectionMetadata,
};

use crate::convert::{
    self, enter_event, exit_event, is_clone, is_exec, is_exit, procexit, snapshot_of, spec, Ctx,
    EnterInput, ExitInput,
};
use crate::error::CaptureError;
use crate::meta::{CaptureMeta, ContainerIdentity};
use crate::procfs;
use crate::threads::{PendingEnter, PendingEnters, ProcSnapshot, Processes};
use crate::users::users_and_groups;

/// `PPME_DROP_E` / `PPME_DROP_X`.
pub const DROP_E: u16 = 148;
/// `PPME_DROP_X`.
pub const DROP_X: u16 = 149;

const CLONE_THREAD: u64 = 0x0001_0000;

/// Tuning of a [`CaptureWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Plain SCAP, or gzip with one member per [`CaptureWriter::flush`].
    pub compression: Compression,
    /// Threads with a syscall enter waiting for its exit, at most.
    pub max_pending_enters: usize,
    /// Processes whose name/argv/ids are remembered, at most.
    pub max_processes: usize,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self {
            compression: Compression::Gzip(3),
            max_pending_enters: 16_384,
            max_processes: 16_384,
        }
    }
}

/// What a capture holds, returned by [`CaptureWriter::finish`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureSummary {
    /// Events written per SCAP event type (the container JSON event included).
    pub events_by_type: BTreeMap<u16, u64>,
    /// All events written.
    pub events_written: u64,
    /// Records passed to [`CaptureWriter::push`].
    pub records_seen: u64,
    /// Records of the init process before its first successful execve (runc init), dropped.
    pub pre_exec_dropped: u64,
    /// The init had already exec'd when the capture was created (its comm was not runc's):
    /// nothing is dropped as pre-exec noise then.
    pub init_already_execd: bool,
    /// Records whose dedicated event could not be built; written as generic events instead.
    pub conversion_failures: u64,
    /// Deferred enters (open, connect, execve …) written without their exit: the exit never
    /// came (thread exited, record lost, capture ended) or the entry was evicted.
    pub unfinished_enters: u64,
    /// Successful execveat calls with a relative or empty pathname whose enter event was left
    /// out, because sysdig 0.29.3 crashes on that pair (see docs/capture.md).
    pub execveat_enters_omitted: u64,
    /// Pending enters evicted because too many threads had one.
    pub pending_evicted: u64,
    /// Process snapshots evicted because too many processes were remembered.
    pub processes_evicted: u64,
    /// Drop events written (enter and exit each count).
    pub drop_events: u64,
    /// Loss counters as last passed to [`CaptureWriter::note_losses`].
    pub losses: LossCounters,
    /// Uncompressed bytes of SCAP written.
    pub bytes_uncompressed: u64,
    /// How the container's init process ended, from its last thread's exit record: the
    /// kernel's wait status tells `exit(143)` from a SIGTERM, which containerd's 128 + n
    /// cannot. `None` when the record was not seen (lost, or the capture ended first).
    pub init_exit: Option<InitExit>,
}

/// The init process's end as the kernel reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InitExit {
    /// `WEXITSTATUS`, when it exited.
    pub code: Option<i32>,
    /// `WTERMSIG`, when a signal ended it.
    pub signal: Option<i32>,
}

impl CaptureSummary {
    /// [`Self::events_by_type`] keyed by `name` + direction (`openat<`, `execve>` …).
    pub fn events_by_name(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (code, n) in &self.events_by_type {
            let key = event_info(*code).map_or_else(
                || format!("#{code}"),
                |i| format!("{}{}", i.name, i.dir_char()),
            );
            *out.entry(key).or_insert(0) += n;
        }
        out
    }

    /// Events written of type `code`.
    pub fn count(&self, code: u16) -> u64 {
        self.events_by_type.get(&code).copied().unwrap_or(0)
    }
}

/// The metadata written at the start of the capture. It is kept until the first event is
/// written so that the init's entry can take the ids its execve reports (runc init changes
/// user right before the exec, in records that are dropped).
struct PendingSection {
    meta: SectionMetadata,
    container: ContainerInfo,
    container_ts: u64,
}

/// Sees what a [`CaptureWriter`] writes, as it writes it: the live rules evaluation reads
/// the same events as the capture holds, in the same order (the tap runs on the writer's
/// thread: it must hand the work off, never block).
pub trait EventTap: Send {
    /// The capture's leading metadata (process list, users …) and the container JSON
    /// (sysdig's `container` event payload), once, before the first event.
    fn section(&mut self, meta: &SectionMetadata, container_json: &str);
    /// One event, after it was written.
    fn event(&mut self, event: &Event);
}

/// Writes one container's capture. See the crate documentation.
pub struct CaptureWriter {
    path: PathBuf,
    tap: Option<Box<dyn EventTap>>,
    writer: ScapWriter<BufWriter<File>>,
    sync: File,
    section: Option<PendingSection>,
    init_pid: i64,
    exec_seen: bool,
    init_exec_enter: Option<PendingEnter>,
    pending: PendingEnters,
    /// tid → syscall of a non-deferred enter record already written, whose exit must not
    /// write another enter event: a feed with an enter record per syscall (the recorder
    /// before wire v5, the tests' scenarios) gives the same capture as exits alone. The
    /// programs send such records only for exit and exit_group, which are not kept here.
    /// Bounded by `max_pending_enters`.
    enter_written: HashMap<u32, u32>,
    max_enter_written: usize,
    procs: Processes,
    cgroups: Vec<String>,
    ctx: Ctx,
    prev_losses: LossCounters,
    summary: CaptureSummary,
}

impl CaptureWriter {
    /// Creates the capture file: section header, machine info, interface list (loopback),
    /// user/group lists read from the container's rootfs `/etc/passwd` and `/etc/group` if
    /// given, process list (the init process read from `/proc/<init_pid>`, and its parent, with
    /// the cgroups so that `container.id` resolves), then the container JSON event first.
    ///
    /// The metadata is written with the first event (or by [`Self::finish`]).
    pub fn create(
        path: &Path,
        meta: &CaptureMeta,
        rootfs: Option<&Path>,
    ) -> Result<Self, CaptureError> {
        Self::create_with(path, meta, rootfs, CaptureOptions::default())
    }

    /// [`Self::create`] with explicit options.
    pub fn create_with(
        path: &Path,
        meta: &CaptureMeta,
        rootfs: Option<&Path>,
        options: CaptureOptions,
    ) -> Result<Self, CaptureError> {
        if meta.container_id.is_empty() {
            return Err(CaptureError::InvalidMeta("empty container id".into()));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let identity = ContainerIdentity::from_meta(meta, now.as_secs() as i64);
        let io = |source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Data buffers can hold secrets: readable by root only.
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?
        };
        let sync = file.try_clone().map_err(io)?;

        let (users, groups) = users_and_groups(rootfs);
        let mut processes = Vec::new();
        let mut fds = Vec::new();
        if let Some(init) = procfs::process_entry(meta.init_pid, Some(&identity.cgroups)) {
            if let Some(parent) = i32::try_from(init.ptid)
                .ok()
                .filter(|&p| p > 0)
                .and_then(|p| procfs::process_entry(p, None))
            {
                processes.push(parent);
            }
            processes.push(init);
            fds.extend(procfs::stdio_fds(meta.init_pid));
        }
        // The contract is that the init still runs runc init; if it visibly does not (a shim
        // attaching to a running container), dropping its records until an exec would lose
        // them all.
        let init_already_execd = procfs::is_runc_init(meta.init_pid) == Some(false);
        let mut procs = Processes::new(options.max_processes);
        if let Some(init) = processes.iter().find(|p| p.pid == meta.init_pid as u64) {
            procs.insert(meta.init_pid as u32, snapshot_of_entry(init));
        }
        let section = SectionMetadata {
            machine: Some(procfs::machine_info(&meta.hostname)),
            interfaces: vec![Interface::V4 {
                name: "lo".into(),
                addr: Ipv4Addr::LOCALHOST,
                netmask: Ipv4Addr::new(255, 0, 0, 0),
                bcast: Ipv4Addr::LOCALHOST,
                linkspeed: 0,
            }],
            users,
            groups,
            processes,
            fds,
        };
        Ok(Self {
            path: path.to_path_buf(),
            tap: None,
            writer: ScapWriter::new(BufWriter::new(file), options.compression),
            sync,
            section: Some(PendingSection {
                meta: section,
                container: identity.info,
                container_ts: now.as_nanos() as u64,
            }),
            init_pid: i64::from(meta.init_pid),
            exec_seen: init_already_execd,
            init_exec_enter: None,
            pending: PendingEnters::new(options.max_pending_enters),
            enter_written: HashMap::new(),
            max_enter_written: options.max_pending_enters,
            procs,
            cgroups: identity.cgroups.clone(),
            ctx: Ctx {
                cgroups: convert::join_nul(&identity.cgroups),
            },
            prev_losses: LossCounters::default(),
            summary: CaptureSummary {
                init_already_execd,
                ..CaptureSummary::default()
            },
        })
    }

    /// Hands every event written from now on (and the leading metadata, if not written yet)
    /// to `tap` as well.
    pub fn set_tap(&mut self, tap: Box<dyn EventTap>) {
        self.tap = Some(tap);
    }

    /// The capture file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts so far.
    pub fn summary(&self) -> &CaptureSummary {
        &self.summary
    }

    /// Converts one record and appends the resulting SCAP event(s). Records of the init pid
    /// before its first successful execve (runc init's own syscalls between registration and
    /// the exec) are dropped: the first recorded event of a container is its init's execve
    /// (enter+exit pair).
    pub fn push(&mut self, record: &Record<'_>, clock: &BootClock) -> Result<(), CaptureError> {
        self.summary.records_seen += 1;
        let h = record.header();
        let ts = clock.to_epoch_ns(h.ts_boot_ns);
        if !self.exec_seen && i64::from(h.pid) == self.init_pid && !self.pre_exec(record, ts) {
            return Ok(());
        }
        match record {
            Record::ProcExit(p) => {
                let tid = p.header.tid;
                if let Some(e) = self.pending.take(tid) {
                    self.write_unfinished(tid, e)?;
                }
                self.enter_written.remove(&tid);
                let ev = procexit(ts, p)?;
                self.write_event(&ev)?;
                if p.group_dead {
                    self.procs.remove(p.header.pid);
                    if i64::from(p.header.pid) == self.init_pid {
                        // The last thread's status is the process's (a group exit gives every
                        // thread the group's code), as in the procexit event just written.
                        self.summary.init_exit = Some(InitExit {
                            code: p.exit_status(),
                            signal: p.signal(),
                        });
                    }
                }
                Ok(())
            }
            Record::Syscall(s) => match s.direction {
                Direction::Enter => self.on_enter(s, ts),
                Direction::Exit => self.on_exit(s, ts),
            },
        }
    }

    /// The runc-init filter. Returns whether the record is converted.
    fn pre_exec(&mut self, record: &Record<'_>, ts: u64) -> bool {
        let Record::Syscall(s) = record else {
            self.summary.pre_exec_dropped += 1;
            return false;
        };
        if !is_exec(s.nr) {
            self.summary.pre_exec_dropped += 1;
            return false;
        }
        match s.direction {
            Direction::Enter => {
                let e = PendingEnter::new(
                    ts,
                    s.header.cpu as u16,
                    s.header.pid,
                    s.nr,
                    s.args,
                    s.path().map(<[u8]>::to_vec),
                );
                if self.init_exec_enter.replace(e).is_some() {
                    self.summary.pre_exec_dropped += 1;
                }
                false
            }
            Direction::Exit if s.ret == 0 => {
                self.exec_seen = true;
                if let Some(pi) = s.proc_info() {
                    self.adopt_init_exec(&pi);
                }
                if let Some(e) = self.init_exec_enter.take() {
                    self.pending.insert(s.header.tid, e);
                }
                true
            }
            Direction::Exit => {
                self.summary.pre_exec_dropped += 1 + u64::from(self.init_exec_enter.is_some());
                self.init_exec_enter = None;
                false
            }
        }
    }

    /// The init's process-list entry takes the ids of its first exec (still unwritten).
    fn adopt_init_exec(&mut self, pi: &ProcInfo) {
        let Some(section) = self.section.as_mut() else {
            return;
        };
        let pid = self.init_pid as u64;
        let cgroups = &self.cgroups;
        let procs = &mut section.meta.processes;
        if !procs.iter().any(|p| p.tid == pid) {
            procs.push(ProcessInfo {
                tid: pid,
                pid,
                sid: pid,
                cwd: "/".into(),
                fdlimit: 1024,
                cgroups: cgroups.clone(),
                root: "/".into(),
                ..ProcessInfo::default()
            });
        }
        if let Some(p) = procs.iter_mut().find(|p| p.tid == pid) {
            p.ptid = u64::from(pi.ppid);
            p.uid = pi.euid;
            p.gid = pi.egid;
            p.loginuid = Some(pi.loginuid.unwrap_or(u32::MAX));
            p.vtid = i64::from(pi.vtid);
            p.vpid = i64::from(pi.vpid);
            p.vpgid = u64::from(pi.vpgid);
            p.fdlimit = i64::try_from(pi.fdlimit).unwrap_or(i64::MAX);
            if pi.pidns_level > 0 {
                p.flags |= clone::CHILD_IN_PIDNS;
            }
        }
    }

    fn on_enter(&mut self, s: &SyscallRecord<'_>, ts: u64) -> Result<(), CaptureError> {
        let tid = s.header.tid;
        if let Some(e) = self.pending.take(tid) {
            self.write_unfinished(tid, e)?;
        }
        let cpu = s.header.cpu as u16;
        if spec(s.nr).is_some_and(|sp| sp.deferred) {
            let e = PendingEnter::new(
                ts,
                cpu,
                s.header.pid,
                s.nr,
                s.args,
                s.path().map(<[u8]>::to_vec),
            );
            if let (_, Some((other, evicted))) = self.pending.insert(tid, e) {
                self.summary.pending_evicted += 1;
                self.write_unfinished(other, evicted)?;
            }
            return Ok(());
        }
        if !is_exit(s.nr) && self.enter_written.len() < self.max_enter_written {
            self.enter_written.insert(tid, s.nr);
        }
        let input = EnterInput {
            args: s.args,
            path: s.path(),
            exit: None,
        };
        let ev = enter_event(s.nr, ts, u64::from(tid), cpu, &input);
        self.write_or_generic(ev, s.nr, ts, u64::from(tid), cpu, true)
    }

    /// An exit record. The programs record the enters of execve, execveat, exit and
    /// exit_group only; every other syscall's enter event is written here, from its exit
    /// record, with the exit's time and CPU (the registers at exit hold the arguments the
    /// syscall was entered with).
    fn on_exit(&mut self, s: &SyscallRecord<'_>, ts: u64) -> Result<(), CaptureError> {
        let h = &s.header;
        let (tid, cpu) = (h.tid, h.cpu as u16);
        let mut args = s.args;
        if spec(s.nr).is_some_and(|sp| sp.deferred) {
            let mut enter = self.pending.take(tid);
            if let Some(e) = enter.take_if(|e| e.nr != s.nr) {
                self.write_unfinished(tid, e)?;
            }
            if enter.is_none() && is_exec(s.nr) {
                enter = self.pending.take_for_process(h.pid, s.nr).map(|(_, e)| e);
            }
            let (ets, ecpu, path) = match &enter {
                Some(e) => {
                    args = e.args;
                    (e.ts, e.cpu, e.path.as_deref())
                }
                None => (ts, cpu, None),
            };
            // Without its enter record an execve has no filename to show: exit only.
            let mut write_enter = enter.is_some() || !is_exec(s.nr);
            // sysdig 0.29.3 crashes (SIGSEGV) on a successful execveat exit right after an
            // enter whose pathname is relative or empty (fexecve: `execveat(fd, "",
            // AT_EMPTY_PATH)`): such an execveat is written as its exit only.
            if write_enter
                && s.nr == convert::nr::EXECVEAT
                && s.ret == 0
                && !path.is_some_and(|p| p.starts_with(b"/"))
            {
                write_enter = false;
                self.summary.execveat_enters_omitted += 1;
            }
            if write_enter {
                let input = EnterInput {
                    args,
                    path,
                    exit: Some(s),
                };
                let ev = enter_event(s.nr, ets, u64::from(tid), ecpu, &input);
                self.write_or_generic(ev, s.nr, ets, u64::from(tid), ecpu, true)?;
            }
        } else {
            if let Some(e) = self.pending.take(tid) {
                self.write_unfinished(tid, e)?;
            }
            // A new thread's first return from clone, fork or vfork (0) was entered by its
            // parent: the child's exit has no enter, as in the kernel module's captures.
            let enter_written =
                !self.enter_written.is_empty() && self.enter_written.remove(&tid) == Some(s.nr);
            let child_return = is_clone(s.nr) && s.ret == 0;
            if !enter_written && !child_return {
                let input = EnterInput {
                    args,
                    path: None,
                    exit: None,
                };
                let ev = enter_event(s.nr, ts, u64::from(tid), cpu, &input);
                self.write_or_generic(ev, s.nr, ts, u64::from(tid), cpu, true)?;
            }
        }

        let proc = self.procs.get(h.pid).cloned();
        let input = ExitInput {
            rec: s,
            args,
            ctx: &self.ctx,
            proc: proc.as_ref(),
        };
        let ev = exit_event(s.nr, ts, &input);
        self.write_or_generic(ev, s.nr, ts, u64::from(tid), cpu, false)?;
        self.remember_process(s);
        Ok(())
    }

    /// Keeps what an exec or a new process's clone says about it.
    fn remember_process(&mut self, s: &SyscallRecord<'_>) {
        use convert::nr;
        if s.ret != 0 {
            return;
        }
        let Some(pi) = s.proc_info() else {
            return;
        };
        let new_process = match s.nr {
            nr::EXECVE | nr::EXECVEAT => true,
            nr::CLONE | nr::CLONE3 | nr::FORK | nr::VFORK => pi.clone_flags & CLONE_THREAD == 0,
            _ => false,
        };
        if new_process {
            self.procs.insert(s.header.pid, snapshot_of(&pi, &s.argv()));
            self.summary.processes_evicted = self.procs.evicted;
        }
    }

    /// A deferred enter whose exit never came, written with what its enter record holds.
    fn write_unfinished(&mut self, tid: u32, e: PendingEnter) -> Result<(), CaptureError> {
        self.summary.unfinished_enters += 1;
        let input = EnterInput {
            args: e.args,
            path: e.path.as_deref(),
            exit: None,
        };
        let ev = enter_event(e.nr, e.ts, u64::from(tid), e.cpu, &input);
        self.write_or_generic(ev, e.nr, e.ts, u64::from(tid), e.cpu, true)
    }

    fn write_or_generic(
        &mut self,
        ev: Result<Event, BuildError>,
        nr: u32,
        ts: u64,
        tid: u64,
        cpu: u16,
        enter: bool,
    ) -> Result<(), CaptureError> {
        let ev = match ev {
            Ok(ev) => ev,
            Err(_) => {
                self.summary.conversion_failures += 1;
                if enter {
                    convert::generic_enter(nr, ts, tid, cpu)?
                } else {
                    convert::generic_exit(nr, ts, tid, cpu)?
                }
            }
        };
        self.write_event(&ev)
    }

    fn wr_err(&self, source: blackbox_scap::WriteError) -> CaptureError {
        CaptureError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes the section metadata and the container event if not done yet.
    fn ensure_section(&mut self, first_ts: u64) -> Result<(), CaptureError> {
        let Some(s) = self.section.take() else {
            return Ok(());
        };
        self.writer
            .write_section(&s.meta)
            .map_err(|e| self.wr_err(e))?;
        self.writer
            .write_container(s.container_ts.min(first_ts), &s.container)
            .map_err(|e| self.wr_err(e))?;
        self.count(blackbox_scap::CONTAINER_JSON_2_E);
        if let Some(tap) = self.tap.as_mut() {
            // The writer just serialised it: it is valid.
            if let Ok(json) = s.container.to_json() {
                tap.section(&s.meta, &json);
            }
        }
        Ok(())
    }

    fn count(&mut self, code: u16) {
        *self.summary.events_by_type.entry(code).or_insert(0) += 1;
        self.summary.events_written += 1;
    }

    fn write_event(&mut self, ev: &Event) -> Result<(), CaptureError> {
        self.ensure_section(ev.ts)?;
        self.writer.write_event(ev).map_err(|e| self.wr_err(e))?;
        self.count(ev.event_type);
        if let Some(tap) = self.tap.as_mut() {
            tap.event(ev);
        }
        Ok(())
    }

    /// Writes drop events (`drop` enter and exit, `ratio` = the number of records lost) for
    /// the increase of each counter of records lost whole (`ringbuf_full`, `no_ring`,
    /// `scratch_overflow`) since the previous call, and keeps the totals for the summary.
    /// `now_ns` is the time to stamp them with, epoch nanoseconds.
    pub fn note_losses(&mut self, losses: &LossCounters, now_ns: u64) -> Result<(), CaptureError> {
        let prev = self.prev_losses;
        let tid = u64::try_from(self.init_pid).unwrap_or(0);
        for (now, before) in [
            (losses.ringbuf_full, prev.ringbuf_full),
            (losses.no_ring, prev.no_ring),
            (losses.scratch_overflow, prev.scratch_overflow),
        ] {
            // A counter that went down was reset (a new registration): its value is new.
            let delta = if now >= before { now - before } else { now };
            if delta == 0 {
                continue;
            }
            let ratio = u32::try_from(delta).unwrap_or(u32::MAX);
            for code in [DROP_E, DROP_X] {
                let ev = EventBuilder::new(now_ns, tid, code)
                    .param_u32(ratio)
                    .build()?;
                self.write_event(&ev)?;
                self.summary.drop_events += 1;
            }
        }
        self.prev_losses = *losses;
        self.summary.losses = *losses;
        Ok(())
    }

    /// Ends the current gzip member (or flushes the plain buffer) and fsyncs, so everything
    /// pushed so far survives a crash of the shim. Before the first event is written (runc
    /// init has not exec'd yet) there is nothing to write and the file stays empty.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        if self.section.is_some() {
            return Ok(());
        }
        self.writer.flush().map_err(|e| self.wr_err(e))?;
        self.sync.sync_data().map_err(|source| CaptureError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.summary.bytes_uncompressed = self.writer.bytes_written();
        Ok(())
    }

    /// Writes the enters still waiting for their exit, flushes and closes; returns the counts
    /// (events written per SCAP type, records dropped as pre-exec noise, conversion failures,
    /// losses).
    pub fn finish(mut self) -> Result<CaptureSummary, CaptureError> {
        for (tid, e) in self.pending.drain() {
            self.write_unfinished(tid, e)?;
        }
        if self.init_exec_enter.take().is_some() {
            self.summary.pre_exec_dropped += 1;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.ensure_section(now)?;
        self.flush()?;
        let mut summary = std::mem::take(&mut self.summary);
        summary.bytes_uncompressed = self.writer.bytes_written();
        let path = self.path.clone();
        let buf = self.writer.finish().map_err(|source| CaptureError::Write {
            path: path.clone(),
            source,
        })?;
        let file = buf.into_inner().map_err(|e| CaptureError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all()
            .map_err(|source| CaptureError::Io { path, source })?;
        Ok(summary)
    }
}

/// The snapshot of a process-list entry.
fn snapshot_of_entry(p: &ProcessInfo) -> ProcSnapshot {
    ProcSnapshot {
        comm: p.comm.clone().into_bytes(),
        exe: p.exe.clone().into_bytes(),
        args: convert::join_nul(&p.args),
        ptid: p.ptid,
        uid: p.uid,
        gid: p.gid,
        fdlimit: u64::try_from(p.fdlimit).unwrap_or(0),
        vpid: p.vpid,
        vpgid: p.vpgid as i64,
        loginuid: p.loginuid.map_or(-1, |u| u as i32),
        in_pidns: p.flags & clone::CHILD_IN_PIDNS != 0,
        exe_flags: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blackbox_scap::{syscall_name, ParamValue, ScapReader};

    #[test]
    fn a_record_that_fails_to_convert_becomes_a_generic_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.scap");
        let meta = CaptureMeta {
            container_id: "c1".into(),
            init_pid: 4_190_100,
            ..CaptureMeta::default()
        };
        let opts = CaptureOptions {
            compression: Compression::None,
            ..CaptureOptions::default()
        };
        let mut w = CaptureWriter::create_with(&path, &meta, None, opts).expect("create");
        let bad = Err(BuildError::UnknownEventType(999));
        w.write_or_generic(bad.clone(), convert::nr::UNLINK, 10, 7, 0, true)
            .expect("generic enter");
        w.write_or_generic(bad, convert::nr::UNLINK, 11, 7, 0, false)
            .expect("generic exit");
        let summary = w.finish().expect("finish");
        assert_eq!(summary.conversion_failures, 2);
        assert_eq!((summary.count(0), summary.count(1)), (1, 1));
        let events: Vec<Event> = ScapReader::open(&path)
            .expect("open")
            .map(|r| r.expect("event").event)
            .filter(|e| e.event_type < 2)
            .collect();
        assert_eq!(events.len(), 2);
        let id = events[1].params[0].as_u64().unwrap_or(0) as u16;
        assert_eq!(syscall_name(id), Some("unlink"));
        assert_eq!(events[0].params[1], ParamValue::Uint(87));
    }

    #[test]
    fn an_empty_capture_is_still_a_valid_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.scap");
        let meta = CaptureMeta {
            container_id: "c2".into(),
            init_pid: 4_190_101,
            ..CaptureMeta::default()
        };
        let w = CaptureWriter::create(&path, &meta, None).expect("create");
        let summary = w.finish().expect("finish");
        assert_eq!(summary.events_written, 1, "the container event");
        let r = ScapReader::open(&path).expect("valid capture");
        assert_eq!(r.container_json().len(), 1);
        assert!(CaptureWriter::create(&path, &CaptureMeta::default(), None).is_err());
        assert!(
            CaptureWriter::create(&dir.path().join("no/such/dir/c.scap"), &meta, None).is_err()
        );
    }
}
