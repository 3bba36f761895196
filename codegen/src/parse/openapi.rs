//! The subset of an OpenAPI 3.0 / 3.1 document the generator checks mappings against:
//! operations by `operationId`, their parameters, JSON request bodies and success
//! responses, and the schemas they reach through `$ref`.
//!
//! The document is read as a spanned YAML tree (JSON is YAML), so a broken `$ref` is
//! reported at its line like any mapping problem. 3.1's `type: [string, "null"]` and
//! 3.0's `nullable` both read as the non-null type.

use crate::parse::reader::Reader;
use crate::parse::yaml::{Node, Value};

#[derive(Clone, Debug)]
pub struct Operation {
    pub id: String,
    pub method: String,
    pub path: String,
    pub parameters: Vec<Parameter>,
    pub request: Option<Node>,
    /// The schema of the lowest 2xx response with a JSON body, if any.
    pub response: Option<Node>,
    pub success_status: Option<u16>,
    pub node: Node,
}

#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub location: String,
    pub required: bool,
}

#[derive(Clone, Debug)]
pub struct OpenApi {
    pub root: Node,
    pub operations: Vec<Operation>,
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

impl OpenApi {
    pub fn read(reader: &mut Reader, root: Node) -> OpenApi {
        let mut operations = Vec::new();
        match root.get("openapi").and_then(Node::as_str) {
            Some(version) if version.starts_with("3.") => {}
            _ => {
                reader.error(&root, "not an OpenAPI 3.x document").help = Some(
                    "the document needs `openapi: 3.0.3` or `openapi: 3.1.0` at the top".into(),
                );
            }
        }
        let empty = Node {
            value: Value::Map(Vec::new()),
            loc: root.loc,
        };
        let paths = root.get("paths").unwrap_or(&empty);
        for (path_node, item) in paths.entries() {
            let Some(path) = path_node.as_str() else {
                continue;
            };
            let shared = item
                .get("parameters")
                .map(|p| p.items().to_vec())
                .unwrap_or_default();
            for (method_node, op) in item.entries() {
                let Some(method) = method_node.as_str() else {
                    continue;
                };
                if !METHODS.contains(&method) {
                    continue;
                }
                let Some((id, _)) = reader.required_string(
                    op,
                    "operationId",
                    &format!("the operationId of `{} {path}`", method.to_uppercase()),
                ) else {
                    continue;
                };
                let mut parameters = Vec::new();
                for parameter in shared
                    .iter()
                    .chain(op.get("parameters").map(Node::items).unwrap_or(&[]))
                {
                    let parameter = resolve(reader, &root, parameter);
                    let (Some(name), Some(location)) = (
                        parameter.get("name").and_then(Node::as_str),
                        parameter.get("in").and_then(Node::as_str),
                    ) else {
                        continue;
                    };
                    parameters.push(Parameter {
                        name: name.to_string(),
                        location: location.to_string(),
                        required: matches!(
                            parameter.get("required").map(|n| &n.value),
                            Some(Value::Bool(true))
                        ),
                    });
                }
                let request = op
                    .get("requestBody")
                    .map(|body| resolve(reader, &root, body))
                    .and_then(|body| json_schema(&body));
                let mut success = None;
                for (code, response) in op.get("responses").map(Node::entries).unwrap_or(&[]) {
                    let status = match &code.value {
                        Value::Int(n) => *n as u16,
                        Value::Str(text) => text.parse().unwrap_or(0),
                        _ => 0,
                    };
                    if (200..300).contains(&status)
                        && success.as_ref().is_none_or(|(s, _)| status < *s)
                    {
                        let response = resolve(reader, &root, response);
                        success = Some((status, json_schema(&response)));
                    }
                }
                operations.push(Operation {
                    id,
                    method: method.to_string(),
                    path: path.to_string(),
                    parameters,
                    request,
                    success_status: success.as_ref().map(|(status, _)| *status),
                    response: success.and_then(|(_, schema)| schema),
                    node: op.clone(),
                });
            }
        }
        OpenApi { root, operations }
    }

    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }
}

fn json_schema(holder: &Node) -> Option<Node> {
    let content = holder.get("content")?;
    content
        .entries()
        .iter()
        .find(|(media, _)| media.as_str().is_some_and(|m| m.contains("json")))
        .and_then(|(_, media)| media.get("schema"))
        .cloned()
}

/// Follows `$ref` chains inside the same document (`#/components/...`).
pub fn resolve(reader: &mut Reader, root: &Node, node: &Node) -> Node {
    let mut current = node.clone();
    for _ in 0..32 {
        let Some(reference) = current.get("$ref") else {
            return current;
        };
        let Some(target) = reference.as_str() else {
            return current;
        };
        let Some(pointer) = target.strip_prefix("#/") else {
            reader.error(
                reference,
                format!("only local references are supported, found `{target}`"),
            );
            return current;
        };
        let mut found = Some(root);
        for part in pointer.split('/') {
            let part = part.replace("~1", "/").replace("~0", "~");
            found = found.and_then(|n| n.get(&part));
        }
        match found {
            Some(next) => current = next.clone(),
            None => {
                reader.error(
                    reference,
                    format!("`$ref` points at `{target}`, which does not exist"),
                );
                return current;
            }
        }
    }
    current
}

/// A schema's own JSON type, ignoring `null` in 3.1 type lists.
pub fn schema_type(schema: &Node) -> Option<String> {
    match schema.get("type").map(|n| &n.value) {
        Some(Value::Str(ty)) => Some(ty.clone()),
        Some(Value::Seq(types)) => types
            .iter()
            .filter_map(Node::as_str)
            .find(|ty| *ty != "null")
            .map(str::to_string),
        _ => {
            // 3.1's `const` fixes the value, and with it the type.
            if let Some(constant) = schema.get("const") {
                return match constant.value {
                    Value::Str(_) => Some("string".into()),
                    Value::Int(_) => Some("integer".into()),
                    Value::Float(_) => Some("number".into()),
                    Value::Bool(_) => Some("boolean".into()),
                    Value::Seq(_) => Some("array".into()),
                    Value::Map(_) => Some("object".into()),
                    Value::Null => None,
                };
            }
            if schema.get("properties").is_some() {
                Some("object".into())
            } else if schema.get("items").is_some() {
                Some("array".into())
            } else {
                None
            }
        }
    }
}

/// The property schemas of an object schema, merging `allOf`, `oneOf` and `anyOf`
/// branches (a property exists if any branch declares it).
pub fn properties(reader: &mut Reader, root: &Node, schema: &Node) -> Vec<(String, Node)> {
    let schema = resolve(reader, root, schema);
    let mut out: Vec<(String, Node)> = Vec::new();
    for (name, property) in schema.get("properties").map(Node::entries).unwrap_or(&[]) {
        if let Some(name) = name.as_str() {
            out.push((name.to_string(), property.clone()));
        }
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for branch in schema.get(combinator).map(Node::items).unwrap_or(&[]) {
            for (name, property) in properties(reader, root, branch) {
                if !out.iter().any(|(existing, _)| *existing == name) {
                    out.push((name, property));
                }
            }
        }
    }
    out
}

/// Names listed as `required` by an object schema (and its `allOf` parts).
pub fn required(reader: &mut Reader, root: &Node, schema: &Node) -> Vec<String> {
    let schema = resolve(reader, root, schema);
    let mut out: Vec<String> = schema
        .get("required")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::as_str)
        .map(str::to_string)
        .collect();
    for branch in schema.get("allOf").map(Node::items).unwrap_or(&[]) {
        out.extend(required(reader, root, branch));
    }
    out
}

/// The schema `additionalProperties` allows, when it is a schema.
pub fn additional(reader: &mut Reader, root: &Node, schema: &Node) -> Option<Node> {
    let schema = resolve(reader, root, schema);
    match schema.get("additionalProperties") {
        Some(node) if matches!(node.value, Value::Map(_)) => Some(resolve(reader, root, node)),
        _ => None,
    }
}

pub fn items(reader: &mut Reader, root: &Node, schema: &Node) -> Option<Node> {
    let schema = resolve(reader, root, schema);
    schema
        .get("items")
        .map(|items| resolve(reader, root, items))
}
