//! Planning `blackbox install`.
//!
//! Operation order, chosen so an interrupted install can simply be re-run: directories, the
//! backup of the original config, the binaries (the shim must exist before containerd can be
//! told about it), the runtime options file, the default rules file, the state file (before
//! the config, so that a config carrying our handler always has a state saying how to take it
//! out), the config.

use std::path::{Path, PathBuf};

use crate::command::CommandLine;
use crate::containerd_config::parse_config;
use crate::default_rules::plan_install_default_rules;
use crate::error::InstallError;
use crate::fsutil::{file_mode, read_optional_text, same_file, sha256_file, sha256_hex};
use crate::handler::{ensure_handler, find_runc_handler, has_handler, HandlerSpec};
use crate::layout::Layout;
use crate::plan::{FileOp, Plan};
use crate::runtime_options;
use crate::schema::{detect_from_containerd, schema_of, ConfigSchema};
use crate::state::{InstallState, RuntimeOptionsState, STATE_FORMAT};
use crate::{CLI_BINARY, SHIM_BINARY};

/// Inputs of an install.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// containerd's main config file.
    pub config_path: PathBuf,
    /// blackbox's directory: runtime options, backup, state.
    pub blackbox_dir: PathBuf,
    /// Where to put the binaries.
    pub bin_dir: PathBuf,
    /// Where the binaries to install are.
    pub source_dir: PathBuf,
    /// containerd binary (or command prefix), asked for its version when the config file does
    /// not exist yet.
    pub containerd: CommandLine,
    /// Schema for a new config file, overriding the detection.
    pub config_schema: Option<ConfigSchema>,
}

/// How the current node relates to what the state file says we did.
enum Baseline {
    /// No install to build on: the current config is the original.
    Fresh,
    /// The config is exactly as our last install left it.
    Intact(InstallState),
    /// Someone changed the config after our install but kept our handler.
    Diverged(InstallState),
}

fn absolute(path: &Path) -> Result<PathBuf, InstallError> {
    std::path::absolute(path).map_err(|e| InstallError::io("resolve", path, e))
}

/// Computes what `blackbox install` would do on this node.
pub fn plan_install(opts: &InstallOptions) -> Result<Plan, InstallError> {
    let config_path = absolute(&opts.config_path)?;
    let blackbox_dir = absolute(&opts.blackbox_dir)?;
    let bin_dir = absolute(&opts.bin_dir)?;
    let layout = Layout::new(&blackbox_dir, &config_path);
    let mut plan = Plan::default();

    let previous = InstallState::load(&layout.state)?;
    if let Some(state) = &previous {
        if state.config_path != config_path {
            return Err(InstallError::StateForOtherConfig {
                state: layout.state.clone(),
                recorded: state.config_path.clone(),
                given: config_path,
            });
        }
    }

    // Read and understand the config before anything else: a config we cannot parse stops
    // the install before a single file is touched.
    let current = read_optional_text(&config_path)?;
    let (mut doc, schema) = match &current {
        Some(text) => {
            let doc = parse_config(text, &config_path)?;
            let schema = schema_of(&doc, &config_path)?;
            (doc, schema)
        }
        None => {
            let schema = match opts.config_schema {
                Some(schema) => schema,
                None => detect_from_containerd(&opts.containerd, &config_path)?,
            };
            plan.notes.push(format!(
                "{} does not exist (containerd runs on built-in defaults); creating it with config {schema}; uninstall deletes it again",
                config_path.display()
            ));
            (
                parse_config(&new_config_text(schema), &config_path)?,
                schema,
            )
        }
    };
    let current_sha = current.as_deref().map(|t| sha256_hex(t.as_bytes()));
    let handler_present = has_handler(&doc, schema, &config_path)?;
    let baseline = classify(
        previous.clone(),
        current_sha.as_deref(),
        handler_present,
        &config_path,
        &mut plan,
    );

    // The runtime options mirror the runc handler as it is before our edit.
    let runtime_options = {
        let runc = find_runc_handler(&doc, schema, &config_path)?;
        let source = runc
            .as_ref()
            .and_then(|r| r.options().map(|o| (r.name.as_str(), o)));
        runtime_options::render(&config_path, source)
    };
    plan.warnings
        .extend(runtime_options.warnings.iter().cloned());

    let spec = HandlerSpec {
        runtime_path: bin_dir.join(SHIM_BINARY).display().to_string(),
        options_config_path: layout.runtime_options.display().to_string(),
    };
    let edit = ensure_handler(&mut doc, schema, &spec, &config_path)?;
    if edit.added_default_runc {
        plan.notes.push(format!(
            "{} defines no runtimes; adding containerd's built-in `runc` handler as well, because defining any runtime replaces the built-in list",
            config_path.display()
        ));
    }
    if !edit.copied_keys.is_empty() {
        plan.notes.push(format!(
            "copied from the runc handler: {}",
            edit.copied_keys.join(", ")
        ));
    }
    let new_config = doc.to_string();
    let config_changed = current.as_deref() != Some(new_config.as_str());

    // Directories and backup.
    if !blackbox_dir.is_dir() {
        plan.ops.push(FileOp::CreateDir {
            path: blackbox_dir.clone(),
            mode: 0o755,
        });
    }
    plan_backup(&baseline, current.as_deref(), &layout, &mut plan)?;

    // Binaries.
    let mut binaries = Vec::new();
    for name in [SHIM_BINARY, CLI_BINARY] {
        let from = opts.source_dir.join(name);
        if !from.is_file() {
            return Err(InstallError::SourceBinaryMissing { name, path: from });
        }
        let to = bin_dir.join(name);
        binaries.push(to.clone());
        if same_file(&from, &to) || binary_up_to_date(&from, &to)? {
            continue;
        }
        if !bin_dir.is_dir()
            && !plan
                .ops
                .iter()
                .any(|op| matches!(op, FileOp::CreateDir { path, .. } if *path == bin_dir))
        {
            plan.ops.push(FileOp::CreateDir {
                path: bin_dir.clone(),
                mode: 0o755,
            });
        }
        plan.ops.push(FileOp::CopyBinary { from, to });
    }

    let runtime_state = plan_runtime_options(
        previous.as_ref(),
        &layout,
        runtime_options.content,
        &mut plan,
    )?;

    let default_rules_sha256 = plan_install_default_rules(previous.as_ref(), &layout, &mut plan)?;

    // The node's archive-signing key: created once, never replaced.
    let key_exists = std::fs::symlink_metadata(&layout.node_key).is_ok();
    if !key_exists {
        plan.ops.push(FileOp::CreateNodeKey {
            path: layout.node_key.clone(),
        });
    }
    let node_key_created = !key_exists || previous.as_ref().is_some_and(|s| s.node_key_created);

    // State, then config.
    let previous_state = match &baseline {
        Baseline::Fresh => None,
        Baseline::Intact(s) | Baseline::Diverged(s) => Some(s),
    };
    let new_state = InstallState {
        format: STATE_FORMAT,
        blackbox_version: env!("CARGO_PKG_VERSION").to_owned(),
        config_path: config_path.clone(),
        schema: schema.version(),
        config_existed: previous_state.map_or(current.is_some(), |s| s.config_existed),
        original_sha256: previous_state.map_or(current_sha.clone(), |s| s.original_sha256.clone()),
        installed_sha256: match &baseline {
            Baseline::Diverged(_) => None,
            _ => Some(sha256_hex(new_config.as_bytes())),
        },
        backup_path: match previous_state.map_or(current.is_some(), |s| s.config_existed) {
            true => Some(layout.backup.clone()),
            false => None,
        },
        handler_preexisting: previous_state.map_or(handler_present, |s| s.handler_preexisting),
        added_default_runc: previous_state.is_some_and(|s| s.added_default_runc)
            || edit.added_default_runc,
        restart_pending: config_changed || previous_state.is_some_and(|s| s.restart_pending),
        runtime_options: runtime_state,
        binaries,
        node_key_created,
        default_rules_sha256,
    };
    let new_state_text = new_state.render()?;
    let old_state_text = read_optional_text(&layout.state)?;
    if old_state_text.as_deref() != Some(new_state_text.as_str()) {
        plan.ops.push(FileOp::WriteFile {
            path: layout.state.clone(),
            before: old_state_text,
            after: new_state_text,
            mode: 0o644,
            show_diff: false,
        });
    }

    if config_changed {
        if let Some(parent) = config_path.parent() {
            if !parent.is_dir() {
                plan.ops.push(FileOp::CreateDir {
                    path: parent.to_path_buf(),
                    mode: 0o755,
                });
            }
        }
        plan.ops.push(FileOp::WriteFile {
            path: config_path.clone(),
            mode: file_mode(&config_path)?.unwrap_or(0o644),
            before: current,
            after: new_config,
            show_diff: true,
        });
    }
    plan.restart_needed = new_state.restart_pending;
    Ok(plan)
}

/// A config file for a node that had none.
fn new_config_text(schema: ConfigSchema) -> String {
    let header = "# containerd config created by `blackbox install`: containerd had no config file and ran\n\
                  # on built-in defaults, which still apply to everything not set here.\n";
    match schema {
        ConfigSchema::V1 => header.to_owned(),
        _ => format!("{header}version = {}\n", schema.version()),
    }
}

fn classify(
    previous: Option<InstallState>,
    current_sha: Option<&str>,
    handler_present: bool,
    config_path: &Path,
    plan: &mut Plan,
) -> Baseline {
    let Some(state) = previous else {
        if handler_present {
            plan.notes.push(format!(
                "{} already has a `blackbox` runtime handler; it is brought up to date, and uninstall will leave it in place",
                config_path.display()
            ));
        }
        return Baseline::Fresh;
    };
    if current_sha.is_some() && state.installed_sha256.as_deref() == current_sha {
        return Baseline::Intact(state);
    }
    if current_sha.map(str::to_owned) == state.original_sha256 {
        // Still (or again) the original: an earlier install was interrupted before writing
        // the config, or someone restored it. Start over from it.
        return Baseline::Fresh;
    }
    if handler_present {
        if state.installed_sha256.is_some() {
            plan.notes.push(format!(
                "{} was changed by someone else since blackbox was installed; keeping their changes, and uninstall will remove only the blackbox handler instead of restoring the backup",
                config_path.display()
            ));
        }
        return Baseline::Diverged(state);
    }
    plan.notes.push(format!(
        "{} was replaced since blackbox was installed (the blackbox handler is gone); taking it as the new original",
        config_path.display()
    ));
    Baseline::Fresh
}

fn plan_backup(
    baseline: &Baseline,
    current: Option<&str>,
    layout: &Layout,
    plan: &mut Plan,
) -> Result<(), InstallError> {
    let existing = read_optional_text(&layout.backup)?;
    match (baseline, current) {
        (Baseline::Fresh, Some(original)) => {
            if existing.as_deref() == Some(original) {
                return Ok(());
            }
            if !layout.backup_dir.is_dir() {
                plan.ops.push(FileOp::CreateDir {
                    path: layout.backup_dir.clone(),
                    mode: 0o700,
                });
            }
            plan.ops.push(FileOp::WriteFile {
                path: layout.backup.clone(),
                before: existing,
                after: original.to_owned(),
                mode: 0o600,
                show_diff: false,
            });
        }
        (Baseline::Fresh, None) => {
            if existing.is_some() {
                plan.ops.push(FileOp::RemoveFile {
                    path: layout.backup.clone(),
                    before: None,
                });
            }
        }
        (Baseline::Intact(state) | Baseline::Diverged(state), _) => {
            let intact =
                existing.as_deref().map(|b| sha256_hex(b.as_bytes())) == state.original_sha256;
            if state.config_existed && !intact {
                plan.warnings.push(format!(
                    "the backup {} is missing or was changed; uninstall will remove only the blackbox handler instead of restoring it",
                    layout.backup.display()
                ));
            }
        }
    }
    Ok(())
}

fn plan_runtime_options(
    prior: Option<&InstallState>,
    layout: &Layout,
    content: String,
    plan: &mut Plan,
) -> Result<RuntimeOptionsState, InstallError> {
    let path = layout.runtime_options.clone();
    let existing = read_optional_text(&path)?;
    // Judged against any earlier install, even one whose config edit is being redone.
    let previous = prior
        .map(|s| &s.runtime_options)
        .filter(|r| r.created && r.path == path);
    let ours_unedited = |text: &str| {
        previous.is_some_and(|p| p.sha256.as_deref() == Some(sha256_hex(text.as_bytes()).as_str()))
    };
    let write = |plan: &mut Plan, before: Option<String>| {
        let sha256 = Some(sha256_hex(content.as_bytes()));
        plan.ops.push(FileOp::WriteFile {
            path: path.clone(),
            before,
            after: content.clone(),
            mode: 0o644,
            show_diff: true,
        });
        RuntimeOptionsState {
            path: path.clone(),
            created: true,
            sha256,
        }
    };
    Ok(match existing {
        None => write(plan, None),
        Some(text) if ours_unedited(&text) => {
            if text == content {
                RuntimeOptionsState {
                    path: path.clone(),
                    created: true,
                    sha256: Some(sha256_hex(content.as_bytes())),
                }
            } else {
                write(plan, Some(text))
            }
        }
        Some(_) => {
            plan.notes.push(format!(
                "{} exists and was not written (or was edited since) by blackbox install; leaving it as it is",
                path.display()
            ));
            match previous {
                // Ours but edited: uninstall will see the edit and keep it.
                Some(p) => p.clone(),
                None => RuntimeOptionsState {
                    path: path.clone(),
                    created: false,
                    sha256: None,
                },
            }
        }
    })
}

/// The installed copy is identical and executable, so copying again would change nothing.
fn binary_up_to_date(from: &Path, to: &Path) -> Result<bool, InstallError> {
    let (Ok(src), Ok(dst)) = (std::fs::metadata(from), std::fs::metadata(to)) else {
        return Ok(false);
    };
    use std::os::unix::fs::PermissionsExt;
    if src.len() != dst.len() || dst.permissions().mode() & 0o7777 != 0o755 {
        return Ok(false);
    }
    Ok(sha256_file(from)? == sha256_file(to)?)
}
