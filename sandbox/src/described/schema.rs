//! Request bodies checked against the operation's schema from the provider's OpenAPI
//! document (3.0 or 3.1): types (with `nullable` and 3.1 type lists), `required`,
//! `enum`, `const`, `format: email`, lengths, bounds, `additionalProperties: false`
//! and the `allOf` / `anyOf` / `oneOf` combinators. What the vendor's document says a
//! body must be is what the emulator refuses, so a client cannot pass by sending
//! anything.

use serde_json::Value;

/// The first thing wrong with a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Where, as `email[0].value` (empty for the body itself).
    pub path: String,
    pub reason: String,
    /// A required property is missing (vendors answer this one differently).
    pub missing: bool,
}

/// Checks `value` against `schema`; `document` resolves `$ref`s.
pub(crate) fn check(document: &Value, schema: &Value, value: &Value) -> Option<Problem> {
    walk(document, schema, value, "", 0)
}

/// Recursive schemas are walked this deep at most.
const MAX_DEPTH: usize = 64;

fn resolve<'a>(document: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        match target
            .strip_prefix('#')
            .and_then(|pointer| document.pointer(pointer))
        {
            Some(next) => schema = next,
            // The generator reports broken references; here they constrain nothing.
            None => return &Value::Bool(true),
        }
    }
    schema
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn invalid(path: &str, reason: impl Into<String>) -> Option<Problem> {
    Some(Problem {
        path: path.to_string(),
        reason: reason.into(),
        missing: false,
    })
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "string" => value.is_string(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn described(ty: &str) -> String {
    match ty {
        "integer" | "object" | "array" => format!("must be an {ty}"),
        "null" => "must be null".into(),
        other => format!("must be a {other}"),
    }
}

fn walk(
    document: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    depth: usize,
) -> Option<Problem> {
    if depth > MAX_DEPTH {
        return None;
    }
    let schema = resolve(document, schema);
    let Some(rules) = schema.as_object() else {
        return match schema {
            Value::Bool(false) => invalid(path, "is not allowed"),
            _ => None,
        };
    };
    for branch in rules
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(problem) = walk(document, branch, value, path, depth + 1) {
            return Some(problem);
        }
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(branches) = rules.get(combinator).and_then(Value::as_array) {
            let failures: Vec<Problem> = branches
                .iter()
                .filter_map(|branch| walk(document, branch, value, path, depth + 1))
                .collect();
            if failures.len() == branches.len()
                && let Some(first) = failures.into_iter().next()
            {
                return Some(first);
            }
        }
    }
    let nullable = rules.get("nullable") == Some(&Value::Bool(true));
    if value.is_null() && nullable {
        return None;
    }
    match rules.get("type") {
        Some(Value::String(ty)) if !type_matches(ty, value) => {
            return invalid(path, described(ty));
        }
        Some(Value::Array(types)) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            if !names.iter().any(|ty| type_matches(ty, value)) {
                let wanted: Vec<&str> = names.iter().copied().filter(|t| *t != "null").collect();
                let reason = match wanted.as_slice() {
                    [one] => described(one),
                    _ => format!("must be one of the types {}", wanted.join(", ")),
                };
                return invalid(path, reason);
            }
        }
        _ => {}
    }
    if let Some(allowed) = rules.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
        && !(value.is_null() && nullable)
    {
        let shown: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return invalid(path, format!("must be one of {}", shown.join(", ")));
    }
    if let Some(constant) = rules.get("const")
        && constant != value
    {
        return invalid(path, format!("must be {constant}"));
    }
    match value {
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(max) = rules.get("maxLength").and_then(Value::as_u64)
                && length > max
            {
                return invalid(path, format!("must be at most {max} characters long"));
            }
            if let Some(min) = rules.get("minLength").and_then(Value::as_u64)
                && length < min
            {
                return invalid(path, format!("must be at least {min} characters long"));
            }
            if rules.get("format").and_then(Value::as_str) == Some("email")
                && !crate::util::is_email(text)
            {
                return invalid(path, "is not a valid email address");
            }
        }
        Value::Number(number) => {
            let n = number.as_f64().unwrap_or(0.0);
            if let Some(min) = rules.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                return invalid(path, format!("must be at least {min}"));
            }
            if let Some(max) = rules.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                return invalid(path, format!("must be at most {max}"));
            }
        }
        Value::Array(items) => {
            if let Some(max) = rules.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                return invalid(path, format!("must have at most {max} items"));
            }
            if let Some(item_schema) = rules.get("items") {
                for (index, item) in items.iter().enumerate() {
                    let here = format!("{path}[{index}]");
                    if let Some(problem) = walk(document, item_schema, item, &here, depth + 1) {
                        return Some(problem);
                    }
                }
            }
        }
        Value::Object(fields) => {
            for name in rules
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = name.as_str()
                    && !fields.contains_key(name)
                {
                    return Some(Problem {
                        path: join(path, name),
                        reason: "is required".into(),
                        missing: true,
                    });
                }
            }
            let properties = rules.get("properties").and_then(Value::as_object);
            for (key, field) in fields {
                let here = join(path, key);
                match properties.and_then(|p| p.get(key)) {
                    Some(field_schema) => {
                        if let Some(problem) = walk(document, field_schema, field, &here, depth + 1)
                        {
                            return Some(problem);
                        }
                    }
                    None => match rules.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            return invalid(&here, "is not a known field");
                        }
                        Some(extra @ Value::Object(_)) => {
                            if let Some(problem) = walk(document, extra, field, &here, depth + 1) {
                                return Some(problem);
                            }
                        }
                        _ => {}
                    },
                }
            }
        }
        _ => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "components": {"schemas": {
                "Email": {
                    "type": "object",
                    "required": ["value"],
                    "properties": {
                        "value": {"type": "string", "format": "email"},
                        "primary": {"type": "boolean"},
                        "label": {"type": "string", "enum": ["work", "home", "other"]}
                    }
                },
                "Person": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": false,
                    "properties": {
                        "name": {"type": "string", "maxLength": 5},
                        "org_id": {"type": ["integer", "null"]},
                        "email": {"type": "array", "items": {"$ref": "#/components/schemas/Email"}},
                        "amount": {"type": "integer", "minimum": 0}
                    }
                }
            }}
        })
    }

    fn problem(body: Value) -> Option<(String, String, bool)> {
        let doc = document();
        let schema = json!({"$ref": "#/components/schemas/Person"});
        check(&doc, &schema, &body).map(|p| (p.path, p.reason, p.missing))
    }

    #[test]
    fn accepts_what_the_schema_allows() {
        assert_eq!(problem(json!({"name": "Ada"})), None);
        assert_eq!(
            problem(
                json!({"name": "Ada", "org_id": null, "amount": 1250.0, "email": [{"value": "a@b.co", "label": "work"}]})
            ),
            None
        );
    }

    #[test]
    fn refuses_what_it_does_not() {
        assert_eq!(
            problem(json!({})),
            Some(("name".into(), "is required".into(), true))
        );
        assert_eq!(
            problem(json!({"name": 5})),
            Some(("name".into(), "must be a string".into(), false))
        );
        assert_eq!(
            problem(json!({"name": "Adalbert"})),
            Some((
                "name".into(),
                "must be at most 5 characters long".into(),
                false
            ))
        );
        assert_eq!(
            problem(json!({"name": "Ada", "org_id": "acme"})),
            Some(("org_id".into(), "must be an integer".into(), false))
        );
        assert_eq!(
            problem(json!({"name": "Ada", "email": [{"value": "nope"}]})),
            Some((
                "email[0].value".into(),
                "is not a valid email address".into(),
                false
            ))
        );
        assert_eq!(
            problem(json!({"name": "Ada", "email": [{"label": "work"}]})),
            Some(("email[0].value".into(), "is required".into(), true))
        );
        assert_eq!(
            problem(json!({"name": "Ada", "email": [{"value": "a@b.co", "label": "fax"}]})),
            Some((
                "email[0].label".into(),
                "must be one of \"work\", \"home\", \"other\"".into(),
                false
            ))
        );
        assert_eq!(
            problem(json!({"name": "Ada", "nickname": "A"})),
            Some(("nickname".into(), "is not a known field".into(), false))
        );
        assert_eq!(
            problem(json!({"name": "Ada", "amount": -1})),
            Some(("amount".into(), "must be at least 0".into(), false))
        );
    }
}
