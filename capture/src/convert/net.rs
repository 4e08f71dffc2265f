//! Sockets: socket, socketpair, bind, listen, connect, accept/accept4, sendto, recvfrom,
//! sendmsg, recvmsg, shutdown.
//!
//! Tuples follow sysdig's direction rule: outbound calls (connect, sendto) have the local end
//! as source; inbound ones (accept, recvfrom) have the peer as source.

use blackbox_recorder::{SockAddr as RecAddr, SockTuple as RecTuple, SyscallRecord};
use blackbox_scap::{EventBuilder, ParamValue, SockAddr, SockTuple};

use super::{fd_arg, u32_arg, EnterInput, ExitInput};

const AF_UNIX: u16 = 1;

/// The recorder's sockaddr in SCAP terms.
pub fn sockaddr(a: &RecAddr) -> SockAddr {
    match a {
        RecAddr::V4(v) => SockAddr::V4(*v),
        RecAddr::V6(v) => SockAddr::V6(*v),
        RecAddr::Unix(p) => SockAddr::Unix(p.iter().copied().take_while(|&c| c != 0).collect()),
        RecAddr::Other { family } => SockAddr::Other {
            family: u8::try_from(*family).unwrap_or(u8::MAX),
            data: Vec::new(),
        },
    }
}

/// The socket tuple of `rec` (its TUPLE blob), oriented for an outbound or inbound call. Unix
/// sockets get the path of the call's sockaddr, if any (the recorder reads no socket ids).
pub fn tuple(rec: &SyscallRecord<'_>, inbound: bool) -> Option<SockTuple> {
    match rec.tuple()? {
        RecTuple::V4(local, remote) => Some(if inbound {
            SockTuple::V4 {
                src: remote,
                dst: local,
            }
        } else {
            SockTuple::V4 {
                src: local,
                dst: remote,
            }
        }),
        RecTuple::V6(local, remote) => Some(if inbound {
            SockTuple::V6 {
                src: remote,
                dst: local,
            }
        } else {
            SockTuple::V6 {
                src: local,
                dst: remote,
            }
        }),
        RecTuple::Other(AF_UNIX) => {
            let path = match rec.sockaddr() {
                Some(RecAddr::Unix(p)) => p.into_iter().take_while(|&c| c != 0).collect(),
                _ => Vec::new(),
            };
            Some(SockTuple::Unix {
                src: 0,
                dst: 0,
                path,
            })
        }
        RecTuple::Other(_) => None,
    }
}

fn addr_param(rec: Option<&SyscallRecord<'_>>) -> ParamValue {
    rec.and_then(SyscallRecord::sockaddr)
        .map_or(ParamValue::Empty, |a| ParamValue::SockAddr(sockaddr(&a)))
}

/// The enter event's parameters.
pub fn enter(code: u16, b: EventBuilder, i: &EnterInput<'_, '_>) -> EventBuilder {
    let a = i.args;
    match code {
        18 => b
            .param_u32(a[0] as u32)
            .param_u32(a[1] as u32)
            .param_u32(a[2] as u32),
        20 => b.param_fd(fd_arg(a[0])),
        22 => b.param_fd(fd_arg(a[0])).param(addr_param(i.exit)),
        24 => b.param_fd(fd_arg(a[0])).param_u32(a[1] as u32),
        30 => b
            .param_fd(fd_arg(a[0]))
            .param_u32(u32_arg(a[2]))
            .param_socktuple(i.exit.and_then(|e| tuple(e, false))),
        34 => b.param_fd(fd_arg(a[0])).param_u32(u32_arg(a[2])),
        // sendmsg: size is the iov total; both it and the tuple come with the exit.
        48 => b
            .param_fd(fd_arg(a[0]))
            .param_u32(
                i.exit
                    .and_then(SyscallRecord::iov_len)
                    .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            )
            .param_socktuple(i.exit.and_then(|e| tuple(e, false))),
        52 => b.param_fd(fd_arg(a[0])),
        42 => b
            .param_u32(a[0] as u32)
            .param_u32(a[1] as u32)
            .param_u32(a[2] as u32),
        // shutdown: SHUT_RD/WR/RDWR have the same values in PPM.
        36 => b.param_fd(fd_arg(a[0])).param_u8(a[1] as u8),
        248 => b.param_i32(a[3] as u32 as i32),
        // accept: no parameters.
        _ => b,
    }
}

/// The exit event's parameters.
pub fn exit(code: u16, b: EventBuilder, i: &ExitInput<'_, '_>) -> EventBuilder {
    let r = i.rec;
    let data = || ParamValue::Bytes(r.data().map_or_else(Vec::new, <[u8]>::to_vec));
    match code {
        19 => b.param_fd(r.ret),
        21 => b.param_errno(r.ret).param(addr_param(Some(r))),
        23 => b.param_errno(r.ret).param_socktuple(tuple(r, false)),
        25 => b.param_errno(r.ret),
        31 => b.param_errno(r.ret).param(data()),
        35 => b
            .param_errno(r.ret)
            .param(data())
            .param_socktuple(tuple(r, true)),
        49 => b.param_errno(r.ret).param(data()),
        53 => b
            .param_errno(r.ret)
            .param_u32(
                r.iov_len()
                    .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            )
            .param(data())
            .param_socktuple(tuple(r, true)),
        43 => {
            let (fd1, fd2) = r.raw_fd_pair().unwrap_or((-1, -1));
            b.param_errno(r.ret)
                .param_fd(i64::from(fd1))
                .param_fd(i64::from(fd2))
                .param_u64(0)
                .param_u64(0)
        }
        37 => b.param_errno(r.ret),
        247 | 249 => b
            .param_fd(r.ret)
            .param_socktuple(tuple(r, true))
            .param_u8(0)
            .param_u32(0)
            .param_u32(0),
        _ => b,
    }
}
