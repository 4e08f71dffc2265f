//! Parameter values: decoding from and encoding to the on-disk form of each [`ParamType`]
//! (spec section 5.3).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use crate::event_table::{ParamAux, ParamInfo, ParamType};
use crate::flags::af;

/// A decoded parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A zero-length parameter (the driver writes these for values it could not read).
    Empty,
    /// `INT8`..`INT64`.
    Int(i64),
    /// Unsigned and flag-like fixed-width types: `UINT*`, `FLAGS*`, `UID`, `GID`, `MODE`,
    /// `BOOL`, `SIGSET`, `SIGTYPE`, `SYSCALLID`, `PORT`, `L4PROTO`, `SOCKFAMILY`, `RELTIME`,
    /// `ABSTIME`.
    Uint(u64),
    /// `FD`.
    Fd(i64),
    /// `PID`.
    Pid(i64),
    /// `ERRNO`: a return value, negative means −errno.
    Errno(i64),
    /// `DOUBLE`.
    Double(f64),
    /// `CHARBUF`, `FSPATH`, `FSRELPATH`: the bytes without the terminating NUL.
    Str(Vec<u8>),
    /// `BYTEBUF`, and the array/net types this crate does not interpret.
    Bytes(Vec<u8>),
    /// `IPV4ADDR`.
    Ipv4(Ipv4Addr),
    /// `IPV6ADDR`.
    Ipv6(Ipv6Addr),
    /// `SOCKADDR`.
    SockAddr(SockAddr),
    /// `SOCKTUPLE`.
    SockTuple(SockTuple),
    /// `FDLIST`: `(fd, flags)` pairs.
    FdList(Vec<(u64, u16)>),
    /// `DYN`: the index into the parameter's dynamic table and the selected value.
    Dyn {
        /// Index into the table's dynamic types.
        index: u8,
        /// The value, of the selected type.
        value: Box<ParamValue>,
    },
}

impl ParamValue {
    /// A short name of the variant, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Int(_) => "signed integer",
            Self::Uint(_) => "unsigned integer",
            Self::Fd(_) => "fd",
            Self::Pid(_) => "pid",
            Self::Errno(_) => "errno",
            Self::Double(_) => "double",
            Self::Str(_) => "string",
            Self::Bytes(_) => "byte buffer",
            Self::Ipv4(_) => "IPv4 address",
            Self::Ipv6(_) => "IPv6 address",
            Self::SockAddr(_) => "sockaddr",
            Self::SockTuple(_) => "socktuple",
            Self::FdList(_) => "fd list",
            Self::Dyn { .. } => "dynamic value",
        }
    }

    /// The value as a signed number, for any integer variant.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Int(v) | Self::Fd(v) | Self::Pid(v) | Self::Errno(v) => Some(v),
            Self::Uint(v) => i64::try_from(v).ok(),
            Self::Dyn { ref value, .. } => value.as_i64(),
            _ => None,
        }
    }

    /// The value as an unsigned number, for `Uint`, or non-negative signed values.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::Uint(v) => Some(v),
            Self::Int(v) | Self::Fd(v) | Self::Pid(v) | Self::Errno(v) => u64::try_from(v).ok(),
            Self::Dyn { ref value, .. } => value.as_u64(),
            _ => None,
        }
    }

    /// The string, lossily decoded, for `Str`.
    pub fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Self::Str(b) => Some(String::from_utf8_lossy(b)),
            _ => None,
        }
    }

    /// The raw bytes of `Str` and `Bytes`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Str(b) | Self::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// A `SOCKADDR` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    /// `AF_UNIX` with its path.
    Unix(Vec<u8>),
    /// `AF_INET`.
    V4(SocketAddrV4),
    /// `AF_INET6` (flow info and scope are not stored).
    V6(SocketAddrV6),
    /// Any other family, with the raw bytes after the family byte.
    Other {
        /// PPM_AF_* family.
        family: u8,
        /// The rest.
        data: Vec<u8>,
    },
}

/// A `SOCKTUPLE` value. Outbound events (connect, sendto) have `src` = local; inbound ones
/// (accept) have `src` = the remote peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockTuple {
    /// IPv4 source and destination.
    V4 {
        /// Source.
        src: SocketAddrV4,
        /// Destination.
        dst: SocketAddrV4,
    },
    /// IPv6 source and destination.
    V6 {
        /// Source.
        src: SocketAddrV6,
        /// Destination.
        dst: SocketAddrV6,
    },
    /// Unix socket: opaque kernel socket ids and the path.
    Unix {
        /// Source socket id.
        src: u64,
        /// Destination socket id.
        dst: u64,
        /// Path (may be empty).
        path: Vec<u8>,
    },
    /// Any other family, with the raw bytes after the family byte.
    Other {
        /// PPM_AF_* family.
        family: u8,
        /// The rest.
        data: Vec<u8>,
    },
}

/// Why a parameter's bytes could not be decoded (turned into a `ReadError` by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub String);

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], DecodeError> {
    b.try_into()
        .map_err(|_| DecodeError(format!("expected {N} bytes, found {}", b.len())))
}

fn v4(ip: [u8; 4], port: [u8; 2]) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(ip), u16::from_le_bytes(port))
}

fn v6(ip: [u8; 16], port: [u8; 2]) -> SocketAddrV6 {
    SocketAddrV6::new(Ipv6Addr::from(ip), u16::from_le_bytes(port), 0, 0)
}

fn split<const A: usize, const B: usize>(b: &[u8]) -> ([u8; A], [u8; B]) {
    let mut a = [0u8; A];
    let mut c = [0u8; B];
    a.copy_from_slice(&b[..A]);
    c.copy_from_slice(&b[A..A + B]);
    (a, c)
}

fn decode_sockaddr(b: &[u8]) -> Result<SockAddr, DecodeError> {
    let (&family, rest) = b
        .split_first()
        .ok_or_else(|| DecodeError("empty sockaddr".into()))?;
    Ok(match family {
        af::INET if rest.len() == 6 => {
            let (ip, port) = split::<4, 2>(rest);
            SockAddr::V4(v4(ip, port))
        }
        af::INET6 if rest.len() == 18 => {
            let (ip, port) = split::<16, 2>(rest);
            SockAddr::V6(v6(ip, port))
        }
        af::UNIX => SockAddr::Unix(strip_nul(rest).to_vec()),
        af::INET | af::INET6 => {
            return Err(DecodeError(format!(
                "sockaddr of family {family} has {} address bytes",
                rest.len()
            )))
        }
        _ => SockAddr::Other {
            family,
            data: rest.to_vec(),
        },
    })
}

fn decode_socktuple(b: &[u8]) -> Result<SockTuple, DecodeError> {
    let (&family, rest) = b
        .split_first()
        .ok_or_else(|| DecodeError("empty socktuple".into()))?;
    Ok(match family {
        af::INET if rest.len() == 12 => {
            let (sip, r) = split::<4, 8>(rest);
            let (sport, r) = split::<2, 6>(&r);
            let (dip, dport) = split::<4, 2>(&r);
            SockTuple::V4 {
                src: v4(sip, sport),
                dst: v4(dip, dport),
            }
        }
        af::INET6 if rest.len() == 36 => {
            let (sip, r) = split::<16, 20>(rest);
            let (sport, r) = split::<2, 18>(&r);
            let (dip, dport) = split::<16, 2>(&r);
            SockTuple::V6 {
                src: v6(sip, sport),
                dst: v6(dip, dport),
            }
        }
        af::UNIX if rest.len() >= 16 => {
            let (src, r) = split::<8, 8>(rest);
            let dst: [u8; 8] = r;
            SockTuple::Unix {
                src: u64::from_le_bytes(src),
                dst: u64::from_le_bytes(dst),
                path: strip_nul(&rest[16..]).to_vec(),
            }
        }
        af::INET | af::INET6 | af::UNIX => {
            return Err(DecodeError(format!(
                "socktuple of family {family} has {} bytes",
                rest.len()
            )))
        }
        _ => SockTuple::Other {
            family,
            data: rest.to_vec(),
        },
    })
}

fn strip_nul(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

fn decode_fdlist(b: &[u8]) -> Result<Vec<(u64, u16)>, DecodeError> {
    let n = usize::from(u16::from_le_bytes(fixed::<2>(b.get(..2).unwrap_or(b))?));
    let body = &b[2..];
    if body.len() != n * 10 {
        return Err(DecodeError(format!(
            "fd list of {n} entries has {} bytes, expected {}",
            body.len(),
            n * 10
        )));
    }
    Ok(body
        .chunks_exact(10)
        .map(|c| {
            let (fd, flags) = split::<8, 2>(c);
            (u64::from_le_bytes(fd), u16::from_le_bytes(flags))
        })
        .collect())
}

/// Decodes one parameter of type `ty`. `dyn_types` is the dynamic table for `DYN` parameters.
pub(crate) fn decode(
    ty: ParamType,
    dyn_types: &[ParamType],
    b: &[u8],
) -> Result<ParamValue, DecodeError> {
    use ParamType as T;
    if b.is_empty() && ty != T::ByteBuf {
        return Ok(ParamValue::Empty);
    }
    Ok(match ty {
        T::Int8 => ParamValue::Int(i8::from_le_bytes(fixed(b)?).into()),
        T::Int16 => ParamValue::Int(i16::from_le_bytes(fixed(b)?).into()),
        T::Int32 => ParamValue::Int(i32::from_le_bytes(fixed(b)?).into()),
        T::Int64 => ParamValue::Int(i64::from_le_bytes(fixed(b)?)),
        T::Uint8 | T::Flags8 | T::SigType | T::L4Proto | T::SockFamily => {
            ParamValue::Uint(u8::from_le_bytes(fixed(b)?).into())
        }
        T::Uint16 | T::Flags16 | T::Port | T::SyscallId => {
            ParamValue::Uint(u16::from_le_bytes(fixed(b)?).into())
        }
        T::Uint32 | T::Flags32 | T::Uid | T::Gid | T::Mode | T::Bool | T::SigSet => {
            ParamValue::Uint(u32::from_le_bytes(fixed(b)?).into())
        }
        T::Uint64 | T::RelTime | T::AbsTime => ParamValue::Uint(u64::from_le_bytes(fixed(b)?)),
        T::Errno => ParamValue::Errno(i64::from_le_bytes(fixed(b)?)),
        T::Fd => ParamValue::Fd(i64::from_le_bytes(fixed(b)?)),
        T::Pid => ParamValue::Pid(i64::from_le_bytes(fixed(b)?)),
        T::Double => ParamValue::Double(f64::from_le_bytes(fixed(b)?)),
        T::Ipv4Addr => ParamValue::Ipv4(Ipv4Addr::from(fixed::<4>(b)?)),
        T::Ipv6Addr => ParamValue::Ipv6(Ipv6Addr::from(fixed::<16>(b)?)),
        T::CharBuf | T::FsPath | T::FsRelPath => ParamValue::Str(strip_nul(b).to_vec()),
        T::SockAddr => ParamValue::SockAddr(decode_sockaddr(b)?),
        T::SockTuple => ParamValue::SockTuple(decode_socktuple(b)?),
        T::FdList => ParamValue::FdList(decode_fdlist(b)?),
        T::Dyn => {
            let (&index, rest) = b
                .split_first()
                .ok_or_else(|| DecodeError("empty dynamic value".into()))?;
            let inner = dyn_types.get(usize::from(index)).ok_or_else(|| {
                DecodeError(format!(
                    "dynamic index {index} out of range (table has {})",
                    dyn_types.len()
                ))
            })?;
            ParamValue::Dyn {
                index,
                value: Box::new(decode(*inner, &[], rest)?),
            }
        }
        T::None
        | T::ByteBuf
        | T::CharBufArray
        | T::CharBufPairArray
        | T::Ipv4Net
        | T::Ipv6Net
        | T::IpAddr
        | T::IpNet => ParamValue::Bytes(b.to_vec()),
    })
}

/// Why a value cannot be encoded as a parameter type (turned into a `BuildError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EncodeError {
    Mismatch(&'static str),
    OutOfRange(i128),
    InteriorNul,
}

fn int_in(v: i128, lo: i128, hi: i128) -> Result<i128, EncodeError> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(EncodeError::OutOfRange(v))
    }
}

fn encode_number(ty: ParamType, v: i128, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    use ParamType as T;
    // Every fixed-width integer type is written as its little-endian low bytes once the value
    // is known to fit the signed or unsigned range of that width.
    let (width, signed) = match ty {
        T::Int8 => (1, true),
        T::Int16 => (2, true),
        T::Int32 => (4, true),
        T::Int64 | T::Errno | T::Fd | T::Pid => (8, true),
        T::Uint8 | T::Flags8 | T::SigType | T::L4Proto | T::SockFamily => (1, false),
        T::Uint16 | T::Flags16 | T::Port | T::SyscallId => (2, false),
        T::Uint32 | T::Flags32 | T::Uid | T::Gid | T::Mode | T::Bool | T::SigSet => (4, false),
        T::Uint64 | T::RelTime | T::AbsTime => (8, false),
        _ => return Err(EncodeError::Mismatch("integer")),
    };
    let bits = width * 8;
    let v = if signed {
        int_in(v, -(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)?
    } else {
        int_in(v, 0, (1i128 << bits) - 1)?
    };
    out.extend_from_slice(&v.to_le_bytes()[..width]);
    Ok(())
}

fn encode_sockaddr(a: &SockAddr, out: &mut Vec<u8>) {
    match a {
        SockAddr::Unix(path) => {
            out.push(af::UNIX);
            out.extend_from_slice(path);
            out.push(0);
        }
        SockAddr::V4(s) => {
            out.push(af::INET);
            out.extend_from_slice(&s.ip().octets());
            out.extend_from_slice(&s.port().to_le_bytes());
        }
        SockAddr::V6(s) => {
            out.push(af::INET6);
            out.extend_from_slice(&s.ip().octets());
            out.extend_from_slice(&s.port().to_le_bytes());
        }
        SockAddr::Other { family, data } => {
            out.push(*family);
            out.extend_from_slice(data);
        }
    }
}

fn encode_socktuple(t: &SockTuple, out: &mut Vec<u8>) {
    match t {
        SockTuple::V4 { src, dst } => {
            out.push(af::INET);
            for s in [src, dst] {
                out.extend_from_slice(&s.ip().octets());
                out.extend_from_slice(&s.port().to_le_bytes());
            }
        }
        SockTuple::V6 { src, dst } => {
            out.push(af::INET6);
            for s in [src, dst] {
                out.extend_from_slice(&s.ip().octets());
                out.extend_from_slice(&s.port().to_le_bytes());
            }
        }
        SockTuple::Unix { src, dst, path } => {
            out.push(af::UNIX);
            out.extend_from_slice(&src.to_le_bytes());
            out.extend_from_slice(&dst.to_le_bytes());
            out.extend_from_slice(path);
            out.push(0);
        }
        SockTuple::Other { family, data } => {
            out.push(*family);
            out.extend_from_slice(data);
        }
    }
}

/// Encodes `v` as parameter `info`, appending the bytes to `out`.
pub(crate) fn encode(
    info: &ParamInfo,
    v: &ParamValue,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    use ParamType as T;
    let ty = info.ty;
    let mismatch = || EncodeError::Mismatch(v.kind());
    match v {
        ParamValue::Empty => {}
        ParamValue::Int(n) => match ty {
            T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Errno | T::Fd | T::Pid => {
                encode_number(ty, i128::from(*n), out)?
            }
            _ => return Err(mismatch()),
        },
        ParamValue::Uint(n) => match ty {
            T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::Errno | T::Fd | T::Pid => {
                return Err(mismatch())
            }
            _ => encode_number(ty, i128::from(*n), out)?,
        },
        ParamValue::Fd(n) if ty == T::Fd => encode_number(ty, i128::from(*n), out)?,
        ParamValue::Pid(n) if ty == T::Pid => encode_number(ty, i128::from(*n), out)?,
        ParamValue::Errno(n) if ty == T::Errno => encode_number(ty, i128::from(*n), out)?,
        ParamValue::Double(d) if ty == T::Double => out.extend_from_slice(&d.to_le_bytes()),
        ParamValue::Str(s) if ty.is_string() => {
            if s.contains(&0) {
                return Err(EncodeError::InteriorNul);
            }
            out.extend_from_slice(s);
            out.push(0);
        }
        ParamValue::Bytes(b) if matches!(decode_class(ty), Class::Bytes) => {
            out.extend_from_slice(b)
        }
        ParamValue::Ipv4(a) if ty == T::Ipv4Addr => out.extend_from_slice(&a.octets()),
        ParamValue::Ipv6(a) if ty == T::Ipv6Addr => out.extend_from_slice(&a.octets()),
        ParamValue::SockAddr(a) if ty == T::SockAddr => encode_sockaddr(a, out),
        ParamValue::SockTuple(t) if ty == T::SockTuple => encode_socktuple(t, out),
        ParamValue::FdList(l) if ty == T::FdList => {
            let n = u16::try_from(l.len()).map_err(|_| EncodeError::OutOfRange(l.len() as i128))?;
            out.extend_from_slice(&n.to_le_bytes());
            for (fd, flags) in l {
                out.extend_from_slice(&fd.to_le_bytes());
                out.extend_from_slice(&flags.to_le_bytes());
            }
        }
        ParamValue::Dyn { index, value } if ty == T::Dyn => {
            let ParamAux::Dyn(types) = info.aux else {
                return Err(mismatch());
            };
            let inner = types
                .get(usize::from(*index))
                .ok_or(EncodeError::OutOfRange(i128::from(*index)))?;
            out.push(*index);
            let inner_info = ParamInfo {
                ty: *inner,
                aux: ParamAux::None,
                ..*info
            };
            encode(&inner_info, value, out)?;
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

enum Class {
    Bytes,
    Other,
}

fn decode_class(ty: ParamType) -> Class {
    use ParamType as T;
    match ty {
        T::None
        | T::ByteBuf
        | T::CharBufArray
        | T::CharBufPairArray
        | T::Ipv4Net
        | T::Ipv6Net
        | T::IpAddr
        | T::IpNet => Class::Bytes,
        _ => Class::Other,
    }
}

#[cfg(test)]
mod tests;
