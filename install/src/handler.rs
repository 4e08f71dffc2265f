//! Adding and removing the `blackbox` runtime handler table in a parsed containerd config.
//!
//! Values already equal to what we want are left untouched (not even re-formatted), which is
//! what makes a second install byte-identical.

use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, Table, TableLike, Value};

use crate::containerd_config::{ensure_table_mut, table_like, table_mut};
use crate::error::InstallError;
use crate::schema::ConfigSchema;
use crate::{HANDLER_NAME, POD_ANNOTATIONS, RUNC_RUNTIME_TYPE, RUNTIME_TYPE};

/// Handler-level keys of the runc handler that also shape a blackbox container; copied (when
/// set) so that switching a pod from runc to blackbox changes nothing else. Deliberately not
/// copied: `runtime_path` (it names the runc shim), `sandbox_mode`/`sandboxer` (blackbox is a
/// task shim, not a sandbox shim), and the deprecated `runtime_engine`/`runtime_root`.
const COPIED_HANDLER_KEYS: &[&str] = &[
    "base_runtime_spec",
    "cni_conf_dir",
    "cni_max_conf_num",
    "container_annotations",
    "privileged_without_host_devices",
    "privileged_without_host_devices_all_devices_allowed",
    "snapshotter",
];

const HANDLER_COMMENT: &str =
    "# blackbox flight-recorder runtime, added by `blackbox install` (`blackbox uninstall` removes it).";

/// What the blackbox handler should say.
pub(crate) struct HandlerSpec {
    /// Absolute path of the shim binary (`runtime_path`), so containerd finds it even when
    /// the bin dir is not on its PATH.
    pub runtime_path: String,
    /// Path of the runtime options file (`options.ConfigPath`).
    pub options_config_path: String,
}

/// What [`ensure_handler`] did.
#[derive(Debug, Default)]
pub(crate) struct HandlerEdit {
    /// The built-in `runc` handler was written too, because the file had no runtimes and
    /// defining any runtime replaces containerd's built-in map (runc would vanish).
    pub added_default_runc: bool,
    /// Keys copied from the runc handler.
    pub copied_keys: Vec<String>,
}

/// The runc handler whose settings blackbox mirrors: the default handler if it is a runc one,
/// else the handler named `runc` if it is a runc one.
pub(crate) struct RuncHandler<'a> {
    pub name: String,
    pub table: &'a dyn TableLike,
}

impl RuncHandler<'_> {
    /// Its `options` table, if it has one.
    pub fn options(&self) -> Option<&dyn TableLike> {
        self.table.get("options").and_then(Item::as_table_like)
    }
}

/// Finds the runc handler (see [`RuncHandler`]).
pub(crate) fn find_runc_handler<'a>(
    doc: &'a DocumentMut,
    schema: ConfigSchema,
    file: &Path,
) -> Result<Option<RuncHandler<'a>>, InstallError> {
    let Some(runtimes) = table_like(doc.as_table(), &schema.runtimes_path(), file)? else {
        return Ok(None);
    };
    let default_name = table_like(doc.as_table(), &schema.containerd_path(), file)?
        .and_then(|t| t.get("default_runtime_name"))
        .and_then(Item::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("runc");
    for name in [default_name, "runc"] {
        if name == HANDLER_NAME {
            continue;
        }
        let Some(table) = runtimes.get(name).and_then(Item::as_table_like) else {
            continue;
        };
        if table.get("runtime_type").and_then(Item::as_str) == Some(RUNC_RUNTIME_TYPE) {
            return Ok(Some(RuncHandler {
                name: name.to_owned(),
                table,
            }));
        }
    }
    Ok(None)
}

/// True when the config has a `blackbox` handler.
pub(crate) fn has_handler(
    doc: &DocumentMut,
    schema: ConfigSchema,
    file: &Path,
) -> Result<bool, InstallError> {
    Ok(table_like(doc.as_table(), &schema.runtimes_path(), file)?
        .is_some_and(|t| t.contains_key(HANDLER_NAME)))
}

/// Whether the `blackbox` handler has our runtime type (vs. someone else's table by that name).
pub(crate) fn handler_is_ours(
    doc: &DocumentMut,
    schema: ConfigSchema,
    file: &Path,
) -> Result<bool, InstallError> {
    Ok(table_like(doc.as_table(), &schema.runtimes_path(), file)?
        .and_then(|t| t.get(HANDLER_NAME))
        .and_then(|h| h.get("runtime_type"))
        .and_then(Item::as_str)
        == Some(RUNTIME_TYPE))
}

/// Removes the `blackbox` handler table; returns whether there was one.
pub(crate) fn remove_handler(
    doc: &mut DocumentMut,
    schema: ConfigSchema,
    file: &Path,
) -> Result<bool, InstallError> {
    Ok(
        match table_mut(doc.as_table_mut(), &schema.runtimes_path(), file)? {
            Some(runtimes) => runtimes.remove(HANDLER_NAME).is_some(),
            None => false,
        },
    )
}

/// Adds the `blackbox` handler, or brings an existing one in line with `spec`.
pub(crate) fn ensure_handler(
    doc: &mut DocumentMut,
    schema: ConfigSchema,
    spec: &HandlerSpec,
    file: &Path,
) -> Result<HandlerEdit, InstallError> {
    let mut edit = HandlerEdit::default();
    let copied = copied_values(doc, schema, file)?;
    let default_name = table_like(doc.as_table(), &schema.containerd_path(), file)?
        .and_then(|t| t.get("default_runtime_name"))
        .and_then(Item::as_str)
        .map(str::to_owned);
    let runtimes = ensure_table_mut(doc.as_table_mut(), &schema.runtimes_path(), file)?;
    let sibling = Indent::of_first_handler(runtimes);

    let defines_no_runtime = !runtimes.iter().any(|(_, item)| item.is_table_like());
    let default_is_runc = default_name.as_deref().is_none_or(|n| n == "runc");
    if defines_no_runtime && default_is_runc {
        let mut runc = sibling.new_table(None);
        sibling.set_value(&mut runc, "runtime_type", Value::from(RUNC_RUNTIME_TYPE));
        runtimes.insert("runc", Item::Table(runc));
        edit.added_default_runc = true;
    }

    let handler = match runtimes
        .entry(HANDLER_NAME)
        .or_insert_with(|| Item::Table(sibling.new_table(Some(HANDLER_COMMENT))))
    {
        Item::Table(t) => t,
        other => {
            return Err(InstallError::ConfigShape {
                path: file.to_path_buf(),
                reason: format!(
                    "`{}` should be a [table] but is {}",
                    schema.handler_table(HANDLER_NAME),
                    other.type_name()
                ),
            })
        }
    };
    let indent = Indent::of_table(handler).unwrap_or_else(|| sibling.clone());
    indent.set_value(handler, "runtime_type", Value::from(RUNTIME_TYPE));
    indent.set_value(
        handler,
        "runtime_path",
        Value::from(spec.runtime_path.as_str()),
    );
    ensure_pod_annotations(handler, &indent, copied.pod_annotations);
    for (key, value) in copied.values {
        if !handler.contains_key(&key) {
            indent.set_value(handler, &key, value);
            edit.copied_keys.push(key);
        }
    }

    let options_indent = indent.nested();
    let options = match handler
        .entry("options")
        .or_insert_with(|| Item::Table(options_indent.new_table(None)))
    {
        Item::Table(t) => t,
        other => {
            return Err(InstallError::ConfigShape {
                path: file.to_path_buf(),
                reason: format!(
                    "`{}.options` should be a [table] but is {}",
                    schema.handler_table(HANDLER_NAME),
                    other.type_name()
                ),
            })
        }
    };
    let options_indent = Indent::of_table(options).unwrap_or(options_indent);
    options_indent.set_value(
        options,
        "ConfigPath",
        Value::from(spec.options_config_path.as_str()),
    );
    Ok(edit)
}

/// Values taken over from the runc handler.
struct CopiedValues {
    values: Vec<(String, Value)>,
    pod_annotations: Vec<String>,
}

fn copied_values(
    doc: &DocumentMut,
    schema: ConfigSchema,
    file: &Path,
) -> Result<CopiedValues, InstallError> {
    let mut copied = CopiedValues {
        values: Vec::new(),
        pod_annotations: Vec::new(),
    };
    let Some(runc) = find_runc_handler(doc, schema, file)? else {
        return Ok(copied);
    };
    for key in COPIED_HANDLER_KEYS {
        if let Some(value) = runc.table.get(key).and_then(Item::as_value) {
            if !is_zero(value) {
                let mut value = value.clone();
                value.decor_mut().clear();
                copied.values.push(((*key).to_owned(), value));
            }
        }
    }
    if let Some(array) = runc.table.get("pod_annotations").and_then(Item::as_array) {
        copied.pod_annotations = array
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    Ok(copied)
}

/// Go's zero values, which containerd treats as "not set".
fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.value().is_empty(),
        Value::Integer(i) => *i.value() == 0,
        Value::Boolean(b) => !*b.value(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Makes `pod_annotations` contain ours (and, on a new table, the runc handler's).
fn ensure_pod_annotations(handler: &mut Table, indent: &Indent, from_runc: Vec<String>) {
    if let Some(array) = handler
        .get_mut("pod_annotations")
        .and_then(Item::as_array_mut)
    {
        if !array.iter().any(|v| v.as_str() == Some(POD_ANNOTATIONS)) {
            array.push(POD_ANNOTATIONS);
        }
        return;
    }
    let mut array = Array::new();
    for annotation in from_runc {
        if annotation != POD_ANNOTATIONS {
            array.push(annotation);
        }
    }
    array.push(POD_ANNOTATIONS);
    indent.set_value(handler, "pod_annotations", Value::Array(array));
}

/// Indentation of a table header and of its keys, copied from a neighbour so that what we add
/// looks like what `containerd config default` wrote around it.
#[derive(Debug, Clone, Default)]
struct Indent {
    header: String,
    key: String,
}

fn trailing_indent(raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let tail = raw.rsplit('\n').next().unwrap_or(raw);
    tail.chars()
        .all(|c| c == ' ' || c == '\t')
        .then(|| tail.to_owned())
}

impl Indent {
    fn of_table(table: &Table) -> Option<Self> {
        // A table at the very top of a file has no prefix at all: no indentation.
        let prefix = table
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("");
        let header = trailing_indent(Some(prefix))?;
        let key = table
            .iter()
            .find(|(_, item)| item.is_value())
            .and_then(|(k, _)| table.key(k))
            // No keys yet (e.g. a table we just created): nothing to learn from.
            .and_then(|k| trailing_indent(k.leaf_decor().prefix().and_then(|p| p.as_str())))?;
        Some(Self { header, key })
    }

    fn of_first_handler(runtimes: &Table) -> Self {
        runtimes
            .iter()
            .find_map(|(_, item)| item.as_table().and_then(Indent::of_table))
            .unwrap_or_default()
    }

    /// Indentation for a table nested in one indented like `self`.
    fn nested(&self) -> Self {
        let step = self
            .key
            .strip_prefix(self.header.as_str())
            .unwrap_or_default();
        Self {
            header: self.key.clone(),
            key: format!("{}{step}", self.key),
        }
    }

    fn new_table(&self, comment: Option<&str>) -> Table {
        let mut table = Table::new();
        let prefix = match comment {
            Some(c) => format!("\n{h}{c}\n{h}", h = self.header),
            None => format!("\n{}", self.header),
        };
        table.decor_mut().set_prefix(prefix);
        table
    }

    /// Sets `key` unless it already holds an equal value (keeping its formatting).
    fn set_value(&self, table: &mut Table, key: &str, value: Value) {
        if let Some(existing) = table.get(key).and_then(Item::as_value) {
            if same_value(existing, &value) {
                return;
            }
            if let Some(slot) = table.get_mut(key).and_then(Item::as_value_mut) {
                let decor = slot.decor().clone();
                *slot = value;
                *slot.decor_mut() = decor;
            }
            return;
        }
        table.insert(key, Item::Value(value));
        if let Some(mut k) = table.key_mut(key) {
            k.leaf_decor_mut().set_prefix(self.key.clone());
        }
    }
}

/// Semantic equality of two TOML values, ignoring formatting.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Integer(x), Value::Integer(y)) => x.value() == y.value(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        (Value::Float(x), Value::Float(y)) => x.value() == y.value(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same_value(a, b))
        }
        _ => a.to_string().trim() == b.to_string().trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HandlerSpec {
        HandlerSpec {
            runtime_path: "/usr/local/bin/containerd-shim-blackbox-v2".to_owned(),
            options_config_path: "/etc/blackbox/runtime.toml".to_owned(),
        }
    }

    #[test]
    fn an_empty_config_also_gets_the_builtin_runc_handler() -> Result<(), InstallError> {
        let file = Path::new("c.toml");
        let mut doc = crate::containerd_config::parse_config("version = 2\n", file)?;
        let edit = ensure_handler(&mut doc, ConfigSchema::V2, &spec(), file)?;
        assert!(edit.added_default_runc);
        let text = doc.to_string();
        assert!(text.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\""), "{text}");
        assert!(text.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.blackbox.options]\nConfigPath = \"/etc/blackbox/runtime.toml\""), "{text}");
        Ok(())
    }

    #[test]
    fn copies_runc_handler_settings_and_merges_annotations() -> Result<(), InstallError> {
        let file = Path::new("c.toml");
        let text = r#"version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  runtime_path = "/opt/runc-shim"
  base_runtime_spec = "/etc/containerd/base.json"
  cni_conf_dir = ""
  pod_annotations = ["io.example/*"]
"#;
        let mut doc = crate::containerd_config::parse_config(text, file)?;
        let edit = ensure_handler(&mut doc, ConfigSchema::V2, &spec(), file)?;
        assert!(!edit.added_default_runc);
        assert_eq!(edit.copied_keys, vec!["base_runtime_spec".to_owned()]);
        let out = doc.to_string();
        assert!(
            out.contains("  base_runtime_spec = \"/etc/containerd/base.json\""),
            "{out}"
        );
        assert!(
            out.contains("  pod_annotations = [\"io.example/*\", \"blackbox.io/*\"]"),
            "{out}"
        );
        // runc's runtime_path names runc's shim: never copied.
        assert_eq!(out.matches("/opt/runc-shim").count(), 1, "{out}");
        Ok(())
    }

    #[test]
    fn fixes_an_existing_handler_without_touching_other_keys() -> Result<(), InstallError> {
        let file = Path::new("c.toml");
        let text = r#"version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.blackbox]
  runtime_type = "io.containerd.other.v1" # old
  snapshotter = "native"
"#;
        let mut doc = crate::containerd_config::parse_config(text, file)?;
        ensure_handler(&mut doc, ConfigSchema::V2, &spec(), file)?;
        let out = doc.to_string();
        assert!(
            out.contains("  runtime_type = \"io.containerd.blackbox.v2\" # old"),
            "{out}"
        );
        assert!(out.contains("  snapshotter = \"native\""), "{out}");
        Ok(())
    }

    #[test]
    fn removes_only_the_handler() -> Result<(), InstallError> {
        let file = Path::new("c.toml");
        let original = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n";
        let mut doc = crate::containerd_config::parse_config(original, file)?;
        ensure_handler(&mut doc, ConfigSchema::V2, &spec(), file)?;
        assert!(remove_handler(&mut doc, ConfigSchema::V2, file)?);
        assert_eq!(doc.to_string(), original);
        assert!(!remove_handler(&mut doc, ConfigSchema::V2, file)?);
        Ok(())
    }
}
