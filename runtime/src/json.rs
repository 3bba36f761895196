//! Addressing into provider JSON with paths computed at build time.
//!
//! A mapping path such as `data.values.name[0].first_name` is parsed and checked by the
//! code generator, which emits it as a `&[Seg]` constant; these functions only walk it.

pub use serde_json::Map;
use serde_json::Value;

/// One step of a JSON path: an object key or an array index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(&'static str),
    Index(usize),
}

/// Renders a path the way mapping files spell it, for error messages.
pub fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// The value at `path`, if every step exists. JSON `null` counts as absent.
pub fn get<'a>(value: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut current = value;
    for seg in path {
        current = match (seg, current) {
            (Seg::Key(key), Value::Object(map)) => map.get(*key)?,
            (Seg::Index(index), Value::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    if current.is_null() {
        None
    } else {
        Some(current)
    }
}

/// The value at `path` even when it is JSON `null` (to tell "null" from "absent").
pub fn get_raw<'a>(value: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut current = value;
    for seg in path {
        current = match (seg, current) {
            (Seg::Key(key), Value::Object(map)) => map.get(*key)?,
            (Seg::Index(index), Value::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Writes `new` at `path`, creating the objects and arrays on the way. An array index
/// past the end pads with empty objects, so `name[0].first_name` and
/// `name[0].last_name` land in the same element.
pub fn set(target: &mut Value, path: &[Seg], new: Value) {
    let Some((last, parents)) = path.split_last() else {
        *target = new;
        return;
    };
    let mut current = target;
    for (position, seg) in parents.iter().enumerate() {
        let next_is_index = matches!(path.get(position + 1), Some(Seg::Index(_)));
        let empty = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        current = match seg {
            Seg::Key(key) => {
                if !current.is_object() {
                    *current = Value::Object(Map::new());
                }
                let Value::Object(map) = current else {
                    unreachable!("just made an object")
                };
                map.entry(key.to_string()).or_insert_with(empty)
            }
            Seg::Index(index) => slot(current, *index, empty),
        };
    }
    match last {
        Seg::Key(key) => {
            if !current.is_object() {
                *current = Value::Object(Map::new());
            }
            if let Value::Object(map) = current {
                map.insert(key.to_string(), new);
            }
        }
        Seg::Index(index) => {
            *slot(current, *index, || Value::Null) = new;
        }
    }
}

fn slot(current: &mut Value, index: usize, empty: impl Fn() -> Value) -> &mut Value {
    if !current.is_array() {
        *current = Value::Array(Vec::new());
    }
    let Value::Array(items) = current else {
        unreachable!("just made an array")
    };
    while items.len() <= index {
        items.push(empty());
    }
    &mut items[index]
}

/// Why a provider response could not be read into a unified model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub path: String,
    pub expected: &'static str,
    pub found: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "expected {} at `{}`, found {}",
            self.expected, self.path, self.found
        )
    }
}

fn mismatch(path: &[Seg], expected: &'static str, found: &Value) -> ReadError {
    let mut found = found.to_string();
    if found.len() > 80 {
        let mut cut = 77;
        while !found.is_char_boundary(cut) {
            cut -= 1;
        }
        found.truncate(cut);
        found.push_str("...");
    }
    ReadError {
        path: display(path),
        expected,
        found,
    }
}

/// Reads an optional string. Numbers and booleans are accepted and rendered, because
/// some providers (HubSpot) store every property as a string and others do not.
pub fn read_string(record: &Value, path: &[Seg]) -> Result<Option<String>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
        Some(other) => Err(mismatch(path, "a string", other)),
    }
}

/// Reads a string that must be present (e.g. the record id).
pub fn require_string(record: &Value, path: &[Seg]) -> Result<String, ReadError> {
    read_string(record, path)?.ok_or_else(|| ReadError {
        path: display(path),
        expected: "a string",
        found: "nothing".to_string(),
    })
}

/// Reads an optional integer, from a JSON number or a numeric string.
pub fn read_integer(record: &Value, path: &[Seg]) -> Result<Option<i64>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                // Whole numbers written as floats (`12.0`), but only those that fit:
                // `1e30` is a mismatch, not `i64::MAX`.
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| mismatch(path, "an integer", &Value::Number(number.clone()))),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| mismatch(path, "an integer", &Value::String(text.clone()))),
        Some(other) => Err(mismatch(path, "an integer", other)),
    }
}

/// Reads an optional number, from a JSON number or a numeric string.
pub fn read_number(record: &Value, path: &[Seg]) -> Result<Option<f64>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_f64()),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => text
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| mismatch(path, "a number", &Value::String(text.clone()))),
        Some(other) => Err(mismatch(path, "a number", other)),
    }
}

/// Reads an optional boolean, from a JSON boolean or the strings `true`/`false`.
pub fn read_boolean(record: &Value, path: &[Seg]) -> Result<Option<bool>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => match text.as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(mismatch(path, "a boolean", &Value::String(text.clone()))),
        },
        Some(other) => Err(mismatch(path, "a boolean", other)),
    }
}

/// Reads an optional instant from an ISO-8601 string (with `Z`, `+00:00` or
/// Salesforce's `+0000`), or from epoch milliseconds (number or numeric string).
pub fn read_datetime(record: &Value, path: &[Seg]) -> Result<Option<crate::DateTime>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(value) => crate::transform::parse_datetime(value)
            .map(Some)
            .ok_or_else(|| mismatch(path, "a date-time", value)),
    }
}

/// Reads an optional calendar date (`YYYY-MM-DD`, or the date part of a date-time).
pub fn read_date(record: &Value, path: &[Seg]) -> Result<Option<crate::Date>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(value) => crate::transform::parse_date(value)
            .map(Some)
            .ok_or_else(|| mismatch(path, "a date", value)),
    }
}

/// The array at `path` (absent or null reads as empty).
pub fn read_array<'a>(record: &'a Value, path: &[Seg]) -> Result<&'a [Value], ReadError> {
    match get(record, path) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(mismatch(path, "an array", other)),
    }
}

/// The raw JSON at `path`, or `null`.
pub fn read_json(record: &Value, path: &[Seg]) -> Value {
    get(record, path).cloned().unwrap_or(Value::Null)
}

/// Turns an absent value into a read error naming the path.
pub fn required<T>(value: Option<T>, path: &[Seg]) -> Result<T, ReadError> {
    value.ok_or_else(|| ReadError {
        path: display(path),
        expected: "a value",
        found: "nothing".to_string(),
    })
}

/// Percent-encodes one path segment (a record id), leaving RFC 3986 unreserved
/// characters as they are, so an id can never change which endpoint is called.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Writes `value` at `under` + `key` + `value_path`, where `key` is only known at run
/// time (a custom field named by the connection).
pub fn set_dynamic(target: &mut Value, under: &[Seg], key: &str, value_path: &[Seg], value: Value) {
    let mut holder = Value::Null;
    set(&mut holder, value_path, value);
    if let Some(map) = object_at(target, under) {
        merge(map.entry(key.to_string()).or_insert(Value::Null), holder);
    }
}

/// The value at `under` + `key` + `value_path`, if present.
pub fn get_dynamic<'a>(
    record: &'a Value,
    under: &[Seg],
    key: &str,
    value_path: &[Seg],
) -> Option<&'a Value> {
    let parent = if under.is_empty() {
        Some(record)
    } else {
        get(record, under)
    }?;
    let slot = parent.as_object()?.get(key)?;
    get(slot, value_path)
}

/// Merges the keys of `extra` into `target` (objects recursively; anything else
/// replaces), for provider-specific fields passed through unmapped.
pub fn merge(target: &mut Value, extra: Value) {
    match (target, extra) {
        (Value::Object(existing), Value::Object(extra)) => {
            for (key, value) in extra {
                merge(existing.entry(key).or_insert(Value::Null), value);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The object at `path`, created (with its parents) when missing.
fn object_at<'a>(target: &'a mut Value, path: &[Seg]) -> Option<&'a mut Map<String, Value>> {
    let mut current = target;
    for seg in path {
        if let Seg::Key(_) = seg
            && !current.is_object()
        {
            *current = Value::Object(Map::new());
        }
        current = match seg {
            Seg::Key(key) => current
                .as_object_mut()?
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new())),
            Seg::Index(index) => current.as_array_mut()?.get_mut(*index)?,
        };
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    current.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAME_FIRST: &[Seg] = &[
        Seg::Key("values"),
        Seg::Key("name"),
        Seg::Index(0),
        Seg::Key("first_name"),
    ];
    const NAME_LAST: &[Seg] = &[
        Seg::Key("values"),
        Seg::Key("name"),
        Seg::Index(0),
        Seg::Key("last_name"),
    ];

    #[test]
    fn set_builds_nested_arrays_and_shares_elements() {
        let mut body = Value::Null;
        set(&mut body, NAME_FIRST, json!("Ada"));
        set(&mut body, NAME_LAST, json!("Lovelace"));
        assert_eq!(
            body,
            json!({"values": {"name": [{"first_name": "Ada", "last_name": "Lovelace"}]}})
        );
        assert_eq!(display(NAME_FIRST), "values.name[0].first_name");
    }

    #[test]
    fn reads_report_the_path_and_what_was_found() {
        let record = json!({"values": {"name": [{"first_name": 7}]}});
        assert_eq!(read_string(&record, NAME_FIRST), Ok(Some("7".into())));
        let record = json!({"values": {"name": [{"first_name": {"x": 1}}]}});
        let problem = read_string(&record, NAME_FIRST).unwrap_err();
        assert_eq!(
            problem.to_string(),
            "expected a string at `values.name[0].first_name`, found {\"x\":1}"
        );
        assert_eq!(read_string(&record, NAME_LAST), Ok(None));
    }

    #[test]
    fn dynamic_keys_under_a_prefix() {
        let mut body = json!({"properties": {"email": "a@b.co"}});
        set_dynamic(
            &mut body,
            &[Seg::Key("properties")],
            "tier",
            &[],
            json!("gold"),
        );
        assert_eq!(
            body,
            json!({"properties": {"email": "a@b.co", "tier": "gold"}})
        );
        let mut attio = json!({"data": {"values": {}}});
        let under = [Seg::Key("data"), Seg::Key("values")];
        set_dynamic(
            &mut attio,
            &under,
            "tier",
            &[Seg::Index(0), Seg::Key("value")],
            json!("gold"),
        );
        assert_eq!(
            attio,
            json!({"data": {"values": {"tier": [{"value": "gold"}]}}})
        );
        assert_eq!(
            get_dynamic(&attio, &under, "tier", &[Seg::Index(0), Seg::Key("value")]),
            Some(&json!("gold"))
        );
        assert_eq!(get_dynamic(&attio, &under, "other", &[]), None);
    }

    #[test]
    fn numbers_read_from_strings() {
        let record = json!({"amount": "1500.50", "count": "12", "bad": "x"});
        assert_eq!(
            read_number(&record, &[Seg::Key("amount")]),
            Ok(Some(1500.5))
        );
        assert_eq!(read_integer(&record, &[Seg::Key("count")]), Ok(Some(12)));
        assert!(read_integer(&record, &[Seg::Key("bad")]).is_err());
    }
}
