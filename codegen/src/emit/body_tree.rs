//! The shape of a request body, planned from every path a mapping writes: one `Map`
//! variable per object section (`properties`, `data` → `values` → `name`), filled by
//! plain `insert`s and nested at the end, so a body reads the way a person would build
//! it. Paths the plan cannot say (an index past 0, a value and a section at one key)
//! fall back to `json::set` on the whole body.

use super::*;

/// One object section of the body.
struct Section {
    /// The map variable holding it (`properties`).
    var: Ident,
    path: Vec<Seg>,
    /// Its parent section, and its key there (root: itself).
    parent: usize,
    key: String,
    /// Nested as the one element of an array (`name[0]`).
    first: bool,
}

/// Where a value goes: the section's variable, the key, and whether it is wrapped in a
/// one-element array.
struct Slot {
    section: usize,
    key: String,
    first: bool,
}

pub(super) struct BodyPlan {
    sections: Vec<Section>,
    /// Some path cannot be planned: every write goes through `json::set`.
    fallback: bool,
}

/// Names a section variable may not take: the writer's own bindings.
const TAKEN: &[&str] = &[
    "body",
    "input",
    "creating",
    "connection",
    "value",
    "item",
    "element",
    "elements",
    "mapped",
    "joined",
    "unified",
    "provider_field",
    "extras",
    "key",
    "fields",
];

impl BodyPlan {
    /// Plans the sections for values written at `leaves` and for `sections` that
    /// receive fields only known at run time (custom fields).
    pub(super) fn new(leaves: &[Vec<Seg>], sections: &[Vec<Seg>]) -> BodyPlan {
        let root = Section {
            var: format_ident!("body"),
            path: Vec::new(),
            parent: 0,
            key: String::new(),
            first: false,
        };
        let mut plan = BodyPlan {
            sections: vec![root],
            fallback: false,
        };
        for path in sections {
            if plan.section(path).is_none() {
                plan.fallback = true;
            }
        }
        let mut slots = Vec::new();
        for path in leaves {
            match split_leaf(path) {
                Some((parent, key, _)) => match plan.section(parent) {
                    Some(section) => slots.push((section, key)),
                    None => plan.fallback = true,
                },
                None => plan.fallback = true,
            }
        }
        // A value and a section at one key cannot both be inserted.
        if slots
            .iter()
            .any(|(section, key)| plan.is_section_key(*section, key))
        {
            plan.fallback = true;
        }
        plan
    }

    /// The section at `path`, created with its parents; `None` when the path is not a
    /// chain of keys, each optionally followed by `[0]`.
    fn section(&mut self, path: &[Seg]) -> Option<usize> {
        let mut current = 0;
        let mut at = 0;
        while at < path.len() {
            let Seg::Key(key) = &path[at] else {
                return None;
            };
            let first = matches!(path.get(at + 1), Some(Seg::Index(0)));
            if matches!(path.get(at + 1), Some(Seg::Index(n)) if *n > 0) {
                return None;
            }
            at += if first { 2 } else { 1 };
            current = self.child(current, key, first, &path[..at])?;
        }
        Some(current)
    }

    fn child(&mut self, parent: usize, key: &str, first: bool, path: &[Seg]) -> Option<usize> {
        if let Some(index) = self.sections[1..]
            .iter()
            .position(|s| s.parent == parent && s.key == key)
        {
            let existing = &self.sections[index + 1];
            return (existing.first == first).then_some(index + 1);
        }
        let var = self.variable(parent, key);
        self.sections.push(Section {
            var,
            path: path.to_vec(),
            parent,
            key: key.to_string(),
            first,
        });
        Some(self.sections.len() - 1)
    }

    /// A readable, unique variable name for a section: its key, else prefixed with
    /// its parent's name.
    fn variable(&self, parent: usize, key: &str) -> Ident {
        let plain = snake_identifier(key);
        let taken =
            |name: &str| TAKEN.contains(&name) || self.sections.iter().any(|s| s.var == name);
        let mut name = plain.clone();
        if taken(&name) {
            name = format!("{}_{plain}", self.sections[parent].var);
        }
        let mut suffix = 2;
        while taken(&name) {
            name = format!("{plain}_{suffix}");
            suffix += 1;
        }
        format_ident!("{}", name)
    }

    fn is_section_key(&self, parent: usize, key: &str) -> bool {
        self.sections[1..]
            .iter()
            .any(|s| s.parent == parent && s.key == key)
    }

    fn slot(&self, path: &[Seg]) -> Option<Slot> {
        let (parent, key, first) = split_leaf(path)?;
        let section = self.sections.iter().position(|s| s.path == parent)?;
        Some(Slot {
            section,
            key,
            first,
        })
    }

    /// The statement writing `value` at `path`.
    pub(super) fn set(&self, path: &[Seg], value: TokenStream) -> TokenStream {
        match self.slot(path).filter(|_| !self.fallback) {
            Some(Slot {
                section,
                key,
                first,
            }) => {
                let var = &self.sections[section].var;
                let value = if first {
                    quote! { json::array([#value]) }
                } else {
                    value
                };
                quote! { #var.insert(#key.into(), #value); }
            }
            None => {
                let text = path_text(path);
                quote! { json::set(&mut body, #text, #value); }
            }
        }
    }

    /// The statement writing `value` at `under` + `key` (known at run time) +
    /// `value_path`, merged with what is there.
    pub(super) fn set_under(
        &self,
        under: &[Seg],
        key: TokenStream,
        value_path: &[Seg],
        value: TokenStream,
    ) -> TokenStream {
        let value_path = path_text(value_path);
        let section = self.sections.iter().position(|s| s.path == under);
        match section.filter(|_| !self.fallback) {
            Some(section) => {
                let var = &self.sections[section].var;
                quote! { json::insert_at(&mut #var, #key, #value_path, #value); }
            }
            None => {
                let under = path_text(under);
                quote! { json::set_dynamic(&mut body, #under, #key, #value_path, #value); }
            }
        }
    }

    /// The section variables, declared before the writes.
    pub(super) fn declarations(&self) -> TokenStream {
        if self.fallback {
            return quote! { let mut body = Value::Object(Map::new()); };
        }
        let vars = self.sections.iter().map(|s| &s.var);
        quote! { #(let mut #vars = Map::new();)* }
    }

    /// The statements nesting each section in its parent, innermost first, and the
    /// body as a value.
    pub(super) fn assembly(&self) -> TokenStream {
        if self.fallback {
            return quote! { body };
        }
        let nests = self.sections[1..].iter().rev().map(|s| {
            let (child, parent, key) = (&s.var, &self.sections[s.parent].var, &s.key);
            if s.first {
                quote! { json::nest_first(&mut #parent, #key, #child); }
            } else {
                quote! { json::nest(&mut #parent, #key, #child); }
            }
        });
        quote! {
            #(#nests)*
            Value::Object(body)
        }
    }
}

/// A leaf path as (its section's path, its key, wrapped in a one-element array).
fn split_leaf(path: &[Seg]) -> Option<(&[Seg], String, bool)> {
    match path {
        [parent @ .., Seg::Key(key)] => Some((parent, key.clone(), false)),
        [parent @ .., Seg::Key(key), Seg::Index(0)] => Some((parent, key.clone(), true)),
        _ => None,
    }
}

/// `firstName` / `job-title` → `first_name` / `job_title`, usable as a variable.
fn snake_identifier(key: &str) -> String {
    let mut out = String::new();
    for (index, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if index > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit())
        || crate::naming::is_keyword(&out)
    {
        format!("section_{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<Seg> {
        crate::parse::path::parse(text).expect("a valid path")
    }

    fn text(tokens: TokenStream) -> String {
        tokens.to_string()
    }

    #[test]
    fn sections_follow_the_paths() {
        let leaves = [
            path("data.values.name[0].first_name"),
            path("data.values.name[0].last_name"),
            path("data.values.company[0]"),
        ];
        let plan = BodyPlan::new(&leaves, &[path("data.values")]);
        assert!(!plan.fallback);
        assert_eq!(
            text(plan.declarations()),
            "let mut body = Map :: new () ; let mut data = Map :: new () ; let mut values = Map :: new () ; let mut name = Map :: new () ;"
        );
        assert_eq!(
            text(plan.set(&leaves[0], quote! { v })),
            "name . insert (\"first_name\" . into () , v) ;"
        );
        assert_eq!(
            text(plan.set(&leaves[2], quote! { v })),
            "values . insert (\"company\" . into () , json :: array ([v])) ;"
        );
        assert_eq!(
            text(plan.assembly()),
            "json :: nest_first (& mut values , \"name\" , name) ; json :: nest (& mut data , \"values\" , values) ; json :: nest (& mut body , \"data\" , data) ; Value :: Object (body)"
        );
    }

    #[test]
    fn unplannable_paths_fall_back_to_set() {
        let leaves = [path("lines[1].amount")];
        let plan = BodyPlan::new(&leaves, &[]);
        assert!(plan.fallback);
        assert_eq!(
            text(plan.set(&leaves[0], quote! { v })),
            "json :: set (& mut body , \"lines[1].amount\" , v) ;"
        );
    }

    #[test]
    fn a_value_and_a_section_at_one_key_fall_back() {
        let plan = BodyPlan::new(&[path("a.b"), path("a")], &[]);
        assert!(plan.fallback);
    }

    #[test]
    fn variables_do_not_collide() {
        let plan = BodyPlan::new(&[path("properties.value.x"), path("data.value.y")], &[]);
        let names: Vec<String> = plan.sections.iter().map(|s| s.var.to_string()).collect();
        assert_eq!(
            names,
            [
                "body",
                "properties",
                "properties_value",
                "data",
                "data_value"
            ]
        );
    }
}
