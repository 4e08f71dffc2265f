//! Falco's compile passes (`rule_loader_compiler.cpp`), the event-type indexed ruleset
//! (`evttype_index_ruleset.cpp`) and alerts (`formats.cpp`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ast::{Expr, Pos};
use crate::collect::{Collector, ExValue, ExceptionInfo, Loc, RuleInfo};
use crate::compile::{assign_memo_slots, compile, Filter, Memo};
use crate::error::{LoadMessage, ReadError, Severity};
use crate::evttype::{event_types, unknown_event_names, EventSet};
use crate::field::{field_id, resolve_field, EventAccess};
use crate::output::{iso8601_offset, rfc3339_nanos, time_of_day, OutputFormat};
use crate::parser::{is_list_operator, is_str_operator_with_modifier, parse, supported_operators};
use crate::priority::Priority;

/// The container plugin's suggested output fields, which Falco appends to every rule by default.
pub const SUGGESTED_OUTPUT: &str = "container_id=%container.id container_name=%container.name container_image_repository=%container.image.repository container_image_tag=%container.image.tag k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name";

/// Falco's `rule_matching`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleMatching {
    /// Stop at the first matching rule (Falco's default).
    First,
    /// Every matching rule alerts, in definition order.
    All,
}

/// Engine settings (the parts of `falco.yaml` the engine uses).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Rules less severe than this are not enabled (Falco `priority:`; default debug).
    pub min_priority: Priority,
    pub rule_matching: RuleMatching,
    /// Added after each rule's output (Falco `append_output`); default: the container
    /// plugin's suggested fields.
    pub append_output: Option<String>,
    /// Plugins whose fields this engine provides, for `required_plugin_versions`.
    pub provided_plugins: Vec<(String, String)>,
    pub hostname: String,
    /// `time_format_iso_8601`.
    pub time_format_iso_8601: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            min_priority: Priority::Debug,
            rule_matching: RuleMatching::First,
            append_output: Some(SUGGESTED_OUTPUT.to_string()),
            provided_plugins: vec![("container".into(), "0.4.0".into())],
            hostname: String::new(),
            time_format_iso_8601: false,
        }
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub desc: String,
    pub priority: Priority,
    pub source: String,
    pub tags: BTreeSet<String>,
    pub enabled: bool,
    pub capture: bool,
    pub capture_duration: u64,
    /// The final condition text (exceptions added, lists substituted), as Falco compiles it.
    pub condition: String,
    /// The output format as written, plus `append_output`.
    pub output: String,
    pub event_types: EventSet,
    /// Fields named in exceptions (Falco adds them to outputs as extra fields).
    pub exception_fields: BTreeSet<String>,
    filter: Filter,
    format: OutputFormat,
}

impl Rule {
    pub fn event_type_names(&self) -> Vec<&'static str> {
        self.event_types.names()
    }
}

/// Problems found while loading, and what loaded.
#[derive(Debug)]
pub struct LoadResult {
    pub messages: Vec<LoadMessage>,
}

impl LoadResult {
    pub fn errors(&self) -> impl Iterator<Item = &LoadMessage> {
        self.messages
            .iter()
            .filter(|m| m.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &LoadMessage> {
        self.messages
            .iter()
            .filter(|m| m.severity == Severity::Warning)
    }

    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }
}

/// A rule that matched an event.
#[derive(Debug, Clone)]
pub struct Alert {
    pub rule: usize,
    pub rule_name: String,
    pub priority: Priority,
    pub source: String,
    pub tags: Vec<String>,
    pub time_ns: u64,
    /// The message (rule output with values), without the time/priority prefix.
    pub message: String,
    /// Falco's full text line: `"<time>: <Priority> <message>"`.
    pub output: String,
    /// `output_fields`, typed, `null` for missing values.
    pub output_fields: serde_json::Map<String, serde_json::Value>,
    pub hostname: String,
}

impl Alert {
    /// Falco's JSON alert with `json_include_output_property` and `json_include_tags_property`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "hostname": self.hostname,
            "output": self.output,
            "priority": self.priority.name(),
            "rule": self.rule_name,
            "source": self.source,
            "tags": self.tags,
            "time": rfc3339_nanos(self.time_ns),
            "output_fields": serde_json::Value::Object(self.output_fields.clone()),
        })
    }
}

/// The compiled, event-type-indexed rules.
#[derive(Debug, Default)]
pub struct Ruleset {
    rules: Vec<Rule>,
    counters: Vec<AtomicU64>,
    /// For each event name index, the enabled rules to evaluate, in definition order.
    buckets: Vec<Vec<u32>>,
    matching_all: bool,
    hostname: String,
    iso8601: bool,
    /// Memo slots of the checks shared by several rules ([`assign_memo_slots`]).
    memo_slots: usize,
}

thread_local! {
    /// The shared checks' results for the event being evaluated on this thread (taken out
    /// while in use, so a nested evaluation gets a fresh one instead of a conflict).
    static MEMO: std::cell::Cell<Memo> = std::cell::Cell::new(Memo::default());
}

impl Ruleset {
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// How many times each rule matched, by rule index.
    pub fn match_count(&self, rule: usize) -> u64 {
        self.counters
            .get(rule)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Enables or disables rules by name, `*` wildcards allowed (Falco's `rules:` config).
    pub fn set_enabled(&mut self, pattern: &str, enabled: bool) {
        for r in &mut self.rules {
            if crate::matching::glob_match(pattern.as_bytes(), r.name.as_bytes(), false) {
                r.enabled = enabled;
            }
        }
        self.rebuild_buckets(Priority::Debug);
    }

    fn rebuild_buckets(&mut self, min: Priority) {
        let n = crate::event_names::EVENT_NAMES.len();
        self.buckets = vec![Vec::new(); n];
        for (i, r) in self.rules.iter().enumerate() {
            if !r.enabled || !r.priority.at_least(min) || r.source != "syscall" {
                continue;
            }
            for (t, b) in self.buckets.iter_mut().enumerate() {
                if r.event_types.contains(t) {
                    b.push(u32::try_from(i).unwrap_or(u32::MAX));
                }
            }
        }
    }

    /// Evaluates the rules that can match this event type; calls `on_match` with each matching
    /// rule's index (only the first with [`RuleMatching::First`]). Does not allocate (after
    /// the first event on a thread, which sizes that thread's memo of shared checks).
    pub fn evaluate<E: EventAccess + ?Sized>(
        &self,
        evt: &mut E,
        on_match: impl FnMut(usize, &mut E),
    ) -> usize {
        let Some(t) = evt.event_type_index() else {
            return 0;
        };
        let Some(bucket) = self.buckets.get(t) else {
            return 0;
        };
        if bucket.is_empty() {
            return 0;
        }
        let mut memo = MEMO.with(std::cell::Cell::take);
        memo.next_event(self.memo_slots);
        let n = self.evaluate_bucket(bucket, evt, &mut memo, on_match);
        MEMO.with(|m| m.set(memo));
        n
    }

    fn evaluate_bucket<E: EventAccess + ?Sized>(
        &self,
        bucket: &[u32],
        evt: &mut E,
        memo: &mut Memo,
        mut on_match: impl FnMut(usize, &mut E),
    ) -> usize {
        let mut n = 0;
        for &ri in bucket {
            let ri = ri as usize;
            let Some(rule) = self.rules.get(ri) else {
                continue;
            };
            if rule.filter.eval_memo(evt, memo) {
                if let Some(c) = self.counters.get(ri) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
                on_match(ri, evt);
                if !self.matching_all {
                    break;
                }
            }
        }
        n
    }

    /// Builds the alert of a matching rule for this event.
    pub fn alert<E: EventAccess + ?Sized>(&self, rule: usize, evt: &mut E) -> Option<Alert> {
        let r = self.rules.get(rule)?;
        let time_ns = evt_time(evt);
        let message = r.format.render(evt);
        let mut fields = serde_json::Map::new();
        r.format.json_fields(evt, &mut fields);
        let prefix = if self.iso8601 {
            iso8601_offset(time_ns)
        } else {
            time_of_day(time_ns)
        };
        fields.insert(
            if self.iso8601 {
                "evt.time.iso8601"
            } else {
                "evt.time"
            }
            .to_string(),
            serde_json::Value::from(time_ns),
        );
        Some(Alert {
            rule,
            rule_name: r.name.clone(),
            priority: r.priority,
            source: r.source.clone(),
            tags: r.tags.iter().cloned().collect(),
            time_ns,
            output: format!("{prefix}: {} {message}", r.priority.name()),
            message,
            output_fields: fields,
            hostname: self.hostname.clone(),
        })
    }

    /// Evaluates and builds alerts (allocates only when something matches).
    pub fn evaluate_alerts<E: EventAccess + ?Sized>(&self, evt: &mut E) -> Vec<Alert> {
        let mut out = Vec::new();
        self.evaluate(evt, |ri, e| {
            if let Some(a) = self.alert(ri, e) {
                out.push(a);
            }
        });
        out
    }
}

fn evt_time<E: EventAccess + ?Sized>(evt: &mut E) -> u64 {
    let Some(id) = field_id("evt.rawtime") else {
        return 0;
    };
    match evt.extract(id, None) {
        Some(crate::field::Value::Uint(u)) => u,
        Some(crate::field::Value::Int(i)) => u64::try_from(i).unwrap_or(0),
        _ => 0,
    }
}

/// The rules engine: load rules files (in order, later ones amending earlier ones), then
/// evaluate events with [`Engine::ruleset`].
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    collector: Collector,
    ruleset: Ruleset,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        let collector = Collector::new(config.provided_plugins.clone());
        Engine {
            config,
            collector,
            ruleset: Ruleset::default(),
        }
    }

    pub fn ruleset(&self) -> &Ruleset {
        &self.ruleset
    }

    pub fn ruleset_mut(&mut self) -> &mut Ruleset {
        &mut self.ruleset
    }

    /// Loads rules files from disk, in order.
    pub fn load_files<P: AsRef<std::path::Path>>(
        &mut self,
        paths: &[P],
    ) -> Result<LoadResult, ReadError> {
        let mut contents = Vec::new();
        for p in paths {
            let path = p.as_ref().display().to_string();
            let text = std::fs::read_to_string(p).map_err(|source| ReadError {
                path: path.clone(),
                source,
            })?;
            contents.push((path, text));
        }
        let refs: Vec<(&str, &str)> = contents
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        Ok(self.load(&refs))
    }

    /// Loads `(name, content)` rules sources, in order, adding to what is already loaded, and
    /// recompiles the ruleset. Every problem is reported.
    pub fn load(&mut self, sources: &[(&str, &str)]) -> LoadResult {
        let mut msgs = Vec::new();
        for (name, text) in sources {
            self.collector.collect_file(name, text, &mut msgs);
        }
        self.ruleset = compile_all(&self.collector, &self.config, &mut msgs);
        LoadResult { messages: msgs }
    }
}

fn msg(
    sev: Severity,
    code: &'static str,
    loc: &Loc,
    kind: &str,
    name: &str,
    message: String,
) -> LoadMessage {
    LoadMessage {
        severity: sev,
        code,
        message,
        file: loc.file.clone(),
        line: loc.line,
        col: loc.col,
        item_type: kind.into(),
        item_name: name.into(),
    }
}

/// Position of a condition error: the condition's YAML position, moved by the parser position
/// when the error is on the condition's first line (block scalars shift columns otherwise).
fn at(loc: &Loc, pos: Pos) -> Loc {
    let mut l = loc.clone();
    if pos.line <= 1 {
        l.col += pos.col.saturating_sub(1) as usize;
    } else {
        l.line += pos.line as usize - 1;
        l.col = pos.col as usize;
    }
    l
}

/// Falco `quote_item`.
fn quote_item(s: &str) -> String {
    if s.contains(' ') && !s.starts_with('"') && !s.starts_with('\'') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// Falco `resolve_list`: textual substitution of a list name by its items.
fn resolve_list(cnd: &mut String, name: &str, items: &[String]) -> bool {
    const BLANKS: &[u8] = b" \t\n\r";
    const DELIMS: &[u8] = b" \t\n\r(),=";
    let mut used = false;
    let mut start = cnd.find(name);
    while let Some(mut s) = start {
        let b = cnd.as_bytes();
        let mut end = s + name.len();
        if (s == 0 || DELIMS.contains(&b[s - 1])) && (end >= b.len() || DELIMS.contains(&b[end])) {
            while s > 0 && BLANKS.contains(&b[s - 1]) {
                s -= 1;
            }
            while end < b.len() && BLANKS.contains(&b[end]) {
                end += 1;
            }
            let sub = items
                .iter()
                .map(|v| quote_item(v))
                .collect::<Vec<_>>()
                .join(", ");
            if sub.is_empty() {
                if s > 0 && b[s - 1] == b',' {
                    s -= 1;
                } else if end < b.len() && b[end] == b',' {
                    end += 1;
                }
            }
            let mut new = String::with_capacity(cnd.len() + sub.len());
            if s > 0 {
                new.push_str(&cnd[..s]);
                new.push(' ');
            }
            new.push_str(&sub);
            new.push(' ');
            if end <= cnd.len() {
                new.push_str(&cnd[end..]);
            }
            *cnd = new;
            s += sub.len() + 1;
            used = true;
        }
        start = cnd
            .get(s + 1..)
            .and_then(|r| r.find(name))
            .map(|i| i + s + 1);
    }
    used
}

fn ex_item(v: &ExValue) -> Option<&str> {
    match v {
        ExValue::Item(s) => Some(s),
        ExValue::List(_) => None,
    }
}

/// Falco `build_rule_exception_infos`, with `validate_exception_info`'s checks.
fn build_exceptions(
    exs: &[ExceptionInfo],
    cond: &mut String,
    fields_out: &mut BTreeSet<String>,
) -> Result<(), (String, Loc)> {
    *cond = format!("({cond})");
    let valid_field = |f: &str| {
        let (name, arg) = match f.split_once('[') {
            Some((n, rest)) => (n, Some(rest.trim_end_matches(']'))),
            None => (f, None),
        };
        resolve_field(name, arg).is_ok()
    };
    let ops = supported_operators();
    for ex in exs {
        let bad = |m: String| (m, ex.loc.clone());
        let mut icond = String::new();
        match &ex.fields {
            ExValue::Item(field) => {
                let comp = match &ex.comps {
                    None => "in".to_string(),
                    Some(ExValue::Item(c)) => c.trim().to_string(),
                    Some(ExValue::List(_)) => {
                        return Err(bad("Fields and comps must both be strings".into()))
                    }
                };
                if comp != "in"
                    && comp != "pmatch"
                    && comp != "intersects"
                    && !is_str_operator_with_modifier(&comp)
                {
                    return Err(bad("When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)".into()));
                }
                if !valid_field(field) {
                    return Err(bad(format!("'{field}' is not a supported filter field")));
                }
                for v in &ex.values {
                    let Some(v) = ex_item(v) else {
                        return Err(bad(
                            "Expected values array to contain a list of strings".into()
                        ));
                    };
                    icond.push_str(if icond.is_empty() { "" } else { ", " });
                    if icond.is_empty() {
                        icond = format!("({field} {comp} (");
                    }
                    fields_out.insert(field.clone());
                    icond.push_str(&quote_item(v));
                }
                if !icond.is_empty() {
                    icond.push_str("))");
                }
            }
            ExValue::List(fields) => {
                let fields: Vec<&str> = fields.iter().filter_map(ex_item).collect();
                let comps: Vec<String> = match &ex.comps {
                    None => vec!["=".to_string(); fields.len()],
                    Some(ExValue::List(c)) => c
                        .iter()
                        .filter_map(ex_item)
                        .map(|s| s.trim().to_string())
                        .collect(),
                    Some(ExValue::Item(_)) => {
                        return Err(bad("Fields and comps lists must have equal length".into()))
                    }
                };
                if fields.len() != comps.len() {
                    return Err(bad("Fields and comps lists must have equal length".into()));
                }
                for c in &comps {
                    if !ops.contains(&c.as_str()) && !is_str_operator_with_modifier(c) {
                        return Err(bad(format!("'{c}' is not a supported comparison operator")));
                    }
                }
                for f in &fields {
                    if !valid_field(f) {
                        return Err(bad(format!("'{f}' is not a supported filter field")));
                    }
                }
                icond.push('(');
                for values in &ex.values {
                    let ExValue::List(values) = values else {
                        return Err(bad("Fields and values lists must have equal length".into()));
                    };
                    if values.len() != fields.len() {
                        return Err(bad("Fields and values lists must have equal length".into()));
                    }
                    icond.push_str(if icond == "(" { "" } else { " or " });
                    icond.push('(');
                    for (k, field) in fields.iter().enumerate() {
                        icond.push_str(if k == 0 { "" } else { " and " });
                        let istr = match &values[k] {
                            ExValue::List(l) => format!(
                                "({})",
                                l.iter()
                                    .filter_map(ex_item)
                                    .map(quote_item)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            ExValue::Item(v) => {
                                if is_list_operator(&comps[k]) {
                                    if v.starts_with('(') {
                                        v.clone()
                                    } else {
                                        format!("({v})")
                                    }
                                } else {
                                    quote_item(v)
                                }
                            }
                        };
                        icond.push_str(&format!(" {field} {} {istr}", comps[k]));
                        fields_out.insert((*field).to_string());
                    }
                    icond.push(')');
                }
                icond.push(')');
                if icond == "()" {
                    icond.clear();
                }
            }
        }
        if !icond.is_empty() {
            cond.push_str(" and not ");
            cond.push_str(&icond);
        }
    }
    Ok(())
}

struct MacroDef {
    ast: Option<Expr>,
    index: u32,
    visibility: u32,
}

/// Replaces macro identifiers by the macros' ASTs, recursively, with Falco's visibility rule.
fn expand(
    e: &Expr,
    macros: &HashMap<&str, MacroDef>,
    visibility: u32,
    stack: &mut Vec<String>,
    used: &mut HashSet<String>,
) -> Result<Expr, (String, Pos)> {
    Ok(match e {
        Expr::And(c, p) => Expr::And(
            c.iter()
                .map(|x| expand(x, macros, visibility, stack, used))
                .collect::<Result<_, _>>()?,
            *p,
        ),
        Expr::Or(c, p) => Expr::Or(
            c.iter()
                .map(|x| expand(x, macros, visibility, stack, used))
                .collect::<Result<_, _>>()?,
            *p,
        ),
        Expr::Not(c, p) => Expr::Not(Box::new(expand(c, macros, visibility, stack, used)?), *p),
        Expr::Identifier(name, pos) => {
            let Some(m) = macros.get(name.as_str()).filter(|m| m.index < visibility) else {
                return Err((format!("Undefined macro '{name}' used in filter."), *pos));
            };
            used.insert(name.clone());
            if stack.iter().any(|s| s == name) {
                return Err((format!("reference loop in macro '{name}'"), *pos));
            }
            let Some(ast) = &m.ast else {
                return Err((format!("macro '{name}' has an invalid condition"), *pos));
            };
            stack.push(name.clone());
            let r = expand(ast, macros, m.visibility, stack, used);
            stack.pop();
            r?
        }
        other => other.clone(),
    })
}

fn compile_all(c: &Collector, cfg: &EngineConfig, msgs: &mut Vec<LoadMessage>) -> Ruleset {
    // Lists: one level of list-in-list, only lists defined earlier.
    let mut lists: Vec<(String, Vec<String>, u32)> = Vec::new();
    let mut used_lists: HashSet<String> = HashSet::new();
    let mut sorted_lists: Vec<_> = c.lists.iter().collect();
    sorted_lists.sort_by_key(|l| l.index);
    for l in &sorted_lists {
        let mut items = Vec::new();
        for it in &l.items {
            match c
                .lists
                .iter()
                .find(|o| &o.name == it && o.index < l.visibility)
            {
                Some(o) => {
                    used_lists.insert(o.name.clone());
                    items.extend(o.items.iter().cloned());
                }
                None => items.push(it.clone()),
            }
        }
        lists.push((l.name.clone(), items, l.index));
    }
    let subst = |text: &str, used: &mut HashSet<String>| -> String {
        let mut t = text.to_string();
        for (name, items, _) in &lists {
            if resolve_list(&mut t, name, items) {
                used.insert(name.clone());
            }
        }
        t
    };

    // Macros: parse.
    let mut macros: HashMap<&str, MacroDef> = HashMap::new();
    let mut sorted_macros: Vec<_> = c.macros.iter().collect();
    sorted_macros.sort_by_key(|m| m.index);
    for m in &sorted_macros {
        let text = subst(&m.condition, &mut used_lists);
        let ast = match parse(&text) {
            Ok(a) => Some(a),
            Err(e) => {
                msgs.push(msg(
                    Severity::Error,
                    "LOAD_ERR_COMPILE_CONDITION",
                    &at(&m.cond_loc, e.pos),
                    "macro",
                    &m.name,
                    e.message,
                ));
                None
            }
        };
        macros.insert(
            m.name.as_str(),
            MacroDef {
                ast,
                index: m.index,
                visibility: m.visibility,
            },
        );
    }
    // Macros: resolve (reports undefined macros and loops), compile-check fields.
    let mut used_macros: HashSet<String> = HashSet::new();
    for m in &sorted_macros {
        let Some(ast) = macros.get(m.name.as_str()).and_then(|d| d.ast.as_ref()) else {
            continue;
        };
        let mut stack = vec![m.name.clone()];
        let mut used = HashSet::new();
        match expand(ast, &macros, m.visibility, &mut stack, &mut used) {
            Ok(_) => {}
            Err((message, pos)) => msgs.push(msg(
                Severity::Error,
                "LOAD_ERR_COMPILE_CONDITION",
                &at(&m.cond_loc, pos),
                "macro",
                &m.name,
                message,
            )),
        }
        used_macros.extend(used);
    }

    // Rules.
    let append = cfg
        .append_output
        .as_deref()
        .filter(|s| !s.trim().is_empty());
    let mut rules: Vec<Rule> = Vec::new();
    let mut sorted_rules: Vec<&RuleInfo> = c.rules.iter().collect();
    sorted_rules.sort_by_key(|r| r.index);
    for r in sorted_rules {
        let kind = "rule";
        let mut cond = r.condition.clone();
        let mut exception_fields = BTreeSet::new();
        if let Err((m, loc)) = build_exceptions(&r.exceptions, &mut cond, &mut exception_fields) {
            msgs.push(msg(
                Severity::Error,
                "LOAD_ERR_VALIDATE",
                &loc,
                kind,
                &r.name,
                m,
            ));
            continue;
        }
        if r.source != "syscall" {
            msgs.push(msg(
                Severity::Warning,
                "LOAD_UNKNOWN_SOURCE",
                &r.loc,
                kind,
                &r.name,
                format!("Unknown source {}, skipping", r.source),
            ));
            continue;
        }
        let text = subst(&cond, &mut used_lists);
        let cond_loc = if r.exceptions.is_empty() {
            r.cond_loc.clone()
        } else {
            r.loc.clone()
        };
        let ast = match parse(&text) {
            Ok(a) => a,
            Err(e) => {
                let pos = if r.exceptions.is_empty() {
                    e.pos
                } else {
                    Pos::start()
                };
                msgs.push(msg(
                    Severity::Error,
                    "LOAD_ERR_COMPILE_CONDITION",
                    &at(&cond_loc, pos),
                    kind,
                    &r.name,
                    e.message,
                ));
                continue;
            }
        };
        let mut used = HashSet::new();
        let expanded = match expand(&ast, &macros, u32::MAX, &mut Vec::new(), &mut used) {
            Ok(e) => e,
            Err((m, pos)) => {
                msgs.push(msg(
                    Severity::Error,
                    "LOAD_ERR_COMPILE_CONDITION",
                    &at(&cond_loc, pos),
                    kind,
                    &r.name,
                    m,
                ));
                continue;
            }
        };
        used_macros.extend(used);
        warn_pass(&expanded, r, msgs);
        let mut unknown = Vec::new();
        unknown_event_names(&expanded, &mut unknown);
        let unknown_err = unknown
            .first()
            .map(|(n, _)| format!("unknown event type {n}"));
        let compiled = match unknown_err {
            Some(m) => Err(crate::compile::CompileError {
                message: m,
                pos: Pos::start(),
                unknown_filter: true,
            }),
            None => compile(&expanded),
        };
        let filter = match compiled {
            Ok(f) => f,
            Err(e) if e.unknown_filter && r.skip_if_unknown_filter => {
                msgs.push(msg(
                    Severity::Warning,
                    "LOAD_UNKNOWN_FILTER",
                    &r.cond_loc,
                    kind,
                    &r.name,
                    format!("{}; rule skipped (skip-if-unknown-filter)", e.message),
                ));
                continue;
            }
            Err(e) => {
                msgs.push(msg(
                    Severity::Error,
                    "LOAD_ERR_COMPILE_CONDITION",
                    &cond_loc,
                    kind,
                    &r.name,
                    e.message,
                ));
                continue;
            }
        };
        let mut output = r.output.clone();
        if output.contains("%container.info") {
            output = output.replace("%container.info", "");
            msgs.push(msg(
                Severity::Warning,
                "LOAD_DEPRECATED_ITEM",
                &r.output_loc,
                kind,
                &r.name,
                "%container.info is deprecated and has been removed from the output".into(),
            ));
        }
        if let Some(a) = append {
            output = format!("{} {}", output.trim_end(), a);
        }
        let format = match OutputFormat::compile(&output) {
            Ok(f) => f,
            Err(e) if r.skip_if_unknown_filter && e.contains("unknown field") => {
                msgs.push(msg(
                    Severity::Warning,
                    "LOAD_UNKNOWN_FILTER",
                    &r.output_loc,
                    kind,
                    &r.name,
                    format!("{e}; rule skipped (skip-if-unknown-filter)"),
                ));
                continue;
            }
            Err(e) => {
                msgs.push(msg(
                    Severity::Error,
                    "LOAD_ERR_COMPILE_OUTPUT",
                    &r.output_loc,
                    kind,
                    &r.name,
                    e,
                ));
                continue;
            }
        };
        let evts = match event_types(&expanded) {
            Ok(s) => s,
            Err(e) => {
                msgs.push(msg(
                    Severity::Error,
                    "LOAD_ERR_COMPILE_CONDITION",
                    &cond_loc,
                    kind,
                    &r.name,
                    e.message,
                ));
                continue;
            }
        };
        if r.warn_evttypes && evts.code_count() > 100 {
            msgs.push(msg(Severity::Warning, "LOAD_NO_EVTTYPE", &r.cond_loc, kind, &r.name, "Rule matches too many evt.type values. This has a significant performance penalty.".into()));
        }
        rules.push(Rule {
            name: r.name.clone(),
            desc: r.desc.clone(),
            priority: r.priority,
            source: r.source.clone(),
            tags: r.tags.clone(),
            enabled: r.enabled,
            capture: r.capture,
            capture_duration: r.capture_duration,
            condition: text,
            output,
            event_types: evts,
            exception_fields,
            filter,
            format,
        });
    }

    for m in &c.macros {
        if !used_macros.contains(&m.name) {
            msgs.push(msg(
                Severity::Warning,
                "LOAD_UNUSED_MACRO",
                &m.loc,
                "macro",
                &m.name,
                "Macro not referred to by any other rule/macro".into(),
            ));
        }
    }
    for l in &c.lists {
        if !used_lists.contains(&l.name) {
            msgs.push(msg(
                Severity::Warning,
                "LOAD_UNUSED_LIST",
                &l.loc,
                "list",
                &l.name,
                "List not referred to by any other rule/macro".into(),
            ));
        }
    }

    let counters = rules.iter().map(|_| AtomicU64::new(0)).collect();
    let memo_slots = {
        let mut filters: Vec<&mut Filter> = rules.iter_mut().map(|r| &mut r.filter).collect();
        assign_memo_slots(&mut filters)
    };
    let mut rs = Ruleset {
        rules,
        counters,
        buckets: Vec::new(),
        matching_all: cfg.rule_matching == RuleMatching::All,
        hostname: cfg.hostname.clone(),
        iso8601: cfg.time_format_iso_8601,
        memo_slots,
    };
    rs.rebuild_buckets(cfg.min_priority);
    rs
}

/// LOAD_UNSAFE_NA_CHECK and LOAD_DEPRECATED_ITEM warnings.
fn warn_pass(e: &Expr, r: &RuleInfo, msgs: &mut Vec<LoadMessage>) {
    match e {
        Expr::And(c, _) | Expr::Or(c, _) => c.iter().for_each(|x| warn_pass(x, r, msgs)),
        Expr::Not(c, _) => warn_pass(c, r, msgs),
        Expr::Binary {
            left: crate::ast::Operand::Field { name, .. },
            right,
            ..
        } => {
            if name.starts_with("evt.latency") || name == "evt.dir" || name == "evt.wait_latency" {
                msgs.push(msg(Severity::Warning, "LOAD_DEPRECATED_ITEM", &r.cond_loc, "rule", &r.name, format!("usage of deprecated field '{name}' has been detected in the rule condition")));
            }
            let na = match right {
                crate::ast::Rhs::Value { value, .. } => value == "<NA>",
                crate::ast::Rhs::List { values, .. } => values.iter().any(|v| v == "<NA>"),
                crate::ast::Rhs::Operand(_) => false,
            };
            if na && (name.starts_with("ka.") || name.starts_with("jevt.")) {
                msgs.push(msg(Severity::Warning, "LOAD_UNSAFE_NA_CHECK", &r.cond_loc, "rule", &r.name, "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule condition. If you need to check for the existence of a field, consider using the 'exists' operator instead.".into()));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_substitution_is_textual() {
        let mut c = "proc.name in (shells) and fd.name=shells".to_string();
        assert!(resolve_list(
            &mut c,
            "shells",
            &["sh".into(), "ba sh".into()]
        ));
        assert_eq!(
            c,
            "proc.name in ( sh, \"ba sh\" ) and fd.name= sh, \"ba sh\" "
        );
        let mut c = "proc.name in (a, empty)".to_string();
        resolve_list(&mut c, "empty", &[]);
        assert!(parse(&c).is_ok(), "{c}");
        let mut c = "proc.name in (empty)".to_string();
        resolve_list(&mut c, "empty", &[]);
        assert!(parse(&c).is_ok(), "{c}");
        let mut c = "proc.name in (notshells)".to_string();
        assert!(!resolve_list(&mut c, "shells", &["x".into()]));
    }
}
