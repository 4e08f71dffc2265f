//! Rule output formats (libsinsp `eventformatter.cpp`) and Falco's JSON alert (`formats.cpp`).

use crate::compile::extract_ref_simple;
use crate::field::{
    resolve_field, EventAccess, FieldArg, FieldId, FieldType, Value, FLAG_FILTER_ONLY,
};

/// One piece of a compiled output format.
#[derive(Debug, Clone)]
pub enum Token {
    Literal(String),
    Field {
        written: String,
        field: FieldId,
        arg: Option<FieldArg>,
        width: Option<usize>,
    },
}

/// A compiled output format.
#[derive(Debug, Clone, Default)]
pub struct OutputFormat {
    pub tokens: Vec<Token>,
}

fn field_name_len(s: &[u8]) -> usize {
    s.iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'.')
        .count()
}

impl OutputFormat {
    /// Compiles a format string. Unknown fields are errors (with the field as written).
    pub fn compile(fmt: &str) -> Result<OutputFormat, String> {
        let b = fmt.as_bytes();
        let mut tokens = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        // A leading '*' means "do not stop on missing values"; Falco always adds it.
        if b.first() == Some(&b'*') {
            i = 1;
        }
        while i < b.len() {
            if b[i] != b'%' {
                let start = i;
                while i < b.len() && b[i] != b'%' {
                    i += 1;
                }
                lit.push_str(&fmt[start..i]);
                continue;
            }
            i += 1;
            if i >= b.len() {
                return Err("invalid formatting token: a '%' at the end of the format".into());
            }
            let wstart = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let width = if i > wstart {
                fmt[wstart..i].parse::<usize>().ok()
            } else {
                None
            };
            let rest = &b[i..];
            let mut n = field_name_len(rest);
            let mut found = None;
            while n > 0 {
                let name = &fmt[i..i + n];
                let (arg, consumed) = if rest.get(n) == Some(&b'[') {
                    match rest[n..].iter().position(|c| *c == b']') {
                        Some(end) => (Some(&fmt[i + n + 1..i + n + end]), n + end + 1),
                        None => return Err(format!("missing ']' after field '{name}'")),
                    }
                } else {
                    (None, n)
                };
                if let Ok((field, farg)) = resolve_field(name, arg) {
                    found = Some((field, farg, consumed));
                    break;
                }
                n -= 1;
            }
            let Some((field, arg, consumed)) = found else {
                let shown = &fmt[i..i + field_name_len(rest)];
                return Err(format!("invalid formatting token %{shown}: unknown field"));
            };
            if field.info().has(FLAG_FILTER_ONLY) {
                return Err(format!(
                    "field '{}' cannot be used in outputs (filter only)",
                    field.name()
                ));
            }
            if !lit.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut lit)));
            }
            tokens.push(Token::Field {
                written: fmt[i..i + consumed].to_string(),
                field,
                arg,
                width,
            });
            i += consumed;
        }
        if !lit.is_empty() {
            tokens.push(Token::Literal(lit));
        }
        Ok(OutputFormat { tokens })
    }

    /// Renders the text, `<NA>` for missing values.
    pub fn render<E: EventAccess + ?Sized>(&self, evt: &mut E) -> String {
        let mut out = String::new();
        for t in &self.tokens {
            match t {
                Token::Literal(s) => out.push_str(s),
                Token::Field {
                    field, arg, width, ..
                } => {
                    let text = extract_ref_simple(evt, *field, arg.as_ref())
                        .map_or_else(|| "<NA>".to_string(), |v| value_to_text(&v));
                    match width {
                        Some(w) => {
                            let t: String = text.chars().take(*w).collect();
                            out.push_str(&format!("{t:<w$}"));
                        }
                        None => out.push_str(&text),
                    }
                }
            }
        }
        out
    }

    /// `output_fields` entries: (key as written, typed JSON value or null).
    pub fn json_fields<E: EventAccess + ?Sized>(
        &self,
        evt: &mut E,
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        for t in &self.tokens {
            if let Token::Field {
                written,
                field,
                arg,
                ..
            } = t
            {
                let v = extract_ref_simple(evt, *field, arg.as_ref())
                    .map_or(serde_json::Value::Null, |v| {
                        value_to_json(&v, field.info().ftype)
                    });
                out.insert(written.clone(), v);
            }
        }
    }
}

/// A value in libsinsp's text form.
pub fn value_to_text(v: &Value<'_>) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Ip(ip) => ip.to_string(),
        Value::List(l) => l.iter().map(value_to_text).collect::<Vec<_>>().join(" "),
    }
}

fn value_to_json(v: &Value<'_>, t: FieldType) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Int(i) if t.is_numeric() || t == FieldType::Int64 => J::from(*i),
        Value::Uint(u) if t.is_numeric() => J::from(*u),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Value::Bool(b) if t == FieldType::Bool => J::Bool(*b),
        Value::List(l) => J::Array(l.iter().map(|x| value_to_json(x, t)).collect()),
        other => J::String(value_to_text(other)),
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 { y + 1 } else { y },
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

fn split_ts(ts_ns: u64) -> (i64, u32, u32, u32, u32, u32, u64) {
    let secs = i64::try_from(ts_ns / 1_000_000_000).unwrap_or(i64::MAX);
    let nanos = ts_ns % 1_000_000_000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let h = u32::try_from(sod / 3600).unwrap_or(0);
    let mi = u32::try_from((sod % 3600) / 60).unwrap_or(0);
    let s = u32::try_from(sod % 60).unwrap_or(0);
    (y, mo, d, h, mi, s, nanos)
}

/// `2016-08-04T16:17:57.881781397Z` (the JSON `time`).
pub fn rfc3339_nanos(ts_ns: u64) -> String {
    let (y, mo, d, h, mi, s, n) = split_ts(ts_ns);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{n:09}Z")
}

/// `%evt.time.iso8601` form: `2016-08-04T16:17:57.881781397+0000`.
pub fn iso8601_offset(ts_ns: u64) -> String {
    let (y, mo, d, h, mi, s, n) = split_ts(ts_ns);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{n:09}+0000")
}

/// `%evt.time` form, in UTC: `16:17:57.881781397`.
pub fn time_of_day(ts_ns: u64) -> String {
    let (_, _, _, h, mi, s, n) = split_ts(ts_ns);
    format!("{h:02}:{mi:02}:{s:02}.{n:09}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            rfc3339_nanos(1_470_327_477_881_781_397),
            "2016-08-04T16:17:57.881781397Z"
        );
        assert_eq!(
            iso8601_offset(1_470_327_477_881_781_397),
            "2016-08-04T16:17:57.881781397+0000"
        );
        assert_eq!(time_of_day(1_470_327_477_881_781_397), "16:17:57.881781397");
        assert_eq!(rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn format_tokens() {
        let f =
            OutputFormat::compile("a %proc.name b=%proc.aname[2] %evt.arg.flags %proc.name.x %%x")
                .err();
        assert!(f.is_some(), "'%%x' has no field");
        let f = OutputFormat::compile(
            "a %proc.name b=%proc.aname[2] (%evt.arg.flags) %proc.name.x %20fd.name",
        )
        .expect("fmt");
        let names: Vec<String> = f
            .tokens
            .iter()
            .filter_map(|t| {
                if let Token::Field { written, .. } = t {
                    Some(written.clone())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(
            names,
            vec![
                "proc.name",
                "proc.aname[2]",
                "evt.arg.flags",
                "proc.name",
                "fd.name"
            ]
        );
        assert!(OutputFormat::compile("%proc.nope").is_err());
        assert!(OutputFormat::compile("x %").is_err());
    }
}
