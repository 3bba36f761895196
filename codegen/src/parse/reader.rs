//! Typed reading of YAML nodes that records problems instead of stopping at the first.

use crate::diagnostics::{Diagnostic, Sources, did_you_mean, one_of};
use crate::parse::yaml::{Node, Value};

pub struct Reader<'s> {
    pub sources: &'s Sources,
    pub problems: Vec<Diagnostic>,
}

impl<'s> Reader<'s> {
    pub fn new(sources: &'s Sources) -> Reader<'s> {
        Reader {
            sources,
            problems: Vec::new(),
        }
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.problems.push(diagnostic);
    }

    pub fn error(&mut self, node: &Node, message: impl Into<String>) -> &mut Diagnostic {
        self.problems
            .push(Diagnostic::at(self.sources, node, message));
        self.problems.last_mut().expect("just pushed")
    }

    /// Checks that `node` is a mapping whose keys are all in `allowed`; unknown keys are
    /// reported with the closest allowed key. Returns false when `node` is no mapping.
    pub fn keys(&mut self, node: &Node, allowed: &[&str], what: &str) -> bool {
        if !matches!(node.value, Value::Map(_)) {
            let found = node.kind();
            self.error(node, format!("{what} must be a mapping, found {found}"))
                .label = Some(format!(
                "expected keys such as {}",
                one_of(allowed.iter().copied())
            ));
            return false;
        }
        for (key, _) in node.entries() {
            let Some(name) = key.as_str() else {
                self.error(key, format!("keys of {what} must be strings"));
                continue;
            };
            if !allowed.contains(&name) {
                let help = match did_you_mean(name, allowed.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("allowed keys are {}", one_of(allowed.iter().copied())),
                };
                let diagnostic =
                    Diagnostic::at(self.sources, key, format!("unknown key `{name}` in {what}"))
                        .with_label("not a key of this section")
                        .with_help(help);
                self.report(diagnostic);
            }
        }
        true
    }

    /// A string scalar, or a reported problem.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(text) => Some(text.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::Float(n) => Some(n.to_string()),
            _ => {
                let found = node.kind();
                self.error(node, format!("{what} must be a string, found {found}"));
                None
            }
        }
    }

    /// The string under `key`, if present.
    pub fn optional_string<'n>(
        &mut self,
        parent: &'n Node,
        key: &str,
        what: &str,
    ) -> Option<(String, &'n Node)> {
        let node = parent.get(key)?;
        self.string(node, what).map(|text| (text, node))
    }

    /// The string under `key`, reported when missing.
    pub fn required_string<'n>(
        &mut self,
        parent: &'n Node,
        key: &str,
        what: &str,
    ) -> Option<(String, &'n Node)> {
        if parent.get(key).is_none() {
            self.error(parent, format!("{what} is missing: add `{key}:`"));
            return None;
        }
        self.optional_string(parent, key, what)
    }

    pub fn boolean(&mut self, parent: &Node, key: &str) -> bool {
        match parent.get(key) {
            None => false,
            Some(Node {
                value: Value::Bool(flag),
                ..
            }) => *flag,
            Some(other) => {
                let found = other.kind();
                self.error(
                    other,
                    format!("`{key}` must be true or false, found {found}"),
                );
                false
            }
        }
    }
}
