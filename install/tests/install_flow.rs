//! install → install → uninstall on realistic containerd configs, through the library API.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use blackbox_install::{
    mark_restart_done, plan_install, plan_uninstall, ConfigSchema, InstallError, HANDLER_NAME,
    POD_ANNOTATIONS, RUNTIME_TYPE, SHIM_BINARY,
};
use common::{keeps_all_lines, table, Node, TestResult, FIXTURE_16, FIXTURE_20};
use toml_edit::{DocumentMut, Item};

const CRI_16: &str = "io.containerd.grpc.v1.cri";
const CRI_20: &str = "io.containerd.cri.v1.runtime";

fn handler<'a>(doc: &'a DocumentMut, plugin: &str) -> Option<&'a Item> {
    table(
        doc,
        &["plugins", plugin, "containerd", "runtimes", HANDLER_NAME],
    )
}

#[test]
fn install_adds_the_handler_to_a_containerd_16_default_config() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    let plan = node.install()?;
    assert!(plan.restart_needed);

    let text = node.config_text()?;
    assert!(
        keeps_all_lines(FIXTURE_16, &text),
        "an original line was lost:\n{text}"
    );
    let doc: DocumentMut = text.parse()?;
    let h = handler(&doc, CRI_16).ok_or("no blackbox handler")?;
    assert_eq!(
        h.get("runtime_type").and_then(Item::as_str),
        Some(RUNTIME_TYPE)
    );
    let shim = node.bin_dir.join(SHIM_BINARY);
    assert_eq!(
        h.get("runtime_path").and_then(Item::as_str),
        Some(shim.to_str().ok_or("path")?)
    );
    let annotations: Vec<_> = h
        .get("pod_annotations")
        .and_then(Item::as_array)
        .ok_or("no pod_annotations")?
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(annotations, vec![POD_ANNOTATIONS]);
    let options = h.get("options").ok_or("no options")?;
    assert_eq!(
        options.get("ConfigPath").and_then(Item::as_str),
        Some(node.runtime_options().to_str().ok_or("path")?)
    );
    // Only ConfigPath: containerd would drop anything else for a non-runc runtime anyway.
    assert_eq!(options.as_table().map(|t| t.len()), Some(1));

    // Placed right after the runc handler, indented like it.
    let runc_options = text
        .find("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]")
        .ok_or("runc options")?;
    let ours = text
        .find("\n        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.blackbox]\n          runtime_type = \"io.containerd.blackbox.v2\"\n")
        .ok_or_else(|| format!("handler not formatted like its neighbours:\n{text}"))?;
    let next = text
        .find("[plugins.\"io.containerd.grpc.v1.cri\".containerd.untrusted_workload_runtime]")
        .ok_or("untrusted")?;
    assert!(runc_options < ours && ours < next);
    assert!(text.contains("\n            ConfigPath = "), "{text}");

    // Backup, binaries, state.
    let backup = node.blackbox_dir.join("backup/config.toml.orig");
    assert_eq!(fs::read_to_string(&backup)?, FIXTURE_16);
    assert_eq!(fs::metadata(&backup)?.permissions().mode() & 0o777, 0o600);
    for name in [SHIM_BINARY, "blackbox"] {
        let installed = node.bin_dir.join(name);
        assert_eq!(fs::read(&installed)?, fs::read(node.source_dir.join(name))?);
        assert_eq!(
            fs::metadata(&installed)?.permissions().mode() & 0o7777,
            0o755
        );
    }
    assert!(node.blackbox_dir.join("install-state.toml").is_file());
    Ok(())
}

#[test]
fn runc_options_of_containerd_16_are_copied_to_runtime_options() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    let options: DocumentMut = fs::read_to_string(node.runtime_options())?.parse()?;
    assert_eq!(
        options.get("SystemdCgroup").and_then(Item::as_bool),
        Some(false)
    );
    assert_eq!(options.get("BinaryName").and_then(Item::as_str), Some(""));
    assert_eq!(options.get("IoUid").and_then(Item::as_integer), Some(0));
    assert_eq!(options.len(), 11, "all of runc's keys: {options}");
    Ok(())
}

#[test]
fn second_install_changes_no_byte() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    let after_first = node.snapshot()?;
    let plan = plan_install(&node.install_options())?;
    assert!(
        plan.is_empty(),
        "second install would do:\n{}",
        plan.describe(true)
    );
    plan.apply()?;
    assert_eq!(node.snapshot()?, after_first);
    Ok(())
}

#[test]
fn restart_is_needed_until_it_was_done() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    assert!(node.install()?.restart_needed);
    // Not restarted yet: a second `install --restart` must still restart.
    assert!(plan_install(&node.install_options())?.restart_needed);
    mark_restart_done(&node.blackbox_dir)?;
    let plan = plan_install(&node.install_options())?;
    assert!(!plan.restart_needed);
    assert!(plan.is_empty());
    Ok(())
}

#[test]
fn uninstall_restores_the_node_byte_for_byte() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    fs::set_permissions(&node.config, fs::Permissions::from_mode(0o640))?;
    let before = node.snapshot()?;
    node.install()?;
    node.install()?;
    assert_eq!(
        fs::metadata(&node.config)?.permissions().mode() & 0o777,
        0o640,
        "install must keep the config's mode"
    );
    let plan = node.uninstall()?;
    assert!(plan.restart_needed);
    assert_eq!(node.config_text()?, FIXTURE_16);
    assert_eq!(node.snapshot()?, before);
    // And a second uninstall finds nothing to do.
    let again = plan_uninstall(&node.uninstall_options())?;
    assert!(again.is_empty() && !again.restart_needed);
    Ok(())
}

#[test]
fn dry_run_writes_nothing_and_shows_a_diff() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    let before = node.snapshot()?;
    let plan = plan_install(&node.install_options())?;
    let shown = plan.describe(true);
    assert_eq!(node.snapshot()?, before);
    assert!(shown.contains("--- a/"), "{shown}");
    assert!(
        shown.contains(
            "+        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.blackbox]"
        ),
        "{shown}"
    );
    assert!(shown.contains("+SystemdCgroup = false"), "{shown}");
    assert!(
        shown.contains("install "),
        "binary copies are listed: {shown}"
    );

    node.install()?;
    let installed = node.snapshot()?;
    let plan = plan_uninstall(&node.uninstall_options())?;
    let shown = plan.describe(true);
    assert!(
        shown.contains(
            "-        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.blackbox]"
        ),
        "{shown}"
    );
    assert_eq!(node.snapshot()?, installed);
    Ok(())
}

#[test]
fn an_unparseable_config_is_refused_with_its_position() -> TestResult {
    let broken = "[plugins\nfoo = ";
    let node = Node::new(Some(broken))?;
    let before = node.snapshot()?;
    match plan_install(&node.install_options()) {
        Err(InstallError::ConfigSyntax {
            path, line, column, ..
        }) => {
            assert_eq!(path, node.config);
            assert_eq!((line, column), (1, 9));
        }
        other => return Err(format!("expected a syntax error, got {other:?}").into()),
    }
    let message = plan_install(&node.install_options())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("config.toml:1:9:"), "{message}");
    assert!(message.contains("not changed"), "{message}");
    assert_eq!(node.snapshot()?, before);
    assert_eq!(node.config_text()?, broken);
    Ok(())
}

#[test]
fn containerd_2_config_gets_the_2x_plugin_key_and_runc_options() -> TestResult {
    let node = Node::new(Some(FIXTURE_20))?;
    node.install()?;
    let text = node.config_text()?;
    assert!(keeps_all_lines(FIXTURE_20, &text), "{text}");
    let doc: DocumentMut = text.parse()?;
    assert!(
        handler(&doc, CRI_16).is_none(),
        "no 1.x key in a version 3 config"
    );
    let h = handler(&doc, CRI_20).ok_or("no blackbox handler under the 2.x key")?;
    assert_eq!(
        h.get("runtime_type").and_then(Item::as_str),
        Some(RUNTIME_TYPE)
    );
    // Not copied: a sandboxer setting belongs to the runc handler only.
    assert!(h.get("sandboxer").is_none());
    assert!(text.contains("# kubelet runs with cgroupDriver: systemd"));

    let options: DocumentMut = fs::read_to_string(node.runtime_options())?.parse()?;
    assert_eq!(
        options.get("SystemdCgroup").and_then(Item::as_bool),
        Some(true)
    );
    assert_eq!(
        options.get("BinaryName").and_then(Item::as_str),
        Some("/usr/local/sbin/runc")
    );

    node.install()?;
    node.uninstall()?;
    assert_eq!(node.config_text()?, FIXTURE_20);
    Ok(())
}

#[test]
fn a_missing_config_is_created_and_removed_again() -> TestResult {
    let node = Node::new(None)?;
    let before = node.snapshot()?;
    let mut opts = node.install_options();
    // Detection needs a containerd binary; without one the error says what to pass.
    let err = plan_install(&opts)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--containerd-config-version"), "{err}");

    opts.config_schema = Some(ConfigSchema::V2);
    plan_install(&opts)?.apply()?;
    let doc: DocumentMut = node.config_text()?.parse()?;
    assert_eq!(doc.get("version").and_then(Item::as_integer), Some(2));
    assert!(handler(&doc, CRI_16).is_some());
    // Defining a runtime replaces containerd's built-in list, so runc must be restated.
    let runc = table(&doc, &["plugins", CRI_16, "containerd", "runtimes", "runc"])
        .ok_or("built-in runc handler missing")?;
    assert_eq!(
        runc.get("runtime_type").and_then(Item::as_str),
        Some("io.containerd.runc.v2")
    );
    assert!(fs::read_to_string(node.runtime_options())?.contains("# SystemdCgroup = false"));

    assert!(plan_install(&opts)?.is_empty());
    node.uninstall()?;
    assert!(!node.config.exists());
    // Only the empty etc/containerd directory we had to create remains.
    let mut after = node.snapshot()?;
    after.remove(&node.config.parent().ok_or("parent")?.to_path_buf());
    assert_eq!(after, before);
    Ok(())
}

#[test]
fn a_missing_config_for_containerd_2_uses_version_3() -> TestResult {
    let node = Node::new(None)?;
    let mut opts = node.install_options();
    opts.config_schema = Some(ConfigSchema::V3);
    plan_install(&opts)?.apply()?;
    let doc: DocumentMut = node.config_text()?.parse()?;
    assert_eq!(doc.get("version").and_then(Item::as_integer), Some(3));
    assert!(handler(&doc, CRI_20).is_some());
    Ok(())
}

#[test]
fn uninstall_keeps_edits_made_by_someone_else() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    let edited = node
        .config_text()?
        .replace("oom_score = 0", "oom_score = -999 # tuned by ops");
    fs::write(&node.config, &edited)?;

    let plan = plan_uninstall(&node.uninstall_options())?;
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("changed by someone else")),
        "{:?}",
        plan.notes
    );
    plan.apply()?;
    let text = node.config_text()?;
    assert!(text.contains("oom_score = -999 # tuned by ops"));
    assert!(!text.contains("runtimes.blackbox"));
    // Everything else is the original again.
    assert_eq!(
        text,
        FIXTURE_16.replace("oom_score = 0", "oom_score = -999 # tuned by ops")
    );
    Ok(())
}

#[test]
fn reinstall_after_the_config_was_replaced_takes_a_new_backup() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    // e.g. a containerd package upgrade or config management rewrote the file.
    let replaced = FIXTURE_16.replace("oom_score = 0", "oom_score = 1");
    fs::write(&node.config, &replaced)?;
    let plan = node.install()?;
    assert!(
        plan.notes.iter().any(|n| n.contains("replaced")),
        "{:?}",
        plan.notes
    );
    assert!(node.config_text()?.contains("runtimes.blackbox]"));
    node.uninstall()?;
    assert_eq!(node.config_text()?, replaced);
    Ok(())
}

#[test]
fn edited_runtime_options_survive_uninstall() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    fs::write(node.runtime_options(), "SystemdCgroup = true\n")?;
    // A reinstall does not overwrite the operator's file either.
    assert!(plan_install(&node.install_options())?.is_empty());
    let plan = node.uninstall()?;
    assert!(
        plan.notes.iter().any(|n| n.contains("edited")),
        "{:?}",
        plan.notes
    );
    assert_eq!(
        fs::read_to_string(node.runtime_options())?,
        "SystemdCgroup = true\n"
    );
    assert_eq!(node.config_text()?, FIXTURE_16);
    Ok(())
}

#[test]
fn version_1_config_uses_the_short_plugin_name() -> TestResult {
    let v1 = "# legacy node\n[plugins.cri.containerd]\n  snapshotter = \"overlayfs\"\n  [plugins.cri.containerd.default_runtime]\n    runtime_type = \"io.containerd.runc.v2\"\n";
    let node = Node::new(Some(v1))?;
    node.install()?;
    let doc: DocumentMut = node.config_text()?.parse()?;
    assert!(handler(&doc, "cri").is_some(), "{doc}");
    node.uninstall()?;
    assert_eq!(node.config_text()?, v1);
    Ok(())
}

#[test]
fn a_missing_source_binary_is_reported_before_anything_is_written() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    fs::remove_file(node.source_dir.join(SHIM_BINARY))?;
    let before = node.snapshot()?;
    let err = plan_install(&node.install_options());
    assert!(
        matches!(err, Err(InstallError::SourceBinaryMissing { .. })),
        "{err:?}"
    );
    assert_eq!(node.snapshot()?, before);
    Ok(())
}

#[test]
fn uninstall_without_state_removes_only_our_handler() -> TestResult {
    let node = Node::new(Some(FIXTURE_16))?;
    node.install()?;
    fs::remove_dir_all(&node.blackbox_dir)?;
    let plan = node.uninstall()?;
    assert!(plan.notes.iter().any(|n| n.contains("no install state")));
    assert_eq!(node.config_text()?, FIXTURE_16);
    // The binaries stay: nothing proves we put them there.
    assert!(node.bin_dir.join(SHIM_BINARY).exists());
    Ok(())
}
