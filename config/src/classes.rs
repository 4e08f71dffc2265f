//! Syscall classes: what a recording policy can turn off, by name.
//!
//! The names are the vocabulary of `[recording] syscall_classes` and of the
//! `blackbox.io/syscall-classes` annotation; which syscall belongs to which
//! class is the recorder's business (`blackbox_recorder::classes`).

use std::fmt;

use serde::Deserialize;

/// A group of syscalls recorded or not as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyscallClass {
    /// Process life and identity: exec, clone/fork, exit, set*id, capset, prctl, ptrace,
    /// setns/unshare, kill, chroot, chdir. Always recorded: the capture's process and
    /// working-directory state is built from them.
    Process,
    /// File-system and fd state: open family, close, dup, fcntl, pipes, rename, link,
    /// unlink, mkdir, chmod/chown, truncate, memfd_create, mount, module loading, bpf.
    File,
    /// Data transfer on fds: read/write and their p/v variants, sendfile, splice,
    /// copy_file_range.
    Io,
    /// Sockets: socket, bind, listen, connect, accept, send/recv family, shutdown,
    /// socket options and names.
    Net,
    /// Address space: mmap, munmap, mprotect, mremap, brk, madvise, mlock.
    Memory,
    /// Every other syscall (stat, poll, futex, clock calls, …), as generic events.
    Other,
}

impl SyscallClass {
    /// Every class, in documentation order.
    pub const ALL: [SyscallClass; 6] = [
        SyscallClass::Process,
        SyscallClass::File,
        SyscallClass::Io,
        SyscallClass::Net,
        SyscallClass::Memory,
        SyscallClass::Other,
    ];

    /// The name used in the config file and annotations.
    pub fn name(self) -> &'static str {
        match self {
            SyscallClass::Process => "process",
            SyscallClass::File => "file",
            SyscallClass::Io => "io",
            SyscallClass::Net => "net",
            SyscallClass::Memory => "memory",
            SyscallClass::Other => "other",
        }
    }

    /// The class of this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The names, comma separated (for error messages).
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

impl fmt::Display for SyscallClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checks a list of classes: `process` must be in it (the capture cannot be made without).
pub(crate) fn check_classes(classes: &[SyscallClass]) -> Result<(), String> {
    if !classes.contains(&SyscallClass::Process) {
        return Err(
            "the \"process\" class cannot be turned off: the capture's processes, fds and \
             working directories are built from it"
                .into(),
        );
    }
    Ok(())
}

/// Parses `"process,file,net"` (spaces allowed; `all` = every class).
pub(crate) fn parse_class_list(value: &str) -> Result<Vec<SyscallClass>, String> {
    let mut out = Vec::new();
    for name in value.split(',').map(str::trim) {
        if name == "all" {
            out.extend(SyscallClass::ALL);
            continue;
        }
        let class = SyscallClass::from_name(name).ok_or_else(|| {
            format!(
                "unknown syscall class {name:?} (known: all, {})",
                SyscallClass::names()
            )
        })?;
        out.push(class);
    }
    out.sort();
    out.dedup();
    check_classes(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_need_process() {
        assert_eq!(
            parse_class_list("process, net ,file,net").expect("ok"),
            vec![SyscallClass::Process, SyscallClass::File, SyscallClass::Net]
        );
        assert_eq!(parse_class_list("all").expect("ok"), SyscallClass::ALL);
        let e = parse_class_list("file,net").expect_err("no process");
        assert!(e.contains("\"process\" class cannot be turned off"), "{e}");
        let e = parse_class_list("process,fiel").expect_err("typo");
        assert!(e.contains("unknown syscall class \"fiel\""), "{e}");
        assert!(parse_class_list("").is_err());
    }
}
