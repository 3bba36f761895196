//! HubSpot CRM v3 emulator: `/crm/v3/objects/{contacts|companies|deals}` (create, read,
//! update, archive, list, search) and the v4 association endpoints.
//!
//! Stored fields are the record's `properties` (all strings, as HubSpot keeps them).
//! Associations live once in [`Store::associations`] in the direction they were made;
//! reads from the other end see them with the inverse `associationTypeId`. Archived
//! records move to the store's archive, where `archived=true` reads find them.

mod batch;
mod properties;
mod search;
mod v4;

use properties::PropertyRef;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::routing::{get, post, put};
use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::state::{Association, RATE_WINDOW, SandboxState, Store, StoredRecord, Usage, VendorApi};
use crate::util::{
    Reply, base64_decode, base64_encode, is_email, no_content, parse_json, random_uuid, reply,
    touched,
};

/// Marker type implementing [`VendorApi`] for HubSpot.
pub(crate) struct HubSpot;

/// Portal (account) id echoed in validation messages.
const PORTAL_ID: u64 = 24_681_357;
/// Record ids are `ID_OFFSET + n` for the n-th record created, so the first is "512".
const ID_OFFSET: u64 = 511;
/// Burst limit reported in `X-HubSpot-RateLimit-Max` (Free/Starter: 100 per 10 s).
const RATE_LIMIT_MAX: usize = 100;

/// How HubSpot validates a property's string value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Email,
    Number,
    DateTime,
    /// Enumeration with `(value, label)` options.
    Options(&'static [(&'static str, &'static str)]),
}

struct Property {
    name: &'static str,
    kind: Kind,
}

const fn prop(name: &'static str, kind: Kind) -> Property {
    Property { name, kind }
}

/// A CRM object type and the properties a fresh portal defines for it.
struct ObjectType {
    name: &'static str,
    /// Singular form, which v4 paths also accept (`contact`).
    singular: &'static str,
    type_id: &'static str,
    /// Writable properties.
    properties: &'static [Property],
    /// Properties returned by a GET without `properties=` (when they have a value).
    defaults: &'static [&'static str],
    /// Name of the last-modified property (`lastmodifieddate` or `hs_lastmodifieddate`).
    modified: &'static str,
}

impl ObjectType {
    fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Read-only properties HubSpot maintains itself.
    fn system(&self) -> [&'static str; 3] {
        ["createdate", "hs_object_id", self.modified]
    }

    /// Whether `name` is one of the two last-modified names; both resolve to the record's
    /// modified instant in search, since clients use them interchangeably.
    fn is_modified(name: &str) -> bool {
        matches!(name, "lastmodifieddate" | "hs_lastmodifieddate")
    }
}

const LIFECYCLE_STAGES: &[(&str, &str)] = &[
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
];

const PIPELINES: &[(&str, &str)] = &[("default", "Sales Pipeline")];

const DEAL_STAGES: &[(&str, &str)] = &[
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
];

const CONTACTS: ObjectType = ObjectType {
    name: "contacts",
    singular: "contact",
    type_id: "0-1",
    properties: &[
        prop("email", Kind::Email),
        prop("firstname", Kind::Text),
        prop("lastname", Kind::Text),
        prop("phone", Kind::Text),
        prop("mobilephone", Kind::Text),
        prop("company", Kind::Text),
        prop("jobtitle", Kind::Text),
        prop("lifecyclestage", Kind::Options(LIFECYCLE_STAGES)),
        prop("hubspot_owner_id", Kind::Text),
        prop("website", Kind::Text),
        prop("city", Kind::Text),
        prop("country", Kind::Text),
    ],
    defaults: &["email", "firstname", "lastname"],
    modified: "lastmodifieddate",
};

const COMPANIES: ObjectType = ObjectType {
    name: "companies",
    singular: "company",
    type_id: "0-2",
    properties: &[
        prop("name", Kind::Text),
        prop("domain", Kind::Text),
        prop("industry", Kind::Text),
        prop("phone", Kind::Text),
        prop("city", Kind::Text),
        prop("country", Kind::Text),
        prop("numberofemployees", Kind::Number),
        prop("annualrevenue", Kind::Number),
        prop("description", Kind::Text),
        prop("website", Kind::Text),
        prop("hubspot_owner_id", Kind::Text),
    ],
    defaults: &["domain", "name"],
    modified: "hs_lastmodifieddate",
};

const DEALS: ObjectType = ObjectType {
    name: "deals",
    singular: "deal",
    type_id: "0-3",
    properties: &[
        prop("dealname", Kind::Text),
        prop("amount", Kind::Number),
        prop("dealstage", Kind::Options(DEAL_STAGES)),
        prop("pipeline", Kind::Options(PIPELINES)),
        prop("closedate", Kind::DateTime),
        prop("hubspot_owner_id", Kind::Text),
        prop("description", Kind::Text),
        prop("hs_deal_stage_probability", Kind::Number),
    ],
    defaults: &["amount", "closedate", "dealname", "dealstage", "pipeline"],
    modified: "hs_lastmodifieddate",
};

const OBJECT_TYPES: [&ObjectType; 3] = [&CONTACTS, &COMPANIES, &DEALS];

/// Resolves a path's object type by name, singular name or objectTypeId (`contacts`,
/// `contact` or `0-1`).
fn object_type(name: &str) -> Option<&'static ObjectType> {
    OBJECT_TYPES.into_iter().find(|t| {
        t.name.eq_ignore_ascii_case(name)
            || t.singular.eq_ignore_ascii_case(name)
            || t.type_id == name
    })
}

/// A HUBSPOT_DEFINED association type between two standard objects.
struct AssociationType {
    id: u32,
    from: &'static str,
    to: &'static str,
    /// Name shown as `type` in v3 reads.
    label: &'static str,
    /// The same association seen from the other end.
    inverse: u32,
    /// Primary types imply their unlabeled twin, which HubSpot adds alongside.
    unlabeled: Option<u32>,
}

const fn assoc(
    id: u32,
    from: &'static str,
    to: &'static str,
    label: &'static str,
    inverse: u32,
    unlabeled: Option<u32>,
) -> AssociationType {
    AssociationType {
        id,
        from,
        to,
        label,
        inverse,
        unlabeled,
    }
}

const ASSOCIATION_TYPES: &[AssociationType] = &[
    assoc(
        279,
        "contacts",
        "companies",
        "contact_to_company_unlabeled",
        280,
        None,
    ),
    assoc(
        1,
        "contacts",
        "companies",
        "contact_to_company",
        2,
        Some(279),
    ),
    assoc(
        280,
        "companies",
        "contacts",
        "company_to_contact_unlabeled",
        279,
        None,
    ),
    assoc(
        2,
        "companies",
        "contacts",
        "company_to_contact",
        1,
        Some(280),
    ),
    assoc(3, "deals", "contacts", "deal_to_contact", 4, None),
    assoc(4, "contacts", "deals", "contact_to_deal", 3, None),
    assoc(
        341,
        "deals",
        "companies",
        "deal_to_company_unlabeled",
        342,
        None,
    ),
    assoc(5, "deals", "companies", "deal_to_company", 6, Some(341)),
    assoc(
        342,
        "companies",
        "deals",
        "company_to_deal_unlabeled",
        341,
        None,
    ),
    assoc(6, "companies", "deals", "company_to_deal", 5, Some(342)),
];

fn association_type(id: u32) -> Option<&'static AssociationType> {
    ASSOCIATION_TYPES.iter().find(|a| a.id == id)
}

/// The type itself plus the unlabeled twin a primary type brings along.
fn implied_kinds(id: u32) -> Vec<u32> {
    std::iter::once(id)
        .chain(association_type(id).and_then(|a| a.unlabeled))
        .collect()
}

/// The v4 `label` of a type: primary types carry one, unlabeled types `null`.
fn association_label(id: u32) -> Option<&'static str> {
    let kind = association_type(id)?;
    kind.unlabeled?;
    Some(if kind.from == "deals" || kind.to == "deals" {
        "Deal with Primary Company"
    } else {
        "Contact with Primary Company"
    })
}

/// The same association seen from its other end.
fn inverse_kind(id: u32) -> u32 {
    association_type(id).map_or(id, |a| a.inverse)
}

impl VendorApi for HubSpot {
    fn routes() -> Router<SandboxState> {
        Router::new()
            .route("/crm/v3/objects/{object_type}", post(create).get(list))
            .route("/crm/v3/objects/{object_type}/search", post(search::search))
            .route(
                "/crm/v3/objects/{object_type}/batch/create",
                post(batch::create),
            )
            .route(
                "/crm/v3/objects/{object_type}/batch/update",
                post(batch::update),
            )
            .route(
                "/crm/v3/objects/{object_type}/{id}",
                get(read).patch(update).delete(archive),
            )
            .route("/crm/v3/properties/{object_type}", post(properties::create))
            .route(
                "/crm/v3/properties/{object_type}/{property_name}",
                get(properties::read),
            )
            .route(
                "/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}",
                put(v4::associate_default),
            )
            .route(
                "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}",
                put(v4::associate_labelled).delete(v4::disassociate),
            )
            .route(
                "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}",
                get(v4::list),
            )
    }

    fn unauthorized() -> Reply {
        error(
            StatusCode::UNAUTHORIZED,
            Some("INVALID_AUTHENTICATION"),
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            Map::new(),
        )
    }

    fn unknown_path() -> Reply {
        resource_not_found()
    }

    fn quota_fault() -> Reply {
        reply(
            StatusCode::TOO_MANY_REQUESTS,
            serde_json::json!({
                "status": "error",
                "message": "You have reached your daily limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": random_uuid(),
                "policyName": "DAILY",
                "groupName": "publicapi:private_app-api-calls-daily:0:0",
            }),
        )
    }

    fn token_path() -> &'static str {
        "/oauth/v1/token"
    }

    fn fault(status: StatusCode) -> Reply {
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The ten-secondly burst limit, as HubSpot words it (providers.md §1.8).
            return reply(
                status,
                serde_json::json!({
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": random_uuid(),
                    "policyName": "TEN_SECONDLY_ROLLING",
                    "groupName": "publicapi:private_app-api-calls-ten-secondly:0:0",
                }),
            );
        }
        error(status, None, "internal error", Map::new())
    }

    fn method_not_allowed(_method: &Method) -> Reply {
        error(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "HTTP 405 Method Not Allowed",
            Map::new(),
        )
    }

    fn body_too_large() -> Reply {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("VALIDATION_ERROR"),
            "Request body is too large",
            Map::new(),
        )
    }

    fn usage_headers(headers: &mut HeaderMap, usage: Usage) {
        let remaining = RATE_LIMIT_MAX.saturating_sub(usage.in_window);
        headers.insert("x-hubspot-ratelimit-max", HeaderValue::from(RATE_LIMIT_MAX));
        headers.insert(
            "x-hubspot-ratelimit-remaining",
            HeaderValue::from(remaining),
        );
        let interval = u64::try_from(RATE_WINDOW.as_millis()).unwrap_or(u64::MAX);
        headers.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            HeaderValue::from(interval),
        );
    }

    fn records(store: &Store, object: &str) -> Vec<Value> {
        let Some(ty) = OBJECT_TYPES.into_iter().find(|t| t.name == object) else {
            return Vec::new();
        };
        store
            .all(ty.name)
            .iter()
            .map(|r| render(ty, r, &Selection::Stored))
            .collect()
    }

    fn declare_custom_field(store: &mut Store, object: &str, name: &str) -> Result<(), String> {
        properties::declare_text(store, object, name)
    }

    fn seed(store: &mut Store, object: &str, count: usize) -> Vec<String> {
        let Some(ty) = OBJECT_TYPES.into_iter().find(|t| t.name == object) else {
            return Vec::new();
        };
        let taken: std::collections::HashSet<String> = if ty.name == "contacts" {
            store
                .all(ty.name)
                .iter()
                .filter_map(|r| r.fields.get("email").and_then(Value::as_str))
                .map(str::to_ascii_lowercase)
                .collect()
        } else {
            Default::default()
        };
        let now = Utc::now().trunc_subsecs(3);
        store.reserve(ty.name, count);
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            let n = {
                let counter = store.seed_counter(ty.name);
                *counter += 1;
                *counter
            };
            let text = |s: String| Value::String(s);
            let mut fields = Map::new();
            match ty.name {
                "contacts" => {
                    let email = format!("person{n}@example.com");
                    if taken.contains(&email) {
                        continue;
                    }
                    fields.insert("email".into(), text(email));
                    fields.insert("firstname".into(), text("Person".into()));
                    fields.insert("lastname".into(), text(n.to_string()));
                }
                "companies" => {
                    fields.insert("name".into(), text(format!("Company {n}")));
                    fields.insert("domain".into(), text(format!("company{n}.example.com")));
                }
                _ => {
                    fields.insert("dealname".into(), text(format!("Deal {n}")));
                    fields.insert("amount".into(), text((n * 100).to_string()));
                    fields.insert("dealstage".into(), text("appointmentscheduled".into()));
                    fields.insert("pipeline".into(), text("default".into()));
                }
            }
            let id = (ID_OFFSET + store.next_sequence()).to_string();
            store.insert(ty.name, StoredRecord::new(id.clone(), now, fields));
            ids.push(id);
        }
        ids
    }
}

/// HubSpot's error envelope: `status`, `message`, `correlationId`, optional `category`,
/// plus `extra` keys such as `context` or `errors`.
fn error(
    status: StatusCode,
    category: Option<&str>,
    message: impl Into<String>,
    extra: Map<String, Value>,
) -> Reply {
    let mut body = Map::new();
    body.insert("status".into(), "error".into());
    body.insert("message".into(), message.into().into());
    body.insert("correlationId".into(), random_uuid().into());
    if let Some(category) = category {
        body.insert("category".into(), category.into());
    }
    body.extend(extra);
    reply(status, Value::Object(body))
}

fn validation_error(message: impl Into<String>) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        Some("VALIDATION_ERROR"),
        message,
        Map::new(),
    )
}

/// The body HubSpot's JSON binding gives for a well-formed body of the wrong structure.
fn invalid_input(reason: &str) -> Reply {
    validation_error(format!("Invalid input JSON on line 1, column 1: {reason}"))
}

/// The body HubSpot's JSON binding gives for a body that is not JSON at all.
fn malformed_json(body: &[u8]) -> Result<Value, Reply> {
    parse_json(body).map_err(|e| {
        validation_error(format!(
            "Invalid input JSON on line {}, column {}: {}",
            e.line, e.column, e.reason
        ))
    })
}

fn unknown_object_type(name: &str) -> Reply {
    validation_error(format!("Unable to infer object type from: {name}"))
}

/// The 404 of unknown routes and of updates to a missing record (no `category`).
fn resource_not_found() -> Reply {
    error(
        StatusCode::NOT_FOUND,
        None,
        "resource not found",
        Map::new(),
    )
}

/// One failed property in a create/update, reported the way HubSpot's validator does.
struct PropertyError {
    name: String,
    code: &'static str,
    message: String,
    /// The offending value, for value errors (absent for unknown properties).
    value: Option<String>,
}

/// The 400 for failed properties. `message` embeds a JSON array whose keys come in
/// HubSpot's order, so it is written by hand rather than through a (sorted) map.
fn property_errors(errors: &[PropertyError]) -> Reply {
    let quote = |s: &str| Value::from(s).to_string();
    let results: Vec<String> = errors
        .iter()
        .map(|e| {
            let value = e
                .value
                .as_deref()
                .map(|v| format!(",\"propertyValue\":{}", quote(v)))
                .unwrap_or_default();
            format!(
                "{{\"isValid\":false,\"message\":{m},\"error\":{c},\"name\":{n},\"localizedErrorMessage\":{m}{value},\"portalId\":{PORTAL_ID}}}",
                m = quote(&e.message),
                c = quote(e.code),
                n = quote(&e.name),
            )
        })
        .collect();
    let details = errors
        .iter()
        .map(|e| {
            json!({"message": e.message, "code": e.code, "context": {"propertyName": [e.name]}})
        })
        .collect();
    let mut extra = Map::new();
    extra.insert("errors".into(), Value::Array(details));
    error(
        StatusCode::BAD_REQUEST,
        Some("VALIDATION_ERROR"),
        format!("Property values were not valid: [{}]", results.join(",")),
        extra,
    )
}

/// The 404 of reads and archives of a missing record.
fn not_found(id: &str) -> Reply {
    let mut extra = Map::new();
    extra.insert("context".into(), json!({"id": [id]}));
    error(
        StatusCode::NOT_FOUND,
        Some("OBJECT_NOT_FOUND"),
        "Object not found.  objectId are usually numeric.",
        extra,
    )
}

/// HubSpot's datetime rendering, e.g. `2025-03-01T10:00:00.000Z`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// HubSpot keeps millisecond timestamps, so a same-millisecond update moves on by one.
fn modified_now(previous: DateTime<Utc>) -> DateTime<Utc> {
    touched(
        previous,
        Utc::now().trunc_subsecs(3),
        TimeDelta::milliseconds(1),
    )
}

/// Validates written `properties` against `ty` and its declared custom properties
/// (`custom`, see [`properties`]), returning the normalized values; an empty string stays
/// empty ("no value": skipped on create, cleared on update).
fn validate_properties(
    ty: &ObjectType,
    custom: &[Value],
    properties: &Map<String, Value>,
) -> Result<BTreeMap<String, String>, Vec<PropertyError>> {
    let mut stored = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, value) in properties {
        let Some(property) = properties::find(ty, custom, name) else {
            let (code, message) = if ty.system().contains(&name.as_str()) {
                (
                    "READ_ONLY_VALUE",
                    format!("\"{name}\" is a read only property; its value cannot be set."),
                )
            } else {
                (
                    "PROPERTY_DOESNT_EXIST",
                    format!("Property \"{name}\" does not exist"),
                )
            };
            errors.push(PropertyError {
                name: name.clone(),
                code,
                message,
                value: None,
            });
            continue;
        };
        let Value::String(text) = value else {
            errors.push(wrong_value_type(name, value));
            continue;
        };
        if text.is_empty() {
            stored.insert(name.clone(), String::new());
            continue;
        }
        let checked = match property {
            PropertyRef::Builtin(property) => check_value(property.kind, text),
            PropertyRef::Custom(definition) => properties::check_custom(definition, text),
        };
        match checked {
            Ok(normalized) => {
                stored.insert(name.clone(), normalized);
            }
            Err((code, message)) => errors.push(PropertyError {
                name: name.clone(),
                code,
                message,
                value: Some(text.clone()),
            }),
        }
    }
    if errors.is_empty() {
        Ok(stored)
    } else {
        Err(errors)
    }
}

/// A property value that is not a JSON string.
fn wrong_value_type(name: &str, value: &Value) -> PropertyError {
    PropertyError {
        name: name.to_owned(),
        code: "INVALID_PROPERTY_VALUE_TYPE",
        message: format!(
            "{value} was not a valid string; property values must be sent as JSON strings."
        ),
        value: Some(value.to_string()),
    }
}

/// Checks one non-empty string value and returns it as HubSpot stores it.
fn check_value(kind: Kind, text: &str) -> Result<String, (&'static str, String)> {
    match kind {
        Kind::Text => Ok(text.to_owned()),
        Kind::Email if is_email(text) => Ok(text.to_owned()),
        Kind::Email => Err(("INVALID_EMAIL", format!("Email address {text} is invalid"))),
        Kind::Number => match text.parse::<f64>() {
            Ok(n) if n.is_finite() && !text.starts_with('+') => Ok(text.to_owned()),
            _ => Err(("INVALID_INTEGER", format!("{text} was not a valid number."))),
        },
        Kind::DateTime => parse_datetime(text).map(timestamp).ok_or_else(|| {
            (
                "INVALID_DATE",
                format!("{text} was not a valid date or timestamp."),
            )
        }),
        Kind::Options(options) if options.iter().any(|(value, _)| *value == text) => {
            Ok(text.to_owned())
        }
        Kind::Options(options) => {
            let listed: Vec<String> = options
                .iter()
                .enumerate()
                .map(|(order, (value, label))| {
                    format!("label: \"{label}\"\nvalue: \"{value}\"\ndisplay_order: {order}\nhidden: false\nread_only: false\n")
                })
                .collect();
            Err((
                "INVALID_OPTION",
                format!(
                    "{text} was not one of the allowed options: [{}]",
                    listed.join(", ")
                ),
            ))
        }
    }
}

/// Datetime property input: epoch milliseconds, `YYYY-MM-DD` (midnight UTC) or RFC 3339.
fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp_millis(text.parse().ok()?);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// An inline association of a create body, resolved against the type table.
struct NewAssociation {
    kind: &'static AssociationType,
    to_id: String,
}

/// Parses `associationCategory` + `associationTypeId` of one `AssociationSpec`, checking it
/// is a HUBSPOT_DEFINED type leading from `from` to `to` (any target when `to` is `None`).
fn parse_spec(
    spec: &Value,
    from: &ObjectType,
    to: Option<&ObjectType>,
) -> Result<&'static AssociationType, Reply> {
    let category = spec.get("associationCategory").and_then(Value::as_str);
    let type_id = spec.get("associationTypeId").and_then(Value::as_u64);
    let (Some(category), Some(type_id)) = (category, type_id) else {
        return Err(invalid_input(
            "Cannot build AssociationSpec, some of required attributes are not set [associationCategory, associationTypeId]",
        ));
    };
    if ![
        "HUBSPOT_DEFINED",
        "USER_DEFINED",
        "INTEGRATOR_DEFINED",
        "WORK",
    ]
    .contains(&category)
    {
        return Err(invalid_input(&format!(
            "Cannot deserialize value of type `AssociationCategory` from String \"{category}\": not one of the values accepted for Enum class: [HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED, WORK]"
        )));
    }
    u32::try_from(type_id)
        .ok()
        .and_then(association_type)
        .filter(|a| {
            category == "HUBSPOT_DEFINED"
                && a.from == from.name
                && to.is_none_or(|to| a.to == to.name)
        })
        .ok_or_else(|| {
            let pair = to.map_or_else(
                || format!("from {}", from.type_id),
                |to| format!("between {} and {}", from.type_id, to.type_id),
            );
            validation_error(format!(
                "{category} association type {type_id} is not valid {pair}"
            ))
        })
}

/// Parses `associations: [{to:{id}, types:[{associationCategory, associationTypeId}]}]`.
fn parse_associations(
    ty: &ObjectType,
    value: Option<&Value>,
) -> Result<Vec<NewAssociation>, Reply> {
    // `null` is refused like any other non-array: the document types `associations` as an
    // array (not nullable), and HubSpot's binding does not read null as "none". A numeric
    // `to.id` stays accepted, as HubSpot's own examples send one and its binding coerces it.
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(invalid_input(
                "Cannot deserialize value of type `java.util.ArrayList<PublicAssociationsForObject>` from non-array value",
            ));
        }
    };
    let mut parsed = Vec::new();
    for item in items {
        let to_id = match item.get("to").and_then(|to| to.get("id")) {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => {
                return Err(invalid_input(
                    "Cannot build PublicAssociationsForObject, some of required attributes are not set [to]",
                ));
            }
        };
        let types = item
            .get("types")
            .and_then(Value::as_array)
            .filter(|types| !types.is_empty())
            .ok_or_else(|| {
                invalid_input(
                    "Cannot build PublicAssociationsForObject, some of required attributes are not set [types]",
                )
            })?;
        for spec in types {
            parsed.push(NewAssociation {
                kind: parse_spec(spec, ty, None)?,
                to_id: to_id.clone(),
            });
        }
    }
    Ok(parsed)
}

/// Records an association (and nothing when it exists already, from either end).
fn associate(
    store: &mut Store,
    from: &'static str,
    from_id: &str,
    to: &'static str,
    to_id: &str,
    type_id: u32,
) {
    let inverse = inverse_kind(type_id);
    let exists = store.associations.iter().any(|a| {
        (a.from_type == from && a.from_id == from_id && a.to_id == to_id && a.type_id == type_id)
            || (a.from_type == to
                && a.from_id == to_id
                && a.to_id == from_id
                && a.type_id == inverse)
    });
    if !exists {
        store.associations.push(Association {
            from_type: from.to_owned(),
            from_id: from_id.to_owned(),
            to_type: to.to_owned(),
            to_id: to_id.to_owned(),
            type_id,
        });
    }
}

/// Associations of record `(object, id)` with records of `other`, seen from the record:
/// `(other id, type id in the record → other direction)`, in creation order.
fn associations_of<'a>(
    store: &'a Store,
    object: &'a str,
    id: &'a str,
    other: &'a str,
) -> impl Iterator<Item = (&'a str, u32)> + 'a {
    store.associations.iter().filter_map(move |a| {
        if a.from_type == object && a.from_id == id && a.to_type == other {
            Some((a.to_id.as_str(), a.type_id))
        } else if a.to_type == object && a.to_id == id && a.from_type == other {
            Some((a.from_id.as_str(), inverse_kind(a.type_id)))
        } else {
            None
        }
    })
}

/// Drops every association touching record `(object, id)`.
fn forget_associations(store: &mut Store, object: &str, id: &str) {
    store.associations.retain(|a| {
        let touches_from = a.from_type == object && a.from_id == id;
        let touches_to = a.to_type == object && a.to_id == id;
        !touches_from && !touches_to
    });
}

/// The contact other than `except` that already has `email` (compared ignoring case).
fn contact_with_email<'a>(
    store: &'a Store,
    email: &str,
    except: Option<&str>,
) -> Option<&'a StoredRecord> {
    store.all(CONTACTS.name).iter().find(|r| {
        except != Some(r.id.as_str())
            && r.fields
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
    })
}

fn duplicate_contact(existing: &StoredRecord) -> Reply {
    error(
        StatusCode::CONFLICT,
        Some("CONFLICT"),
        format!("Contact already exists. Existing ID: {}", existing.id),
        Map::new(),
    )
}

/// The `properties` object of a create or update body.
fn body_properties<'a>(
    body: &'a Map<String, Value>,
    input_type: &str,
) -> Result<Option<&'a Map<String, Value>>, Reply> {
    match body.get("properties") {
        Some(Value::Object(properties)) => Ok(Some(properties)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid_input(&format!(
            "Cannot deserialize value of type `java.util.HashMap<java.lang.String,java.lang.String>` from non-object value (through reference chain: {input_type}[\"properties\"])"
        ))),
    }
}

/// `POST /crm/v3/objects/{objectType}`
async fn create(
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
    let custom = state.with_store(|store| store.custom_fields(ty.name).to_vec());
    match parse_create(ty, &custom, &body) {
        Ok((properties, associations)) => {
            state.with_store(|store| insert(store, ty, properties, &associations))
        }
        Err(response) => response,
    }
}

/// A create body's properties (empty ones dropped) and associations, checked as far as
/// they can be without the store.
fn parse_create(
    ty: &ObjectType,
    custom: &[Value],
    body: &Value,
) -> Result<(BTreeMap<String, String>, Vec<NewAssociation>), Reply> {
    let Value::Object(body) = body else {
        return Err(invalid_input(
            "Cannot construct instance of `SimplePublicObjectInputForCreate` from a non-object value",
        ));
    };
    let properties = match body_properties(body, "SimplePublicObjectInputForCreate")? {
        Some(properties) => properties,
        None => {
            return Err(invalid_input(
                "Cannot build SimplePublicObjectInputForCreate, some of required attributes are not set [properties]",
            ));
        }
    };
    let mut properties =
        validate_properties(ty, custom, properties).map_err(|errors| property_errors(&errors))?;
    properties.retain(|_, v| !v.is_empty());
    let associations = parse_associations(ty, body.get("associations"))?;
    Ok((properties, associations))
}

/// Stores a validated create after the checks that need the store (association targets,
/// duplicate contact e-mail) and answers 201 with the new object.
fn insert(
    store: &mut Store,
    ty: &'static ObjectType,
    properties: BTreeMap<String, String>,
    associations: &[NewAssociation],
) -> Reply {
    for a in associations {
        if store.get(a.kind.to, &a.to_id).is_none() {
            return validation_error(format!(
                "Unable to create association: no object of type {} with id {} exists.",
                object_type(a.kind.to).map_or(a.kind.to, |t| t.type_id),
                a.to_id
            ));
        }
    }
    if let Some(email) = properties.get("email").filter(|_| ty.name == "contacts")
        && let Some(existing) = contact_with_email(store, email, None)
    {
        return duplicate_contact(existing);
    }
    let id = (ID_OFFSET + store.next_sequence()).to_string();
    let now = Utc::now().trunc_subsecs(3);
    let fields = properties
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let record = StoredRecord::new(id.clone(), now, fields);
    let body = render(ty, &record, &Selection::Stored);
    store.insert(ty.name, record);
    for a in associations {
        for kind in implied_kinds(a.kind.id) {
            associate(store, ty.name, &id, a.kind.to, &a.to_id, kind);
        }
    }
    reply(StatusCode::CREATED, body)
}

/// Query parameters of a request, repeated keys kept in order.
struct Params(Vec<(String, String)>);

impl Params {
    /// The last value of `key`, as servlet-style frameworks pick it.
    fn last(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every comma-separated item of every `key` parameter.
    fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// What a GET or list asks to see: properties, associated types and archived records.
struct ReadOptions {
    properties: Vec<String>,
    associated: Vec<&'static ObjectType>,
    archived: bool,
}

impl ReadOptions {
    fn parse(params: &Params) -> Result<ReadOptions, Reply> {
        let mut associated = Vec::new();
        for name in params.list("associations") {
            match object_type(&name) {
                Some(t) => associated.push(t),
                None => return Err(unknown_object_type(&name)),
            }
        }
        let archived = match params.last("archived") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(validation_error(format!(
                    "Unable to process the request: archived must be true or false, got {other}"
                )));
            }
        };
        Ok(ReadOptions {
            properties: params.list("properties"),
            associated,
            archived,
        })
    }

    fn selection(&self) -> Selection<'_> {
        if self.properties.is_empty() {
            Selection::Defaults
        } else {
            Selection::Requested(&self.properties)
        }
    }

    /// A record in the `SimplePublicObjectWithAssociations` shape these options ask for.
    fn render(&self, store: &Store, ty: &ObjectType, record: &StoredRecord) -> Value {
        let mut object = render(ty, record, &self.selection());
        attach_associations(&mut object, store, ty, record, &self.associated);
        object
    }
}

/// Finds a record by id or by a unique property (`idProperty=email` on contacts).
fn find<'a>(
    records: &'a [StoredRecord],
    by_id: impl Fn(&str) -> Option<&'a StoredRecord>,
    ty: &ObjectType,
    id: &str,
    id_property: Option<&str>,
) -> Result<Option<&'a StoredRecord>, Reply> {
    match id_property {
        None | Some("hs_object_id") => Ok(by_id(id)),
        Some("email") if ty.name == "contacts" => Ok(records.iter().find(|r| {
            r.fields
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(id))
        })),
        Some(other) => Err(validation_error(format!(
            "Property \"{other}\" is not a unique identifier for {}",
            ty.name
        ))),
    }
}

/// `GET /crm/v3/objects/{objectType}/{objectId}`
async fn read(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    let (Ok(Path((type_name, id))), Ok(Query(query))) = (path, query) else {
        return HubSpot::unknown_path();
    };
    let Some(ty) = object_type(&type_name) else {
        return unknown_object_type(&type_name);
    };
    let params = Params(query);
    let options = match ReadOptions::parse(&params) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let id_property = params.last("idProperty");
    state.with_store(|store| {
        let found = if options.archived {
            find(
                store.archived(ty.name),
                |id| store.get_archived(ty.name, id),
                ty,
                &id,
                id_property,
            )
        } else {
            find(
                store.all(ty.name),
                |id| store.get(ty.name, id),
                ty,
                &id,
                id_property,
            )
        };
        match found {
            Ok(Some(record)) => reply(StatusCode::OK, options.render(store, ty, record)),
            Ok(None) => not_found(&id),
            Err(response) => response,
        }
    })
}

/// `PATCH /crm/v3/objects/{objectType}/{objectId}`
async fn update(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> Reply {
    let (Ok(Path((type_name, id))), Ok(Query(query))) = (path, query) else {
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
            "Cannot construct instance of `SimplePublicObjectInput` from a non-object value",
        );
    };
    let properties = match body_properties(&body, "SimplePublicObjectInput") {
        Ok(Some(properties)) if !properties.is_empty() => properties,
        Ok(_) => {
            return validation_error("No properties found to update, please provide at least one.");
        }
        Err(response) => return response,
    };
    let custom = state.with_store(|store| store.custom_fields(ty.name).to_vec());
    let properties = match validate_properties(ty, &custom, properties) {
        Ok(properties) => properties,
        Err(errors) => return property_errors(&errors),
    };
    let params = Params(query);
    let id_property = params.last("idProperty");
    state.with_store(|store| {
        let found = find(
            store.all(ty.name),
            |id| store.get(ty.name, id),
            ty,
            &id,
            id_property,
        );
        let record_id = match found {
            Ok(Some(record)) => record.id.clone(),
            Ok(None) => return resource_not_found(),
            Err(response) => return response,
        };
        if let Some(email) = properties
            .get("email")
            .filter(|e| ty.name == "contacts" && !e.is_empty())
            && let Some(existing) = contact_with_email(store, email, Some(&record_id))
        {
            return duplicate_contact(existing);
        }
        let Some(record) = store.get_mut(ty.name, &record_id) else {
            return resource_not_found();
        };
        for (name, value) in properties {
            if value.is_empty() {
                record.fields.remove(&name);
            } else {
                record.fields.insert(name, Value::String(value));
            }
        }
        record.updated_at = modified_now(record.updated_at);
        reply(StatusCode::OK, render(ty, record, &Selection::Stored))
    })
}

/// `DELETE /crm/v3/objects/{objectType}/{objectId}`: archives the record.
async fn archive(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((type_name, id))) = path else {
        return HubSpot::unknown_path();
    };
    let Some(ty) = object_type(&type_name) else {
        return unknown_object_type(&type_name);
    };
    state.with_store(|store| {
        let now = Utc::now().trunc_subsecs(3);
        if store.archive(ty.name, &id, now) {
            forget_associations(store, ty.name, &id);
            no_content()
        } else {
            not_found(&id)
        }
    })
}

/// Largest `limit` of the list endpoint.
const LIST_LIMIT_MAX: usize = 100;

/// Parses a `limit` parameter: default when absent, 400 outside `1..=max`.
fn parse_limit(raw: Option<&str>, default: usize, max: usize) -> Result<usize, Reply> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.trim().parse::<usize>() {
        Ok(limit) if (1..=max).contains(&limit) => Ok(limit),
        _ => Err(validation_error(format!(
            "Invalid limit: {raw}. limit must be an integer between 1 and {max}."
        ))),
    }
}

/// The opaque `after` cursor of list endpoints: base64 of a position number.
fn encode_cursor(position: u64) -> String {
    base64_encode(position.to_string().as_bytes())
}

fn decode_cursor(after: &str) -> Result<u64, Reply> {
    base64_decode(after)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| {
            validation_error(format!(
                "Invalid after value: {after}. Use the paging.next.after value of a previous response."
            ))
        })
}

/// `{"next": {"after", "link"}}` for a cursor.
fn paging(after: &str) -> Value {
    json!({"next": {"after": after, "link": format!("?after={after}")}})
}

/// `GET /crm/v3/objects/{objectType}`
async fn list(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    let (Ok(Path(type_name)), Ok(Query(query))) = (path, query) else {
        return HubSpot::unknown_path();
    };
    let Some(ty) = object_type(&type_name) else {
        return unknown_object_type(&type_name);
    };
    let params = Params(query);
    let options = match ReadOptions::parse(&params) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let limit = match parse_limit(params.last("limit"), 10, LIST_LIMIT_MAX) {
        Ok(limit) => limit,
        Err(response) => return response,
    };
    let after = match params.last("after").filter(|a| !a.is_empty()) {
        None => 0,
        Some(after) => match decode_cursor(after) {
            Ok(after) => after,
            Err(response) => return response,
        },
    };
    state.with_store(|store| {
        let rows = if options.archived {
            store.archived(ty.name)
        } else {
            store.all(ty.name)
        };
        let start = rows.partition_point(|r| r.order < after);
        let page = rows.get(start..).unwrap_or_default();
        let results: Vec<Value> = page
            .iter()
            .take(limit)
            .map(|r| options.render(store, ty, r))
            .collect();
        let mut body = json!({ "results": results });
        if let Some(next) = page.get(limit) {
            body["paging"] = paging(&encode_cursor(next.order));
        }
        reply(StatusCode::OK, body)
    })
}

/// Which properties a rendered object carries.
enum Selection<'a> {
    /// Every stored property (create responses, [`HubSpot::records`]).
    Stored,
    /// The type's default set, where set.
    Defaults,
    /// The listed known properties, `null` when unset; unknown names are ignored.
    Requested(&'a [String]),
}

/// Renders a `SimplePublicObject`.
fn render(ty: &ObjectType, record: &StoredRecord, selection: &Selection<'_>) -> Value {
    let created = timestamp(record.created_at);
    let updated = timestamp(record.updated_at);
    let mut properties = BTreeMap::new();
    let stored = |name: &str| record.fields.get(name).cloned();
    match selection {
        Selection::Stored => {
            properties.extend(record.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Selection::Defaults => {
            for name in ty.defaults {
                if let Some(value) = stored(name) {
                    properties.insert((*name).to_owned(), value);
                }
            }
        }
        Selection::Requested(names) => {
            for name in names.iter() {
                // A stored value is of a built-in or a declared custom property.
                if ty.property(name).is_some() || record.fields.contains_key(name.as_str()) {
                    properties.insert(name.clone(), stored(name).unwrap_or(Value::Null));
                }
            }
        }
    }
    properties.insert("createdate".into(), created.clone().into());
    properties.insert("hs_object_id".into(), record.id.clone().into());
    properties.insert(ty.modified.into(), updated.clone().into());
    let mut object = json!({
        "id": record.id,
        "properties": properties.into_iter().collect::<Map<_, _>>(),
        "createdAt": created,
        "updatedAt": updated,
        "archived": record.archived_at.is_some(),
    });
    if let Some(at) = record.archived_at {
        object["archivedAt"] = timestamp(at).into();
    }
    object
}

/// Adds `associations: {"<type>": {"results": [{id, type}]}}` for the requested types that
/// have any, as v3 reads do.
fn attach_associations(
    object: &mut Value,
    store: &Store,
    ty: &ObjectType,
    record: &StoredRecord,
    associated: &[&ObjectType],
) {
    let mut associations = Map::new();
    for target in associated {
        let results: Vec<Value> = associations_of(store, ty.name, &record.id, target.name)
            .map(|(id, kind)| {
                let label = association_type(kind).map_or("", |a| a.label);
                json!({"id": id, "type": label})
            })
            .collect();
        if !results.is_empty() {
            associations.insert(target.name.into(), json!({ "results": results }));
        }
    }
    if !associations.is_empty() {
        object["associations"] = Value::Object(associations);
    }
}
