//! Unified models and their shared types, read from `unified-models/*.yaml`.
//!
//! ```yaml
//! models:
//!   Contact:
//!     description: A person ...
//!     fields:
//!       remote_id: { type: string, read_only: true, required: true }
//!       email_addresses: { type: list<EmailAddress> }
//! types:
//!   EmailAddress:
//!     fields:
//!       email_address: { type: string, format: email, required: true }
//!   EmailAddressType:
//!     enum: [work, personal]
//! ```

use crate::diagnostics::{did_you_mean, one_of};
use crate::ir::{Field, FieldType, ModelSet, TypeDef, TypeKind};
use crate::naming::{is_field_name, is_type_name};
use crate::parse::reader::Reader;
use crate::parse::yaml::Node;

const FIELD_KEYS: &[&str] = &[
    "type",
    "description",
    "required",
    "read_only",
    "write_only",
    "format",
    "max_length",
    "sensitive",
];
const FORMATS: &[&str] = &["email", "uri", "phone"];

/// Reads one models file into `set`.
pub fn read(reader: &mut Reader, root: &Node, set: &mut ModelSet) {
    if !reader.keys(
        root,
        &["models", "types", "composites"],
        "a unified-models file",
    ) {
        return;
    }
    for (section, is_model) in [("models", true), ("types", false)] {
        let Some(section_node) = root.get(section) else {
            continue;
        };
        if !matches!(section_node.value, crate::parse::yaml::Value::Map(_)) {
            reader.error(
                section_node,
                format!("`{section}` must map type names to definitions"),
            );
            continue;
        }
        for (name_node, body) in section_node.entries() {
            let Some(name) = reader.string(name_node, "a type name") else {
                continue;
            };
            if !is_type_name(&name) {
                reader
                    .error(name_node, format!("`{name}` is not a valid type name"))
                    .help = Some("type names are UpperCamelCase, e.g. `Contact`".into());
                continue;
            }
            if set.get(&name).is_some() {
                reader.error(name_node, format!("type `{name}` is defined twice"));
                continue;
            }
            if let Some(def) = read_type(reader, &name, body, is_model) {
                set.types.push(def);
            }
        }
    }
}

fn read_type(reader: &mut Reader, name: &str, body: &Node, is_model: bool) -> Option<TypeDef> {
    if !reader.keys(
        body,
        &["description", "fields", "enum"],
        &format!("type `{name}`"),
    ) {
        return None;
    }
    let description = reader
        .optional_string(body, "description", "a description")
        .map(|(d, _)| d);
    let kind = match (body.get("fields"), body.get("enum")) {
        (Some(fields), None) => TypeKind::Object(read_fields(reader, name, fields)),
        (None, Some(values)) if !is_model => {
            let mut known = Vec::new();
            for value in values.items() {
                if let Some(text) = reader.string(value, "an enum value") {
                    known.push(text);
                }
            }
            if values.items().is_empty() {
                reader.error(values, "`enum` must be a non-empty list of values");
            }
            // Two values that become the same Rust variant would not compile.
            for (position, value) in values.items().iter().enumerate() {
                let Some(text) = value.as_str() else { continue };
                let variant = crate::naming::variant_name(text);
                if let Some(earlier) = values.items()[..position]
                    .iter()
                    .filter_map(Node::as_str)
                    .find(|other| crate::naming::variant_name(other) == variant)
                {
                    reader
                        .error(
                            value,
                            format!(
                                "`{text}` and `{earlier}` would both be the variant `{variant}`"
                            ),
                        )
                        .help =
                        Some("enum values must differ by more than case and punctuation".into());
                }
            }
            TypeKind::Enum(known)
        }
        _ => {
            let want = if is_model {
                "`fields:`"
            } else {
                "either `fields:` or `enum:`"
            };
            reader.error(body, format!("type `{name}` needs {want}"));
            return None;
        }
    };
    Some(TypeDef {
        name: name.to_string(),
        description,
        kind,
        is_model,
        node: body.clone(),
    })
}

fn read_fields(reader: &mut Reader, owner: &str, fields: &Node) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    for (name_node, body) in fields.entries() {
        let Some(name) = reader.string(name_node, "a field name") else {
            continue;
        };
        if !is_field_name(&name) {
            reader
                .error(name_node, format!("`{name}` is not a valid field name"))
                .help = Some("field names are snake_case, e.g. `first_name`".into());
            continue;
        }
        if !reader.keys(body, FIELD_KEYS, &format!("field `{owner}.{name}`")) {
            continue;
        }
        let Some((type_text, type_node)) =
            reader.required_string(body, "type", &format!("the type of `{owner}.{name}`"))
        else {
            continue;
        };
        let Some(ty) = parse_type(&type_text) else {
            reader
                .error(type_node, format!("`{type_text}` is not a type"))
                .help = Some("use string, integer, number, boolean, datetime, date, json, a type name, or list<...>".into());
            continue;
        };
        let format =
            reader
                .optional_string(body, "format", "a format")
                .and_then(|(format, node)| {
                    if FORMATS.contains(&format.as_str()) {
                        Some(format)
                    } else {
                        reader
                            .error(&node.clone(), format!("unknown format `{format}`"))
                            .help =
                            Some(format!("formats are {}", one_of(FORMATS.iter().copied())));
                        None
                    }
                });
        let max_length = body.get("max_length").and_then(|node| match node.value {
            crate::parse::yaml::Value::Int(n) if n > 0 => Some(n as usize),
            _ => {
                reader.error(node, "`max_length` must be a positive integer");
                None
            }
        });
        let field = Field {
            name,
            ty,
            description: reader
                .optional_string(body, "description", "a description")
                .map(|(d, _)| d),
            required: reader.boolean(body, "required"),
            read_only: reader.boolean(body, "read_only"),
            write_only: reader.boolean(body, "write_only"),
            format,
            max_length,
            sensitive: reader.boolean(body, "sensitive"),
            node: name_node.clone(),
        };
        if field.read_only && field.write_only {
            reader.error(
                name_node,
                format!(
                    "field `{owner}.{}` cannot be both read_only and write_only",
                    field.name
                ),
            );
        }
        out.push(field);
    }
    out
}

/// Checks that every named type a field uses exists; runs once all files are read.
pub fn check_references(reader: &mut Reader, set: &ModelSet) {
    for def in &set.types {
        for field in def.fields() {
            let mut ty = &field.ty;
            while let FieldType::List(item) = ty {
                ty = item;
            }
            if let FieldType::Named(name) = ty
                && set.get(name).is_none()
            {
                let names = set.types.iter().map(|t| t.name.as_str());
                let help = match did_you_mean(name, names.clone()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("defined types are {}", one_of(names)),
                };
                let type_node = field.node.clone();
                reader
                    .error(
                        &type_node,
                        format!(
                            "field `{}.{}` uses unknown type `{name}`",
                            def.name, field.name
                        ),
                    )
                    .help = Some(help);
            }
        }
    }
}

fn parse_type(text: &str) -> Option<FieldType> {
    let text = text.trim();
    if let Some(inner) = text
        .strip_prefix("list<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        return parse_type(inner).map(|item| FieldType::List(Box::new(item)));
    }
    Some(match text {
        "string" => FieldType::String,
        "integer" => FieldType::Integer,
        "number" => FieldType::Number,
        "boolean" => FieldType::Boolean,
        "datetime" => FieldType::DateTime,
        "date" => FieldType::Date,
        "json" => FieldType::Json,
        name if is_type_name(name) => FieldType::Named(name.to_string()),
        _ => return None,
    })
}
