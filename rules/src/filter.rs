//! A bare filter expression (sysdig's `FILTER` argument, `blackbox events FILTER`): the
//! condition grammar and fields of the rules, without a rules file (so no macros or lists).

use crate::compile::{compile, Filter};
use crate::parser::parse;

/// A filter that does not parse or compile, with the 1-based position of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line}, column {col})")]
pub struct FilterError {
    pub message: String,
    pub line: u32,
    pub col: u32,
}

/// Parses and compiles a filter expression.
pub fn compile_filter(text: &str) -> Result<Filter, FilterError> {
    let expr = parse(text).map_err(|e| FilterError {
        message: e.message,
        line: e.pos.line,
        col: e.pos.col,
    })?;
    compile(&expr).map_err(|e| FilterError {
        message: e.message,
        line: e.pos.line,
        col: e.pos.col,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_filters_compile_or_report_a_position() {
        assert!(compile_filter("evt.type=openat and fd.name contains /etc").is_ok());
        assert!(compile_filter("evt.type in (execve, clone) or not evt.dir=>").is_ok());
        let e = compile_filter("proc.name = cat and").expect_err("incomplete");
        assert!(e.col > 1, "{e}");
        assert!(compile_filter("proc.nope = 1").is_err());
    }
}
