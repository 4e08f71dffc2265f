//! The event model: a libsinsp-like state machine over SCAP events (threads, fds, users,
//! groups, containers) and the Falco fields of "the current event + state".
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use blackbox_model::Model;
//! let mut reader = blackbox_scap::ScapReader::open("capture.scap")?;
//! let mut model = Model::from_reader(&reader);
//! let mut engine = blackbox_rules::Engine::new(Default::default());
//! # let rules: Vec<std::path::PathBuf> = Vec::new();
//! engine.load_files(&rules)?;
//! while let Some(rec) = reader.next_event() {
//!     model.process(rec?);               // update state, make it the current event
//!     for alert in engine.ruleset().evaluate_alerts(&mut model) {
//!         println!("{}", alert.output);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Live use is the same: feed each event with [`Model::process_event`] (or [`Model::process`])
//! in order, after [`Model::load_metadata`] with the threads alive at the start and
//! [`Model::add_container`] / [`Model::add_container_json`] for the container. Per event the
//! model allocates nothing unless the event creates state (a new thread, fd or container) or a
//! rule asks for a field that has to be built (`evt.args`, `evt.arg.*`, ancestor lists).

mod fields;
#[allow(clippy::unreadable_literal)]
mod flag_tables;
pub mod names;
mod parse;
pub mod state;

use std::collections::HashMap;

use blackbox_scap::{Event, EventRecord, Metadata, ScapReader};

pub use fields::{field_support, Support};
pub use state::{Container, FdInfo, FdKind, Thread};

use state::{FdTable, IdMap, Users};

/// Where an fd of the current event comes from.
#[derive(Debug, Default)]
pub(crate) struct CurFd {
    /// The fd number (`fd.num`), -1 when the event has none.
    pub num: i64,
    /// Whether the event is fd-related at all (`EF_CREATES_FD | EF_USES_FD | EF_DESTROYS_FD`).
    pub relevant: bool,
    /// The fd's info when it is no longer (or not) in the table: a closed fd, a failed open.
    pub detached: Option<FdInfo>,
    /// This event changed the fd's name (`fd.name_changed`).
    pub name_changed: bool,
}

/// The state machine and the current event.
#[derive(Debug, Default)]
pub struct Model {
    pub(crate) threads: IdMap<i64, Thread>,
    pub(crate) fds: IdMap<i64, FdTable>,
    pub(crate) users: Users,
    pub(crate) containers: HashMap<String, Container>,
    pub(crate) hostname: String,
    /// Last enter event of each thread (libsinsp reads exit data from it).
    pub(crate) last_enter: IdMap<i64, Event>,
    /// The current event.
    pub(crate) cur: Option<Event>,
    pub(crate) cur_num: u64,
    pub(crate) cur_fd: CurFd,
    /// Threads to drop before the next event (procexit).
    pub(crate) pending_exit: Option<i64>,
    pub(crate) first_ts: Option<u64>,
    pub(crate) prev_ts: u64,
    /// `evt.args`/`evt.info` cut each parameter at this many characters (sysdig's command
    /// line does, at 80; Falco does not).
    pub(crate) param_text_limit: Option<usize>,
}

impl Model {
    pub fn new() -> Model {
        Model::default()
    }

    /// Cuts each parameter of `evt.args`/`evt.info` at `max` characters, the last three
    /// replaced by `...`, as sysdig's command line prints them (`None`: whole, as Falco).
    pub fn set_param_text_limit(&mut self, max: Option<usize>) {
        self.param_text_limit = max;
    }

    /// A model primed with a capture's metadata and its leading container events.
    pub fn from_reader(reader: &ScapReader<'_>) -> Model {
        let mut m = Model::new();
        m.load_metadata(reader.metadata());
        for c in reader.container_json() {
            m.add_container_json(c);
        }
        m
    }

    /// Loads the process list, fd lists, users, groups and hostname of a capture (or of the
    /// live system at start).
    pub fn load_metadata(&mut self, meta: &Metadata) {
        if let Some(mi) = &meta.machine {
            self.hostname.clone_from(&mi.hostname);
        }
        for u in &meta.users {
            self.users.users.insert(u.uid, u.clone());
        }
        for g in &meta.groups {
            self.users.groups.insert(g.gid, g.name.clone());
        }
        for p in &meta.processes {
            self.add_process(p);
        }
        for tf in &meta.fds {
            let Some(t) = i64::try_from(tf.tid)
                .ok()
                .and_then(|t| self.threads.get(&t))
            else {
                continue;
            };
            let key = t.fd_key();
            let table = self.fds.entry(key).or_default();
            for f in &tf.fds {
                table.insert(f.fd, parse::fd_from_list(f));
            }
        }
        self.fix_sockets_from_proc();
    }

    /// The fd lists store a connected socket as local→remote. libsinsp
    /// (`fix_sockets_coming_from_proc`) turns it around when the local port is one the
    /// capture's processes listen on: then the remote peer is the client.
    fn fix_sockets_from_proc(&mut self) {
        let mut server_ports = std::collections::HashSet::new();
        for t in self.fds.values() {
            for f in t.values() {
                if f.server {
                    if let Some(tp) = f.tuple {
                        server_ports.insert(tp.sport);
                    }
                }
            }
        }
        for t in self.fds.values_mut() {
            for f in t.values_mut() {
                let Some(tp) = f.tuple else { continue };
                if !f.server && f.kind.is_ip() && server_ports.contains(&tp.cport) {
                    let swapped = state::Tuple {
                        cip: tp.sip,
                        cport: tp.sport,
                        sip: tp.cip,
                        sport: tp.cport,
                    };
                    f.tuple = Some(swapped);
                    f.name = state::tuple_name(&swapped);
                }
            }
        }
    }

    /// Adds one process-list entry (a thread alive at the start).
    pub fn add_process(&mut self, p: &blackbox_scap::ProcessInfo) {
        let tid = i64::try_from(p.tid).unwrap_or(-1);
        let mut t = Thread {
            tid,
            pid: i64::try_from(p.pid).unwrap_or(-1),
            ptid: i64::try_from(p.ptid).unwrap_or(-1),
            sid: i64::try_from(p.sid).unwrap_or(-1),
            vpgid: i64::try_from(p.vpgid).unwrap_or(-1),
            vtid: p.vtid,
            vpid: p.vpid,
            comm: p.comm.clone(),
            exe: p.exe.clone(),
            exepath: p.exepath.clone(),
            args: p.args.clone(),
            cwd: p.cwd.clone(),
            env: p.env.clone(),
            cgroups: p.cgroups.clone(),
            uid: p.uid,
            gid: p.gid,
            loginuid: p.loginuid.unwrap_or(u32::MAX),
            fdlimit: p.fdlimit,
            exe_flags: p.exe_writable.map(u32::from),
            vmsize_kb: p.vmsize_kb,
            vmrss_kb: p.vmrss_kb,
            vmswap_kb: p.vmswap_kb,
            pfmajor: p.pfmajor,
            pfminor: p.pfminor,
            container_id: blackbox_scap::container::container_id_from_cgroups(&p.cgroups),
            lastevent_fd: 0,
            ..Thread::default()
        };
        if !t.cwd.is_empty() && !t.cwd.ends_with('/') {
            t.cwd.push('/');
        }
        t.rebuild_cmdline();
        self.threads.insert(tid, t);
    }

    /// Adds a container from sysdig's container JSON payload; ignored if it does not parse.
    pub fn add_container_json(&mut self, json: &str) {
        if let Some(c) = Container::from_json(json) {
            self.add_container(c);
        }
    }

    /// Adds (or replaces) a container's metadata.
    pub fn add_container(&mut self, c: Container) {
        self.containers.insert(c.id.clone(), c);
    }

    /// The thread table.
    pub fn thread(&self, tid: i64) -> Option<&Thread> {
        self.threads.get(&tid)
    }

    /// Number of threads known.
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// The fd `fd` of process `pid`.
    pub fn fd(&self, pid: i64, fd: i64) -> Option<&FdInfo> {
        self.fds.get(&pid)?.get(&fd)
    }

    /// Feeds one event read from a capture; it becomes the current event.
    pub fn process(&mut self, rec: EventRecord) {
        self.process_event(rec.num, rec.event);
    }

    /// Feeds one event with its number (`evt.num`); it becomes the current event and state is
    /// updated the way libsinsp does before it runs filters.
    pub fn process_event(&mut self, num: u64, event: Event) {
        if let Some(prev) = self.cur.take() {
            self.prev_ts = prev.ts;
            if prev.event_type % 2 == 0 && prev.event_type != blackbox_scap::CONTAINER_JSON_E {
                if let Ok(tid) = i64::try_from(prev.tid) {
                    self.last_enter.insert(tid, prev);
                }
            }
        }
        if let Some(tid) = self.pending_exit.take() {
            self.remove_thread(tid);
        }
        if self.first_ts.is_none() {
            self.first_ts = Some(event.ts);
            self.prev_ts = event.ts;
        }
        self.cur_num = num;
        self.cur_fd = CurFd {
            num: -1,
            ..CurFd::default()
        };
        self.cur = Some(event);
        parse::update(self);
    }

    /// The current event.
    pub fn current(&self) -> Option<&Event> {
        self.cur.as_ref()
    }

    fn remove_thread(&mut self, tid: i64) {
        self.last_enter.remove(&tid);
        let Some(t) = self.threads.remove(&tid) else {
            return;
        };
        // The fd table goes with the last thread of the process.
        let key = t.fd_key();
        if !self.threads.values().any(|o| o.fd_key() == key) {
            self.fds.remove(&key);
        }
    }
}
