//! Names libsinsp gives to numbers: flag sets, errnos, capabilities.

use crate::flag_tables::{ERRNO_NAMES, FLAG_TABLES};

/// The value/name table of a flags parameter (`file_flags`, `clone_flags`, ...).
pub fn flag_table(name: &str) -> Option<&'static [(&'static str, u32)]> {
    FLAG_TABLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// libsinsp's rendering of a flags value: every table entry whose bits are all set, in table
/// order, each consuming its bits (so `O_RDWR` hides `O_RDONLY`/`O_WRONLY`); a zero entry only
/// for a zero value. Empty when nothing matches.
pub fn render_flags(table: &[(&str, u32)], value: u32) -> String {
    let mut out = String::new();
    let mut rest = value;
    for &(name, bits) in table {
        let hit = if bits == 0 {
            value == 0
        } else {
            rest != 0 && rest & bits == bits
        };
        if hit {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(name);
            rest &= !bits;
        }
    }
    out
}

/// The errno name of a negative return value (`-2` → `ENOENT`).
pub fn errno_name(res: i64) -> Option<&'static str> {
    let n = u32::try_from(res.checked_neg()?).ok()?;
    ERRNO_NAMES
        .binary_search_by_key(&n, |(k, _)| *k)
        .ok()
        .and_then(|i| ERRNO_NAMES.get(i))
        .map(|(_, name)| *name)
}

/// Linux capability names by bit, as libsinsp prints `thread.cap_*`.
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A capability set as libsinsp prints it: names separated by spaces.
pub fn caps_text(set: u64) -> String {
    let mut out = String::new();
    for (bit, name) in CAPS.iter().enumerate() {
        if set & (1u64 << bit) != 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_render_like_libsinsp() {
        let t = flag_table("file_flags").expect("file_flags");
        assert_eq!(render_flags(t, 1 | (1 << 12)), "O_RDONLY|O_CLOEXEC");
        assert_eq!(render_flags(t, 3), "O_RDWR");
        assert_eq!(render_flags(t, 0), "O_NONE");
        assert_eq!(render_flags(t, 2 | 4 | 256), "O_TRUNC|O_CREAT|O_WRONLY");
    }

    #[test]
    fn errno_and_caps_names() {
        assert_eq!(errno_name(-2), Some("ENOENT"));
        assert_eq!(errno_name(-115), Some("EINPROGRESS"));
        assert_eq!(errno_name(0), None);
        assert_eq!(
            caps_text((1 << 21) | 1),
            "CAP_CHOWN CAP_SYS_ADMIN".to_string()
        );
    }
}
