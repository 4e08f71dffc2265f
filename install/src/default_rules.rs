//! The default Falco rules file, `<blackbox_dir>/rules/falco_rules.yaml`: upstream Falco's
//! stable rules, vendored unmodified in `rules/upstream/` and compiled into the installer, so
//! that the rules a node runs are the ones of the blackbox version installed on it.
//!
//! The file belongs to blackbox only while nobody has edited it: install replaces it (an
//! upgrade) and uninstall removes it only when its SHA-256 is the one the state recorded when
//! install wrote it. An edited file is the operator's and is left alone; operators are meant to
//! add their own rules in other files rather than edit this one.

use crate::error::InstallError;
use crate::fsutil::{read_optional, sha256_hex};
use crate::layout::Layout;
use crate::plan::{FileOp, Plan};
use crate::state::InstallState;

/// The rules file this blackbox installs, byte for byte.
pub(crate) const DEFAULT_RULES: &str = include_str!("../../rules/upstream/falco_rules.yaml");

/// Plans writing the default rules file; returns the SHA-256 to record in the new state.
///
/// Runs before the state file is written. An interrupted upgrade thus leaves the new file with
/// the old hash recorded, which the next run recognises as its own: the file is exactly the
/// embedded one and an earlier install had written this file.
pub(crate) fn plan_install_default_rules(
    prior: Option<&InstallState>,
    layout: &Layout,
    plan: &mut Plan,
) -> Result<Option<String>, InstallError> {
    let path = &layout.default_rules;
    let embedded_sha = sha256_hex(DEFAULT_RULES.as_bytes());
    let recorded = prior.and_then(|s| s.default_rules_sha256.as_deref());
    let write = |plan: &mut Plan, before: Option<String>| {
        plan.ops.push(FileOp::WriteFile {
            path: path.clone(),
            before,
            after: DEFAULT_RULES.to_owned(),
            mode: 0o644,
            // Upstream's rules are not a change to review line by line in a dry run.
            show_diff: false,
        });
        Some(embedded_sha.clone())
    };
    let Some(existing) = read_optional(path)? else {
        if !layout.rules_dir.is_dir() {
            plan.ops.push(FileOp::CreateDir {
                path: layout.rules_dir.clone(),
                mode: 0o755,
            });
        }
        return Ok(write(plan, None));
    };
    if existing == DEFAULT_RULES.as_bytes() {
        // Ours if an install wrote this file before; a copy someone else put there stays theirs.
        return Ok(recorded.map(|_| embedded_sha));
    }
    if recorded == Some(sha256_hex(&existing).as_str()) {
        plan.notes.push(format!(
            "{} holds the default rules of an earlier blackbox install, unedited; replacing them with this version's",
            path.display()
        ));
        let before = String::from_utf8_lossy(&existing).into_owned();
        return Ok(write(plan, Some(before)));
    }
    plan.notes.push(format!(
        "{} differs from the default rules of this blackbox and was {} blackbox install; leaving it as it is (add your own rules in other files of {} instead of editing this one)",
        path.display(),
        if recorded.is_some() { "edited after" } else { "not written by" },
        layout.rules_dir.display()
    ));
    // Still recorded when it was ours: uninstall then sees the edit and keeps the file.
    Ok(recorded.map(str::to_owned))
}

/// Plans removing the default rules file, if it is still as install wrote it, and then the
/// rules directory if nothing else is in it.
pub(crate) fn plan_uninstall_default_rules(
    state: &InstallState,
    layout: &Layout,
    plan: &mut Plan,
) -> Result<(), InstallError> {
    let path = &layout.default_rules;
    if let Some(existing) = read_optional(path)? {
        match state.default_rules_sha256.as_deref() {
            Some(sha) if sha256_hex(&existing) == sha => plan.ops.push(FileOp::RemoveFile {
                path: path.clone(),
                before: None,
            }),
            Some(_) => plan.notes.push(format!(
                "{} was edited after the install; leaving it in place",
                path.display()
            )),
            None => plan.notes.push(format!(
                "{} was not written by blackbox install; leaving it in place",
                path.display()
            )),
        }
    }
    if layout.rules_dir.is_dir() {
        plan.ops.push(FileOp::RemoveDirIfEmpty {
            path: layout.rules_dir.clone(),
        });
    }
    Ok(())
}
