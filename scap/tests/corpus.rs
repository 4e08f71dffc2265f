//! The reader reads every real capture in the corpus, gzip and raw, without error, and
//! exposes their metadata.

mod common;

use blackbox_scap::{ScapReader, PPM_EVENT_MAX};

#[test]
fn every_corpus_sample_reads_without_error() {
    for path in common::samples() {
        let name = path.display().to_string();
        let mut r = ScapReader::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut n = 0u64;
        for ev in r.by_ref() {
            let ev = ev.unwrap_or_else(|e| panic!("{name}: {e}"));
            n += 1;
            assert_eq!(ev.num, n, "{name}: numbering");
            assert!(ev.event.event_type < PPM_EVENT_MAX);
            // Old drivers wrote fewer parameters for some events (open enter with none,
            // procexit with one); never more than the table is decoded.
            assert!(ev.event.params.len() <= ev.event.info().map_or(0, |i| i.params.len()));
        }
        assert!(n > 0, "{name}: no events");
        assert_eq!(r.skipped_events(), 0, "{name}");
    }
}

#[test]
fn modern_sample_metadata_is_exposed() {
    let raw =
        ScapReader::open(common::sample("psp_run_as_user_0_container.raw.scap")).expect("open raw");
    let gz = ScapReader::open(common::sample("falco_psp_run_as_user_0_container.scap"))
        .expect("open gzip");
    assert_eq!(raw.metadata(), gz.metadata());
    let m = raw.metadata();
    assert_eq!(m.version, (1, 2));
    assert_eq!(m.machine.as_ref().map(|m| m.num_cpus), Some(4));
    assert_eq!(
        m.machine.as_ref().map(|m| m.hostname.as_str()),
        Some("ubuntu")
    );
    assert_eq!(m.processes.len(), 124);
    assert_eq!(m.fds.len(), 124);
    // The spec's hand-decoded first PL entry.
    let init = &m.processes[0];
    assert_eq!((init.tid, init.pid, init.ptid), (1, 1, 0));
    assert_eq!(init.comm, "systemd");
    assert_eq!(init.exe, "/sbin/init");
    assert_eq!(init.exepath, "/lib/systemd/systemd");
    assert!(m.users.iter().any(|u| u.uid == 0 && u.name == "root"));
    assert!(m.groups.iter().any(|g| g.gid == 0 && g.name == "root"));
    assert!(m.interfaces.iter().any(|i| matches!(
        i,
        blackbox_scap::Interface::V4 { name, .. } if name == "lo"
    )));
    assert_eq!(raw.container_json().len(), 2);
    assert!(m.skipped_blocks.is_empty());
}
