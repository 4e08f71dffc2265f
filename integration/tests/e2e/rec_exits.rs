//! The archive is sealed whenever a container ends, whatever ended it (issue 4): a normal exit,
//! a signal the container sent itself, `ctr task kill`, the OOM killer, a stop after an exec
//! session, and a CRI pod stopped and removed under a running container. Each archive is read
//! back with the `blackbox` CLI only (`verify` with the run's node key, `info --json`,
//! `events`) and with `tar`, and its metadata is compared field by field with what happened.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, ensure, Context, Result};
use blackbox_integration::archive::{blackbox_cli, sealed_archive};
use blackbox_integration::cmd::wait_for;
use blackbox_integration::config::Layout;
use blackbox_integration::cri::{container_config, pod_config, Cri, TEST_ANNOTATION};
use blackbox_integration::ctr::Ctr;
use blackbox_integration::env::CRI_NAMESPACE;
use blackbox_integration::image::BUSYBOX_REF;
use blackbox_integration::{Env, Runtime};
use k8s_cri::v1 as cri;
use serde_json::{json, Value};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("rec", "exit_code_is_sealed", exit_code).blackbox_only(),
        Case::new("rec", "exit_143_is_not_a_signal", exit_143).blackbox_only(),
        Case::new("rec", "self_sigterm_is_sealed", self_sigterm).blackbox_only(),
        Case::new("rec", "task_kill_is_sealed", task_kill).blackbox_only(),
        Case::new("rec", "oom_kill_is_sealed", oom_kill).blackbox_only(),
        Case::new("rec", "exec_session_is_sealed", exec_session).blackbox_only(),
        Case::new("rec", "cri_pod_removal_is_sealed", cri_pod_removal).blackbox_only(),
    ]
}

/// The members of every archive, in order, `fs/…` contents left out (a normal seal: no
/// `capture.tail`).
const MEMBERS: &[&str] = &[
    "capture.scap",
    "execs.jsonl",
    "alerts.jsonl",
    "fsdiff.jsonl",
    "metadata.json",
    "manifest.json",
    "manifest.sig",
];

/// Counters every normally sealed archive carries in `drops`.
const CAPTURE_COUNTERS: &[&str] = &[
    "records",
    "ringbuf_full",
    "ringbuf_full_bytes",
    "no_ring",
    "str_truncated",
    "data_snapped",
    "read_failed",
    "scratch_overflow",
    "events_written",
    "pre_exec_dropped",
    "conversion_failures",
    "pending_evicted",
    "processes_evicted",
];

/// Nanoseconds since the epoch.
fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// Parses the one time form of the metadata, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (UTC, exactly 9
/// fractional digits), into nanoseconds since the epoch; anything else is an error.
fn parse_time(s: &str) -> Result<i128> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 30
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            29 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    ensure!(
        shape_ok,
        "{s:?} is not RFC 3339 UTC with 9 fractional digits"
    );
    let n = |r: std::ops::Range<usize>| -> Result<i64> {
        s.get(r)
            .context("time field")?
            .parse::<i64>()
            .with_context(|| format!("number in {s:?}"))
    };
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, sec, frac) = (n(11..13)?, n(14..16)?, n(17..19)?, n(20..29)?);
    ensure!(
        (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && sec < 61,
        "{s:?} is not a valid time"
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    Ok(i128::from(secs) * 1_000_000_000 + i128::from(frac))
}

/// `20240501T120000Z` of an RFC 3339 time, as archive names carry it.
fn compact_time(s: &str) -> Result<String> {
    parse_time(s)?;
    let p = |r: std::ops::Range<usize>| s.get(r).unwrap_or_default();
    Ok(format!(
        "{}{}{}T{}{}{}Z",
        p(0..4),
        p(5..7),
        p(8..10),
        p(11..13),
        p(14..16),
        p(17..19)
    ))
}

/// A metadata time field as nanoseconds.
fn time_of(meta: &Value, field: &str) -> Result<i128> {
    let s = meta[field]
        .as_str()
        .with_context(|| format!("metadata has no {field}: {meta}"))?;
    parse_time(s).with_context(|| format!("metadata {field}"))
}

/// A sealed archive as the CLI reads it.
struct Sealed {
    path: PathBuf,
    meta: Value,
}

impl Sealed {
    fn arg(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// One member's bytes, extracted by `tar` (the archive is a plain POSIX tar).
    fn member(&self, name: &str) -> Result<Vec<u8>> {
        let out = Command::new("tar")
            .arg("-xOf")
            .arg(&self.path)
            .arg(name)
            .output()
            .context("running tar")?;
        ensure!(
            out.status.success(),
            "tar -xOf {} {name}: {}",
            self.path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(out.stdout)
    }

    /// `blackbox events <archive> <filter> -p <format>`, one line per matching event.
    fn events(&self, filter: &str, format: &str) -> Result<Vec<String>> {
        let out = blackbox_cli(&["events", &self.arg(), filter, "-p", format])?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }
}

/// Reads the archive back: it verifies with the node key, `tar -tf` lists exactly the
/// expected members in order (the same `info` lists), `info --json` calls it intact,
/// `events` reads the capture, which opens with the container event and the init's execve.
fn open_sealed(layout: &Layout, path: PathBuf) -> Result<Sealed> {
    let a = path.to_string_lossy().into_owned();
    let public = format!("{}.pub", layout.blackbox_node_key.display());
    let verified = blackbox_cli(&["verify", &a, "--key", &public])?;
    ensure!(
        verified.status.code() == Some(0),
        "verify exited {}",
        verified.status
    );

    let listing = Command::new("tar")
        .arg("-tf")
        .arg(&path)
        .output()
        .context("running tar")?;
    ensure!(
        listing.status.success(),
        "tar -tf {a}: {}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let top: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !n.starts_with("fs/"))
        .collect();
    ensure!(top == MEMBERS, "tar -tf lists {names:?}");

    let info = blackbox_cli(&["info", &a, "--json"])?;
    let info: Value = serde_json::from_slice(&info.stdout).context("blackbox info --json")?;
    ensure!(
        info["intact"] == json!(true),
        "info does not call it intact: {info}"
    );
    ensure!(
        info["compression"] == "none" && info["path"] == a.as_str(),
        "info: {info}"
    );
    let listed: Vec<&str> = info["members"]
        .as_array()
        .context("info has no members")?
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    ensure!(
        listed == names,
        "info lists members {listed:?}, tar {names:?}"
    );
    let meta = info["metadata"].clone();
    let sealed = Sealed { path, meta };
    // info's metadata is the archive's metadata.json, field for field.
    let raw: Value =
        serde_json::from_slice(&sealed.member("metadata.json")?).context("metadata.json member")?;
    ensure!(
        raw == sealed.meta,
        "metadata.json {raw} differs from info's {}",
        sealed.meta
    );

    // The capture opens with the container's description, then the init's execve.
    let first = sealed.events("evt.num>0", "%evt.type %evt.dir")?;
    ensure!(
        first.get(..3)
            == Some(&[
                "container >".to_string(),
                "execve >".into(),
                "execve <".into()
            ]),
        "the capture does not start with the container and the init's execve: {:?}",
        first.iter().take(5).collect::<Vec<_>>()
    );
    Ok(sealed)
}

/// How the container was expected to end.
struct Expect<'a> {
    id: &'a str,
    containerd_namespace: &'a str,
    /// `metadata.exit`, exactly.
    exit: Value,
    oom_killed: bool,
    /// The test's clock before the container was created and after the archive was sealed.
    window: (i128, i128),
    /// At least this long between start and exit.
    min_runtime: Duration,
}

/// The fields every sealed archive shares, compared exactly.
fn check_metadata(meta: &Value, e: &Expect<'_>) -> Result<()> {
    ensure!(meta["format"] == json!(1), "format: {meta}");
    ensure!(meta["container_id"] == e.id, "container_id: {meta}");
    ensure!(
        meta["containerd_namespace"] == e.containerd_namespace,
        "containerd_namespace: {meta}"
    );
    ensure!(
        meta["exit"] == e.exit,
        "exit is {}, expected {}",
        meta["exit"],
        e.exit
    );
    ensure!(
        meta["oom_killed"] == json!(e.oom_killed),
        "oom_killed is {}, expected {}",
        meta["oom_killed"],
        e.oom_killed
    );
    ensure!(
        meta["seal"]["state"] == "sealed",
        "seal state: {}",
        meta["seal"]
    );
    ensure!(
        meta["seal"]["capture_trimmed_bytes"] == json!(0)
            && meta["seal"]["capture_bytes"].as_u64().unwrap_or(0) > 0
            && meta["seal"]["capture_segments"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
        "seal facts: {}",
        meta["seal"]
    );
    ensure!(
        meta["notes"] == json!([]),
        "notes on a normal seal: {}",
        meta["notes"]
    );
    ensure!(
        meta["blackbox_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "blackbox_version: {meta}"
    );
    let spec_sha = meta["oci_spec_sha256"].as_str().unwrap_or_default();
    ensure!(
        spec_sha.len() == 64
            && spec_sha
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
        "oci_spec_sha256: {spec_sha:?}"
    );
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    ensure!(meta["node_name"] == host.as_str(), "node_name: {meta}");

    // The counters are all there; a quiet container loses nothing and writes events.
    let drops = meta["drops"].as_object().context("no drops")?;
    for k in CAPTURE_COUNTERS {
        ensure!(
            drops.get(*k).is_some_and(Value::is_u64),
            "no {k} in {drops:?}"
        );
    }
    for k in ["ringbuf_full", "no_ring", "scratch_overflow"] {
        ensure!(drops[k] == json!(0), "{k} lost records: {drops:?}");
    }
    ensure!(
        drops["events_written"].as_u64().unwrap_or(0) > 0,
        "no event written: {drops:?}"
    );

    // created <= started < exited <= sealed, all within the test's own window.
    let created = time_of(meta, "created_at")?;
    let started = time_of(meta, "started_at")?;
    let exited = time_of(meta, "exited_at")?;
    let sealed = time_of(&meta["seal"], "sealed_at")?;
    let (from, to) = e.window;
    ensure!(
        from <= created
            && created <= started
            && started < exited
            && exited <= sealed
            && sealed <= to,
        "times out of order or outside the test ({from} .. {to}): created {created}, started \
         {started}, exited {exited}, sealed {sealed}"
    );
    let ran = exited - started;
    ensure!(
        ran >= i128::try_from(e.min_runtime.as_nanos()).unwrap_or(i128::MAX),
        "ran {ran} ns, expected at least {:?}",
        e.min_runtime
    );
    Ok(())
}

/// A ctr container's archive: `<archives>/_containerd.<ns>/_/_-<id>-<start>.tar` (no pod, no
/// container name), and its working directory is gone.
fn ctr_archive(env: &Env, ns: &str, id: &str) -> Result<Sealed> {
    let layout = &env.containerd.layout;
    let dir = layout
        .blackbox_archives
        .join(format!("_containerd.{ns}"))
        .join("_");
    let listing = std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut archives = Vec::new();
    for e in listing {
        let p = e?.path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("_-{id}-")))
        {
            archives.push(p);
        }
    }
    let [found] = archives.as_slice() else {
        bail!(
            "expected one archive of {id} in {}, found {archives:?}",
            dir.display()
        );
    };
    let found = found.clone();
    let sealed = open_sealed(layout, found.clone())?;
    let started = sealed.meta["started_at"]
        .as_str()
        .context("no started_at")?;
    let expected = dir.join(format!("_-{id}-{}.tar", compact_time(started)?));
    ensure!(
        found == expected,
        "archive at {}, expected {}",
        found.display(),
        expected.display()
    );
    let work = layout.blackbox_work.join(ns).join(id);
    ensure!(!work.exists(), "{} outlived the seal", work.display());
    for absent in ["container_name", "pod_name", "pod_namespace", "pod_uid"] {
        ensure!(
            sealed.meta.get(absent).is_none(),
            "a ctr container has {absent}: {}",
            sealed.meta
        );
    }
    Ok(sealed)
}

/// The digest containerd lists for the test image in `namespace` (`ctr images ls`'s DIGEST).
fn listed_image_digest(ctr: &Ctr<'_>) -> Result<String> {
    let out = ctr.ok(&["images", "ls", &format!("name=={BUSYBOX_REF}")])?;
    let digest = out
        .stdout
        .lines()
        .skip(1)
        .find_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.first() == Some(&BUSYBOX_REF)).then(|| cols.get(2).map(|d| (*d).to_string()))
        })
        .flatten()
        .with_context(|| format!("no {BUSYBOX_REF} in `ctr images ls`: {}", out.stdout))?;
    Ok(digest)
}

/// `image_digest` is a `sha256:` digest, the one containerd lists for the image.
fn check_image_digest(meta: &Value, ctr: &Ctr<'_>) -> Result<()> {
    let digest = meta["image_digest"].as_str().unwrap_or_default();
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    ensure!(
        hex.len() == 64 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
        "image_digest: {meta}"
    );
    let listed = listed_image_digest(ctr)?;
    ensure!(
        digest == listed,
        "image_digest {digest}, containerd lists {listed}"
    );
    Ok(())
}

/// Case 1: `exit 3`: code 3, no signal, not OOM-killed; the annotation given to ctr is the only one
/// (not a `blackbox.io/` one: the shim refuses to record under an annotation it does not know).
fn exit_code(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("exitcode", rt)?;
    let ctr = ns.ctr();
    let from = now_ns();
    let out = ctr.run(
        rt,
        "exitthree",
        &["--rm", "--annotation", "example.com/case=exit-3"],
        &["sh", "-c", "sleep 0.3; exit 3"],
        None,
    )?;
    ensure!(
        out.code() == 3,
        "ctr run exited {}: {}",
        out.code(),
        out.stderr
    );
    let sealed = ctr_archive(env, &ns.name, "exitthree")?;
    let meta = &sealed.meta;
    check_metadata(
        meta,
        &Expect {
            id: "exitthree",
            containerd_namespace: &ns.name,
            exit: json!({"code": 3}),
            oom_killed: false,
            window: (from, now_ns()),
            min_runtime: Duration::from_millis(300),
        },
    )?;
    ensure!(
        meta["annotations"] == json!({"example.com/case": "exit-3"}),
        "annotations: {}",
        meta["annotations"]
    );
    // The image and its digest are containerd's container metadata, not the spec's; they are
    // there even for a container that ran 0.3 s. The one label is ctr's own (the image's stop
    // signal, SIGTERM by default).
    ensure!(meta["image"] == BUSYBOX_REF, "image: {meta}");
    check_image_digest(meta, &ctr)?;
    ensure!(
        meta["labels"] == json!({"io.containerd.image.config.stop-signal": "SIGTERM"}),
        "labels: {}",
        meta["labels"]
    );
    ensure!(
        sealed.member("execs.jsonl")?.is_empty(),
        "execs.jsonl of a container without exec"
    );
    // The capture ends with the init's exit.
    let exits = sealed.events("evt.type=procexit", "%proc.name %evt.arg.status")?;
    ensure!(
        exits.last().is_some_and(|l| l.starts_with("sh ")),
        "procexit events: {exits:?}"
    );
    Ok(())
}

/// Case 2: The container's main process sends itself SIGTERM. A pid-namespace init ignores signals
/// it has no handler for, so the container joins another container's pid namespace (as in a
/// pod with `shareProcessNamespace`): its sh is not pid 1 and dies of the signal.
fn self_sigterm(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("selfterm", rt)?;
    let ctr = ns.ctr();
    ctr.run_detached(rt, "termholder", &[], &["sleep", "1000"])?;
    ctr.wait_status("termholder", "RUNNING", Duration::from_secs(10))?;
    let holder = ctr.task_pid("termholder")?;
    let pidns = format!("pid:/proc/{holder}/ns/pid");
    let from = now_ns();
    let out = ctr.run(
        rt,
        "selfterm",
        &["--rm", "--with-ns", &pidns],
        &["sh", "-c", "sleep 0.3; kill -TERM $$; sleep 5; exit 9"],
        None,
    )?;
    ensure!(
        out.code() == 143,
        "ctr run exited {}: {}",
        out.code(),
        out.stderr
    );
    let sealed = ctr_archive(env, &ns.name, "selfterm")?;
    check_metadata(
        &sealed.meta,
        &Expect {
            id: "selfterm",
            containerd_namespace: &ns.name,
            exit: json!({"code": 143, "signal": 15}),
            oom_killed: false,
            window: (from, now_ns()),
            min_runtime: Duration::from_millis(300),
        },
    )?;
    // The capture holds the kill the shell sent itself.
    let kills = sealed.events("evt.type=kill and evt.dir=<", "%proc.name %evt.rawres")?;
    ensure!(
        kills.iter().any(|k| k == "sh 0"),
        "no kill by sh in the capture: {kills:?}"
    );
    Ok(())
}

/// Case 3: `ctr task kill -s KILL` of a sleeping container, then the task's deletion: SIGKILL.
fn task_kill(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("taskkill", rt)?;
    let ctr = ns.ctr();
    let from = now_ns();
    // ctr 1.6 puts `--label`s both in containerd's container labels and in the spec's
    // annotations: the metadata's labels are containerd's.
    ctr.run_detached(
        rt,
        "killsleeper",
        &[
            "--label",
            "example.com/team=forensics",
            "--label",
            "tier=batch",
        ],
        &["sleep", "1000"],
    )?;
    ctr.wait_status("killsleeper", "RUNNING", Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_millis(500));
    ctr.ok(&["task", "kill", "-s", "KILL", "killsleeper"])?;
    ctr.wait_status("killsleeper", "STOPPED", Duration::from_secs(10))?;
    let status = ctr.delete_task("killsleeper")?;
    ensure!(status == 137, "exit status {status} after SIGKILL");
    let sealed = ctr_archive(env, &ns.name, "killsleeper")?;
    check_metadata(
        &sealed.meta,
        &Expect {
            id: "killsleeper",
            containerd_namespace: &ns.name,
            exit: json!({"code": 137, "signal": 9}),
            oom_killed: false,
            window: (from, now_ns()),
            min_runtime: Duration::from_millis(500),
        },
    )?;
    let meta = &sealed.meta;
    ensure!(
        meta["labels"]
            == json!({
                "example.com/team": "forensics",
                "io.containerd.image.config.stop-signal": "SIGTERM",
                "tier": "batch",
            }),
        "labels: {}",
        meta["labels"]
    );
    ensure!(meta["image"] == BUSYBOX_REF, "image: {meta}");
    check_image_digest(meta, &ctr)
}

/// Case 1b: `exit 143` is an exit code, not a SIGTERM, although containerd reports both as
/// 143: the recorded exit of the init process tells them apart.
fn exit_143(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("exit143", rt)?;
    let ctr = ns.ctr();
    let from = now_ns();
    let out = ctr.run(
        rt,
        "exits143",
        &["--rm"],
        &["sh", "-c", "sleep 0.2; exit 143"],
        None,
    )?;
    ensure!(
        out.code() == 143,
        "ctr run exited {}: {}",
        out.code(),
        out.stderr
    );
    let sealed = ctr_archive(env, &ns.name, "exits143")?;
    check_metadata(
        &sealed.meta,
        &Expect {
            id: "exits143",
            containerd_namespace: &ns.name,
            exit: json!({"code": 143}),
            oom_killed: false,
            window: (from, now_ns()),
            min_runtime: Duration::from_millis(200),
        },
    )
}

/// Case 4: The OOM killer in a 32 MiB container (as `ctr::oom_kill`): oom_killed, status 137.
fn oom_kill(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("oomseal", rt)?;
    let ctr = ns.ctr();
    let from = now_ns();
    crate::ctr_oom::run_hog(&ctr, rt, "oomhog")?;
    let sealed = ctr_archive(env, &ns.name, "oomhog")?;
    // The kernel picks the victim: usually `tail`, and the shell then exits 137 itself (no
    // signal); if it picks the shell, SIGKILL. The capture's procexit of the init (pid 1 of
    // the container) says which, and the metadata must agree with it.
    let init_exit = sealed.events(
        "evt.type=procexit and proc.vpid=1",
        "%evt.arg.ret %evt.arg.sig",
    )?;
    let exit = match init_exit.as_slice() {
        [line] if line.as_str() == "137 0" => json!({"code": 137}),
        [line] if line.as_str() == "0 9" => json!({"code": 137, "signal": 9}),
        _ => bail!("the init's procexit in the capture: {init_exit:?}"),
    };
    check_metadata(
        &sealed.meta,
        &Expect {
            id: "oomhog",
            containerd_namespace: &ns.name,
            exit,
            oom_killed: true,
            window: (from, now_ns()),
            min_runtime: Duration::ZERO,
        },
    )
}

/// Case 5: One exec session (`ctr task exec`) exiting 5 in a running container, then a SIGKILL and
/// the deletion: `execs.jsonl` holds that session once, complete, and its pid is the one the
/// capture shows running the exec'd shell.
fn exec_session(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("execseal", rt)?;
    let ctr = ns.ctr();
    let from = now_ns();
    ctr.run_detached(rt, "exechost", &[], &["sleep", "1000"])?;
    ctr.wait_status("exechost", "RUNNING", Duration::from_secs(10))?;
    let init_pid = ctr.task_pid("exechost")?;
    let before = now_ns();
    let out = ctr.exec(
        "exechost",
        "probe-1",
        &[],
        &["sh", "-c", "sleep 0.2; exit 5"],
    )?;
    let after = now_ns();
    ensure!(
        out.code() == 5,
        "the exec exited {}: {}",
        out.code(),
        out.stderr
    );
    ctr.ok(&["task", "kill", "-s", "SIGKILL", "exechost"])?;
    ctr.wait_status("exechost", "STOPPED", Duration::from_secs(10))?;
    let status = ctr.delete_task("exechost")?;
    ensure!(status == 137, "exit status {status} after SIGKILL");
    let sealed = ctr_archive(env, &ns.name, "exechost")?;
    check_metadata(
        &sealed.meta,
        &Expect {
            id: "exechost",
            containerd_namespace: &ns.name,
            exit: json!({"code": 137, "signal": 9}),
            oom_killed: false,
            window: (from, now_ns()),
            min_runtime: Duration::from_millis(200),
        },
    )?;

    let execs = sealed.member("execs.jsonl")?;
    let text = String::from_utf8_lossy(&execs);
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).with_context(|| format!("execs.jsonl line {l:?}")))
        .collect::<Result<_>>()?;
    // The session's complete record is checked first, the count of records last.
    let r = records.last().context("execs.jsonl is empty")?;
    let fields: Vec<&str> = r
        .as_object()
        .context("exec record")?
        .keys()
        .map(String::as_str)
        .collect();
    ensure!(
        fields
            == [
                "argv",
                "ended_at",
                "exec_id",
                "exit_code",
                "pids",
                "started_at",
                "tty"
            ],
        "exec record fields {fields:?}: {r}"
    );
    ensure!(r["exec_id"] == "probe-1", "exec_id: {r}");
    ensure!(
        r["argv"] == json!(["sh", "-c", "sleep 0.2; exit 5"]),
        "argv: {r}"
    );
    ensure!(r["tty"] == json!(false), "tty: {r}");
    ensure!(r["exit_code"] == json!(5), "exit_code: {r}");
    let started = time_of(r, "started_at")?;
    let ended = time_of(r, "ended_at")?;
    ensure!(
        before <= started && started <= ended && ended <= after,
        "exec times outside the exec ({before} .. {after}): started {started}, ended {ended}"
    );
    // The start is taken once runc has started the process: a little of the sleep is before it.
    ensure!(
        ended - started >= 150_000_000,
        "the exec lasted {} ns, it slept 0.2 s",
        ended - started
    );
    let pid = match r["pids"].as_array().map(Vec::as_slice) {
        Some([p]) => p.as_i64().context("pid")?,
        _ => bail!("pids: {r}"),
    };
    ensure!(
        pid > 0 && pid != i64::from(init_pid),
        "exec pid {pid} (init {init_pid})"
    );
    // The capture shows that pid exec'ing the session's shell (host pids, as sysdig's tid).
    let runs = sealed.events(
        &format!("evt.type=execve and evt.dir=< and thread.tid={pid}"),
        "%proc.name %evt.rawres",
    )?;
    ensure!(
        runs.first().map(String::as_str) == Some("sh 0"),
        "pid {pid}'s execve in the capture: {runs:?}"
    );
    ensure!(
        records.len() == 1,
        "execs.jsonl holds {} records for one exec session:\n{text}",
        records.len()
    );
    Ok(())
}

/// Stops and removes the pod on drop, even after a failure.
struct PodGuard {
    cri: Cri,
    id: String,
    removed: bool,
}

impl Drop for PodGuard {
    fn drop(&mut self) {
        if !self.removed {
            let id = self.id.clone();
            if let Err(e) = self.cri.stop_and_remove_pod(&id) {
                eprintln!("cleanup of pod {id}: {e:#}");
            }
        }
    }
}

/// Case 6: A pod whose container is still running is deleted as kubelet does it (StopPodSandbox,
/// RemovePodSandbox): the archive lands under `<archives>/<namespace>/<pod>/` and carries the
/// pod's and the container's identity.
fn cri_pod_removal(env: &Env, rt: Runtime) -> Result<()> {
    blackbox_integration::runtime::require(rt)?;
    let layout = &env.containerd.layout;
    // A pod name with a character that archive names replace (`:`), in a namespace of its own.
    let mut config = pod_config(env, "exits-web", rt);
    let pod_ns = "bb-exits";
    let pod_name = format!("exits-web.{}:v1", env.token.to_lowercase());
    let uid = config
        .metadata
        .as_ref()
        .map(|m| m.uid.clone())
        .unwrap_or_default();
    if let Some(m) = config.metadata.as_mut() {
        m.name.clone_from(&pod_name);
        m.namespace = pod_ns.to_string();
    }
    config
        .labels
        .insert("io.kubernetes.pod.name".into(), pod_name.clone());
    config
        .labels
        .insert("io.kubernetes.pod.namespace".into(), pod_ns.into());
    // The harness's `blackbox.io/test` pod annotation is not one the shim knows: with it the
    // pod would run unrecorded.
    config.annotations.remove(TEST_ANNOTATION);
    let mut cri = Cri::connect(&layout.address)?;
    let from = now_ns();
    let pod_id = cri.run_pod(&config, rt)?;
    let mut pod = PodGuard {
        cri,
        id: pod_id.clone(),
        removed: false,
    };
    let mut container = container_config("recorder-app", &["sh", "-c", "sleep 1000 & wait"]);
    let labels = [
        ("app", "blackbox-e2e"),
        ("tier", "web"),
        ("example.com/owner", "team a"),
    ];
    for (k, v) in labels {
        container.labels.insert(k.into(), v.into());
    }
    let id = pod.cri.create_and_start(&pod_id, &config, container)?;
    let s = pod.cri.container_status(&id)?;
    ensure!(
        s.state == cri::ContainerState::ContainerRunning as i32,
        "container state {}",
        s.state
    );
    std::thread::sleep(Duration::from_millis(500));
    pod.removed = true;
    pod.cri.stop_and_remove_pod(&pod_id)?;

    let short: String = id.chars().take(12).collect();
    let mut found = PathBuf::new();
    wait_for("the container's archive", Duration::from_secs(20), || {
        Ok(sealed_archive(&layout.blackbox_archives, &short)
            .ok()
            .map(|p| found = p))
    })
    .with_context(|| {
        format!(
            "archives: {:?}",
            blackbox_integration::host::files_under(&layout.blackbox_archives)
        )
    })?;
    let sealed = open_sealed(layout, found.clone())?;
    let meta = &sealed.meta;
    let started = meta["started_at"].as_str().context("no started_at")?;
    let pod_dir = layout
        .blackbox_archives
        .join(pod_ns)
        .join(format!("exits-web.{}_v1", env.token.to_lowercase()));
    let expected = pod_dir.join(format!(
        "recorder-app-{short}-{}.tar",
        compact_time(started)?
    ));
    ensure!(
        found == expected,
        "archive at {}, expected {}",
        found.display(),
        expected.display()
    );
    check_metadata(
        meta,
        &Expect {
            id: &id,
            containerd_namespace: CRI_NAMESPACE,
            // StopPodSandbox stops its containers without a grace period.
            exit: json!({"code": 137, "signal": 9}),
            oom_killed: false,
            window: (from, now_ns()),
            min_runtime: Duration::from_millis(500),
        },
    )?;
    ensure!(
        meta["container_name"] == "recorder-app",
        "container_name: {meta}"
    );
    ensure!(meta["pod_name"] == pod_name.as_str(), "pod_name: {meta}");
    ensure!(meta["pod_namespace"] == pod_ns, "pod_namespace: {meta}");
    ensure!(meta["pod_uid"] == uid.as_str(), "pod_uid: {meta}");
    ensure!(meta["image"] == BUSYBOX_REF, "image: {meta}");
    check_image_digest(
        meta,
        &Ctr::admin(&env.containerd).in_namespace(CRI_NAMESPACE),
    )?;
    ensure!(
        meta["annotations"]["io.kubernetes.cri.sandbox-id"] == pod_id.as_str(),
        "annotations: {}",
        meta["annotations"]
    );
    // Only this container's archive is in the pod's directory, besides the sandbox's.
    let short_pod: String = pod_id.chars().take(12).collect();
    let others: Vec<PathBuf> = std::fs::read_dir(&pod_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| *p != expected)
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&short_pod))
        })
        .collect();
    ensure!(
        others.is_empty(),
        "other archives in the pod's directory: {others:?}"
    );
    // The container's labels as CRI gave them (kubelet's and the pod spec's).
    let got: BTreeMap<String, String> =
        serde_json::from_value(meta["labels"].clone()).context("labels")?;
    let mut missing = Vec::new();
    for (k, v) in labels
        .iter()
        .copied()
        .chain([("io.kubernetes.container.name", "recorder-app")])
    {
        if got.get(k).map(String::as_str) != Some(v) {
            missing.push(format!("{k}={v}"));
        }
    }
    ensure!(
        missing.is_empty(),
        "the container's labels {missing:?} are not in the metadata's labels {got:?}"
    );
    Ok(())
}
