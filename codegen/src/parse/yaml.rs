//! YAML parsed into a tree whose every node knows its file, line and column.
//!
//! serde-saphyr gives spans through `Spanned<T>`; deserializing into this untyped tree
//! (instead of typed structs) keeps a location on every key and value, so each later
//! check can point at the exact token, and unknown keys can be reported with a
//! did-you-mean instead of serde's first-error-wins message.

use crate::diagnostics::{Diagnostic, Sources};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

pub use crate::diagnostics::Loc;

impl Diagnostic {
    /// A diagnostic pointing at `node`.
    pub fn at(sources: &Sources, node: &Node, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(sources, node.loc, message)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The value of `key` in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    fn set_file(&mut self, file: usize) {
        self.loc.file = file;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|item| item.set_file(file)),
            Value::Map(entries) => entries.iter_mut().for_each(|(key, value)| {
                key.set_file(file);
                value.set_file(file);
            }),
            _ => {}
        }
    }
}

/// Parses one file already registered in `sources`. Malformed YAML becomes one
/// diagnostic at the place the parser stopped.
pub fn parse(sources: &Sources, file: usize) -> Result<Node, Box<Diagnostic>> {
    let text = sources.text(file);
    let options = serde_saphyr::options! { strict_booleans: true };
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(mut node) => {
            node.set_file(file);
            Ok(node)
        }
        Err(error) => {
            let (line, column) = error
                .location()
                .map(|at| (at.line() as u32, at.column() as u32))
                .unwrap_or((1, 1));
            let message = error.to_string();
            // serde-saphyr renders its own snippet after the first line; ours follows.
            let headline = message
                .lines()
                .next()
                .unwrap_or("malformed YAML")
                .trim_start_matches("error: ")
                .to_string();
            Err(Box::new(
                Diagnostic::new(
                    sources,
                    Loc { file, line, column },
                    format!("malformed YAML: {headline}"),
                )
                .with_label("the YAML parser stopped here")
                .with_help("check the indentation and quoting around this line"),
            ))
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = access.next_entry::<Node, Node>()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            value: spanned.value,
            loc: Loc {
                file: 0,
                line: spanned.referenced.line() as u32,
                column: spanned.referenced.column() as u32,
            },
        })
    }
}
