//! Live Falco rules through a real containerd: a container performs the busybox-reproducible
//! actions of falcosecurity/event-generator (`shared/spec/falco-event-generator-actions.md`);
//! each must fire its target rule live (in the archive's `alerts.jsonl`, the node alert log
//! and the webhook), and `blackbox scan` of the sealed archive must find the same rules. A
//! quiet container fires nothing.

use std::{
    collections::BTreeSet,
    path::Path,
    process::{Command, Output},
    time::Duration,
};

use anyhow::{ensure, Context, Result};
use blackbox_integration::archive::sealed_archive;
use blackbox_integration::config::{rules_file, RULES_FILES};
use blackbox_integration::{cmd::wait_for, Env, Runtime};

use crate::Case;

pub fn cases() -> Vec<Case> {
    vec![
        Case::new("rec", "event_generator_actions_alert", actions_alert).blackbox_only(),
        Case::new("rec", "quiet_container_is_quiet", quiet_container).blackbox_only(),
    ]
}

/// Scripts the actions need: named so that the kernel gives their shell that comm.
const SETUP: &str = "exec >/dev/null 2>&1; \
    /bin/cp /etc/passwd /etc/shadow; /bin/mkdir -p /root /home/u/.ssh /tmp/x /var/lib/rpm; \
    /bin/printf '#!/bin/sh\\n/bin/ls >/dev/null\\nexit 0\\n' > /tmp/mysqld; \
    /bin/printf '#!/bin/sh\\n/bin/sh -c \"ls >/dev/null\"\\nexit 0\\n' > /tmp/httpd; \
    /bin/chmod 755 /tmp/mysqld /tmp/httpd; \
    for n in kubectl apk scp pkexec sudoedit; do /bin/ln -s /bin/busybox /tmp/$n; done; ";

/// (target rule, the action as busybox reproduces it). Commands that must exec are run by
/// path or as applets, never as the last command of the script.
const ACTIONS: &[(&str, &str)] = &[
    (
        "Adding ssh keys to authorized_keys",
        "echo k > /home/u/.ssh/authorized_keys",
    ),
    (
        "Change namespace privileges via unshare",
        "/bin/unshare -m /bin/true",
    ),
    ("Change thread namespace", "/bin/nsenter -t 1 -n /bin/true"),
    ("Clear Log Activities", ": > /tmp/x/syslog"),
    ("Create files below dev", "/bin/touch /dev/foo"),
    (
        "Create Hardlink Over Sensitive Files",
        "/bin/ln /etc/shadow /root/sl",
    ),
    (
        "Create Symlink Over Sensitive Files",
        "/bin/ln -s /etc /tmp/etc_link",
    ),
    ("DB program spawned process", "/tmp/mysqld"),
    (
        "Decoding Payload in Container",
        "echo eA== | /bin/base64 -d",
    ),
    (
        "Delete or rename shell history",
        "/bin/touch /tmp/ash_history; /bin/rm /tmp/ash_history",
    ),
    (
        "Detect crypto miners using the Stratum protocol",
        "/bin/ls stratum+tcp://x",
    ),
    (
        "Directory traversal monitored file read",
        "echo /etc/../etc/../etc/shadow | /bin/xargs /bin/cat",
    ),
    (
        "Drop and execute new binary in container",
        "/bin/cp /bin/busybox /bin/newbin; /bin/newbin true",
    ),
    ("Execution from /dev/shm", "/bin/sh -c /dev/shm/x.sh"),
    (
        "Find AWS Credentials",
        "/bin/find /tmp -maxdepth 1 -iname .aws/credentials",
    ),
    (
        "Kubernetes Client Tool Launched in Container",
        "/tmp/kubectl",
    ),
    (
        "Launch Ingress Remote File Copy Tools in Container",
        "/bin/wget -V",
    ),
    ("Launch Package Management Process in Container", "/tmp/apk"),
    ("Launch Remote File Copy Tools in Container", "/tmp/scp"),
    ("Launch Suspicious Network Tool in Container", "/bin/nc -h"),
    ("Mkdir binary dirs", "/bin/mkdir /bin/x"),
    (
        "Modify binary dirs",
        "/bin/mv /bin/true /bin/true.x; /bin/true.x; /bin/mv /bin/true.x /bin/true",
    ),
    ("Modify Shell Configuration File", "/bin/touch /tmp/.bashrc"),
    (
        "Netcat Remote Code Execution in Container",
        "/bin/nc -e /bin/sh 127.0.0.1 22",
    ),
    (
        "Packet socket created in container",
        "/bin/arping -c 1 -w 1 -I lo 127.0.0.1",
    ),
    (
        "Polkit Local Privilege Escalation Vulnerability (CVE-2021-4034)",
        "/tmp/pkexec",
    ),
    (
        "Read environment variable from /proc files",
        "/bin/cat /proc/self/environ",
    ),
    ("Read sensitive file untrusted", "/bin/cat /etc/shadow"),
    (
        "Read ssh information",
        "/bin/touch /home/u/.ssh/k; /bin/cat /home/u/.ssh/k",
    ),
    (
        "Remove Bulk Data from Disk",
        "/bin/touch /tmp/s; /bin/shred -u /tmp/s",
    ),
    ("Run shell untrusted", "/tmp/httpd"),
    ("Schedule Cron Jobs", "/bin/crontab -l"),
    (
        "Search Private Keys or Passwords",
        "/bin/find /tmp -maxdepth 1 -iname id_rsa",
    ),
    (
        "Set Setuid or Setgid bit",
        "/bin/touch /tmp/f; /bin/chmod u+s /tmp/f",
    ),
    (
        "Sudo Potential Privilege Escalation",
        "/tmp/sudoedit -s 'ls\\'",
    ),
    ("Write below binary dir", "/bin/touch /bin/x2"),
    ("Write below etc", "/bin/touch /etc/x"),
    ("Write below monitored dir", "/bin/touch /lib/x"),
    ("Write below root", "/bin/touch /root/x"),
    ("Write below rpm database", "/bin/touch /var/lib/rpm/x"),
];

fn run_cli(args: &[&str]) -> Result<Output> {
    let bin = blackbox_integration::runtime::shim_dir().join("blackbox");
    Command::new(&bin)
        .args(args)
        .output()
        .with_context(|| format!("running {}", bin.display()))
}

/// The `rule` of every JSON alert line in `text`.
fn rules_in(text: &str) -> Result<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).with_context(|| format!("not a JSON alert: {l}"))?;
            v.get("rule")
                .and_then(|r| r.as_str())
                .map(str::to_string)
                .with_context(|| format!("no rule in {l}"))
        })
        .collect()
}

/// A member of a (plain tar) archive, empty if absent.
fn member(archive: &Path, name: &str) -> Result<String> {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(name)
        .output()
        .context("running tar")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `blackbox scan` of the archive with these upstream rules files: the rule names it reports.
fn scan(archive: &Path, rules: &[&str]) -> Result<(i32, Vec<String>)> {
    let a = archive.to_string_lossy();
    let files: Vec<String> = rules
        .iter()
        .map(|f| rules_file(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["scan", a.as_ref(), "--json", "--all-matches"];
    for f in &files {
        args.extend(["--rules", f.as_str()]);
    }
    let out = run_cli(&args)?;
    let code = out.status.code().unwrap_or(-1);
    ensure!(
        code == 0 || code == 1,
        "blackbox scan failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((code, rules_in(&String::from_utf8_lossy(&out.stdout))?))
}

fn actions_alert(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("falco", rt)?;
    let ctr = ns.ctr();
    let layout = &env.containerd.layout;
    let mut script = SETUP.to_string();
    for (_, action) in ACTIONS {
        script.push_str(action);
        script.push_str("; ");
    }
    script.push_str("exit 0");
    let out = ctr.run(rt, "eg-actor", &["--rm"], &["sh", "-c", &script], None)?;
    ensure!(
        out.code() == 0,
        "the container exited {}: {}",
        out.code(),
        out.stderr
    );
    let archive = sealed_archive(&layout.blackbox_archives, "eg-actor")?;
    let live = rules_in(&member(&archive, "alerts.jsonl")?)?;
    let live: BTreeSet<String> = live.into_iter().collect();
    let missing: Vec<&str> = ACTIONS
        .iter()
        .map(|(rule, _)| *rule)
        .filter(|rule| !live.contains(*rule))
        .collect();
    ensure!(
        missing.is_empty(),
        "{} of {} actions did not fire their rule live: {missing:#?}\nrules that fired: {live:#?}",
        missing.len(),
        ACTIONS.len()
    );

    // The same rules in the node alert log and at the webhook.
    let node_log = std::fs::read_to_string(&layout.blackbox_alert_log)
        .with_context(|| format!("reading {}", layout.blackbox_alert_log.display()))?;
    let logged: BTreeSet<String> = rules_in(&node_log)?.into_iter().collect();
    ensure!(
        live.is_subset(&logged),
        "not in the node alert log: {:?}",
        live.difference(&logged).collect::<Vec<_>>()
    );
    wait_for(
        "every alert at the webhook",
        Duration::from_secs(20),
        || {
            let got: BTreeSet<String> = rules_in(&env.containerd.webhook.bodies().join("\n"))?
                .into_iter()
                .collect();
            Ok(live.is_subset(&got).then_some(()))
        },
    )?;

    // Re-scanning the sealed evidence finds the same rules.
    let (code, scanned) = scan(&archive, &RULES_FILES)?;
    ensure!(code == 1, "blackbox scan found no alert");
    let scanned: BTreeSet<String> = scanned.into_iter().collect();
    ensure!(
        scanned == live,
        "blackbox scan and live evaluation disagree: only live {:?}, only scan {:?}",
        live.difference(&scanned).collect::<Vec<_>>(),
        scanned.difference(&live).collect::<Vec<_>>()
    );

    // Nothing was skipped, and the metadata counts the alerts.
    let meta: serde_json::Value =
        serde_json::from_str(&member(&archive, "metadata.json")?).context("metadata.json")?;
    let drops = &meta["drops"];
    ensure!(
        drops["rules_behind"] == 0,
        "events not evaluated: {}",
        drops["rules_behind"]
    );
    ensure!(
        drops["rules_events"].as_u64().unwrap_or(0) > 100,
        "evaluated {} events",
        drops["rules_events"]
    );
    Ok(())
}

fn quiet_container(env: &Env, rt: Runtime) -> Result<()> {
    let ns = env.namespace("quiet", rt)?;
    let ctr = ns.ctr();
    let layout = &env.containerd.layout;
    let out = ctr.run(
        rt,
        "quiet",
        &["--rm"],
        &["sh", "-c", "/bin/sleep 1; /bin/ls / > /dev/null; exit 0"],
        None,
    )?;
    ensure!(out.code() == 0, "the container exited {}", out.code());
    let archive = sealed_archive(&layout.blackbox_archives, "quiet")?;
    // The default rules are the stable file. (The sandbox file's "Launch Sensitive Mount
    // Container" fires on every container start: with libsinsp's semantics, which sysdig
    // confirms, `not container.mount.dest[/proc*] in ("<NA>","N/A")` is true when the
    // container has no such mount, the field having no value.)
    let stable = std::fs::read_to_string(rules_file(RULES_FILES[0]))?;
    let stable: BTreeSet<&str> = stable
        .lines()
        .filter_map(|l| l.strip_prefix("- rule: "))
        .map(str::trim)
        .collect();
    ensure!(
        stable.len() > 20,
        "the stable rules file lists {} rules",
        stable.len()
    );
    let live: Vec<String> = rules_in(&member(&archive, "alerts.jsonl")?)?
        .into_iter()
        .filter(|r| stable.contains(r.as_str()))
        .collect();
    ensure!(live.is_empty(), "a quiet container fired {live:?}");
    let (code, scanned) = scan(&archive, &RULES_FILES[..1])?;
    ensure!(
        code == 0 && scanned.is_empty(),
        "blackbox scan of a quiet container: exit {code}, {scanned:?}"
    );
    Ok(())
}
