//! A synthetic event: a map of field values.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::HashMap;

use blackbox_rules::{resolve_field, EventAccess, FieldArg, FieldId, Value};

pub const RULES_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/falco-rules"
);

pub fn rules_path(name: &str) -> String {
    let base = std::env::var("FALCO_RULES_DIR").unwrap_or_else(|_| RULES_DIR.to_string());
    format!("{base}/{name}")
}

#[derive(Debug, Clone, Default)]
pub struct Synthetic {
    pub evt_type: String,
    pub values: HashMap<(FieldId, Option<FieldArg>), Value<'static>>,
}

impl Synthetic {
    pub fn new(evt_type: &str) -> Self {
        Synthetic {
            evt_type: evt_type.to_string(),
            values: HashMap::new(),
        }
    }

    /// `name` as written in a condition (`proc.aname[2]`, `evt.arg.flags`).
    pub fn set(mut self, name: &str, v: Value<'static>) -> Self {
        let (n, arg) = match name.split_once('[') {
            Some((n, a)) => (n, Some(a.trim_end_matches(']'))),
            None => (name, None),
        };
        let (id, arg) = resolve_field(n, arg).expect("known field");
        self.values.insert((id, arg), v);
        self
    }

    pub fn s(self, name: &str, v: &str) -> Self {
        self.set(name, Value::Str(Cow::Owned(v.to_string())))
    }

    pub fn u(self, name: &str, v: u64) -> Self {
        self.set(name, Value::Uint(v))
    }

    pub fn i(self, name: &str, v: i64) -> Self {
        self.set(name, Value::Int(v))
    }

    pub fn b(self, name: &str, v: bool) -> Self {
        self.set(name, Value::Bool(v))
    }
}

impl EventAccess for Synthetic {
    fn event_type(&self) -> &str {
        &self.evt_type
    }

    fn extract(&mut self, field: FieldId, arg: Option<&FieldArg>) -> Option<Value<'_>> {
        self.values.get(&(field, arg.cloned())).cloned()
    }
}
