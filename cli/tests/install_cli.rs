//! End to end through the built `blackbox` binary: install → install → uninstall on temporary
//! directories (no root paths, no containerd restart), and a real containerd 1.6 reading the
//! config the installer wrote.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use toml_edit::{DocumentMut, Item};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const FIXTURE_16: &str = include_str!("../../install/tests/fixtures/containerd-1.6-default.toml");
/// The upstream Falco rules install must put on the node unmodified.
const VENDORED_RULES: &[u8] = include_bytes!("../../rules/upstream/falco_rules.yaml");
const CONTAINERD: &str = "/usr/bin/containerd";

struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    fn new(config: Option<&str>) -> Result<Self, Box<dyn std::error::Error>> {
        let node = Self {
            dir: tempfile::tempdir()?,
        };
        fs::create_dir_all(node.path("etc/containerd"))?;
        fs::create_dir_all(node.path("usr/local/bin"))?;
        fs::create_dir_all(node.path("image"))?;
        for name in ["containerd-shim-blackbox-v2", "blackbox"] {
            let path = node.path("image").join(name);
            fs::write(&path, format!("#!/bin/sh\necho {name}\n"))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
        if let Some(text) = config {
            fs::write(node.config(), text)?;
        }
        Ok(node)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn config(&self) -> PathBuf {
        self.path("etc/containerd/config.toml")
    }

    /// Runs `blackbox <verb>` against this node's directories.
    fn blackbox(&self, verb: &str, extra: &[&str]) -> Result<Output, std::io::Error> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_blackbox"));
        cmd.arg(verb)
            .arg("--config")
            .arg(self.config())
            .arg("--blackbox-dir")
            .arg(self.path("etc/blackbox"))
            .arg("--bin-dir")
            .arg(self.path("usr/local/bin"));
        if verb == "install" {
            cmd.arg("--source-dir").arg(self.path("image"));
        }
        cmd.args(extra).output()
    }

    /// All files under the node with their contents and modes.
    fn snapshot(&self) -> Result<Vec<(PathBuf, String, u32)>, std::io::Error> {
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out)?;
        out.sort();
        Ok(out)
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, String, u32)>) -> Result<(), std::io::Error> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            out.push((path.clone(), String::new(), meta.permissions().mode()));
            walk(&path, out)?;
        } else {
            let text = String::from_utf8_lossy(&fs::read(&path)?).into_owned();
            out.push((path, text, meta.permissions().mode()));
        }
    }
    Ok(())
}

fn ok(output: &Output) -> Result<String, String> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{}\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn install_install_uninstall_round_trip() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    let before = node.snapshot()?;

    let first = ok(&node.blackbox("install", &[])?)?;
    assert!(first.contains("update "), "{first}");
    assert!(first.contains("containerd must be restarted"), "{first}");
    let text = fs::read_to_string(node.config())?;
    let doc: DocumentMut = text.parse()?;
    let handler =
        &doc["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["blackbox"];
    assert_eq!(
        handler.get("runtime_type").and_then(Item::as_str),
        Some("io.containerd.blackbox.v2")
    );
    let rules = node.path("etc/blackbox/rules/falco_rules.yaml");
    assert!(
        first.contains(&format!("create {}", rules.display())),
        "{first}"
    );
    assert!(
        fs::read(&rules)? == VENDORED_RULES,
        "the installed default rules differ from rules/upstream/falco_rules.yaml"
    );
    assert_eq!(fs::metadata(&rules)?.permissions().mode() & 0o7777, 0o644);
    let installed = node.snapshot()?;

    // Idempotent: a second run changes no byte and says so.
    let second = ok(&node.blackbox("install", &[])?)?;
    assert!(second.contains("nothing to change"), "{second}");
    assert_eq!(node.snapshot()?, installed);

    // --restart with a stand-in restart command and probe: restarts once (it was pending)...
    let restarted = ok(&node.blackbox(
        "install",
        &["--restart", "--restart-command", "true", "--ctr", "true"],
    )?)?;
    assert!(restarted.contains("containerd restarted"), "{restarted}");
    // ...and not again.
    let again = ok(&node.blackbox(
        "install",
        &["--restart", "--restart-command", "false", "--ctr", "true"],
    )?)?;
    assert!(again.contains("restart not needed"), "{again}");

    let removed = ok(&node.blackbox("uninstall", &[])?)?;
    assert!(removed.contains("remove "), "{removed}");
    assert_eq!(fs::read_to_string(node.config())?, FIXTURE_16);
    assert_eq!(node.snapshot()?, before);
    Ok(())
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    let before = node.snapshot()?;
    let out = ok(&node.blackbox("install", &["--dry-run"])?)?;
    assert!(out.contains("nothing was changed"), "{out}");
    assert!(out.contains("@@ "), "{out}");
    assert!(
        out.contains(
            "+        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.blackbox]"
        ),
        "{out}"
    );
    // The default rules are listed as a file to create, not diffed line by line.
    assert!(
        out.contains(&format!(
            "create {}",
            node.path("etc/blackbox/rules/falco_rules.yaml").display()
        )),
        "{out}"
    );
    assert!(!out.contains("+- rule:"), "{out}");
    assert_eq!(node.snapshot()?, before);
    Ok(())
}

#[test]
fn an_edited_default_rules_file_survives_reinstall_and_uninstall() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    ok(&node.blackbox("install", &[])?)?;
    let rules = node.path("etc/blackbox/rules/falco_rules.yaml");
    let mut edited = VENDORED_RULES.to_vec();
    edited.extend_from_slice(b"\n# tuned on this node\n");
    fs::write(&rules, &edited)?;

    let again = ok(&node.blackbox("install", &[])?)?;
    assert!(again.contains("nothing to change"), "{again}");
    assert!(again.contains("edited after"), "{again}");
    let removed = ok(&node.blackbox("uninstall", &[])?)?;
    assert!(removed.contains("edited after the install"), "{removed}");
    assert_eq!(fs::read(&rules)?, edited);
    assert_eq!(fs::read_to_string(node.config())?, FIXTURE_16);
    Ok(())
}

#[test]
fn exit_status_is_1_for_errors_and_2_for_usage() -> TestResult {
    let node = Node::new(Some("[plugins\nfoo = "))?;
    let broken = node.blackbox("install", &[])?;
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("config.toml:1:9:"), "{stderr}");
    assert_eq!(fs::read_to_string(node.config())?, "[plugins\nfoo = ");

    let usage = node.blackbox("install", &["--no-such-flag"])?;
    assert_eq!(usage.status.code(), Some(2));
    let help = Command::new(env!("CARGO_BIN_EXE_blackbox"))
        .args(["install", "--help"])
        .output()?;
    let help = ok(&help)?;
    assert!(
        help.contains("Exit status:") && help.contains("Examples:"),
        "{help}"
    );
    Ok(())
}

/// containerd 1.6 itself must accept what we wrote: `containerd config dump` loads and
/// decodes the file (including the CRI plugin section) without starting a daemon.
fn containerd_dump(config: &Path) -> Result<String, Box<dyn std::error::Error>> {
    if !Path::new(CONTAINERD).exists() {
        return Err(
            format!("{CONTAINERD} is required for this test (apt-get install containerd)").into(),
        );
    }
    let output = Command::new(CONTAINERD)
        .arg("--config")
        .arg(config)
        .args(["config", "dump"])
        .output()?;
    Ok(ok(&output)?)
}

fn dumped_runtime<'a>(dump: &'a DocumentMut, name: &str) -> Option<&'a Item> {
    dump.get("plugins")?
        .get("io.containerd.grpc.v1.cri")?
        .get("containerd")?
        .get("runtimes")?
        .get(name)
}

#[test]
fn real_containerd_accepts_the_installed_config() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    ok(&node.blackbox("install", &[])?)?;
    let dump: DocumentMut = containerd_dump(&node.config())?.parse()?;
    let ours =
        dumped_runtime(&dump, "blackbox").ok_or("containerd does not see the blackbox runtime")?;
    assert_eq!(
        ours.get("runtime_type").and_then(Item::as_str),
        Some("io.containerd.blackbox.v2")
    );
    assert_eq!(
        ours.get("pod_annotations")
            .and_then(Item::as_array)
            .and_then(|a| a.get(0))
            .and_then(|v| v.as_str()),
        Some("blackbox.io/*")
    );
    let options = ours.get("options").ok_or("no options")?;
    assert_eq!(
        options.get("ConfigPath").and_then(Item::as_str),
        node.path("etc/blackbox/runtime.toml").to_str()
    );
    assert!(dumped_runtime(&dump, "runc").is_some());
    Ok(())
}

#[test]
fn real_containerd_accepts_a_config_created_from_nothing() -> TestResult {
    let node = Node::new(None)?;
    // Detects the schema by asking the real containerd (1.6 here: version 2).
    ok(&node.blackbox("install", &["--containerd", CONTAINERD])?)?;
    let dump: DocumentMut = containerd_dump(&node.config())?.parse()?;
    assert!(dumped_runtime(&dump, "blackbox").is_some());
    // Without the restated runc handler containerd would have lost its default runtime.
    let runc = dumped_runtime(&dump, "runc").ok_or("the default runc runtime vanished")?;
    assert_eq!(
        runc.get("runtime_type").and_then(Item::as_str),
        Some("io.containerd.runc.v2")
    );
    ok(&node.blackbox("uninstall", &[])?)?;
    assert!(!node.config().exists());
    Ok(())
}
