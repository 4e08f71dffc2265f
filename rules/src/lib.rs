//! Falco rules engine: the rules-file loader, libsinsp's condition grammar, the field registry
//! and extraction contract, event-type indexing, evaluation and Falco outputs.
//!
//! The engine does not know how events are stored: it asks an [`EventAccess`] for field values.

pub mod ast;
pub mod collect;
pub mod compile;
pub mod engine;
pub mod error;
pub mod event_names;
pub mod evttype;
pub mod field;
mod fields_table;
pub mod filter;
pub mod matching;
pub mod output;
pub mod parser;
pub mod priority;
pub mod yaml;

pub use engine::{
    Alert, Engine, EngineConfig, LoadResult, Rule, RuleMatching, Ruleset, SUGGESTED_OUTPUT,
};
pub use error::{LoadMessage, ReadError, Severity};
pub use evttype::EventSet;
pub use field::{
    field_id, resolve_field, ArgKind, EventAccess, FieldArg, FieldId, FieldInfo, FieldType,
    Provider, Value, FIELDS,
};
pub use filter::{compile_filter, FilterError};
pub use priority::Priority;
