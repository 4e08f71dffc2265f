//! The little state the converter keeps between records, all bounded:
//!
//! * per thread, the enter record of a syscall whose SCAP enter event needs what only the exit
//!   record carries (a path, a sockaddr), until that exit arrives;
//! * per process, what its last exec or clone said about it (name, argv, ids), for the
//!   events whose record does not carry it (parent side of clone, failed execve).
//!
//! When a map is full, the oldest entry is evicted and counted.

use std::collections::HashMap;

/// A syscall enter waiting for its exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEnter {
    /// Epoch ns of the enter.
    pub ts: u64,
    /// CPU of the enter.
    pub cpu: u16,
    /// Thread-group id.
    pub pid: u32,
    /// x86_64 syscall number.
    pub nr: u32,
    /// Raw arguments at enter.
    pub args: [u64; 6],
    /// The enter's own path blob (execve's filename), owned.
    pub path: Option<Vec<u8>>,
    /// Arrival order, for eviction.
    seq: u64,
}

impl PendingEnter {
    /// A pending enter (the sequence number is set on insertion).
    pub fn new(
        ts: u64,
        cpu: u16,
        pid: u32,
        nr: u32,
        args: [u64; 6],
        path: Option<Vec<u8>>,
    ) -> Self {
        Self {
            ts,
            cpu,
            pid,
            nr,
            args,
            path,
            seq: 0,
        }
    }
}

/// tid → pending enter, bounded.
#[derive(Debug)]
pub struct PendingEnters {
    map: HashMap<u32, PendingEnter>,
    cap: usize,
    seq: u64,
}

impl PendingEnters {
    /// An empty map holding at most `cap` (≥ 1) entries.
    pub fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            cap: cap.max(1),
            seq: 0,
        }
    }

    /// Stores `p` for `tid`. Returns what had to make room: the previous entry of `tid`, and
    /// the oldest entry of another thread if the map was full.
    pub fn insert(
        &mut self,
        tid: u32,
        mut p: PendingEnter,
    ) -> (Option<PendingEnter>, Option<(u32, PendingEnter)>) {
        self.seq += 1;
        p.seq = self.seq;
        let previous = self.map.remove(&tid);
        let evicted = if self.map.len() >= self.cap {
            self.map
                .iter()
                .min_by_key(|(_, v)| v.seq)
                .map(|(k, _)| *k)
                .and_then(|k| self.map.remove(&k).map(|v| (k, v)))
        } else {
            None
        };
        self.map.insert(tid, p);
        (previous, evicted)
    }

    /// Takes the entry of `tid`.
    pub fn take(&mut self, tid: u32) -> Option<PendingEnter> {
        self.map.remove(&tid)
    }

    /// Takes an entry of syscall `nr` of another thread of process `pid` (a non-leader thread
    /// that called execve comes back from it with the leader's tid).
    pub fn take_for_process(&mut self, pid: u32, nr: u32) -> Option<(u32, PendingEnter)> {
        let tid = self
            .map
            .iter()
            .filter(|(_, v)| v.pid == pid && v.nr == nr)
            .max_by_key(|(_, v)| v.seq)
            .map(|(k, _)| *k)?;
        self.map.remove(&tid).map(|v| (tid, v))
    }

    /// Removes and returns everything, oldest first.
    pub fn drain(&mut self) -> Vec<(u32, PendingEnter)> {
        let mut all: Vec<_> = self.map.drain().collect();
        all.sort_by_key(|(_, v)| v.seq);
        all
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// What the capture knows about a process from its last exec, clone or the process list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcSnapshot {
    /// `comm`.
    pub comm: Vec<u8>,
    /// argv\[0\].
    pub exe: Vec<u8>,
    /// argv\[1..\], each NUL-terminated.
    pub args: Vec<u8>,
    /// Parent process id (host).
    pub ptid: u64,
    /// Effective uid and gid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// RLIMIT_NOFILE.
    pub fdlimit: u64,
    /// pid inside the pid namespace.
    pub vpid: i64,
    /// Process group inside the pid namespace.
    pub vpgid: i64,
    /// Login uid, −1 when unset.
    pub loginuid: i32,
    /// In a child pid namespace.
    pub in_pidns: bool,
    /// libs' `PPM_EXE_*` flags of the executable (the execve exit's `flags`).
    pub exe_flags: u32,
}

/// pid → snapshot, bounded.
#[derive(Debug)]
pub struct Processes {
    map: HashMap<u32, (u64, ProcSnapshot)>,
    cap: usize,
    seq: u64,
    /// Snapshots evicted because the map was full.
    pub evicted: u64,
}

impl Processes {
    /// An empty map holding at most `cap` (≥ 1) processes.
    pub fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            cap: cap.max(1),
            seq: 0,
            evicted: 0,
        }
    }

    /// Stores the snapshot of `pid`, evicting the least recently stored one if full.
    pub fn insert(&mut self, pid: u32, snap: ProcSnapshot) {
        self.seq += 1;
        if !self.map.contains_key(&pid) && self.map.len() >= self.cap {
            if let Some(k) = self
                .map
                .iter()
                .min_by_key(|(_, (s, _))| *s)
                .map(|(k, _)| *k)
            {
                self.map.remove(&k);
                self.evicted += 1;
            }
        }
        self.map.insert(pid, (self.seq, snap));
    }

    /// The snapshot of `pid`.
    pub fn get(&self, pid: u32) -> Option<&ProcSnapshot> {
        self.map.get(&pid).map(|(_, s)| s)
    }

    /// Forgets `pid` (its last thread exited).
    pub fn remove(&mut self, pid: u32) {
        self.map.remove(&pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(nr: u32, pid: u32) -> PendingEnter {
        PendingEnter::new(1, 0, pid, nr, [0; 6], None)
    }

    #[test]
    fn pending_is_bounded_and_evicts_the_oldest() {
        let mut m = PendingEnters::new(2);
        assert_eq!(m.insert(10, p(1, 10)), (None, None));
        assert_eq!(m.insert(11, p(2, 10)), (None, None));
        let (prev, evicted) = m.insert(12, p(3, 12));
        assert_eq!(prev, None);
        assert_eq!(evicted.map(|(t, e)| (t, e.nr)), Some((10, 1)));
        let (prev, evicted) = m.insert(12, p(4, 12));
        assert_eq!(prev.map(|e| e.nr), Some(3));
        assert!(evicted.is_none());
        assert_eq!(m.len(), 2);
        assert_eq!(m.take_for_process(10, 2).map(|(t, _)| t), Some(11));
        assert_eq!(m.take(12).map(|e| e.nr), Some(4));
        assert!(m.is_empty());
    }

    #[test]
    fn processes_are_bounded() {
        let mut m = Processes::new(2);
        m.insert(1, ProcSnapshot::default());
        m.insert(2, ProcSnapshot::default());
        m.insert(1, ProcSnapshot::default());
        m.insert(3, ProcSnapshot::default());
        assert_eq!(m.evicted, 1);
        assert!(m.get(2).is_none() && m.get(1).is_some() && m.get(3).is_some());
        m.remove(3);
        assert!(m.get(3).is_none());
    }
}
