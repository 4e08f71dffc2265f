use std::path::PathBuf;

/// An error in a configuration file, with enough context to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a value has the wrong type, or a key is
    /// unknown. `line` and `column` are 1-based.
    #[error("{path}:{line}:{column}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    /// The file parsed, but a value is not acceptable.
    #[error("{path}: {key}: {reason}")]
    Invalid {
        path: PathBuf,
        key: String,
        reason: String,
    },
}

/// Deserializes a TOML file's text, positioning any error at its line and
/// column; `path` only names the source in errors.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    text: &str,
) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            reason: e.message().to_string(),
        }
    })
}

/// Turns a byte offset into a 1-based (line, column) pair.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 8), (2, 3));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
