//! Files and fds: open family, close, read/write family, dup family, rename/link/symlink,
//! unlink, mkdir/rmdir, chmod family, chdir/fchdir, mount/umount.

use blackbox_recorder::BlobKind;
use blackbox_scap::{EventBuilder, ParamValue};

use super::flags::{mount_flags_to_ppm, open_flags_to_ppm, open_mode};
use super::{exit_path, fd_arg, str_or_empty, u32_arg, EnterInput, ExitInput};

/// `struct open_how` of openat2 as recorded: flags, mode, resolve.
fn open_how(input: Option<&blackbox_recorder::SyscallRecord<'_>>) -> Option<(u64, u64, u64)> {
    let b = input?.blob(BlobKind::OpenHow)?.data;
    let word = |i: usize| {
        b.get(i * 8..i * 8 + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_ne_bytes)
    };
    Some((word(0)?, word(1).unwrap_or(0), word(2).unwrap_or(0)))
}

/// Linux `RESOLVE_*` to `PPM_RESOLVE_*`.
fn resolve_to_ppm(r: u64) -> u32 {
    const MAP: [(u64, u32); 6] = [
        (0x08, 1),  // BENEATH
        (0x10, 2),  // IN_ROOT
        (0x02, 4),  // NO_MAGICLINKS
        (0x04, 8),  // NO_SYMLINKS
        (0x01, 16), // NO_XDEV
        (0x20, 32), // CACHED
    ];
    MAP.iter()
        .filter(|(l, _)| r & l != 0)
        .fold(0, |acc, (_, p)| acc | p)
}

/// Linux `AT_SYMLINK_FOLLOW` / `AT_EMPTY_PATH` to `PPM_LINKAT_*`.
fn linkat_flags_to_ppm(f: u64) -> u32 {
    let mut r = 0;
    if f & 0x400 != 0 {
        r |= 1;
    }
    if f & 0x1000 != 0 {
        r |= 2;
    }
    r
}

/// The enter event's parameters.
pub fn enter(code: u16, b: EventBuilder, i: &EnterInput<'_, '_>) -> EventBuilder {
    let a = i.args;
    match code {
        2 => b
            .param(str_or_empty(exit_path(i, 0)))
            .param_u32(open_flags_to_ppm(a[1]))
            .param_u32(open_mode(a[1], a[2])),
        58 => b
            .param(str_or_empty(exit_path(i, 0)))
            .param_u32((a[1] & 0o7777) as u32),
        306 => b
            .param_fd(fd_arg(a[0]))
            .param(str_or_empty(exit_path(i, 1)))
            .param_u32(open_flags_to_ppm(a[2]))
            .param_u32(open_mode(a[2], a[3])),
        326 => {
            let (flags, mode, resolve) = open_how(i.exit).unwrap_or((0, 0, 0));
            b.param_fd(fd_arg(a[0]))
                .param(str_or_empty(exit_path(i, 1)))
                .param_u32(open_flags_to_ppm(flags))
                .param_u32(open_mode(flags, mode))
                .param_u32(resolve_to_ppm(resolve))
        }
        4 | 124 | 96 => b.param_fd(fd_arg(a[0])),
        6 | 8 => b.param_fd(fd_arg(a[0])).param_u32(u32_arg(a[2])),
        112 | 114 => b
            .param_fd(fd_arg(a[0]))
            .param_u32(u32_arg(a[2]))
            .param_u64(a[3]),
        276 => b.param_u32((a[1] & 0o7777) as u32),
        256 => b.param_u32(mount_flags_to_ppm(a[3])),
        258 => b.param_u32(a[1] as u32),
        // rename, renameat, symlink(at), unlink(at), mkdirat, link(at), chmod family,
        // renameat2, rmdir, chdir: no enter parameters in this version.
        _ => b,
    }
}

/// The exit event's parameters.
pub fn exit(code: u16, b: EventBuilder, i: &ExitInput<'_, '_>) -> EventBuilder {
    let r = i.rec;
    let a = i.args;
    let res = r.ret;
    let path = |arg: u8| str_or_empty(r.path_arg(arg));
    let data = || ParamValue::Bytes(r.data().map_or_else(Vec::new, <[u8]>::to_vec));
    match code {
        3 => b
            .param_fd(res)
            .param(path(0))
            .param_u32(open_flags_to_ppm(a[1]))
            .param_u32(open_mode(a[1], a[2]))
            .param_u32(0),
        59 => b
            .param_fd(res)
            .param(path(0))
            .param_u32((a[1] & 0o7777) as u32)
            .param_u32(0),
        307 => b
            .param_fd(res)
            .param_fd(fd_arg(a[0]))
            .param(path(1))
            .param_u32(open_flags_to_ppm(a[2]))
            .param_u32(open_mode(a[2], a[3]))
            .param_u32(0),
        327 => {
            let (flags, mode, resolve) = open_how(Some(r)).unwrap_or((0, 0, 0));
            b.param_fd(res)
                .param_fd(fd_arg(a[0]))
                .param(path(1))
                .param_u32(open_flags_to_ppm(flags))
                .param_u32(open_mode(flags, mode))
                .param_u32(resolve_to_ppm(resolve))
        }
        5 | 97 => b.param_errno(res),
        7 | 9 | 113 | 115 => b.param_errno(res).param(data()),
        125 => b.param_fd(res),
        175 | 309 => b.param_errno(res).param(path(0)).param(path(1)),
        177 => b
            .param_errno(res)
            .param_fd(fd_arg(a[0]))
            .param(path(1))
            .param_fd(fd_arg(a[2]))
            .param(path(3)),
        319 => b
            .param_errno(res)
            .param_fd(fd_arg(a[0]))
            .param(path(1))
            .param_fd(fd_arg(a[2]))
            .param(path(3))
            .param_u32(a[4] as u32),
        311 => b
            .param_errno(res)
            .param_fd(fd_arg(a[0]))
            .param(path(1))
            .param_fd(fd_arg(a[2]))
            .param(path(3))
            .param_u32(linkat_flags_to_ppm(a[4])),
        179 => b.param_errno(res).param(path(0)).param(path(1)),
        181 => b
            .param_errno(res)
            .param(path(0))
            .param_fd(fd_arg(a[1]))
            .param(path(2)),
        277 | 279 | 301 | 259 | 95 => b.param_errno(res).param(path(0)),
        303 => b
            .param_errno(res)
            .param_fd(fd_arg(a[0]))
            .param(path(1))
            .param_u32(a[2] as u32),
        305 => b
            .param_errno(res)
            .param_fd(fd_arg(a[0]))
            .param(path(1))
            .param_u32((a[2] & 0o7777) as u32),
        313 => b
            .param_errno(res)
            .param_fd(fd_arg(a[0]))
            .param(path(1))
            .param_u32((a[2] & 0o7777) as u32),
        315 => b
            .param_errno(res)
            .param(path(0))
            .param_u32((a[1] & 0o7777) as u32),
        317 => b
            .param_errno(res)
            .param_fd(fd_arg(a[0]))
            .param_u32((a[1] & 0o7777) as u32),
        257 => b
            .param_errno(res)
            .param(path(0))
            .param(path(1))
            .param(path(2)),
        _ => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_and_linkat_flags() {
        assert_eq!(resolve_to_ppm(0x08 | 0x01), 1 | 16);
        assert_eq!(resolve_to_ppm(0), 0);
        assert_eq!(linkat_flags_to_ppm(0x1400), 3);
    }
}
