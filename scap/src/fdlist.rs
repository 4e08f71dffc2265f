//! The fd list block (FDL v2, spec section 4.4): the fds a thread had open when the capture
//! started, one block per thread.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::cursor::Cursor;
use crate::error::ReadError;
use crate::metadata::{put_s16, truncate_str};

/// What an fd-list entry describes (FDL v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdKind {
    /// A named fd of `fd_type` (FILE 1, DIRECTORY 2, FIFO 7, EVENT 9, …).
    Named {
        /// SCAP fd type.
        fd_type: u8,
        /// Name.
        name: String,
    },
    /// A file with open flags (FILE_V2, type 16).
    FileV2 {
        /// PPM_O_* flags.
        open_flags: u32,
        /// Path.
        name: String,
        /// Device number, if present.
        dev: Option<u32>,
    },
    /// Connected IPv4 socket (type 3).
    Ipv4Socket {
        /// Source address.
        sip: Ipv4Addr,
        /// Destination address.
        dip: Ipv4Addr,
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol (2 TCP, 3 UDP, …).
        l4proto: u8,
    },
    /// Listening IPv4 socket (type 5).
    Ipv4Server {
        /// Address.
        ip: Ipv4Addr,
        /// Port.
        port: u16,
        /// Layer-4 protocol.
        l4proto: u8,
    },
    /// Connected IPv6 socket (type 4).
    Ipv6Socket {
        /// Source address.
        sip: Ipv6Addr,
        /// Destination address.
        dip: Ipv6Addr,
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Layer-4 protocol.
        l4proto: u8,
    },
    /// Listening IPv6 socket (type 6).
    Ipv6Server {
        /// Address.
        ip: Ipv6Addr,
        /// Port.
        port: u16,
        /// Layer-4 protocol.
        l4proto: u8,
    },
    /// Unix socket (type 8).
    Unix {
        /// Source socket id.
        source: u64,
        /// Destination socket id.
        dest: u64,
        /// Path.
        path: String,
    },
}

/// SCAP fd type numbers (`scap_fd_type`).
pub mod fd_type {
    /// Regular file.
    pub const FILE: u8 = 1;
    /// Directory.
    pub const DIRECTORY: u8 = 2;
    /// Connected IPv4 socket.
    pub const IPV4_SOCK: u8 = 3;
    /// Connected IPv6 socket.
    pub const IPV6_SOCK: u8 = 4;
    /// Listening IPv4 socket.
    pub const IPV4_SERVSOCK: u8 = 5;
    /// Listening IPv6 socket.
    pub const IPV6_SERVSOCK: u8 = 6;
    /// FIFO.
    pub const FIFO: u8 = 7;
    /// Unix socket.
    pub const UNIX_SOCK: u8 = 8;
    /// eventfd.
    pub const EVENT: u8 = 9;
    /// Unsupported.
    pub const UNSUPPORTED: u8 = 10;
    /// signalfd.
    pub const SIGNALFD: u8 = 11;
    /// epoll.
    pub const EVENTPOLL: u8 = 12;
    /// inotify.
    pub const INOTIFY: u8 = 13;
    /// timerfd.
    pub const TIMERFD: u8 = 14;
    /// netlink.
    pub const NETLINK: u8 = 15;
    /// File with open flags.
    pub const FILE_V2: u8 = 16;
}

/// One fd of a thread (FDL v2 entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdInfo {
    /// The fd number.
    pub fd: i64,
    /// Inode number.
    pub ino: u64,
    /// What it is.
    pub kind: FdKind,
}

/// The fds of one thread (one FDL v2 block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadFds {
    /// Thread id; must appear in a process list written earlier.
    pub tid: u64,
    /// Its fds.
    pub fds: Vec<FdInfo>,
}

const NAME_MAX: usize = 1023;

impl ThreadFds {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.tid.to_le_bytes());
        for f in &self.fds {
            let mut e = Vec::new();
            e.extend_from_slice(&f.fd.to_le_bytes());
            e.extend_from_slice(&f.ino.to_le_bytes());
            match &f.kind {
                FdKind::Named { fd_type, name } => {
                    e.push(*fd_type);
                    put_s16(&mut e, truncate_str(name, NAME_MAX).as_bytes());
                }
                FdKind::FileV2 {
                    open_flags,
                    name,
                    dev,
                } => {
                    e.push(fd_type::FILE_V2);
                    e.extend_from_slice(&open_flags.to_le_bytes());
                    put_s16(&mut e, truncate_str(name, NAME_MAX).as_bytes());
                    if let Some(d) = dev {
                        e.extend_from_slice(&d.to_le_bytes());
                    }
                }
                FdKind::Ipv4Socket {
                    sip,
                    dip,
                    sport,
                    dport,
                    l4proto,
                } => {
                    e.push(fd_type::IPV4_SOCK);
                    e.extend_from_slice(&sip.octets());
                    e.extend_from_slice(&dip.octets());
                    e.extend_from_slice(&sport.to_le_bytes());
                    e.extend_from_slice(&dport.to_le_bytes());
                    e.push(*l4proto);
                }
                FdKind::Ipv4Server { ip, port, l4proto } => {
                    e.push(fd_type::IPV4_SERVSOCK);
                    e.extend_from_slice(&ip.octets());
                    e.extend_from_slice(&port.to_le_bytes());
                    e.push(*l4proto);
                }
                FdKind::Ipv6Socket {
                    sip,
                    dip,
                    sport,
                    dport,
                    l4proto,
                } => {
                    e.push(fd_type::IPV6_SOCK);
                    e.extend_from_slice(&sip.octets());
                    e.extend_from_slice(&dip.octets());
                    e.extend_from_slice(&sport.to_le_bytes());
                    e.extend_from_slice(&dport.to_le_bytes());
                    e.push(*l4proto);
                }
                FdKind::Ipv6Server { ip, port, l4proto } => {
                    e.push(fd_type::IPV6_SERVSOCK);
                    e.extend_from_slice(&ip.octets());
                    e.extend_from_slice(&port.to_le_bytes());
                    e.push(*l4proto);
                }
                FdKind::Unix { source, dest, path } => {
                    e.push(fd_type::UNIX_SOCK);
                    e.extend_from_slice(&source.to_le_bytes());
                    e.extend_from_slice(&dest.to_le_bytes());
                    put_s16(&mut e, truncate_str(path, NAME_MAX).as_bytes());
                }
            }
            b.extend_from_slice(&((e.len() + 4) as u32).to_le_bytes());
            b.extend_from_slice(&e);
        }
        b
    }

    pub(crate) fn decode(body: &[u8], base: u64) -> Result<Self, ReadError> {
        let mut c = Cursor::new(body, base);
        let tid = c.u64("fd list")?;
        let mut fds = Vec::new();
        while c.remaining() >= 4 {
            let (at, mut e) = c.framed_entry(4, "fd entry length", "fd list", "fd entry")?;
            fds.push(Self::decode_entry(&mut e, at)?);
        }
        Ok(Self { tid, fds })
    }

    fn decode_entry(e: &mut Cursor<'_>, at: u64) -> Result<FdInfo, ReadError> {
        const W: &str = "fd entry";
        let fd = e.i64(W)?;
        let ino = e.u64(W)?;
        let t = e.u8(W)?;
        let kind = match t {
            fd_type::FILE_V2 => {
                let open_flags = e.u32(W)?;
                let name = e.s16_string(W)?;
                let dev = if e.remaining() >= 4 {
                    Some(e.u32(W)?)
                } else {
                    None
                };
                FdKind::FileV2 {
                    open_flags,
                    name,
                    dev,
                }
            }
            fd_type::IPV4_SOCK => FdKind::Ipv4Socket {
                sip: Ipv4Addr::from(e.u32(W)?.to_le_bytes()),
                dip: Ipv4Addr::from(e.u32(W)?.to_le_bytes()),
                sport: e.u16(W)?,
                dport: e.u16(W)?,
                l4proto: e.u8(W)?,
            },
            fd_type::IPV4_SERVSOCK => FdKind::Ipv4Server {
                ip: Ipv4Addr::from(e.u32(W)?.to_le_bytes()),
                port: e.u16(W)?,
                l4proto: e.u8(W)?,
            },
            fd_type::IPV6_SOCK => FdKind::Ipv6Socket {
                sip: Ipv6Addr::from(e.bytes16(W)?),
                dip: Ipv6Addr::from(e.bytes16(W)?),
                sport: e.u16(W)?,
                dport: e.u16(W)?,
                l4proto: e.u8(W)?,
            },
            fd_type::IPV6_SERVSOCK => FdKind::Ipv6Server {
                ip: Ipv6Addr::from(e.bytes16(W)?),
                port: e.u16(W)?,
                l4proto: e.u8(W)?,
            },
            fd_type::UNIX_SOCK => FdKind::Unix {
                source: e.u64(W)?,
                dest: e.u64(W)?,
                path: e.s16_string(W)?,
            },
            1 | 2 | 7 | 9..=15 => FdKind::Named {
                fd_type: t,
                name: e.s16_string(W)?,
            },
            other => {
                return Err(ReadError::corrupt(
                    at,
                    "fd entry",
                    format!("unknown fd type {other}"),
                ))
            }
        };
        Ok(FdInfo { fd, ino, kind })
    }
}

#[cfg(test)]
mod tests;
