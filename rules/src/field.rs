//! The field registry and the extraction contract between the engine and whatever stores events.
//!
//! The engine never looks at events directly: a condition is compiled to [`FieldId`]s once, and
//! for each event it asks an [`EventAccess`] implementation for the values it needs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

pub use crate::fields_table::FIELDS;

/// Falco's (libsinsp `ppm_param_type`) value types, as far as the fields need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `PT_CHARBUF`: a string (Falco compares its bytes).
    CharBuf,
    /// `PT_BYTEBUF`: raw bytes (`evt.buffer`).
    ByteBuf,
    Int16,
    Int32,
    Int64,
    Uint32,
    Uint64,
    /// `PT_PORT`: a TCP/UDP port (u16).
    Port,
    /// `PT_RELTIME`: a duration in nanoseconds.
    RelTime,
    /// `PT_ABSTIME`: an epoch timestamp in nanoseconds.
    AbsTime,
    Bool,
    /// `PT_IPADDR`: an IPv4 or IPv6 address.
    IpAddr,
    /// `PT_IPNET`: an address compared against CIDR networks.
    IpNet,
    Double,
    /// `PT_DYN`: the type of the event parameter (`evt.rawarg`); compared as a string here.
    Dynamic,
}

impl FieldType {
    /// Falco's name of the type, as `falco --list` prints it.
    pub fn falco_name(self) -> &'static str {
        match self {
            FieldType::CharBuf => "CHARBUF",
            FieldType::ByteBuf => "BYTEBUF",
            FieldType::Int16 => "INT16",
            FieldType::Int32 => "INT32",
            FieldType::Int64 => "INT64",
            FieldType::Uint32 => "UINT32",
            FieldType::Uint64 => "UINT64",
            FieldType::Port => "PORT",
            FieldType::RelTime => "RELTIME",
            FieldType::AbsTime => "ABSTIME",
            FieldType::Bool => "BOOL",
            FieldType::IpAddr => "IPADDR",
            FieldType::IpNet => "IPNET",
            FieldType::Double => "DOUBLE",
            FieldType::Dynamic => "DYNAMIC",
        }
    }

    /// Whether values of this type compare numerically.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Int16
                | FieldType::Int32
                | FieldType::Int64
                | FieldType::Uint32
                | FieldType::Uint64
                | FieldType::Port
                | FieldType::RelTime
                | FieldType::AbsTime
                | FieldType::Double
        )
    }

    /// Whether values of this type compare as strings.
    pub fn is_string(self) -> bool {
        matches!(self, FieldType::CharBuf | FieldType::Dynamic)
    }
}

/// Whether a field takes an argument (`proc.aname[2]`, `evt.arg.flags`, `proc.env[HOME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    Optional,
    Required,
}

/// Where a field's value comes from in Falco.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// libsinsp's built-in field classes.
    Libs,
    /// Falco's `container` plugin (`container.*`, `k8s.*`); this project supplies them itself.
    ContainerPlugin,
}

/// `EPF_NO_RHS`: the field cannot be used inside `val()`.
pub const FLAG_NO_RHS: u16 = 1;
/// `EPF_FILTER_ONLY`: the field cannot be printed in an output.
pub const FLAG_FILTER_ONLY: u16 = 1 << 1;
/// `EPF_IS_LIST`: the field yields several values (`fd.types`).
pub const FLAG_IS_LIST: u16 = 1 << 2;
/// `EPF_DEPRECATED`.
pub const FLAG_DEPRECATED: u16 = 1 << 3;
/// `EPF_PRINT_ONLY`: output only, not in conditions.
pub const FLAG_PRINT_ONLY: u16 = 1 << 4;
/// `EPF_TABLE_ONLY`: a sysdig table field, not usable in rules.
pub const FLAG_TABLE_ONLY: u16 = 1 << 5;
/// `EPF_NO_TRANSFORMER`: the field cannot be wrapped in a transformer.
pub const FLAG_NO_TRANSFORMER: u16 = 1 << 6;
/// Ancestor fields (`proc.aname`, ...): without an argument a check matches if *any* ancestor
/// (parent upwards) matches; the implementation returns them as a [`Value::List`].
pub const FLAG_ANCESTOR_ANY: u16 = 1 << 7;

/// One entry of the field registry.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    pub name: &'static str,
    pub ftype: FieldType,
    pub arg: ArgKind,
    /// `FLAG_*` bits.
    pub flags: u16,
    pub provider: Provider,
    /// Falco's meaning, one line.
    pub description: &'static str,
}

impl FieldInfo {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// Index of a field in [`FIELDS`]. Stable for one build of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u16);

impl FieldId {
    /// The registry entry of this id.
    pub fn info(self) -> &'static FieldInfo {
        &FIELDS[usize::from(self.0)]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }
}

/// A field's argument as written: `[2]` is an index, `[HOME]`, `[/etc]` and `.flags` are keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldArg {
    Index(u64),
    Key(String),
}

impl FieldArg {
    /// Classifies an argument as written: all digits is an index, anything else is a key.
    pub fn parse(raw: &str) -> FieldArg {
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = raw.parse::<u64>() {
                return FieldArg::Index(n);
            }
        }
        FieldArg::Key(raw.to_string())
    }

    pub fn as_key(&self) -> Option<&str> {
        match self {
            FieldArg::Key(k) => Some(k),
            FieldArg::Index(_) => None,
        }
    }

    pub fn as_index(&self) -> Option<u64> {
        match self {
            FieldArg::Index(i) => Some(*i),
            FieldArg::Key(_) => None,
        }
    }
}

impl std::fmt::Display for FieldArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldArg::Index(i) => write!(f, "{i}"),
            FieldArg::Key(k) => f.write_str(k),
        }
    }
}

/// An extracted value. Implementations should return the variant matching the field's
/// [`FieldType`] (`Str` for CHARBUF, `Int` for INT*, `Uint` for UINT*/PORT/RELTIME/ABSTIME,
/// `Bool`, `Ip`, `Bytes` for BYTEBUF); the engine converts between them where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    Int(i64),
    Uint(u64),
    Double(f64),
    Bool(bool),
    Ip(IpAddr),
    /// Several values: list fields (`fd.types`) and ancestor fields without an index
    /// (`proc.aname` = the names of the parent, grandparent, ...).
    List(Vec<Value<'a>>),
}

impl Value<'_> {
    /// Detaches the value from the event it borrows from.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
            Value::Int(i) => Value::Int(i),
            Value::Uint(u) => Value::Uint(u),
            Value::Double(d) => Value::Double(d),
            Value::Bool(b) => Value::Bool(b),
            Value::Ip(ip) => Value::Ip(ip),
            Value::List(l) => Value::List(l.into_iter().map(Value::into_owned).collect()),
        }
    }

    /// The bytes of a string-like value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s.as_bytes()),
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// What the engine needs from an event. Implemented by the crate that owns SCAP events and the
/// process/fd tables, and by synthetic test events.
pub trait EventAccess {
    /// Falco's `evt.type` name of the event (`"openat"`, `"execve"`, ...).
    fn event_type(&self) -> &str;

    /// The index of [`EventAccess::event_type`] in [`crate::event_names::EVENT_NAMES`]
    /// (`None` for a name not there). Implementations may answer from a table by event code
    /// instead of searching the name; the answer must be the same.
    fn event_type_index(&self) -> Option<usize> {
        crate::evttype::event_index(self.event_type())
    }

    /// The value of `field` (with its argument, if the condition gave one) for this event, or
    /// `None` when the field does not apply (Falco's missing value: every comparison on it is
    /// false, `exists` is false, outputs print `<NA>`).
    fn extract(&mut self, field: FieldId, arg: Option<&FieldArg>) -> Option<Value<'_>>;
}

fn registry_index() -> &'static HashMap<&'static str, FieldId> {
    static INDEX: OnceLock<HashMap<&'static str, FieldId>> = OnceLock::new();
    INDEX.get_or_init(|| {
        FIELDS
            .iter()
            .enumerate()
            .filter_map(|(i, f)| u16::try_from(i).ok().map(|i| (f.name, FieldId(i))))
            .collect()
    })
}

/// Looks a field up by its exact registry name.
pub fn field_id(name: &str) -> Option<FieldId> {
    registry_index().get(name).copied()
}

/// Resolves a field as written in a condition or output (`evt.arg.flags`, `proc.aname`,
/// `container.mount.dest`) with its optional bracket argument into an id and an argument.
/// Falco's dotted-argument forms (`evt.arg.X`, `evt.rawarg.X`, `container.label.X`,
/// `k8s.pod.label.X`) are split off here.
pub fn resolve_field(
    name: &str,
    bracket_arg: Option<&str>,
) -> Result<(FieldId, Option<FieldArg>), String> {
    if let Some(id) = field_id(name) {
        let info = id.info();
        let arg = bracket_arg.map(FieldArg::parse);
        return match (info.arg, &arg) {
            (ArgKind::None, Some(_)) => Err(format!("filter {name} does not support arguments")),
            (ArgKind::Required, None) => Err(format!("filter {name} requires an argument")),
            _ => Ok((id, arg)),
        };
    }
    // Dotted-argument form: the longest registered prefix that takes an argument.
    for prefix in ["evt.arg", "evt.rawarg", "container.label", "k8s.pod.label"] {
        if let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
            if bracket_arg.is_some() {
                return Err(format!("filter {name} does not support arguments"));
            }
            if let Some(id) = field_id(prefix) {
                return Ok((id, Some(FieldArg::Key(rest.to_string()))));
            }
        }
    }
    Err(format!("filter_check called with nonexistent field {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_resolvable() {
        let mut seen = std::collections::HashSet::new();
        for f in FIELDS {
            assert!(seen.insert(f.name), "duplicate field {}", f.name);
        }
        assert!(FIELDS.len() < usize::from(u16::MAX));
        let (id, arg) = resolve_field("evt.arg.flags", None).expect("evt.arg.flags");
        assert_eq!(id.name(), "evt.arg");
        assert_eq!(arg, Some(FieldArg::Key("flags".into())));
        let (id, arg) = resolve_field("proc.aname", Some("2")).expect("proc.aname[2]");
        assert_eq!(id.name(), "proc.aname");
        assert_eq!(arg, Some(FieldArg::Index(2)));
        assert!(resolve_field("proc.nope", None).is_err());
        assert!(resolve_field("proc.name", Some("1")).is_err());
        assert!(resolve_field("evt.arg", None).is_err());
    }
}
