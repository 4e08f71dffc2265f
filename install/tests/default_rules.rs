//! The default Falco rules file: written by install, upgraded while unedited, never written
//! over an operator's edits, and taken back by uninstall.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use blackbox_install::{defaults, plan_install, plan_uninstall, FileOp, Plan};
use common::{Node, TestResult, FIXTURE_16};
use sha2::{Digest, Sha256};
use toml_edit::{value, DocumentMut, Item};

/// The vendored upstream file, read from the repository (not through the installer's copy).
fn vendored() -> Result<Vec<u8>, std::io::Error> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/upstream/falco_rules.yaml"))
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mode(path: &Path) -> Result<u32, std::io::Error> {
    Ok(fs::metadata(path)?.permissions().mode() & 0o7777)
}

/// The default rules hash the install state records.
fn recorded_sha(node: &Node) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let state: DocumentMut = fs::read_to_string(node.state_file())?.parse()?;
    Ok(state
        .get("default_rules_sha256")
        .and_then(Item::as_str)
        .map(str::to_owned))
}

/// Rewrites the recorded hash, as an older blackbox (or none at all) would have left it.
fn set_recorded_sha(node: &Node, sha: Option<&str>) -> TestResult {
    let mut state: DocumentMut = fs::read_to_string(node.state_file())?.parse()?;
    match sha {
        Some(sha) => state["default_rules_sha256"] = value(sha),
        None => {
            state.remove("default_rules_sha256");
        }
    }
    fs::write(node.state_file(), state.to_string())?;
    Ok(())
}

/// Paths the plan writes or removes.
fn touched(plan: &Plan) -> Vec<PathBuf> {
    plan.ops
        .iter()
        .filter_map(|op| match op {
            FileOp::WriteFile { path, .. } | FileOp::RemoveFile { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

fn has_note(plan: &Plan, text: &str) -> bool {
    plan.notes.iter().any(|n| n.contains(text))
}

/// The vendored rules with a line added: stands for the rules an older blackbox shipped.
fn older_rules() -> Result<String, Box<dyn std::error::Error>> {
    let current = String::from_utf8(vendored()?)?;
    let older = current.replacen("- rule:", "# an older release\n- rule:", 1);
    assert_ne!(older, current);
    Ok(older)
}

#[test]
fn the_installed_path_is_the_node_configs_default_rules_file() {
    let installed = Path::new(defaults::BLACKBOX_DIR)
        .join(defaults::RULES_DIR)
        .join(defaults::DEFAULT_RULES_FILE);
    assert_eq!(
        installed,
        Path::new(blackbox_config::DEFAULT_RULES_FILE),
        "install must write the file the shim loads by default"
    );
}

#[test]
fn fresh_install_writes_the_vendored_rules() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    let dry = plan_install(&node.install_options())?;
    let path = node.default_rules();
    let write = dry
        .ops
        .iter()
        .find(|op| matches!(op, FileOp::WriteFile { path: p, .. } if *p == path))
        .ok_or_else(|| {
            format!(
                "the plan does not write the rules:\n{}",
                dry.describe(false)
            )
        })?;
    assert!(
        matches!(
            write,
            FileOp::WriteFile {
                before: None,
                mode: 0o644,
                show_diff: false,
                ..
            }
        ),
        "{write:?}"
    );
    let shown = dry.describe(true);
    assert!(
        shown.contains(&format!("create {}", path.display())),
        "{shown}"
    );
    assert!(
        !shown.contains("- rule:"),
        "upstream's rules are listed, not diffed"
    );

    dry.apply()?;
    assert!(
        fs::read(&path)? == vendored()?,
        "installed rules differ from rules/upstream/falco_rules.yaml"
    );
    assert_eq!(mode(&path)?, 0o644);
    assert_eq!(mode(&node.blackbox_dir.join("rules"))?, 0o755);
    assert_eq!(recorded_sha(&node)?, Some(sha256(&vendored()?)));
    Ok(())
}

#[test]
fn second_install_leaves_the_rules_byte_for_byte() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    let installed = node.snapshot()?;
    let plan = plan_install(&node.install_options())?;
    assert!(plan.is_empty(), "{}", plan.describe(false));
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    plan.apply()?;
    assert_eq!(node.snapshot()?, installed);
    Ok(())
}

#[test]
fn a_locally_edited_file_is_left_and_noted_by_install_and_uninstall() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    let mut edited = vendored()?;
    edited.extend_from_slice(b"\n# tuned on this node\n");
    fs::write(node.default_rules(), &edited)?;

    let plan = plan_install(&node.install_options())?;
    assert!(plan.is_empty(), "{}", plan.describe(false));
    assert!(has_note(&plan, "edited after"), "{:?}", plan.notes);
    plan.apply()?;
    assert_eq!(fs::read(node.default_rules())?, edited);

    let plan = node.uninstall()?;
    assert!(
        has_note(&plan, "edited after the install"),
        "{:?}",
        plan.notes
    );
    assert_eq!(fs::read(node.default_rules())?, edited);
    // The rest of the node is restored all the same.
    assert_eq!(node.config_text()?, FIXTURE_16);
    Ok(())
}

#[test]
fn a_file_that_was_there_before_the_install_is_not_touched() -> TestResult {
    for preexisting in [b"- rule: Our own\n".to_vec(), vendored()?] {
        let node = Node::new(Some(FIXTURE_16))?;
        fs::create_dir_all(node.blackbox_dir.join("rules"))?;
        fs::write(node.default_rules(), &preexisting)?;
        let before = node.snapshot()?;

        let plan = node.install()?;
        assert!(!touched(&plan).contains(&node.default_rules()));
        assert_eq!(fs::read(node.default_rules())?, preexisting);
        assert_eq!(recorded_sha(&node)?, None);

        let plan = node.uninstall()?;
        assert!(has_note(&plan, "not written by"), "{:?}", plan.notes);
        assert_eq!(node.snapshot()?, before);
    }
    Ok(())
}

#[test]
fn rules_of_an_older_install_are_upgraded() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    let older = older_rules()?;
    fs::write(node.default_rules(), &older)?;
    set_recorded_sha(&node, Some(&sha256(older.as_bytes())))?;

    let plan = plan_install(&node.install_options())?;
    let path = node.default_rules();
    assert!(
        plan.ops.iter().any(|op| matches!(
            op,
            FileOp::WriteFile { path: p, before: Some(b), .. } if *p == path && *b == older
        )),
        "{}",
        plan.describe(false)
    );
    assert!(
        has_note(&plan, "earlier blackbox install"),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.describe(false)
            .contains(&format!("update {}", path.display())),
        "{}",
        plan.describe(false)
    );
    plan.apply()?;
    assert!(fs::read(&path)? == vendored()?);
    assert_eq!(recorded_sha(&node)?, Some(sha256(&vendored()?)));
    assert!(plan_install(&node.install_options())?.is_empty());

    node.uninstall()?;
    assert!(!path.exists());
    Ok(())
}

#[test]
fn an_upgrade_interrupted_before_the_state_was_written_is_finished() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    // The new file is in place, but the state still has the older version's hash.
    set_recorded_sha(&node, Some(&sha256(older_rules()?.as_bytes())))?;

    let plan = plan_install(&node.install_options())?;
    assert_eq!(touched(&plan), vec![node.state_file()]);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    plan.apply()?;
    assert_eq!(recorded_sha(&node)?, Some(sha256(&vendored()?)));
    node.uninstall()?;
    assert!(!node.default_rules().exists());
    Ok(())
}

#[test]
fn a_node_installed_before_the_default_rules_gets_them() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    // What an install by a blackbox without default rules left behind.
    fs::remove_dir_all(node.blackbox_dir.join("rules"))?;
    set_recorded_sha(&node, None)?;

    let plan = node.install()?;
    assert!(
        touched(&plan).contains(&node.default_rules()),
        "{}",
        plan.describe(false)
    );
    assert!(fs::read(node.default_rules())? == vendored()?);
    assert_eq!(recorded_sha(&node)?, Some(sha256(&vendored()?)));
    Ok(())
}

#[test]
fn uninstall_removes_the_rules_and_keeps_the_operators_own_files() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    let before = node.snapshot()?;
    node.install()?;
    let plan = plan_uninstall(&node.uninstall_options())?;
    assert!(touched(&plan).contains(&node.default_rules()));
    plan.apply()?;
    assert!(!node.blackbox_dir.join("rules").exists());
    assert_eq!(node.snapshot()?, before);

    // Their rules file next to ours keeps the directory.
    node.install()?;
    let theirs = node.blackbox_dir.join("rules/local_rules.yaml");
    fs::write(&theirs, "- list: allowed_images\n  items: []\n")?;
    node.uninstall()?;
    assert!(!node.default_rules().exists());
    assert!(theirs.is_file());
    Ok(())
}
