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
            _ => n.to_string(),
        },
        ParamValue::Int(n) | ParamValue::Fd(n) | ParamValue::Pid(n) | ParamValue::Errno(n) => {
            match p.fmt {
                PrintFormat::Hex => format!("{n:X}"),
                PrintFormat::Oct => u64::try_from(*n).map_or_else(|_| n.to_string(), octal),
                _ => n.to_string(),
            }
        }
        ParamValue::Double(d) => d.to_string(),
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
        ParamValue::Dyn { value, .. } => render_value(p, value),
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
