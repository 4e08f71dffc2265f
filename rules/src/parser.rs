//! libsinsp's filter grammar (`userspace/libsinsp/filter/parser.cpp`), a recursive-descent
//! parser over the raw bytes of a condition. Lexing follows the original regexes exactly.

use crate::ast::{Expr, Operand, Pos, Rhs, TransformerArg};

/// A condition that does not parse, with the position where the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub pos: Pos,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.pos.line, self.pos.col
        )
    }
}

/// libsinsp's default limit (Falco raises it to 1000; 100 keeps recursion safe on small thread
/// stacks and is far above what the shipped rules need).
pub const MAX_DEPTH: u32 = 100;

const UNARY_OPS: &[&str] = &["exists"];
const NUM_OPS: &[&str] = &["<=", "<", ">=", ">"];
const STR_OPS: &[&str] = &[
    "==",
    "=",
    "!=",
    "glob ",
    "iglob ",
    "contains ",
    "icontains ",
    "bcontains ",
    "startswith ",
    "bstartswith ",
    "endswith ",
    "regex ",
];
const STR_MODIFIERS: &[&str] = &["oneof ", "anyof ", "allof "];
const LIST_OPS: &[&str] = &["intersects", "in", "pmatch"];
const TRANSFORMERS: &[&str] = &[
    "tolower(",
    "toupper(",
    "b64(",
    "basename(",
    "len(",
    "join(",
    "concat(",
    "getopt(",
];

/// Every operator the grammar knows, trimmed (libsinsp `supported_operators`).
pub fn supported_operators() -> Vec<&'static str> {
    UNARY_OPS
        .iter()
        .chain(NUM_OPS)
        .chain(STR_OPS)
        .chain(LIST_OPS)
        .map(|s| s.trim())
        .collect()
}

/// True for `in`, `intersects`, `pmatch` and modifier operators (`startswith oneof`).
pub fn is_list_operator(op: &str) -> bool {
    LIST_OPS.contains(&op) || is_str_operator_with_modifier(op)
}

/// `"<strop> oneof|anyof|allof"`.
pub fn is_str_operator_with_modifier(op: &str) -> bool {
    let mut parts = op.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(base), Some(m), None) => {
            STR_OPS.iter().any(|s| s.trim() == base) && STR_MODIFIERS.iter().any(|s| s.trim() == m)
        }
        _ => false,
    }
}

/// Parses a whole condition.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        input: input.as_bytes(),
        pos: Pos::start(),
        depth: 0,
        last: String::new(),
    };
    if input.is_empty() {
        return Err(p.err("filter input string is empty"));
    }
    let res = p.parse_or()?;
    if p.pos.idx != p.input.len() {
        return Err(p.err(&format!(
            "unexpected token after '{}', expecting 'or', 'and'",
            p.last
        )));
    }
    Ok(res)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: Pos,
    depth: u32,
    last: String,
}

type PResult<T> = Result<T, ParseError>;

fn is_space(c: u8) -> bool {
    // POSIX [[:space:]]
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

impl<'a> Parser<'a> {
    fn err(&self, msg: &str) -> ParseError {
        ParseError {
            message: msg.to_string(),
            pos: self.pos,
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(self.err(&format!("exceeded max depth limit of {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos.idx..).unwrap_or(&[])
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos.idx).copied()
    }

    fn advance(&mut self, n: usize) {
        for _ in 0..n {
            let Some(c) = self.peek() else { return };
            self.pos.col += 1;
            if c == b'\r' || c == b'\n' {
                self.pos.col = 1;
                self.pos.line += 1;
            }
            self.pos.idx += 1;
        }
    }

    /// Consumes `n` bytes as the last token.
    fn take(&mut self, n: usize) {
        let tok = &self.rest()[..n.min(self.rest().len())];
        self.last = String::from_utf8_lossy(tok).into_owned();
        self.advance(n);
    }

    fn lex_blank(&mut self) -> bool {
        let mut found = false;
        while let Some(c) = self.peek() {
            if matches!(c, b' ' | b'\t' | 0x08 | b'\r' | b'\n') {
                found = true;
                self.advance(1);
            } else {
                break;
            }
        }
        found
    }

    fn lex_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s.as_bytes()) {
            self.take(s.len());
            true
        } else {
            false
        }
    }

    fn lex_str_list(&mut self, list: &[&str]) -> bool {
        list.iter().any(|s| self.lex_str(s))
    }

    fn lex_operator_list(&mut self, list: &[&str]) -> bool {
        for op in list {
            if !op.ends_with(' ') {
                if self.lex_str(op) {
                    return true;
                }
                continue;
            }
            let (saved_pos, saved_last) = (self.pos, self.last.clone());
            if self.lex_str(op.trim()) {
                if self.lex_blank() {
                    return true;
                }
                self.pos = saved_pos;
                self.last = saved_last;
            }
        }
        false
    }

    fn ident_len(s: &[u8]) -> usize {
        let mut n = 0;
        while n < s.len() && s[n].is_ascii_alphabetic() {
            n += 1;
        }
        if n == 0 {
            return 0;
        }
        while n < s.len() && (s[n].is_ascii_alphanumeric() || s[n] == b'_') {
            n += 1;
        }
        n
    }

    fn lex_identifier(&mut self) -> bool {
        let n = Self::ident_len(self.rest());
        if n > 0 {
            self.take(n);
        }
        n > 0
    }

    fn field_name_len(s: &[u8]) -> usize {
        let mut n = Self::ident_len(s);
        if n == 0 {
            return 0;
        }
        let mut parts = 0;
        while n < s.len() && s[n] == b'.' {
            let m = Self::ident_len(&s[n + 1..]);
            if m == 0 {
                break;
            }
            n += 1 + m;
            parts += 1;
        }
        if parts == 0 {
            0
        } else {
            n
        }
    }

    fn lex_field_name(&mut self) -> bool {
        let n = Self::field_name_len(self.rest());
        if n > 0 {
            self.take(n);
        }
        n > 0
    }

    fn lex_class(&mut self, ok: impl Fn(u8) -> bool) -> bool {
        let n = self.rest().iter().take_while(|c| ok(**c)).count();
        if n > 0 {
            self.take(n);
        }
        n > 0
    }

    fn lex_field_arg_bare_str(&mut self) -> bool {
        self.lex_class(|c| !matches!(c, b'[' | b']' | b'"' | b'\'') && !is_space(c))
    }

    fn lex_bare_str(&mut self) -> bool {
        self.lex_class(|c| !matches!(c, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(c))
    }

    fn lex_hex_num(&mut self) -> bool {
        let s = self.rest();
        if s.len() > 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
            let n = s[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if n > 0 {
                self.take(2 + n);
                return true;
            }
        }
        false
    }

    fn lex_num(&mut self) -> bool {
        // [+\-]?[0-9]+[\.]?[0-9]*([eE][+\-][0-9]+)?
        let s = self.rest();
        let mut n = 0;
        if n < s.len() && (s[n] == b'+' || s[n] == b'-') {
            n += 1;
        }
        let d = s[n..].iter().take_while(|c| c.is_ascii_digit()).count();
        if d == 0 {
            return false;
        }
        n += d;
        if n < s.len() && s[n] == b'.' {
            n += 1;
        }
        n += s[n..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n + 2 < s.len() + 1 && n < s.len() && (s[n] == b'e' || s[n] == b'E') {
            if let Some(&sign) = s.get(n + 1) {
                if sign == b'+' || sign == b'-' {
                    let e = s[n + 2..].iter().take_while(|c| c.is_ascii_digit()).count();
                    if e > 0 {
                        n += 2 + e;
                    }
                }
            }
        }
        self.take(n);
        true
    }

    fn lex_quoted_str(&mut self) -> PResult<bool> {
        let Some(delim) = self.peek() else {
            return Ok(false);
        };
        if delim != b'\'' && delim != b'"' {
            return Ok(false);
        }
        let start = self.pos;
        let mut prev = b'\\';
        let mut tok: Vec<u8> = Vec::new();
        while let Some(c) = self.peek() {
            if c == delim && prev != b'\\' {
                self.advance(1);
                tok.push(delim);
                self.last = unescape_str(&tok).map_err(|m| ParseError {
                    message: m,
                    pos: start,
                })?;
                return Ok(true);
            }
            prev = c;
            tok.push(c);
            self.advance(1);
        }
        self.pos = start;
        Ok(false)
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        self.enter()?;
        let pos = self.pos;
        let mut children = Vec::new();
        self.lex_blank();
        children.push(self.parse_and()?);
        self.lex_blank();
        while self.lex_str("or") {
            let child = if !self.lex_blank() {
                if self.lex_str("(") {
                    self.parse_embedded_remainder()?
                } else {
                    return Err(self.err("expected blank or '(' after 'or'"));
                }
            } else {
                self.parse_and()?
            };
            children.push(child);
            self.lex_blank();
        }
        self.leave();
        Ok(if children.len() > 1 {
            Expr::Or(children, pos)
        } else {
            children.remove(0)
        })
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        self.enter()?;
        let pos = self.pos;
        let mut children = Vec::new();
        self.lex_blank();
        children.push(self.parse_not()?);
        self.lex_blank();
        while self.lex_str("and") {
            let child = if !self.lex_blank() {
                if self.lex_str("(") {
                    self.parse_embedded_remainder()?
                } else {
                    return Err(self.err("expected blank or '(' after 'and'"));
                }
            } else {
                self.parse_not()?
            };
            children.push(child);
            self.lex_blank();
        }
        self.leave();
        Ok(if children.len() > 1 {
            Expr::And(children, pos)
        } else {
            children.remove(0)
        })
    }

    fn lex_not_blank(&mut self) -> bool {
        let s = self.rest();
        if s.starts_with(b"not") {
            let n = s[3..].iter().take_while(|c| is_space(**c)).count();
            if n > 0 {
                self.take(3 + n);
                return true;
            }
        }
        false
    }

    fn parse_not(&mut self) -> PResult<Expr> {
        self.enter()?;
        let pos = self.pos;
        let mut is_not = false;
        self.lex_blank();
        while self.lex_not_blank() {
            is_not = !is_not;
        }
        let child = if self.lex_str("not(") {
            is_not = !is_not;
            self.parse_embedded_remainder()?
        } else {
            self.parse_check()?
        };
        self.leave();
        Ok(if is_not {
            Expr::Not(Box::new(child), pos)
        } else {
            child
        })
    }

    fn parse_embedded_remainder(&mut self) -> PResult<Expr> {
        self.enter()?;
        self.lex_blank();
        let child = self.parse_or()?;
        self.lex_blank();
        if !self.lex_str(")") {
            return Err(self.err("expected a ')' token"));
        }
        self.leave();
        Ok(child)
    }

    fn parse_check(&mut self) -> PResult<Expr> {
        self.enter()?;
        let pos = self.pos;
        self.lex_blank();
        let res = if self.lex_str("(") {
            self.parse_embedded_remainder()?
        } else if self.lex_field_name() {
            let left = self.parse_field_remainder(self.last.clone(), pos)?;
            self.parse_condition(left, pos)?
        } else if self.lex_str_list(TRANSFORMERS) {
            self.lex_blank();
            let name = self.last.trim_end_matches('(').to_string();
            let left = self.parse_transformer_remainder(name, pos)?;
            self.parse_condition(left, pos)?
        } else if self.lex_identifier() {
            Expr::Identifier(self.last.clone(), pos)
        } else {
            return Err(self.err("expected a '(' token, a field check, or an identifier"));
        };
        self.leave();
        Ok(res)
    }

    fn parse_field_remainder(&mut self, name: String, pos: Pos) -> PResult<Operand> {
        let arg = self.parse_optional_field_arg()?;
        Ok(Operand::Field { name, arg, pos })
    }

    fn parse_optional_field_arg(&mut self) -> PResult<Option<String>> {
        if !self.lex_str("[") {
            return Ok(None);
        }
        if !self.lex_quoted_str()? && !self.lex_field_arg_bare_str() {
            return Err(
                self.err("expected a valid field argument: a quoted string or a bare string")
            );
        }
        let arg = self.last.clone();
        if !self.lex_str("]") {
            return Err(self.err("expected a ']' token"));
        }
        Ok(Some(arg))
    }

    fn parse_transformer_remainder(&mut self, name: String, pos: Pos) -> PResult<Operand> {
        self.enter()?;
        self.lex_blank();
        let mut args = Vec::new();
        loop {
            args.push(self.parse_transformer_arg()?);
            self.lex_blank();
            if !self.lex_str(",") {
                break;
            }
        }
        self.lex_blank();
        if !self.lex_str(")") {
            return Err(self.err("expected a ')' token closing the transformer"));
        }
        let arg = self.parse_optional_field_arg()?;
        self.leave();
        Ok(Operand::Transformer {
            name,
            args,
            arg,
            pos,
        })
    }

    fn parse_transformer_arg(&mut self) -> PResult<TransformerArg> {
        self.enter()?;
        self.lex_blank();
        let pos = self.pos;
        let res = if self.lex_hex_num() || self.lex_num() || self.lex_quoted_str()? {
            TransformerArg::Value(self.last.clone())
        } else if self.lex_str("(") {
            self.parse_transformer_list()?
        } else if self.lex_str_list(TRANSFORMERS) {
            let name = self.last.trim_end_matches('(').to_string();
            TransformerArg::Operand(self.parse_transformer_remainder(name, pos)?)
        } else if self.lex_field_name() {
            TransformerArg::Operand(self.parse_field_remainder(self.last.clone(), pos)?)
        } else {
            return Err(self.err(
                "expected field transformer argument: field, transformer, quoted string, number, or transformer list",
            ));
        };
        self.leave();
        Ok(res)
    }

    fn parse_transformer_list(&mut self) -> PResult<TransformerArg> {
        let mut items = Vec::new();
        self.lex_blank();
        if self.lex_str(")") {
            return Ok(TransformerArg::List(items));
        }
        items.push(self.parse_transformer_list_arg()?);
        self.lex_blank();
        while self.lex_str(",") {
            self.lex_blank();
            items.push(self.parse_transformer_list_arg()?);
            self.lex_blank();
        }
        if !self.lex_str(")") {
            return Err(self.err("expected ')'"));
        }
        Ok(TransformerArg::List(items))
    }

    fn parse_transformer_list_arg(&mut self) -> PResult<TransformerArg> {
        let pos = self.pos;
        if self.lex_field_name() {
            return Ok(TransformerArg::Operand(
                self.parse_field_remainder(self.last.clone(), pos)?,
            ));
        }
        if self.lex_str_list(TRANSFORMERS) {
            self.lex_blank();
            let name = self.last.trim_end_matches('(').to_string();
            return Ok(TransformerArg::Operand(
                self.parse_transformer_remainder(name, pos)?,
            ));
        }
        if self.lex_quoted_str()? || self.lex_hex_num() || self.lex_num() {
            return Ok(TransformerArg::Value(self.last.clone()));
        }
        Err(self.err(
            "expected transformer list argument: field, transformer, quoted string, or number",
        ))
    }

    fn parse_condition(&mut self, left: Operand, pos: Pos) -> PResult<Expr> {
        self.enter()?;
        self.lex_blank();
        if self.lex_operator_list(UNARY_OPS) {
            self.leave();
            return Ok(Expr::Unary {
                left,
                op: self.last.trim().to_string(),
                pos,
            });
        }
        self.lex_blank();
        let (op, right) = if self.lex_operator_list(NUM_OPS) {
            let op = self.last.clone();
            (op, self.parse_num_value_or_transformer()?)
        } else if self.lex_operator_list(STR_OPS) {
            let mut op = self.last.clone();
            let had_blank =
                op.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) || self.lex_blank();
            let (saved_pos, saved_last) = (self.pos, self.last.clone());
            if had_blank
                && self.lex_operator_list(STR_MODIFIERS)
                && self.list_value_follows()
                && !self.bool_keyword_follows()
            {
                op = format!("{} {}", op.trim(), self.last.trim());
                (op, self.parse_list_value()?)
            } else {
                self.pos = saved_pos;
                self.last = saved_last;
                (op, self.parse_str_value_or_transformer(false)?)
            }
        } else if self.lex_operator_list(LIST_OPS) {
            let op = self.last.clone();
            (op, self.parse_list_value_or_transformer()?)
        } else {
            return Err(self.err(&format!(
                "expected a valid check operator: one of {}",
                supported_operators()
                    .iter()
                    .map(|o| format!("'{o}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        self.leave();
        Ok(Expr::Binary {
            left,
            op: op.trim().to_string(),
            right,
            pos,
        })
    }

    fn list_value_follows(&mut self) -> bool {
        if self.peek() == Some(b'(') {
            return true;
        }
        Self::ident_len(self.rest()) > 0
    }

    fn bool_keyword_follows(&self) -> bool {
        let s = self.rest();
        ["and", "or", "not"].iter().any(|kw| {
            s.starts_with(kw.as_bytes())
                && s.get(kw.len()).is_none_or(|c| !c.is_ascii_alphanumeric())
        })
    }

    fn parse_num_value_or_transformer(&mut self) -> PResult<Rhs> {
        self.lex_blank();
        let pos = self.pos;
        if let Some(t) = self.try_parse_transformer_or_val()? {
            return Ok(Rhs::Operand(t));
        }
        if self.lex_hex_num() || self.lex_num() {
            return Ok(Rhs::Value {
                value: self.last.clone(),
                pos,
            });
        }
        Err(self.err("expected a number value or a field with a valid transformer"))
    }

    fn parse_str_value_or_transformer(&mut self, no_transformer: bool) -> PResult<Rhs> {
        self.lex_blank();
        let pos = self.pos;
        if !no_transformer {
            if let Some(t) = self.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(t));
            }
        }
        if self.lex_quoted_str()? || self.lex_bare_str() {
            return Ok(Rhs::Value {
                value: self.last.clone(),
                pos,
            });
        }
        if no_transformer {
            return Err(self.err("expected a string value"));
        }
        Err(self.err("expected a string value or a field with a valid transformer"))
    }

    fn try_parse_list_expr(&mut self) -> PResult<Option<Rhs>> {
        let pos = self.pos;
        if !self.lex_str("(") {
            return Ok(None);
        }
        let mut values = Vec::new();
        self.lex_blank();
        let save = (self.pos, self.last.clone());
        match self.parse_str_value_or_transformer(true) {
            Ok(Rhs::Value { value, .. }) => {
                values.push(value);
                self.lex_blank();
                while self.lex_str(",") {
                    match self.parse_str_value_or_transformer(true)? {
                        Rhs::Value { value, .. } => values.push(value),
                        _ => {
                            return Err(
                                self.err("parser fatal error: null value expr in body of list")
                            )
                        }
                    }
                    self.lex_blank();
                }
            }
            Ok(_) => return Err(self.err("parser fatal error: null value expr in head of list")),
            Err(_) => {
                // an empty list; libsinsp swallows the error here and expects ')'
                self.pos = save.0;
                self.last = save.1;
                self.lex_blank();
            }
        }
        if !self.lex_str(")") {
            return Err(self.err("expected a ')' token"));
        }
        Ok(Some(Rhs::List { values, pos }))
    }

    fn parse_list_value(&mut self) -> PResult<Rhs> {
        self.lex_blank();
        let pos = self.pos;
        if let Some(l) = self.try_parse_list_expr()? {
            return Ok(l);
        }
        if self.lex_identifier() {
            return Ok(Rhs::Value {
                value: self.last.clone(),
                pos,
            });
        }
        Err(self.err("expected a list or an identifier"))
    }

    fn parse_list_value_or_transformer(&mut self) -> PResult<Rhs> {
        self.lex_blank();
        let pos = self.pos;
        if let Some(l) = self.try_parse_list_expr()? {
            return Ok(l);
        }
        if let Some(t) = self.try_parse_transformer_or_val()? {
            return Ok(Rhs::Operand(t));
        }
        if self.lex_identifier() {
            return Ok(Rhs::Value {
                value: self.last.clone(),
                pos,
            });
        }
        Err(self.err("expected a list, an identifier, or a field with a valid transformer"))
    }

    fn try_parse_transformer_or_val(&mut self) -> PResult<Option<Operand>> {
        self.lex_blank();
        let pos = self.pos;
        if self.lex_str("val(") {
            self.lex_blank();
            let field_pos = self.pos;
            if !self.lex_field_name() {
                return Err(self.err("expected a field within 'val' transformer"));
            }
            let field = self.parse_field_remainder(self.last.clone(), field_pos)?;
            self.lex_blank();
            if !self.lex_str(")") {
                return Err(self.err("expected a ')' token closing the transformer"));
            }
            let arg = self.parse_optional_field_arg()?;
            return Ok(Some(Operand::Transformer {
                name: "val".into(),
                args: vec![TransformerArg::Operand(field)],
                arg,
                pos,
            }));
        }
        if self.lex_str_list(TRANSFORMERS) {
            self.lex_blank();
            let name = self.last.trim_end_matches('(').to_string();
            return Ok(Some(self.parse_transformer_remainder(name, pos)?));
        }
        Ok(None)
    }
}

/// libsinsp `unescape_str`: `tok` includes its delimiters.
fn unescape_str(tok: &[u8]) -> Result<String, String> {
    let Some(&delim) = tok.first() else {
        return Ok(String::new());
    };
    let inner = &tok[1..tok.len().saturating_sub(1).max(1)];
    let mut res: Vec<u8> = Vec::with_capacity(inner.len());
    let mut escaped = false;
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if !escaped {
            if c == b'\\' {
                escaped = true;
            } else {
                res.push(c);
            }
        } else {
            match c {
                b'b' => res.push(0x08),
                b'f' => res.push(0x0c),
                b'n' => res.push(b'\n'),
                b'r' => res.push(b'\r'),
                b't' => res.push(b'\t'),
                b' ' | b'\\' => res.push(b'\\'),
                b'/' => res.push(b'/'),
                b'"' => {
                    if delim != c {
                        return Err("invalid \\\" escape in '-quoted string".into());
                    }
                    res.push(b'"');
                }
                b'\'' => {
                    if delim != c {
                        return Err("invalid \\' escape in \"-quoted string".into());
                    }
                    res.push(b'\'');
                }
                b'x' => {
                    if i + 2 >= inner.len() {
                        return Err("truncated hex char escape sequence".into());
                    }
                    let hex = &inner[i + 1..i + 3];
                    let s = std::str::from_utf8(hex).unwrap_or("");
                    match u8::from_str_radix(s, 16) {
                        Ok(b) if hex.iter().all(u8::is_ascii_hexdigit) => res.push(b),
                        _ => {
                            return Err(format!(
                                "invalid hex char escape sequence: {}",
                                String::from_utf8_lossy(hex)
                            ))
                        }
                    }
                    i += 2;
                }
                other => {
                    return Err(format!(
                        "unsupported string escape sequence: \\{}",
                        char::from(other)
                    ))
                }
            }
            escaped = false;
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&res).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Expr {
        match parse(s) {
            Ok(e) => e,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn accepts_libsinsp_forms() {
        for s in [
            "proc.name=foo",
            "proc.name = foo and not proc.pname in (a, b)",
            "not(evt.type=open)",
            "not not a",
            "a or b and c",
            "fd.name startswith /etc/ and fd.name glob '/etc/*'",
            "proc.aname[2] = runc:[1:CHILD]",
            "proc.name in ()",
            "proc.name in ( )",
            "evt.num>=0",
            "fd.num > 0x10",
            "proc.name exists",
            "tolower(proc.name) = bash",
            "proc.name = val(proc.pname)",
            "proc.name startswith oneof (a, b)",
            "proc.env[\"HOME\"] contains x",
            "proc.name in mylist",
            "evt.arg.flags contains O_CREAT",
            "(a)and(b)",
            "a and(b)",
        ] {
            ok(s);
        }
    }

    #[test]
    fn rejects_bad_forms() {
        for s in [
            "",
            "proc.name",
            "proc.name =",
            "a and",
            "(a",
            "a)",
            "proc.name contains",
            "proc.name containsx",
            "a andb",
            "proc.name = 'unterminated",
            "proc.name in (a, (b))",
            "evt.type.",
            "proc.name = \"a\\qb\"",
            "proc.name > abc",
        ] {
            assert!(parse(s).is_err(), "{s:?} should not parse");
        }
    }

    #[test]
    fn precedence_and_positions() {
        let e = ok("a or b and c");
        let Expr::Or(c, _) = e else { panic!("or") };
        assert!(matches!(c[1], Expr::And(..)));
        let e = ok("not a and b");
        let Expr::And(c, _) = e else { panic!("and") };
        assert!(matches!(c[0], Expr::Not(..)));
        let err = parse("proc.name = a and\n  proc.x ^ b").expect_err("bad op");
        assert_eq!(err.pos.line, 2);
        assert_eq!(err.pos.col, 10);
    }

    #[test]
    fn quoting() {
        let Expr::Binary {
            right: Rhs::Value { value, .. },
            ..
        } = ok(r#"proc.name = "a\"b\x41""#)
        else {
            panic!("binary")
        };
        assert_eq!(value, "a\"bA");
        let Expr::Binary {
            right: Rhs::List { values, .. },
            ..
        } = ok(r#"proc.cmdline in ("sh -c x", 'y z', w)"#)
        else {
            panic!("list")
        };
        assert_eq!(values, vec!["sh -c x", "y z", "w"]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "(".repeat(5000) + "a" + &")".repeat(5000);
        assert!(parse(&s).is_err());
    }
}
