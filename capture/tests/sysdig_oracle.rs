//! sysdig as the oracle: a synthetic container (runc init noise, exec of /bin/sh, openat, read,
//! write, rename, unlink, socket+connect, clone, setuid, a generic syscall, procexit) converted
//! by `CaptureWriter` reads back in `sysdig -r` field by field, and agrees with our own reader.

mod support;

use std::path::Path;

use blackbox_capture::CaptureOptions;
use blackbox_recorder::BootClock;
use blackbox_scap::oracle::{check_agreement, json_lines, require_sysdig, sysdig, sysdig_fields};
use blackbox_scap::{Compression, ScapReader};
use serde_json::Value;
use support::*;

const FIELDS: &str = "*%evt.num %evt.type %evt.dir %thread.tid %proc.pid %evt.rawtime \
    %proc.name %proc.exe %proc.exepath %proc.cmdline %proc.pname %user.uid %user.name \
    %fd.name %fd.num %container.id %container.name %container.image %container.type \
    %k8s.pod.name %k8s.ns.name %evt.args %evt.arg.res %evt.arg.data %evt.arg.tuple %evt.arg.name";

fn s<'a>(j: &'a Value, field: &str) -> &'a str {
    j[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {j}"))
}

fn u(j: &Value, field: &str) -> u64 {
    j[field]
        .as_u64()
        .or_else(|| j[field].as_str().and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| panic!("{field} missing or not a number in {j}"))
}

fn write(
    path: &Path,
    compression: Compression,
) -> (
    Scenario,
    BootClock,
    blackbox_capture::CaptureSummary,
    FakeInit,
) {
    let init = FakeInit::spawn();
    let sc = scenario(init.pid());
    let clock = BootClock::now();
    let opts = CaptureOptions {
        compression,
        ..CaptureOptions::default()
    };
    let summary = write_capture(path, &meta(sc.init), &sc.feed.records, &clock, opts);
    (sc, clock, summary, init)
}

#[test]
fn sysdig_reads_the_converted_container_field_by_field() {
    require_sysdig();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.scap");
    let (sc, _clock, summary, _init) = write(&path, Compression::Gzip(3));
    let (init, child) = (u64::from(sc.init), u64::from(sc.child));

    // Our reader: the container event first, then every converted event.
    let mut reader = ScapReader::open(&path).expect("our reader opens the capture");
    assert_eq!(
        reader.container_json().len(),
        1,
        "one leading container event"
    );
    let container: Value =
        serde_json::from_str(&reader.container_json()[0]).expect("container JSON");
    assert_eq!(container["container"]["id"], SHORT_ID);
    assert_eq!(container["container"]["name"], "web");
    let meta_pl = reader.metadata().processes.clone();
    let init_entry = meta_pl
        .iter()
        .find(|p| p.tid == init)
        .expect("init in the process list");
    assert_eq!(
        blackbox_scap::container::container_id_from_cgroups(&init_entry.cgroups).as_deref(),
        Some(SHORT_ID)
    );
    assert_eq!(
        init_entry.vpid, 1,
        "ids from the exec, not from /proc at create"
    );
    let ours: Vec<_> = reader
        .by_ref()
        .map(|r| r.expect("our reader decodes every event").event)
        .filter(|e| e.event_type != blackbox_scap::CONTAINER_JSON_2_E)
        .collect();

    let out = sysdig_fields(&path, FIELDS);
    assert_eq!(out.len(), ours.len(), "one sysdig line per event: {out:#?}");
    let expected = [
        ("execve", '>', init),
        ("execve", '<', init),
        ("openat", '>', init),
        ("openat", '<', init),
        ("read", '>', init),
        ("read", '<', init),
        ("write", '>', init),
        ("write", '<', init),
        ("rename", '>', init),
        ("rename", '<', init),
        ("unlink", '>', init),
        ("unlink", '<', init),
        ("socket", '>', init),
        ("socket", '<', init),
        ("connect", '>', init),
        ("connect", '<', init),
        ("clone", '>', init),
        ("clone", '<', child),
        ("clone", '<', init),
        ("setuid", '>', child),
        ("setuid", '<', child),
        ("getppid", '>', child),
        ("getppid", '<', child),
        ("exit_group", '>', child),
        ("procexit", '>', child),
        ("procexit", '>', init),
    ];
    assert_eq!(out.len(), expected.len());
    for (i, ((j, ev), (ty, dir, tid))) in out.iter().zip(&ours).zip(expected).enumerate() {
        let ctx = format!("event {i} ({ty} {dir}): {j}");
        assert_eq!(
            u(j, "evt.num"),
            i as u64 + 2,
            "{ctx}: numbered after the container event"
        );
        assert_eq!(s(j, "evt.type"), ty, "{ctx}");
        assert_eq!(s(j, "evt.dir"), dir.to_string(), "{ctx}");
        assert_eq!(u(j, "thread.tid"), tid, "{ctx}");
        assert_eq!(ev.tid, tid, "{ctx}: our reader");
        assert_eq!(u(j, "evt.rawtime"), ev.ts, "{ctx}");
        // Container attribution on every event: cgroups -> id, JSON -> name, image, k8s.
        assert_eq!(s(j, "container.id"), SHORT_ID, "{ctx}");
        assert_eq!(s(j, "container.name"), "web", "{ctx}");
        assert_eq!(
            s(j, "container.image"),
            "docker.io/library/busybox:1.36",
            "{ctx}"
        );
        assert_eq!(s(j, "container.type"), "containerd", "{ctx}");
        assert_eq!(s(j, "k8s.pod.name"), "web-0", "{ctx}");
        assert_eq!(s(j, "k8s.ns.name"), "shop", "{ctx}");
    }
    // Every event and argument as sysdig renders them, against our decoding of the same file.
    let a = check_agreement(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.events_compared, ours.len(), "{a:?}");
    assert!(a.params_compared >= 50, "{a:?}");

    let n = |i: usize| &out[i];
    // execve: the enter runs the pre-exec image; from the exit on it is sh.
    assert_eq!(s(n(0), "evt.args"), "filename=/bin/sh ");
    for i in 1..19 {
        assert_eq!(s(n(i), "proc.name"), "sh", "event {i}");
        assert_eq!(s(n(i), "proc.exe"), "/bin/sh", "event {i}");
        assert_eq!(
            s(n(i), "proc.exepath"),
            "/bin/sh",
            "event {i}: from the execve enter"
        );
        assert_eq!(
            s(n(i), "proc.cmdline"),
            "sh -c cat /etc/passwd; echo hello",
            "event {i}"
        );
        assert_eq!(u(n(i), "user.uid"), 0, "event {i}");
        assert_eq!(
            s(n(i), "user.name"),
            "root",
            "event {i}: from the user list"
        );
    }
    // openat exit: the new fd and its name; the read uses it.
    assert_eq!(s(n(3), "fd.name"), "/etc/passwd");
    assert_eq!(u(n(3), "fd.num"), 3);
    assert_eq!(s(n(3), "evt.arg.name"), "/etc/passwd");
    assert!(s(n(3), "evt.args").contains("flags=4097(O_RDONLY|O_CLOEXEC)"));
    assert_eq!(s(n(4), "fd.name"), "/etc/passwd", "read enter");
    assert_eq!(
        s(n(5), "fd.name"),
        "/etc/passwd",
        "read exit, fd from its enter"
    );
    assert_eq!(s(n(5), "evt.arg.res"), "80");
    let data: String = PASSWD[..80]
        .iter()
        .map(|&b| if b == b'\n' { '.' } else { b as char })
        .collect();
    assert_eq!(s(n(5), "evt.arg.data"), data);
    // write to fd 1: known from the fd list of the init (its stdout is /dev/null here).
    assert_eq!(u(n(7), "fd.num"), 1);
    assert_eq!(s(n(7), "fd.name"), "/dev/null");
    assert_eq!(s(n(7), "evt.arg.data"), "hello.");
    assert_eq!(s(n(9), "evt.args"), "res=0 oldpath=/tmp/a newpath=/tmp/b ");
    assert_eq!(s(n(11), "evt.args"), "res=0 path=/tmp/b ");
    assert_eq!(u(n(13), "fd.num"), 4, "socket exit");
    assert!(s(n(14), "evt.args").contains("addr=127.0.0.1:8080"));
    assert_eq!(s(n(15), "evt.arg.tuple"), "127.0.0.1:40000->127.0.0.1:8080");
    assert_eq!(s(n(15), "fd.name"), "127.0.0.1:40000->127.0.0.1:8080");
    // clone: the child is a new sh process whose parent is the init.
    assert_eq!(s(n(17), "proc.name"), "sh");
    assert_eq!(u(n(17), "proc.pid"), child);
    assert_eq!(s(n(17), "proc.pname"), "sh");
    assert!(s(n(18), "evt.args").starts_with(&format!("res={child}(sh)")));
    // setuid in the child: user.uid follows.
    assert_eq!(u(n(20), "user.uid"), 1000);
    assert_eq!(u(n(22), "user.uid"), 1000);
    assert_eq!(s(n(22), "proc.name"), "sh");
    assert!(s(n(25), "evt.args").starts_with("status=1792 ret=7 "));

    // The summary counts what was written and what was dropped.
    assert_eq!(
        summary.pre_exec_dropped, 11,
        "runc init's noise: 5 pairs and a thread exit"
    );
    assert_eq!(summary.records_seen, sc.feed.records.len() as u64);
    assert_eq!(summary.events_written, ours.len() as u64 + 1);
    assert_eq!(
        summary.count(0) + summary.count(1),
        3,
        "getppid enter+exit, exit_group enter: generic"
    );
    assert_eq!(summary.count(blackbox_scap::CONTAINER_JSON_2_E), 1);
    assert_eq!(summary.count(293), 1);
    assert_eq!(summary.conversion_failures, 0);
    assert_eq!(summary.unfinished_enters, 0);
    let names = summary.events_by_name();
    assert_eq!(names["openat<"], 1);
    assert_eq!(names["clone<"], 2);

    // The default output and plain JSON work too.
    let text = sysdig(&path, &[]);
    assert_eq!(text.lines().count(), ours.len());
    assert!(text.contains("openat fd=3(<f>/etc/passwd)"), "{text}");
    let j = json_lines(&sysdig(&path, &["-j"]));
    assert_eq!(j.len(), ours.len());
    assert_eq!(j[3]["evt.type"], "openat");
}

#[test]
fn plain_and_gzip_captures_read_the_same() {
    require_sysdig();
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = dir.path().join("c.scap.gz");
    let plain = dir.path().join("c.scap");
    let (_sc, _c, a, _i1) = write(&gz, Compression::Gzip(1));
    let (_sc, _c, b, _i2) = write(&plain, Compression::None);
    for path in [&gz, &plain] {
        let a = check_agreement(path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.events_compared, 26, "{}: {a:?}", path.display());
    }
    assert_eq!(a.events_by_type, b.events_by_type);
    let fields = "%evt.type %evt.dir %proc.name %fd.name %container.id";
    assert_eq!(
        sysdig(&gz, &["-p", fields]),
        sysdig(&plain, &["-p", fields])
    );
    let raw = std::fs::read(&plain).expect("read");
    assert_eq!(&raw[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "plain SCAP");
    let raw = std::fs::read(&gz).expect("read");
    assert_eq!(&raw[..2], &[0x1f, 0x8b], "gzip");
}
