//! The archive commands, run as the built binary against archives sealed from a synthetic
//! working directory with a real capture.

#[path = "../../scap/tests/common/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use blackbox_archive::{seal, ContainerIdentity, NodeKey, SealOptions, WorkDir};
use blackbox_scap::Compression;

type R = Result<(), Box<dyn std::error::Error>>;

fn blackbox(args: &[&str]) -> Result<Output, std::io::Error> {
    Command::new(env!("CARGO_BIN_EXE_blackbox"))
        .args(args)
        .output()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Sealed {
    dir: tempfile::TempDir,
    archive: PathBuf,
    pubkey: PathBuf,
}

fn sealed() -> Result<Sealed, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let keyp = dir.path().join("node.key");
    let key = NodeKey::generate_and_store(&keyp)?;
    let mut id = ContainerIdentity {
        id: synthetic::FULL_ID.into(),
        ..ContainerIdentity::default()
    };
    id.annotations
        .insert("io.kubernetes.pod.namespace".into(), "prod".into());
    id.annotations
        .insert("io.kubernetes.pod.name".into(), "web-1".into());
    id.annotations
        .insert("io.kubernetes.container.name".into(), "nginx".into());
    let wd = WorkDir::create(&dir.path().join("work"), &id)?;
    std::fs::write(
        wd.capture_path(),
        synthetic::write(Compression::Gzip(3), Some(4)),
    )?;
    let upper = dir.path().join("upper");
    std::fs::create_dir_all(upper.join("etc"))?;
    std::fs::write(upper.join("etc/evil.sh"), b"#!/bin/sh\nid\n")?;
    std::os::unix::fs::symlink("/etc/shadow", upper.join("etc/shadow-link"))?;
    let mut opts = SealOptions::new(dir.path().join("archives"));
    opts.upperdir = Some(upper);
    opts.min_free_bytes = 0;
    let a = seal(&wd, &key, &opts)?;
    Ok(Sealed {
        archive: a.path,
        pubkey: blackbox_archive::public_key_path(&keyp),
        dir,
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

#[test]
fn verify_exit_codes() -> R {
    let t = sealed()?;
    let ok = blackbox(&["verify", s(&t.archive), "--key", s(&t.pubkey)])?;
    assert_eq!(code(&ok), 0, "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("OK"));

    // Tamper with the capture's data: exit 1, naming the member.
    let mut data = std::fs::read(&t.archive)?;
    let archive = blackbox_archive::Archive::open(&t.archive)?;
    let cap = archive.member(b"capture.scap").ok_or("capture")?;
    let at = usize::try_from(cap.data_offset)? + 100;
    data[at] ^= 0x40;
    let bad = t.dir.path().join("tampered.tar");
    std::fs::write(&bad, &data)?;
    let out = blackbox(&["verify", s(&bad), "--key", s(&t.pubkey)])?;
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("capture.scap"),
        "{}",
        text(&out.stderr)
    );

    // Not an archive, truncated, missing: exit 2 with the file named.
    let junk = t.dir.path().join("junk.tar");
    std::fs::write(&junk, vec![b'x'; 4096])?;
    let cut = t.dir.path().join("cut.tar");
    std::fs::write(&cut, &std::fs::read(&t.archive)?[..3000])?;
    for p in [&junk, &cut, &t.dir.path().join("missing.tar")] {
        for cmd in ["verify", "info", "events"] {
            let out = blackbox(&[cmd, s(p)])?;
            assert_eq!(code(&out), 2, "{cmd} {}", text(&out.stderr));
            let err = text(&out.stderr);
            assert!(err.contains(s(p)) && !err.contains("panicked"), "{err}");
        }
    }
    Ok(())
}

#[test]
fn info_ls_events_export_extract() -> R {
    let t = sealed()?;
    let out = blackbox(&["info", "--json", s(&t.archive)])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(info["metadata"]["pod_namespace"], "prod");
    assert_eq!(info["metadata"]["seal"]["state"], "sealed");
    assert_eq!(info["intact"], true);

    let root = t.dir.path().join("archives");
    let out = blackbox(&["ls", "--root", s(&root), "--namespace", "prod", "--json"])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let row: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(row["path"], s(&t.archive));
    assert_eq!(row["container"], "nginx");
    let none = blackbox(&["ls", "--root", s(&root), "--namespace", "dev", "--json"])?;
    assert!(none.stdout.is_empty());

    let out = blackbox(&["events", "--json", s(&t.archive)])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert!(lines.len() > 10);
    let mut last = 0u64;
    for l in &lines {
        for k in [
            "evt.num",
            "evt.time",
            "evt.type",
            "evt.dir",
            "proc.name",
            "thread.tid",
            "evt.info",
            "evt.cpu",
        ] {
            assert!(l.get(k).is_some(), "{k} in {l}");
        }
        let t = l["evt.outputtime"].as_u64().unwrap_or(0);
        assert!(t >= last, "time order");
        last = t;
    }
    assert!(lines.iter().any(|l| l["evt.type"] == "execve"));
    let plain = blackbox(&["events", s(&t.archive)])?;
    assert!(
        text(&plain.stdout).contains(" execve "),
        "{}",
        text(&plain.stdout)
    );

    let scap = t.dir.path().join("out.scap");
    let out = blackbox(&["export", s(&t.archive), "--scap", s(&scap)])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let again = blackbox(&["export", s(&t.archive), "--scap", s(&scap)])?;
    assert_eq!(code(&again), 2);
    if Path::new("/usr/bin/sysdig").exists() {
        let sd = Command::new("/usr/bin/sysdig")
            .arg("-r")
            .arg(&scap)
            .output()?;
        assert!(sd.status.success(), "{}", text(&sd.stderr));
        assert!(text(&sd.stdout).contains("execve"), "{}", text(&sd.stdout));
    } else if std::env::var_os("CI").is_some() {
        return Err("/usr/bin/sysdig is missing".into());
    } else {
        eprintln!("SKIP sysdig check: /usr/bin/sysdig missing");
    }

    let dest = t.dir.path().join("rootfs");
    let out = blackbox(&["extract", s(&t.archive), "--rootfs", s(&dest)])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(std::fs::read(dest.join("etc/evil.sh"))?, b"#!/bin/sh\nid\n");
    assert_eq!(
        std::fs::read_link(dest.join("etc/shadow-link"))?,
        Path::new("/etc/shadow")
    );
    Ok(())
}

#[test]
fn recover_dry_run_and_help() -> R {
    let dir = tempfile::tempdir()?;
    let out = blackbox(&[
        "recover",
        "--dry-run",
        "--work-root",
        s(&dir.path().join("work")),
        "--archives-root",
        s(&dir.path().join("archives")),
    ])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("nothing to recover"));
    let out = blackbox(&[
        "recover",
        "--work-root",
        s(&dir.path().join("work")),
        "--key",
        s(&dir.path().join("no.key")),
    ])?;
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("no.key"));
    for cmd in [
        "ls", "info", "verify", "events", "export", "extract", "recover",
    ] {
        let out = blackbox(&[cmd, "--help"])?;
        let h = text(&out.stdout);
        assert!(
            h.contains("Examples:") && h.contains("Exit status:"),
            "{cmd}: {h}"
        );
    }
    Ok(())
}

#[test]
fn recover_and_ls_take_their_directories_from_the_node_config() -> R {
    let dir = tempfile::tempdir()?;
    let work = dir.path().join("work");
    let archives = dir.path().join("archives");
    std::fs::create_dir_all(work.join("default"))?;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[recording]\nwork_dir = \"{}\"\n[archive]\narchives_dir = \"{}\"\n",
            work.display(),
            archives.display()
        ),
    )?;
    let out = blackbox(&["recover", "--dry-run", "--config", s(&config)])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("nothing to recover under {}", work.display())),
        "{}",
        text(&out.stdout)
    );
    std::fs::create_dir_all(&archives)?;
    let out = blackbox(&["ls", "--config", s(&config)])?;
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&archives.display().to_string()),
        "{}",
        text(&out.stderr)
    );
    // A bad config is named with its line; the command fails without guessing.
    std::fs::write(&config, "[recording]\nwork_dri = \"/x\"\n")?;
    let out = blackbox(&["recover", "--dry-run", "--config", s(&config)])?;
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(err.contains("config.toml:2:"), "{err}");
    Ok(())
}
