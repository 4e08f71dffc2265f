//! Falco's rule collector (`rule_loader_reader.cpp` + `rule_loader_collector.cpp`): reads each
//! YAML item, checks its keys, and records lists, macros and rules with append/override applied.

// Load errors are the cold path and carry their full context; boxing them buys nothing here.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeSet, HashMap};

use crate::error::{LoadMessage, Severity};
use crate::priority::Priority;
use crate::yaml::{parse_documents, Node, NodeKind};

/// Falco's engine version this engine claims.
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 63, 0);

#[derive(Debug, Clone, Default)]
pub struct Loc {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
pub struct ListInfo {
    pub name: String,
    pub items: Vec<String>,
    pub index: u32,
    pub visibility: u32,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct MacroInfo {
    pub name: String,
    pub condition: String,
    pub index: u32,
    pub visibility: u32,
    pub loc: Loc,
    pub cond_loc: Loc,
}

/// An exception value: a scalar, or a YAML list of values.
#[derive(Debug, Clone, PartialEq)]
pub enum ExValue {
    Item(String),
    List(Vec<ExValue>),
}

#[derive(Debug, Clone)]
pub struct ExceptionInfo {
    pub name: String,
    /// `Err(single)` for the single-field form, `Ok(list)` for the tuple form.
    pub fields: ExValue,
    pub comps: Option<ExValue>,
    pub values: Vec<ExValue>,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub name: String,
    pub condition: String,
    pub output: String,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub enabled: bool,
    pub tags: BTreeSet<String>,
    pub exceptions: Vec<ExceptionInfo>,
    pub warn_evttypes: bool,
    pub skip_if_unknown_filter: bool,
    pub capture: bool,
    pub capture_duration: u64,
    pub index: u32,
    pub visibility: u32,
    pub loc: Loc,
    pub cond_loc: Loc,
    pub output_loc: Loc,
}

/// Everything collected so far, across files.
#[derive(Debug, Default)]
pub struct Collector {
    pub lists: Vec<ListInfo>,
    pub macros: Vec<MacroInfo>,
    pub rules: Vec<RuleInfo>,
    list_idx: HashMap<String, usize>,
    macro_idx: HashMap<String, usize>,
    rule_idx: HashMap<String, usize>,
    next_index: u32,
    /// `(name, version)` of the plugins whose fields this engine provides.
    pub provided_plugins: Vec<(String, String)>,
}

const LIST_KEYS: &[&str] = &["list", "items", "append", "override"];
const MACRO_KEYS: &[&str] = &["macro", "condition", "append", "override"];
const RULE_KEYS: &[&str] = &[
    "rule",
    "condition",
    "output",
    "desc",
    "priority",
    "source",
    "enabled",
    "tags",
    "exceptions",
    "append",
    "override",
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
];
const RULE_APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const RULE_REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "capture",
    "capture_duration",
    "tags",
    "exceptions",
    "enabled",
    "warn_evttypes",
    "skip-if-unknown-filter",
];

struct Item<'a> {
    node: &'a Node,
    kind: &'static str,
    name: String,
    file: &'a str,
}

impl Item<'_> {
    fn loc_of(&self, n: &Node) -> Loc {
        Loc {
            file: self.file.to_string(),
            line: n.line,
            col: n.col,
        }
    }

    fn msg(
        &self,
        severity: Severity,
        code: &'static str,
        at: &Node,
        message: String,
    ) -> LoadMessage {
        LoadMessage {
            severity,
            code,
            message,
            file: self.file.to_string(),
            line: at.line,
            col: at.col,
            item_type: self.kind.to_string(),
            item_name: self.name.clone(),
        }
    }

    fn err(&self, at: &Node, message: impl Into<String>) -> LoadMessage {
        self.msg(
            Severity::Error,
            "LOAD_ERR_YAML_VALIDATE",
            at,
            message.into(),
        )
    }

    fn validate(&self, at: &Node, message: impl Into<String>) -> LoadMessage {
        self.msg(Severity::Error, "LOAD_ERR_VALIDATE", at, message.into())
    }

    fn string(&self, key: &str) -> Result<Option<(String, &Node)>, LoadMessage> {
        match self.node.get(key) {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(Some((String::new(), v))),
            Some(v) => match v.as_str() {
                Some(s) => Ok(Some((s.to_string(), v))),
                None => Err(self.err(v, format!("Value of '{key}' must be a scalar"))),
            },
        }
    }

    fn required_string(&self, key: &str) -> Result<(String, &Node), LoadMessage> {
        self.string(key)?
            .ok_or_else(|| self.err(self.node, format!("Item has no mapping for key '{key}'")))
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, LoadMessage> {
        match self.node.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.err(v, format!("Value of '{key}' must be a boolean"))),
        }
    }

    fn string_list(&self, key: &str) -> Result<Option<Vec<String>>, LoadMessage> {
        match self.node.get(key) {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(Some(Vec::new())),
            Some(v) => {
                let seq = v
                    .as_seq()
                    .ok_or_else(|| self.err(v, format!("Value of '{key}' must be a sequence")))?;
                seq.iter()
                    .map(|n| {
                        n.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.err(n, format!("Items of '{key}' must be scalars")))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
        }
    }
}

fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim();
    let core = s.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let a = parts.next()?.parse().ok()?;
    let b = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let c = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if parts.next().is_some() {
        return None;
    }
    Some((a, b, c))
}

impl Collector {
    pub fn new(provided_plugins: Vec<(String, String)>) -> Collector {
        Collector {
            provided_plugins,
            ..Collector::default()
        }
    }

    fn next(&mut self) -> u32 {
        self.next_index += 1;
        self.next_index
    }

    /// Reads one rules file and collects its items. Problems go to `msgs`.
    pub fn collect_file(&mut self, file: &str, text: &str, msgs: &mut Vec<LoadMessage>) {
        let docs = match parse_documents(text) {
            Ok(d) => d,
            Err(e) => {
                msgs.push(LoadMessage {
                    severity: Severity::Error,
                    code: "LOAD_ERR_YAML_PARSE",
                    message: e.message,
                    file: file.to_string(),
                    line: e.line,
                    col: e.col,
                    item_type: String::new(),
                    item_name: String::new(),
                });
                return;
            }
        };
        for doc in &docs {
            if doc.is_null() {
                continue;
            }
            let Some(items) = doc.as_seq() else {
                msgs.push(LoadMessage {
                    severity: Severity::Error,
                    code: "LOAD_ERR_YAML_VALIDATE",
                    message: "Rules content is not yaml array of objects".into(),
                    file: file.to_string(),
                    line: doc.line,
                    col: doc.col,
                    item_type: String::new(),
                    item_name: String::new(),
                });
                continue;
            };
            for node in items {
                if let Err(m) = self.collect_item(file, node, msgs) {
                    msgs.push(m);
                }
            }
        }
    }

    fn collect_item(
        &mut self,
        file: &str,
        node: &Node,
        msgs: &mut Vec<LoadMessage>,
    ) -> Result<(), LoadMessage> {
        let mut item = Item {
            node,
            kind: "",
            name: String::new(),
            file,
        };
        let Some(map) = node.as_map() else {
            return Err(item.err(
                node,
                "Unexpected element type. Each element should be a yaml associative array.",
            ));
        };
        let keys: Vec<&str> = map.iter().filter_map(|(k, _)| k.as_str()).collect();
        let (kind, allowed): (&'static str, &[&str]) = if keys.contains(&"required_engine_version")
        {
            ("required_engine_version", &["required_engine_version"])
        } else if keys.contains(&"required_plugin_versions") {
            ("required_plugin_versions", &["required_plugin_versions"])
        } else if keys.contains(&"list") {
            ("list", LIST_KEYS)
        } else if keys.contains(&"macro") {
            ("macro", MACRO_KEYS)
        } else if keys.contains(&"rule") {
            ("rule", RULE_KEYS)
        } else {
            msgs.push(item.msg(
                Severity::Warning,
                "LOAD_UNKNOWN_ITEM",
                node,
                "Unknown top level item".into(),
            ));
            return Ok(());
        };
        item.kind = kind;
        if matches!(kind, "list" | "macro" | "rule") {
            let (name, name_node) = item.required_string(kind)?;
            if name.is_empty() {
                return Err(item.err(name_node, format!("Mapping for key '{kind}' is empty")));
            }
            item.name = name;
        }
        for (k, _) in map {
            if let Some(key) = k.as_str() {
                if !allowed.contains(&key) {
                    msgs.push(item.msg(
                        Severity::Warning,
                        "LOAD_UNKNOWN_KEY",
                        k,
                        format!("Unknown key '{key}'. The key will be ignored."),
                    ));
                }
            }
        }
        match kind {
            "required_engine_version" => self.engine_version(&item),
            "required_plugin_versions" => self.plugin_versions(&item),
            "list" => self.list(&item, msgs),
            "macro" => self.macro_(&item, msgs),
            _ => self.rule(&item, msgs),
        }
    }

    fn engine_version(&mut self, item: &Item<'_>) -> Result<(), LoadMessage> {
        let v = item
            .node
            .get("required_engine_version")
            .unwrap_or(item.node);
        let s = v
            .as_str()
            .ok_or_else(|| item.err(v, "Value of 'required_engine_version' must be a scalar"))?;
        let req = match s.parse::<u64>() {
            Ok(n) => (0, n, 0),
            Err(_) => parse_version(s).ok_or_else(|| item.err(v, format!("Unable to parse engine version '{s}' as a semver string. Expected \"x.y.z\" semver format.")))?,
        };
        let (maj, min, pat) = ENGINE_VERSION;
        if req.0 != maj || req > ENGINE_VERSION {
            return Err(item.validate(v, format!("Rules require engine version {}.{}.{}, but engine version is {maj}.{min}.{pat}", req.0, req.1, req.2)));
        }
        Ok(())
    }

    fn plugin_versions(&mut self, item: &Item<'_>) -> Result<(), LoadMessage> {
        let v = item
            .node
            .get("required_plugin_versions")
            .unwrap_or(item.node);
        let Some(seq) = v.as_seq() else {
            return Err(item.err(v, "Value of 'required_plugin_versions' must be a sequence"));
        };
        for req in seq {
            let name = req
                .get("name")
                .and_then(Node::as_str)
                .ok_or_else(|| item.err(req, "Item has no mapping for key 'name'"))?;
            let version = req
                .get("version")
                .and_then(Node::as_str)
                .ok_or_else(|| item.err(req, "Item has no mapping for key 'version'"))?;
            let mut candidates = vec![(name.to_string(), version.to_string())];
            if let Some(alts) = req.get("alternatives").and_then(Node::as_seq) {
                for a in alts {
                    if let (Some(n), Some(ver)) = (
                        a.get("name").and_then(Node::as_str),
                        a.get("version").and_then(Node::as_str),
                    ) {
                        candidates.push((n.to_string(), ver.to_string()));
                    }
                }
            }
            let satisfied = candidates.iter().any(|(n, want)| {
                self.provided_plugins.iter().any(|(pn, have)| {
                    pn == n
                        && match (parse_version(have), parse_version(want)) {
                            (Some(h), Some(w)) => h.0 == w.0 && h >= w,
                            _ => false,
                        }
                })
            });
            if !satisfied {
                return Err(item.validate(req, format!("Plugin '{name}' is required with version >= {version}, but this engine does not provide it")));
            }
        }
        Ok(())
    }

    /// `append: true` or `override:` entries; errors if both or if keys and entries disagree.
    fn mode(
        &self,
        item: &Item<'_>,
        appendable: &[&str],
        replaceable: &[&str],
        name_key: &str,
    ) -> Result<Mode, LoadMessage> {
        let append = item.boolean("append")?.unwrap_or(false);
        let ov = item.node.get("override");
        if append && ov.is_some() {
            return Err(item.err(item.node, "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."));
        }
        let Some(ov) = ov else {
            return Ok(if append { Mode::Append } else { Mode::Define });
        };
        let entries = ov
            .as_map()
            .ok_or_else(|| item.err(ov, "Value of 'override' must be a map"))?;
        let mut out = Vec::new();
        for (k, v) in entries {
            let key = k.as_str().unwrap_or("");
            let how = v.as_str().unwrap_or("");
            match how {
                "append" if appendable.contains(&key) => out.push((key.to_string(), true)),
                "replace" if replaceable.contains(&key) => out.push((key.to_string(), false)),
                "append" | "replace" => return Err(item.err(k, format!("Key '{key}' cannot be {how}ed"))),
                _ => return Err(item.err(v, format!("Invalid override operation for key '{key}': '{how}'. Allowed values are: append, replace"))),
            }
            if item.node.get(key).is_none() {
                return Err(item.err(
                    k,
                    format!(
                        "An 'override' entry for '{key}' was specified but '{key}' is not defined"
                    ),
                ));
            }
        }
        for (k, _) in item.node.as_map().unwrap_or(&[]) {
            let key = k.as_str().unwrap_or("");
            if key != name_key
                && key != "override"
                && (appendable.contains(&key) || replaceable.contains(&key))
                && !out.iter().any(|(o, _)| o == key)
            {
                return Err(item.err(
                    k,
                    format!("'{key}' key defined but no corresponding entry under 'override'"),
                ));
            }
        }
        Ok(Mode::Override(out))
    }

    fn list(&mut self, item: &Item<'_>, msgs: &mut Vec<LoadMessage>) -> Result<(), LoadMessage> {
        let mode = self.mode(item, &["items"], &["items"], "list")?;
        let items = item.string_list("items")?;
        let id = self.next();
        let existing = self.list_idx.get(&item.name).copied();
        match mode {
            Mode::Define => {
                let items = items
                    .ok_or_else(|| item.err(item.node, "Item has no mapping for key 'items'"))?;
                let info = ListInfo {
                    name: item.name.clone(),
                    items,
                    index: id,
                    visibility: id,
                    loc: item.loc_of(item.node),
                };
                match existing {
                    Some(i) => {
                        let index = self.lists[i].index;
                        self.lists[i] = ListInfo { index, ..info };
                    }
                    None => {
                        self.list_idx.insert(item.name.clone(), self.lists.len());
                        self.lists.push(info);
                    }
                }
            }
            Mode::Append | Mode::Override(_) => {
                let Some(i) = existing else {
                    let how = if matches!(mode, Mode::Append) {
                        "append"
                    } else {
                        "override"
                    };
                    return Err(item.validate(
                        item.node,
                        format!("List has '{how}' key but no list by that name already exists"),
                    ));
                };
                let items = items.unwrap_or_default();
                if items.is_empty() {
                    msgs.push(item.msg(
                        Severity::Warning,
                        "LOAD_APPEND_NO_VALUES",
                        item.node,
                        "Overriding/appending list with no values".into(),
                    ));
                }
                let replace =
                    matches!(&mode, Mode::Override(o) if o.iter().any(|(k, a)| k == "items" && !a));
                let l = &mut self.lists[i];
                if replace {
                    l.items = items;
                } else {
                    l.items.extend(items);
                }
                l.visibility = id;
            }
        }
        Ok(())
    }

    fn macro_(&mut self, item: &Item<'_>, _msgs: &mut Vec<LoadMessage>) -> Result<(), LoadMessage> {
        let mode = self.mode(item, &["condition"], &["condition"], "macro")?;
        let (cond, cond_node) = item.required_string("condition")?;
        if !item
            .name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            || !item
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            _msgs.push(item.msg(Severity::Warning, "LOAD_INVALID_MACRO_NAME", item.node, format!("Macro has an invalid name '{}'. Macro names should match a regular expression: ^[a-zA-Z_][a-zA-Z0-9_]*$", item.name)));
        }
        let id = self.next();
        let existing = self.macro_idx.get(&item.name).copied();
        match mode {
            Mode::Define => {
                let info = MacroInfo {
                    name: item.name.clone(),
                    condition: cond,
                    index: id,
                    visibility: id,
                    loc: item.loc_of(item.node),
                    cond_loc: item.loc_of(cond_node),
                };
                match existing {
                    Some(i) => {
                        let index = self.macros[i].index;
                        self.macros[i] = MacroInfo { index, ..info };
                    }
                    None => {
                        self.macro_idx.insert(item.name.clone(), self.macros.len());
                        self.macros.push(info);
                    }
                }
            }
            Mode::Append | Mode::Override(_) => {
                let Some(i) = existing else {
                    let how = if matches!(mode, Mode::Append) {
                        "append"
                    } else {
                        "override"
                    };
                    return Err(item.validate(
                        item.node,
                        format!("Macro has '{how}' key but no macro by that name already exists"),
                    ));
                };
                let replace = matches!(&mode, Mode::Override(o) if o.iter().any(|(k, a)| k == "condition" && !a));
                let m = &mut self.macros[i];
                if replace {
                    m.condition = cond;
                    m.cond_loc = item.loc_of(cond_node);
                } else {
                    m.condition = format!("{} {}", m.condition, cond);
                }
                m.visibility = id;
            }
        }
        Ok(())
    }

    fn exceptions(
        &self,
        item: &Item<'_>,
        require_fields: bool,
    ) -> Result<Option<Vec<ExceptionInfo>>, LoadMessage> {
        let Some(ex) = item.node.get("exceptions") else {
            return Ok(None);
        };
        if ex.is_null() {
            return Ok(Some(Vec::new()));
        }
        let seq = ex
            .as_seq()
            .ok_or_else(|| item.err(ex, "Rule exceptions must be a sequence"))?;
        let mut out = Vec::new();
        for e in seq {
            let name = e
                .get("name")
                .and_then(Node::as_str)
                .ok_or_else(|| item.err(e, "Item has no mapping for key 'name'"))?;
            for (k, _) in e.as_map().unwrap_or(&[]) {
                let key = k.as_str().unwrap_or("");
                if !["name", "fields", "comps", "values"].contains(&key) {
                    return Err(
                        item.err(k, format!("Unexpected key '{key}' in exception '{name}'"))
                    );
                }
            }
            let to_val = |n: &Node| -> Result<ExValue, LoadMessage> { exvalue(item, n) };
            let fields = match e.get("fields") {
                Some(f) => to_val(f)?,
                None if require_fields => {
                    return Err(item.err(e, "Item has no mapping for key 'fields'"))
                }
                None => ExValue::List(Vec::new()),
            };
            let comps = e.get("comps").map(to_val).transpose()?;
            let values = match e.get("values") {
                Some(v) if !v.is_null() => match to_val(v)? {
                    ExValue::List(l) => l,
                    ExValue::Item(_) => {
                        return Err(item.err(v, "Rule exception values must be a sequence"))
                    }
                },
                _ => Vec::new(),
            };
            out.push(ExceptionInfo {
                name: name.to_string(),
                fields,
                comps,
                values,
                loc: item.loc_of(e),
            });
        }
        Ok(Some(out))
    }

    fn rule(&mut self, item: &Item<'_>, msgs: &mut Vec<LoadMessage>) -> Result<(), LoadMessage> {
        let mode = self.mode(item, RULE_APPENDABLE, RULE_REPLACEABLE, "rule")?;
        if mode == Mode::Append {
            msgs.push(item.msg(
                Severity::Warning,
                "LOAD_DEPRECATED_ITEM",
                item.node,
                "The 'append' key is deprecated. Use 'override' instead.".into(),
            ));
        }
        let source = item.string("source")?.map(|(s, _)| s);
        let existing = self.rule_idx.get(&item.name).copied();
        let map_keys: Vec<&str> = item
            .node
            .as_map()
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .collect();
        let priority = match item.string("priority")? {
            Some((p, n)) => Some(
                Priority::parse(&p)
                    .ok_or_else(|| item.err(n, format!("Invalid priority '{p}'")))?,
            ),
            None => None,
        };
        let tags = item.string_list("tags")?;
        let enabled = item.boolean("enabled")?;
        let warn_evttypes = item.boolean("warn_evttypes")?;
        let skip = item.boolean("skip-if-unknown-filter")?;
        let capture = item.boolean("capture")?;
        let capture_duration = match item.string("capture_duration")? {
            Some((s, n)) => Some(s.parse::<u64>().map_err(|_| {
                item.err(n, "Value of 'capture_duration' must be an unsigned integer")
            })?),
            None => None,
        };
        let id = self.next();
        match &mode {
            Mode::Define => {
                // Deprecated form: only `rule` and `enabled` switch an existing rule.
                if map_keys.iter().all(|k| *k == "rule" || *k == "enabled") && enabled.is_some() {
                    let Some(i) = existing else {
                        return Err(item.validate(
                            item.node,
                            "Rule has 'enabled' key but no rule by that name already exists",
                        ));
                    };
                    self.rules[i].enabled = enabled.unwrap_or(true);
                    self.rules[i].visibility = id;
                    return Ok(());
                }
                let (condition, cond_node) = item.required_string("condition")?;
                let (output, output_node) = item.required_string("output")?;
                let (desc, _) = item.required_string("desc")?;
                let priority = priority
                    .ok_or_else(|| item.err(item.node, "Item has no mapping for key 'priority'"))?;
                let source = source.unwrap_or_else(|| "syscall".to_string());
                if let Some(i) = existing {
                    if self.rules[i].source != source && item.node.get("source").is_some() {
                        return Err(item.validate(
                            item.node,
                            format!(
                                "Rule '{}' redefined with a different source ('{}' vs '{}')",
                                item.name, self.rules[i].source, source
                            ),
                        ));
                    }
                }
                let exceptions = self.exceptions(item, true)?.unwrap_or_default();
                let mut seen = BTreeSet::new();
                for e in &exceptions {
                    if !seen.insert(e.name.clone()) {
                        msgs.push(item.msg(
                            Severity::Warning,
                            "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
                            item.node,
                            format!(
                                "Multiple definitions of exception '{}' in the same rule",
                                e.name
                            ),
                        ));
                    }
                }
                let info = RuleInfo {
                    name: item.name.clone(),
                    condition,
                    output: output.trim().to_string(),
                    desc,
                    priority,
                    source,
                    enabled: enabled.unwrap_or(true),
                    tags: tags.unwrap_or_default().into_iter().collect(),
                    exceptions,
                    warn_evttypes: warn_evttypes.unwrap_or(true),
                    skip_if_unknown_filter: skip.unwrap_or(false),
                    capture: capture.unwrap_or(false),
                    capture_duration: capture_duration.unwrap_or(0),
                    index: id,
                    visibility: id,
                    loc: item.loc_of(item.node),
                    cond_loc: item.loc_of(cond_node),
                    output_loc: item.loc_of(output_node),
                };
                match existing {
                    Some(i) => {
                        let index = self.rules[i].index;
                        self.rules[i] = RuleInfo { index, ..info };
                    }
                    None => {
                        self.rule_idx.insert(item.name.clone(), self.rules.len());
                        self.rules.push(info);
                    }
                }
            }
            Mode::Append | Mode::Override(_) => {
                let Some(i) = existing else {
                    let how = if mode == Mode::Append {
                        "append"
                    } else {
                        "override"
                    };
                    return Err(item.validate(
                        item.node,
                        format!("Rule has '{how}' key but no rule by that name already exists"),
                    ));
                };
                let append_all = mode == Mode::Append;
                let ops: Vec<(String, bool)> = match &mode {
                    Mode::Override(o) => o.clone(),
                    _ => RULE_APPENDABLE
                        .iter()
                        .filter(|k| item.node.get(k).is_some())
                        .map(|k| (k.to_string(), true))
                        .collect(),
                };
                if append_all {
                    for k in &map_keys {
                        if !["rule", "append", "source"].contains(k) && !RULE_APPENDABLE.contains(k)
                        {
                            return Err(item.err(
                                item.node,
                                format!("Key '{k}' cannot be appended to, use 'override' instead"),
                            ));
                        }
                    }
                }
                if let Some(s) = &source {
                    if *s != self.rules[i].source {
                        return Err(item.validate(
                            item.node,
                            format!(
                                "Rule '{}' appended/overridden with a different source",
                                item.name
                            ),
                        ));
                    }
                }
                let new_ex = self.exceptions(item, false)?;
                let cond_node = item.node.get("condition");
                let r = &mut self.rules[i];
                for (key, append) in ops {
                    let text = |k: &str| {
                        item.node
                            .get(k)
                            .and_then(Node::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    match (key.as_str(), append) {
                        ("condition", true) => {
                            r.condition = format!("{} {}", r.condition, text("condition"))
                        }
                        ("condition", false) => {
                            r.condition = text("condition");
                            if let Some(n) = cond_node {
                                r.cond_loc = item.loc_of(n);
                            }
                        }
                        ("output", true) => {
                            r.output = format!("{} {}", r.output, text("output"))
                                .trim()
                                .to_string()
                        }
                        ("output", false) => r.output = text("output").trim().to_string(),
                        ("desc", true) => r.desc = format!("{} {}", r.desc, text("desc")),
                        ("desc", false) => r.desc = text("desc"),
                        ("tags", true) => r.tags.extend(tags.clone().unwrap_or_default()),
                        ("tags", false) => {
                            r.tags = tags.clone().unwrap_or_default().into_iter().collect()
                        }
                        ("priority", _) => r.priority = priority.unwrap_or(r.priority),
                        ("enabled", _) => r.enabled = enabled.unwrap_or(r.enabled),
                        ("warn_evttypes", _) => {
                            r.warn_evttypes = warn_evttypes.unwrap_or(r.warn_evttypes)
                        }
                        ("skip-if-unknown-filter", _) => {
                            r.skip_if_unknown_filter = skip.unwrap_or(r.skip_if_unknown_filter)
                        }
                        ("capture", _) => r.capture = capture.unwrap_or(r.capture),
                        ("capture_duration", _) => {
                            r.capture_duration = capture_duration.unwrap_or(r.capture_duration)
                        }
                        ("exceptions", false) => r.exceptions = new_ex.clone().unwrap_or_default(),
                        ("exceptions", true) => {
                            for e in new_ex.clone().unwrap_or_default() {
                                if e.values.is_empty() {
                                    msgs.push(item.msg(
                                        Severity::Warning,
                                        "LOAD_APPEND_NO_VALUES",
                                        item.node,
                                        format!(
                                            "Overriding/appending exception '{}' with no values",
                                            e.name
                                        ),
                                    ));
                                }
                                match r.exceptions.iter_mut().find(|x| x.name == e.name) {
                                    Some(x) => x.values.extend(e.values),
                                    None => {
                                        if matches!(&e.fields, ExValue::List(l) if l.is_empty()) {
                                            return Err(item.validate(item.node, format!("Rule exception new item {}: must have fields property with a list of fields", e.name)));
                                        }
                                        r.exceptions.push(e);
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
                r.visibility = id;
            }
        }
        Ok(())
    }
}

fn exvalue(item: &Item<'_>, n: &Node) -> Result<ExValue, LoadMessage> {
    match &n.kind {
        NodeKind::Scalar { text, .. } => Ok(ExValue::Item(text.clone())),
        NodeKind::Seq(s) => Ok(ExValue::List(
            s.iter()
                .map(|x| exvalue(item, x))
                .collect::<Result<_, _>>()?,
        )),
        NodeKind::Map(_) => Err(item.err(
            n,
            "Exception fields, comps and values must be strings or lists",
        )),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Define,
    Append,
    /// (key, true = append / false = replace)
    Override(Vec<(String, bool)>),
}
