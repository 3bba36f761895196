//! Salesforce REST emulator: `/services/data/vNN.N/sobjects/{T}` for Contact, Account,
//! Opportunity and OpportunityContactRole (create, read, update, delete), and a SOQL
//! subset on `/query` with `nextRecordsUrl` paging.
//!
//! Stored fields are the record's writable and computed fields under their canonical API
//! names, typed as Salesforce returns them (numbers as JSON numbers, dates as
//! `YYYY-MM-DD`); system fields are derived from [`StoredRecord`] when rendering.

mod collections;
mod describe;
mod soql;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::state::{SandboxState, Store, StoredRecord, Usage, VendorApi};
use crate::util::{Reply, is_email, no_content, parse_json, reply, touched};

/// Marker type implementing [`VendorApi`] for Salesforce.
pub(crate) struct Salesforce;

/// Daily API allocation reported in `Sforce-Limit-Info` (Developer Edition).
const DAILY_API_LIMIT: usize = 15_000;
/// Version used in `attributes.url` when no request supplies one ([`Salesforce::records`]).
const DEFAULT_VERSION: &str = "v62.0";
/// The 15-character id of the API user owning and creating every record.
const API_USER_ID15: &str = "0055g00000Sbx01";
/// Key prefix of User ids, the target of `OwnerId`.
const USER_PREFIX: &str = "005";

/// Field types, each with Salesforce's JSON coercion and validation.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text(usize),
    Email,
    Phone,
    Url,
    Picklist,
    /// Picklist that rejects values outside its list.
    RestrictedPicklist(&'static [&'static str]),
    /// Lookup to the sObject with the given key prefix.
    Reference(&'static str),
    Int,
    Double,
    Date,
    Bool,
}

impl Kind {
    fn max_len(self) -> Option<usize> {
        match self {
            Kind::Text(n) => Some(n),
            Kind::Email => Some(80),
            Kind::Phone => Some(40),
            Kind::Url | Kind::Picklist | Kind::RestrictedPicklist(_) => Some(255),
            _ => None,
        }
    }
}

struct Field {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    /// False for fields Salesforce computes (`IsWon`, `IsClosed`).
    writable: bool,
}

const fn field(name: &'static str, label: &'static str, kind: Kind) -> Field {
    Field {
        name,
        label,
        kind,
        writable: true,
    }
}

const fn computed(name: &'static str, label: &'static str, kind: Kind) -> Field {
    Field {
        name,
        label,
        kind,
        writable: false,
    }
}

struct SObject {
    name: &'static str,
    prefix: &'static str,
    fields: &'static [Field],
    required: &'static [&'static str],
}

const OWNER: Field = field("OwnerId", "Owner ID", Kind::Reference(USER_PREFIX));

const CONTACT: SObject = SObject {
    name: "Contact",
    prefix: "003",
    fields: &[
        field("FirstName", "First Name", Kind::Text(40)),
        field("LastName", "Last Name", Kind::Text(80)),
        field("Email", "Email", Kind::Email),
        field("Phone", "Business Phone", Kind::Phone),
        field("MobilePhone", "Mobile Phone", Kind::Phone),
        field("Title", "Title", Kind::Text(128)),
        field("AccountId", "Account ID", Kind::Reference("001")),
        OWNER,
        field("Department", "Department", Kind::Text(80)),
        field("Description", "Contact Description", Kind::Text(32_000)),
    ],
    required: &["LastName"],
};

const ACCOUNT: SObject = SObject {
    name: "Account",
    prefix: "001",
    fields: &[
        field("Name", "Account Name", Kind::Text(255)),
        field("Website", "Website", Kind::Url),
        field("Industry", "Industry", Kind::Picklist),
        field("Phone", "Account Phone", Kind::Phone),
        field("NumberOfEmployees", "Employees", Kind::Int),
        field("AnnualRevenue", "Annual Revenue", Kind::Double),
        field("BillingCity", "Billing City", Kind::Text(40)),
        field("BillingCountry", "Billing Country", Kind::Text(80)),
        field("Description", "Account Description", Kind::Text(32_000)),
        OWNER,
    ],
    required: &["Name"],
};

const OPPORTUNITY: SObject = SObject {
    name: "Opportunity",
    prefix: "006",
    fields: &[
        field("Name", "Name", Kind::Text(120)),
        field("StageName", "Stage", Kind::Picklist),
        field("CloseDate", "Close Date", Kind::Date),
        field("Amount", "Amount", Kind::Double),
        field("AccountId", "Account ID", Kind::Reference("001")),
        field("Probability", "Probability (%)", Kind::Double),
        field("Description", "Description", Kind::Text(32_000)),
        OWNER,
        computed("IsWon", "Won", Kind::Bool),
        computed("IsClosed", "Closed", Kind::Bool),
    ],
    required: &["Name", "StageName", "CloseDate"],
};

/// Values of `OpportunityContactRole.Role` in a fresh org.
const CONTACT_ROLES: &[&str] = &[
    "Decision Maker",
    "Economic Buyer",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Business User",
    "Other",
];

/// The Opportunity ↔ Contact junction.
const OPPORTUNITY_CONTACT_ROLE: SObject = SObject {
    name: "OpportunityContactRole",
    prefix: "00K",
    fields: &[
        field("OpportunityId", "Opportunity ID", Kind::Reference("006")),
        field("ContactId", "Contact ID", Kind::Reference("003")),
        field("Role", "Role", Kind::RestrictedPicklist(CONTACT_ROLES)),
        field("IsPrimary", "Primary", Kind::Bool),
    ],
    required: &["OpportunityId", "ContactId"],
};

const SOBJECTS: [&SObject; 4] = [&CONTACT, &ACCOUNT, &OPPORTUNITY, &OPPORTUNITY_CONTACT_ROLE];

/// Records removed together with a deleted record: `(child sObject, lookup field)` per
/// parent, as Salesforce cascades account and junction deletes.
const CASCADES: &[(&str, &str, &str)] = &[
    ("Account", "Contact", "AccountId"),
    ("Account", "Opportunity", "AccountId"),
    ("Contact", "OpportunityContactRole", "ContactId"),
    ("Opportunity", "OpportunityContactRole", "OpportunityId"),
];

/// Fields every record has and Salesforce alone sets.
const SYSTEM_FIELDS: [&str; 7] = [
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
];

/// Default opportunity stages with their default probability (%).
const STAGES: &[(&str, f64)] = &[
    ("Prospecting", 10.0),
    ("Qualification", 10.0),
    ("Needs Analysis", 20.0),
    ("Value Proposition", 50.0),
    ("Id. Decision Makers", 60.0),
    ("Perception Analysis", 70.0),
    ("Proposal/Price Quote", 75.0),
    ("Negotiation/Review", 90.0),
    ("Closed Won", 100.0),
    ("Closed Lost", 0.0),
];

/// The sObject a URL names (ignoring case), with the custom fields declared on it.
fn sobject(state: &SandboxState, name: &str) -> Option<&'static SObject> {
    state.with_store(|store| describe::find(&describe::schema(store), name))
}

impl SObject {
    /// A writable or computed field by API name, ignoring case as Salesforce does.
    fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

fn system_field(name: &str) -> Option<&'static str> {
    SYSTEM_FIELDS
        .into_iter()
        .find(|f| f.eq_ignore_ascii_case(name))
}

/// Accepts `vNN.0` for every REST version Salesforce has shipped or may ship (v20.0+).
fn valid_version(version: &str) -> bool {
    version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            major.len() == 2 && major.parse::<u32>().is_ok_and(|m| m >= 20) && minor == "0"
        })
}

impl VendorApi for Salesforce {
    fn routes() -> Router<SandboxState> {
        Router::new()
            .route("/services/data/{version}/sobjects/{sobject}", post(create))
            .route("/services/data/{version}/sobjects/{sobject}/", post(create))
            .route(
                "/services/data/{version}/sobjects/{sobject}/describe",
                get(describe::describe),
            )
            .route(
                "/services/data/{version}/sobjects/{sobject}/{id}",
                get(read).patch(update).delete(delete),
            )
            .route(
                "/services/data/{version}/composite/sobjects",
                post(collections::create).patch(collections::update),
            )
            .route("/services/data/{version}/query", get(soql::query))
            .route("/services/data/{version}/query/", get(soql::query))
            .route("/services/data/{version}/query/{locator}", get(soql::more))
    }

    fn unauthorized() -> Reply {
        error(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            None,
        )
    }

    fn unknown_path() -> Reply {
        not_found()
    }

    fn quota_fault() -> Reply {
        Self::fault(StatusCode::FORBIDDEN)
    }

    fn daily_limit() -> Option<usize> {
        Some(DAILY_API_LIMIT)
    }

    fn token_path() -> &'static str {
        "/services/oauth2/token"
    }

    fn fault(status: StatusCode) -> Reply {
        // Salesforce has no 429: a spent daily allocation is a 403, overload a 503.
        match status {
            StatusCode::FORBIDDEN => error(
                status,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
                None,
            ),
            StatusCode::SERVICE_UNAVAILABLE => error(
                status,
                "SERVER_UNAVAILABLE",
                "Server temporarily unavailable.",
                None,
            ),
            _ => error(
                status,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred.",
                None,
            ),
        }
    }

    fn method_not_allowed(method: &Method) -> Reply {
        error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            &format!("HTTP Method '{method}' not allowed."),
            None,
        )
    }

    fn body_too_large() -> Reply {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "JSON_PARSER_ERROR",
            "Request body exceeds the maximum size",
            None,
        )
    }

    fn usage_headers(headers: &mut HeaderMap, usage: Usage) {
        let info = format!("api-usage={}/{DAILY_API_LIMIT}", usage.total);
        if let Ok(value) = HeaderValue::from_str(&info) {
            headers.insert("sforce-limit-info", value);
        }
    }

    fn declare_custom_field(store: &mut Store, object: &str, name: &str) -> Result<(), String> {
        describe::declare_text(store, object, name)
    }

    fn seed(store: &mut Store, object: &str, count: usize) -> Vec<String> {
        let Some(sobject) =
            sobject_by_name(object).filter(|s| s.name != OPPORTUNITY_CONTACT_ROLE.name)
        else {
            return Vec::new();
        };
        let taken: std::collections::HashSet<String> = if sobject.name == CONTACT.name {
            store
                .all(sobject.name)
                .iter()
                .filter_map(|r| r.fields.get("Email").and_then(Value::as_str))
                .map(str::to_ascii_lowercase)
                .collect()
        } else {
            Default::default()
        };
        let now = Utc::now().trunc_subsecs(3);
        let owner = Value::String(api_user_id());
        store.reserve(sobject.name, count);
        let mut ids = Vec::with_capacity(count);
        while ids.len() < count {
            let n = {
                let counter = store.seed_counter(sobject.name);
                *counter += 1;
                *counter
            };
            let mut fields = Map::new();
            match sobject.name {
                "Contact" => {
                    let email = format!("person{n}@example.com");
                    if taken.contains(&email) {
                        continue;
                    }
                    fields.insert("FirstName".into(), "Person".into());
                    fields.insert("LastName".into(), n.to_string().into());
                    fields.insert("Email".into(), email.into());
                }
                "Account" => {
                    fields.insert("Name".into(), format!("Company {n}").into());
                    fields.insert("Website".into(), format!("company{n}.example.com").into());
                }
                _ => {
                    fields.insert("Name".into(), format!("Deal {n}").into());
                    fields.insert("StageName".into(), "Prospecting".into());
                    fields.insert("CloseDate".into(), "2026-01-31".into());
                    fields.insert("Amount".into(), ((n * 100) as f64).into());
                    derive_opportunity(&mut fields, true, false);
                }
            }
            fields.insert("OwnerId".into(), owner.clone());
            let id = new_id(sobject.prefix, store.next_sequence());
            store.insert(sobject.name, StoredRecord::new(id.clone(), now, fields));
            ids.push(id);
        }
        ids
    }

    fn records(store: &Store, object: &str) -> Vec<Value> {
        let Some(sobject) = sobject_by_name(object).map(|s| describe::with_custom(store, s)) else {
            return Vec::new();
        };
        store
            .all(sobject.name)
            .iter()
            .map(|r| render(sobject, r, DEFAULT_VERSION, None))
            .collect()
    }
}

/// A single-record error body: a JSON array with one `{message, errorCode, fields?}`.
fn error(status: StatusCode, code: &str, message: &str, fields: Option<&[&str]>) -> Reply {
    let mut entry = json!({"message": message, "errorCode": code});
    if let Some(fields) = fields {
        entry["fields"] = json!(fields);
    }
    reply(status, Value::Array(vec![entry]))
}

fn bad_request(code: &str, message: &str, fields: Option<&[&str]>) -> Reply {
    error(StatusCode::BAD_REQUEST, code, message, fields)
}

fn not_found() -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
        None,
    )
}

/// `JSON_PARSER_ERROR` for a value Salesforce's binder cannot coerce to `type_name`.
fn coercion_error(type_name: &str, value: &Value) -> Reply {
    let token = match value {
        Value::String(_) => "VALUE_STRING",
        Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    };
    let shown = match value {
        Value::String(s) => s.clone(),
        Value::Array(_) => "[".into(),
        Value::Object(_) => "{".into(),
        other => other.to_string(),
    };
    bad_request(
        "JSON_PARSER_ERROR",
        &format!(
            "Cannot deserialize instance of {type_name} from {token} value {shown} or request may be missing a required field"
        ),
        None,
    )
}

/// Salesforce's datetime rendering, e.g. `2025-03-01T10:00:00.000+0000`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 18-character form of a 15-character id: three checksum characters encoding which
/// of each five characters are upper case.
fn with_checksum(id15: &str) -> String {
    const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let suffix: String = id15
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            char::from(SUFFIX[bits])
        })
        .collect();
    format!("{id15}{suffix}")
}

/// A new 18-character id: key prefix, a fixed pod/instance part and a base-62 sequence.
fn new_id(prefix: &str, sequence: u64) -> String {
    let mut digits = [b'0'; 6];
    let mut n = sequence;
    for slot in digits.iter_mut().rev() {
        *slot = ID_ALPHABET[usize::try_from(n % 62).unwrap_or(0)];
        n /= 62;
    }
    let digits: String = digits.iter().map(|b| char::from(*b)).collect();
    with_checksum(&format!("{prefix}5g0000{digits}"))
}

/// The canonical 18-character form of a 15- or 18-character id, if it is well formed.
fn canonical_id(id: &str) -> Option<String> {
    let well_formed = matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| with_checksum(&id[..15]))
}

fn api_user_id() -> String {
    with_checksum(API_USER_ID15)
}

/// Coerces one JSON value to the field's stored form, as Salesforce's JSON binder does.
fn coerce(field: &Field, value: &Value) -> Result<Value, Reply> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match field.kind {
        Kind::Text(_)
        | Kind::Email
        | Kind::Phone
        | Kind::Url
        | Kind::Picklist
        | Kind::RestrictedPicklist(_)
        | Kind::Reference(_) => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(_) | Value::Bool(_) => Ok(Value::String(value.to_string())),
            _ => Err(coercion_error("string", value)),
        },
        Kind::Int => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| coercion_error("int", value)),
            _ => Err(coercion_error("int", value)),
        },
        Kind::Double => {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
                _ => None,
            };
            number
                .map(Value::from)
                .ok_or_else(|| coercion_error("double", value))
        }
        Kind::Date => match value {
            Value::String(s) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {
                Ok(value.clone())
            }
            _ => Err(coercion_error("date", value)),
        },
        Kind::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(coercion_error("boolean", value)),
        },
    }
}

/// Whether a body is checked as an insert (all required fields) or an update (only the
/// fields it names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Insert,
    Update,
}

/// Parses a request body as a JSON object of fields.
fn body_fields(sobject: &SObject, body: &[u8]) -> Result<Map<String, Value>, Reply> {
    let body = parse_json(body).map_err(|e| {
        bad_request(
            "JSON_PARSER_ERROR",
            &format!("{} at [line:{}, column:{}]", e.reason, e.line, e.column),
            None,
        )
    })?;
    match body {
        Value::Object(body) => Ok(body),
        other => Err(coercion_error(sobject.name, &other)),
    }
}

/// `POST /services/data/{version}/sobjects/{sobject}/`
async fn create(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path((version, name))) = path else {
        return not_found();
    };
    let Some(sobject) = sobject(&state, &name).filter(|_| valid_version(&version)) else {
        return not_found();
    };
    let fields =
        match body_fields(sobject, &body).and_then(|b| parse_fields(sobject, &b, Write::Insert)) {
            Ok(fields) => fields,
            Err(response) => return response,
        };
    state.with_store(|store| insert(store, sobject, &version, fields))
}

/// Maps a write body to stored fields, checking names, writability, types, required
/// fields, e-mail syntax, picklists and lengths — the checks that need no other record.
fn parse_fields(
    sobject: &SObject,
    body: &Map<String, Value>,
    mode: Write,
) -> Result<Map<String, Value>, Reply> {
    let mut fields = Map::new();
    for (key, value) in body {
        // Clients may echo the record's `attributes` (as in collections); it is not a field.
        if key == "attributes" {
            continue;
        }
        let field = match (sobject.field(key), system_field(key)) {
            (Some(field), _) if field.writable => field,
            (Some(field), _) => return Err(read_only(field.name)),
            (None, Some("Id")) if mode == Write::Insert => {
                return Err(bad_request(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    "cannot specify Id in an insert call",
                    Some(&["Id"]),
                ));
            }
            (None, Some(name)) => return Err(read_only(name)),
            (None, None) => {
                return Err(bad_request(
                    "INVALID_FIELD",
                    &format!("No such column '{key}' on sobject of type {}", sobject.name),
                    None,
                ));
            }
        };
        fields.insert(field.name.to_owned(), coerce(field, value)?);
    }
    let missing: Vec<&str> = sobject
        .required
        .iter()
        .copied()
        .filter(|name| mode == Write::Insert || fields.contains_key(*name))
        .filter(|name| match fields.get(*name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        })
        .collect();
    if !missing.is_empty() {
        return Err(bad_request(
            "REQUIRED_FIELD_MISSING",
            &format!("Required fields are missing: [{}]", missing.join(", ")),
            Some(&missing),
        ));
    }
    for field in sobject.fields {
        let Some(Value::String(text)) = fields.get(field.name) else {
            continue;
        };
        if matches!(field.kind, Kind::Email) && !text.is_empty() && !is_email(text) {
            return Err(bad_request(
                "INVALID_EMAIL_ADDRESS",
                &format!("{}: invalid email address: {text}", field.label),
                Some(&[field.name]),
            ));
        }
        if let Kind::RestrictedPicklist(values) = field.kind
            && !text.is_empty()
            && !values.contains(&text.as_str())
        {
            return Err(bad_request(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                &format!(
                    "{}: bad value for restricted picklist field: {text}",
                    field.label
                ),
                Some(&[field.name]),
            ));
        }
        if let Some(max) = field
            .kind
            .max_len()
            .filter(|max| text.chars().count() > *max)
        {
            return Err(bad_request(
                "STRING_TOO_LONG",
                &format!(
                    "{}: data value too large: {text} (max length={max})",
                    field.label
                ),
                Some(&[field.name]),
            ));
        }
    }
    Ok(fields)
}

fn read_only(name: &str) -> Reply {
    bad_request(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        &format!(
            "Unable to create/update fields: {name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set."
        ),
        Some(&[name]),
    )
}

/// Checks the lookups among `fields` against the store and stores them as 18-character
/// ids (an empty string clears a lookup).
fn resolve_references(
    store: &Store,
    sobject: &SObject,
    fields: &mut Map<String, Value>,
) -> Result<(), Reply> {
    for field in sobject.fields {
        let Kind::Reference(prefix) = field.kind else {
            continue;
        };
        let Some(Value::String(raw)) = fields.get(field.name) else {
            continue;
        };
        if raw.is_empty() {
            fields.insert(field.name.to_owned(), Value::Null);
            continue;
        }
        let message = format!("{}: id value of incorrect type: {raw}", field.label);
        let Some(id) = canonical_id(raw) else {
            return Err(bad_request("MALFORMED_ID", &message, Some(&[field.name])));
        };
        if !id.starts_with(prefix) {
            return Err(bad_request(
                "FIELD_INTEGRITY_EXCEPTION",
                &message,
                Some(&[field.name]),
            ));
        }
        let exists = match SOBJECTS.into_iter().find(|s| s.prefix == prefix) {
            Some(target) => store.get(target.name, &id).is_some(),
            None => id == api_user_id(),
        };
        if !exists {
            return Err(bad_request(
                "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                &format!("insufficient access rights on cross-reference id: {raw}"),
                Some(&[]),
            ));
        }
        fields.insert(field.name.to_owned(), Value::String(id));
    }
    Ok(())
}

/// Sets the fields Salesforce derives: `IsWon`/`IsClosed` from the stage and, when the
/// stage changes without an explicit probability, the stage's default `Probability`.
fn derive_opportunity(
    fields: &mut Map<String, Value>,
    stage_changed: bool,
    probability_given: bool,
) {
    let stage = fields
        .get("StageName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    fields.insert("IsWon".into(), (stage == "Closed Won").into());
    fields.insert("IsClosed".into(), stage.starts_with("Closed").into());
    if stage_changed && !probability_given {
        let probability = STAGES.iter().find(|(s, _)| *s == stage).map(|(_, p)| *p);
        fields.insert("Probability".into(), probability.into());
    }
}

/// Resolves lookups and duplicate rules against the store, fills defaults and computed
/// fields, stores the record and answers 201.
fn insert(
    store: &mut Store,
    sobject: &'static SObject,
    version: &str,
    mut fields: Map<String, Value>,
) -> Reply {
    if let Err(response) = resolve_references(store, sobject, &mut fields) {
        return response;
    }
    if let Some(existing) = duplicate_contact(store, sobject, &fields, None) {
        return duplicates_detected(version, &existing);
    }
    if sobject.field("OwnerId").is_some() && fields.get("OwnerId").is_none_or(Value::is_null) {
        fields.insert("OwnerId".into(), api_user_id().into());
    }
    if sobject.name == OPPORTUNITY.name {
        let probability_given = fields.get("Probability").is_some_and(|p| !p.is_null());
        derive_opportunity(&mut fields, true, probability_given);
    }
    if sobject.name == OPPORTUNITY_CONTACT_ROLE.name
        && fields.get("IsPrimary").is_none_or(Value::is_null)
    {
        fields.insert("IsPrimary".into(), false.into());
    }
    let id = new_id(sobject.prefix, store.next_sequence());
    let now = Utc::now().trunc_subsecs(3);
    store.insert(sobject.name, StoredRecord::new(id.clone(), now, fields));
    reply(
        StatusCode::CREATED,
        json!({"id": id, "success": true, "errors": []}),
    )
}

/// `PATCH /services/data/{version}/sobjects/{sobject}/{id}`: changes the named fields and
/// answers 204 without a body.
async fn update(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path((version, name, id))) = path else {
        return not_found();
    };
    let Some(sobject) = sobject(&state, &name).filter(|_| valid_version(&version)) else {
        return not_found();
    };
    let Some(id) = canonical_id(&id) else {
        return not_found();
    };
    let fields =
        match body_fields(sobject, &body).and_then(|b| parse_fields(sobject, &b, Write::Update)) {
            Ok(fields) => fields,
            Err(response) => return response,
        };
    state.with_store(|store| apply_update(store, sobject, &version, &id, fields))
}

/// Checks an update against the store (the record, lookups, duplicate rules) and applies
/// it, answering 204.
fn apply_update(
    store: &mut Store,
    sobject: &'static SObject,
    version: &str,
    id: &str,
    mut fields: Map<String, Value>,
) -> Reply {
    {
        if store.get(sobject.name, id).is_none() {
            return not_found();
        }
        if let Err(response) = resolve_references(store, sobject, &mut fields) {
            return response;
        }
        if let Some(existing) = duplicate_contact(store, sobject, &fields, Some(id)) {
            return duplicates_detected(version, &existing);
        }
        let Some(record) = store.get_mut(sobject.name, id) else {
            return not_found();
        };
        let stage_changed = fields.contains_key("StageName");
        let probability_given = fields.get("Probability").is_some_and(|p| !p.is_null());
        for (key, value) in fields {
            record.fields.insert(key, value);
        }
        if sobject.name == OPPORTUNITY.name {
            derive_opportunity(&mut record.fields, stage_changed, probability_given);
        }
        record.updated_at = touched(
            record.updated_at,
            Utc::now().trunc_subsecs(3),
            TimeDelta::milliseconds(1),
        );
        no_content()
    }
}

/// `DELETE /services/data/{version}/sobjects/{sobject}/{id}`: removes the record and
/// what Salesforce deletes with it (see [`CASCADES`]), answering 204.
async fn delete(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((version, name, id))) = path else {
        return not_found();
    };
    let Some(sobject) = sobject(&state, &name).filter(|_| valid_version(&version)) else {
        return not_found();
    };
    let Some(id) = canonical_id(&id) else {
        return not_found();
    };
    state.with_store(|store| {
        if store.remove(sobject.name, &id).is_none() {
            return not_found();
        }
        let mut removed = vec![(sobject.name, id)];
        while let Some((parent, parent_id)) = removed.pop() {
            for (_, child, lookup) in CASCADES.iter().filter(|(p, _, _)| *p == parent) {
                let children: Vec<String> = store
                    .all(child)
                    .iter()
                    .filter(|r| {
                        r.fields.get(*lookup).and_then(Value::as_str) == Some(parent_id.as_str())
                    })
                    .map(|r| r.id.clone())
                    .collect();
                for child_id in children {
                    if let Some(child_object) = sobject_by_name(child) {
                        store.remove(child_object.name, &child_id);
                        removed.push((child_object.name, child_id));
                    }
                }
            }
        }
        no_content()
    })
}

fn sobject_by_name(name: &str) -> Option<&'static SObject> {
    SOBJECTS.into_iter().find(|s| s.name == name)
}

/// The id of an existing Contact (other than `except`) with the same e-mail, ignoring
/// case, which the standard Contact duplicate rule blocks.
fn duplicate_contact(
    store: &Store,
    sobject: &SObject,
    fields: &Map<String, Value>,
    except: Option<&str>,
) -> Option<String> {
    if sobject.name != "Contact" {
        return None;
    }
    let email = fields
        .get("Email")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())?;
    store
        .all(sobject.name)
        .iter()
        .find(|r| {
            except != Some(r.id.as_str())
                && r.fields
                    .get("Email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .map(|r| r.id.clone())
}

/// The 400 a blocking duplicate rule gives, with its misspelled `duplicateResut` key.
fn duplicates_detected(version: &str, existing_id: &str) -> Reply {
    let message =
        "You're creating a duplicate record. We recommend you use an existing record instead.";
    reply(
        StatusCode::BAD_REQUEST,
        json!([{
            "duplicateResut": {
                "allowSave": false,
                "duplicateRule": "Standard_Contact_Duplicate_Rule",
                "duplicateRuleEntityType": "Contact",
                "errorMessage": message,
                "matchResults": [{
                    "entityType": "Contact",
                    "errors": [],
                    "matchEngine": "FuzzyMatchEngine",
                    "matchRecords": [{
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {
                            "attributes": {
                                "type": "Contact",
                                "url": format!("/services/data/{version}/sobjects/Contact/{existing_id}"),
                            },
                            "Id": existing_id,
                        },
                    }],
                    "rule": "Standard_Contact_Match_Rule_v1_1",
                    "size": 1,
                    "success": true,
                }],
            },
            "errorCode": "DUPLICATES_DETECTED",
            "message": message,
        }]),
    )
}

/// `GET /services/data/{version}/sobjects/{sobject}/{id}`
async fn read(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Reply {
    let (Ok(Path((version, name, id))), Ok(Query(query))) = (path, query) else {
        return not_found();
    };
    let Some(sobject) = sobject(&state, &name).filter(|_| valid_version(&version)) else {
        return not_found();
    };
    let requested = match query.iter().rev().find(|(k, _)| k == "fields") {
        None => None,
        Some((_, list)) => match requested_fields(sobject, list) {
            Ok(names) => Some(names),
            Err(response) => return response,
        },
    };
    let Some(id) = canonical_id(&id) else {
        return not_found();
    };
    state.with_store(|store| match store.get(sobject.name, &id) {
        Some(record) => reply(
            StatusCode::OK,
            render(sobject, record, &version, requested.as_deref()),
        ),
        None => not_found(),
    })
}

/// Resolves a `fields=` list to canonical names; an unknown name fails the whole read.
fn requested_fields(sobject: &SObject, list: &str) -> Result<Vec<&'static str>, Reply> {
    list.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|name| {
            sobject
                .field(name)
                .map(|f| f.name)
                .or_else(|| system_field(name))
                .ok_or_else(|| {
                    bad_request(
                        "INVALID_FIELD",
                        &format!(
                            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                            sobject.name
                        ),
                        None,
                    )
                })
        })
        .collect()
}

/// Renders a record with `attributes`, either complete or limited to `requested` fields.
fn render(
    sobject: &SObject,
    record: &StoredRecord,
    version: &str,
    requested: Option<&[&str]>,
) -> Value {
    let mut all = Map::new();
    all.insert("Id".into(), record.id.clone().into());
    all.insert("IsDeleted".into(), false.into());
    for field in sobject.fields {
        let value = record
            .fields
            .get(field.name)
            .cloned()
            .unwrap_or(Value::Null);
        all.insert(field.name.into(), value);
    }
    let user = api_user_id();
    all.insert("CreatedDate".into(), timestamp(record.created_at).into());
    all.insert("CreatedById".into(), user.clone().into());
    all.insert(
        "LastModifiedDate".into(),
        timestamp(record.updated_at).into(),
    );
    all.insert("LastModifiedById".into(), user.into());
    all.insert("SystemModstamp".into(), timestamp(record.updated_at).into());
    let mut out = match requested {
        None => all,
        Some(names) => names
            .iter()
            .map(|n| ((*n).to_owned(), all.get(*n).cloned().unwrap_or(Value::Null)))
            .collect(),
    };
    out.insert(
        "attributes".into(),
        json!({
            "type": sobject.name,
            "url": format!("/services/data/{version}/sobjects/{}/{}", sobject.name, record.id),
        }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_checksum() {
        let id = new_id("003", 1);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("0035g0000"));
        // Known pair from Salesforce documentation.
        assert_eq!(with_checksum("001A0000006Vm9r"), "001A0000006Vm9rIAC");
        assert_eq!(canonical_id(&id[..15]), Some(id.clone()));
        assert_eq!(canonical_id("not-an-id"), None);
    }

    #[test]
    fn versions() {
        assert!(valid_version("v62.0"));
        assert!(valid_version("v20.0"));
        assert!(!valid_version("v19.0"));
        assert!(!valid_version("62.0"));
        assert!(!valid_version("v62"));
    }
}
