//! The runtime options file (`/etc/blackbox/runtime.toml`).
//!
//! Why it exists: containerd's CRI plugin decodes a handler's `options` table into runc's
//! `Options` message only when `runtime_type` is `io.containerd.runc.v2`. For any other runtime
//! type it decodes into `runtimeoptions.v1.Options { TypeUrl, ConfigPath }` and silently drops
//! every other key. So the blackbox handler carries only `ConfigPath`, pointing here, and the
//! runc options the shim needs (`SystemdCgroup` above all) live in this file under runc's own
//! key names.

use std::path::Path;

use toml_edit::{DocumentMut, Item, TableLike, Value};

/// Type of a runc option value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// A string.
    String,
    /// A boolean.
    Bool,
    /// An unsigned 32-bit integer (uid/gid).
    Integer,
}

/// runc's `Options` keys as containerd's config spells them, with their types and what an
/// unset value means. Only these are copied; others are reported.
pub const RUNC_OPTION_KEYS: &[(&str, OptionKind, &str)] = &[
    (
        "BinaryName",
        OptionKind::String,
        "runc binary; empty = `runc` from PATH",
    ),
    (
        "Root",
        OptionKind::String,
        "runc state root; empty = /run/containerd/runc",
    ),
    (
        "SystemdCgroup",
        OptionKind::Bool,
        "use the systemd cgroup driver; must match the kubelet's cgroupDriver",
    ),
    (
        "NoPivotRoot",
        OptionKind::Bool,
        "do not use pivot_root (only for ramdisk roots)",
    ),
    (
        "NoNewKeyring",
        OptionKind::Bool,
        "do not create a new session keyring for the container",
    ),
    (
        "ShimCgroup",
        OptionKind::String,
        "cgroup to move the shim into; empty = containerd's",
    ),
    (
        "IoUid",
        OptionKind::Integer,
        "uid owning the container's stdio pipes",
    ),
    (
        "IoGid",
        OptionKind::Integer,
        "gid owning the container's stdio pipes",
    ),
    (
        "CriuPath",
        OptionKind::String,
        "criu binary for checkpoint/restore; empty = `criu` from PATH",
    ),
    (
        "CriuImagePath",
        OptionKind::String,
        "checkpoint image directory",
    ),
    ("CriuWorkPath", OptionKind::String, "criu work directory"),
];

/// The rendered file and what the operator should know about it.
#[derive(Debug)]
pub(crate) struct RuntimeOptionsFile {
    pub content: String,
    pub warnings: Vec<String>,
}

fn kind_matches(kind: OptionKind, value: &Value) -> bool {
    match kind {
        OptionKind::String => value.is_str(),
        OptionKind::Bool => value.is_bool(),
        OptionKind::Integer => value.as_integer().is_some_and(|i| u32::try_from(i).is_ok()),
    }
}

fn header(config: &Path, source: Option<&str>) -> String {
    let origin = match source {
        Some(handler) => format!(
            "# Written by `blackbox install` from the options of the `{handler}` handler in\n\
             # {},\n\
             # so that switching a pod from runc to blackbox changes nothing else.\n",
            config.display()
        ),
        None => format!(
            "# Written by `blackbox install`. {} has no runc handler with an options table,\n\
             # so containerd would run runc with its defaults; so does blackbox. Uncomment to change.\n",
            config.display()
        ),
    };
    format!(
        "# blackbox runtime options, read by containerd-shim-blackbox-v2.\n\
         #\n\
         # containerd passes a handler's `options` table to the shim as runc options only for\n\
         # runtime_type io.containerd.runc.v2; for any other runtime it keeps just ConfigPath.\n\
         # The blackbox handler's ConfigPath points here, and the keys below are runc's.\n\
         #\n\
         {origin}\
         # `blackbox uninstall` removes this file unless it was edited.\n\n"
    )
}

/// Renders the file from the runc handler's `options` (if any).
pub(crate) fn render(config: &Path, runc: Option<(&str, &dyn TableLike)>) -> RuntimeOptionsFile {
    let mut warnings = Vec::new();
    let Some((handler, options)) = runc else {
        let mut content = header(config, None);
        for (key, kind, help) in RUNC_OPTION_KEYS {
            let default = match kind {
                OptionKind::String => "\"\"",
                OptionKind::Bool => "false",
                OptionKind::Integer => "0",
            };
            content.push_str(&format!("# {help}\n# {key} = {default}\n"));
        }
        return RuntimeOptionsFile { content, warnings };
    };

    let mut doc = DocumentMut::new();
    for (key, kind, _) in RUNC_OPTION_KEYS {
        let Some(item) = options.get(key) else {
            continue;
        };
        match item.as_value() {
            Some(value) if kind_matches(*kind, value) => {
                let mut value = value.clone();
                value.decor_mut().clear();
                doc.insert(key, Item::Value(value));
            }
            _ => warnings.push(format!(
                "runc option {key} in handler `{handler}` has the wrong type ({}); not copied to the runtime options",
                item.type_name()
            )),
        }
    }
    for (key, _) in options.iter() {
        if !RUNC_OPTION_KEYS.iter().any(|(known, _, _)| *known == key) {
            warnings.push(format!(
                "unknown runc option {key} in handler `{handler}` is not copied to the runtime options"
            ));
        }
    }
    let mut content = header(config, Some(handler));
    content.push_str(&doc.to_string());
    RuntimeOptionsFile { content, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_known_options_and_warns_about_others() -> Result<(), toml_edit::TomlError> {
        let doc: DocumentMut =
            "SystemdCgroup = true # cgroup v2\nBinaryName = '/usr/sbin/runc'\nIoUid = \"x\"\nFancy = 1\n"
                .parse()?;
        let file = render(
            Path::new("/etc/containerd/config.toml"),
            Some(("runc", doc.as_table())),
        );
        // Canonical key order, values without their old comments.
        assert!(
            file.content
                .ends_with("BinaryName = '/usr/sbin/runc'\nSystemdCgroup = true\n"),
            "{}",
            file.content
        );
        assert_eq!(file.warnings.len(), 2, "{:?}", file.warnings);
        let reparsed: DocumentMut = file.content.parse()?;
        assert_eq!(
            reparsed.get("SystemdCgroup").and_then(Item::as_bool),
            Some(true)
        );
        Ok(())
    }

    #[test]
    fn defaults_file_is_all_comments() -> Result<(), toml_edit::TomlError> {
        let file = render(Path::new("/etc/containerd/config.toml"), None);
        let doc: DocumentMut = file.content.parse()?;
        assert!(doc.is_empty());
        assert!(file.content.contains("# SystemdCgroup = false"));
        Ok(())
    }
}
