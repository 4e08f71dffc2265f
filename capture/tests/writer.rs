//! CaptureWriter behaviour: runc init's pre-exec records are dropped, losses become drop
//! events, flushed data survives a crash, unknown syscalls become generic events, enters
//! without exits are not lost, state is bounded. Checked with our reader and with sysdig.

mod support;

use std::path::Path;

use blackbox_capture::synth::RecordBuilder;
use blackbox_capture::{CaptureOptions, CaptureWriter};
use blackbox_recorder::{decode::decode, BootClock, LossCounters};
use blackbox_scap::oracle::{
    check_agreement, json_lines, require_sysdig, sysdig, sysdig_fields, sysdig_status,
};
use blackbox_scap::{Compression, Event, ParamValue, ScapReader};
use support::*;

fn plain() -> CaptureOptions {
    CaptureOptions {
        compression: Compression::None,
        ..CaptureOptions::default()
    }
}

fn push_all(w: &mut CaptureWriter, records: &[Vec<u8>], clock: &BootClock) {
    for r in records {
        w.push(&decode(r).expect("decodes"), clock).expect("push");
    }
}

/// The shared oracle: our reader and `sysdig -r -j` agree on every event of `path`; returns
/// the number of events compared.
fn agrees(path: &Path) -> usize {
    let a = check_agreement(path).unwrap_or_else(|e| panic!("{e}"));
    a.events_compared
}

/// Every event our reader finds (container events excluded), and whether it ended cleanly.
fn read_events(path: &Path) -> (Vec<Event>, bool) {
    let mut events = Vec::new();
    let Ok(reader) = ScapReader::open(path) else {
        return (events, false);
    };
    for r in reader {
        match r {
            Ok(r) if r.event.event_type == blackbox_scap::CONTAINER_JSON_2_E => {}
            Ok(r) => events.push(r.event),
            Err(_) => return (events, false),
        }
    }
    (events, true)
}

fn exec_of(f: &mut Feed, pid: u32, tid_enter: u32, tid_exit: u32) {
    f.push(
        RecordBuilder::enter(59)
            .task(pid, tid_enter)
            .args([1, 2, 3, 0, 0, 0])
            .path(0, b"/usr/bin/app"),
    );
    f.push(
        RecordBuilder::exit(59, 0)
            .task(pid, tid_exit)
            .proc_info(&proc_info(1, "app", 1, 1000, 0))
            .argv(&["app", "--serve"]),
    );
}

#[test]
fn records_of_the_init_before_its_exec_are_dropped() {
    require_sysdig();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let clock = BootClock::now();
    let init = 4_190_001; // no such process: the init's entry comes from its exec
    let mut w = CaptureWriter::create_with(&path, &meta(init), None, plain()).expect("create");
    let mut f = Feed::new();
    runc_init_noise(&mut f, init);
    push_all(&mut w, &f.records, &clock);
    w.flush().expect("flush");
    assert_eq!(
        std::fs::metadata(&path).expect("stat").len(),
        0,
        "nothing to write before the exec"
    );
    assert_eq!(w.summary().pre_exec_dropped, 11);
    // The exec is called by a non-leader thread of runc init: it comes back as the leader.
    let mut f = Feed::new();
    f.ts += 1_000_000;
    exec_of(&mut f, init, init + 3, init);
    f.pair(init, init, 110, [0; 6], 1, |b| b);
    push_all(&mut w, &f.records, &clock);
    let summary = w.finish().expect("finish");
    assert_eq!(summary.pre_exec_dropped, 11);

    let (events, clean) = read_events(&path);
    assert!(clean);
    assert_eq!(agrees(&path), events.len());
    let types: Vec<(u16, u64)> = events.iter().map(|e| (e.event_type, e.tid)).collect();
    let init = u64::from(init);
    assert_eq!(types, vec![(292, init), (293, init), (0, init), (1, init)]);
    assert_eq!(
        events[0].param("filename"),
        Some(&ParamValue::Str(b"/usr/bin/app".to_vec()))
    );
    let meta = ScapReader::open(&path).expect("open").metadata().clone();
    let entry = meta
        .processes
        .iter()
        .find(|p| p.tid == init)
        .expect("init entry made from the exec");
    assert_eq!((entry.uid, entry.gid, entry.vpid), (1000, 1000, 1));

    let out = sysdig_fields(
        &path,
        "*%evt.type %evt.dir %proc.name %proc.exepath %user.uid %container.id",
    );
    let got: Vec<String> = out
        .iter()
        .map(|j| {
            format!(
                "{} {} {} {} {} {}",
                j["evt.type"],
                j["evt.dir"],
                j["proc.name"],
                j["proc.exepath"],
                j["user.uid"],
                j["container.id"]
            )
        })
        .collect();
    assert_eq!(
        got[1..],
        [
            format!(r#""execve" "<" "app" "/usr/bin/app" 1000 "{SHORT_ID}""#),
            format!(r#""getppid" ">" "app" "/usr/bin/app" 1000 "{SHORT_ID}""#),
            format!(r#""getppid" "<" "app" "/usr/bin/app" 1000 "{SHORT_ID}""#),
        ],
        "{out:#?}"
    );
}

#[test]
fn an_init_that_already_execd_is_recorded_from_the_start() {
    let init = FakeInit::spawn_execd();
    let pid = init.pid();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let mut f = Feed::new();
    f.pair(pid, pid, 110, [0; 6], 1, |b| b);
    let summary = write_capture(&path, &meta(pid), &f.records, &BootClock::now(), plain());
    assert!(summary.init_already_execd);
    assert_eq!(summary.pre_exec_dropped, 0);
    assert_eq!((summary.count(0), summary.count(1)), (1, 1));
    let pl = ScapReader::open(&path)
        .expect("open")
        .metadata()
        .processes
        .clone();
    let entry = pl
        .iter()
        .find(|p| p.tid == u64::from(pid))
        .expect("init from /proc");
    assert_eq!(entry.comm, "sleep");
    assert_eq!(entry.args, ["300"]);
}

#[test]
fn losses_become_drop_events() {
    require_sysdig();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let clock = BootClock::now();
    let init = 4_190_002;
    let mut w = CaptureWriter::create_with(&path, &meta(init), None, plain()).expect("create");
    let mut f = Feed::new();
    exec_of(&mut f, init, init, init);
    push_all(&mut w, &f.records, &clock);
    let now = clock.to_epoch_ns(f.next_ts());
    let first = LossCounters {
        records: 100,
        ringbuf_full: 5,
        ringbuf_full_bytes: 500,
        str_truncated: 2,
        data_snapped: 9,
        ..LossCounters::default()
    };
    w.note_losses(&first, now).expect("losses");
    let second = LossCounters {
        ringbuf_full: 12,
        no_ring: 3,
        ..first
    };
    w.note_losses(&second, now + 1).expect("losses");
    w.note_losses(&second, now + 2)
        .expect("no change, no event");
    let summary = w.finish().expect("finish");
    assert_eq!(summary.drop_events, 6);
    assert_eq!(summary.losses, second);
    assert_eq!(summary.count(blackbox_capture::DROP_E), 3);
    assert_eq!(summary.count(blackbox_capture::DROP_X), 3);

    let (events, _) = read_events(&path);
    let drops: Vec<(u16, u64)> = events
        .iter()
        .filter(|e| e.event_type == 148 || e.event_type == 149)
        .map(|e| (e.event_type, e.params[0].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(
        drops,
        vec![(148, 5), (149, 5), (148, 7), (149, 7), (148, 3), (149, 3)]
    );

    // The drop events are internal: the oracle compares everything else.
    let a = check_agreement(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.events_compared, events.len() - 6, "{a:?}");
    // sysdig hides internal events (drop is one) unless asked with -D/--debug.
    let hidden = sysdig_fields(&path, "*%evt.type %evt.dir %evt.args");
    assert!(
        hidden.iter().all(|j| j["evt.type"] != "drop"),
        "{hidden:#?}"
    );
    let out = json_lines(&sysdig(
        &path,
        &["-D", "-j", "-p", "*%evt.type %evt.dir %evt.args"],
    ));
    let got: Vec<String> = out
        .iter()
        .filter(|j| j["evt.type"] == "drop")
        .map(|j| {
            format!(
                "{} {}",
                j["evt.dir"].as_str().unwrap_or(""),
                j["evt.args"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "> ratio=5 ",
            "< ratio=5 ",
            "> ratio=7 ",
            "< ratio=7 ",
            "> ratio=3 ",
            "< ratio=3 "
        ],
        "{out:#?}"
    );
}

#[test]
fn flushed_events_survive_a_crash() {
    require_sysdig();
    for compression in [Compression::Gzip(3), Compression::None] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.scap");
        let clock = BootClock::now();
        let init = 4_190_003;
        let opts = CaptureOptions {
            compression,
            ..CaptureOptions::default()
        };
        let mut w = CaptureWriter::create_with(&path, &meta(init), None, opts).expect("create");
        let mut f = Feed::new();
        exec_of(&mut f, init, init, init);
        for i in 0..20 {
            f.pair(init, init, 1, [1, 0, 6, 0, 0, 0], 6, |b| {
                b.data(format!("line{i:02}").as_bytes())
            });
        }
        push_all(&mut w, &f.records, &clock);
        w.flush().expect("flush");
        let flushed_events = w.summary().events_written - 1; // minus the container event
        let flushed = std::fs::read(&path).expect("read");

        // More batches: one flushed, one not (the crash).
        let mut f2 = Feed::new();
        f2.ts = f.ts;
        for i in 0..200 {
            f2.pair(init, init, 1, [1, 0, 6, 0, 0, 0], 6, |b| {
                b.data(format!("more{i:03}").as_bytes())
            });
        }
        push_all(&mut w, &f2.records, &clock);
        w.flush().expect("flush");
        let two = std::fs::read(&path).expect("read");
        push_all(&mut w, &f2.records, &clock);
        drop(w); // the shim dies: no finish

        // Cut exactly at the first flush: a complete capture.
        let cut = dir.path().join("cut.scap");
        std::fs::write(&cut, &flushed).expect("write");
        let (events, clean) = read_events(&cut);
        assert!(clean, "{compression:?}: a flush boundary is a clean end");
        assert_eq!(events.len() as u64, flushed_events, "{compression:?}");
        let out = sysdig(&cut, &["-p", "*%evt.type %evt.arg.data"]);
        assert_eq!(
            out.lines().count() as u64,
            flushed_events,
            "{compression:?}"
        );
        assert_eq!(out.lines().last(), Some("write line19"), "{compression:?}");

        // Cut inside the second batch: everything flushed before is still read.
        // +3: not on a block boundary (the blocks here all have the same size).
        let mid = flushed.len() + (two.len() - flushed.len()) / 2 + 3;
        std::fs::write(&cut, &two[..mid]).expect("write");
        let (events, clean) = read_events(&cut);
        assert!(!clean, "{compression:?}: damage is reported");
        assert!(events.len() as u64 >= flushed_events, "{compression:?}");
        // sysdig may exit non-zero on the torn tail; what it printed before counts.
        let out = sysdig_status(&cut, &["-p", "*%evt.type %evt.arg.data"])
            .unwrap_or_else(|e| panic!("{e}"))
            .stdout;
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.len() as u64 >= flushed_events,
            "{compression:?}: {out}"
        );
        assert_eq!(
            lines[flushed_events as usize - 1],
            "write line19",
            "{compression:?}"
        );

        // The whole second flush is complete too.
        std::fs::write(&cut, &two).expect("write");
        let (events, clean) = read_events(&cut);
        assert!(clean);
        assert_eq!(events.len() as u64, flushed_events + 400, "{compression:?}");
    }
}

#[test]
fn unknown_syscalls_become_generic_events_with_their_names() {
    require_sysdig();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let clock = BootClock::now();
    let init = 4_190_004;
    let mut f = Feed::new();
    exec_of(&mut f, init, init, init);
    f.pair(init, init, 110, [0; 6], 1, |b| b); // getppid
    f.pair(init, init, 157, [15, 0, 0, 0, 0, 0], 0, |b| b); // prctl(PR_SET_NAME)
    f.pair(init, init, 313, [3, 0, 0, 0, 0, 0], -1, |b| b); // finit_module
    f.pair(init, init, 319, [0; 6], 3, |b| b); // memfd_create: newer than sysdig's table
    f.pair(init, init, 9999, [0; 6], -38, |b| b); // no such syscall
    let summary = write_capture(&path, &meta(init), &f.records, &clock, plain());
    assert_eq!(summary.count(0), 5);
    assert_eq!(summary.count(1), 5);
    assert_eq!(summary.conversion_failures, 0);

    let (events, _) = read_events(&path);
    assert_eq!(agrees(&path), events.len());
    let ids: Vec<(u16, u64)> = events
        .iter()
        .filter(|e| e.event_type == 0)
        .map(|e| {
            (
                e.params[0].as_u64().map_or(0, |v| v as u16),
                e.params[1].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(ids[0].1, 110);
    assert_eq!(blackbox_scap::syscall_name(ids[0].0), Some("getppid"));
    assert_eq!(ids[3], (0, 319), "memfd_create has no PPM_SC code here");
    assert_eq!(ids[4], (0, 9999));

    let out = sysdig(&path, &["-p", "%evt.type %evt.dir"]);
    let got: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(
        got[..6],
        [
            "getppid >",
            "getppid <",
            "prctl >",
            "prctl <",
            "finit_module >",
            "finit_module <"
        ],
        "{out}"
    );
    assert_eq!(got.len(), 10, "{out}");
}

#[test]
fn enters_without_exits_are_written_and_state_is_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let clock = BootClock::now();
    let init = 4_190_005;
    let opts = CaptureOptions {
        max_pending_enters: 2,
        ..plain()
    };
    let mut f = Feed::new();
    exec_of(&mut f, init, init, init);
    // Three threads block in openat/connect; the map holds two, so the oldest is evicted.
    for t in 1..=3 {
        f.push(
            RecordBuilder::enter(257)
                .task(init, init + t)
                .args([u64::MAX - 99, 0, 0, 0, 0, 0]),
        );
    }
    // Thread 2 gets its exit (with the path), thread 3 exits without one.
    f.push(
        RecordBuilder::exit(257, 5)
            .task(init, init + 2)
            .args([u64::MAX - 99, 0, 0, 0, 0, 0])
            .path(1, b"/data/x"),
    );
    f.exit_of(init, init + 3, 0, false);
    // An exit whose enter was never seen still gets an enter (synthesized from the exit).
    f.push(
        RecordBuilder::exit(257, 6)
            .task(init, init + 4)
            .args([u64::MAX - 99, 0, 0, 0, 0, 0])
            .path(1, b"/data/y"),
    );
    let summary = write_capture(&path, &meta(init), &f.records, &clock, opts);
    assert_eq!(summary.pending_evicted, 1);
    assert_eq!(
        summary.unfinished_enters, 2,
        "the evicted one and the one of the exited thread"
    );
    let (events, clean) = read_events(&path);
    assert!(clean);
    let opens: Vec<(u16, u64, Option<ParamValue>)> = events
        .iter()
        .filter(|e| e.event_type == 306 || e.event_type == 307)
        .map(|e| {
            (
                e.event_type,
                e.tid - u64::from(init),
                e.param("name").cloned(),
            )
        })
        .collect();
    assert_eq!(agrees(&path), events.len(), "the enters without a name too");
    let name = |s: &str| Some(ParamValue::Str(s.as_bytes().to_vec()));
    assert_eq!(
        opens,
        vec![
            (306, 1, Some(ParamValue::Empty)),
            (306, 2, name("/data/x")),
            (307, 2, name("/data/x")),
            (306, 3, Some(ParamValue::Empty)),
            (306, 4, name("/data/y")),
            (307, 4, name("/data/y")),
        ]
    );
}

#[test]
fn every_syscall_number_with_odd_values_converts_and_reads_back() {
    require_sysdig();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let init = 4_190_006;
    let mut f = Feed::new();
    exec_of(&mut f, init, init, init);
    let odd = [u64::MAX, 1 << 63, 0xffff_ffff, 0, 7, u64::MAX - 99];
    for nr in 0..470u32 {
        for (i, ret) in [-1i64, 0, i64::MAX].into_iter().enumerate() {
            let tid = init + 1 + (nr % 5);
            let mut args = odd;
            args.rotate_left(i);
            f.push(
                RecordBuilder::enter(nr)
                    .task(init, tid)
                    .args(args)
                    .path(0, b"\xff\xfe/odd"),
            );
            f.push(
                RecordBuilder::exit(nr, ret)
                    .task(init, tid)
                    .args(args)
                    .path(1, b"")
                    .data(&[0, 1, 2, 255])
                    .sockaddr_unix(b"/run/x.sock")
                    .tuple_v4(
                        std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0),
                        std::net::SocketAddrV4::new(std::net::Ipv4Addr::BROADCAST, 65535),
                    ),
            );
        }
    }
    f.exit_of(init, init, 9, true); // killed by SIGKILL
    let summary = write_capture(&path, &meta(init), &f.records, &BootClock::now(), plain());
    assert_eq!(summary.conversion_failures, 0, "{summary:#?}");
    let (events, clean) = read_events(&path);
    assert!(clean);
    assert!(events.len() >= 470 * 3 * 2, "{}", events.len());
    if let Some(keep) = std::env::var_os("BB_KEEP") {
        std::fs::copy(&path, keep).expect("keep");
    }
    let out = sysdig(&path, &["-p", "*%evt.num %evt.type %evt.args"]);
    assert_eq!(out.lines().count(), events.len(), "every event printed");
    // Every argument of every syscall, odd values included, reads the same in sysdig.
    let a = check_agreement(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.events_compared, events.len(), "{a:?}");
    // Most syscalls here are generic events (no arguments in sysdig).
    assert!(a.params_compared > 1000, "{a:?}");
    assert!(out
        .lines()
        .last()
        .is_some_and(|l| l.contains("procexit status=9 ret=0 sig=9")));
}

#[test]
fn execveat_is_written_so_that_sysdig_survives_fexecve() {
    require_sysdig();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let init = 4_190_007;
    let mut f = Feed::new();
    exec_of(&mut f, init, init, init);
    let pi = proc_info(1, "x", 1, 0, 0);
    // execveat(AT_FDCWD, "/usr/bin/x", 0): enter and exit.
    f.push(
        RecordBuilder::enter(322)
            .task(init, init)
            .args([u64::MAX - 99, 0, 0, 0, 0, 0])
            .path(1, b"/usr/bin/x"),
    );
    f.push(
        RecordBuilder::exit(322, 0)
            .task(init, init)
            .proc_info(&pi)
            .argv(&["x"]),
    );
    // fexecve: execveat(5, "", AT_EMPTY_PATH). sysdig 0.29.3 crashes on this enter + a
    // successful exit: exit only.
    f.push(
        RecordBuilder::enter(322)
            .task(init, init)
            .args([5, 0, 0, 0, 0x1000, 0])
            .path(1, b""),
    );
    f.push(
        RecordBuilder::exit(322, 0)
            .task(init, init)
            .proc_info(&pi)
            .argv(&["y"]),
    );
    let summary = write_capture(&path, &meta(init), &f.records, &BootClock::now(), plain());
    assert_eq!(summary.execveat_enters_omitted, 1);
    assert_eq!((summary.count(330), summary.count(331)), (1, 2));
    let out = sysdig(&path, &["-p", "%evt.type %evt.dir %proc.cmdline %evt.args"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[2].starts_with("execveat > app --serve dirfd=-100(AT_FDCWD) pathname=/usr/bin/x"),
        "{out}"
    );
    assert!(lines[3].starts_with("execveat < x res=0"), "{out}");
    assert!(lines[4].starts_with("execveat < x res=0 exe=y "), "{out}");
    assert_eq!(agrees(&path), lines.len());
}

/// The feed as the programs send it: the enter records of execve, execveat, exit and
/// exit_group only; every other syscall is recorded at its exit alone.
fn exit_only(records: &[Vec<u8>]) -> Vec<Vec<u8>> {
    use blackbox_recorder::{Direction, Record};
    const ENTER_RECORDED: [u32; 4] = [59, 322, 60, 231];
    records
        .iter()
        .filter(|bytes| match decode(bytes).expect("decodes") {
            Record::Syscall(s) => s.direction == Direction::Exit || ENTER_RECORDED.contains(&s.nr),
            Record::ProcExit(_) => true,
        })
        .cloned()
        .collect()
}

#[test]
fn exits_alone_give_the_events_of_enter_and_exit_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = BootClock::now();
    let init = FakeInit::spawn();
    let sc = scenario(init.pid());
    let both = dir.path().join("both.scap");
    let exits = dir.path().join("exits.scap");
    let a = write_capture(&both, &meta(sc.init), &sc.feed.records, &clock, plain());
    let exit_records = exit_only(&sc.feed.records);
    assert!(
        exit_records.len() < sc.feed.records.len(),
        "enters were dropped"
    );
    let b = write_capture(&exits, &meta(sc.init), &exit_records, &clock, plain());
    let (ea, ok_a) = read_events(&both);
    let (eb, ok_b) = read_events(&exits);
    assert!(ok_a && ok_b);
    assert!(ea.len() > 20, "{}", ea.len());
    // An enter event written from its exit has the exit's time and CPU and is written
    // when the exit arrives, so between threads the file order may differ (the parent's
    // clone enter after the child's clone exit); each thread's own events are the same,
    // with the same parameters, in the same order.
    let by_thread = |events: &[Event]| {
        let mut m: std::collections::BTreeMap<u64, Vec<(u16, Vec<ParamValue>)>> =
            Default::default();
        for e in events {
            m.entry(e.tid)
                .or_default()
                .push((e.event_type, e.params.clone()));
        }
        m
    };
    assert_eq!(ea.len(), eb.len());
    assert_eq!(
        by_thread(&ea),
        by_thread(&eb),
        "the same events per thread, enters included, in the same order"
    );
    assert_eq!(a.events_written, b.events_written);
    assert_eq!(a.unfinished_enters, b.unfinished_enters);
    // The enters written from exits carry their exit's time.
    let mut last_ts: std::collections::HashMap<u64, u64> = Default::default();
    for e in &eb {
        let prev = last_ts.insert(e.tid, e.ts);
        assert!(
            prev.is_none_or(|p| p <= e.ts),
            "time goes forward per thread"
        );
    }
}
