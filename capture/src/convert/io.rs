//! Vectored I/O (readv, writev, preadv, pwritev and their `2` variants), sendfile, pipes,
//! fcntl and the memory-mapping calls (mmap, munmap, mprotect).

use blackbox_scap::{EventBuilder, ParamValue};

use super::flags::{fcntl_cmd_to_ppm, mmap_flags_to_ppm, prot_to_ppm};
use super::{fd_arg, EnterInput, ExitInput};

/// The iov total of the exit record, as SCAP's `u32` size.
fn iov_size(rec: Option<&blackbox_recorder::SyscallRecord<'_>>) -> u32 {
    rec.and_then(blackbox_recorder::SyscallRecord::iov_len)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// sendfile's offset before the call: the recorded (advanced) offset minus what was sent.
fn sendfile_offset_before(rec: &blackbox_recorder::SyscallRecord<'_>) -> u64 {
    let after = rec.raw_u64().unwrap_or(0);
    if rec.ret > 0 {
        after.saturating_sub(rec.ret as u64)
    } else {
        after
    }
}

/// The enter event's parameters.
pub fn enter(code: u16, b: EventBuilder, i: &EnterInput<'_, '_>) -> EventBuilder {
    let a = i.args;
    match code {
        // readv
        116 => b.param_fd(fd_arg(a[0])),
        // writev: the size is the iov total, known from the exit record.
        118 => b.param_fd(fd_arg(a[0])).param_u32(iov_size(i.exit)),
        // preadv: pos is the 4th argument (pos_l; pos_h is 0 on 64-bit).
        120 => b.param_fd(fd_arg(a[0])).param_u64(a[3]),
        122 => b
            .param_fd(fd_arg(a[0]))
            .param_u32(iov_size(i.exit))
            .param_u64(a[3]),
        188 => {
            let offset = i.exit.map_or(0, sendfile_offset_before);
            b.param_fd(fd_arg(a[0]))
                .param_fd(fd_arg(a[1]))
                .param_u64(offset)
                .param_u64(a[3])
        }
        150 => b.param_fd(fd_arg(a[0])).param_u8(fcntl_cmd_to_ppm(a[1])),
        160 => b
            .param_u64(a[0])
            .param_u64(a[1])
            .param_u32(prot_to_ppm(a[2]))
            .param_u32(mmap_flags_to_ppm(a[3]))
            .param_fd(fd_arg(a[4]))
            .param_u64(a[5]),
        164 => b.param_u64(a[0]).param_u64(a[1]),
        328 => b
            .param_u64(a[0])
            .param_u64(a[1])
            .param_u32(prot_to_ppm(a[2])),
        // pipe, pipe2: no enter parameters.
        _ => b,
    }
}

/// The exit event's parameters.
pub fn exit(code: u16, b: EventBuilder, i: &ExitInput<'_, '_>) -> EventBuilder {
    let r = i.rec;
    let data = || ParamValue::Bytes(r.data().map_or_else(Vec::new, <[u8]>::to_vec));
    match code {
        117 | 121 => b
            .param_errno(r.ret)
            .param_u32(iov_size(Some(r)))
            .param(data()),
        119 | 123 => b.param_errno(r.ret).param(data()),
        189 => b.param_errno(r.ret).param_u64(r.raw_u64().unwrap_or(0)),
        151 => b.param_fd(r.ret),
        61 => {
            let (fd1, fd2) = r.raw_fd_pair().unwrap_or((-1, -1));
            b.param_errno(r.ret)
                .param_fd(i64::from(fd1))
                .param_fd(i64::from(fd2))
                .param_u64(0)
        }
        // mmap's res is the mapped address (or -errno as u64); the vm counters are 0.
        161 => b
            .param_u64(r.ret as u64)
            .param_u32(0)
            .param_u32(0)
            .param_u32(0),
        165 => b.param_errno(r.ret).param_u32(0).param_u32(0).param_u32(0),
        329 => b.param_errno(r.ret),
        _ => b,
    }
}
