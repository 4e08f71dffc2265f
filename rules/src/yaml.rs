//! A YAML tree with the position of every node, built from yaml-rust2's event parser. Scalars
//! keep their raw text (no YAML 1.1 coercion), as Falco's loader sees them.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar's raw text; `plain` is false when it was quoted or a block scalar.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// 1-based line and column of the node's start.
    pub line: usize,
    pub col: usize,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A scalar that YAML would read as null (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true } if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of a key in a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// YAML boolean (`true`/`false` and the YAML 1.1 spellings yaml-cpp accepts).
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
                Some(true)
            }
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n"
            | "N" => Some(false),
            _ => None,
        }
    }
}

/// A YAML syntax error with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub line: usize,
    pub col: usize,
}

enum Frame {
    Seq(Vec<Node>, Marker, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Marker, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    anchors: HashMap<usize, Node>,
}

fn node_at(kind: NodeKind, m: Marker) -> Node {
    Node {
        kind,
        line: m.line(),
        col: m.col() + 1,
    }
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(items, _, _)) => items.push(node),
            Some(Frame::Map(entries, key, _, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let plain = style == TScalarStyle::Plain;
                self.push_node(node_at(NodeKind::Scalar { text, plain }, mark), anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(Vec::new(), mark, anchor))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(Vec::new(), None, mark, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(items, m, a)) => {
                    self.push_node(node_at(NodeKind::Seq(items), m), a)
                }
                Some(Frame::Map(entries, _, m, a)) => {
                    // yaml-rust2 marks a block map after its first key; report the key's position
                    let (line, col) = entries
                        .first()
                        .map_or((m.line(), m.col() + 1), |(k, _)| (k.line, k.col));
                    self.push_node(
                        Node {
                            kind: NodeKind::Map(entries),
                            line,
                            col,
                        },
                        a,
                    );
                }
                None => {}
            },
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or_else(|| {
                    node_at(
                        NodeKind::Scalar {
                            text: String::new(),
                            plain: true,
                        },
                        mark,
                    )
                });
                self.push_node(node, 0);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Parses every document of a YAML stream.
///
/// yaml-cpp (Falco's parser) accepts a flow collection whose closing `]`/`}` sits at the
/// indentation of its parent key (`falco-sandbox_rules.yaml` has one); yaml-rust2 rejects it as
/// "invalid indentation". Such a line is indented by two more spaces and parsing is retried,
/// which keeps every line number and every other column unchanged.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut owned: Option<String> = None;
    for _ in 0..1000 {
        let current = owned.as_deref().unwrap_or(text);
        match parse_strict(current) {
            Err(e) if e.message.contains("invalid indentation") => {
                let lines: Vec<&str> = current.split('\n').collect();
                let Some(line) = e.line.checked_sub(1).and_then(|i| lines.get(i)) else {
                    return Err(e);
                };
                let t = line.trim_start();
                if !(t.starts_with(']') || t.starts_with('}')) {
                    return Err(e);
                }
                let fixed: Vec<String> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if i + 1 == e.line {
                            format!("  {l}")
                        } else {
                            (*l).to_string()
                        }
                    })
                    .collect();
                owned = Some(fixed.join("\n"));
            }
            other => return other,
        }
    }
    parse_strict(owned.as_deref().unwrap_or(text))
}

fn parse_strict(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        message: e.info().to_string(),
        line: e.marker().line(),
        col: e.marker().col() + 1,
    })?;
    Ok(builder.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_raw_scalars() {
        let docs = parse_documents("- list: a\n  items: [22, \"x y\", yes]\n").expect("yaml");
        let seq = docs[0].as_seq().expect("seq");
        let item = &seq[0];
        assert_eq!((item.line, item.col), (1, 3));
        let items = item.get("items").and_then(Node::as_seq).expect("items");
        assert_eq!(items[0].as_str(), Some("22"));
        assert_eq!(items[2].as_str(), Some("yes"));
        assert_eq!((items[1].line, items[1].col), (2, 15));
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_documents("- a: [\n- b").expect_err("bad");
        assert!(err.line >= 1);
    }
}
