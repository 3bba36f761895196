//! `POST /crm/v3/objects/{objectType}/search`: filter groups, sorts, free-text `query`,
//! `properties`, and offset paging capped at HubSpot's 10,000 results.

use std::cmp::Ordering;

use super::*;

/// Largest `limit` of a search request.
const SEARCH_LIMIT_MAX: usize = 200;
/// HubSpot serves at most this many results per query; paging beyond it is a 400.
const SEARCH_RESULTS_MAX: usize = 10_000;
/// Current documented caps on filter groups, filters per group and filters overall.
const MAX_GROUPS: usize = 5;
const MAX_FILTERS_PER_GROUP: usize = 6;
const MAX_FILTERS: usize = 18;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

const OPERATORS: [(&str, Operator); 13] = [
    ("EQ", Operator::Eq),
    ("NEQ", Operator::Neq),
    ("LT", Operator::Lt),
    ("LTE", Operator::Lte),
    ("GT", Operator::Gt),
    ("GTE", Operator::Gte),
    ("BETWEEN", Operator::Between),
    ("IN", Operator::In),
    ("NOT_IN", Operator::NotIn),
    ("HAS_PROPERTY", Operator::HasProperty),
    ("NOT_HAS_PROPERTY", Operator::NotHasProperty),
    ("CONTAINS_TOKEN", Operator::ContainsToken),
    ("NOT_CONTAINS_TOKEN", Operator::NotContainsToken),
];

/// How a property's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Domain {
    /// Instants: ISO or epoch-ms inputs compare as points in time.
    Time,
    /// Numbers when both sides parse, else text.
    Number,
    Text,
}

/// Which stored value a filter or sort reads.
#[derive(Debug, Clone)]
enum Source {
    Created,
    Modified,
    Id,
    Field(String),
}

/// A filter or sort operand, parsed once per request rather than once per record.
#[derive(Debug, Clone)]
struct Operand {
    lower: String,
    number: Option<f64>,
    time: Option<DateTime<Utc>>,
}

impl Operand {
    /// Parses only what `domain` compares, since search runs over every stored record.
    fn new(text: &str, domain: Domain) -> Operand {
        let time = match domain {
            Domain::Time => parse_datetime(text.trim()),
            _ => None,
        };
        let number = match domain {
            Domain::Number => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            _ => None,
        };
        Operand {
            lower: text.to_lowercase(),
            number,
            time,
        }
    }

    fn at(time: DateTime<Utc>) -> Operand {
        Operand {
            lower: String::new(),
            number: None,
            time: Some(time),
        }
    }
}

struct Filter {
    source: Source,
    domain: Domain,
    operator: Operator,
    values: Vec<Operand>,
}

struct Sort {
    source: Source,
    domain: Domain,
    descending: bool,
}

/// A record's value of `source`, as an operand (`None` when unset).
fn value_of(record: &StoredRecord, source: &Source, domain: Domain) -> Option<Operand> {
    match source {
        Source::Created => Some(Operand::at(record.created_at)),
        Source::Modified => Some(Operand::at(record.updated_at)),
        Source::Id => Some(Operand::new(&record.id, domain)),
        Source::Field(name) => record
            .fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(|v| Operand::new(v, domain)),
    }
}

/// Orders a stored value against an operand in the property's domain.
fn compare(domain: Domain, stored: &Operand, given: &Operand) -> Option<Ordering> {
    match domain {
        Domain::Time => Some(stored.time?.cmp(&given.time?)),
        Domain::Number => match (stored.number, given.number) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => Some(stored.lower.cmp(&given.lower)),
        },
        Domain::Text => Some(stored.lower.cmp(&given.lower)),
    }
}

fn equals(domain: Domain, stored: &Operand, given: &Operand) -> bool {
    compare(domain, stored, given) == Some(Ordering::Equal)
}

/// Whether `token` (optionally ending in `*` for a prefix) is one of the value's words.
fn has_token(stored: &Operand, token: &Operand) -> bool {
    let (needle, prefix) = match token.lower.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (token.lower.as_str(), false),
    };
    stored
        .lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| {
            if prefix {
                word.starts_with(needle)
            } else {
                word == needle
            }
        })
}

impl Filter {
    fn matches(&self, record: &StoredRecord) -> bool {
        let stored = value_of(record, &self.source, self.domain);
        let Some(stored) = stored else {
            return matches!(
                self.operator,
                Operator::Neq
                    | Operator::NotIn
                    | Operator::NotHasProperty
                    | Operator::NotContainsToken
            );
        };
        let first = self.values.first();
        let ordering = || first.and_then(|v| compare(self.domain, &stored, v));
        match self.operator {
            Operator::HasProperty => true,
            Operator::NotHasProperty => false,
            Operator::Eq => first.is_some_and(|v| equals(self.domain, &stored, v)),
            Operator::Neq => !first.is_some_and(|v| equals(self.domain, &stored, v)),
            Operator::Lt => ordering() == Some(Ordering::Less),
            Operator::Lte => matches!(ordering(), Some(Ordering::Less | Ordering::Equal)),
            Operator::Gt => ordering() == Some(Ordering::Greater),
            Operator::Gte => matches!(ordering(), Some(Ordering::Greater | Ordering::Equal)),
            Operator::Between => match self.values.as_slice() {
                [low, high] => {
                    matches!(
                        compare(self.domain, &stored, low),
                        Some(Ordering::Greater | Ordering::Equal)
                    ) && matches!(
                        compare(self.domain, &stored, high),
                        Some(Ordering::Less | Ordering::Equal)
                    )
                }
                _ => false,
            },
            Operator::In => self.values.iter().any(|v| equals(self.domain, &stored, v)),
            Operator::NotIn => !self.values.iter().any(|v| equals(self.domain, &stored, v)),
            Operator::ContainsToken => first.is_some_and(|v| has_token(&stored, v)),
            Operator::NotContainsToken => !first.is_some_and(|v| has_token(&stored, v)),
        }
    }
}

/// Resolves a property name for filtering or sorting; unknown names are a 400.
fn resolve(ty: &ObjectType, custom: &[Value], name: &str) -> Result<(Source, Domain), Reply> {
    let resolved = match name {
        "createdate" => (Source::Created, Domain::Time),
        n if ObjectType::is_modified(n) => (Source::Modified, Domain::Time),
        "hs_object_id" => (Source::Id, Domain::Number),
        n => {
            let property = properties::find(ty, custom, n).ok_or_else(|| {
                validation_error(format!(
                    "There was a problem with the request: property \"{n}\" does not exist on {}.",
                    ty.name
                ))
            })?;
            let domain = match property {
                PropertyRef::Builtin(Property {
                    kind: Kind::DateTime,
                    ..
                }) => Domain::Time,
                PropertyRef::Builtin(Property {
                    kind: Kind::Number, ..
                }) => Domain::Number,
                PropertyRef::Custom(definition) => match properties::custom_type(definition) {
                    "date" | "datetime" => Domain::Time,
                    "number" => Domain::Number,
                    _ => Domain::Text,
                },
                PropertyRef::Builtin(_) => Domain::Text,
            };
            (Source::Field(n.to_owned()), domain)
        }
    };
    Ok(resolved)
}

/// A filter value as the string HubSpot's binder makes of it.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_filter(ty: &ObjectType, custom: &[Value], raw: &Value) -> Result<Filter, Reply> {
    let name = raw.get("propertyName").and_then(Value::as_str);
    let operator = raw.get("operator").and_then(Value::as_str);
    let (Some(name), Some(operator_name)) = (name, operator) else {
        return Err(invalid_input(
            "Cannot build Filter, some of required attributes are not set [propertyName, operator]",
        ));
    };
    let operator = OPERATORS
        .iter()
        .find(|(n, _)| *n == operator_name)
        .map(|(_, op)| *op)
        .ok_or_else(|| {
            let names: Vec<&str> = OPERATORS.iter().map(|(n, _)| *n).collect();
            invalid_input(&format!(
                "Cannot deserialize value of type `FilterOperatorEnum` from String \"{operator_name}\": not one of the values accepted for Enum class: [{}]",
                names.join(", ")
            ))
        })?;
    let (source, domain) = resolve(ty, custom, name)?;
    let needs = |key: &str| {
        validation_error(format!(
            "There was a problem with the request: operator {operator_name} on property \"{name}\" requires `{key}`."
        ))
    };
    let single = |key: &str| raw.get(key).and_then(scalar).ok_or_else(|| needs(key));
    let values: Vec<String> = match operator {
        Operator::HasProperty | Operator::NotHasProperty => Vec::new(),
        Operator::In | Operator::NotIn => raw
            .get("values")
            .and_then(Value::as_array)
            .filter(|v| !v.is_empty())
            .and_then(|v| v.iter().map(scalar).collect::<Option<Vec<_>>>())
            .ok_or_else(|| needs("values"))?,
        Operator::Between => vec![single("value")?, single("highValue")?],
        _ => vec![single("value")?],
    };
    let textual = matches!(
        operator,
        Operator::ContainsToken | Operator::NotContainsToken
    );
    if domain == Domain::Time
        && !textual
        && let Some(bad) = values.iter().find(|v| parse_datetime(v.trim()).is_none())
    {
        return Err(validation_error(format!(
            "There was a problem with the request: {bad} is not a valid date or timestamp for property \"{name}\"."
        )));
    }
    Ok(Filter {
        source,
        domain,
        operator,
        values: values.iter().map(|v| Operand::new(v, domain)).collect(),
    })
}

/// Filter groups: a list of `{filters: [...]}`, ANDed inside, ORed across.
fn parse_groups(
    ty: &ObjectType,
    custom: &[Value],
    raw: Option<&Value>,
) -> Result<Vec<Vec<Filter>>, Reply> {
    let groups = match raw {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(groups)) => groups,
        Some(_) => {
            return Err(invalid_input(
                "Cannot deserialize value of type `java.util.ArrayList<FilterGroup>` from non-array value",
            ));
        }
    };
    if groups.len() > MAX_GROUPS {
        return Err(validation_error(format!(
            "There was a problem with the request: at most {MAX_GROUPS} filterGroups are allowed, got {}.",
            groups.len()
        )));
    }
    let mut parsed = Vec::new();
    let mut total = 0;
    for group in groups {
        let filters = match group.get("filters") {
            Some(Value::Array(filters)) => filters,
            None | Some(Value::Null) => {
                return Err(invalid_input(
                    "Cannot build FilterGroup, some of required attributes are not set [filters]",
                ));
            }
            Some(_) => {
                return Err(invalid_input(
                    "Cannot deserialize value of type `java.util.ArrayList<Filter>` from non-array value",
                ));
            }
        };
        if filters.len() > MAX_FILTERS_PER_GROUP {
            return Err(validation_error(format!(
                "There was a problem with the request: at most {MAX_FILTERS_PER_GROUP} filters are allowed per filterGroup, got {}.",
                filters.len()
            )));
        }
        total += filters.len();
        parsed.push(
            filters
                .iter()
                .map(|f| parse_filter(ty, custom, f))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    if total > MAX_FILTERS {
        return Err(validation_error(format!(
            "There was a problem with the request: at most {MAX_FILTERS} filters are allowed in total, got {total}."
        )));
    }
    Ok(parsed)
}

/// Sorts as `["-createdate"]` strings or `[{"propertyName", "direction"}]` objects.
fn parse_sorts(ty: &ObjectType, custom: &[Value], raw: Option<&Value>) -> Result<Vec<Sort>, Reply> {
    let items = match raw {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(invalid_input(
                "Cannot deserialize value of type `java.util.ArrayList<java.lang.String>` from non-array value",
            ));
        }
    };
    let mut sorts = Vec::new();
    for item in items {
        let (name, descending) = match item {
            Value::String(s) => match s.strip_prefix('-') {
                Some(name) => (name, true),
                None => (s.as_str(), false),
            },
            Value::Object(map) => {
                let name = map
                    .get("propertyName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        invalid_input(
                            "Cannot build Sort, some of required attributes are not set [propertyName]",
                        )
                    })?;
                let descending = match map.get("direction").and_then(Value::as_str) {
                    None | Some("ASCENDING") => false,
                    Some("DESCENDING") => true,
                    Some(other) => {
                        return Err(invalid_input(&format!(
                            "Cannot deserialize value of type `Direction` from String \"{other}\": not one of the values accepted for Enum class: [ASCENDING, DESCENDING]"
                        )));
                    }
                };
                (name, descending)
            }
            _ => {
                return Err(invalid_input(
                    "Cannot deserialize value of type `java.lang.String` from non-string value",
                ));
            }
        };
        let (source, domain) = resolve(ty, custom, name)?;
        sorts.push(Sort {
            source,
            domain,
            descending,
        });
    }
    Ok(sorts)
}

/// Orders two values for a sort; unset values sort last either way.
fn sort_order(sort: &Sort, a: Option<&Operand>, b: Option<&Operand>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let ordering = compare(sort.domain, x, y).unwrap_or(Ordering::Equal);
            if sort.descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    }
}

/// Sorts records stably by `sorts`, computing each record's keys once.
fn sort_records<'a>(records: Vec<&'a StoredRecord>, sorts: &[Sort]) -> Vec<&'a StoredRecord> {
    let mut keyed: Vec<(Vec<Option<Operand>>, &StoredRecord)> = records
        .into_iter()
        .map(|r| {
            let keys = sorts
                .iter()
                .map(|s| value_of(r, &s.source, s.domain))
                .collect();
            (keys, r)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        sorts
            .iter()
            .zip(a.iter().zip(b))
            .map(|(s, (x, y))| sort_order(s, x.as_ref(), y.as_ref()))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// A numeric field of the body given as number or numeric string (`limit`, `after`).
fn number_field(body: &Map<String, Value>, key: &str) -> Result<Option<usize>, Reply> {
    let bad = || {
        invalid_input(&format!(
            "Cannot deserialize value of type `int` from {key}: not a valid integer"
        ))
    };
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(bad),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// `POST /crm/v3/objects/{objectType}/search`
pub(super) async fn search(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path(type_name)) = path else {
        return HubSpot::unknown_path();
    };
    let Some(ty) = object_type(&type_name) else {
        return unknown_object_type(&type_name);
    };
    let body = match malformed_json(&body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Value::Object(body) = body else {
        return invalid_input(
            "Cannot construct instance of `PublicObjectSearchRequest` from a non-object value",
        );
    };
    let custom = state.with_store(|store| store.custom_fields(ty.name).to_vec());
    let parsed = (|| {
        let groups = parse_groups(ty, &custom, body.get("filterGroups"))?;
        let sorts = parse_sorts(ty, &custom, body.get("sorts"))?;
        let limit = number_field(&body, "limit")?.unwrap_or(10);
        if !(1..=SEARCH_LIMIT_MAX).contains(&limit) {
            return Err(validation_error(format!(
                "Invalid limit: {limit}. limit must be an integer between 1 and {SEARCH_LIMIT_MAX}."
            )));
        }
        let after = number_field(&body, "after")?.unwrap_or(0);
        if after >= SEARCH_RESULTS_MAX {
            return Err(validation_error(format!(
                "There was a problem with the request: search results are limited to {SEARCH_RESULTS_MAX}; after={after} is beyond them."
            )));
        }
        let properties: Vec<String> = match body.get("properties") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    invalid_input(
                        "Cannot deserialize value of type `java.lang.String` from non-string value",
                    )
                })?,
            Some(_) => {
                return Err(invalid_input(
                    "Cannot deserialize value of type `java.util.ArrayList<java.lang.String>` from non-array value",
                ));
            }
        };
        let query = match body.get("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(q)) if q.trim().is_empty() => None,
            Some(Value::String(q)) => Some(q.to_lowercase()),
            Some(_) => {
                return Err(invalid_input(
                    "Cannot deserialize value of type `java.lang.String` from non-string value",
                ));
            }
        };
        Ok((groups, sorts, limit, after, properties, query))
    })();
    let (groups, sorts, limit, after, properties, query) = match parsed {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    let selection = if properties.is_empty() {
        Selection::Defaults
    } else {
        Selection::Requested(&properties)
    };
    state.with_store(|store| {
        let mut matched: Vec<&StoredRecord> = store
            .all(ty.name)
            .iter()
            .filter(|r| groups.is_empty() || groups.iter().any(|g| g.iter().all(|f| f.matches(r))))
            .filter(|r| {
                query.as_deref().is_none_or(|q| {
                    r.fields
                        .values()
                        .filter_map(Value::as_str)
                        .any(|v| v.to_lowercase().contains(q))
                })
            })
            .collect();
        if !sorts.is_empty() {
            matched = sort_records(matched, &sorts);
        }
        let results: Vec<Value> = matched
            .iter()
            .skip(after)
            .take(limit)
            .map(|r| render(ty, r, &selection))
            .collect();
        let mut body = json!({"total": matched.len(), "results": results});
        let next = after + limit;
        if next < matched.len() {
            body["paging"] = paging(&next.to_string());
        }
        reply(StatusCode::OK, body)
    })
}
