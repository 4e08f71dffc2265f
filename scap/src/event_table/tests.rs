use super::*;

/// Rows of the event catalogue in `shared/spec/scap-format.md` section 6: code, parameter
/// count and `name:TYPE` list ("same as …" rows expanded).
const SPEC_ROWS: &[(u16, usize, &str)] = &[
    (0, 2, "ID:SYSCALLID nativeID:UINT16"),
    (1, 1, "ID:SYSCALLID"),
    (2, 3, "name:FSPATH flags:FLAGS32 mode:UINT32"),
    (3, 5, "fd:FD name:FSPATH flags:FLAGS32 mode:UINT32 dev:UINT32"),
    (4, 1, "fd:FD"),
    (5, 1, "res:ERRNO"),
    (6, 2, "fd:FD size:UINT32"),
    (7, 2, "res:ERRNO data:BYTEBUF"),
    (8, 2, "fd:FD size:UINT32"),
    (9, 2, "res:ERRNO data:BYTEBUF"),
    (18, 3, "domain:FLAGS32 type:UINT32 proto:UINT32"),
    (19, 1, "fd:FD"),
    (20, 1, "fd:FD"),
    (21, 2, "res:ERRNO addr:SOCKADDR"),
    (22, 2, "fd:FD addr:SOCKADDR"),
    (23, 2, "res:ERRNO tuple:SOCKTUPLE"),
    (24, 2, "fd:FD backlog:UINT32"),
    (25, 1, "res:ERRNO"),
    (30, 3, "fd:FD size:UINT32 tuple:SOCKTUPLE"),
    (31, 2, "res:ERRNO data:BYTEBUF"),
    (34, 2, "fd:FD size:UINT32"),
    (35, 3, "res:ERRNO data:BYTEBUF tuple:SOCKTUPLE"),
    (48, 3, "fd:FD size:UINT32 tuple:SOCKTUPLE"),
    (49, 2, "res:ERRNO data:BYTEBUF"),
    (52, 1, "fd:FD"),
    (53, 4, "res:ERRNO size:UINT32 data:BYTEBUF tuple:SOCKTUPLE"),
    (58, 2, "name:FSPATH mode:UINT32"),
    (59, 4, "fd:FD name:FSPATH mode:UINT32 dev:UINT32"),
    (94, 0, ""),
    (95, 2, "res:ERRNO path:CHARBUF"),
    (96, 1, "fd:FD"),
    (97, 1, "res:ERRNO"),
    (112, 3, "fd:FD size:UINT32 pos:UINT64"),
    (113, 2, "res:ERRNO data:BYTEBUF"),
    (114, 3, "fd:FD size:UINT32 pos:UINT64"),
    (115, 2, "res:ERRNO data:BYTEBUF"),
    (116, 1, "fd:FD"),
    (117, 3, "res:ERRNO size:UINT32 data:BYTEBUF"),
    (118, 2, "fd:FD size:UINT32"),
    (119, 2, "res:ERRNO data:BYTEBUF"),
    (124, 1, "fd:FD"),
    (125, 1, "res:FD"),
    (128, 2, "pid:PID sig:SIGTYPE"),
    (129, 1, "res:ERRNO"),
    (130, 2, "tid:PID sig:SIGTYPE"),
    (131, 1, "res:ERRNO"),
    (132, 3, "pid:PID tid:PID sig:SIGTYPE"),
    (133, 1, "res:ERRNO"),
    (168, 2, "request:FLAGS16 pid:PID"),
    (169, 3, "res:ERRNO addr:DYN data:DYN"),
    (174, 0, ""),
    (175, 3, "res:ERRNO oldpath:FSPATH newpath:FSPATH"),
    (176, 0, ""),
    (177, 5, "res:ERRNO olddirfd:FD oldpath:FSRELPATH newdirfd:FD newpath:FSRELPATH"),
    (186, 4, "status:ERRNO ret:ERRNO sig:SIGTYPE core:UINT8"),
    (192, 3, "ruid:UID euid:UID suid:UID"),
    (193, 1, "res:ERRNO"),
    (194, 3, "rgid:GID egid:GID sgid:GID"),
    (195, 1, "res:ERRNO"),
    (198, 1, "uid:UID"),
    (199, 1, "res:ERRNO"),
    (200, 1, "gid:GID"),
    (201, 1, "res:ERRNO"),
    (222, 0, ""),
    (223, 20, "res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32 uid:UINT32 gid:UINT32 vtid:PID vpid:PID"),
    (224, 0, ""),
    (225, 20, "res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32 uid:UINT32 gid:UINT32 vtid:PID vpid:PID"),
    (226, 0, ""),
    (227, 20, "res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32 uid:UINT32 gid:UINT32 vtid:PID vpid:PID"),
    (240, 2, "fd:FD nstype:FLAGS32"),
    (241, 1, "res:ERRNO"),
    (246, 0, ""),
    (247, 5, "fd:FD tuple:SOCKTUPLE queuepct:UINT8 queuelen:UINT32 queuemax:UINT32"),
    (248, 1, "flags:INT32"),
    (249, 5, "fd:FD tuple:SOCKTUPLE queuepct:UINT8 queuelen:UINT32 queuemax:UINT32"),
    (256, 1, "flags:FLAGS32"),
    (257, 4, "res:ERRNO dev:CHARBUF dir:FSPATH type:CHARBUF"),
    (258, 1, "flags:FLAGS32"),
    (259, 2, "res:ERRNO name:FSPATH"),
    (266, 0, ""),
    (267, 2, "res:ERRNO path:FSPATH"),
    (272, 1, "json:CHARBUF"),
    (276, 1, "mode:UINT32"),
    (277, 2, "res:ERRNO path:FSPATH"),
    (284, 1, "flags:FLAGS32"),
    (285, 1, "res:ERRNO"),
    (292, 1, "filename:FSPATH"),
    (293, 20, "res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF env:BYTEBUF tty:INT32 pgid:PID loginuid:INT32 flags:FLAGS32"),
    (296, 1, "cmd:INT64"),
    (297, 1, "res_or_fd:DYN"),
    (300, 0, ""),
    (301, 2, "res:ERRNO path:FSPATH"),
    (302, 0, ""),
    (303, 4, "res:ERRNO dirfd:FD name:FSRELPATH flags:FLAGS32"),
    (304, 0, ""),
    (305, 4, "res:ERRNO dirfd:FD path:FSRELPATH mode:UINT32"),
    (306, 4, "dirfd:FD name:FSRELPATH flags:FLAGS32 mode:UINT32"),
    (307, 6, "fd:FD dirfd:FD name:FSRELPATH flags:FLAGS32 mode:UINT32 dev:UINT32"),
    (312, 0, ""),
    (313, 4, "res:ERRNO dirfd:FD filename:FSRELPATH mode:MODE"),
    (314, 0, ""),
    (315, 3, "res:ERRNO filename:FSPATH mode:MODE"),
    (316, 0, ""),
    (317, 3, "res:ERRNO fd:FD mode:MODE"),
    (318, 0, ""),
    (319, 6, "res:ERRNO olddirfd:FD oldpath:FSRELPATH newdirfd:FD newpath:FSRELPATH flags:FLAGS32"),
    (324, 1, "json:CHARBUF"),
    (326, 5, "dirfd:FD name:FSRELPATH flags:FLAGS32 mode:UINT32 resolve:FLAGS32"),
    (327, 6, "fd:FD dirfd:FD name:FSRELPATH flags:FLAGS32 mode:UINT32 resolve:FLAGS32"),
    (330, 3, "dirfd:FD pathname:FSRELPATH flags:FLAGS32"),
    (331, 20, "res:ERRNO exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:UINT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF env:BYTEBUF tty:INT32 pgid:PID loginuid:INT32 flags:FLAGS32"),
    (334, 0, ""),
    (335, 20, "res:PID exe:CHARBUF args:BYTEBUF tid:PID pid:PID ptid:PID cwd:CHARBUF fdlimit:INT64 pgft_maj:UINT64 pgft_min:UINT64 vm_size:UINT32 vm_rss:UINT32 vm_swap:UINT32 comm:CHARBUF cgroups:BYTEBUF flags:FLAGS32 uid:UINT32 gid:UINT32 vtid:PID vpid:PID"),
];

fn type_name(t: ParamType) -> &'static str {
    use ParamType as T;
    match t {
        T::Int8 => "INT8",
        T::Int16 => "INT16",
        T::Int32 => "INT32",
        T::Int64 => "INT64",
        T::Uint8 => "UINT8",
        T::Uint16 => "UINT16",
        T::Uint32 => "UINT32",
        T::Uint64 => "UINT64",
        T::CharBuf => "CHARBUF",
        T::ByteBuf => "BYTEBUF",
        T::Errno => "ERRNO",
        T::SockAddr => "SOCKADDR",
        T::SockTuple => "SOCKTUPLE",
        T::Fd => "FD",
        T::Pid => "PID",
        T::FsPath => "FSPATH",
        T::FsRelPath => "FSRELPATH",
        T::SyscallId => "SYSCALLID",
        T::SigType => "SIGTYPE",
        T::Dyn => "DYN",
        T::Flags8 => "FLAGS8",
        T::Flags16 => "FLAGS16",
        T::Flags32 => "FLAGS32",
        T::Uid => "UID",
        T::Gid => "GID",
        T::Mode => "MODE",
        _ => "OTHER",
    }
}

#[test]
fn table_agrees_with_the_spec_catalogue() {
    assert!(SPEC_ROWS.len() >= 100);
    for &(code, n, params) in SPEC_ROWS {
        let info = event_info(code).unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(
            info.params.len(),
            n,
            "{code} {}: parameter count",
            info.name
        );
        let ours: Vec<String> = info
            .params
            .iter()
            .map(|p| format!("{}:{}", p.name, type_name(p.ty)))
            .collect();
        assert_eq!(ours.join(" "), params, "{code} {}", info.name);
        assert!(
            !info.is_unused() && !info.is_old_version(),
            "{code} is current"
        );
    }
}

#[test]
fn table_is_indexed_by_code_with_enter_exit_pairs() {
    assert_eq!(EVENT_TABLE.len(), usize::from(PPM_EVENT_MAX));
    for (i, e) in EVENT_TABLE.iter().enumerate() {
        assert_eq!(usize::from(e.code), i);
        assert!(e.params.len() <= PPM_MAX_EVENT_PARAMS);
        if i % 2 == 1 && !e.is_unused() && !EVENT_TABLE[i - 1].is_unused() {
            assert_eq!(EVENT_TABLE[i - 1].name, e.name, "pair {}/{i}", i - 1);
        }
    }
    assert!(event_info(PPM_EVENT_MAX).is_none());
}

#[test]
fn only_plugin_and_container_json_2_have_large_payloads() {
    let large: Vec<u16> = EVENT_TABLE
        .iter()
        .filter(|e| e.large_payload())
        .map(|e| e.code)
        .collect();
    assert_eq!(large, vec![322, 324]);
}

#[test]
fn requested_syscall_families_are_present() {
    // Families the shim records that have a dedicated event in this libs version. accept4 is
    // named "accept", umount2 "umount", pread64 "pread".
    let names = [
        "execve",
        "execveat",
        "clone",
        "fork",
        "vfork",
        "clone3",
        "procexit",
        "setuid",
        "setgid",
        "setresuid",
        "setresgid",
        "ptrace",
        "setns",
        "unshare",
        "kill",
        "tkill",
        "tgkill",
        "chroot",
        "open",
        "openat",
        "openat2",
        "creat",
        "read",
        "write",
        "pread",
        "pwrite",
        "readv",
        "writev",
        "sendfile",
        "close",
        "dup",
        "fcntl",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "mkdir",
        "mkdirat",
        "rmdir",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "chmod",
        "fchmod",
        "fchmodat",
        "mmap",
        "mprotect",
        "mount",
        "umount",
        "bpf",
        "socket",
        "socketpair",
        "bind",
        "listen",
        "connect",
        "accept",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "send",
        "recv",
        "shutdown",
        "syscall",
        "drop",
        "container",
    ];
    assert_eq!(EVENT_TABLE[248].name, "accept");
    assert_eq!(EVENT_TABLE[248].params[0].name, "flags");
    for n in names {
        assert!(
            EVENT_TABLE
                .iter()
                .any(|e| e.name == n && !e.is_unused() && !e.is_old_version()),
            "{n}: no current event"
        );
    }
}

#[test]
fn families_without_a_dedicated_event_have_generic_ids() {
    // In this libs version these go through GENERIC (0/1) with their PPM_SC id.
    for (name, id) in [
        ("exit", crate::flags::sc::EXIT),
        ("exit_group", crate::flags::sc::EXIT_GROUP),
        ("setgroups", crate::flags::sc::SETGROUPS),
        ("capset", crate::flags::sc::CAPSET),
        ("prctl", crate::flags::sc::PRCTL),
        ("pivot_root", crate::flags::sc::PIVOT_ROOT),
        ("chown", crate::flags::sc::CHOWN),
        ("lchown", crate::flags::sc::LCHOWN),
        ("fchown", crate::flags::sc::FCHOWN),
        ("fchownat", crate::flags::sc::FCHOWNAT),
        ("truncate", crate::flags::sc::TRUNCATE),
        ("ftruncate", crate::flags::sc::FTRUNCATE),
        ("init_module", crate::flags::sc::INIT_MODULE),
        ("finit_module", crate::flags::sc::FINIT_MODULE),
        ("umount2", 323),
        ("execve", 324),
    ] {
        assert_eq!(syscall_name(id), Some(name), "PPM_SC {id}");
        assert!(
            !EVENT_TABLE
                .iter()
                .any(|e| e.name == name && !e.is_unused() && !e.is_old_version())
                || name == "execve",
            "{name} has a dedicated event after all"
        );
    }
    assert_eq!(PPM_SC_NAMES.iter().position(|n| *n == "memfd_create"), None);
}
