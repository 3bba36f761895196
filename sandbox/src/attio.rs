//! Attio REST v2 emulator: `/v2/objects/{people|companies|deals}/records`.
//!
//! Stored fields map each attribute slug to its array of value objects: the typed fields
//! plus `active_from`, because Attio keeps value history per value rather than per record.
//! The fields every value shares are added when rendering.
//!
//! Besides create and read: PATCH/PUT updates, delete, assert (`PUT …/records?
//! matching_attribute=`) and `POST …/records/query` (in [`query`]).

mod attributes;
mod query;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::state::{SandboxState, Store, StoredRecord, Usage, VendorApi};
use crate::util::{Reply, is_email, parse_json, reply, root_domain, stable_uuid, touched};

/// Marker type implementing [`VendorApi`] for Attio.
pub(crate) struct Attio;

/// Workspace slug in `web_url`.
const WORKSPACE_SLUG: &str = "sandbox";

/// Status options of `deals.stage` in a fresh workspace; the third one celebrates.
const DEAL_STAGES: [&str; 4] = ["Lead", "In Progress", "Won 🎉", "Lost"];

/// Attribute types, each with its write forms and read additions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PersonalName,
    Email,
    Phone,
    Text,
    Domain,
    Status,
    Currency,
    ActorReference,
    /// Reference to a record of the object with this slug.
    RecordReference(&'static str),
    Number,
    Checkbox,
}

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Kind::PersonalName => "personal-name",
            Kind::Email => "email-address",
            Kind::Phone => "phone-number",
            Kind::Text => "text",
            Kind::Domain => "domain",
            Kind::Status => "status",
            Kind::Currency => "currency",
            Kind::ActorReference => "actor-reference",
            Kind::RecordReference(_) => "record-reference",
            Kind::Number => "number",
            Kind::Checkbox => "checkbox",
        }
    }
}

#[derive(Debug)]
struct Attribute {
    slug: &'static str,
    kind: Kind,
    multi: bool,
    unique: bool,
    required: bool,
}

impl Attribute {
    const fn new(slug: &'static str, kind: Kind) -> Attribute {
        Attribute {
            slug,
            kind,
            multi: false,
            unique: false,
            required: false,
        }
    }

    const fn multi(self) -> Attribute {
        Attribute {
            multi: true,
            ..self
        }
    }

    const fn unique(self) -> Attribute {
        Attribute {
            unique: true,
            ..self
        }
    }

    const fn required(self) -> Attribute {
        Attribute {
            required: true,
            ..self
        }
    }
}

struct Object {
    slug: &'static str,
    /// Path segment of `web_url` (`person`, `company`, `deal`).
    singular: &'static str,
    attributes: &'static [Attribute],
}

impl Object {
    fn id(&self) -> Uuid {
        stable_uuid(&format!("attio-object:{}", self.slug))
    }

    fn attribute_id(&self, attribute: &Attribute) -> Uuid {
        stable_uuid(&format!("attio-attribute:{}:{}", self.slug, attribute.slug))
    }

    /// An attribute by slug or by attribute id, as Attio accepts either as a values key.
    fn attribute(&self, key: &str) -> Option<&'static Attribute> {
        self.attributes
            .iter()
            .find(|a| a.slug == key || self.attribute_id(a).to_string() == key)
    }
}

const PEOPLE: Object = Object {
    slug: "people",
    singular: "person",
    attributes: &[
        Attribute::new("name", Kind::PersonalName),
        Attribute::new("email_addresses", Kind::Email)
            .multi()
            .unique(),
        Attribute::new("phone_numbers", Kind::Phone).multi(),
        Attribute::new("job_title", Kind::Text),
        Attribute::new("description", Kind::Text),
        Attribute::new("company", Kind::RecordReference("companies")),
    ],
};

const COMPANIES: Object = Object {
    slug: "companies",
    singular: "company",
    attributes: &[
        Attribute::new("name", Kind::Text),
        Attribute::new("domains", Kind::Domain).multi().unique(),
        Attribute::new("description", Kind::Text),
        Attribute::new("team", Kind::RecordReference("people")).multi(),
    ],
};

const DEALS: Object = Object {
    slug: "deals",
    singular: "deal",
    attributes: &[
        Attribute::new("name", Kind::Text).required(),
        Attribute::new("stage", Kind::Status).required(),
        Attribute::new("value", Kind::Currency),
        Attribute::new("owner", Kind::ActorReference),
        Attribute::new("associated_company", Kind::RecordReference("companies")),
        Attribute::new("associated_people", Kind::RecordReference("people")).multi(),
    ],
};

const OBJECTS: [&Object; 3] = [&PEOPLE, &COMPANIES, &DEALS];

/// Two record-reference attributes that are the two sides of one relationship: a write to
/// `(object, attribute)` is mirrored onto `(target, inverse)` of each referenced record.
const MIRRORED: [(&str, &str, &str, &str); 2] = [
    ("people", "company", "companies", "team"),
    ("companies", "team", "people", "company"),
];

/// An object by slug or object id.
fn object(key: &str) -> Option<&'static Object> {
    OBJECTS
        .into_iter()
        .find(|o| o.slug == key || o.id().to_string() == key)
}

fn workspace_id() -> Uuid {
    stable_uuid("attio-workspace")
}

/// Id of the API token every write in the sandbox is attributed to.
fn api_token_actor_id() -> Uuid {
    stable_uuid("attio-api-token")
}

/// Attio's timestamps: microsecond precision printed with nine fraction digits.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

impl VendorApi for Attio {
    fn routes() -> Router<SandboxState> {
        Router::new()
            .route("/v2/objects/{object}/records", post(create).put(assert))
            .route("/v2/objects/{object}/records/query", post(query::query))
            .route(
                "/v2/objects/{object}/attributes",
                post(attributes::create).get(attributes::list),
            )
            .route(
                "/v2/objects/{object}/records/{record_id}",
                get(read).patch(patch).put(put).delete(delete),
            )
    }

    fn unauthorized() -> Reply {
        error(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "unauthorized",
            "Authentication failed. Please check your API key.",
        )
    }

    fn retry_after(wait: std::time::Duration) -> String {
        // Attio sends an HTTP date, usually the next second.
        let at = chrono::Utc::now() + chrono::Duration::milliseconds(wait.as_millis() as i64 + 999);
        at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }

    fn token_path() -> &'static str {
        "/oauth/token"
    }

    fn fault(status: StatusCode) -> Reply {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return error(
                status,
                "rate_limit_error",
                "rate_limit_exceeded",
                "Rate limit exceeded, please try again later",
            );
        }
        error(
            status,
            "api_error",
            "internal_server_error",
            "An internal error occurred.",
        )
    }

    fn unknown_path() -> Reply {
        error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "not_found",
            "Route not found.",
        )
    }

    fn method_not_allowed(method: &Method) -> Reply {
        error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method_not_allowed",
            &format!("Method {method} is not allowed on this route."),
        )
    }

    fn body_too_large() -> Reply {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "payload_too_large",
            "Request body is too large.",
        )
    }

    /// Attio documents no usage headers on successful responses.
    fn usage_headers(_headers: &mut HeaderMap, _usage: Usage) {}

    fn declare_custom_field(store: &mut Store, object: &str, name: &str) -> Result<(), String> {
        attributes::declare_text(store, object, name)
    }

    fn seed(store: &mut Store, object: &str, count: usize) -> Vec<String> {
        let Some(object) = OBJECTS.into_iter().find(|o| o.slug == object) else {
            return Vec::new();
        };
        // The unique values already taken, so seeding never breaks a uniqueness rule.
        let unique = object.attributes.iter().find(|a| a.unique);
        let taken: std::collections::HashSet<String> = unique
            .map(|attribute| {
                store
                    .all(object.slug)
                    .iter()
                    .flat_map(|r| r.fields.get(attribute.slug).and_then(Value::as_array))
                    .flatten()
                    .filter_map(|v| v.as_object().and_then(|v| unique_key(attribute.kind, v)))
                    .collect()
            })
            .unwrap_or_default();
        let now = Utc::now().trunc_subsecs(6);
        let at = Value::String(timestamp(now));
        let value = |pairs: &[(&str, Value)]| {
            let mut typed: Map<String, Value> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            typed.insert("active_from".into(), at.clone());
            json!([typed])
        };
        // Computed once: it hashes several stable ids.
        let stage = object
            .attribute("stage")
            .map(|a| status_value(object, a, DEAL_STAGES[0]));
        store.reserve(object.slug, count);
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            let n = {
                let counter = store.seed_counter(object.slug);
                *counter += 1;
                *counter
            };
            let mut fields = Map::new();
            match object.slug {
                "people" => {
                    let email = format!("person{n}@example.com");
                    if taken.contains(&email) {
                        continue;
                    }
                    fields.insert(
                        "name".into(),
                        value(&[
                            ("first_name", "Person".into()),
                            ("last_name", n.to_string().into()),
                            ("full_name", format!("Person {n}").into()),
                        ]),
                    );
                    fields.insert(
                        "email_addresses".into(),
                        value(&[
                            ("original_email_address", email.clone().into()),
                            ("email_address", email.into()),
                            ("email_domain", "example.com".into()),
                            ("email_root_domain", "example.com".into()),
                            ("email_local_specifier", format!("person{n}").into()),
                        ]),
                    );
                }
                "companies" => {
                    let domain = format!("company{n}.example.com");
                    if taken.contains(&domain) {
                        continue;
                    }
                    fields.insert(
                        "name".into(),
                        value(&[("value", format!("Company {n}").into())]),
                    );
                    fields.insert(
                        "domains".into(),
                        value(&[
                            ("domain", domain.into()),
                            ("root_domain", "example.com".into()),
                        ]),
                    );
                }
                _ => {
                    fields.insert(
                        "name".into(),
                        value(&[("value", format!("Deal {n}").into())]),
                    );
                    if let Some(stage) = &stage {
                        fields.insert("stage".into(), value(&[("status", stage.clone())]));
                    }
                    fields.insert(
                        "value".into(),
                        value(&[
                            ("currency_value", ((n * 100) as f64).into()),
                            ("currency_code", "USD".into()),
                        ]),
                    );
                }
            }
            let id = Uuid::new_v4().to_string();
            store.insert(object.slug, StoredRecord::new(id.clone(), now, fields));
            ids.push(id);
        }
        ids
    }

    fn records(store: &Store, object: &str) -> Vec<Value> {
        let Some(object) = OBJECTS.into_iter().find(|o| o.slug == object) else {
            return Vec::new();
        };
        let custom = attributes::custom(store, object);
        store
            .all(object.slug)
            .iter()
            .map(|r| render(object, &custom, r))
            .collect()
    }
}

/// Attio's error envelope.
fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> Reply {
    reply(
        status,
        json!({"status_code": status.as_u16(), "type": kind, "code": code, "message": message}),
    )
}

fn invalid(code: &str, message: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        code,
        message,
    )
}

/// A value of the wrong shape for its attribute. Attio answers `validation_type` here, the
/// code of every body that fails its schema (reference §3.6, observed), although the
/// document lists only `value_not_found`/`missing_value` for the record writes: the sandbox
/// follows Attio, and the conformance check lists the gap (.ci/conformance/vendors.toml).
fn invalid_value(attribute: &Attribute) -> Reply {
    invalid(
        "validation_type",
        &format!(
            "An invalid value was passed to attribute with slug \"{}\".",
            attribute.slug
        ),
    )
}

fn record_not_found(id: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "not_found",
        &format!("Record with ID \"{id}\" not found."),
    )
}

fn object_not_found(key: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "not_found",
        &format!("Object with slug/ID \"{key}\" not found."),
    )
}

/// A written value after the checks that need no other record.
enum Parsed {
    /// Typed fields of the value, ready to store.
    Ready(Map<String, Value>),
    /// A record reference still to be resolved against the store.
    Reference {
        target: &'static Object,
        lookup: Lookup,
    },
}

enum Lookup {
    /// `target_record_id`.
    Id(Uuid),
    /// A unique attribute of the target and the normalized values to match.
    Unique(&'static Attribute, Vec<String>),
}

/// The values of one attribute of a create, in write order.
struct Written {
    attribute: &'static Attribute,
    values: Vec<Parsed>,
}

/// Reads one string field of a value object, or the bare string itself.
fn bare_or_field<'a>(raw: &'a Value, key: &str) -> Option<&'a str> {
    match raw {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get(key).and_then(Value::as_str),
        _ => None,
    }
}

fn parse_value(
    object: &Object,
    attribute: &'static Attribute,
    raw: &Value,
) -> Result<Parsed, Reply> {
    let bad = || invalid_value(attribute);
    let mut typed = Map::new();
    match attribute.kind {
        Kind::PersonalName => {
            let map = raw.as_object().ok_or_else(bad)?;
            for key in ["first_name", "last_name", "full_name"] {
                match map.get(key) {
                    Some(Value::String(s)) => typed.insert(key.into(), s.clone().into()),
                    _ => return Err(bad()),
                };
            }
        }
        Kind::Email => {
            let original = bare_or_field(raw, "email_address").ok_or_else(bad)?.trim();
            let (local, domain) = original
                .split_once('@')
                .filter(|_| is_email(original))
                .ok_or_else(bad)?;
            let domain = domain.to_ascii_lowercase();
            let specifier = local.split('+').next().unwrap_or(local);
            typed.insert("original_email_address".into(), original.into());
            typed.insert("email_address".into(), original.to_ascii_lowercase().into());
            typed.insert("email_domain".into(), domain.clone().into());
            typed.insert("email_root_domain".into(), root_domain(&domain).into());
            typed.insert(
                "email_local_specifier".into(),
                specifier.to_ascii_lowercase().into(),
            );
        }
        Kind::Phone => {
            let original = bare_or_field(raw, "original_phone_number").ok_or_else(bad)?;
            let country = match raw.get("country_code") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) => Some(c.as_str()),
                Some(_) => return Err(bad()),
            };
            let (number, country) = normalize_phone(original, country).ok_or_else(bad)?;
            typed.insert("original_phone_number".into(), original.into());
            typed.insert("country_code".into(), country.into());
            typed.insert("phone_number".into(), number.into());
        }
        Kind::Text => {
            let text = bare_or_field(raw, "value").ok_or_else(bad)?;
            typed.insert("value".into(), text.into());
        }
        Kind::Domain => {
            let domain = bare_or_field(raw, "domain")
                .and_then(normalize_domain)
                .ok_or_else(bad)?;
            typed.insert("root_domain".into(), root_domain(&domain).into());
            typed.insert("domain".into(), domain.into());
        }
        Kind::Status => {
            let wanted = bare_or_field(raw, "status").ok_or_else(bad)?;
            let title = DEAL_STAGES
                .into_iter()
                .find(|t| *t == wanted || status_id(t).to_string() == wanted)
                .ok_or_else(|| {
                    invalid(
                        "value_not_found",
                        &format!(
                            "Cannot find select attribute with select option title \"{wanted}\"."
                        ),
                    )
                })?;
            typed.insert("status".into(), status_value(object, attribute, title));
        }
        Kind::Currency => {
            let amount = match raw {
                Value::Number(_) => raw,
                Value::Object(map) => map.get("currency_value").ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            let amount = amount.as_f64().ok_or_else(bad)?;
            match raw.get("currency_code") {
                None | Some(Value::Null) => {}
                Some(code) if code == "USD" => {}
                Some(_) => return Err(bad()),
            }
            typed.insert("currency_value".into(), amount.into());
            typed.insert("currency_code".into(), "USD".into());
        }
        Kind::ActorReference => {
            let member = if let Some(email) = bare_or_field(raw, "workspace_member_email_address") {
                is_email(email)
                    .then(|| stable_uuid(&format!("attio-member:{}", email.to_ascii_lowercase())))
            } else {
                let is_member =
                    raw.get("referenced_actor_type") == Some(&json!("workspace-member"));
                raw.get("referenced_actor_id")
                    .and_then(Value::as_str)
                    .and_then(|id| Uuid::parse_str(id).ok())
                    .filter(|_| is_member)
            };
            let member = member.ok_or_else(bad)?;
            typed.insert("referenced_actor_type".into(), "workspace-member".into());
            typed.insert("referenced_actor_id".into(), member.to_string().into());
        }
        Kind::RecordReference(target_slug) => return parse_reference(attribute, target_slug, raw),
        Kind::Number => {
            let number = match raw {
                Value::Number(_) => raw,
                Value::Object(map) => map.get("value").ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            typed.insert("value".into(), number.as_f64().ok_or_else(bad)?.into());
        }
        Kind::Checkbox => {
            let checked = match raw {
                Value::Bool(_) => raw,
                Value::Object(map) => map.get("value").ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            typed.insert("value".into(), checked.as_bool().ok_or_else(bad)?.into());
        }
    }
    Ok(Parsed::Ready(typed))
}

/// `{target_object, target_record_id}` or `{target_object, <unique attribute>: [...]}`.
fn parse_reference(
    attribute: &'static Attribute,
    target_slug: &str,
    raw: &Value,
) -> Result<Parsed, Reply> {
    let bad = || invalid_value(attribute);
    let map = raw.as_object().ok_or_else(bad)?;
    let target = map
        .get("target_object")
        .and_then(Value::as_str)
        .and_then(object)
        .filter(|o| o.slug == target_slug)
        .ok_or_else(bad)?;
    if let Some(id) = map.get("target_record_id") {
        let id = id
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(bad)?;
        return Ok(Parsed::Reference {
            target,
            lookup: Lookup::Id(id),
        });
    }
    for (key, value) in map.iter().filter(|(k, _)| *k != "target_object") {
        let matching = target.attribute(key).filter(|a| a.unique).ok_or_else(bad)?;
        let mut keys = Vec::new();
        for item in as_list(value) {
            match parse_value(target, matching, item)? {
                Parsed::Ready(typed) => keys.extend(unique_key(matching.kind, &typed)),
                Parsed::Reference { .. } => return Err(bad()),
            }
        }
        if !keys.is_empty() {
            return Ok(Parsed::Reference {
                target,
                lookup: Lookup::Unique(matching, keys),
            });
        }
    }
    Err(bad())
}

/// A write value as a list: arrays as they are, `null` as no value, anything else as the
/// single value it is.
fn as_list(raw: &Value) -> Vec<&Value> {
    match raw {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    }
}

/// The comparison key of a unique attribute's value (lower-cased address or domain).
fn unique_key(kind: Kind, typed: &Map<String, Value>) -> Option<String> {
    let field = match kind {
        Kind::Email => "email_address",
        Kind::Domain => "domain",
        _ => return None,
    };
    typed.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn status_id(title: &str) -> Uuid {
    stable_uuid(&format!("attio-status:deals:stage:{title}"))
}

fn status_value(object: &Object, attribute: &Attribute, title: &str) -> Value {
    json!({
        "id": {
            "workspace_id": workspace_id().to_string(),
            "object_id": object.id().to_string(),
            "attribute_id": object.attribute_id(attribute).to_string(),
            "status_id": status_id(title).to_string(),
        },
        "title": title,
        "is_archived": false,
        "celebration_enabled": title == DEAL_STAGES[2],
        "target_time_in_status": null,
    })
}

/// Calling codes of the countries the sandbox can infer from a `+` number.
const CALLING_CODES: &[(&str, &str)] = &[
    ("1", "US"),
    ("7", "RU"),
    ("31", "NL"),
    ("33", "FR"),
    ("34", "ES"),
    ("39", "IT"),
    ("41", "CH"),
    ("44", "GB"),
    ("46", "SE"),
    ("49", "DE"),
    ("52", "MX"),
    ("55", "BR"),
    ("61", "AU"),
    ("65", "SG"),
    ("81", "JP"),
    ("86", "CN"),
    ("91", "IN"),
    ("353", "IE"),
];

/// E.164 form and country of a phone number: `+`-prefixed numbers carry their country,
/// national numbers need `country_code`.
fn normalize_phone(original: &str, country: Option<&str>) -> Option<(String, Option<String>)> {
    let trimmed = original.trim();
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let number = if trimmed.starts_with('+') {
        digits
    } else {
        let code = CALLING_CODES.iter().find(|(_, c)| Some(*c) == country)?.0;
        format!("{code}{}", digits.trim_start_matches('0'))
    };
    if !(8..=15).contains(&number.len()) {
        return None;
    }
    let country = country.map(str::to_owned).or_else(|| {
        CALLING_CODES
            .iter()
            .filter(|(code, _)| number.starts_with(code))
            .max_by_key(|(code, _)| code.len())
            .map(|(_, c)| (*c).to_owned())
    });
    Some((format!("+{number}"), country))
}

/// A bare host name from what users paste: lower case, without scheme, `www.` or path.
fn normalize_domain(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let without_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = without_scheme.split('/').next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let valid = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    valid.then(|| host.to_owned())
}

/// Reads `{"data": {"values": {...}}}` of a write body.
fn body_values(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    let body = parse_json(body).map_err(|e| {
        invalid(
            "validation_type",
            &format!(
                "Body payload validation error: invalid JSON ({} at line {} column {}).",
                e.reason, e.line, e.column
            ),
        )
    })?;
    body.get("data")
        .and_then(|data| data.get("values"))
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| invalid("validation_type", "Body payload validation error."))
}

/// Resolves the object of a path, or Attio's 404.
fn path_object(key: &str) -> Result<&'static Object, Reply> {
    object(key).ok_or_else(|| object_not_found(key))
}

/// `POST /v2/objects/{object}/records`
async fn create(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path(key)) = path else {
        return Attio::unknown_path();
    };
    let written = path_object(&key).and_then(|object| {
        let values = body_values(&body)?;
        let custom = state.with_store(|store| attributes::custom(store, object));
        Ok((object, parse_values(object, &custom, &values, true)?))
    });
    match written {
        Ok((object, written)) => {
            state.with_store(
                |store| match write(store, object, None, written, Merge::Overwrite) {
                    Ok(id) => record_reply(store, object, &id),
                    Err(response) => response,
                },
            )
        }
        Err(response) => response,
    }
}

/// Checks every written attribute (known slug, arity, value shape) and then the required
/// attributes: all of them on create, only the written ones (which may not be emptied) on
/// update.
fn parse_values(
    object: &Object,
    custom: &[&'static Attribute],
    values: &Map<String, Value>,
    creating: bool,
) -> Result<Vec<Written>, Reply> {
    let mut written = Vec::new();
    for (key, raw) in values {
        // `value_not_found` on update too: the document lists it for create only, but the
        // same unknown slug gets the same answer from Attio whatever the operation.
        let attribute = attributes::find(object, custom, key).ok_or_else(|| {
            invalid(
                "value_not_found",
                &format!("Cannot find attribute with slug/ID \"{key}\"."),
            )
        })?;
        let items = as_list(raw);
        if items.len() > 1 && !attribute.multi {
            return Err(invalid(
                "validation_type",
                &format!(
                    "Attribute with slug \"{}\" does not accept multiple values.",
                    attribute.slug
                ),
            ));
        }
        let values = items
            .into_iter()
            .map(|item| parse_value(object, attribute, item))
            .collect::<Result<_, _>>()?;
        written.push(Written { attribute, values });
    }
    check_required(object, custom, &written, creating)?;
    Ok(written)
}

/// Required attributes must be given on create and may never be emptied.
fn check_required(
    object: &Object,
    custom: &[&'static Attribute],
    written: &[Written],
    creating: bool,
) -> Result<(), Reply> {
    let all = object.attributes.iter().chain(custom.iter().copied());
    for attribute in all.filter(|a| a.required) {
        let entry = written
            .iter()
            .find(|w| std::ptr::eq(w.attribute, attribute));
        let missing = match entry {
            Some(w) => w.values.is_empty(),
            None => creating,
        };
        if missing {
            return Err(invalid(
                "missing_value",
                &format!(
                    "Required value for attribute with ID \"{}\" was not provided.",
                    object.attribute_id(attribute)
                ),
            ));
        }
    }
    Ok(())
}

/// How written values of a multi-value attribute combine with the stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    /// PATCH: new values are added to the existing ones.
    Append,
    /// PUT and create: the written values replace the existing ones.
    Overwrite,
}

/// Whether two typed values are the same value (same unique key, same target, or equal).
fn same_value(attribute: &Attribute, a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    if let (Some(x), Some(y)) = (unique_key(attribute.kind, a), unique_key(attribute.kind, b)) {
        return x == y;
    }
    if let Kind::RecordReference(_) = attribute.kind {
        return a.get("target_record_id") == b.get("target_record_id");
    }
    let strip = |m: &Map<String, Value>| {
        let mut m = m.clone();
        m.remove("active_from");
        m
    };
    strip(a) == strip(b)
}

/// Applies a validated write: resolves references, enforces unique attributes (against
/// other records), creates the record (`target` `None`) or updates it, keeps two-sided
/// relationships in sync, and returns the record id.
fn write(
    store: &mut Store,
    object: &'static Object,
    target: Option<&str>,
    written: Vec<Written>,
    merge: Merge,
) -> Result<String, Reply> {
    let now = Utc::now().trunc_subsecs(6);
    let mut resolved: Vec<(&'static Attribute, Vec<Map<String, Value>>)> = Vec::new();
    for Written { attribute, values } in written {
        let mut typed_values: Vec<Map<String, Value>> = Vec::new();
        for parsed in values {
            let typed = match parsed {
                Parsed::Ready(typed) => typed,
                Parsed::Reference { target: to, lookup } => {
                    reference(to.slug, &resolve(store, to, lookup)?)
                }
            };
            if let Some(conflict) = conflict(store, object, attribute, &typed, target) {
                return Err(conflict);
            }
            if !typed_values
                .iter()
                .any(|v| same_value(attribute, v, &typed))
            {
                typed_values.push(typed);
            }
        }
        resolved.push((attribute, typed_values));
    }
    let id = match target {
        Some(id) => id.to_owned(),
        None => {
            let id = Uuid::new_v4().to_string();
            store.insert(object.slug, StoredRecord::new(id.clone(), now, Map::new()));
            id
        }
    };
    let mut changes: Vec<(&'static Attribute, Vec<String>, Vec<String>)> = Vec::new();
    {
        let Some(record) = store.get_mut(object.slug, &id) else {
            return Err(record_not_found(&id));
        };
        for (attribute, typed_values) in resolved {
            let before = referenced_ids(record, attribute.slug);
            let existing: Vec<Value> = match record.fields.remove(attribute.slug) {
                Some(Value::Array(values)) if attribute.multi && merge == Merge::Append => values,
                _ => Vec::new(),
            };
            let mut values = existing;
            for typed in typed_values {
                let present = values.iter().any(|v| {
                    v.as_object()
                        .is_some_and(|v| same_value(attribute, v, &typed))
                });
                if !present {
                    values.push(stored_value(typed, now));
                }
            }
            record
                .fields
                .insert(attribute.slug.to_owned(), Value::Array(values));
            let after = referenced_ids(record, attribute.slug);
            changes.push((attribute, before, after));
        }
        if target.is_some() {
            record.updated_at = touched(record.updated_at, now, TimeDelta::microseconds(1));
        }
    }
    for (attribute, before, after) in changes {
        let removed: Vec<String> = before
            .iter()
            .filter(|b| !after.contains(b))
            .cloned()
            .collect();
        let added: Vec<String> = after
            .iter()
            .filter(|a| !before.contains(a))
            .cloned()
            .collect();
        unlink_back(store, object, &id, attribute.slug, &removed);
        link_back(store, object, &id, attribute.slug, &added, now);
    }
    Ok(id)
}

/// `{"data": Record}` of a stored record.
fn record_reply(store: &Store, object: &Object, id: &str) -> Reply {
    let custom = attributes::custom(store, object);
    match store.get(object.slug, id) {
        Some(record) => reply(
            StatusCode::OK,
            json!({ "data": render(object, &custom, record) }),
        ),
        None => record_not_found(id),
    }
}

fn reference(target: &str, id: &str) -> Map<String, Value> {
    let mut typed = Map::new();
    typed.insert("target_object".into(), target.into());
    typed.insert("target_record_id".into(), id.into());
    typed
}

/// The id of the one record a reference points at.
fn resolve(store: &Store, target: &Object, lookup: Lookup) -> Result<String, Reply> {
    match lookup {
        Lookup::Id(id) => {
            let id = id.to_string();
            store
                .get(target.slug, &id)
                .map(|r| r.id.clone())
                .ok_or_else(|| record_not_found(&id))
        }
        Lookup::Unique(attribute, keys) => {
            let matches: Vec<&StoredRecord> = store
                .all(target.slug)
                .iter()
                .filter(|r| has_any_key(r, attribute, &keys))
                .collect();
            match matches.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(invalid(
                    "value_not_found",
                    &format!(
                        "No {} record matched the value provided for attribute with slug \"{}\".",
                        target.slug, attribute.slug
                    ),
                )),
                _ => Err(invalid(
                    "multiple_match_results",
                    &format!(
                        "Multiple {} records matched the value provided for attribute with slug \"{}\".",
                        target.slug, attribute.slug
                    ),
                )),
            }
        }
    }
}

/// Whether a record holds any of `keys` in a unique attribute; allocation-free, since it
/// runs over every record of a (possibly seeded) table.
fn has_any_key(record: &StoredRecord, attribute: &Attribute, keys: &[String]) -> bool {
    let field = match attribute.kind {
        Kind::Email => "email_address",
        Kind::Domain => "domain",
        _ => return false,
    };
    record
        .fields
        .get(attribute.slug)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get(field).and_then(Value::as_str))
        .any(|k| keys.iter().any(|key| key == k))
}

/// The 400 Attio gives when a unique attribute's value is already taken by another record.
fn conflict(
    store: &Store,
    object: &Object,
    attribute: &Attribute,
    typed: &Map<String, Value>,
    except: Option<&str>,
) -> Option<Reply> {
    if !attribute.unique {
        return None;
    }
    let key = unique_key(attribute.kind, typed)?;
    let keys = [key];
    let taken = store
        .all(object.slug)
        .iter()
        .any(|r| except != Some(r.id.as_str()) && has_any_key(r, attribute, &keys));
    if !taken {
        return None;
    }
    let field = match attribute.kind {
        Kind::Email => "email_address",
        _ => "domain",
    };
    let [key] = keys;
    let shown = Value::String(json!({ field: key }).to_string());
    Some(invalid(
        "uniqueness_conflict",
        &format!(
            "The value {shown} provided for attribute with ID \"{}\" conflicts with one already in the system.",
            object.attribute_id(attribute)
        ),
    ))
}

/// A value as stored: its typed fields plus `active_from`. The fields every value shares
/// (`active_until`, `created_by_actor`, `attribute_type`) are added by [`render`], which
/// keeps large seeded tables small.
fn stored_value(mut typed: Map<String, Value>, at: DateTime<Utc>) -> Value {
    typed.insert("active_from".into(), timestamp(at).into());
    Value::Object(typed)
}

/// A stored value in read shape.
fn read_value(attribute: &Attribute, stored: &Value) -> Value {
    let mut value = stored.as_object().cloned().unwrap_or_default();
    value.insert("active_until".into(), Value::Null);
    value.insert(
        "created_by_actor".into(),
        json!({"type": "api-token", "id": api_token_actor_id().to_string()}),
    );
    value.insert("attribute_type".into(), attribute.kind.type_name().into());
    Value::Object(value)
}

fn referenced_ids(record: &StoredRecord, slug: &str) -> Vec<String> {
    record
        .fields
        .get(slug)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("target_record_id").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The other side `(target object, inverse attribute)` of a two-sided relationship.
fn mirror_of(object: &str, slug: &str) -> Option<(&'static Object, &'static Attribute)> {
    let (_, _, target_slug, inverse_slug) = MIRRORED
        .into_iter()
        .find(|(from, attribute, _, _)| *from == object && *attribute == slug)?;
    let target = object_by_slug(target_slug)?;
    Some((target, target.attribute(inverse_slug)?))
}

/// Writes record `id` onto the other side of `object.slug` for each newly referenced
/// target: appended on a multi-value side, replaced on a single-value side (which also
/// drops the target from the record it pointed at before).
fn link_back(
    store: &mut Store,
    object: &Object,
    id: &str,
    slug: &str,
    targets: &[String],
    at: DateTime<Utc>,
) {
    let Some((target, inverse)) = mirror_of(object.slug, slug) else {
        return;
    };
    for target_id in targets {
        let Some(other) = store.get_mut(target.slug, target_id) else {
            continue;
        };
        let previous = referenced_ids(other, inverse.slug);
        if previous.iter().any(|p| p == id) {
            continue;
        }
        let back = stored_value(reference(object.slug, id), at);
        if inverse.multi {
            match other.fields.get_mut(inverse.slug) {
                Some(Value::Array(values)) => values.push(back),
                _ => {
                    other.fields.insert(inverse.slug.into(), json!([back]));
                }
            }
            continue;
        }
        other.fields.insert(inverse.slug.into(), json!([back]));
        for old in previous {
            if let Some(Value::Array(values)) = store
                .get_mut(object.slug, &old)
                .and_then(|r| r.fields.get_mut(slug))
            {
                values.retain(|v| {
                    v.get("target_record_id").and_then(Value::as_str) != Some(target_id)
                });
            }
        }
    }
}

/// Removes record `id` from the other side of `object.slug` for targets it no longer
/// references.
fn unlink_back(store: &mut Store, object: &Object, id: &str, slug: &str, targets: &[String]) {
    let Some((target, inverse)) = mirror_of(object.slug, slug) else {
        return;
    };
    for target_id in targets {
        if let Some(Value::Array(values)) = store
            .get_mut(target.slug, target_id)
            .and_then(|r| r.fields.get_mut(inverse.slug))
        {
            values.retain(|v| v.get("target_record_id").and_then(Value::as_str) != Some(id));
        }
    }
}

fn object_by_slug(slug: &str) -> Option<&'static Object> {
    OBJECTS.into_iter().find(|o| o.slug == slug)
}

/// `GET /v2/objects/{object}/records/{record_id}`
async fn read(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((key, id))) = path else {
        return Attio::unknown_path();
    };
    let object = match path_object(&key) {
        Ok(object) => object,
        Err(response) => return response,
    };
    state.with_store(|store| record_reply(store, object, &id))
}

/// `PATCH` (append) and `PUT` (overwrite) of `/v2/objects/{object}/records/{record_id}`.
async fn update(
    state: SandboxState,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
    merge: Merge,
) -> Reply {
    let Ok(Path((key, id))) = path else {
        return Attio::unknown_path();
    };
    let written = path_object(&key).and_then(|object| {
        let values = body_values(&body)?;
        let custom = state.with_store(|store| attributes::custom(store, object));
        Ok((object, parse_values(object, &custom, &values, false)?))
    });
    let (object, written) = match written {
        Ok(written) => written,
        Err(response) => return response,
    };
    state.with_store(|store| {
        if store.get(object.slug, &id).is_none() {
            return record_not_found(&id);
        }
        match write(store, object, Some(&id), written, merge) {
            Ok(id) => record_reply(store, object, &id),
            Err(response) => response,
        }
    })
}

/// `PATCH /v2/objects/{object}/records/{record_id}`
async fn patch(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Reply {
    update(state, path, body, Merge::Append).await
}

/// `PUT /v2/objects/{object}/records/{record_id}`
async fn put(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Reply {
    update(state, path, body, Merge::Overwrite).await
}

/// `DELETE /v2/objects/{object}/records/{record_id}`: removes the record and every
/// reference to it, answering `{}`.
async fn delete(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((key, id))) = path else {
        return Attio::unknown_path();
    };
    let object = match path_object(&key) {
        Ok(object) => object,
        Err(response) => return response,
    };
    state.with_store(|store| {
        if store.remove(object.slug, &id).is_none() {
            return record_not_found(&id);
        }
        for other in OBJECTS {
            for attribute in other.attributes {
                if attribute.kind != Kind::RecordReference(object.slug) {
                    continue;
                }
                let holders: Vec<String> = store
                    .all(other.slug)
                    .iter()
                    .filter(|r| referenced_ids(r, attribute.slug).contains(&id))
                    .map(|r| r.id.clone())
                    .collect();
                for holder in holders {
                    unlink_back_one(store, other.slug, &holder, attribute.slug, &id);
                }
            }
        }
        reply(StatusCode::OK, json!({}))
    })
}

/// Drops the reference to `target_id` from `slug` of record `(object, id)`.
fn unlink_back_one(store: &mut Store, object: &str, id: &str, slug: &str, target_id: &str) {
    if let Some(Value::Array(values)) = store
        .get_mut(object, id)
        .and_then(|r| r.fields.get_mut(slug))
    {
        values.retain(|v| v.get("target_record_id").and_then(Value::as_str) != Some(target_id));
    }
}

/// `PUT /v2/objects/{object}/records?matching_attribute={slug}`: updates the record whose
/// unique `slug` value matches (multi-value attributes overwritten, except the matching
/// attribute itself, which is added to) or creates one.
async fn assert(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> Reply {
    let (Ok(Path(key)), Ok(Query(query))) = (path, query) else {
        return Attio::unknown_path();
    };
    let object = match path_object(&key) {
        Ok(object) => object,
        Err(response) => return response,
    };
    let Some(slug) = query
        .iter()
        .rev()
        .find(|(k, _)| k == "matching_attribute")
        .map(|(_, v)| v.as_str())
    else {
        return invalid(
            "validation_type",
            "Query parameter \"matching_attribute\" is required.",
        );
    };
    let custom = state.with_store(|store| attributes::custom(store, object));
    let Some(matching) = attributes::find(object, &custom, slug) else {
        // Attio's document gives this very message as its example of the assert's 400.
        return invalid(
            "value_not_found",
            &format!("No attribute was found for matching_attribute slug/ID \"{slug}\"."),
        );
    };
    if !matching.unique {
        return invalid(
            "matching_attribute_definition_not_unique",
            "The matching attribute specified is not a unique attribute.",
        );
    }
    let written =
        body_values(&body).and_then(|values| parse_values(object, &custom, &values, false));
    let written = match written {
        Ok(written) => written,
        Err(response) => return response,
    };
    let keys: Vec<String> = written
        .iter()
        .filter(|w| std::ptr::eq(w.attribute, matching))
        .flat_map(|w| &w.values)
        .filter_map(|p| match p {
            Parsed::Ready(typed) => unique_key(matching.kind, typed),
            Parsed::Reference { .. } => None,
        })
        .collect();
    if keys.is_empty() {
        return invalid(
            "missing_value",
            &format!(
                "The matching attribute \"{}\" must be given a value in the request body.",
                matching.slug
            ),
        );
    }
    state.with_store(|store| {
        let matches: Vec<String> = store
            .all(object.slug)
            .iter()
            .filter(|r| has_any_key(r, matching, &keys))
            .map(|r| r.id.clone())
            .collect();
        let result = match matches.as_slice() {
            [] => check_required(object, &custom, &written, true)
                .and_then(|()| write(store, object, None, written, Merge::Overwrite)),
            [one] => {
                let one = one.clone();
                let (matching_values, rest): (Vec<Written>, Vec<Written>) = written
                    .into_iter()
                    .partition(|w| std::ptr::eq(w.attribute, matching));
                write(store, object, Some(&one), rest, Merge::Overwrite)
                    .and_then(|_| write(store, object, Some(&one), matching_values, Merge::Append))
            }
            _ => Err(invalid(
                "multiple_match_results",
                &format!(
                    "Multiple {} records matched the value provided for attribute with slug \"{}\".",
                    object.slug, matching.slug
                ),
            )),
        };
        match result {
            Ok(id) => record_reply(store, object, &id),
            Err(response) => response,
        }
    })
}

/// A record in read shape: every attribute of the object (its declared `custom` ones
/// included) appears, `[]` when empty.
fn render(object: &Object, custom: &[&'static Attribute], record: &StoredRecord) -> Value {
    let values: Map<String, Value> = object
        .attributes
        .iter()
        .chain(custom.iter().copied())
        .map(|a| {
            let value = record
                .fields
                .get(a.slug)
                .and_then(Value::as_array)
                .map_or_else(Vec::new, |values| {
                    values.iter().map(|v| read_value(a, v)).collect()
                });
            (a.slug.to_owned(), Value::Array(value))
        })
        .collect();
    json!({
        "id": {
            "workspace_id": workspace_id().to_string(),
            "object_id": object.id().to_string(),
            "record_id": record.id,
        },
        "created_at": timestamp(record.created_at),
        "web_url": format!("https://app.attio.com/{WORKSPACE_SLUG}/{}/{}", object.singular, record.id),
        "values": values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize_to_e164() {
        assert_eq!(
            normalize_phone("+1 (555) 867-5309", None),
            Some(("+15558675309".into(), Some("US".into())))
        );
        assert_eq!(
            normalize_phone("020 7946 0000", Some("GB")),
            Some(("+442079460000".into(), Some("GB".into())))
        );
        assert_eq!(normalize_phone("5558675309", None), None);
        assert_eq!(normalize_phone("call me", Some("US")), None);
    }

    #[test]
    fn domains_normalize() {
        assert_eq!(
            normalize_domain("https://www.Acme.com/about"),
            Some("acme.com".into())
        );
        assert_eq!(normalize_domain("acme"), None);
    }
}
