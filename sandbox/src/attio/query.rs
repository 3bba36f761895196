//! `POST /v2/objects/{object}/records/query`: filter (shorthand and verbose forms), sorts,
//! `limit` (default 500) and `offset`. There is no cursor or total: the last page is the
//! one shorter than `limit`.

use std::cmp::Ordering;

use super::*;

/// Default page size of a records query.
const DEFAULT_LIMIT: usize = 500;

fn filter_error() -> Reply {
    invalid("filter_error", "Error in filter.")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotEmpty,
}

const OPS: [(&str, Op); 10] = [
    ("$eq", Op::Eq),
    ("$contains", Op::Contains),
    ("$starts_with", Op::StartsWith),
    ("$ends_with", Op::EndsWith),
    ("$lt", Op::Lt),
    ("$lte", Op::Lte),
    ("$gt", Op::Gt),
    ("$gte", Op::Gte),
    ("$in", Op::In),
    ("$not_empty", Op::NotEmpty),
];

/// A comparable scalar: text lower-cased (Attio's comparisons ignore case), numbers, times.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
    Time(DateTime<Utc>),
}

impl Scalar {
    fn from_json(value: &Value) -> Option<Scalar> {
        match value {
            Value::String(s) => Some(Scalar::Text(s.to_lowercase())),
            Value::Number(n) => n.as_f64().map(Scalar::Number),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            _ => None,
        }
    }

    fn order(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Text(a), Scalar::Text(b)) => Some(a.cmp(b)),
            (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(b),
            (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
            (Scalar::Time(a), Scalar::Time(b)) => Some(a.cmp(b)),
            // A numeric attribute compared with a numeric string.
            (Scalar::Number(a), Scalar::Text(b)) => a.partial_cmp(&b.parse::<f64>().ok()?),
            _ => None,
        }
    }
}

/// The field of a value object a filter or sort reads when none is named.
fn main_field(kind: Kind) -> &'static str {
    match kind {
        Kind::PersonalName => "full_name",
        Kind::Email => "email_address",
        Kind::Phone => "phone_number",
        Kind::Text => "value",
        Kind::Domain => "domain",
        Kind::Status => "status",
        Kind::Currency => "currency_value",
        Kind::ActorReference => "referenced_actor_id",
        Kind::RecordReference(_) => "target_record_id",
        Kind::Number | Kind::Checkbox => "value",
    }
}

/// A value object's field as a scalar (`status` reads its title).
fn field_scalar(value: &Value, field: &str) -> Option<Scalar> {
    let raw = value.get(field)?;
    match raw {
        Value::Object(status) if field == "status" => {
            status.get("title").and_then(Scalar::from_json)
        }
        other => Scalar::from_json(other),
    }
}

enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    /// A condition on the values of one attribute: true when any value satisfies it.
    Attribute {
        attribute: &'static Attribute,
        field: String,
        op: Op,
        operands: Vec<Scalar>,
    },
    CreatedAt {
        op: Op,
        at: DateTime<Utc>,
    },
}

fn compare(op: Op, actual: &Scalar, operand: &Scalar) -> bool {
    let text = |s: &Scalar| match s {
        Scalar::Text(t) => Some(t.clone()),
        Scalar::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match op {
        Op::Eq | Op::In => actual.order(operand) == Some(Ordering::Equal),
        Op::Lt => actual.order(operand) == Some(Ordering::Less),
        Op::Lte => matches!(
            actual.order(operand),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Op::Gt => actual.order(operand) == Some(Ordering::Greater),
        Op::Gte => matches!(
            actual.order(operand),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::Contains | Op::StartsWith | Op::EndsWith => {
            let (Some(a), Some(b)) = (text(actual), text(operand)) else {
                return false;
            };
            match op {
                Op::Contains => a.contains(&b),
                Op::StartsWith => a.starts_with(&b),
                _ => a.ends_with(&b),
            }
        }
        Op::NotEmpty => true,
    }
}

impl Filter {
    fn matches(&self, record: &StoredRecord) -> bool {
        match self {
            Filter::All(all) => all.iter().all(|f| f.matches(record)),
            Filter::Any(any) => any.iter().any(|f| f.matches(record)),
            Filter::Not(inner) => !inner.matches(record),
            Filter::CreatedAt { op, at } => {
                compare(*op, &Scalar::Time(record.created_at), &Scalar::Time(*at))
            }
            Filter::Attribute {
                attribute,
                field,
                op,
                operands,
            } => {
                let values = record
                    .fields
                    .get(attribute.slug)
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                if *op == Op::NotEmpty {
                    let wanted = operands.first() != Some(&Scalar::Bool(false));
                    return values.is_empty() != wanted;
                }
                values.iter().any(|value| {
                    field_scalar(value, field)
                        .is_some_and(|actual| operands.iter().any(|o| compare(*op, &actual, o)))
                })
            }
        }
    }
}

/// Operand(s) of an operator: a scalar, or a list for `$in`.
fn operands(op: Op, raw: &Value) -> Result<Vec<Scalar>, Reply> {
    match (op, raw) {
        (Op::In, Value::Array(items)) => items
            .iter()
            .map(|v| Scalar::from_json(v).ok_or_else(filter_error))
            .collect(),
        (Op::In, _) => Err(filter_error()),
        (Op::NotEmpty, Value::Bool(b)) => Ok(vec![Scalar::Bool(*b)]),
        (Op::NotEmpty, _) => Err(filter_error()),
        (_, raw) => Scalar::from_json(raw)
            .map(|s| vec![s])
            .ok_or_else(filter_error),
    }
}

/// `{"$op": operand, …}` (several operators are ANDed) or a bare shorthand value.
fn conditions(
    attribute: &'static Attribute,
    field: &str,
    raw: &Value,
) -> Result<Vec<Filter>, Reply> {
    let make = |op: Op, operands: Vec<Scalar>| Filter::Attribute {
        attribute,
        field: field.to_owned(),
        op,
        operands,
    };
    match raw {
        Value::Object(map) if map.keys().all(|k| k.starts_with('$')) && !map.is_empty() => map
            .iter()
            .map(|(key, operand)| {
                let op = OPS
                    .iter()
                    .find(|(name, _)| name == key)
                    .map(|(_, op)| *op)
                    .ok_or_else(filter_error)?;
                Ok(make(op, operands(op, operand)?))
            })
            .collect(),
        Value::Object(_) | Value::Array(_) | Value::Null => Err(filter_error()),
        shorthand => Ok(vec![make(Op::Eq, operands(Op::Eq, shorthand)?)]),
    }
}

/// One attribute's filter: shorthand, operators on the main field, or `{field: …}` paths.
fn attribute_filter(attribute: &'static Attribute, raw: &Value) -> Result<Filter, Reply> {
    let main = main_field(attribute.kind);
    let mut parts = Vec::new();
    match raw {
        Value::Object(map) if map.keys().any(|k| !k.starts_with('$')) => {
            for (key, value) in map {
                if key.starts_with('$') {
                    return Err(filter_error());
                }
                parts.extend(conditions(attribute, key, value)?);
            }
        }
        other => parts.extend(conditions(attribute, main, other)?),
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Filter::All(parts)
    })
}

/// A datetime operand for `created_at`.
fn created_at_filter(raw: &Value) -> Result<Filter, Reply> {
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(filter_error)
    };
    let parts: Vec<Filter> = match raw {
        Value::Object(map) if !map.is_empty() => map
            .iter()
            .map(|(key, value)| {
                let op = OPS
                    .iter()
                    .find(|(name, _)| name == key)
                    .map(|(_, op)| *op)
                    .filter(|op| matches!(op, Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte))
                    .ok_or_else(filter_error)?;
                Ok(Filter::CreatedAt {
                    op,
                    at: parse(value)?,
                })
            })
            .collect::<Result<_, Reply>>()?,
        other => vec![Filter::CreatedAt {
            op: Op::Eq,
            at: parse(other)?,
        }],
    };
    Ok(Filter::All(parts))
}

/// Parses a filter object: `$and`/`$or`/`$not` plus attribute keys (ANDed).
fn parse_filter(
    object: &Object,
    custom: &[&'static Attribute],
    raw: &Value,
) -> Result<Filter, Reply> {
    let Value::Object(map) = raw else {
        return Err(filter_error());
    };
    let mut parts = Vec::new();
    for (key, value) in map {
        let part = match key.as_str() {
            "$and" | "$or" => {
                let items = value.as_array().ok_or_else(filter_error)?;
                let filters = items
                    .iter()
                    .map(|item| parse_filter(object, custom, item))
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "$and" {
                    Filter::All(filters)
                } else {
                    Filter::Any(filters)
                }
            }
            "$not" => Filter::Not(Box::new(parse_filter(object, custom, value)?)),
            "created_at" => created_at_filter(value)?,
            slug => {
                let attribute = attributes::find(object, custom, slug).ok_or_else(filter_error)?;
                attribute_filter(attribute, value)?
            }
        };
        parts.push(part);
    }
    Ok(Filter::All(parts))
}

/// What a sort orders by.
enum SortKey {
    CreatedAt,
    /// An attribute of the queried object, or the last step of a `path` through
    /// record-reference attributes: each step but the last is a reference followed to the
    /// record it points at (its first value).
    Path(Vec<&'static Attribute>, String),
}

struct Sort {
    key: SortKey,
    descending: bool,
}

/// A sort that names something the workspace does not have. The document lists only
/// `filter_error` for a query's 400 about its content (as opposed to its shape), so the
/// sandbox answers with that code; the message is the sandbox's own.
fn sort_error(detail: &str) -> Reply {
    invalid("filter_error", &format!("Error in sort: {detail}"))
}

/// `path: [[object, attribute], …]`: starts at `object`, each step but the last a
/// record-reference attribute whose target is the next step's object.
fn parse_sort_path(object: &Object, raw: &Value) -> Result<Vec<&'static Attribute>, Reply> {
    let shape = || {
        invalid(
            "validation_type",
            "Body payload validation error: a sort path is a list of [object, attribute] pairs.",
        )
    };
    let steps = raw
        .as_array()
        .filter(|steps| !steps.is_empty())
        .ok_or_else(shape)?;
    let mut expected = object.slug;
    let mut attributes = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let pair = step.as_array().filter(|p| p.len() == 2).ok_or_else(shape)?;
        let (Some(object_key), Some(attribute_key)) = (pair[0].as_str(), pair[1].as_str()) else {
            return Err(shape());
        };
        let step_object = super::object(object_key)
            .filter(|o| o.slug == expected)
            .ok_or_else(|| {
                sort_error(&format!(
                    "path step {index} is not on object \"{expected}\"."
                ))
            })?;
        let attribute = step_object.attribute(attribute_key).ok_or_else(|| {
            sort_error(&format!(
                "cannot find attribute with slug/ID \"{attribute_key}\"."
            ))
        })?;
        if index + 1 < steps.len() {
            let Kind::RecordReference(target) = attribute.kind else {
                return Err(sort_error(&format!(
                    "attribute \"{}\" is not a record reference.",
                    attribute.slug
                )));
            };
            expected = target;
        }
        attributes.push(attribute);
    }
    Ok(attributes)
}

fn parse_sorts(
    object: &Object,
    custom: &[&'static Attribute],
    raw: Option<&Value>,
) -> Result<Vec<Sort>, Reply> {
    let bad = |detail: &str| {
        invalid(
            "validation_type",
            &format!("Body payload validation error: {detail}"),
        )
    };
    let items = match raw {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad("sorts must be an array.")),
    };
    items
        .iter()
        .map(|item| {
            let descending = match item.get("direction").and_then(Value::as_str) {
                Some("asc") => false,
                Some("desc") => true,
                _ => return Err(bad("sort direction must be \"asc\" or \"desc\".")),
            };
            let attributes = match (item.get("attribute"), item.get("path")) {
                (Some(Value::String(slug)), None) if slug == "created_at" => {
                    return Ok(Sort {
                        key: SortKey::CreatedAt,
                        descending,
                    });
                }
                (Some(Value::String(slug)), None) => {
                    vec![attributes::find(object, custom, slug).ok_or_else(|| {
                        sort_error(&format!("cannot find attribute with slug/ID \"{slug}\"."))
                    })?]
                }
                (None, Some(path)) => parse_sort_path(object, path)?,
                _ => return Err(bad("a sort names either an attribute or a path.")),
            };
            let last = attributes[attributes.len() - 1];
            let field = match item.get("field") {
                None | Some(Value::Null) => main_field(last.kind).to_owned(),
                Some(Value::String(field)) => field.clone(),
                Some(_) => return Err(bad("sort field must be a string.")),
            };
            Ok(Sort {
                key: SortKey::Path(attributes, field),
                descending,
            })
        })
        .collect()
}

/// A record's sort key: the first value of the (last) attribute, or its creation time.
fn sort_value(store: &Store, record: &StoredRecord, key: &SortKey) -> Option<Scalar> {
    let (path, field) = match key {
        SortKey::CreatedAt => return Some(Scalar::Time(record.created_at)),
        SortKey::Path(path, field) => (path, field),
    };
    fn first<'a>(record: &'a StoredRecord, attribute: &Attribute) -> Option<&'a Value> {
        record
            .fields
            .get(attribute.slug)
            .and_then(Value::as_array)
            .and_then(|values| values.first())
    }
    let (last, steps) = path.split_last()?;
    let mut current = record;
    for step in steps {
        let Kind::RecordReference(target) = step.kind else {
            return None;
        };
        let value = first(current, step)?;
        let id = value.get("target_record_id").and_then(Value::as_str)?;
        current = store.get(target, id)?;
    }
    first(current, last).and_then(|v| field_scalar(v, field))
}

/// A non-negative integer body field.
fn count_field(body: &Value, key: &str) -> Result<Option<usize>, Reply> {
    match body.get(key) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    "validation_type",
                    &format!(
                        "Body payload validation error: {key} must be a non-negative integer."
                    ),
                )
            }),
    }
}

/// `POST /v2/objects/{object}/records/query`
pub(super) async fn query(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path(key)) = path else {
        return Attio::unknown_path();
    };
    let object = match path_object(&key) {
        Ok(object) => object,
        Err(response) => return response,
    };
    // The document marks the body required and Attio validates every body against its
    // schema before reading it, so no body at all is refused like any other body that does
    // not fit (`validation_type`); `{}` is the query for everything.
    let body = match parse_json(&body) {
        Ok(body @ Value::Object(_)) => body,
        Ok(_) => return invalid("validation_type", "Body payload validation error."),
        Err(e) => {
            return invalid(
                "validation_type",
                &format!(
                    "Body payload validation error: invalid JSON ({} at line {} column {}).",
                    e.reason, e.line, e.column
                ),
            );
        }
    };
    let custom = state.with_store(|store| attributes::custom(store, object));
    let parsed = (|| {
        // `null` is not an absent member: Attio's schema types each one (no `null`).
        let filter = match body.get("filter") {
            None => None,
            Some(raw) => Some(parse_filter(object, &custom, raw)?),
        };
        let sorts = parse_sorts(object, &custom, body.get("sorts"))?;
        let limit = count_field(&body, "limit")?.unwrap_or(DEFAULT_LIMIT);
        let offset = count_field(&body, "offset")?.unwrap_or(0);
        Ok::<_, Reply>((filter, sorts, limit, offset))
    })();
    let (filter, sorts, limit, offset) = match parsed {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    state.with_store(|store| {
        let matched = store
            .all(object.slug)
            .iter()
            .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)));
        let ordered: Vec<&StoredRecord> = if sorts.is_empty() {
            matched.collect()
        } else {
            let mut keyed: Vec<(Vec<Option<Scalar>>, &StoredRecord)> = matched
                .map(|r| {
                    (
                        sorts.iter().map(|s| sort_value(store, r, &s.key)).collect(),
                        r,
                    )
                })
                .collect();
            keyed.sort_by(|(a, _), (b, _)| {
                sorts
                    .iter()
                    .zip(a.iter().zip(b))
                    .map(|(sort, (x, y))| {
                        let ordering = match (x, y) {
                            (None, None) => Ordering::Equal,
                            (None, Some(_)) => Ordering::Greater,
                            (Some(_), None) => Ordering::Less,
                            (Some(x), Some(y)) => x.order(y).unwrap_or(Ordering::Equal),
                        };
                        if sort.descending && x.is_some() && y.is_some() {
                            ordering.reverse()
                        } else {
                            ordering
                        }
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
            keyed.into_iter().map(|(_, r)| r).collect()
        };
        let data: Vec<Value> = ordered
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|r| render(object, &custom, r))
            .collect();
        reply(StatusCode::OK, json!({ "data": data }))
    })
}
