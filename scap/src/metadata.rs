//! Metadata blocks: machine info, process list, user/group list, interface list (spec
//! section 4; the fd list is in `fdlist.rs`). Each type encodes its block body and decodes it.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::cursor::{join_nul, split_nul, Cursor};
use crate::error::ReadError;

/// Machine info (MI block, body exactly 180 bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineInfo {
    /// Number of CPUs.
    pub num_cpus: u32,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
    /// Maximum pid.
    pub max_pid: u64,
    /// Host name (at most 127 bytes are stored).
    pub hostname: String,
}

const MI_BODY: usize = 180;
const HOSTNAME_LEN: usize = 128;

impl MachineInfo {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(MI_BODY);
        b.extend_from_slice(&self.num_cpus.to_le_bytes());
        b.extend_from_slice(&self.memory_bytes.to_le_bytes());
        b.extend_from_slice(&self.max_pid.to_le_bytes());
        let name = truncate_str(&self.hostname, HOSTNAME_LEN - 1);
        b.extend_from_slice(name.as_bytes());
        b.resize(20 + HOSTNAME_LEN + 32, 0);
        b
    }

    pub(crate) fn decode(c: &mut Cursor<'_>) -> Result<Self, ReadError> {
        let num_cpus = c.u32("machine info")?;
        let memory_bytes = c.u64("machine info")?;
        let max_pid = c.u64("machine info")?;
        let name = c.take(HOSTNAME_LEN, "machine info")?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        c.skip(32, "machine info")?;
        Ok(Self {
            num_cpus,
            memory_bytes,
            max_pid,
            hostname: String::from_utf8_lossy(&name[..end]).into_owned(),
        })
    }
}

/// One process-list entry (PL v9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Host thread id.
    pub tid: u64,
    /// Host process id.
    pub pid: u64,
    /// Parent process id.
    pub ptid: u64,
    /// Session id.
    pub sid: u64,
    /// Process group id inside the pid namespace.
    pub vpgid: u64,
    /// Command name (`proc.name`).
    pub comm: String,
    /// argv\[0\] (`proc.exe`).
    pub exe: String,
    /// Full executable path (`proc.exepath`).
    pub exepath: String,
    /// Arguments after argv\[0\].
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// RLIMIT_NOFILE.
    pub fdlimit: i64,
    /// PPM_CL_* thread flags.
    pub flags: u32,
    /// Effective uid.
    pub uid: u32,
    /// Effective gid.
    pub gid: u32,
    /// Virtual memory size in KiB.
    pub vmsize_kb: u32,
    /// Resident size in KiB.
    pub vmrss_kb: u32,
    /// Swapped size in KiB.
    pub vmswap_kb: u32,
    /// Major page faults.
    pub pfmajor: u64,
    /// Minor page faults.
    pub pfminor: u64,
    /// Environment, `K=V` each.
    pub env: Vec<String>,
    /// Thread id inside the pid namespace.
    pub vtid: i64,
    /// Process id inside the pid namespace.
    pub vpid: i64,
    /// Cgroups, `subsys=/path` each. `container.id` is derived from these.
    pub cgroups: Vec<String>,
    /// Root directory.
    pub root: String,
    /// Login uid (`u32::MAX` = unset); absent in shorter entries.
    pub loginuid: Option<u32>,
    /// Whether the executable is writable by the process; absent in shorter entries.
    pub exe_writable: Option<bool>,
}

/// Size limits the reader of this libs version enforces on PL strings.
const COMM_MAX: usize = 1024;
const LIST_MAX: usize = 4096;
const PATH_MAX: usize = 4096;

impl ProcessInfo {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Vec::new();
        for v in [self.tid, self.pid, self.ptid, self.sid, self.vpgid] {
            e.extend_from_slice(&v.to_le_bytes());
        }
        put_s16(&mut e, truncate_str(&self.comm, COMM_MAX).as_bytes());
        put_s16(&mut e, truncate_str(&self.exe, PATH_MAX).as_bytes());
        put_s16(&mut e, truncate_str(&self.exepath, PATH_MAX).as_bytes());
        put_s16(&mut e, &join_limited(&self.args, LIST_MAX));
        put_s16(&mut e, truncate_str(&self.cwd, PATH_MAX).as_bytes());
        e.extend_from_slice(&self.fdlimit.to_le_bytes());
        for v in [
            self.flags,
            self.uid,
            self.gid,
            self.vmsize_kb,
            self.vmrss_kb,
            self.vmswap_kb,
        ] {
            e.extend_from_slice(&v.to_le_bytes());
        }
        e.extend_from_slice(&self.pfmajor.to_le_bytes());
        e.extend_from_slice(&self.pfminor.to_le_bytes());
        put_s16(&mut e, &join_limited(&self.env, LIST_MAX));
        e.extend_from_slice(&self.vtid.to_le_bytes());
        e.extend_from_slice(&self.vpid.to_le_bytes());
        put_s16(&mut e, &join_limited(&self.cgroups, LIST_MAX));
        put_s16(&mut e, truncate_str(&self.root, PATH_MAX).as_bytes());
        e.extend_from_slice(&self.loginuid.unwrap_or(u32::MAX).to_le_bytes());
        e.push(u8::from(self.exe_writable.unwrap_or(false)));
        let len = (e.len() + 4) as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&e);
    }

    /// Decodes all entries of a PL v9 body.
    pub(crate) fn decode_all(body: &[u8], base: u64) -> Result<Vec<Self>, ReadError> {
        let mut out = Vec::new();
        let mut c = Cursor::new(body, base);
        while c.remaining() >= 4 {
            let (_, mut entry) =
                c.framed_entry(4, "process entry length", "process list", "process entry")?;
            out.push(Self::decode_entry(&mut entry)?);
        }
        Ok(out)
    }

    fn decode_entry(c: &mut Cursor<'_>) -> Result<Self, ReadError> {
        const W: &str = "process entry";
        let mut p = Self {
            tid: c.u64(W)?,
            pid: c.u64(W)?,
            ptid: c.u64(W)?,
            sid: c.u64(W)?,
            vpgid: c.u64(W)?,
            comm: c.s16_string(W)?,
            exe: c.s16_string(W)?,
            exepath: c.s16_string(W)?,
            args: split_nul(c.s16(W)?),
            cwd: c.s16_string(W)?,
            fdlimit: c.i64(W)?,
            flags: c.u32(W)?,
            uid: c.u32(W)?,
            gid: c.u32(W)?,
            vmsize_kb: c.u32(W)?,
            vmrss_kb: c.u32(W)?,
            vmswap_kb: c.u32(W)?,
            pfmajor: c.u64(W)?,
            pfminor: c.u64(W)?,
            env: split_nul(c.s16(W)?),
            vtid: c.i64(W)?,
            vpid: c.i64(W)?,
            cgroups: split_nul(c.s16(W)?),
            root: c.s16_string(W)?,
            loginuid: None,
            exe_writable: None,
        };
        if c.remaining() >= 4 {
            p.loginuid = Some(c.u32(W)?);
        }
        if c.remaining() >= 1 {
            p.exe_writable = Some(c.u8(W)? != 0);
        }
        Ok(p)
    }
}

/// A user (UL v2 entry, kind 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Name (at most 255 bytes are stored).
    pub name: String,
    /// Home directory (at most 255 bytes).
    pub homedir: String,
    /// Shell (at most 255 bytes).
    pub shell: String,
}

/// A group (UL v2 entry, kind 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// gid.
    pub gid: u32,
    /// Name (at most 255 bytes).
    pub name: String,
}

/// The reader of this libs version rejects user-list strings of 256 bytes or more.
const USER_STR_MAX: usize = 255;

pub(crate) fn encode_users(users: &[UserInfo], groups: &[GroupInfo]) -> Vec<u8> {
    let mut b = Vec::new();
    for u in users {
        let mut e = vec![0u8];
        e.extend_from_slice(&u.uid.to_le_bytes());
        e.extend_from_slice(&u.gid.to_le_bytes());
        for s in [&u.name, &u.homedir, &u.shell] {
            put_s16(&mut e, truncate_str(s, USER_STR_MAX).as_bytes());
        }
        b.extend_from_slice(&((e.len() + 4) as u32).to_le_bytes());
        b.extend_from_slice(&e);
    }
    for g in groups {
        let mut e = vec![1u8];
        e.extend_from_slice(&g.gid.to_le_bytes());
        put_s16(&mut e, truncate_str(&g.name, USER_STR_MAX).as_bytes());
        b.extend_from_slice(&((e.len() + 4) as u32).to_le_bytes());
        b.extend_from_slice(&e);
    }
    b
}

pub(crate) fn decode_users(
    body: &[u8],
    base: u64,
) -> Result<(Vec<UserInfo>, Vec<GroupInfo>), ReadError> {
    const W: &str = "user list entry";
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut c = Cursor::new(body, base);
    while c.remaining() >= 4 {
        let (at, mut e) = c.framed_entry(5, "user list entry length", "user list", W)?;
        match e.u8(W)? {
            0 => users.push(UserInfo {
                uid: e.u32(W)?,
                gid: e.u32(W)?,
                name: e.s16_string(W)?,
                homedir: e.s16_string(W)?,
                shell: e.s16_string(W)?,
            }),
            1 => groups.push(GroupInfo {
                gid: e.u32(W)?,
                name: e.s16_string(W)?,
            }),
            k => {
                return Err(ReadError::corrupt(
                    at,
                    "user list",
                    format!("unknown entry kind {k}"),
                ))
            }
        }
    }
    Ok((users, groups))
}

/// A network interface address (IL v2 entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interface {
    /// IPv4 address.
    V4 {
        /// Interface name.
        name: String,
        /// Address.
        addr: Ipv4Addr,
        /// Netmask.
        netmask: Ipv4Addr,
        /// Broadcast address.
        bcast: Ipv4Addr,
        /// Link speed.
        linkspeed: u64,
    },
    /// IPv6 address.
    V6 {
        /// Interface name.
        name: String,
        /// Address.
        addr: Ipv6Addr,
        /// Netmask.
        netmask: Ipv6Addr,
        /// Broadcast address.
        bcast: Ipv6Addr,
        /// Link speed.
        linkspeed: u64,
    },
}

pub(crate) fn encode_interfaces(ifs: &[Interface]) -> Vec<u8> {
    let mut b = Vec::new();
    for i in ifs {
        let mut e = Vec::new();
        let (kind, name) = match i {
            Interface::V4 { name, .. } => (1u16, name),
            Interface::V6 { name, .. } => (2u16, name),
        };
        let name = truncate_str(name, usize::from(u16::MAX));
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&(name.len() as u16).to_le_bytes());
        match i {
            Interface::V4 {
                addr,
                netmask,
                bcast,
                linkspeed,
                ..
            } => {
                for a in [addr, netmask, bcast] {
                    e.extend_from_slice(&a.octets());
                }
                e.extend_from_slice(&linkspeed.to_le_bytes());
            }
            Interface::V6 {
                addr,
                netmask,
                bcast,
                linkspeed,
                ..
            } => {
                for a in [addr, netmask, bcast] {
                    e.extend_from_slice(&a.octets());
                }
                e.extend_from_slice(&linkspeed.to_le_bytes());
            }
        }
        e.extend_from_slice(name.as_bytes());
        // IL entry lengths exclude their own 4 bytes, unlike PL, FDL and UL.
        b.extend_from_slice(&(e.len() as u32).to_le_bytes());
        b.extend_from_slice(&e);
    }
    b
}

pub(crate) fn decode_interfaces(body: &[u8], base: u64) -> Result<Vec<Interface>, ReadError> {
    const W: &str = "interface entry";
    let mut out = Vec::new();
    let mut c = Cursor::new(body, base);
    while c.remaining() >= 4 {
        let at = c.offset();
        let len = c.u32("interface entry length")? as usize;
        if len > c.remaining() {
            return Err(ReadError::corrupt(
                at,
                "interface list",
                format!(
                    "entry length {len}, {} bytes left in the block",
                    c.remaining()
                ),
            ));
        }
        let mut e = Cursor::new(c.take(len, W)?, at + 4);
        let kind = e.u16(W)?;
        let name_len = usize::from(e.u16(W)?);
        let iface = match kind {
            1 => {
                let addr = Ipv4Addr::from(e.u32(W)?.to_le_bytes());
                let netmask = Ipv4Addr::from(e.u32(W)?.to_le_bytes());
                let bcast = Ipv4Addr::from(e.u32(W)?.to_le_bytes());
                let linkspeed = e.u64(W)?;
                let name = String::from_utf8_lossy(e.take(name_len, W)?).into_owned();
                Interface::V4 {
                    name,
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                }
            }
            2 => {
                let addr = Ipv6Addr::from(e.bytes16(W)?);
                let netmask = Ipv6Addr::from(e.bytes16(W)?);
                let bcast = Ipv6Addr::from(e.bytes16(W)?);
                let linkspeed = e.u64(W)?;
                let name = String::from_utf8_lossy(e.take(name_len, W)?).into_owned();
                Interface::V6 {
                    name,
                    addr,
                    netmask,
                    bcast,
                    linkspeed,
                }
            }
            k => {
                return Err(ReadError::corrupt(
                    at,
                    "interface list",
                    format!("unknown address type {k}"),
                ))
            }
        };
        out.push(iface);
    }
    Ok(out)
}

pub(crate) fn put_s16(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&b[..n]);
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// NUL-joins whole items while the result stays within `max` bytes.
fn join_limited(items: &[String], max: usize) -> Vec<u8> {
    let mut kept = 0;
    let mut len = 0;
    for s in items {
        if len + s.len() + 1 > max {
            break;
        }
        len += s.len() + 1;
        kept += 1;
    }
    join_nul(&items[..kept])
}

#[cfg(test)]
mod tests;
