//! Parsing containerd's config with `toml_edit` (which keeps comments, order and formatting)
//! and walking its nested tables with errors that say which key was unexpected.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, TableLike};

use crate::error::InstallError;

/// Parses `text`; a syntax error is reported as `file:line:column: reason`.
pub(crate) fn parse_config(text: &str, path: &Path) -> Result<DocumentMut, InstallError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let (line, column) = line_column(text, offset);
        InstallError::ConfigSyntax {
            path: path.to_path_buf(),
            line,
            column,
            // toml_edit's message spans lines ("invalid table header\nexpected ..."); keep
            // the error on one line so it reads well in logs.
            reason: e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
        }
    })
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn dotted(path: &[&str]) -> String {
    path.join(".")
}

/// The table at `path` for reading; inline tables are accepted. `None` when a segment is
/// missing; an error when a segment is something other than a table.
pub(crate) fn table_like<'a>(
    root: &'a Table,
    path: &[&str],
    file: &Path,
) -> Result<Option<&'a dyn TableLike>, InstallError> {
    let mut current: &dyn TableLike = root;
    for (depth, key) in path.iter().enumerate() {
        let Some(item) = current.get(key) else {
            return Ok(None);
        };
        current = item
            .as_table_like()
            .ok_or_else(|| not_a_table(file, &path[..=depth], item))?;
    }
    Ok(Some(current))
}

/// The standard table at `path` for editing, creating missing segments as implicit tables
/// (which print no header of their own).
pub(crate) fn ensure_table_mut<'a>(
    root: &'a mut Table,
    path: &[&str],
    file: &Path,
) -> Result<&'a mut Table, InstallError> {
    let mut current = root;
    for (depth, key) in path.iter().enumerate() {
        let item = current.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        current = editable_table(item, file, &path[..=depth])?;
    }
    Ok(current)
}

/// The standard table at `path` for editing, or `None` when a segment is missing.
pub(crate) fn table_mut<'a>(
    root: &'a mut Table,
    path: &[&str],
    file: &Path,
) -> Result<Option<&'a mut Table>, InstallError> {
    let mut current = root;
    for (depth, key) in path.iter().enumerate() {
        let Some(item) = current.get_mut(key) else {
            return Ok(None);
        };
        current = editable_table(item, file, &path[..=depth])?;
    }
    Ok(Some(current))
}

fn editable_table<'a>(
    item: &'a mut Item,
    file: &Path,
    path: &[&str],
) -> Result<&'a mut Table, InstallError> {
    let shape_error = |reason: String| InstallError::ConfigShape {
        path: file.to_path_buf(),
        reason,
    };
    match item {
        Item::Table(t) if t.is_dotted() => Err(shape_error(format!(
            "`{}` is written with dotted keys; the installer only edits [table] sections, please rewrite it as a [{}] section",
            dotted(path),
            dotted(path)
        ))),
        Item::Table(t) => Ok(t),
        Item::Value(toml_edit::Value::InlineTable(_)) => Err(shape_error(format!(
            "`{}` is an inline table; the installer only edits [table] sections, please rewrite it as a [{}] section",
            dotted(path),
            dotted(path)
        ))),
        other => Err(not_a_table(file, path, other)),
    }
}

fn not_a_table(file: &Path, path: &[&str], item: &Item) -> InstallError {
    InstallError::ConfigShape {
        path: file.to_path_buf(),
        reason: format!(
            "`{}` should be a table but is {}",
            dotted(path),
            item.type_name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_offsets_to_line_and_column() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(text, 9), (2, 3));
        assert_eq!(line_column(text, 1000), (3, 1));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse_config("[plugins\nfoo = ", Path::new("c.toml"));
        match err {
            Err(InstallError::ConfigSyntax { line, column, .. }) => {
                assert_eq!((line, column), (1, 9));
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_to_edit_through_a_value() -> Result<(), Box<dyn std::error::Error>> {
        let mut doc: DocumentMut = "plugins = 3\n".parse()?;
        let err = ensure_table_mut(doc.as_table_mut(), &["plugins", "x"], Path::new("c.toml"));
        assert!(matches!(err, Err(InstallError::ConfigShape { .. })));
        Ok(())
    }
}
