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
use blackbox_integration::{cmd::wait_for, Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("rec", "known_actions_in_sysdig", known_actions).blackbox_only(),
        Case::new("rec", "losses_are_counted", losses_are_counted).blackbox_only(),
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
         echo ping | nc 127.0.0.1 {port}; exit 5"
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

    let capture: PathBuf = env
        .containerd
        .layout
        .blackbox_work
        .join(&ns.name)
        .join("actor")
        .join("capture.scap");
    wait_for("the capture", Duration::from_secs(10), || {
        Ok(capture.exists().then_some(()))
    })?;
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
        let dir = capture.parent().context("capture has no directory")?;
        ensure!(
            mode(&capture)? == 0o600,
            "capture mode {:o}",
            mode(&capture)?
        );
        ensure!(
            mode(dir)? == 0o700,
            "capture directory mode {:o}",
            mode(dir)?
        );
    }
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

    // What the capture says: the drop events' ratios (sysdig shows them with -D).
    let capture = env
        .containerd
        .layout
        .blackbox_work
        .join(&ns.name)
        .join("flood")
        .join("capture.scap");
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
