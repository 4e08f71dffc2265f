//! Compiles a macro-expanded condition AST against the field registry into a tree that
//! evaluates with libsinsp's semantics.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::ast::{Expr, Operand, Pos, Rhs, TransformerArg};
use crate::evttype::EventSet;
use crate::field::{
    resolve_field, ArgKind, EventAccess, FieldArg, FieldId, FieldType, Value, FLAG_ANCESTOR_ANY,
    FLAG_IS_LIST, FLAG_NO_RHS, FLAG_NO_TRANSFORMER, FLAG_PRINT_ONLY, FLAG_TABLE_ONLY,
};
use crate::matching::{glob_match, pmatch};

/// A compile error with the position in the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    pub pos: Pos,
    /// True when the error is an unknown field or event type (what `skip-if-unknown-filter` skips).
    pub unknown_filter: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    PMatch,
    Exists,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "regex" => Op::Regex,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "pmatch" => Op::PMatch,
            "exists" => Op::Exists,
            _ => return None,
        })
    }
}

/// Value class of an operand after its transformers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Str,
    Buf,
    Signed,
    Unsigned(u32),
    Double,
    Bool,
    Ip,
    Net,
}

fn class_of(t: FieldType) -> Class {
    match t {
        FieldType::CharBuf | FieldType::Dynamic => Class::Str,
        FieldType::ByteBuf => Class::Buf,
        FieldType::Int16 | FieldType::Int32 | FieldType::Int64 => Class::Signed,
        FieldType::Uint32 => Class::Unsigned(32),
        FieldType::Port => Class::Unsigned(16),
        FieldType::Uint64 | FieldType::RelTime | FieldType::AbsTime => Class::Unsigned(64),
        FieldType::Double => Class::Double,
        FieldType::Bool => Class::Bool,
        FieldType::IpAddr => Class::Ip,
        FieldType::IpNet => Class::Net,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
}

/// A field with its argument and transformers (applied first to last).
#[derive(Debug, Clone)]
pub struct FieldRef {
    pub field: FieldId,
    pub arg: Option<FieldArg>,
    transforms: Vec<Transform>,
    class: Class,
    /// Several values, true if any matches (ancestor fields without index, list fields).
    multi: bool,
    is_list: bool,
}

/// A hasher for the string sets of `in`/`intersects`: the multiply-rotate of rustc's
/// `FxHasher`, eight bytes at a time. The sets are built from the rules, and SipHash (std's
/// default) cost more than the rest of a set lookup.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl BytesHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(FX_SEED);
    }
}

impl std::hash::Hasher for BytesHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// A set of byte strings hashed with [`BytesHasher`].
pub type BytesSet = HashSet<Vec<u8>, std::hash::BuildHasherDefault<BytesHasher>>;

/// A literal converted to the left side's type.
#[derive(Debug, Clone)]
enum Lit {
    Bytes(Vec<u8>),
    Int(i128),
    Double(f64),
    Bool(bool),
    Ip(IpAddr),
    Net(IpAddr, u8),
}

#[derive(Debug)]
enum Right {
    None,
    One(Lit),
    Set(Vec<Lit>, Option<BytesSet>),
    Regex(regex::bytes::Regex),
    Field(FieldRef),
}

#[derive(Debug)]
pub struct Check {
    left: FieldRef,
    op: Op,
    /// `startswith oneof (...)` etc.: `Some(true)` = all, `Some(false)` = any.
    modifier_all: Option<bool>,
    right: Right,
    /// For `evt.type =`/`!=`/`in` literal names: the names as an [`EventSet`], so the check is
    /// a bit test on the event's type index instead of string comparisons. The names not in
    /// `EVENT_NAMES` are left out: no event whose type has an index can have them.
    type_set: Option<EventSet>,
    /// Slot of this check's result in a [`Memo`] when the same check appears in several rules
    /// (see [`assign_memo_slots`]); [`NO_MEMO`] otherwise.
    memo: u32,
}

/// [`Check::memo`] of a check evaluated without memo.
const NO_MEMO: u32 = u32::MAX;

/// Results of the checks shared by several rules, for the current event: the rules of one
/// event type mostly start with the same macros (`open_write`, `spawned_process`, …), so each
/// shared check is evaluated once per event instead of once per rule. A check's result
/// depends only on the event and the state, which do not change while rules are evaluated.
#[derive(Debug, Default)]
pub struct Memo {
    generation: u32,
    stamp: Vec<u32>,
    value: Vec<bool>,
}

impl Memo {
    /// Forgets the previous event's results (and makes room for `slots` checks).
    pub fn next_event(&mut self, slots: usize) {
        if self.stamp.len() < slots {
            self.stamp.resize(slots, 0);
            self.value.resize(slots, false);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }
}

/// Gives a memo slot to every check that appears (identical: same field, argument,
/// transformers, operator and values) more than once in `filters`; returns the slot count.
pub fn assign_memo_slots(filters: &mut [&mut Filter]) -> usize {
    fn key(c: &Check) -> String {
        format!("{:?}|{:?}|{:?}|{:?}", c.left, c.op, c.modifier_all, c.right)
    }
    fn walk(f: &mut Filter, visit: &mut dyn FnMut(&mut Check)) {
        match f {
            Filter::And(c) | Filter::Or(c) => c.iter_mut().for_each(|f| walk(f, visit)),
            Filter::Not(c) => walk(c, visit),
            Filter::Check(c) => visit(c),
        }
    }
    let mut count: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for f in filters.iter_mut() {
        walk(f, &mut |c| *count.entry(key(c)).or_default() += 1);
    }
    let mut slots: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for f in filters.iter_mut() {
        walk(f, &mut |c| {
            let k = key(c);
            if count.get(&k).copied().unwrap_or(0) < 2 {
                c.memo = NO_MEMO;
                return;
            }
            let next = u32::try_from(slots.len()).unwrap_or(NO_MEMO);
            c.memo = *slots.entry(k).or_insert(next);
        });
    }
    slots.len()
}

/// A compiled condition.
#[derive(Debug)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Check(Box<Check>),
}

fn cerr(message: String, pos: Pos) -> CompileError {
    CompileError {
        message,
        pos,
        unknown_filter: false,
    }
}

/// Compiles an expanded AST. Identifiers left in it are undefined macros.
pub fn compile(expr: &Expr) -> Result<Filter, CompileError> {
    Ok(match expr {
        Expr::And(c, _) => Filter::And(c.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Or(c, _) => Filter::Or(c.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Not(c, _) => Filter::Not(Box::new(compile(c)?)),
        Expr::Identifier(name, pos) => {
            return Err(cerr(
                format!("Undefined macro '{name}' used in filter."),
                *pos,
            ))
        }
        Expr::Unary { left, op, pos } => {
            if op != "exists" {
                return Err(cerr(format!("unknown unary operator '{op}'"), *pos));
            }
            let left = compile_operand(left, false)?;
            Filter::Check(Box::new(Check {
                left,
                op: Op::Exists,
                modifier_all: None,
                right: Right::None,
                type_set: None,
                memo: NO_MEMO,
            }))
        }
        Expr::Binary {
            left,
            op,
            right,
            pos,
        } => Filter::Check(Box::new(compile_binary(left, op, right, *pos)?)),
    })
}

fn compile_operand(op: &Operand, as_rhs: bool) -> Result<FieldRef, CompileError> {
    match op {
        Operand::Field { name, arg, pos } => {
            let (field, farg) = resolve_field(name, arg.as_deref()).map_err(|m| CompileError {
                message: m,
                pos: *pos,
                unknown_filter: true,
            })?;
            let info = field.info();
            if info.has(FLAG_TABLE_ONLY) || info.has(FLAG_PRINT_ONLY) {
                return Err(cerr(
                    format!("field '{name}' cannot be used in a filter"),
                    *pos,
                ));
            }
            if as_rhs && info.has(FLAG_NO_RHS) {
                return Err(cerr(
                    format!("field '{name}' cannot be used as the right-hand side of a comparison"),
                    *pos,
                ));
            }
            let multi = (info.has(FLAG_ANCESTOR_ANY) && farg.is_none()) || info.has(FLAG_IS_LIST);
            if info.arg == ArgKind::Required && farg.is_none() {
                return Err(cerr(format!("filter {name} requires an argument"), *pos));
            }
            Ok(FieldRef {
                field,
                arg: farg,
                transforms: Vec::new(),
                class: class_of(info.ftype),
                multi,
                is_list: info.has(FLAG_IS_LIST),
            })
        }
        Operand::Transformer {
            name,
            args,
            arg,
            pos,
        } => {
            if name == "val" {
                return Err(cerr(
                    "'val' can only be used on the right-hand side of a comparison".into(),
                    *pos,
                ));
            }
            let t = match name.as_str() {
                "tolower" => Transform::ToLower,
                "toupper" => Transform::ToUpper,
                "b64" => Transform::B64,
                "basename" => Transform::Basename,
                "len" => Transform::Len,
                other => {
                    return Err(cerr(
                        format!("transformer '{other}' is not supported by this engine"),
                        *pos,
                    ))
                }
            };
            if arg.is_some() {
                return Err(cerr(
                    format!("transformer '{name}' does not support arguments"),
                    *pos,
                ));
            }
            let [TransformerArg::Operand(inner)] = args.as_slice() else {
                return Err(cerr(
                    format!("transformer '{name}' expects exactly one field argument"),
                    *pos,
                ));
            };
            let mut f = compile_operand(inner, as_rhs)?;
            if f.field.info().has(FLAG_NO_TRANSFORMER) {
                return Err(cerr(
                    format!("field '{}' does not support transformers", f.field.name()),
                    *pos,
                ));
            }
            match t {
                Transform::Len => {
                    if !matches!(f.class, Class::Str | Class::Buf) && !f.multi {
                        return Err(cerr(
                            format!(
                                "transformer '{name}' is not supported on field type '{}'",
                                f.field.info().ftype.falco_name()
                            ),
                            *pos,
                        ));
                    }
                    f.class = Class::Unsigned(64);
                    f.multi = false;
                }
                _ => {
                    if !matches!(f.class, Class::Str | Class::Buf) {
                        return Err(cerr(
                            format!(
                                "transformer '{name}' is not supported on field type '{}'",
                                f.field.info().ftype.falco_name()
                            ),
                            *pos,
                        ));
                    }
                }
            }
            f.transforms.push(t);
            Ok(f)
        }
    }
}

fn op_allowed(op: Op, class: Class, is_list: bool) -> Result<(), String> {
    if op == Op::Exists {
        return Ok(());
    }
    let name = |kind: &str| {
        format!(
            "'{}' operator not supported for {kind} filters",
            op_name(op)
        )
    };
    if is_list {
        return if matches!(op, Op::In | Op::Intersects) {
            Ok(())
        } else {
            Err(name("list"))
        };
    }
    let ok = match class {
        Class::Signed | Class::Unsigned(_) | Class::Double => {
            matches!(
                op,
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In | Op::Intersects
            )
        }
        Class::Bool => matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects),
        Class::Str => !matches!(op, Op::BContains | Op::BStartsWith),
        Class::Buf => matches!(
            op,
            Op::Eq
                | Op::Ne
                | Op::Contains
                | Op::In
                | Op::StartsWith
                | Op::EndsWith
                | Op::Intersects
                | Op::BContains
                | Op::BStartsWith
        ),
        Class::Ip | Class::Net => matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects),
    };
    if ok {
        return Ok(());
    }
    Err(match class {
        Class::Signed | Class::Unsigned(_) | Class::Double | Class::Bool => name("numeric"),
        Class::Str => name("string"),
        Class::Buf => name("buffer"),
        Class::Ip | Class::Net => name("ip address and network"),
    })
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Contains => "contains",
        Op::IContains => "icontains",
        Op::BContains => "bcontains",
        Op::StartsWith => "startswith",
        Op::BStartsWith => "bstartswith",
        Op::EndsWith => "endswith",
        Op::Glob => "glob",
        Op::IGlob => "iglob",
        Op::Regex => "regex",
        Op::In => "in",
        Op::Intersects => "intersects",
        Op::PMatch => "pmatch",
        Op::Exists => "exists",
    }
}

fn parse_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(h, 16).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        body.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

fn convert(lit: &str, class: Class, op: Op, field: &str) -> Result<Lit, String> {
    let bad = |what: &str| format!("'{lit}' is not a valid {what} for field '{field}'");
    Ok(match class {
        Class::Str | Class::Buf => {
            if matches!(op, Op::BContains | Op::BStartsWith) {
                Lit::Bytes(hex_bytes(lit).ok_or_else(|| bad("hex byte string"))?)
            } else {
                Lit::Bytes(lit.as_bytes().to_vec())
            }
        }
        Class::Signed => {
            let v = parse_int(lit).ok_or_else(|| bad("number"))?;
            Lit::Int(i128::from(i64::try_from(v).map_err(|_| bad("number"))?))
        }
        Class::Unsigned(bits) => {
            let v = parse_int(lit).ok_or_else(|| bad("number"))?;
            let modulus: i128 = 1i128 << bits;
            if v >= modulus || v < -modulus {
                return Err(bad("number"));
            }
            Lit::Int(v.rem_euclid(modulus))
        }
        Class::Double => Lit::Double(lit.trim().parse::<f64>().map_err(|_| bad("number"))?),
        Class::Bool => match lit {
            "true" => Lit::Bool(true),
            "false" => Lit::Bool(false),
            _ => return Err(bad("boolean")),
        },
        Class::Ip => Lit::Ip(lit.parse::<IpAddr>().map_err(|_| bad("IP address"))?),
        Class::Net => match lit.split_once('/') {
            Some((ip, len)) => {
                let ip = ip.parse::<IpAddr>().map_err(|_| bad("IP network"))?;
                let len = len.parse::<u8>().map_err(|_| bad("IP network"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                if len > max {
                    return Err(bad("IP network"));
                }
                Lit::Net(ip, len)
            }
            None => {
                let ip = lit.parse::<IpAddr>().map_err(|_| bad("IP network"))?;
                Lit::Net(ip, if ip.is_ipv4() { 32 } else { 128 })
            }
        },
    })
}

fn compile_binary(
    left: &Operand,
    op_s: &str,
    right: &Rhs,
    pos: Pos,
) -> Result<Check, CompileError> {
    let (op, modifier_all) = match op_s.split_once(' ') {
        Some((base, m)) => (Op::parse(base), Some(m == "allof")),
        None => (Op::parse(op_s), None),
    };
    let op = op.ok_or_else(|| cerr(format!("unknown operator '{op_s}'"), pos))?;
    let left = compile_operand(left, false)?;
    let fname = left.field.name();
    op_allowed(op, left.class, left.is_list && left.transforms.is_empty())
        .map_err(|m| cerr(m, pos))?;
    if op == Op::Regex && left.class != Class::Str {
        return Err(cerr(
            format!("'regex' operator not supported for field '{fname}'"),
            pos,
        ));
    }
    let list_op = matches!(op, Op::In | Op::Intersects | Op::PMatch) || modifier_all.is_some();
    let rpos = match right {
        Rhs::Value { pos, .. } | Rhs::List { pos, .. } => *pos,
        Rhs::Operand(o) => o.pos(),
    };
    let right = match right {
        Rhs::Operand(Operand::Transformer {
            name, args, arg, ..
        }) if name == "val" => {
            let [TransformerArg::Operand(inner)] = args.as_slice() else {
                return Err(cerr("'val' expects one field".into(), rpos));
            };
            let mut r = compile_operand(inner, true)?;
            if let (Some(a), Operand::Field { .. }) = (arg, inner) {
                r.arg = Some(FieldArg::parse(a));
            }
            let compatible = match (left.class, r.class) {
                (Class::Str | Class::Buf, Class::Str | Class::Buf) => true,
                (
                    Class::Signed | Class::Unsigned(_) | Class::Double,
                    Class::Signed | Class::Unsigned(_) | Class::Double,
                ) => true,
                (a, b) => a == b,
            };
            if !compatible || list_op || matches!(op, Op::Regex | Op::BContains | Op::BStartsWith) {
                return Err(cerr(
                    format!(
                        "field '{fname}' cannot be compared with '{}' using '{op_s}'",
                        r.field.name()
                    ),
                    rpos,
                ));
            }
            Right::Field(r)
        }
        Rhs::Operand(o) => {
            let r = compile_operand(o, true)?;
            if left.class != r.class || list_op {
                return Err(cerr(
                    format!(
                        "field '{fname}' cannot be compared with transformer '{}'",
                        r.field.name()
                    ),
                    rpos,
                ));
            }
            Right::Field(r)
        }
        Rhs::List { values, .. } => {
            if !list_op {
                return Err(cerr(
                    format!("operator '{op_s}' does not take a list"),
                    rpos,
                ));
            }
            make_set(values, &left, op, fname, rpos)?
        }
        Rhs::Value { value, .. } => {
            if list_op {
                make_set(std::slice::from_ref(value), &left, op, fname, rpos)?
            } else if op == Op::Regex {
                let re = regex::bytes::Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                    cerr(format!("invalid regular expression '{value}': {e}"), rpos)
                })?;
                Right::Regex(re)
            } else {
                let class = if left.transforms.last() == Some(&Transform::Len) {
                    Class::Unsigned(64)
                } else {
                    left.class
                };
                Right::One(convert(value, class, op, fname).map_err(|m| cerr(m, rpos))?)
            }
        }
    };
    let type_set = type_set(&left, op, modifier_all, &right);
    Ok(Check {
        left,
        op,
        modifier_all,
        right,
        type_set,
        memo: NO_MEMO,
    })
}

/// The [`Check::type_set`] of an `evt.type` comparison with literal names.
fn type_set(
    left: &FieldRef,
    op: Op,
    modifier_all: Option<bool>,
    right: &Right,
) -> Option<EventSet> {
    if left.field != crate::evttype::evt_type_field()
        || left.arg.is_some()
        || !left.transforms.is_empty()
        || left.multi
        || left.class != Class::Str
        || modifier_all.is_some()
    {
        return None;
    }
    let lits: &[Lit] = match (op, right) {
        (Op::Eq | Op::Ne, Right::One(l)) => std::slice::from_ref(l),
        (Op::In, Right::Set(lits, _)) => lits,
        _ => return None,
    };
    let mut set = EventSet::empty();
    for l in lits {
        let Lit::Bytes(b) = l else { return None };
        let Ok(name) = std::str::from_utf8(b) else {
            return None;
        };
        if let Some(i) = crate::evttype::event_index(name) {
            set.insert(i);
        }
    }
    Some(set)
}

fn make_set(
    values: &[String],
    left: &FieldRef,
    op: Op,
    fname: &str,
    pos: Pos,
) -> Result<Right, CompileError> {
    let lits: Vec<Lit> = values
        .iter()
        .map(|v| convert(v, left.class, op, fname))
        .collect::<Result<_, _>>()
        .map_err(|m| cerr(m, pos))?;
    let hashed = if matches!(op, Op::In | Op::Intersects)
        && lits.len() > 8
        && matches!(left.class, Class::Str | Class::Buf)
    {
        Some(
            lits.iter()
                .filter_map(|l| {
                    if let Lit::Bytes(b) = l {
                        Some(b.clone())
                    } else {
                        None
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(Right::Set(lits, hashed))
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// A value normalised for comparison.
enum Norm<'v> {
    Bytes(std::borrow::Cow<'v, [u8]>),
    Int(i128),
    Double(f64),
    Bool(bool),
    Ip(IpAddr),
}

fn normalise<'v>(v: &'v Value<'_>, class: Class) -> Option<Norm<'v>> {
    use std::borrow::Cow;
    Some(match (v, class) {
        (Value::Str(s), Class::Str | Class::Buf) => Norm::Bytes(Cow::Borrowed(s.as_bytes())),
        (Value::Bytes(b), Class::Str | Class::Buf) => Norm::Bytes(Cow::Borrowed(b)),
        (Value::Int(i), Class::Str | Class::Buf) => {
            Norm::Bytes(Cow::Owned(i.to_string().into_bytes()))
        }
        (Value::Uint(i), Class::Str | Class::Buf) => {
            Norm::Bytes(Cow::Owned(i.to_string().into_bytes()))
        }
        (Value::Bool(b), Class::Str | Class::Buf) => {
            Norm::Bytes(Cow::Owned(b.to_string().into_bytes()))
        }
        (Value::Ip(ip), Class::Str | Class::Buf) => {
            Norm::Bytes(Cow::Owned(ip.to_string().into_bytes()))
        }
        (Value::Int(i), _) => Norm::Int(i128::from(*i)),
        (Value::Uint(u), _) => Norm::Int(i128::from(*u)),
        (Value::Double(d), _) => Norm::Double(*d),
        (Value::Bool(b), Class::Bool) => Norm::Bool(*b),
        (Value::Bool(b), _) => Norm::Int(i128::from(*b)),
        (Value::Ip(ip), _) => Norm::Ip(*ip),
        (Value::Str(s), Class::Signed | Class::Unsigned(_)) => Norm::Int(parse_int(s)?),
        (Value::Str(s), Class::Double) => Norm::Double(s.trim().parse().ok()?),
        (Value::Str(s), Class::Bool) => Norm::Bool(match s.as_ref() {
            "true" => true,
            "false" => false,
            _ => return None,
        }),
        (Value::Str(s), Class::Ip | Class::Net) => Norm::Ip(s.parse().ok()?),
        (Value::Bytes(_), _) | (Value::List(_), _) => return None,
    })
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    n.is_empty() || h.windows(n.len()).any(|w| w == n)
}

fn icontains(h: &[u8], n: &[u8]) -> bool {
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn cmp_lit(op: Op, v: &Norm<'_>, lit: &Lit) -> bool {
    use std::cmp::Ordering;
    match (v, lit) {
        (Norm::Bytes(s), Lit::Bytes(l)) => {
            let (s, l): (&[u8], &[u8]) = (s, l);
            match op {
                Op::Eq | Op::In | Op::Intersects => s == l,
                Op::Ne => s != l,
                Op::Lt => s < l,
                Op::Le => s <= l,
                Op::Gt => s > l,
                Op::Ge => s >= l,
                Op::Contains | Op::BContains => contains(s, l),
                Op::IContains => icontains(s, l),
                Op::StartsWith | Op::BStartsWith => s.starts_with(l),
                Op::EndsWith => s.ends_with(l),
                Op::Glob => glob_match(l, s, false),
                Op::IGlob => glob_match(l, s, true),
                Op::PMatch => pmatch(l, s),
                Op::Regex | Op::Exists => false,
            }
        }
        (Norm::Int(a), Lit::Int(b)) => ord_op(op, a.cmp(b)),
        (Norm::Int(a), Lit::Double(b)) => (*a as f64).partial_cmp(b).is_some_and(|o| ord_op(op, o)),
        (Norm::Double(a), Lit::Double(b)) => a.partial_cmp(b).is_some_and(|o| ord_op(op, o)),
        (Norm::Double(a), Lit::Int(b)) => {
            a.partial_cmp(&(*b as f64)).is_some_and(|o| ord_op(op, o))
        }
        (Norm::Bool(a), Lit::Bool(b)) => ord_op(
            op,
            if a == b {
                Ordering::Equal
            } else {
                Ordering::Less
            },
        ),
        (Norm::Ip(a), Lit::Ip(b)) => ord_op(
            op,
            if a == b {
                Ordering::Equal
            } else {
                Ordering::Less
            },
        ),
        (Norm::Ip(a), Lit::Net(n, l)) => ord_op(
            op,
            if in_net(*a, *n, *l) {
                Ordering::Equal
            } else {
                Ordering::Less
            },
        ),
        _ => false,
    }
}

fn ord_op(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq | Op::In | Op::Intersects => o == Equal,
        Op::Ne => o != Equal,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        _ => false,
    }
}

fn apply_transforms<'a>(v: Value<'a>, ts: &[Transform]) -> Option<Value<'a>> {
    use std::borrow::Cow;
    let mut v = v;
    for t in ts {
        v = match (t, v) {
            (Transform::Len, Value::List(l)) => Value::Uint(l.len() as u64),
            (_, Value::List(l)) => Value::List(
                l.into_iter()
                    .filter_map(|x| apply_transforms(x, std::slice::from_ref(t)))
                    .collect(),
            ),
            (Transform::Len, x) => Value::Uint(x.as_bytes()?.len() as u64),
            (Transform::ToLower, x) => Value::Bytes(Cow::Owned(x.as_bytes()?.to_ascii_lowercase())),
            (Transform::ToUpper, x) => Value::Bytes(Cow::Owned(x.as_bytes()?.to_ascii_uppercase())),
            (Transform::Basename, x) => {
                let b = x.as_bytes()?;
                let base = b.rsplit(|c| *c == b'/').next().unwrap_or(b);
                Value::Bytes(Cow::Owned(base.to_vec()))
            }
            (Transform::B64, x) => Value::Bytes(Cow::Owned(b64_decode(x.as_bytes()?)?)),
        };
    }
    Some(v)
}

fn b64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let s: Vec<u8> = s
        .iter()
        .copied()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&bytes[1..=n]);
    }
    Some(out)
}

/// Extracts a field reference's value (with transformers), special-casing `evt.type`.
pub(crate) fn extract_ref<'e, E: EventAccess + ?Sized>(
    evt: &'e mut E,
    r: &FieldRef,
) -> Option<Value<'e>> {
    let v = if r.field == crate::evttype::evt_type_field() && r.arg.is_none() {
        Value::Str(std::borrow::Cow::Borrowed(evt.event_type()))
    } else {
        evt.extract(r.field, r.arg.as_ref())?
    };
    if r.transforms.is_empty() {
        Some(v)
    } else {
        apply_transforms(v, &r.transforms)
    }
}

impl Check {
    fn eval_one(&self, v: &Value<'_>, rhs: Option<&Value<'_>>) -> bool {
        let class = if self.left.transforms.last() == Some(&Transform::Len) {
            Class::Unsigned(64)
        } else {
            self.left.class
        };
        let Some(n) = normalise(v, class) else {
            return false;
        };
        match &self.right {
            Right::None => true,
            Right::One(l) => cmp_lit(self.op, &n, l),
            Right::Regex(re) => match &n {
                Norm::Bytes(b) => re.is_match(b),
                _ => false,
            },
            Right::Set(lits, hashed) => {
                if let (Some(h), Norm::Bytes(b)) = (hashed, &n) {
                    return h.contains(b.as_ref());
                }
                match self.modifier_all {
                    Some(true) => !lits.is_empty() && lits.iter().all(|l| cmp_lit(self.op, &n, l)),
                    _ => lits.iter().any(|l| cmp_lit(self.op, &n, l)),
                }
            }
            Right::Field(_) => {
                let Some(r) = rhs else { return false };
                let rclass = match r {
                    Value::Str(_) | Value::Bytes(_) => Class::Str,
                    Value::Double(_) => Class::Double,
                    Value::Bool(_) => Class::Bool,
                    Value::Ip(_) => Class::Ip,
                    _ => Class::Signed,
                };
                let lit = match normalise(r, rclass) {
                    Some(Norm::Bytes(b)) => Lit::Bytes(b.into_owned()),
                    Some(Norm::Int(i)) => Lit::Int(i),
                    Some(Norm::Double(d)) => Lit::Double(d),
                    Some(Norm::Bool(b)) => Lit::Bool(b),
                    Some(Norm::Ip(ip)) => Lit::Ip(ip),
                    None => return false,
                };
                cmp_lit(self.op, &n, &lit)
            }
        }
    }

    fn eval<E: EventAccess + ?Sized>(&self, evt: &mut E) -> bool {
        if let Some(set) = &self.type_set {
            if let Some(i) = evt.event_type_index() {
                return set.contains(i) != (self.op == Op::Ne);
            }
        }
        let rhs_owned = match &self.right {
            Right::Field(r) => match extract_ref(evt, r) {
                Some(v) => Some(v.into_owned()),
                None => return false,
            },
            _ => None,
        };
        let Some(v) = extract_ref(evt, &self.left) else {
            return false;
        };
        if self.op == Op::Exists {
            return true;
        }
        match &v {
            Value::List(items) if self.left.multi => {
                if self.left.is_list && self.op == Op::In {
                    items.iter().all(|x| self.eval_one(x, rhs_owned.as_ref()))
                } else {
                    items.iter().any(|x| self.eval_one(x, rhs_owned.as_ref()))
                }
            }
            Value::List(items) => items.iter().any(|x| self.eval_one(x, rhs_owned.as_ref())),
            _ => self.eval_one(&v, rhs_owned.as_ref()),
        }
    }
}

impl Filter {
    /// Evaluates the condition on one event.
    pub fn eval<E: EventAccess + ?Sized>(&self, evt: &mut E) -> bool {
        match self {
            Filter::And(c) => c.iter().all(|f| f.eval(evt)),
            Filter::Or(c) => c.iter().any(|f| f.eval(evt)),
            Filter::Not(c) => !c.eval(evt),
            Filter::Check(c) => c.eval(evt),
        }
    }

    /// [`Filter::eval`], with the results of shared checks kept in `memo` for the current
    /// event (after [`assign_memo_slots`]; call [`Memo::next_event`] before each event).
    pub fn eval_memo<E: EventAccess + ?Sized>(&self, evt: &mut E, memo: &mut Memo) -> bool {
        match self {
            Filter::And(c) => c.iter().all(|f| f.eval_memo(evt, memo)),
            Filter::Or(c) => c.iter().any(|f| f.eval_memo(evt, memo)),
            Filter::Not(c) => !c.eval_memo(evt, memo),
            Filter::Check(c) => {
                if c.memo == NO_MEMO {
                    return c.eval(evt);
                }
                let slot = c.memo as usize;
                if memo.stamp.get(slot) == Some(&memo.generation) {
                    if let Some(&v) = memo.value.get(slot) {
                        return v;
                    }
                }
                let v = c.eval(evt);
                if let (Some(s), Some(x)) = (memo.stamp.get_mut(slot), memo.value.get_mut(slot)) {
                    *s = memo.generation;
                    *x = v;
                }
                v
            }
        }
    }

    /// Every field the condition reads.
    pub fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            Filter::And(c) | Filter::Or(c) => c.iter().for_each(|f| f.fields(out)),
            Filter::Not(c) => c.fields(out),
            Filter::Check(c) => {
                out.push(c.left.field);
                if let Right::Field(r) = &c.right {
                    out.push(r.field);
                }
            }
        }
    }
}

/// Extraction for outputs: `evt.type` from [`EventAccess::event_type`], the rest from `extract`.
pub(crate) fn extract_ref_simple<'e, E: EventAccess + ?Sized>(
    evt: &'e mut E,
    field: FieldId,
    arg: Option<&FieldArg>,
) -> Option<Value<'e>> {
    if field == crate::evttype::evt_type_field() && arg.is_none() {
        return Some(Value::Str(std::borrow::Cow::Borrowed(evt.event_type())));
    }
    evt.extract(field, arg)
}
