//! Planning `blackbox uninstall`.
//!
//! The config comes first (restored from the backup byte for byte when nobody touched it
//! since the install; otherwise only our handler table is taken out, keeping their edits),
//! then the runtime options, default rules, node key, binaries and backup, and the state file
//! last, so that an interrupted uninstall can simply be re-run.

use std::path::{Path, PathBuf};

use crate::containerd_config::parse_config;
use crate::default_rules::plan_uninstall_default_rules;
use crate::error::InstallError;
use crate::fsutil::{file_mode, read_optional_text, sha256_hex};
use crate::handler::{handler_is_ours, has_handler, remove_handler};
use crate::layout::Layout;
use crate::plan::{FileOp, Plan};
use crate::schema::schema_of;
use crate::state::InstallState;

/// Inputs of an uninstall.
#[derive(Debug, Clone)]
pub struct UninstallOptions {
    /// containerd's main config file.
    pub config_path: PathBuf,
    /// blackbox's directory: runtime options, backup, state.
    pub blackbox_dir: PathBuf,
    /// Where the binaries were installed (the state file has the exact list).
    pub bin_dir: PathBuf,
}

fn absolute(path: &Path) -> Result<PathBuf, InstallError> {
    std::path::absolute(path).map_err(|e| InstallError::io("resolve", path, e))
}

/// Computes what `blackbox uninstall` would do on this node.
pub fn plan_uninstall(opts: &UninstallOptions) -> Result<Plan, InstallError> {
    let config_path = absolute(&opts.config_path)?;
    let blackbox_dir = absolute(&opts.blackbox_dir)?;
    let layout = Layout::new(&blackbox_dir, &config_path);
    let mut plan = Plan::default();
    let current = read_optional_text(&config_path)?;

    let Some(state) = InstallState::load(&layout.state)? else {
        plan_without_state(&config_path, current, &layout, &opts.bin_dir, &mut plan)?;
        plan.restart_needed = !plan.is_empty();
        return Ok(plan);
    };
    if state.config_path != config_path {
        return Err(InstallError::StateForOtherConfig {
            state: layout.state.clone(),
            recorded: state.config_path.clone(),
            given: config_path,
        });
    }

    plan_config(&state, &config_path, current, &layout, &mut plan)?;
    plan.restart_needed = !plan.is_empty();

    let options = &state.runtime_options;
    if options.created {
        match read_optional_text(&options.path)? {
            Some(text) if Some(sha256_hex(text.as_bytes())) == options.sha256 => {
                plan.ops.push(FileOp::RemoveFile {
                    path: options.path.clone(),
                    before: Some(text),
                });
            }
            Some(_) => plan.notes.push(format!(
                "{} was edited after the install; leaving it in place",
                options.path.display()
            )),
            None => {}
        }
    }
    plan_uninstall_default_rules(&state, &layout, &mut plan)?;
    plan_node_key(&state, &layout, &mut plan);
    for binary in &state.binaries {
        if std::fs::symlink_metadata(binary).is_ok() {
            plan.ops.push(FileOp::RemoveFile {
                path: binary.clone(),
                before: None,
            });
        }
    }
    if layout.backup.exists() {
        plan.ops.push(FileOp::RemoveFile {
            path: layout.backup.clone(),
            before: None,
        });
    }
    if layout.backup_dir.exists() {
        plan.ops.push(FileOp::RemoveDirIfEmpty {
            path: layout.backup_dir.clone(),
        });
    }
    plan.ops.push(FileOp::RemoveFile {
        path: layout.state.clone(),
        before: None,
    });
    plan.ops
        .push(FileOp::RemoveDirIfEmpty { path: blackbox_dir });
    Ok(plan)
}

/// The node key goes with the install that created it, so that uninstall leaves the node as
/// it was; its fingerprint is shown so that archives sealed on this node can still be matched
/// to it (every archive carries the public key; keep `node.key.pub` to prove their origin).
fn plan_node_key(state: &InstallState, layout: &Layout, plan: &mut Plan) {
    if !state.node_key_created {
        if layout.node_key.exists() {
            plan.notes.push(format!(
                "{} was not created by blackbox install; leaving it in place",
                layout.node_key.display()
            ));
        }
        return;
    }
    let public = blackbox_archive::public_key_path(&layout.node_key);
    let fingerprint = blackbox_archive::PublicKey::load(&public)
        .map(|k| k.fingerprint())
        .unwrap_or_else(|_| "unknown".to_owned());
    for path in [&layout.node_key, &public] {
        if std::fs::symlink_metadata(path).is_ok() {
            plan.ops.push(FileOp::RemoveFile {
                path: path.clone(),
                before: None,
            });
        }
    }
    if layout.node_key.exists() {
        plan.notes.push(format!(
            "removing the node's archive-signing key (fingerprint {fingerprint}); archives sealed on this node stay verifiable against a saved copy of {}",
            public.display()
        ));
    }
}

fn plan_config(
    state: &InstallState,
    config_path: &Path,
    current: Option<String>,
    layout: &Layout,
    plan: &mut Plan,
) -> Result<(), InstallError> {
    let Some(current) = current else {
        plan.notes.push(format!(
            "{} no longer exists; nothing to restore",
            config_path.display()
        ));
        return Ok(());
    };
    let current_sha = Some(sha256_hex(current.as_bytes()));
    if current_sha == state.original_sha256 {
        plan.notes.push(format!(
            "{} is already as it was before the install",
            config_path.display()
        ));
        return Ok(());
    }
    let untouched_since_install = current_sha == state.installed_sha256;
    if untouched_since_install && !state.config_existed {
        plan.notes.push(format!(
            "{} did not exist before the install; removing it",
            config_path.display()
        ));
        plan.ops.push(FileOp::RemoveFile {
            path: config_path.to_path_buf(),
            before: Some(current),
        });
        return Ok(());
    }
    if untouched_since_install {
        let backup_path = state.backup_path.as_deref().unwrap_or(&layout.backup);
        match read_optional_text(backup_path)? {
            Some(backup) if Some(sha256_hex(backup.as_bytes())) == state.original_sha256 => {
                plan.ops.push(FileOp::WriteFile {
                    path: config_path.to_path_buf(),
                    mode: file_mode(config_path)?.unwrap_or(0o644),
                    before: Some(current),
                    after: backup,
                    show_diff: true,
                });
                return Ok(());
            }
            _ => plan.warnings.push(format!(
                "the backup {} is missing or was changed; removing only the blackbox handler from {}",
                backup_path.display(),
                config_path.display()
            )),
        }
    } else {
        plan.notes.push(format!(
            "{} was changed by someone else since the install; removing only the blackbox handler and keeping their changes",
            config_path.display()
        ));
    }
    if state.handler_preexisting {
        plan.notes.push(format!(
            "the blackbox handler was in {} before the first install; leaving it in place",
            config_path.display()
        ));
        return Ok(());
    }
    remove_handler_op(config_path, current, plan)?;
    if state.added_default_runc {
        plan.notes.push(
            "the `runc` handler added by the install stays: it only restates containerd's built-in default".to_owned(),
        );
    }
    Ok(())
}

/// Takes our handler table out of the config, leaving every other byte alone.
fn remove_handler_op(
    config_path: &Path,
    current: String,
    plan: &mut Plan,
) -> Result<(), InstallError> {
    let mut doc = parse_config(&current, config_path)?;
    let schema = schema_of(&doc, config_path)?;
    if !has_handler(&doc, schema, config_path)? {
        return Ok(());
    }
    if !handler_is_ours(&doc, schema, config_path)? {
        plan.notes.push(format!(
            "the `blackbox` handler in {} no longer has runtime_type {}; leaving it in place",
            config_path.display(),
            crate::RUNTIME_TYPE
        ));
        return Ok(());
    }
    remove_handler(&mut doc, schema, config_path)?;
    plan.ops.push(FileOp::WriteFile {
        path: config_path.to_path_buf(),
        mode: file_mode(config_path)?.unwrap_or(0o644),
        before: Some(current),
        after: doc.to_string(),
        show_diff: true,
    });
    Ok(())
}

/// No state file (never installed, or /etc/blackbox was wiped): take out a handler that is
/// recognisably ours, and leave files we cannot prove we created.
fn plan_without_state(
    config_path: &Path,
    current: Option<String>,
    layout: &Layout,
    bin_dir: &Path,
    plan: &mut Plan,
) -> Result<(), InstallError> {
    plan.notes
        .push(format!("no install state at {}", layout.state.display()));
    if let Some(current) = current {
        remove_handler_op(config_path, current, plan)?;
    }
    if plan.is_empty() {
        plan.notes
            .push("blackbox does not appear to be installed; nothing to do".to_owned());
    } else {
        plan.notes.push(format!(
            "binaries in {} and files in {} are left alone: without the state file it is unknown whether blackbox install created them",
            bin_dir.display(),
            layout.runtime_options.parent().unwrap_or(Path::new("/")).display()
        ));
    }
    Ok(())
}
