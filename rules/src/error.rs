//! Load errors and warnings, with Falco's LOAD_ERR_* / LOAD_* codes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found while loading rules, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {severity:?} {code} ({item_type} '{item_name}'): {message}")]
pub struct LoadMessage {
    pub severity: Severity,
    /// Falco's code: `LOAD_ERR_YAML_PARSE`, `LOAD_ERR_COMPILE_CONDITION`, `LOAD_NO_EVTTYPE`, ...
    pub code: &'static str,
    pub message: String,
    pub file: String,
    /// 1-based; 0 when the problem has no position (e.g. a file that cannot be read).
    pub line: usize,
    pub col: usize,
    /// `rule`, `macro`, `list`, `required_engine_version`, ... or empty.
    pub item_type: String,
    pub item_name: String,
}

/// A file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read rules file {path}: {source}")]
pub struct ReadError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}
