//! String matching as libsinsp does it: POSIX `fnmatch` without FNM_PATHNAME, and `pmatch`.

/// `fnmatch(pattern, s, 0)` (or FNM_CASEFOLD when `fold`): `*` also matches `/`.
pub fn glob_match(pattern: &[u8], s: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = bracket(pattern, p, s[i], fold) {
                        if matched {
                            p = next;
                            i += 1;
                            continue;
                        }
                    } else if eq(b'[', s[i]) {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if eq(pattern[p + 1], s[i]) {
                        p += 2;
                        i += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, s[i]) {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, si)) => {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Matches one byte against the bracket expression starting at `pattern[start] == '['`.
/// Returns `None` when the bracket is not closed (then `[` is literal).
fn bracket(pattern: &[u8], start: usize, c: u8, fold: bool) -> Option<(bool, usize)> {
    let mut p = start + 1;
    let negate = matches!(pattern.get(p), Some(b'!') | Some(b'^'));
    if negate {
        p += 1;
    }
    let lc = |x: u8| if fold { x.to_ascii_lowercase() } else { x };
    let c = lc(c);
    let mut matched = false;
    let mut first = true;
    loop {
        let &b = pattern.get(p)?;
        if b == b']' && !first {
            return Some((matched != negate, p + 1));
        }
        first = false;
        let lo = if b == b'\\' {
            p += 1;
            *pattern.get(p)?
        } else {
            b
        };
        p += 1;
        if pattern.get(p) == Some(&b'-') && pattern.get(p + 1).is_some_and(|&x| x != b']') {
            let mut hi = pattern[p + 1];
            p += 2;
            if hi == b'\\' {
                hi = *pattern.get(p)?;
                p += 1;
            }
            if lc(lo) <= c && c <= lc(hi) {
                matched = true;
            }
        } else if lc(lo) == c {
            matched = true;
        }
    }
}

/// libsinsp `path_prefix_search`: `path` is under `prefix` on whole components; the prefix's
/// components may contain glob characters. (Walks the components without collecting them:
/// this runs for every prefix of a `pmatch` list on every event it is evaluated on.)
pub fn pmatch(prefix: &[u8], path: &[u8]) -> bool {
    fn comps(s: &[u8]) -> impl Iterator<Item = &[u8]> {
        s.split(|b| *b == b'/').filter(|c| !c.is_empty())
    }
    let mut path_comps = comps(path);
    let mut n = 0usize;
    for a in comps(prefix) {
        n += 1;
        match path_comps.next() {
            Some(b) if a == b || glob_match(a, b, false) => {}
            _ => return false,
        }
    }
    n > 0 || prefix.starts_with(b"/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics() {
        assert!(glob_match(b"/etc/*", b"/etc/a/b", false));
        assert!(glob_match(b"*.sh", b"/x/y.sh", false));
        assert!(glob_match(b"a?c", b"abc", false));
        assert!(!glob_match(b"a?c", b"ac", false));
        assert!(glob_match(b"[a-c]x", b"bx", false));
        assert!(glob_match(b"[!a-c]x", b"dx", false));
        assert!(!glob_match(b"[!a-c]x", b"ax", false));
        assert!(glob_match(b"ABC*", b"abcd", true));
        assert!(!glob_match(b"ABC*", b"abcd", false));
        assert!(glob_match(b"\\*", b"*", false));
        assert!(glob_match(b"[", b"[", false));
        assert!(glob_match(b"", b"", false));
        assert!(!glob_match(b"", b"a", false));
    }

    #[test]
    fn pmatch_semantics() {
        assert!(pmatch(b"/opt/dir", b"/opt/dir/subdir/file"));
        assert!(pmatch(b"/opt/*", b"/opt/dir/subdir/file"));
        assert!(pmatch(b"/opt/di?/subdir", b"/opt/dir/subdir/file"));
        assert!(!pmatch(b"/opt/di", b"/opt/dir/subdir/file"));
        assert!(pmatch(b"/opt/dir", b"/opt/dir"));
        assert!(!pmatch(b"/opt/dir/x", b"/opt/dir"));
    }
}
