//! Stateless text rendering of parameter values, close to how sysdig prints `evt.info`
//! (`name=value name=value …`), for the parts that do not need sysdig's thread/fd state:
//! sysdig adds annotations in parentheses (`fd=3(<f>/etc/passwd)`, `res=-2(ENOENT)`,
//! `flags=4097(O_RDONLY|O_CLOEXEC)`) that this module leaves out.

use std::fmt::Write;

use crate::event::Event;
use crate::event_table::{ParamInfo, ParamType, PrintFormat};
use crate::params::{ParamValue, SockAddr, SockTuple};

/// Renders every parameter as `name=value`, separated by spaces.
pub fn render_args(ev: &Event) -> String {
    let Some(info) = ev.info() else {
        return String::new();
    };
    let mut out = String::new();
    for (p, v) in info.params.iter().zip(&ev.params) {
        let _ = write!(out, "{}={} ", p.name, render_value(p, v));
    }
    out
}

/// Renders one value the way sysdig prints its main part.
pub fn render_value(p: &ParamInfo, v: &ParamValue) -> String {
    match v {
        ParamValue::Empty => "NULL".into(),
        ParamValue::Uint(n) => match (p.ty, p.fmt) {
            (ParamType::Flags8 | ParamType::Flags16 | ParamType::Flags32, _) => n.to_string(),
            (_, PrintFormat::Hex) => format!("{n:X}"),
            (_, PrintFormat::Oct) => octal(*n),
            // libsinsp prints unsigned payloads with the signed conversions (`PRId32` of a
            // `uint32_t`, `PRId64` of the payload read as `int64_t`; uid/gid: `%d`, and -1
            // for `(uint32_t)-1`): 0xFFFFFFFF shows as -1. 8- and 16-bit values are promoted
            // to int, so they stay positive.
            (ParamType::Uint32 | ParamType::Uid | ParamType::Gid | ParamType::Mode, _) => {
                (*n as u32 as i32).to_string()
            }
            (ParamType::Uint64, _) => (*n as i64).to_string(),
            _ => n.to_string(),
        },
        ParamValue::Int(n) | ParamValue::Fd(n) | ParamValue::Pid(n) | ParamValue::Errno(n) => {
            // `%X`/`%#o` print the bits of an int (8-, 16- and 32-bit values are promoted to
            // it, sign-extended) or of an int64.
            let bits = if matches!(p.ty, ParamType::Int8 | ParamType::Int16 | ParamType::Int32) {
                u64::from(*n as i32 as u32)
            } else {
                *n as u64
            };
            match p.fmt {
                PrintFormat::Hex => format!("{bits:X}"),
                PrintFormat::Oct => octal(bits),
                _ => n.to_string(),
            }
        }
        ParamValue::Double(d) => d.to_string(),
        // libsinsp copies paths with `strcpy_sanitized`, which drops every byte that is not
        // printable ASCII (`g_invalidchar`); other strings are printed as they are.
        ParamValue::Str(s) if matches!(p.ty, ParamType::FsPath | ParamType::FsRelPath) => s
            .iter()
            .filter(|c| (0x20..0x7f).contains(*c))
            .map(|&c| char::from(c))
            .collect(),
        ParamValue::Str(s) => String::from_utf8_lossy(s).into_owned(),
        ParamValue::Bytes(b) => printable(b),
        ParamValue::Ipv4(a) => a.to_string(),
        ParamValue::Ipv6(a) => a.to_string(),
        ParamValue::SockAddr(a) => match a {
            SockAddr::V4(s) => s.to_string(),
            SockAddr::V6(s) => format!("{}:{}", s.ip(), s.port()),
            SockAddr::Unix(path) => String::from_utf8_lossy(path).into_owned(),
            SockAddr::Other { family, .. } => format!("family {family}"),
        },
        ParamValue::SockTuple(t) => match t {
            SockTuple::V4 { src, dst } => format!("{src}->{dst}"),
            SockTuple::V6 { src, dst } => {
                format!("{}:{}->{}:{}", src.ip(), src.port(), dst.ip(), dst.port())
            }
            SockTuple::Unix { src, dst, path } => {
                format!("{src:x}->{dst:x} {}", String::from_utf8_lossy(path))
            }
            SockTuple::Other { family, .. } => format!("family {family}"),
        },
        ParamValue::FdList(l) => l
            .iter()
            .map(|(fd, flags)| format!("{fd}:{flags:x}"))
            .collect::<Vec<_>>()
            .join(" "),
        // libsinsp renders the selected type with the outer parameter's print format.
        ParamValue::Dyn { index, value } => {
            let ty = match p.aux {
                crate::event_table::ParamAux::Dyn(types) => types.get(usize::from(*index)),
                _ => None,
            };
            let inner = ParamInfo {
                ty: ty.copied().unwrap_or(p.ty),
                ..*p
            };
            render_value(&inner, value)
        }
    }
}

/// Bytes as sysdig prints buffers by default: printable ASCII kept, everything else `.`.
pub fn printable(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                char::from(c)
            } else {
                '.'
            }
        })
        .collect()
}

/// Octal with a leading `0` for non-zero values, as sysdig prints `PF_OCT` (`mode=0644`).
fn octal(n: u64) -> String {
    if n == 0 {
        "0".into()
    } else {
        format!("0{n:o}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_table::ParamAux;

    fn param(ty: ParamType, fmt: PrintFormat) -> ParamInfo {
        ParamInfo {
            name: "x",
            ty,
            fmt,
            aux: ParamAux::None,
        }
    }

    /// libsinsp's `PRId32`/`PRId64` conversions of unsigned payloads.
    #[test]
    fn unsigned_values_print_as_libsinsp_signed_conversions() {
        let r = |ty, n| render_value(&param(ty, PrintFormat::Dec), &ParamValue::Uint(n));
        assert_eq!(r(ParamType::Uint32, u64::from(u32::MAX)), "-1");
        assert_eq!(r(ParamType::Uid, u64::from(u32::MAX)), "-1");
        assert_eq!(r(ParamType::Uint64, u64::MAX - 1), "-2");
        assert_eq!(r(ParamType::Uint16, 65535), "65535");
        assert_eq!(r(ParamType::Uint8, 255), "255");
        assert_eq!(r(ParamType::Uint32, 4096), "4096");
    }

    /// `%X`/`%#o` of an int (sign-extended from 8/16/32 bits) or an int64.
    #[test]
    fn negative_hex_and_octal_use_the_c_width() {
        let r = |ty, fmt, n| render_value(&param(ty, fmt), &ParamValue::Int(n));
        assert_eq!(r(ParamType::Int32, PrintFormat::Hex, -100), "FFFFFF9C");
        assert_eq!(r(ParamType::Int8, PrintFormat::Hex, -1), "FFFFFFFF");
        assert_eq!(
            r(ParamType::Int64, PrintFormat::Hex, -1),
            "FFFFFFFFFFFFFFFF"
        );
        assert_eq!(r(ParamType::Int32, PrintFormat::Oct, -1), "037777777777");
        assert_eq!(r(ParamType::Int32, PrintFormat::Oct, 0o644), "0644");
    }

    /// `strcpy_sanitized` keeps printable ASCII only, in paths; other strings stay as they are.
    #[test]
    fn paths_lose_unprintable_bytes() {
        let v = ParamValue::Str(b"\xff\xfe/odd\tdir/\xc3\xa9".to_vec());
        assert_eq!(
            render_value(&param(ParamType::FsPath, PrintFormat::Na), &v),
            "/odddir/"
        );
        assert_eq!(
            render_value(&param(ParamType::CharBuf, PrintFormat::Na), &v),
            String::from_utf8_lossy(b"\xff\xfe/odd\tdir/\xc3\xa9")
        );
    }
}
