//! Event-type analysis of a condition, libsinsp's `ppm_event_codes` algorithm (`ppm_codes.cpp`):
//! negation pushed to the leaves, `evt.type` comparisons give name sets, the `evt.num`
//! invariant, every other leaf is neutral.

use std::sync::OnceLock;

use crate::ast::{Expr, Operand, Pos, Rhs};
use crate::event_names::EVENT_NAMES;
use crate::field::{field_id, FieldId};

const WORDS: usize = EVENT_NAMES.len().div_ceil(64);

/// A set of event names (indices into [`EVENT_NAMES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventSet([u64; WORDS]);

impl EventSet {
    pub fn empty() -> EventSet {
        EventSet([0; WORDS])
    }

    pub fn all() -> EventSet {
        let mut s = EventSet::empty();
        for i in 0..EVENT_NAMES.len() {
            s.insert(i);
        }
        s
    }

    pub fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn and(self, o: EventSet) -> EventSet {
        let mut r = self;
        r.0.iter_mut().zip(o.0).for_each(|(a, b)| *a &= b);
        r
    }

    fn or(self, o: EventSet) -> EventSet {
        let mut r = self;
        r.0.iter_mut().zip(o.0).for_each(|(a, b)| *a |= b);
        r
    }

    fn complement(self) -> EventSet {
        let all = EventSet::all();
        let mut r = self;
        r.0.iter_mut().zip(all.0).for_each(|(a, b)| *a = !*a & b);
        r
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The event names in the set, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        (0..EVENT_NAMES.len())
            .filter(|i| self.contains(*i))
            .map(|i| EVENT_NAMES[i].0)
            .collect()
    }

    /// How many libs event codes the set covers (what Falco's LOAD_NO_EVTTYPE threshold counts).
    pub fn code_count(&self) -> usize {
        (0..EVENT_NAMES.len())
            .filter(|i| self.contains(*i))
            .map(|i| usize::from(EVENT_NAMES[i].1))
            .sum()
    }
}

/// Index of an event name in [`EVENT_NAMES`].
pub fn event_index(name: &str) -> Option<usize> {
    EVENT_NAMES.binary_search_by(|(n, _)| (*n).cmp(name)).ok()
}

pub(crate) fn evt_type_field() -> FieldId {
    static ID: OnceLock<FieldId> = OnceLock::new();
    *ID.get_or_init(|| field_id("evt.type").unwrap_or(FieldId(u16::MAX)))
}

fn names_to_set<'a>(names: impl Iterator<Item = &'a String>) -> EventSet {
    let mut s = EventSet::empty();
    for n in names {
        if let Some(i) = event_index(n) {
            s.insert(i);
        }
    }
    s
}

/// Why an `evt.type` check cannot be analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvttypeError {
    pub message: String,
    pub pos: Pos,
}

struct Visitor {
    negated: bool,
    has_codes: bool,
}

fn is_evttype_field(o: &Operand) -> bool {
    matches!(o, Operand::Field { name, arg: None, .. } if name == "evt.type" || name == "syscall.type")
}

enum Invariant {
    Empty,
    All,
    Unknown,
}

fn parse_u64_wrapping(s: &str) -> Option<u64> {
    // sinsp_numparser::tryparseu64: decimal (a leading '-' wraps)
    let t = s.trim();
    if let Some(rest) = t.strip_prefix('-') {
        return rest.parse::<u64>().ok().map(|v| v.wrapping_neg());
    }
    t.parse::<u64>().ok()
}

fn invariant(left: &Operand, op: &str, right: &Rhs) -> Invariant {
    if !matches!(left, Operand::Field { name, arg: None, .. } if name == "evt.num") {
        return Invariant::Unknown;
    }
    if op == "in" {
        let Rhs::List { values, .. } = right else {
            return Invariant::Unknown;
        };
        if values.iter().all(|v| parse_u64_wrapping(v) == Some(0)) {
            return Invariant::Empty;
        }
        return Invariant::Unknown;
    }
    let Rhs::Value { value, .. } = right else {
        return Invariant::Unknown;
    };
    let Some(n) = parse_u64_wrapping(value) else {
        return Invariant::Unknown;
    };
    match op {
        "=" | "==" if n == 0 => Invariant::Empty,
        "!=" if n == 0 => Invariant::All,
        "<" if n <= 1 => Invariant::Empty,
        "<=" if n == 0 => Invariant::Empty,
        ">" if n == 0 => Invariant::All,
        ">=" if n <= 1 => Invariant::All,
        _ => Invariant::Unknown,
    }
}

impl Visitor {
    fn try_invert(&self, s: EventSet) -> EventSet {
        if self.negated && self.has_codes {
            s.complement()
        } else {
            s
        }
    }

    fn visit(&mut self, e: &Expr) -> Result<EventSet, EvttypeError> {
        match e {
            Expr::And(c, _) | Expr::Or(c, _) => {
                let conj = matches!(e, Expr::And(..)) != self.negated;
                let mut acc = if conj {
                    EventSet::all()
                } else {
                    EventSet::empty()
                };
                for child in c {
                    let s = self.visit(child)?;
                    acc = if conj { acc.and(s) } else { acc.or(s) };
                }
                Ok(acc)
            }
            Expr::Not(c, _) => {
                self.negated = !self.negated;
                let r = self.visit(c);
                self.negated = !self.negated;
                r
            }
            Expr::Identifier(..) => {
                self.has_codes = false;
                Ok(EventSet::all())
            }
            Expr::Unary { left, op, .. } => {
                if let Operand::Transformer { .. } = left {
                    check_no_evttype_in_transformer(left)?;
                }
                self.has_codes = is_evttype_field(left) && op == "exists";
                Ok(self.try_invert(EventSet::all()))
            }
            Expr::Binary {
                left,
                op,
                right,
                pos,
            } => {
                self.has_codes = false;
                match invariant(left, op, right) {
                    Invariant::Empty => {
                        self.has_codes = true;
                        return Ok(self.try_invert(EventSet::empty()));
                    }
                    Invariant::All => {
                        self.has_codes = true;
                        return Ok(self.try_invert(EventSet::all()));
                    }
                    Invariant::Unknown => {}
                }
                if let Operand::Transformer { .. } = left {
                    check_no_evttype_in_transformer(left)?;
                }
                if matches!(op.as_str(), "=" | "==" | "!=" | "in") && is_evttype_field(left) {
                    let mut s = match right {
                        Rhs::Value { value, .. } => names_to_set(std::iter::once(value)),
                        Rhs::List { values, .. } => names_to_set(values.iter()),
                        Rhs::Operand(_) => {
                            return Err(EvttypeError {
                                message: "right-hand field comparisons on `evt.type`/`syscall.type` checks are not supported by event code search".into(),
                                pos: *pos,
                            })
                        }
                    };
                    self.has_codes = true;
                    s = self.try_invert(s);
                    if op == "!=" {
                        s = s.complement();
                    }
                    return Ok(s);
                }
                Ok(self.try_invert(EventSet::all()))
            }
        }
    }
}

fn check_no_evttype_in_transformer(o: &Operand) -> Result<(), EvttypeError> {
    if let Operand::Transformer { args, pos, .. } = o {
        for a in args {
            if let crate::ast::TransformerArg::Operand(inner) = a {
                if is_evttype_field(inner) {
                    return Err(EvttypeError {
                        message:
                            "event code search does not support `evt.type` checks with transformers"
                                .into(),
                        pos: *pos,
                    });
                }
                check_no_evttype_in_transformer(inner)?;
            }
        }
    }
    Ok(())
}

/// The event names for which a (macro-expanded) condition can be true.
pub fn event_types(e: &Expr) -> Result<EventSet, EvttypeError> {
    Visitor {
        negated: false,
        has_codes: false,
    }
    .visit(e)
}

/// Every `evt.type` value named by the condition that is not a known event name.
pub fn unknown_event_names(e: &Expr, out: &mut Vec<(String, Pos)>) {
    match e {
        Expr::And(c, _) | Expr::Or(c, _) => c.iter().for_each(|x| unknown_event_names(x, out)),
        Expr::Not(c, _) => unknown_event_names(c, out),
        Expr::Binary {
            left, op, right, ..
        } if is_evttype_field(left)
            && matches!(op.as_str(), "=" | "==" | "!=" | "in" | "intersects") =>
        {
            let (vals, pos): (Vec<&String>, Pos) = match right {
                Rhs::Value { value, pos } => (vec![value], *pos),
                Rhs::List { values, pos } => (values.iter().collect(), *pos),
                Rhs::Operand(_) => (Vec::new(), Pos::default()),
            };
            for v in vals {
                if event_index(v).is_none() {
                    out.push((v.clone(), pos));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn names(s: &str) -> Vec<&'static str> {
        event_types(&parse(s).expect("parse"))
            .expect("evttypes")
            .names()
    }

    #[test]
    fn algorithm() {
        assert_eq!(names("evt.type = open"), vec!["open"]);
        assert_eq!(
            names("evt.type in (open, openat) and proc.name=x"),
            vec!["open", "openat"]
        );
        assert_eq!(names("not evt.type != open"), vec!["open"]);
        assert_eq!(
            names("not (evt.type != open and evt.type != openat)"),
            vec!["open", "openat"]
        );
        assert!(names("evt.num = 0").is_empty());
        assert!(names("evt.type=open and evt.num=0").is_empty());
        assert_eq!(names("evt.type=open or evt.num=0"), vec!["open"]);
        assert_eq!(names("not proc.name=x").len(), EVENT_NAMES.len());
        assert_eq!(names("evt.type != open").len(), EVENT_NAMES.len() - 1);
        assert_eq!(names("not evt.num=0").len(), EVENT_NAMES.len());
    }
}
