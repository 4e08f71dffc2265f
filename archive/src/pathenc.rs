//! Names: the lossless text encoding of raw path bytes used in JSON (`fsdiff.jsonl`,
//! `manifest.json`), member-name validation, and sanitising of archive file-name components.
//!
//! **Escaped form.** A raw byte string is written as UTF-8 text where every byte that is part
//! of a valid, printable (non-control) UTF-8 character other than `%` stands for itself, and
//! every other byte (`%`, control characters including newline, invalid UTF-8) is written as
//! `%XX` (two upper-case hex digits). Decoding replaces each `%XX` by its byte and keeps every
//! other character's UTF-8 bytes. `etc/passwd` stays `etc/passwd`; `a\nb` is `a%0Ab`; the
//! byte 0xFF is `%FF`; `100%` is `100%25`.

use std::fmt::Write as _;

/// Encodes raw bytes into the escaped form.
pub fn escape_bytes(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_escaped_str(&mut out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction.
                push_escaped_str(&mut out, &String::from_utf8_lossy(good));
                let n = e.error_len().unwrap_or(bad.len()).max(1).min(bad.len());
                for b in &bad[..n] {
                    let _ = write!(out, "%{b:02X}");
                }
                rest = &bad[n..];
            }
        }
    }
    out
}

fn push_escaped_str(out: &mut String, s: &str) {
    for c in s.chars() {
        if c == '%' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

/// Decodes the escaped form; `None` if a `%` is not followed by two hex digits.
pub fn unescape_bytes(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hi = hex_val(hex[0])?;
            let lo = hex_val(hex[1])?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Why a member name is refused.
pub(crate) fn check_member_name(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_MEMBER_NAME {
        return Err("name longer than 4096 bytes");
    }
    if name.contains(&0) {
        return Err("NUL byte in name");
    }
    if name.starts_with(b"/") {
        return Err("absolute name");
    }
    for comp in name.split(|&b| b == b'/') {
        match comp {
            b"" => return Err("empty path component (`//` or trailing `/`)"),
            b"." => return Err("`.` path component"),
            b".." => return Err("`..` path component (path traversal)"),
            _ => {}
        }
    }
    Ok(())
}

/// Longest member name accepted.
pub(crate) const MAX_MEMBER_NAME: usize = 4096;

/// Longest sanitised file-name component.
pub(crate) const MAX_COMPONENT: usize = 100;

/// Makes `s` safe as one file-name component: no `/`, NUL or control characters, not `.` or
/// `..`, not empty, at most [`MAX_COMPONENT`] bytes. Characters outside `[A-Za-z0-9._-]` are
/// replaced by `_` so that names stay portable and shell-friendly.
pub fn sanitize_component(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_COMPONENT)
        .collect();
    if out.is_empty() || out.chars().all(|c| c == '.') {
        out = "_".to_owned();
    }
    if out.starts_with('.') {
        // Hidden names are reserved for temporary files (retention skips them).
        out.replace_range(0..1, "_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_lossless() {
        let cases: Vec<Vec<u8>> = vec![
            b"etc/passwd".to_vec(),
            b"a\nb".to_vec(),
            b"100%".to_vec(),
            vec![0xff, 0xfe, b'x', 0xc3],
            "caf\u{e9}/\u{1F600}".as_bytes().to_vec(),
            vec![0xe2, 0x82],
            b"\x7f\x01%41".to_vec(),
        ];
        for raw in cases {
            let e = escape_bytes(&raw);
            assert!(!e.contains('\n'));
            assert_eq!(unescape_bytes(&e).as_deref(), Some(raw.as_slice()), "{e}");
        }
        assert_eq!(escape_bytes(b"a\nb"), "a%0Ab");
        assert_eq!(escape_bytes(&[0xff]), "%FF");
        assert_eq!(escape_bytes("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(unescape_bytes("%G1"), None);
        assert_eq!(unescape_bytes("%4"), None);
    }

    #[test]
    fn member_names_are_checked() {
        assert!(check_member_name(b"fs/etc/passwd").is_ok());
        for bad in [
            &b""[..],
            b"/etc/passwd",
            b"fs/../../x",
            b"..",
            b"fs//x",
            b"fs/x/",
            b"./x",
            b"a\0b",
        ] {
            assert!(check_member_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn components_are_sanitised() {
        assert_eq!(sanitize_component("web"), "web");
        assert_eq!(sanitize_component(""), "_");
        assert_eq!(sanitize_component(".."), "_");
        assert_eq!(sanitize_component("."), "_");
        assert_eq!(sanitize_component("../etc"), "_._etc");
        assert_eq!(sanitize_component("a/b\nc"), "a_b_c");
        assert_eq!(sanitize_component(&"x".repeat(500)).len(), MAX_COMPONENT);
    }
}
