//! The condition AST, as libsinsp's `filter/ast.h` has it: values are always strings.

/// A position in a condition string (libsinsp `pos_info`): byte index, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub idx: usize,
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub fn start() -> Pos {
        Pos {
            idx: 0,
            line: 1,
            col: 1,
        }
    }
}

/// A field reference or a transformer call, the left side of a check (or `val(...)` on the right).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Field {
        name: String,
        arg: Option<String>,
        pos: Pos,
    },
    /// `tolower(proc.name)`, `val(proc.pname)`, ...; `arg` is an optional `[...]` after the call.
    Transformer {
        name: String,
        args: Vec<TransformerArg>,
        arg: Option<String>,
        pos: Pos,
    },
}

impl Operand {
    pub fn pos(&self) -> Pos {
        match self {
            Operand::Field { pos, .. } | Operand::Transformer { pos, .. } => *pos,
        }
    }
}

/// An argument of a transformer call.
#[derive(Debug, Clone, PartialEq)]
pub enum TransformerArg {
    Operand(Operand),
    Value(String),
    List(Vec<TransformerArg>),
}

/// The right side of a binary check.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    Value { value: String, pos: Pos },
    List { values: Vec<String>, pos: Pos },
    Operand(Operand),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>, Pos),
    Or(Vec<Expr>, Pos),
    Not(Box<Expr>, Pos),
    /// A bare identifier: a macro reference.
    Identifier(String, Pos),
    Unary {
        left: Operand,
        op: String,
        pos: Pos,
    },
    Binary {
        left: Operand,
        op: String,
        right: Rhs,
        pos: Pos,
    },
}

impl Expr {
    pub fn pos(&self) -> Pos {
        match self {
            Expr::And(_, p) | Expr::Or(_, p) | Expr::Not(_, p) | Expr::Identifier(_, p) => *p,
            Expr::Unary { pos, .. } | Expr::Binary { pos, .. } => *pos,
        }
    }

    /// Calls `f` on every identifier (macro reference) in the tree.
    pub fn for_each_identifier(&self, f: &mut dyn FnMut(&str, Pos)) {
        match self {
            Expr::And(c, _) | Expr::Or(c, _) => c.iter().for_each(|e| e.for_each_identifier(f)),
            Expr::Not(c, _) => c.for_each_identifier(f),
            Expr::Identifier(n, p) => f(n, *p),
            Expr::Unary { .. } | Expr::Binary { .. } => {}
        }
    }
}
