//! One provider's mapping of one unified model, lowered: how each field is written and
//! read, and the HTTP call behind each action.

use crate::ir::Seg;
use crate::ir::composite::KeyPath;
use crate::ir::model::FieldType;

/// A constant JSON value from YAML (a list action's fixed request body).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// A two-way table between unified values and provider values (an enum map).
#[derive(Clone, Debug, PartialEq)]
pub struct ValueMap {
    /// `(unified, provider)`; on read the first pair naming a provider value wins.
    pub pairs: Vec<(String, String)>,
    /// The unified value for provider values the table does not list (else the raw
    /// value is kept, as an enum's `Other`).
    pub read_fallback: Option<String>,
    /// The provider value for unified values the table does not list (else the field
    /// is not sent).
    pub write_fallback: Option<String>,
}

/// A constant written by a mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// How one unified field (or a computed value) goes into the provider's request body.
#[derive(Clone, Debug)]
pub enum Write {
    /// A scalar field at a path; `provider_type` is the OpenAPI type there, so numbers
    /// bound for HubSpot's string-only properties are written as strings.
    Scalar {
        field: String,
        ty: FieldType,
        path: Vec<Seg>,
        provider_type: Option<String>,
        default: Option<Const>,
        values: Option<ValueMap>,
        /// Sent on create only (e.g. HubSpot's inline associations).
        create_only: bool,
        /// provider value = unified value × scale (percent 0..100 vs fraction 0..1).
        scale: Option<f64>,
    },
    /// A JSON object written at `path` with the unified value in place of `$value`
    /// (a link: `{to: {id: $value}, types: [...]}`).
    Template {
        field: String,
        ty: FieldType,
        path: Vec<Seg>,
        template: Json,
        create_only: bool,
    },
    /// A unified list written to a provider scalar: the first element's `item_field`.
    Primary {
        field: String,
        item_field: String,
        item_ty: FieldType,
        path: Vec<Seg>,
        provider_type: Option<String>,
    },
    /// A unified list written element by element to a provider array.
    Each {
        field: String,
        subs: Vec<(String, FieldType, Vec<Seg>)>,
        path: Vec<Seg>,
    },
    /// Present parts joined by `separator`; `default` when every part is missing.
    Join {
        parts: Vec<String>,
        separator: String,
        path: Vec<Seg>,
        default: Option<String>,
    },
    Const {
        path: Vec<Seg>,
        value: Const,
    },
    /// The current instant, ISO-8601.
    Now {
        path: Vec<Seg>,
    },
    /// `write` only when unified field `field` is set (`present`) or unset.
    When {
        field: String,
        present: bool,
        write: Box<Write>,
    },
}

impl Write {
    pub fn path(&self) -> &[Seg] {
        match self {
            Write::Scalar { path, .. }
            | Write::Template { path, .. }
            | Write::Primary { path, .. }
            | Write::Each { path, .. }
            | Write::Join { path, .. }
            | Write::Const { path, .. }
            | Write::Now { path } => path,
            Write::When { write, .. } => write.path(),
        }
    }
}

/// How one unified field is read from the provider's record.
#[derive(Clone, Debug)]
pub enum Read {
    Scalar {
        field: String,
        ty: FieldType,
        path: Vec<Seg>,
        required: bool,
        values: Option<ValueMap>,
        scale: Option<f64>,
        /// Read one part of a full name: `Some(true)` the first, `Some(false)` the last.
        split: Option<bool>,
    },
    Primary {
        field: String,
        item_type: String,
        item_field: String,
        item_ty: FieldType,
        path: Vec<Seg>,
    },
    Each {
        field: String,
        item_type: String,
        subs: Vec<(String, FieldType, Vec<Seg>)>,
        path: Vec<Seg>,
    },
    /// A list of strings, one per element of a provider array, without duplicates
    /// (the ids of linked records).
    EachString {
        field: String,
        path: Vec<Seg>,
        sub: Vec<Seg>,
    },
    /// The whole provider record (`$`), e.g. into `remote_data`.
    Record { field: String },
}

#[derive(Clone, Debug)]
pub enum Returns {
    /// The create response is the record.
    Record,
    /// The create response only carries the id (at this path); the record is read
    /// back with the mapping's `get` action.
    IdThenGet(Vec<Seg>),
    /// The response has no record (Salesforce's 204 on update): read it back by id.
    Nothing,
}

#[derive(Clone, Debug)]
pub struct HttpCall {
    pub operation: String,
    pub method: String,
    pub path: String,
    /// The path parameter that takes the record id, for `get`.
    pub id_param: Option<String>,
    pub query: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct UpdateAction {
    pub call: HttpCall,
    /// `Record`: the response is the updated record; `Nothing`: read it back.
    pub returns: Returns,
    /// Read the current record first and send the merged whole (for providers that
    /// replace composite values such as Attio's personal name whole).
    pub merge_current: bool,
}

/// A list filtered on modification time: its own operation (HubSpot search) or the
/// list operation with other query values (a SOQL `WHERE`); strings may use
/// `{modified_since}` (ISO-8601) and `{modified_since_ms}` (epoch milliseconds).
#[derive(Clone, Debug)]
pub struct SinceAction {
    pub call: HttpCall,
    pub body: Option<Json>,
    /// Overrides where pagination parameters go (search endpoints take them in the body).
    pub params_in_body: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct ListAction {
    pub call: HttpCall,
    /// A constant JSON body (POST queries), to which pagination adds its parameters.
    pub body: Option<Json>,
    /// The request to send instead when `modified_since` is given.
    pub modified_since: Option<SinceAction>,
}

/// Per-connection custom fields: the connection maps a unified name to a provider
/// field, written and read at `under` + provider field + `value_path`.
#[derive(Clone, Debug)]
pub struct CustomFields {
    /// The unified json field holding them (`custom_fields`).
    pub field: String,
    pub under: Vec<Seg>,
    pub value_path: Vec<Seg>,
    /// The provider stores every value as a string (HubSpot).
    pub strings: bool,
}

/// Provider-specific extras a write input passes through unmapped.
#[derive(Clone, Debug)]
pub struct Passthrough {
    /// The unified json field holding them (`remote_fields`).
    pub field: String,
    pub under: Vec<Seg>,
}

/// Create, and on a uniqueness conflict update the existing record: the one the
/// conflict names, or else the one `find_by` finds with the key from the input.
#[derive(Clone, Debug)]
pub struct Upsert {
    pub find_by: String,
    pub key: KeyPath,
    /// Look the record up first, for providers that do not refuse a duplicate (HubSpot
    /// companies and Salesforce accounts accept two records with one domain).
    pub find_first: bool,
}

#[derive(Clone, Debug)]
pub struct FindAction {
    /// The name after `by_`, e.g. `email`.
    pub key: String,
    /// Query values may use `{key}` and `{key:soql}` (quoted for a SOQL literal).
    pub call: HttpCall,
    /// A JSON body whose strings may use `{key}`.
    pub body: Option<Json>,
    /// Where the matching records are in the response.
    pub records: Vec<Seg>,
}

#[derive(Clone, Debug)]
pub struct LinkAction {
    /// The linked model, snake_case (`contact`).
    pub target: String,
    pub call: HttpCall,
    /// Path parameters in path order, each bound to `from` or `to`.
    pub params: Vec<(String, bool)>,
    /// A JSON body whose strings may be `{from}` or `{to}`.
    pub body: Option<Json>,
}

/// Many creates or updates in one request (`batch:` under a create or update): the
/// queue sends coalesced jobs this way.
#[derive(Clone, Debug)]
pub struct BatchAction {
    pub call: HttpCall,
    /// The most items one request takes.
    pub max: usize,
    /// The request's other fields (`allOrNone: false`).
    pub body: Option<Json>,
    /// Where the item array goes in the request body.
    pub items: Vec<Seg>,
    /// Fields added to every item (Salesforce's `attributes.type`).
    pub item: Option<Json>,
    /// Where each item's record id goes (updates).
    pub item_id: Option<Vec<Seg>>,
    /// Where the per-item results are in the response (empty: the body itself).
    pub results: Vec<Seg>,
    pub matching: BatchMatching,
    pub errors: Option<Vec<Seg>>,
    pub success: Option<Vec<Seg>>,
    pub error: Option<Vec<Seg>>,
    pub error_message: Vec<Seg>,
    /// Results carry only the record id at this path: the records are read back.
    pub returns_id: Option<Vec<Seg>>,
    pub read_back: Option<ReadBack>,
}

/// How a batch's results are paired with its items.
#[derive(Clone, Debug)]
pub enum BatchMatching {
    /// In request order.
    Order,
    /// By the item's position, written at `item` and echoed at `result` / `error`.
    Tag {
        item: Vec<Seg>,
        result: Vec<Seg>,
        error: Option<Vec<Seg>>,
    },
    /// By the record id the items carry (`item_id`), named at `result` / `error`.
    Id {
        result: Vec<Seg>,
        error: Option<Vec<Seg>>,
    },
}

/// One request reading back the records a batch created, by their ids (`{ids:soql}`).
#[derive(Clone, Debug)]
pub struct ReadBack {
    pub call: HttpCall,
    pub records: Vec<Seg>,
}

#[derive(Clone, Debug)]
pub struct Mapping {
    pub model: String,
    pub create: Option<(HttpCall, Returns)>,
    pub get: Option<HttpCall>,
    pub update: Option<UpdateAction>,
    pub delete: Option<HttpCall>,
    pub list: Option<ListAction>,
    /// `find_<model>_by_<key>`: the first record matching one value.
    pub finds: Vec<FindAction>,
    /// `link_<model>_<target>`: connect this record to another.
    pub links: Vec<LinkAction>,
    pub custom: Option<CustomFields>,
    pub passthrough: Option<Passthrough>,
    /// `upsert_<model>`: create, or update the record a conflict points at.
    pub upsert: Option<Upsert>,
    /// Writable unified fields this provider does not take and that are dropped
    /// silently (with a warning) instead of refused.
    pub ignore_on_write: Vec<String>,
    pub writes: Vec<Write>,
    pub reads: Vec<Read>,
    /// Unified fields the provider requires on create (from the OpenAPI `required`).
    pub provider_required: Vec<String>,
    pub create_batch: Option<BatchAction>,
    pub update_batch: Option<BatchAction>,
}
