//! HubSpot CRM v3 emulator: `/crm/v3/objects/{contacts|companies|deals}`.
//!
//! Stored fields are the record's `properties` (all strings, as HubSpot keeps them);
//! associations live in [`StoredRecord::links`] keyed by `associationTypeId`, on both ends.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, Utc};
use serde_json::{Map, Value, json};

use crate::state::{Link, RATE_WINDOW, SandboxState, Store, StoredRecord, Usage, VendorApi};
use crate::util::{Reply, is_email, parse_json, random_uuid, reply};

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

/// Resolves a path's object type by name or by objectTypeId (`contacts` or `0-1`).
fn object_type(name: &str) -> Option<&'static ObjectType> {
    OBJECT_TYPES
        .into_iter()
        .find(|t| t.name.eq_ignore_ascii_case(name) || t.type_id == name)
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

impl VendorApi for HubSpot {
    fn routes() -> Router<SandboxState> {
        Router::new()
            .route("/crm/v3/objects/{object_type}", post(create))
            .route("/crm/v3/objects/{object_type}/{id}", get(read))
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
        error(
            StatusCode::NOT_FOUND,
            None,
            "resource not found",
            Map::new(),
        )
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
            .map(|r| render(ty, r, &Selection::Stored, &[]))
            .collect()
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

fn unknown_object_type(name: &str) -> Reply {
    validation_error(format!("Unable to infer object type from: {name}"))
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

/// Validates `properties` of a create against `ty`, returning the values to store
/// (empty strings are "no value" and are not stored).
fn validate_properties(
    ty: &ObjectType,
    properties: &Map<String, Value>,
) -> Result<BTreeMap<String, String>, Vec<PropertyError>> {
    let mut stored = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, value) in properties {
        let Some(property) = ty.property(name) else {
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
            errors.push(PropertyError {
                name: name.clone(),
                code: "INVALID_PROPERTY_VALUE_TYPE",
                message: format!(
                    "{value} was not a valid string; property values must be sent as JSON strings."
                ),
                value: Some(value.to_string()),
            });
            continue;
        };
        if text.is_empty() {
            continue;
        }
        match check_value(property.kind, text) {
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

/// Parses `associations: [{to:{id}, types:[{associationCategory, associationTypeId}]}]`.
fn parse_associations(
    ty: &ObjectType,
    value: Option<&Value>,
) -> Result<Vec<NewAssociation>, Reply> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
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
            let kind = u32::try_from(type_id)
                .ok()
                .and_then(association_type)
                .filter(|a| category == "HUBSPOT_DEFINED" && a.from == ty.name)
                .ok_or_else(|| {
                    validation_error(format!(
                        "{category} association type {type_id} is not valid from {}",
                        ty.type_id
                    ))
                })?;
            parsed.push(NewAssociation {
                kind,
                to_id: to_id.clone(),
            });
        }
    }
    Ok(parsed)
}

fn add_link(record: &mut StoredRecord, link: Link) {
    if !record.links.contains(&link) {
        record.links.push(link);
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
    let body = match parse_json(&body) {
        Ok(body) => body,
        Err(e) => {
            return validation_error(format!(
                "Invalid input JSON on line {}, column {}: {}",
                e.line, e.column, e.reason
            ));
        }
    };
    let Value::Object(body) = body else {
        return invalid_input(
            "Cannot construct instance of `SimplePublicObjectInputForCreate` from a non-object value",
        );
    };
    let properties = match body.get("properties") {
        Some(Value::Object(properties)) => properties,
        None | Some(Value::Null) => {
            return invalid_input(
                "Cannot build SimplePublicObjectInputForCreate, some of required attributes are not set [properties]",
            );
        }
        Some(_) => {
            return invalid_input(
                "Cannot deserialize value of type `java.util.HashMap<java.lang.String,java.lang.String>` from non-object value",
            );
        }
    };
    let properties = match validate_properties(ty, properties) {
        Ok(properties) => properties,
        Err(errors) => return property_errors(&errors),
    };
    let associations = match parse_associations(ty, body.get("associations")) {
        Ok(associations) => associations,
        Err(response) => return response,
    };
    state.with_store(|store| insert(store, ty, properties, &associations))
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
    if let Some(email) = properties.get("email").filter(|_| ty.name == "contacts") {
        let existing = store.all(ty.name).iter().find(|r| {
            r.fields
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        if let Some(existing) = existing {
            return error(
                StatusCode::CONFLICT,
                Some("CONFLICT"),
                format!("Contact already exists. Existing ID: {}", existing.id),
                Map::new(),
            );
        }
    }
    let id = (ID_OFFSET + store.next_sequence()).to_string();
    let now = Utc::now().trunc_subsecs(3);
    let mut record = StoredRecord {
        id: id.clone(),
        created_at: now,
        updated_at: now,
        fields: properties
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
        links: Vec::new(),
    };
    for a in associations {
        for kind in implied_kinds(a.kind.id) {
            add_link(
                &mut record,
                Link {
                    object: a.kind.to,
                    id: a.to_id.clone(),
                    kind,
                },
            );
        }
        if let Some(target) = store.get_mut(a.kind.to, &a.to_id) {
            for kind in implied_kinds(a.kind.inverse) {
                add_link(
                    target,
                    Link {
                        object: ty.name,
                        id: id.clone(),
                        kind,
                    },
                );
            }
        }
    }
    let body = render(ty, &record, &Selection::Stored, &[]);
    store.insert(ty.name, record);
    reply(StatusCode::CREATED, body)
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
    let list = |key: &str| -> Vec<String> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut associated = Vec::new();
    for name in list("associations") {
        match object_type(&name) {
            Some(t) => associated.push(t),
            None => return unknown_object_type(&name),
        }
    }
    let archived = query.iter().rev().find(|(k, _)| k == "archived");
    match archived.map(|(_, v)| v.as_str()) {
        None | Some("false") => {}
        // Nothing is archived yet, so no record matches an archived-only read.
        Some("true") => return not_found(&id),
        Some(other) => {
            return validation_error(format!(
                "Unable to process the request: archived must be true or false, got {other}"
            ));
        }
    }
    let id_property = query
        .iter()
        .rev()
        .find(|(k, _)| k == "idProperty")
        .map(|(_, v)| v.as_str());
    let requested = list("properties");
    let selection = if requested.is_empty() {
        Selection::Defaults
    } else {
        Selection::Requested(&requested)
    };
    state.with_store(|store| {
        let found = match id_property {
            None | Some("hs_object_id") => store.get(ty.name, &id),
            Some("email") if ty.name == "contacts" => store.all(ty.name).iter().find(|r| {
                r.fields
                    .get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.eq_ignore_ascii_case(&id))
            }),
            Some(other) => {
                return validation_error(format!(
                    "Property \"{other}\" is not a unique identifier for {}",
                    ty.name
                ));
            }
        };
        match found {
            Some(record) => reply(StatusCode::OK, render(ty, record, &selection, &associated)),
            None => not_found(&id),
        }
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

/// Renders a `SimplePublicObject` (with `associations` when `associated` is non-empty).
fn render(
    ty: &ObjectType,
    record: &StoredRecord,
    selection: &Selection<'_>,
    associated: &[&ObjectType],
) -> Value {
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
                if ty.property(name).is_some() {
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
        "archived": false,
    });
    let mut associations = Map::new();
    for target in associated {
        let results: Vec<Value> = record
            .links
            .iter()
            .filter(|l| l.object == target.name)
            .map(|l| {
                let label = association_type(l.kind).map_or("", |a| a.label);
                json!({"id": l.id, "type": label})
            })
            .collect();
        if !results.is_empty() {
            associations.insert(target.name.into(), json!({ "results": results }));
        }
    }
    if !associations.is_empty() {
        object["associations"] = Value::Object(associations);
    }
    object
}
