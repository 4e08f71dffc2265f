//! sysdig as the oracle for our writer: a synthetic container capture (process list with a
//! containerd cgroup, container JSON, clone/execve, openat, read, write, socket/connect,
//! close, procexit) decodes in `sysdig -r FILE -j` exactly as written, field by field.

mod common;

use std::path::PathBuf;

use blackbox_scap::render::render_value;
use blackbox_scap::{oracle, Compression, ScapReader, ScapWriter};
use common::synthetic::{self, CAT, SHORT_ID};
use serde_json::Value;

const FIELDS: &str = "*%evt.num %evt.type %evt.dir %thread.tid %evt.rawtime %proc.name \
    %proc.pname %proc.exepath %proc.cmdline %proc.cwd %user.name %fd.name %container.id \
    %container.name %container.image %container.type %k8s.pod.name %k8s.ns.name %evt.args \
    %evt.arg.fd %evt.arg.name %evt.arg.res %evt.arg.data %evt.arg.tuple";

fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write capture");
    (dir, path)
}

fn sysdig_fields(bytes: &[u8]) -> Vec<Value> {
    let (_dir, path) = temp_file("synthetic.scap", bytes);
    oracle::sysdig_json(&path, &["-p", FIELDS])
}

fn s<'a>(j: &'a Value, field: &str) -> &'a str {
    j[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {j}"))
}

#[test]
fn sysdig_reads_our_capture_field_by_field() {
    let events = synthetic::events();
    let out = sysdig_fields(&synthetic::write(Compression::None, None));
    // The container event is consumed while opening: sysdig numbers from 2.
    assert_eq!(
        out.len(),
        events.len(),
        "one printed line per syscall event"
    );
    for (i, (ev, j)) in events.iter().zip(&out).enumerate() {
        let info = ev.info().expect("known type");
        let ctx = format!("event {i} ({} {})", info.name, info.dir_char());
        assert_eq!(j["evt.num"].as_u64(), Some(i as u64 + 2), "{ctx}: evt.num");
        assert_eq!(s(j, "evt.type"), info.name, "{ctx}");
        assert_eq!(s(j, "evt.dir"), info.dir_char().to_string(), "{ctx}");
        assert_eq!(j["thread.tid"].as_u64(), Some(CAT), "{ctx}");
        assert_eq!(j["evt.rawtime"].as_u64(), Some(ev.ts), "{ctx}");
        // Container attribution: cgroups -> id, JSON event -> name, image, k8s labels.
        assert_eq!(s(j, "container.id"), SHORT_ID, "{ctx}");
        assert_eq!(s(j, "container.name"), "nginx", "{ctx}");
        assert_eq!(
            s(j, "container.image"),
            "docker.io/library/nginx:1.21",
            "{ctx}"
        );
        assert_eq!(s(j, "container.type"), "containerd", "{ctx}");
        assert_eq!(s(j, "k8s.pod.name"), "web-0", "{ctx}");
        assert_eq!(s(j, "k8s.ns.name"), "shop", "{ctx}");
        assert_eq!(s(j, "user.name"), "root", "{ctx}: from the user list");
        assert_eq!(
            s(j, "proc.pname"),
            "sh",
            "{ctx}: parent from the process list"
        );
        assert_eq!(
            s(j, "proc.cwd"),
            "/app/",
            "{ctx}: cwd inherited from the process list"
        );
        // Every argument, as rendered by sysdig.
        let names: Vec<&str> = info.params.iter().map(|p| p.name).collect();
        let args = s(j, "evt.args");
        let values = oracle::split_info(args, &names)
            .unwrap_or_else(|| panic!("{ctx}: evt.args {args:?} lacks {names:?}"));
        for ((p, v), theirs) in info.params.iter().zip(&ev.params).zip(&values) {
            let ours = render_value(p, v);
            assert!(
                oracle::same_value(p.ty, theirs, &ours),
                "{ctx}: {}: sysdig {theirs:?}, ours {ours:?}",
                p.name
            );
        }
    }

    let by_num = |n: u64| {
        out.iter()
            .find(|j| j["evt.num"].as_u64() == Some(n))
            .unwrap_or_else(|| panic!("no event {n}"))
    };
    // clone child exit and execve enter run as sh; from the execve exit on it is cat.
    assert_eq!(s(by_num(2), "proc.name"), "sh");
    assert_eq!(s(by_num(4), "proc.name"), "cat");
    assert_eq!(
        s(by_num(4), "proc.exepath"),
        "/bin/cat",
        "from the execve enter"
    );
    assert_eq!(s(by_num(4), "proc.cmdline"), "cat /etc/passwd");
    // openat exit: the new fd and its name.
    let openat = by_num(6);
    assert_eq!(s(openat, "evt.type"), "openat");
    assert_eq!(s(openat, "fd.name"), "/etc/passwd");
    assert_eq!(s(openat, "evt.arg.fd"), "<f>/etc/passwd");
    assert_eq!(s(openat, "evt.arg.name"), "/etc/passwd");
    // read exit: result and data buffer.
    let read = by_num(8);
    assert_eq!(s(read, "evt.arg.res"), "32");
    assert_eq!(s(read, "evt.arg.data"), "root:x:0:0:root:/root:/bin/bash.");
    assert_eq!(s(read, "fd.name"), "/etc/passwd", "fd from the read enter");
    // write on fd 1, known only from the fd list of the parent.
    assert_eq!(s(by_num(9), "fd.name"), "/dev/pts/0");
    // connect exit: the IPv4 tuple becomes the fd name.
    let connect = by_num(14);
    assert_eq!(
        s(connect, "evt.arg.tuple"),
        "10.1.2.3:43210->93.184.216.34:80"
    );
    assert_eq!(s(connect, "fd.name"), "10.1.2.3:43210->93.184.216.34:80");
    assert_eq!(s(connect, "evt.arg.res"), "0");
    // close enter names the fd it closes; procexit ends the capture.
    assert_eq!(s(by_num(15), "evt.arg.fd"), "<f>/etc/passwd");
    assert_eq!(s(by_num(17), "evt.type"), "procexit");
}

/// The shared oracle's event-for-event check, on the plain and the multi-member gzip file.
#[test]
fn our_reader_and_sysdig_agree_on_our_capture() {
    let events = synthetic::events().len();
    for (name, bytes) in [
        ("synthetic.scap", synthetic::write(Compression::None, None)),
        (
            "synthetic.scap.gz",
            synthetic::write(Compression::Gzip(6), Some(3)),
        ),
    ] {
        let (_dir, path) = temp_file(name, &bytes);
        let a = oracle::check_agreement(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.events_compared, events,
            "{name}: every syscall event compared"
        );
        assert!(a.params_compared >= 2 * events, "{name}: {a:?}");
    }
}

#[test]
fn sysdig_reads_multi_member_gzip_like_plain() {
    let plain = sysdig_fields(&synthetic::write(Compression::None, None));
    let gz = synthetic::write(Compression::Gzip(6), Some(3));
    let members = gz.windows(3).filter(|w| w == &[0x1f, 0x8b, 0x08]).count();
    assert!(
        members >= 5,
        "expected one gzip member per flush, found {members}"
    );
    assert_eq!(sysdig_fields(&gz), plain);
    // And our reader gets the same events back from the gzip file.
    let back: Vec<_> = ScapReader::new(&gz[..])
        .expect("open gzip")
        .map(|r| r.expect("event").event)
        .collect();
    assert_eq!(back[1..], synthetic::events()[..]);
}

#[test]
fn sysdig_reads_concatenated_sections() {
    let mut w = ScapWriter::new(Vec::new(), Compression::Gzip(1));
    let events = synthetic::events();
    w.write_section(&synthetic::section()).expect("section");
    w.write_container(synthetic::T0, &synthetic::container())
        .expect("container");
    for ev in &events[..8] {
        w.write_event(ev).expect("event");
    }
    w.flush().expect("flush");
    // A second section (as after a segment rotation) must carry the process state as it is
    // now: sysdig rebuilds its thread table from each section's process list, so a thread
    // created by a clone event in the first section but missing from the second PL loses its
    // name and container from there on (measured: `<NA>` and `host`).
    let mut second = synthetic::section();
    let sh = second.processes[1].clone();
    second.processes.push(blackbox_scap::ProcessInfo {
        tid: CAT,
        pid: CAT,
        ptid: sh.tid,
        comm: "cat".into(),
        exe: "cat".into(),
        exepath: "/bin/cat".into(),
        args: vec!["/etc/passwd".into()],
        vtid: 2,
        vpid: 2,
        ..sh
    });
    second.fds[0].tid = CAT;
    w.write_section(&second).expect("second section");
    for ev in &events[8..] {
        w.write_event(ev).expect("event");
    }
    let bytes = w.finish().expect("finish");
    let out = sysdig_fields(&bytes);
    let types: Vec<&str> = out.iter().map(|j| s(j, "evt.type")).collect();
    let expected: Vec<&str> = events
        .iter()
        .map(|e| e.info().expect("known").name)
        .collect();
    assert_eq!(types, expected);
    for j in &out {
        assert_eq!(s(j, "container.id"), SHORT_ID, "{j}");
        assert_eq!(
            s(j, "proc.name"),
            if j["evt.num"].as_u64() < Some(4) {
                "sh"
            } else {
                "cat"
            }
        );
    }
    assert_eq!(
        s(&out[8], "fd.name"),
        "/dev/pts/0",
        "fd 1 from the second section's fd list"
    );
    let r = ScapReader::new(&bytes[..]).expect("open");
    let n = r.inspect(|e| assert!(e.is_ok(), "{e:?}")).count();
    assert_eq!(n, events.len() + 1);
}
