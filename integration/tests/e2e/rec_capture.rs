//! The flight recorder through a real containerd: a container does known
//! things, and its capture, read by Debian's `sysdig -r` (the external
//! oracle), shows each of them with the right process, paths, fds, tuple
//! and return value; and our own reader agrees with sysdig on every event
//! (`blackbox_scap::oracle::check_agreement`).

use std::{
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{bail, ensure, Context, Result};
use blackbox_integration::archive::{blackbox_cli, sealed_archive};
use blackbox_integration::{cmd::wait_for, Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("rec", "known_actions_in_sysdig", known_actions).blackbox_only(),
        Case::new("rec", "losses_are_counted", losses_are_counted).blackbox_only(),
        Case::new("rec", "killed_shim_is_recovered", killed_shim_is_recovered).blackbox_only(),
    ]
}

/// One event as sysdig prints it with [`FIELDS`]. Processes are told apart
/// by `proc.exe` (their argv[0]): busybox's shell runs applets through
/// /proc/self/exe, so their `proc.name` (comm) is `exe`, as the kernel says.
#[derive(Debug)]
struct Ev {
    num: u64,
    ty: String,
    dir: String,
    proc_name: String,
    exepath: String,
    fd_name: String,
    res: String,
    container: String,
    args: String,
}

// `*`: print every event, also those lacking some of the fields.
const FIELDS: &str = "*%evt.num\t%evt.type\t%evt.dir\t%proc.exe\t%proc.exepath\t%fd.name\t%evt.rawres\t%container.id\t%evt.args";

fn sysdig(capture: &Path) -> Result<Vec<Ev>> {
    let out = Command::new("/usr/bin/sysdig")
        .arg("-r")
        .arg(capture)
        .arg("-p")
        .arg(FIELDS)
        .output()
        .context("running /usr/bin/sysdig (apt-get install sysdig)")?;
    ensure!(
        out.status.success(),
        "sysdig -r {} failed: {}",
        capture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut events = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(9, '\t').collect();
        let [num, ty, dir, proc_name, exepath, fd_name, res, container, args] = f.as_slice() else {
            bail!("unexpected sysdig line {line:?}");
        };
        events.push(Ev {
            num: num
                .parse()
                .with_context(|| format!("evt.num in {line:?}"))?,
            ty: (*ty).to_string(),
            dir: (*dir).to_string(),
            proc_name: (*proc_name).to_string(),
            exepath: (*exepath).to_string(),
            fd_name: (*fd_name).to_string(),
            res: (*res).to_string(),
            container: (*container).to_string(),
            args: (*args).to_string(),
        });
    }
    Ok(events)
}

fn find<'a>(events: &'a [Ev], what: &str, pred: impl Fn(&Ev) -> bool) -> Result<&'a Ev> {
    events.iter().find(|e| pred(e)).with_context(|| {
        let listing: Vec<String> = events
            .iter()
            .filter(|e| e.dir == "<")
            .map(|e| {
                format!(
                    "{} {} {} fd={} res={} {}",
                    e.num, e.proc_name, e.ty, e.fd_name, e.res, e.args
                )
            })
            .collect();
        format!(
            "no {what} in the capture; exit events:\n  {}",
            listing.join("\n  ")
        )
    })
}

fn known_actions(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("rec", rt)?;
    let ctr = ns.ctr();
    // A loopback server on the host; the container shares the host network.
    let listener = TcpListener::bind("127.0.0.1:0").context("bind a loopback listener")?;
    let port = listener.local_addr()?.port();
    let server = std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = Vec::new();
            let _ = conn.read_to_end(&mut buf);
            return buf;
        }
        Vec::new()
    });
    let script = format!(
        "cat /etc/passwd > /dev/null; echo hello > /tmp/a; mv /tmp/a /tmp/b; rm /tmp/b; \
         cp /bin/busybox /tmp/echo; /tmp/echo dropped-ran; \
         echo ping | nc 127.0.0.1 {port}; echo kept > /tmp/kept; ln -s /etc/shadow /tmp/shadow-link; \
         exit 5"
    );
    let out = ctr.run(
        rt,
        "actor",
        &["--rm", "--net-host"],
        &["sh", "-c", &script],
        None,
    )?;
    ensure!(
        out.code() == 5,
        "the container exited {}: {}",
        out.code(),
        out.stderr
    );
    let received = server
        .join()
        .map_err(|_| anyhow::anyhow!("server thread panicked"))?;
    ensure!(received == b"ping\n", "the server received {received:?}");

    // `ctr run --rm` returned after Delete, and Delete after the seal: the archive is there
    // and the working directory is gone.
    let layout = &env.containerd.layout;
    let archive = sealed_archive(&layout.blackbox_archives, "actor")?;
    ensure!(
        !layout.blackbox_work.join(&ns.name).join("actor").exists(),
        "the working directory outlived the seal"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        let dir = archive.parent().context("archive has no directory")?;
        ensure!(
            mode(&archive)? == 0o600,
            "archive mode {:o}",
            mode(&archive)?
        );
        ensure!(
            mode(dir)? == 0o700,
            "archive directory mode {:o}",
            mode(dir)?
        );
    }
    check_archive(&archive, layout, 5)?;
    let scratch = tempfile::tempdir().context("scratch dir")?;
    let capture = scratch.path().join("capture.scap");
    blackbox_cli(&[
        "export",
        &archive.to_string_lossy(),
        "--scap",
        &capture.to_string_lossy(),
    ])?;
    let events = sysdig(&capture)?;
    ensure!(!events.is_empty(), "sysdig printed no event");
    // Our reader and sysdig agree on every event and argument of the capture.
    let agreement =
        blackbox_scap::oracle::check_agreement(&capture).map_err(|e| anyhow::anyhow!(e))?;
    ensure!(
        agreement.events_compared == events.len() && agreement.params_compared > 100,
        "the oracle compared too little: {agreement:?} of {} events",
        events.len()
    );

    // The first recorded event is the container's init exec.
    let first = &events[0];
    ensure!(
        first.ty == "execve",
        "first event is {first:?}, not the init's execve"
    );
    let init_exec = find(&events, "the init's execve exit", |e| {
        e.ty == "execve" && e.dir == "<"
    })?;
    ensure!(
        init_exec.proc_name == "sh" && init_exec.res == "0",
        "{init_exec:?}"
    );
    let container = init_exec.container.clone();
    ensure!(
        container != "host" && container.len() == 12,
        "the init is not attributed to a container: {container:?}"
    );
    ensure!(
        events.iter().all(|e| e.container == container),
        "an event of another container or of the host is in the capture"
    );

    let open = find(&events, "cat's open of /etc/passwd", |e| {
        e.dir == "<"
            && e.ty.starts_with("open")
            && e.proc_name == "cat"
            && e.fd_name == "/etc/passwd"
    })?;
    let fd: i64 = open
        .res
        .parse()
        .with_context(|| format!("open result {:?}", open.res))?;
    ensure!(fd >= 0, "open of /etc/passwd returned {fd}");
    // busybox cat copies with sendfile (recorded as the generic event for now).
    find(&events, "cat's copy of /etc/passwd", |e| {
        e.dir == "<"
            && e.proc_name == "cat"
            && (e.ty == "sendfile" || (e.ty == "read" && e.fd_name == "/etc/passwd"))
    })?;
    find(&events, "the write to /tmp/a", |e| {
        e.dir == "<" && e.ty.starts_with("open") && e.proc_name == "sh" && e.fd_name == "/tmp/a"
    })?;
    // busybox's shell runs mv and rm in-process (NOFORK applets).
    let rename = find(&events, "mv's rename", |e| {
        e.dir == "<" && e.ty.starts_with("rename")
    })?;
    ensure!(
        rename.args.contains("/tmp/a") && rename.args.contains("/tmp/b") && rename.res == "0",
        "rename: {rename:?}"
    );
    let unlink = find(&events, "rm's unlink", |e| {
        e.dir == "<" && e.ty.starts_with("unlink")
    })?;
    ensure!(
        unlink.args.contains("/tmp/b") && unlink.res == "0",
        "unlink: {unlink:?}"
    );
    let dropped = find(&events, "the exec of the dropped binary", |e| {
        e.dir == "<" && e.ty == "execve" && e.exepath == "/tmp/echo"
    })?;
    ensure!(dropped.res == "0", "exec of /tmp/echo: {dropped:?}");
    find(&events, "the dropped binary's output", |e| {
        e.dir == "<" && e.ty == "write" && e.args.contains("dropped-ran")
    })?;
    let connect = find(&events, "nc's connect", |e| {
        e.dir == "<" && e.ty == "connect" && e.proc_name == "nc"
    })?;
    ensure!(
        connect.fd_name.ends_with(&format!("->127.0.0.1:{port}")) && connect.res == "0",
        "connect: {connect:?}"
    );
    find(&events, "nc's write of the payload", |e| {
        e.dir == "<"
            && (e.ty == "write" || e.ty == "sendto")
            && e.proc_name == "nc"
            && e.fd_name == connect.fd_name
    })?;
    find(&events, "the init's exit", |e| {
        e.ty == "procexit" && e.proc_name == "sh"
    })?;
    events_filters_agree_with_sysdig(&archive, &capture)?;
    Ok(())
}

/// `blackbox events` with Falco filters selects, on this real container's evidence, the same
/// events as `sysdig -r` with the same filter on the exported capture: in the same order from
/// the exported file, as the same set from the archive (which `events` reads in time order),
/// and with the same text for `-p` formats of state fields.
fn events_filters_agree_with_sysdig(archive: &Path, capture: &Path) -> Result<()> {
    let filters = [
        "evt.type in (open, openat, openat2) and evt.dir=<",
        "fd.name contains /etc",
        "proc.name=cat",
        "evt.type=execve and evt.dir=<",
        "fd.typechar=f and evt.is_io=true",
        "fd.l4proto=tcp",
        "fd.sport>0 and evt.type in (connect, write, sendto)",
        "evt.rawres<0",
        "proc.pname=sh and not evt.type in (mmap, brk)",
        "evt.dir=<",
    ];
    let format = "%evt.num %evt.type %evt.dir %proc.name %proc.pname %fd.num %fd.name %evt.rawres";
    let mut compared = 0;
    for filter in filters {
        let theirs = Command::new("/usr/bin/sysdig")
            .arg("-r")
            .arg(capture)
            .args(["-p", format, filter])
            .output()
            .context("running sysdig")?;
        ensure!(
            theirs.status.success(),
            "sysdig {filter:?}: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
        let from_file =
            blackbox_cli(&["events", &capture.to_string_lossy(), filter, "-p", format])?;
        let from_file = String::from_utf8_lossy(&from_file.stdout).into_owned();
        ensure!(
            from_file == theirs,
            "{filter:?} on the exported capture:\nblackbox:\n{from_file}\nsysdig:\n{theirs}"
        );
        let from_archive =
            blackbox_cli(&["events", &archive.to_string_lossy(), filter, "-p", format])?;
        let mut a: Vec<String> = String::from_utf8_lossy(&from_archive.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        let mut b: Vec<String> = theirs.lines().map(str::to_owned).collect();
        a.sort();
        b.sort();
        ensure!(a == b, "{filter:?} on the archive: {a:?}\nsysdig: {b:?}");
        compared += b.len();
    }
    ensure!(compared > 60, "too few events compared: {compared}");
    Ok(())
}

/// The archive verifies with the run's node key, says how the container exited, holds the
/// file it left behind and records a planted symlink as a symlink; one flipped byte fails
/// `verify` with status 1.
fn check_archive(
    archive: &Path,
    layout: &blackbox_integration::config::Layout,
    exit_code: i64,
) -> Result<()> {
    let a = archive.to_string_lossy();
    let public = format!("{}.pub", layout.blackbox_node_key.display());
    blackbox_cli(&["verify", &a, "--key", &public])?;
    let info = blackbox_cli(&["info", &a, "--json"])?;
    let info: serde_json::Value =
        serde_json::from_slice(&info.stdout).context("blackbox info --json")?;
    let text = info.to_string();
    ensure!(
        text.contains(&format!("\"code\":{exit_code}")),
        "exit code {exit_code} not in the metadata: {text}"
    );
    ensure!(text.contains("\"sealed\""), "not sealed normally: {text}");

    let rootfs = tempfile::tempdir().context("extract dir")?;
    blackbox_cli(&["extract", &a, "--rootfs", &rootfs.path().to_string_lossy()])?;
    let kept = std::fs::read(rootfs.path().join("tmp/kept")).context("extracted /tmp/kept")?;
    ensure!(kept == b"kept\n", "extracted /tmp/kept holds {kept:?}");
    let link = rootfs.path().join("tmp/shadow-link");
    let meta = std::fs::symlink_metadata(&link)
        .with_context(|| format!("extracted {}", link.display()))?;
    ensure!(
        meta.file_type().is_symlink(),
        "{} is not a symlink",
        link.display()
    );
    ensure!(
        std::fs::read_link(&link)? == Path::new("/etc/shadow"),
        "symlink target {:?}",
        std::fs::read_link(&link)?
    );

    // Tampering: one byte flipped in the middle of the file.
    let copy = rootfs.path().join("tampered.tar");
    let mut bytes = std::fs::read(archive)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&copy, &bytes)?;
    let bin = blackbox_integration::runtime::shim_dir().join("blackbox");
    let status = Command::new(&bin)
        .args(["verify", &copy.to_string_lossy(), "--key", &public])
        .output()?
        .status;
    ensure!(
        matches!(status.code(), Some(1 | 2)),
        "verify of a tampered archive: {status}"
    );
    Ok(())
}

/// A container that makes syscalls far faster than a tiny ring buffer can be
/// drained: it runs exactly as it would unrecorded, and the drop events in
/// its capture add up to the records the kernel side counted as lost.
fn losses_are_counted(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("flood", rt)?;
    let ctr = ns.ctr();
    let count = 300_000;
    let script = format!("dd if=/dev/zero of=/dev/null bs=1 count={count}");
    let out = ctr.run(
        rt,
        "flood",
        &[
            "--rm",
            "--annotation",
            "blackbox.io/ring-buffer-bytes=16384",
        ],
        &["sh", "-c", &script],
        None,
    )?;
    ensure!(out.code() == 0, "dd exited {}: {}", out.code(), out.stderr);
    ensure!(
        out.stderr.contains(&format!("{count}+0 records out")),
        "dd's result changed: {}",
        out.stderr
    );

    // What the kernel side counted, from the shim's closing log line.
    let log = &env.containerd.layout.log;
    let mut line = String::new();
    wait_for(
        "the capture's closing log line",
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            Ok(text
                .lines()
                .find(|l| {
                    l.contains("capture closed")
                        && l.contains(&format!("namespace={}", ns.name))
                        && l.contains("container=flood")
                })
                .map(|l| line = l.to_string()))
        },
    )?;
    let counter = |name: &str| -> Result<u64> {
        let at = line
            .find(&format!("{name}: "))
            .with_context(|| format!("no {name} in {line}"))?;
        let digits: String = line[at + name.len() + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().with_context(|| format!("{name} in {line}"))
    };
    let lost = counter("ringbuf_full")? + counter("no_ring")? + counter("scratch_overflow")?;
    ensure!(
        lost > 0,
        "a 16 KiB ring lost nothing under {count} syscalls: {line}"
    );

    // What the capture says: the drop events' ratios (sysdig shows them with -D); and the
    // archive's metadata carries the same counters.
    let archive = sealed_archive(&env.containerd.layout.blackbox_archives, "flood")?;
    let info = blackbox_cli(&["info", &archive.to_string_lossy(), "--json"])?;
    let info: serde_json::Value =
        serde_json::from_slice(&info.stdout).context("blackbox info --json")?;
    let drops = info
        .pointer("/metadata/drops")
        .or_else(|| info.pointer("/drops"))
        .with_context(|| format!("no drop counters in {info}"))?;
    let meta_lost: u64 = ["ringbuf_full", "no_ring", "scratch_overflow"]
        .iter()
        .map(|k| drops[*k].as_u64().unwrap_or(0))
        .sum();
    ensure!(
        meta_lost == lost,
        "the archive's metadata counts {meta_lost} lost, the kernel {lost}: {drops}"
    );
    let scratch = tempfile::tempdir().context("scratch dir")?;
    let capture = scratch.path().join("capture.scap");
    blackbox_cli(&[
        "export",
        &archive.to_string_lossy(),
        "--scap",
        &capture.to_string_lossy(),
    ])?;
    let out = Command::new("/usr/bin/sysdig")
        .arg("-D")
        .arg("-r")
        .arg(&capture)
        .args(["-p", "%evt.dir %evt.arg.ratio", "evt.type=drop"])
        .output()
        .context("running /usr/bin/sysdig (apt-get install sysdig)")?;
    ensure!(
        out.status.success(),
        "sysdig failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut in_capture = 0u64;
    for l in text.lines().filter(|l| l.starts_with('>')) {
        let ratio = l.split_whitespace().nth(1).unwrap_or_default();
        in_capture += ratio
            .parse::<u64>()
            .with_context(|| format!("drop event ratio in {l:?}"))?;
    }
    ensure!(
        in_capture == lost,
        "the capture's drop events add up to {in_capture}, the kernel counted {lost} lost"
    );
    Ok(())
}

/// SIGKILL of the shim mid-run: its container's working directory is left unsealed; the
/// next shim that starts on the node seals it as `recovered`, with the events flushed
/// before the kill (at most a second is lost), and it verifies.
fn killed_shim_is_recovered(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("victim", rt)?;
    let ctr = ns.ctr();
    let layout = &env.containerd.layout;
    ctr.run_detached(
        rt,
        "victim",
        &[],
        &[
            "sh",
            "-c",
            "cat /etc/passwd > /dev/null; echo before-kill > /tmp/mark; \
             while true; do sleep 0.1; done",
        ],
    )?;
    // Two flush periods, so the cat and the write are durable.
    std::thread::sleep(Duration::from_millis(2500));
    let work = layout.blackbox_work.join(&ns.name).join("victim");
    ensure!(work.is_dir(), "no working directory {}", work.display());
    let shims: Vec<_> = blackbox_integration::host::shims_of(&layout.address)
        .into_iter()
        .filter(|p| p.flag("-namespace") == Some(ns.name.as_str()))
        .collect();
    ensure!(
        shims.len() == 1,
        "expected the victim's shim, found {shims:?}"
    );
    blackbox_integration::host::kill_pid(shims[0].pid);
    wait_for("the shim to die", Duration::from_secs(10), || {
        Ok((!blackbox_integration::host::alive(shims[0].pid)).then_some(()))
    })?;
    // containerd cleans the task up (`shim delete`); the evidence stays unsealed.
    let _ = ctr.delete_task("victim");
    ensure!(
        work.is_dir(),
        "the working directory vanished with the shim"
    );

    // Any new shim recovers it in the background.
    let other = env.namespace("next", rt)?;
    let out = other.ctr().run(rt, "next", &["--rm"], &["true"], None)?;
    ensure!(out.code() == 0, "the next container failed: {}", out.stderr);
    let mut archive = PathBuf::new();
    wait_for("the recovered archive", Duration::from_secs(20), || {
        Ok(sealed_archive(&layout.blackbox_archives, "victim")
            .ok()
            .map(|p| archive = p))
    })?;
    ensure!(
        !work.exists(),
        "the recovered working directory was not removed"
    );
    let a = archive.to_string_lossy();
    let public = format!("{}.pub", layout.blackbox_node_key.display());
    blackbox_cli(&["verify", &a, "--key", &public])?;
    let info = blackbox_cli(&["info", &a, "--json"])?;
    let text = String::from_utf8_lossy(&info.stdout);
    ensure!(
        text.contains("\"recovered\""),
        "not marked recovered: {text}"
    );
    let scratch = tempfile::tempdir().context("scratch dir")?;
    let capture = scratch.path().join("capture.scap");
    blackbox_cli(&["export", &a, "--scap", &capture.to_string_lossy()])?;
    let events = sysdig(&capture)?;
    find(&events, "cat's open of /etc/passwd before the kill", |e| {
        e.dir == "<" && e.ty.starts_with("open") && e.fd_name == "/etc/passwd"
    })?;
    find(&events, "the write of /tmp/mark before the kill", |e| {
        e.dir == "<" && e.ty.starts_with("open") && e.fd_name == "/tmp/mark"
    })?;
    let rootfs = tempfile::tempdir().context("extract dir")?;
    blackbox_cli(&["extract", &a, "--rootfs", &rootfs.path().to_string_lossy()])?;
    let mark = std::fs::read(rootfs.path().join("tmp/mark")).context("extracted /tmp/mark")?;
    ensure!(
        mark == b"before-kill\n",
        "extracted /tmp/mark holds {mark:?}"
    );
    Ok(())
}
