//! Events: the decoded/encodable [`Event`], the typed [`EventBuilder`] that checks values
//! against the event table, and the on-disk event layout (spec section 5.2).

use crate::cursor::Cursor;
use crate::error::{BuildError, ReadError};
use crate::event_table::{event_info, EventInfo, ParamAux, ParamType};
use crate::params::{self, EncodeError, ParamValue, SockAddr, SockTuple};

/// Size of the v2 event header (ts, tid, len, type, nparams).
pub const EVENT_HEADER_LEN: usize = 26;
/// Size of the v1 event header (no nparams).
pub const EVENT_HEADER_V1_LEN: usize = 22;

/// Container JSON event, current version (`PPME_CONTAINER_JSON_2_E`).
pub const CONTAINER_JSON_2_E: u16 = 324;
/// Container JSON event, old version (`PPME_CONTAINER_JSON_E`).
pub const CONTAINER_JSON_E: u16 = 272;

/// One event: header fields and parameters in table order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Timestamp, nanoseconds since the Unix epoch.
    pub ts: u64,
    /// Host thread id; `u64::MAX` (−1) for container JSON events.
    pub tid: u64,
    /// ppm event code.
    pub event_type: u16,
    /// CPU the event happened on.
    pub cpu: u16,
    /// EVF flags (`None` for plain EV blocks). Bit 0 is STATE_ONLY.
    pub flags: Option<u32>,
    /// Parameter values, in table order.
    pub params: Vec<ParamValue>,
}

impl Event {
    /// The table row for this event's type.
    pub fn info(&self) -> Option<&'static EventInfo> {
        event_info(self.event_type)
    }

    /// The value of the parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        let info = self.info()?;
        let i = info.params.iter().position(|p| p.name == name)?;
        self.params.get(i)
    }

    /// Encodes the event (header, length array, values) without the block's cpu/flags prefix.
    pub fn encode(&self) -> Result<Vec<u8>, BuildError> {
        let info =
            event_info(self.event_type).ok_or(BuildError::UnknownEventType(self.event_type))?;
        check_count(info, self.params.len())?;
        let large = info.large_payload();
        let width = if large { 4 } else { 2 };
        let mut values = Vec::new();
        let mut lens = Vec::with_capacity(self.params.len() * width);
        for (index, (p, v)) in info.params.iter().zip(&self.params).enumerate() {
            let start = values.len();
            params::encode(p, v, &mut values).map_err(|e| encode_error(info, index, e))?;
            let len = values.len() - start;
            let max = if large {
                u32::MAX as usize
            } else {
                usize::from(u16::MAX)
            };
            if len > max {
                return Err(BuildError::TooLong {
                    event: info.name,
                    param: p.name,
                    len,
                    max,
                });
            }
            if large {
                lens.extend_from_slice(&(len as u32).to_le_bytes());
            } else {
                lens.extend_from_slice(&(len as u16).to_le_bytes());
            }
        }
        let total = EVENT_HEADER_LEN + lens.len() + values.len();
        let total_u32 = u32::try_from(total).map_err(|_| BuildError::TooLong {
            event: info.name,
            param: "(event)",
            len: total,
            max: u32::MAX as usize,
        })?;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&self.ts.to_le_bytes());
        out.extend_from_slice(&self.tid.to_le_bytes());
        out.extend_from_slice(&total_u32.to_le_bytes());
        out.extend_from_slice(&self.event_type.to_le_bytes());
        out.extend_from_slice(&(self.params.len() as u32).to_le_bytes());
        out.extend_from_slice(&lens);
        out.extend_from_slice(&values);
        Ok(out)
    }
}

fn check_count(info: &EventInfo, given: usize) -> Result<(), BuildError> {
    let expected = info.params.len();
    if given > expected {
        return Err(BuildError::TooManyParams {
            event: info.name,
            code: info.code,
            expected,
        });
    }
    if given < expected {
        return Err(BuildError::MissingParams {
            event: info.name,
            code: info.code,
            expected,
            given,
        });
    }
    Ok(())
}

fn encode_error(info: &EventInfo, index: usize, e: EncodeError) -> BuildError {
    let p = &info.params[index];
    match e {
        EncodeError::Mismatch(given) => BuildError::TypeMismatch {
            event: info.name,
            param: p.name,
            index,
            expected: p.ty,
            given,
        },
        EncodeError::OutOfRange(value) => BuildError::OutOfRange {
            event: info.name,
            param: p.name,
            expected: p.ty,
            value,
        },
        EncodeError::InteriorNul => BuildError::InteriorNul {
            event: info.name,
            param: p.name,
        },
    }
}

/// Builds an [`Event`] parameter by parameter, checking each value against the event table.
/// Errors are kept until [`EventBuilder::build`], so calls chain:
///
/// ```
/// use blackbox_scap::EventBuilder;
/// let ev = EventBuilder::new(1_700_000_000_000_000_000, 5001, 6) // read enter
///     .param_fd(3)
///     .param_u32(4096)
///     .build()
///     .expect("read enter has fd:FD, size:UINT32");
/// assert_eq!(ev.params.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct EventBuilder {
    event: Event,
    info: Option<&'static EventInfo>,
    error: Option<BuildError>,
}

impl EventBuilder {
    /// Starts an event of `event_type` (a ppm event code) at `ts` on thread `tid`.
    pub fn new(ts: u64, tid: u64, event_type: u16) -> Self {
        let info = event_info(event_type);
        Self {
            event: Event {
                ts,
                tid,
                event_type,
                cpu: 0,
                flags: None,
                params: Vec::new(),
            },
            info,
            error: info
                .is_none()
                .then_some(BuildError::UnknownEventType(event_type)),
        }
    }

    /// Sets the CPU id.
    pub fn cpu(mut self, cpu: u16) -> Self {
        self.event.cpu = cpu;
        self
    }

    /// Sets EVF flags (the event is then written in an EVF block).
    pub fn block_flags(mut self, flags: u32) -> Self {
        self.event.flags = Some(flags);
        self
    }

    /// Appends a value for the next parameter, checking it against the table.
    pub fn param(mut self, value: ParamValue) -> Self {
        if self.error.is_some() {
            return self;
        }
        let Some(info) = self.info else {
            return self;
        };
        let index = self.event.params.len();
        let Some(p) = info.params.get(index) else {
            self.error = Some(BuildError::TooManyParams {
                event: info.name,
                code: info.code,
                expected: info.params.len(),
            });
            return self;
        };
        let mut scratch = Vec::new();
        match params::encode(p, &value, &mut scratch) {
            Ok(()) => {
                let max = if info.large_payload() {
                    u32::MAX as usize
                } else {
                    usize::from(u16::MAX)
                };
                if scratch.len() > max {
                    self.error = Some(BuildError::TooLong {
                        event: info.name,
                        param: p.name,
                        len: scratch.len(),
                        max,
                    });
                } else {
                    self.event.params.push(value);
                }
            }
            Err(e) => self.error = Some(encode_error(info, index, e)),
        }
        self
    }

    /// A zero-length value (valid for any type; the driver uses it for unreadable values).
    pub fn param_empty(self) -> Self {
        self.param(ParamValue::Empty)
    }

    /// `INT8`..`INT64`, `ERRNO`, `FD`, `PID`.
    pub fn param_i64(self, v: i64) -> Self {
        self.param(ParamValue::Int(v))
    }

    /// `INT32` (or any wider signed type).
    pub fn param_i32(self, v: i32) -> Self {
        self.param(ParamValue::Int(v.into()))
    }

    /// `UINT64`, `RELTIME`, `ABSTIME` (or any narrower unsigned type if the value fits).
    pub fn param_u64(self, v: u64) -> Self {
        self.param(ParamValue::Uint(v))
    }

    /// `UINT32`, `FLAGS32`, `UID`, `GID`, `MODE`, `BOOL`, `SIGSET`.
    pub fn param_u32(self, v: u32) -> Self {
        self.param(ParamValue::Uint(v.into()))
    }

    /// `UINT16`, `FLAGS16`, `PORT`, `SYSCALLID`.
    pub fn param_u16(self, v: u16) -> Self {
        self.param(ParamValue::Uint(v.into()))
    }

    /// `UINT8`, `FLAGS8`, `SIGTYPE`, `L4PROTO`, `SOCKFAMILY`.
    pub fn param_u8(self, v: u8) -> Self {
        self.param(ParamValue::Uint(v.into()))
    }

    /// `FD` only.
    pub fn param_fd(self, fd: i64) -> Self {
        self.param(ParamValue::Fd(fd))
    }

    /// `PID` only.
    pub fn param_pid(self, pid: i64) -> Self {
        self.param(ParamValue::Pid(pid))
    }

    /// `ERRNO` only: a syscall return value, negative = −errno.
    pub fn param_errno(self, res: i64) -> Self {
        self.param(ParamValue::Errno(res))
    }

    /// `CHARBUF`, `FSPATH`, `FSRELPATH` (the NUL terminator is added).
    pub fn param_str(self, s: &str) -> Self {
        self.param(ParamValue::Str(s.as_bytes().to_vec()))
    }

    /// `BYTEBUF`.
    pub fn param_bytes(self, b: &[u8]) -> Self {
        self.param(ParamValue::Bytes(b.to_vec()))
    }

    /// `BYTEBUF` holding NUL-terminated strings (`args`, `env`, `cgroups`).
    pub fn param_str_list<S: AsRef<str>>(self, items: &[S]) -> Self {
        self.param(ParamValue::Bytes(crate::cursor::join_nul(items)))
    }

    /// `SOCKADDR`.
    pub fn param_sockaddr(self, a: SockAddr) -> Self {
        self.param(ParamValue::SockAddr(a))
    }

    /// `SOCKTUPLE`; `None` writes a zero-length tuple.
    pub fn param_socktuple(self, t: Option<SockTuple>) -> Self {
        self.param(t.map_or(ParamValue::Empty, ParamValue::SockTuple))
    }

    /// `FDLIST`.
    pub fn param_fdlist(self, fds: &[(u64, u16)]) -> Self {
        self.param(ParamValue::FdList(fds.to_vec()))
    }

    /// `DYN`: `index` selects the type from the parameter's dynamic table.
    pub fn param_dyn(self, index: u8, value: ParamValue) -> Self {
        self.param(ParamValue::Dyn {
            index,
            value: Box::new(value),
        })
    }

    /// The event, or the first error.
    pub fn build(self) -> Result<Event, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let Some(info) = self.info else {
            return Err(BuildError::UnknownEventType(self.event.event_type));
        };
        check_count(info, self.event.params.len())?;
        Ok(self.event)
    }
}

/// Decodes one event body (after the block's cpu id and flags). `v1` events have no nparams
/// field; their count is inferred from the lengths, as libscap does for old captures.
/// Returns `Ok(None)` for event types beyond the table (readers of this version skip them).
pub(crate) fn decode(
    body: &[u8],
    base: u64,
    v1: bool,
    cpu: u16,
    flags: Option<u32>,
) -> Result<Option<Event>, ReadError> {
    let mut c = Cursor::new(body, base);
    let ts = c.u64("event header")?;
    let tid = c.u64("event header")?;
    let len = c.u32("event header")?;
    let event_type = c.u16("event header")?;
    let header_len = if v1 {
        EVENT_HEADER_V1_LEN
    } else {
        EVENT_HEADER_LEN
    };
    let file_nparams = if v1 {
        None
    } else {
        Some(c.u32("event header")?)
    };
    let Some(info) = event_info(event_type) else {
        return Ok(None);
    };
    let len = len as usize;
    if len < header_len || len > body.len() {
        return Err(ReadError::corrupt(
            base,
            "event header",
            format!(
                "event length {len} outside {header_len}..={} (the block's event bytes)",
                body.len()
            ),
        ));
    }
    let width = if info.large_payload() { 4 } else { 2 };
    let rest = &body[header_len..len];
    let nparams = match file_nparams {
        Some(n) => n as usize,
        None => infer_nparams(rest, width, info.params.len()),
    };
    if nparams.saturating_mul(width) > rest.len() {
        return Err(ReadError::corrupt(
            base + 22,
            "event header",
            format!(
                "{nparams} parameters need a {} byte length array, event has {} bytes",
                nparams.saturating_mul(width),
                rest.len()
            ),
        ));
    }
    let mut lc = Cursor::new(&rest[..nparams * width], base + header_len as u64);
    let mut vc = Cursor::new(
        &rest[nparams * width..],
        base + (header_len + nparams * width) as u64,
    );
    let used = nparams.min(info.params.len());
    let mut params = Vec::with_capacity(used);
    for p in &info.params[..used] {
        let plen = if width == 4 {
            lc.u32("parameter length")? as usize
        } else {
            usize::from(lc.u16("parameter length")?)
        };
        let at = vc.offset();
        let bytes = vc.take(plen, "parameter value")?;
        let dyn_types: &[ParamType] = match p.aux {
            ParamAux::Dyn(t) => t,
            _ => &[],
        };
        let v = params::decode(p.ty, dyn_types, bytes).map_err(|e| ReadError::Corrupt {
            offset: at,
            what: "parameter value",
            detail: format!(
                "{} ({}) parameter {}: {}",
                info.name, event_type, p.name, e.0
            ),
        })?;
        params.push(v);
    }
    Ok(Some(Event {
        ts,
        tid,
        event_type,
        cpu,
        flags,
        params,
    }))
}

/// For v1 events: the largest parameter count `n <= table_n` whose length array and values
/// exactly fill the event, or failing that the largest that fits.
fn infer_nparams(rest: &[u8], width: usize, table_n: usize) -> usize {
    let mut fits = 0;
    for n in (0..=table_n).rev() {
        if n * width > rest.len() {
            continue;
        }
        let total: usize = rest[..n * width]
            .chunks_exact(width)
            .map(|c| {
                if width == 4 {
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize
                } else {
                    usize::from(u16::from_le_bytes([c[0], c[1]]))
                }
            })
            .sum::<usize>()
            + n * width;
        if total == rest.len() {
            return n;
        }
        if total <= rest.len() && fits == 0 {
            fits = n;
        }
    }
    fits
}

#[cfg(test)]
mod tests;
