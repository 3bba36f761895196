//! The emulator of a provider described in YAML (`providers/<name>/sandbox.yaml`, read
//! by `unifold_codegen::sandbox`): no Rust per provider.
//!
//! Every request goes through the shared middleware (request log, token check, fault
//! plans, enforced limits) and then to one handler that finds the operation by method
//! and path, checks the body against the operation's OpenAPI schema and the
//! collection's rules, and answers in the shapes the description gives: records in
//! their envelope, pages with the vendor's pagination fields, errors in the vendor's
//! body. Records live in the shared store under the collection's name.

mod schema;

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::routing::any;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use unifold_codegen::sandbox::{
    Action, AuthCheck, CollectionSpec, ErrorKind, FieldStep, IdFormat, PageStyle, RetryAfter,
    RouteSpec, SandboxSpec, TimeFormat, WordPart,
};

use crate::state::{Dialect, SandboxState, Store, StoredRecord, Usage, bearer_matches};
use crate::util::{
    Reply, base64_decode, base64_encode, decode, no_content, parse_json, reply, touched,
};

/// A described provider's behaviour, served through the shared state.
#[derive(Debug)]
pub(crate) struct Described {
    spec: SandboxSpec,
    /// The store's key of each collection, in `spec.collections` order.
    objects: Vec<&'static str>,
    /// Each route's path split into segments, with its collection and route index.
    routes: Vec<(usize, usize, Vec<Segment>)>,
    /// When the requests of the current rate window arrived, for the usage headers.
    window: Mutex<VecDeque<Instant>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter,
}

/// The store is keyed by `&'static str` (the hand-written vendors' object names are
/// literals). Each distinct collection name of a description is leaked once for the
/// life of the process, so starting many sandboxes does not grow memory.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

fn segments(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Parameter
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

/// The values an error message and body may use.
#[derive(Default)]
struct Vars(Vec<(&'static str, Value)>);

impl Vars {
    fn with(mut self, name: &'static str, value: impl Into<Value>) -> Vars {
        self.0.push((name, value.into()));
        self
    }

    fn get(&self, name: &str) -> Option<Value> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    /// `{field}` with its capitalised twin `{Field}` (Pipedrive: "Name must be given.").
    fn field(self, field: &str) -> Vars {
        self.with("field", field).with("Field", capitalised(field))
    }

    fn collection(self, collection: &CollectionSpec) -> Vars {
        self.with("collection", collection.name.clone())
            .with("singular", collection.singular.clone())
            .with("Singular", capitalised(&collection.singular))
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Described {
    pub(crate) fn new(spec: SandboxSpec) -> Described {
        let objects = spec.collections.iter().map(|c| intern(&c.name)).collect();
        let mut routes = Vec::new();
        for (c, collection) in spec.collections.iter().enumerate() {
            for (r, route) in collection.routes.iter().enumerate() {
                routes.push((c, r, segments(&route.path)));
            }
        }
        Described {
            spec,
            objects,
            routes,
            window: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn spec(&self) -> &SandboxSpec {
        &self.spec
    }

    /// Every path to this one handler: routing is by the description, not by axum.
    pub(crate) fn routes(described: Arc<Described>) -> Router<SandboxState> {
        let handler =
            move |State(state): State<SandboxState>, method: Method, uri: Uri, body: Bytes| {
                let described = described.clone();
                async move { described.handle(&state, &method, &uri, &body) }
            };
        Router::new()
            .route("/", any(handler.clone()))
            .route("/{*rest}", any(handler))
    }

    /// An error reply of `kind` (with the status `status` instead of the kind's).
    fn error(&self, kind: ErrorKind, status: Option<u16>, vars: Vars) -> Reply {
        let spec = self.spec.error(kind);
        let status = status.unwrap_or(spec.status);
        let vars = vars
            .with("status", status)
            .with("code", spec.code.clone())
            .with("kind", kind.name());
        let lookup = |name: &str| vars.get(name);
        let message = spec
            .message
            .render(&lookup)
            .and_then(|m| m.as_str().map(str::to_string))
            .unwrap_or_default();
        let vars = vars.with("message", message);
        let body = spec
            .body
            .render(&|name| vars.get(name))
            .unwrap_or(Value::Null);
        reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            body,
        )
    }

    fn handle(&self, state: &SandboxState, method: &Method, uri: &Uri, body: &[u8]) -> Reply {
        let path = uri.path();
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let matching: Vec<&(usize, usize, Vec<Segment>)> = self
            .routes
            .iter()
            .filter(|(_, _, pattern)| {
                pattern.len() == parts.len()
                    && pattern
                        .iter()
                        .zip(&parts)
                        .all(|(segment, part)| match segment {
                            Segment::Literal(literal) => literal == part,
                            Segment::Parameter => true,
                        })
            })
            .collect();
        let base = || {
            Vars::default()
                .with("method", method.as_str())
                .with("path", path)
        };
        if matching.is_empty() {
            return self.error(ErrorKind::UnknownPath, None, base());
        }
        // The most literal segments win: `/records/query` before `/records/{id}`.
        let chosen = matching
            .iter()
            .filter(|(c, r, _)| self.spec.collections[*c].routes[*r].method == method.as_str())
            .max_by_key(|(_, _, pattern)| {
                pattern
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count()
            });
        let Some((c, r, pattern)) = chosen else {
            return self.error(ErrorKind::MethodNotAllowed, None, base());
        };
        let collection = &self.spec.collections[*c];
        let route = &collection.routes[*r];
        let object = self.objects[*c];
        let id = pattern
            .iter()
            .zip(&parts)
            .rev()
            .find(|(segment, _)| **segment == Segment::Parameter)
            .map(|(_, part)| decode(part));
        let request = Request {
            collection,
            route,
            object,
            id,
            query: uri.query().unwrap_or(""),
            body,
            method: method.as_str(),
            path,
        };
        state.with_store(|store| self.serve(store, &request))
    }

    fn serve(&self, store: &mut Store, request: &Request<'_>) -> Reply {
        match request.route.action {
            Action::Create => self.create(store, request),
            Action::Get => match self.existing(store, request) {
                Ok(record) => {
                    let rendered = self.render(store, request.collection, record);
                    self.record_reply(request.route, rendered)
                }
                Err(reply) => reply,
            },
            Action::Update => self.update(store, request),
            Action::Delete => self.delete(store, request),
            Action::List => self.list(store, request),
        }
    }

    fn not_found(&self, request: &Request<'_>) -> Reply {
        let vars = Vars::default()
            .collection(request.collection)
            .with("id", request.id.clone().unwrap_or_default())
            .with("method", request.method)
            .with("path", request.path);
        self.error(ErrorKind::NotFound, None, vars)
    }

    fn existing<'s>(
        &self,
        store: &'s Store,
        request: &Request<'_>,
    ) -> Result<&'s StoredRecord, Reply> {
        let id = request.id.as_deref().unwrap_or_default();
        store
            .get(request.object, id)
            .ok_or_else(|| self.not_found(request))
    }

    fn record_reply(&self, route: &RouteSpec, record: Value) -> Reply {
        let body = self
            .spec
            .responses
            .record
            .render(&|name| (name == "record").then(|| record.clone()))
            .unwrap_or(Value::Null);
        reply(status_of(route), body)
    }

    /// The record a write sends (inside the request envelope), after checking the whole
    /// body against the operation's schema.
    fn written_record(&self, request: &Request<'_>) -> Result<Map<String, Value>, Reply> {
        let body = self.body_object(request)?;
        if let Some(schema_node) = &request.route.request_schema
            && let Some(problem) = schema::check(
                &self.spec.openapi,
                schema_node,
                &Value::Object(body.clone()),
            )
        {
            // Fields are named as the record has them, without the envelope.
            let prefix = self.spec.request_envelope.join(".");
            let field = problem
                .path
                .strip_prefix(&prefix)
                .map(|rest| rest.trim_start_matches('.'))
                .filter(|rest| !prefix.is_empty() && !rest.is_empty())
                .unwrap_or(&problem.path)
                .to_string();
            return Err(if problem.missing {
                self.required(request, &field)
            } else {
                self.invalid(request, &field, &problem.reason)
            });
        }
        let mut record = Value::Object(body.clone());
        for key in &self.spec.request_envelope {
            record = record.get(key).cloned().unwrap_or(Value::Null);
        }
        match record {
            Value::Object(record) => Ok(record),
            _ => {
                let field = self.spec.request_envelope.join(".");
                Err(self.invalid(request, &field, "must be a JSON object"))
            }
        }
    }

    /// The body as a JSON object, or the vendor's answer to it.
    fn body_object(&self, request: &Request<'_>) -> Result<Map<String, Value>, Reply> {
        let value = parse_json(request.body).map_err(|syntax| {
            let vars = Vars::default()
                .with(
                    "reason",
                    format!(
                        "{} at line {} column {}",
                        syntax.reason, syntax.line, syntax.column
                    ),
                )
                .with("method", request.method)
                .with("path", request.path);
            self.error(ErrorKind::Malformed, None, vars)
        })?;
        match value {
            Value::Object(map) => Ok(map),
            _ => Err(self.invalid(request, "body", "must be a JSON object")),
        }
    }

    fn invalid(&self, request: &Request<'_>, field: &str, reason: &str) -> Reply {
        let vars = Vars::default()
            .collection(request.collection)
            .field(field)
            .with("reason", reason)
            .with("method", request.method)
            .with("path", request.path);
        self.error(ErrorKind::Invalid, None, vars)
    }

    fn required(&self, request: &Request<'_>, field: &str) -> Reply {
        let vars = Vars::default()
            .collection(request.collection)
            .field(field)
            .with("reason", "is required")
            .with("method", request.method)
            .with("path", request.path);
        self.error(ErrorKind::Required, None, vars)
    }

    /// Checks a written record against the collection's rules (`required` on create;
    /// on update only the fields sent may not be emptied), references and unique
    /// values. `merged` is the record as it would be stored.
    fn check_write(
        &self,
        store: &Store,
        request: &Request<'_>,
        body: &Map<String, Value>,
        merged: &Map<String, Value>,
        creating: bool,
    ) -> Result<(), Reply> {
        for required in &request.collection.required {
            let values = field_values(merged, &required.steps);
            let sent = body.contains_key(first_key(&required.steps));
            if (creating || sent) && values.iter().all(|v| is_empty(v)) {
                return Err(self.required(request, &required.text));
            }
        }
        for reference in &request.collection.references {
            let Some(value) = body.get(&reference.field).filter(|v| !v.is_null()) else {
                continue;
            };
            let target = self
                .spec
                .collection(&reference.collection)
                .map(|c| (c, intern(&c.name)));
            let exists =
                target.is_some_and(|(_, object)| store.get(object, &id_text(value)).is_some());
            if !exists {
                let singular =
                    target.map_or(reference.collection.as_str(), |(c, _)| c.singular.as_str());
                let reason = format!("no {singular} has the id {}", id_text(value));
                return Err(self.invalid(request, &reference.field, &reason));
            }
        }
        for unique in &request.collection.unique {
            let mine: Vec<String> = field_values(merged, &unique.steps)
                .into_iter()
                .filter(|v| !is_empty(v))
                .map(unique_key)
                .collect();
            if mine.is_empty() {
                continue;
            }
            for other in store.all(request.object) {
                if request.id.as_deref() == Some(other.id.as_str()) {
                    continue;
                }
                let theirs = field_values(&other.fields, &unique.steps);
                if let Some(taken) = theirs
                    .into_iter()
                    .find(|v| mine.contains(&unique_key(v)))
                    .map(id_text)
                {
                    let vars = Vars::default()
                        .collection(request.collection)
                        .field(&unique.text)
                        .with("value", taken)
                        .with("existing_id", id_value(request.collection, &other.id))
                        .with("id", id_value(request.collection, &other.id))
                        .with("method", request.method)
                        .with("path", request.path);
                    return Err(self.error(ErrorKind::Conflict, None, vars));
                }
            }
        }
        Ok(())
    }

    fn create(&self, store: &mut Store, request: &Request<'_>) -> Reply {
        let body = match self.written_record(request) {
            Ok(record) => record,
            Err(reply) => return reply,
        };
        let collection = request.collection;
        let mut fields = writable(collection, &body);
        for (key, value) in &collection.defaults {
            fields.entry(key.clone()).or_insert_with(|| value.clone());
        }
        if let Err(reply) = self.check_write(store, request, &body, &fields, true) {
            return reply;
        }
        let id = new_id(store, collection);
        let record = StoredRecord::new(id.clone(), Utc::now(), fields);
        store.insert(request.object, record);
        match store.get(request.object, &id) {
            Some(stored) => {
                let rendered = self.render(store, collection, stored);
                self.record_reply(request.route, rendered)
            }
            None => self.error(ErrorKind::ServerError, None, Vars::default()),
        }
    }

    fn update(&self, store: &mut Store, request: &Request<'_>) -> Reply {
        let current = match self.existing(store, request) {
            Ok(record) => record.clone(),
            Err(reply) => return reply,
        };
        let body = match self.written_record(request) {
            Ok(record) => record,
            Err(reply) => return reply,
        };
        let mut fields = current.fields.clone();
        for (key, value) in writable(request.collection, &body) {
            fields.insert(key, value);
        }
        if let Err(reply) = self.check_write(store, request, &body, &fields, false) {
            return reply;
        }
        let Some(record) = store.get_mut(request.object, &current.id) else {
            return self.not_found(request);
        };
        record.fields = fields;
        record.updated_at = touched(record.updated_at, Utc::now(), TimeDelta::milliseconds(1));
        let record = record.clone();
        let rendered = self.render(store, request.collection, &record);
        self.record_reply(request.route, rendered)
    }

    fn delete(&self, store: &mut Store, request: &Request<'_>) -> Reply {
        let id = request.id.clone().unwrap_or_default();
        if store.remove(request.object, &id).is_none() {
            return self.not_found(request);
        }
        if request.route.success_status == 204 {
            return no_content();
        }
        let id = id_value(request.collection, &id);
        let body = self
            .spec
            .responses
            .deleted
            .render(&|name| (name == "id").then(|| id.clone()))
            .unwrap_or(Value::Null);
        reply(status_of(request.route), body)
    }

    fn list(&self, store: &mut Store, request: &Request<'_>) -> Reply {
        let pagination = &self.spec.pagination;
        // POST queries take the page parameters in the JSON body, GET lists in the query.
        let params: Map<String, Value> =
            if request.route.method == "POST" && !request.body.is_empty() {
                match self.body_object(request) {
                    Ok(body) => body,
                    Err(reply) => return reply,
                }
            } else {
                query_pairs(request.query)
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect()
            };
        let number = |name: &str| -> Result<Option<usize>, Reply> {
            match params.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_u64()
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| self.invalid(request, name, "must be a whole number")),
                Some(Value::String(text)) => text
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| self.invalid(request, name, "must be a whole number")),
                Some(_) => Err(self.invalid(request, name, "must be a whole number")),
            }
        };
        let limit = match number(&pagination.limit_param) {
            Ok(limit) => limit
                .unwrap_or(pagination.default_limit)
                .clamp(1, pagination.max_limit),
            Err(reply) => return reply,
        };
        let start = match pagination.style {
            PageStyle::Offset => match number(&pagination.offset_param) {
                Ok(start) => start.unwrap_or(0),
                Err(reply) => return reply,
            },
            PageStyle::Cursor | PageStyle::NextUrl => match params.get(&pagination.cursor_param) {
                None | Some(Value::Null) => 0,
                Some(cursor) => match decode_cursor(&id_text(cursor)) {
                    Some(start) => start,
                    None => {
                        return self.invalid(
                            request,
                            &pagination.cursor_param,
                            "is not a cursor this API gave out",
                        );
                    }
                },
            },
        };
        let all = store.all(request.object);
        let page: Vec<Value> = all
            .iter()
            .skip(start)
            .take(limit)
            .map(|record| self.render(store, request.collection, record))
            .collect();
        let next = start + page.len();
        let more = next < all.len();
        let count = page.len();
        let next_cursor = more.then(|| encode_cursor(next));
        let next_url = next_cursor.as_ref().map(|cursor| {
            format!(
                "{}?{}={cursor}&{}={limit}",
                request.route.path, pagination.cursor_param, pagination.limit_param
            )
        });
        let records = if page.is_empty() && pagination.empty_page_null {
            Value::Null
        } else {
            Value::Array(page)
        };
        let vars = |name: &str| match name {
            "records" => Some(records.clone()),
            "start" => Some(json!(start)),
            "limit" => Some(json!(limit)),
            "more" => Some(json!(more)),
            "count" => Some(json!(count)),
            "next_start" => more.then(|| json!(next)),
            "next_cursor" => next_cursor.clone().map(Value::String),
            "next_url" => next_url.clone().map(Value::String),
            _ => None,
        };
        let body = self
            .spec
            .responses
            .list
            .render(&vars)
            .unwrap_or(Value::Null);
        reply(status_of(request.route), body)
    }

    /// A stored record in the read shape: its fields, the id, timestamps, derived
    /// fields and references rendered as the vendor shows them.
    fn render(&self, store: &Store, collection: &CollectionSpec, record: &StoredRecord) -> Value {
        let mut map = record.fields.clone();
        map.insert(
            collection.id_field.clone(),
            id_value(collection, &record.id),
        );
        if let Some(timestamps) = &collection.timestamps {
            if let Some(field) = &timestamps.created {
                map.insert(
                    field.clone(),
                    timestamp(record.created_at, timestamps.format),
                );
            }
            if let Some(field) = &timestamps.updated {
                map.insert(
                    field.clone(),
                    timestamp(record.updated_at, timestamps.format),
                );
            }
        }
        for derived in &collection.derived {
            let source = map.get(&derived.from).and_then(Value::as_str).unwrap_or("");
            let value = word_part(source, derived.part);
            map.insert(
                derived.field.clone(),
                value.map_or(Value::Null, Value::String),
            );
        }
        for reference in &collection.references {
            let Some(read_as) = &reference.read_as else {
                continue;
            };
            let Some(value) = map.get(&reference.field).filter(|v| !v.is_null()).cloned() else {
                continue;
            };
            let Some(target) = self.spec.collection(&reference.collection) else {
                continue;
            };
            let Some(linked) = store.get(intern(&target.name), &id_text(&value)) else {
                continue;
            };
            let id = id_value(target, &linked.id);
            let rendered = read_as.render(&|name| {
                if name == "id" {
                    Some(id.clone())
                } else {
                    linked.fields.get(name).cloned()
                }
            });
            if let Some(rendered) = rendered {
                map.insert(reference.field.clone(), rendered);
            }
        }
        Value::Object(map)
    }
}

/// One request, as the handlers need it.
struct Request<'a> {
    collection: &'a CollectionSpec,
    route: &'a RouteSpec,
    object: &'static str,
    id: Option<String>,
    query: &'a str,
    body: &'a [u8],
    method: &'a str,
    path: &'a str,
}

fn status_of(route: &RouteSpec) -> StatusCode {
    StatusCode::from_u16(route.success_status).unwrap_or(StatusCode::OK)
}

/// The fields of a body the client may set: the id, timestamps and derived fields are
/// the server's.
fn writable(collection: &CollectionSpec, body: &Map<String, Value>) -> Map<String, Value> {
    let mut owned: Vec<&str> = vec![collection.id_field.as_str()];
    if let Some(timestamps) = &collection.timestamps {
        owned.extend(timestamps.created.as_deref());
        owned.extend(timestamps.updated.as_deref());
    }
    owned.extend(collection.derived.iter().map(|d| d.field.as_str()));
    body.iter()
        .filter(|(key, _)| !owned.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn first_key(steps: &[FieldStep]) -> &str {
    match steps.first() {
        Some(FieldStep::Key(key)) => key,
        _ => "",
    }
}

/// The values at a field path of a record's fields.
fn field_values<'v>(fields: &'v Map<String, Value>, steps: &[FieldStep]) -> Vec<&'v Value> {
    match steps.split_first() {
        Some((FieldStep::Key(key), rest)) => fields
            .get(key)
            .map(|value| values_at(value, rest))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The values at a field path; `[]` steps fan out over array elements.
fn values_at<'v>(value: &'v Value, steps: &[FieldStep]) -> Vec<&'v Value> {
    let Some((step, rest)) = steps.split_first() else {
        return vec![value];
    };
    match step {
        FieldStep::Key(key) => value
            .get(key)
            .map(|next| values_at(next, rest))
            .unwrap_or_default(),
        FieldStep::Each => value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .flat_map(|item| values_at(item, rest))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Unique values compare as text, ignoring case (emails, domains, numbers).
fn unique_key(value: &Value) -> String {
    id_text(value).to_lowercase()
}

/// A JSON value as the text of an id (`7` and `"7"` are the same id).
fn id_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A record id as the vendor shows it: a number for integer ids.
fn id_value(collection: &CollectionSpec, id: &str) -> Value {
    match collection.id_format {
        IdFormat::Integer => id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n)),
        _ => json!(id),
    }
}

fn new_id(store: &mut Store, collection: &CollectionSpec) -> String {
    match collection.id_format {
        IdFormat::Integer => store.next_sequence().to_string(),
        IdFormat::Uuid => crate::util::random_uuid(),
        IdFormat::Prefixed => {
            let hex = uuid::Uuid::new_v4().simple().to_string();
            format!("{}{}", collection.id_prefix, &hex[..24])
        }
    }
}

fn timestamp(at: DateTime<Utc>, format: TimeFormat) -> Value {
    match format {
        TimeFormat::Rfc3339 => json!(at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        TimeFormat::Sql => json!(at.format("%Y-%m-%d %H:%M:%S").to_string()),
        TimeFormat::EpochSeconds => json!(at.timestamp()),
        TimeFormat::EpochMillis => json!(at.timestamp_millis()),
    }
}

fn word_part(text: &str, part: WordPart) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = |slice: &[&str]| (!slice.is_empty()).then(|| slice.join(" "));
    match part {
        WordPart::First => words.first().map(|w| w.to_string()),
        WordPart::Rest => joined(words.get(1..).unwrap_or(&[])),
        WordPart::Last => words.last().map(|w| w.to_string()),
        WordPart::Init => joined(&words[..words.len().saturating_sub(1)]),
    }
}

/// Cursors are opaque to clients: the position, encoded.
fn encode_cursor(position: usize) -> String {
    base64_encode(format!("p:{position}").as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64_decode(cursor)?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix("p:")?
        .parse()
        .ok()
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

impl Dialect for Described {
    fn unauthorized(&self) -> Reply {
        self.error(ErrorKind::Unauthorized, None, Vars::default())
    }

    fn unknown_path(&self) -> Reply {
        self.error(ErrorKind::UnknownPath, None, Vars::default())
    }

    fn method_not_allowed(&self, method: &Method) -> Reply {
        self.error(
            ErrorKind::MethodNotAllowed,
            None,
            Vars::default().with("method", method.as_str()),
        )
    }

    fn fault(&self, status: StatusCode) -> Reply {
        if status == StatusCode::TOO_MANY_REQUESTS {
            return self.error(ErrorKind::RateLimited, None, Vars::default());
        }
        self.error(
            ErrorKind::ServerError,
            Some(status.as_u16()),
            Vars::default(),
        )
    }

    fn quota_fault(&self) -> Reply {
        self.error(ErrorKind::RateLimited, None, Vars::default())
    }

    fn daily_limit(&self) -> Option<usize> {
        None
    }

    fn token_path(&self) -> Option<&str> {
        self.spec.auth.token_path.as_deref()
    }

    fn retry_after(&self, wait: Duration) -> String {
        let http_date = self
            .spec
            .rate_limits
            .as_ref()
            .is_some_and(|rate| rate.retry_after == RetryAfter::HttpDate);
        if http_date {
            let at = Utc::now() + TimeDelta::milliseconds(wait.as_millis() as i64 + 999);
            at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
        } else {
            wait.as_secs_f64().ceil().max(1.0).to_string()
        }
    }

    fn body_too_large(&self) -> Reply {
        self.error(ErrorKind::TooLarge, None, Vars::default())
    }

    /// The declared rate headers, from the requests of the rolling window.
    fn usage_headers(&self, headers: &mut HeaderMap, _usage: Usage) {
        let Some(rate) = &self.spec.rate_limits else {
            return;
        };
        let window = Duration::from_millis(rate.window_ms);
        let now = Instant::now();
        let mut times = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            times.pop_front();
        }
        times.push_back(now);
        let remaining = rate.requests.saturating_sub(times.len());
        let reset = times
            .front()
            .map(|oldest| window.saturating_sub(now.duration_since(*oldest)))
            .unwrap_or(window)
            .as_secs_f64()
            .ceil()
            .max(1.0) as u64;
        for (name, value) in [
            (&rate.limit_header, rate.requests as u64),
            (&rate.remaining_header, remaining as u64),
            (&rate.reset_header, reset),
        ] {
            if let Some(name) = name
                && let Ok(name) = HeaderName::from_bytes(name.as_bytes())
            {
                headers.insert(name, HeaderValue::from(value));
            }
        }
    }

    fn records(&self, store: &Store, object: &str) -> Vec<Value> {
        let Some(collection) = self.spec.collection(object) else {
            return Vec::new();
        };
        store
            .all(object)
            .iter()
            .map(|record| self.render(store, collection, record))
            .collect()
    }

    fn declare_custom_field(&self, _: &mut Store, _: &str, _: &str) -> Result<(), String> {
        // A described collection stores whatever fields its description lets through.
        Err("a sandbox described in YAML has no custom field API".into())
    }

    fn seed(&self, store: &mut Store, object: &str, count: usize) -> Vec<String> {
        let Some((index, collection)) = self
            .spec
            .collections
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == object)
        else {
            return Vec::new();
        };
        let object = self.objects[index];
        let Some(template) = &collection.seed else {
            return Vec::new();
        };
        store.reserve(object, count);
        let mut ids = Vec::with_capacity(count);
        let mut attempts = 0;
        while ids.len() < count && attempts < count.saturating_mul(4).max(16) {
            attempts += 1;
            let n = {
                let counter = store.seed_counter(object);
                *counter += 1;
                *counter
            };
            let Some(Value::Object(mut fields)) =
                template.render(&|name| (name == "n").then(|| json!(n)))
            else {
                return ids;
            };
            for (key, value) in &collection.defaults {
                fields.entry(key.clone()).or_insert_with(|| value.clone());
            }
            // Numbers whose unique values are taken are skipped, as the vendors' seeds do.
            let clash = collection.unique.iter().any(|unique| {
                let mine: Vec<String> = field_values(&fields, &unique.steps)
                    .into_iter()
                    .map(unique_key)
                    .collect();
                store.all(object).iter().any(|other| {
                    field_values(&other.fields, &unique.steps)
                        .into_iter()
                        .any(|v| mine.contains(&unique_key(v)))
                })
            });
            if clash {
                continue;
            }
            let id = new_id(store, collection);
            store.insert(object, StoredRecord::new(id.clone(), Utc::now(), fields));
            ids.push(id);
        }
        ids
    }

    fn authorizes(&self, headers: &HeaderMap, accepted: &str) -> bool {
        match &self.spec.auth.check {
            AuthCheck::Bearer => bearer_matches(headers, accepted),
            AuthCheck::Header(name) => headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() == accepted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_parts() {
        assert_eq!(
            word_part("Mary Ann Smith", WordPart::First).as_deref(),
            Some("Mary")
        );
        assert_eq!(
            word_part("Mary Ann Smith", WordPart::Rest).as_deref(),
            Some("Ann Smith")
        );
        assert_eq!(
            word_part("Mary Ann Smith", WordPart::Last).as_deref(),
            Some("Smith")
        );
        assert_eq!(
            word_part("Mary Ann Smith", WordPart::Init).as_deref(),
            Some("Mary Ann")
        );
        assert_eq!(word_part("Cher", WordPart::Rest), None);
        assert_eq!(word_part("", WordPart::First), None);
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        assert_eq!(decode_cursor(&encode_cursor(500)), Some(500));
        assert_eq!(decode_cursor("500"), None);
    }
}
