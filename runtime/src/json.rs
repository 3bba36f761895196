//! Addressing into provider JSON.
//!
//! Generated code names places in a provider's JSON the way mapping files spell them,
//! `values.name[0].first_name` (`$` for the whole record): the code generator has
//! already checked each path against the provider's OpenAPI document, so these
//! functions only walk it. Runtime tables (`ProviderSpec`) hold the same paths as
//! `&[Seg]` constants.

pub use serde_json::Map;
use serde_json::Value;

/// One step of a JSON path: an object key or an array index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(&'static str),
    Index(usize),
}

/// A step of a path being walked (borrowing its key from the path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A path into JSON: a `&[Seg]` table, or the text a mapping file spells
/// (`properties.firstname`, `values.name[0].first_name`, `$`).
pub trait Path {
    /// The path's steps, in order.
    fn steps(&self) -> impl Iterator<Item = Step<'_>>;
}

impl Path for [Seg] {
    fn steps(&self) -> impl Iterator<Item = Step<'_>> {
        self.iter().map(|seg| match seg {
            Seg::Key(key) => Step::Key(key),
            Seg::Index(index) => Step::Index(*index),
        })
    }
}

impl<const N: usize> Path for [Seg; N] {
    fn steps(&self) -> impl Iterator<Item = Step<'_>> {
        self.as_slice().steps()
    }
}

impl<P: Path + ?Sized> Path for &P {
    fn steps(&self) -> impl Iterator<Item = Step<'_>> {
        (**self).steps()
    }
}

impl Path for str {
    fn steps(&self) -> impl Iterator<Item = Step<'_>> {
        TextSteps {
            rest: if self == "$" { "" } else { self },
        }
    }
}

/// The steps of a textual path: keys separated by `.`, indexes in `[n]`. The text was
/// checked when the code was generated; a malformed index reads as a key that no JSON
/// object has, so a walk simply finds nothing.
struct TextSteps<'a> {
    rest: &'a str,
}

impl<'a> Iterator for TextSteps<'a> {
    type Item = Step<'a>;

    fn next(&mut self) -> Option<Step<'a>> {
        let rest = self.rest.strip_prefix('.').unwrap_or(self.rest);
        if rest.is_empty() {
            return None;
        }
        if let Some(inside) = rest.strip_prefix('[') {
            let close = inside.find(']').unwrap_or(inside.len());
            self.rest = inside.get(close + 1..).unwrap_or("");
            return Some(match inside[..close].parse() {
                Ok(index) => Step::Index(index),
                Err(_) => Step::Key(&inside[..close]),
            });
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        self.rest = &rest[end..];
        Some(Step::Key(&rest[..end]))
    }
}

/// Renders a path the way mapping files spell it, for error messages.
pub fn display<P: Path + ?Sized>(path: &P) -> String {
    let mut out = String::new();
    for step in path.steps() {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// The value at `path`, if every step exists. JSON `null` counts as absent.
pub fn get<'a, P: Path + ?Sized>(value: &'a Value, path: &P) -> Option<&'a Value> {
    get_raw(value, path).filter(|found| !found.is_null())
}

/// The value at `path` even when it is JSON `null` (to tell "null" from "absent").
pub fn get_raw<'a, P: Path + ?Sized>(value: &'a Value, path: &P) -> Option<&'a Value> {
    let mut current = value;
    for step in path.steps() {
        current = match (step, current) {
            (Step::Key(key), Value::Object(map)) => map.get(key)?,
            (Step::Index(index), Value::Array(items)) => items.get(index)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Writes `new` at `path`, creating the objects and arrays on the way. An array index
/// past the end pads with empty objects, so `name[0].first_name` and
/// `name[0].last_name` land in the same element.
pub fn set<P: Path + ?Sized>(target: &mut Value, path: &P, new: Value) {
    let mut steps = path.steps().peekable();
    let mut current = target;
    while let Some(step) = steps.next() {
        let Some(next) = steps.peek() else {
            return write_last(current, step, new);
        };
        let next_is_index = matches!(next, Step::Index(_));
        let empty = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        current = match step {
            Step::Key(key) => object_of(current)
                .entry(key.to_string())
                .or_insert_with(empty),
            Step::Index(index) => slot(current, index, empty),
        };
    }
    *current = new;
}

fn write_last(current: &mut Value, step: Step<'_>, new: Value) {
    match step {
        Step::Key(key) => {
            object_of(current).insert(key.to_string(), new);
        }
        Step::Index(index) => *slot(current, index, || Value::Null) = new,
    }
}

/// `current` as an object, replacing whatever else it was.
fn object_of(current: &mut Value) -> &mut Map<String, Value> {
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    match current {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
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

fn mismatch<P: Path + ?Sized>(path: &P, expected: &'static str, found: &Value) -> ReadError {
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
pub fn read_string<P: Path + ?Sized>(
    record: &Value,
    path: &P,
) -> Result<Option<String>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
        Some(other) => Err(mismatch(path, "a string", other)),
    }
}

/// Reads a string that must be present (e.g. the record id).
pub fn require_string<P: Path + ?Sized>(record: &Value, path: &P) -> Result<String, ReadError> {
    read_string(record, path)?.ok_or_else(|| ReadError {
        path: display(path),
        expected: "a string",
        found: "nothing".to_string(),
    })
}

/// Reads an optional integer, from a JSON number or a numeric string.
pub fn read_integer<P: Path + ?Sized>(record: &Value, path: &P) -> Result<Option<i64>, ReadError> {
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
pub fn read_number<P: Path + ?Sized>(record: &Value, path: &P) -> Result<Option<f64>, ReadError> {
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
pub fn read_boolean<P: Path + ?Sized>(record: &Value, path: &P) -> Result<Option<bool>, ReadError> {
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
pub fn read_datetime<P: Path + ?Sized>(
    record: &Value,
    path: &P,
) -> Result<Option<crate::DateTime>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(value) => crate::transform::parse_datetime(value)
            .map(Some)
            .ok_or_else(|| mismatch(path, "a date-time", value)),
    }
}

/// Reads an optional calendar date (`YYYY-MM-DD`, or the date part of a date-time).
pub fn read_date<P: Path + ?Sized>(
    record: &Value,
    path: &P,
) -> Result<Option<crate::Date>, ReadError> {
    match get(record, path) {
        None => Ok(None),
        Some(value) => crate::transform::parse_date(value)
            .map(Some)
            .ok_or_else(|| mismatch(path, "a date", value)),
    }
}

/// The array at `path` (absent or null reads as empty).
pub fn read_array<'a, P: Path + ?Sized>(
    record: &'a Value,
    path: &P,
) -> Result<&'a [Value], ReadError> {
    match get(record, path) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(mismatch(path, "an array", other)),
    }
}

/// The raw JSON at `path`, or `null`.
pub fn read_json<P: Path + ?Sized>(record: &Value, path: &P) -> Value {
    get(record, path).cloned().unwrap_or(Value::Null)
}

/// Turns an absent value into a read error naming the path.
pub fn required<T, P: Path + ?Sized>(value: Option<T>, path: &P) -> Result<T, ReadError> {
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
pub fn set_dynamic<U: Path + ?Sized, V: Path + ?Sized>(
    target: &mut Value,
    under: &U,
    key: &str,
    value_path: &V,
    value: Value,
) {
    let mut holder = Value::Null;
    set(&mut holder, value_path, value);
    if let Some(map) = object_at(target, under) {
        merge(map.entry(key.to_string()).or_insert(Value::Null), holder);
    }
}

/// The value at `under` + `key` + `value_path`, if present.
pub fn get_dynamic<'a, U: Path + ?Sized, V: Path + ?Sized>(
    record: &'a Value,
    under: &U,
    key: &str,
    value_path: &V,
) -> Option<&'a Value> {
    let parent = get(record, under)?;
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
fn object_at<'a, P: Path + ?Sized>(
    target: &'a mut Value,
    path: &P,
) -> Option<&'a mut Map<String, Value>> {
    let mut current = target;
    for step in path.steps() {
        current = match step {
            Step::Key(key) => object_of(current)
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new())),
            Step::Index(index) => current.as_array_mut()?.get_mut(index)?,
        };
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    current.as_object_mut()
}

/// Inserts the object `child` under `key` unless it is empty: a section of a request
/// body none of whose fields is set is left out, as the provider's own clients do.
pub fn nest(parent: &mut Map<String, Value>, key: &str, child: Map<String, Value>) {
    if !child.is_empty() {
        parent.insert(key.to_string(), Value::Object(child));
    }
}

/// Like [`nest`], with the object as the one element of an array (Attio's
/// `values.name: [{first_name, last_name}]`).
pub fn nest_first(parent: &mut Map<String, Value>, key: &str, child: Map<String, Value>) {
    if !child.is_empty() {
        parent.insert(key.to_string(), Value::Array(vec![Value::Object(child)]));
    }
}

/// Writes `value` at `key` + `value_path` inside `parent`, merging with what is there:
/// a field whose name only the connection knows (a custom field).
pub fn insert_at<P: Path + ?Sized>(
    parent: &mut Map<String, Value>,
    key: &str,
    value_path: &P,
    value: Value,
) {
    let mut holder = Value::Null;
    set(&mut holder, value_path, value);
    merge(parent.entry(key.to_string()).or_insert(Value::Null), holder);
}

/// A unified list or JSON field as the provider takes it.
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// An array of values, as a mapping's template spells it.
pub fn array<const N: usize>(items: [Value; N]) -> Value {
    Value::Array(Vec::from(items))
}

/// An object of constant keys, as a mapping's template spells it.
pub fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
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
    fn textual_paths_walk_like_tables() {
        let record = json!({"values": {"name": [{"first_name": "Ada"}]}, "id": {"n": 1}});
        assert_eq!(
            read_string(&record, "values.name[0].first_name"),
            read_string(&record, NAME_FIRST)
        );
        assert_eq!(get(&record, "$"), Some(&record));
        assert_eq!(get(&record, "id.n"), Some(&json!(1)));
        assert_eq!(get(&record, "values.name[1].first_name"), None);
        assert_eq!(get(&record, "values.name[x]"), None);
        assert_eq!(
            display("values.name[0].first_name"),
            "values.name[0].first_name"
        );
        let mut body = Value::Null;
        set(&mut body, "values.name[0].first_name", json!("Ada"));
        set(&mut body, "values.name[0].last_name", json!("Lovelace"));
        assert_eq!(
            body,
            json!({"values": {"name": [{"first_name": "Ada", "last_name": "Lovelace"}]}})
        );
    }

    #[test]
    fn sections_are_nested_only_when_set() {
        let mut body = Map::new();
        nest(&mut body, "properties", Map::new());
        assert!(body.is_empty());
        let mut name = Map::new();
        name.insert("first_name".into(), json!("Ada"));
        nest_first(&mut body, "name", name);
        insert_at(&mut body, "tier", "[0].value", json!("gold"));
        insert_at(&mut body, "plain", "$", json!(1));
        assert_eq!(
            Value::Object(body),
            json!({"name": [{"first_name": "Ada"}], "tier": [{"value": "gold"}], "plain": 1})
        );
        assert_eq!(object([("a", json!(1))]), json!({"a": 1}));
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
