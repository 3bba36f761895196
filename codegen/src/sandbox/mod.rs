//! Sandbox descriptions: `providers/<name>/sandbox.yaml`, how the emulator of a
//! provider behaves, read with the same spanned YAML reader as mappings so that a
//! mistake is reported at its line with a did-you-mean (and by `unifold check`).
//!
//! The description names the provider's OpenAPI operations; their paths, methods,
//! success statuses and request schemas come from the OpenAPI document. Everything
//! else (auth, response envelopes, pagination, error bodies, rate limits, what a
//! collection requires and makes unique) is the vendor's behaviour, declared here on
//! purpose rather than taken from `provider.yaml`: an emulator that read the client's
//! own settings could not catch a wrong one.
//!
//! The `unifold-sandbox` crate serves a [`SandboxSpec`]; the format is documented in
//! `docs/provider-authoring.md`.

use crate::diagnostics::{Diagnostic, Diagnostics, Sources, did_you_mean, one_of};
use crate::parse::openapi::{OpenApi, Operation};
use crate::parse::reader::Reader;
use crate::parse::yaml::{self, Loc, Node, Value};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// A provider's emulator, ready to serve.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// The provider's name (its folder's).
    pub provider: String,
    /// Prefix of every route, e.g. `/v1` (empty for none).
    pub base_path: String,
    /// The keys request bodies wrap the record in (`{"invoice": {...}}` is `["invoice"]`).
    pub request_envelope: Vec<String>,
    pub auth: AuthSpec,
    pub collections: Vec<CollectionSpec>,
    pub responses: ResponseSpec,
    pub pagination: PageSpec,
    pub errors: Vec<ErrorSpec>,
    pub rate_limits: Option<RateSpec>,
    /// The OpenAPI document as JSON, for the `$ref`s of request schemas.
    pub openapi: Json,
}

impl SandboxSpec {
    /// How errors of `kind` are answered (every kind has a reply; unset ones a default).
    pub fn error(&self, kind: ErrorKind) -> &ErrorSpec {
        self.errors
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or(&self.errors[0])
    }

    pub fn collection(&self, name: &str) -> Option<&CollectionSpec> {
        self.collections.iter().find(|c| c.name == name)
    }
}

/// Which credentials the emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthCheck {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The token in this header.
    Header(String),
}

#[derive(Debug, Clone)]
pub struct AuthSpec {
    pub check: AuthCheck,
    /// Where OAuth refresh grants are served.
    pub token_path: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    /// Sequential whole numbers, sent as JSON numbers.
    Integer,
    Uuid,
    /// A prefix and 24 hex digits (`inv_3f0a...`).
    Prefixed,
}

/// What a route does to its collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Get,
    Update,
    Delete,
    List,
}

impl Action {
    const ALL: [(&'static str, Action); 5] = [
        ("create", Action::Create),
        ("get", Action::Get),
        ("update", Action::Update),
        ("delete", Action::Delete),
        ("list", Action::List),
    ];

    fn methods(self) -> &'static [&'static str] {
        match self {
            Action::Create => &["post", "put"],
            Action::Get => &["get"],
            Action::Update => &["put", "patch", "post"],
            Action::Delete => &["delete"],
            Action::List => &["get", "post"],
        }
    }

    fn takes_id(self) -> bool {
        matches!(self, Action::Get | Action::Update | Action::Delete)
    }
}

/// One served operation.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub action: Action,
    pub operation: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// The full path with the base path, parameters as `{name}`.
    pub path: String,
    /// The path parameter holding the record id (get, update, delete).
    pub id_param: Option<String>,
    /// The JSON request body's schema, checked on every request.
    pub request_schema: Option<Json>,
    /// The status of a success (the lowest 2xx the operation documents).
    pub success_status: u16,
}

/// A step of a field path in a record: `email[].value` is `Key(email)`, `Each`,
/// `Key(value)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldStep {
    Key(String),
    /// Every element of an array.
    Each,
}

#[derive(Debug, Clone)]
pub struct FieldPath {
    /// As written, for messages.
    pub text: String,
    pub steps: Vec<FieldStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2025-03-01T10:00:00.000Z`
    Rfc3339,
    /// `2025-03-01 10:00:00` in UTC (Pipedrive).
    Sql,
    EpochSeconds,
    EpochMillis,
}

#[derive(Debug, Clone)]
pub struct Timestamps {
    pub created: Option<String>,
    pub updated: Option<String>,
    pub format: TimeFormat,
}

/// A field holding the id of a record of another collection: checked on write,
/// rendered with `read_as` on read (Pipedrive's `org_id` reads as an object).
#[derive(Debug, Clone)]
pub struct ReferenceSpec {
    pub field: String,
    pub collection: String,
    pub read_as: Option<Template>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordPart {
    /// The first word.
    First,
    /// Everything after the first word.
    Rest,
    /// The last word.
    Last,
    /// Everything before the last word.
    Init,
}

/// A read-only field computed from another on every read (Pipedrive's `first_name`
/// from `name`).
#[derive(Debug, Clone)]
pub struct DerivedSpec {
    pub field: String,
    pub from: String,
    pub part: WordPart,
}

#[derive(Debug, Clone)]
pub struct CollectionSpec {
    pub name: String,
    /// The record's name in messages (`person`).
    pub singular: String,
    pub id_field: String,
    pub id_format: IdFormat,
    pub id_prefix: String,
    pub routes: Vec<RouteSpec>,
    pub required: Vec<FieldPath>,
    pub unique: Vec<FieldPath>,
    /// Stored with every new record unless sent.
    pub defaults: serde_json::Map<String, Json>,
    pub timestamps: Option<Timestamps>,
    pub references: Vec<ReferenceSpec>,
    pub derived: Vec<DerivedSpec>,
    /// What `seed(collection, n)` stores for record number `{n}`.
    pub seed: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// A single record: `{record}` is the record.
    pub record: Template,
    /// A page: `{records}`, `{start}`, `{limit}`, `{more}`, `{next_start}`,
    /// `{next_cursor}`, `{next_url}`, `{count}`.
    pub list: Template,
    /// A delete with a body: `{id}`.
    pub deleted: Template,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStyle {
    /// `offset_param` says where the page starts.
    Offset,
    /// An opaque cursor in `cursor_param`.
    Cursor,
    /// Like `Cursor`, and `{next_url}` is the next page's path with its query.
    NextUrl,
}

#[derive(Debug, Clone)]
pub struct PageSpec {
    pub style: PageStyle,
    pub offset_param: String,
    pub cursor_param: String,
    pub limit_param: String,
    pub default_limit: usize,
    pub max_limit: usize,
    /// `{records}` of an empty page is `null` (Pipedrive) instead of `[]`.
    pub empty_page_null: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Unauthorized,
    NotFound,
    Required,
    Invalid,
    Conflict,
    Malformed,
    RateLimited,
    ServerError,
    UnknownPath,
    MethodNotAllowed,
    TooLarge,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::Unauthorized,
        ErrorKind::NotFound,
        ErrorKind::Required,
        ErrorKind::Invalid,
        ErrorKind::Conflict,
        ErrorKind::Malformed,
        ErrorKind::RateLimited,
        ErrorKind::ServerError,
        ErrorKind::UnknownPath,
        ErrorKind::MethodNotAllowed,
        ErrorKind::TooLarge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Required => "required",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Malformed => "malformed",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ServerError => "server_error",
            ErrorKind::UnknownPath => "unknown_path",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::TooLarge => "too_large",
        }
    }

    fn default_status(self) -> u16 {
        match self {
            ErrorKind::Unauthorized => 401,
            ErrorKind::NotFound | ErrorKind::UnknownPath => 404,
            ErrorKind::Required | ErrorKind::Invalid | ErrorKind::Malformed => 400,
            ErrorKind::Conflict => 409,
            ErrorKind::RateLimited => 429,
            ErrorKind::ServerError => 500,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::TooLarge => 413,
        }
    }

    fn default_message(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::NotFound => "{Singular} not found",
            ErrorKind::Required => "{field} is required",
            ErrorKind::Invalid => "{field}: {reason}",
            ErrorKind::Conflict => "{field} `{value}` is already taken by {singular} {existing_id}",
            ErrorKind::Malformed => "Malformed JSON body: {reason}",
            ErrorKind::RateLimited => "Rate limit exceeded",
            ErrorKind::ServerError => "Internal server error",
            ErrorKind::UnknownPath => "Unknown path {path}",
            ErrorKind::MethodNotAllowed => "Method {method} is not allowed on {path}",
            ErrorKind::TooLarge => "Request body too large",
        }
    }
}

/// How one kind of error is answered: `body` with `{message}` (the rendered
/// `message`), `{code}`, `{status}` and the kind's own placeholders.
#[derive(Debug, Clone)]
pub struct ErrorSpec {
    pub kind: ErrorKind,
    pub status: u16,
    pub message: Template,
    pub code: String,
    pub body: Template,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds,
    HttpDate,
}

/// The vendor's request budget: reported in headers on every response and, with
/// `enforce`, answered with `errors.rate_limited` once spent.
#[derive(Debug, Clone)]
pub struct RateSpec {
    pub requests: usize,
    pub window_ms: u64,
    pub limit_header: Option<String>,
    pub remaining_header: Option<String>,
    /// Seconds until the window frees a request.
    pub reset_header: Option<String>,
    pub retry_after: RetryAfter,
    pub enforce: bool,
}

/// A JSON template: strings that are exactly `{name}` become that value (a key whose
/// value is absent is left out), other strings have each `{name}` replaced by its text.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Literal(Json),
    Whole(String),
    Text(Vec<TextPart>),
    Array(Vec<Template>),
    Object(Vec<(String, Template)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TextPart {
    Literal(String),
    Var(String),
}

impl Template {
    /// Renders the template; `None` when it is one placeholder that has no value.
    pub fn render(&self, vars: &dyn Fn(&str) -> Option<Json>) -> Option<Json> {
        match self {
            Template::Literal(value) => Some(value.clone()),
            Template::Whole(name) => vars(name),
            Template::Text(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        TextPart::Literal(text) => out.push_str(text),
                        TextPart::Var(name) => match vars(name) {
                            Some(Json::String(text)) => out.push_str(&text),
                            Some(Json::Null) | None => {}
                            Some(other) => out.push_str(&other.to_string()),
                        },
                    }
                }
                Some(Json::String(out))
            }
            Template::Array(items) => Some(Json::Array(
                items
                    .iter()
                    .map(|item| item.render(vars).unwrap_or(Json::Null))
                    .collect(),
            )),
            Template::Object(entries) => {
                let mut map = serde_json::Map::new();
                for (key, value) in entries {
                    if let Some(value) = value.render(vars) {
                        map.insert(key.clone(), value);
                    }
                }
                Some(Json::Object(map))
            }
        }
    }

    /// A template from a plain string (messages).
    pub fn text(text: &str) -> Template {
        let parts = text_parts(text);
        match parts.as_slice() {
            [TextPart::Literal(literal)] => Template::Literal(Json::String(literal.clone())),
            _ => Template::Text(parts),
        }
    }
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn text_parts(text: &str) -> Vec<TextPart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_var_name(&after[..close]) => {
                literal.push_str(&rest[..open]);
                if !literal.is_empty() {
                    parts.push(TextPart::Literal(std::mem::take(&mut literal)));
                }
                parts.push(TextPart::Var(after[..close].to_string()));
                rest = &after[close + 1..];
            }
            _ => {
                literal.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() || parts.is_empty() {
        parts.push(TextPart::Literal(literal));
    }
    parts
}

/// The node as JSON (keys as strings).
pub(crate) fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(flag) => Json::Bool(*flag),
        Value::Int(n) => Json::from(*n),
        Value::Float(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::Str(text) => Json::String(text.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, value)| (key_text(key), to_json(value)))
                .collect(),
        ),
    }
}

fn key_text(key: &Node) -> String {
    match &key.value {
        Value::Str(text) => text.clone(),
        _ => to_json(key).to_string(),
    }
}

fn template(node: &Node) -> Template {
    match &node.value {
        Value::Str(text) => {
            if let Some(name) = text
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .filter(|name| is_var_name(name))
            {
                return Template::Whole(name.to_string());
            }
            Template::text(text)
        }
        Value::Seq(items) => Template::Array(items.iter().map(template).collect()),
        Value::Map(entries) => Template::Object(
            entries
                .iter()
                .map(|(key, value)| (key_text(key), template(value)))
                .collect(),
        ),
        _ => Template::Literal(to_json(node)),
    }
}

const TOP_KEYS: &[&str] = &[
    "openapi",
    "base_path",
    "request_envelope",
    "auth",
    "collections",
    "responses",
    "pagination",
    "errors",
    "rate_limits",
];
const COLLECTION_KEYS: &[&str] = &[
    "singular",
    "operations",
    "id",
    "required",
    "unique",
    "defaults",
    "timestamps",
    "references",
    "derived",
    "seed",
];
const ERROR_VARS: &[&str] = &[
    "status",
    "method",
    "path",
    "collection",
    "singular",
    "Singular",
    "id",
    "field",
    "Field",
    "reason",
    "value",
    "existing_id",
];
const LIST_VARS: &[&str] = &[
    "records",
    "start",
    "limit",
    "more",
    "next_start",
    "next_cursor",
    "next_url",
    "count",
];

/// Reads `dir/sandbox.yaml` and the OpenAPI document it serves (named by its
/// `openapi:` key, else by `provider.yaml`'s, else `openapi.yaml`). File names in
/// problems are `dir` joined with the file name, as given.
pub fn load(dir: &Path) -> Result<SandboxSpec, Diagnostics> {
    let mut sources = Sources::default();
    let mut problems = Vec::new();
    let spec = load_into(
        dir,
        &|path| path.display().to_string(),
        &mut sources,
        &mut problems,
    );
    match spec {
        Some(spec) if problems.is_empty() => Ok(spec),
        _ => Err(Diagnostics(problems)),
    }
}

/// Whether `dir` has a sandbox description.
pub fn exists(dir: &Path) -> bool {
    dir.join("sandbox.yaml").is_file()
}

pub(crate) fn load_into(
    dir: &Path,
    shown: &dyn Fn(&Path) -> String,
    sources: &mut Sources,
    problems: &mut Vec<Diagnostic>,
) -> Option<SandboxSpec> {
    let provider = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let description = read(&dir.join("sandbox.yaml"), shown, sources, problems)?;
    let openapi_name = description
        .get("openapi")
        .and_then(Node::as_str)
        .map(str::to_string)
        .or_else(|| {
            let text = std::fs::read_to_string(dir.join("provider.yaml")).ok()?;
            let mut scratch = Sources::default();
            let file = scratch.add(dir.join("provider.yaml"), String::new(), text);
            let definition = yaml::parse(&scratch, file).ok()?;
            definition
                .get("openapi")
                .and_then(Node::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "openapi.yaml".to_string());
    let document = read(&dir.join(&openapi_name), shown, sources, problems)?;
    let mut reader = Reader::new(sources);
    let openapi = OpenApi::read(&mut reader, document);
    let spec = describe(&mut reader, &provider, &description, openapi);
    problems.extend(reader.problems);
    spec
}

fn read(
    path: &Path,
    shown: &dyn Fn(&Path) -> String,
    sources: &mut Sources,
    problems: &mut Vec<Diagnostic>,
) -> Option<Node> {
    let display = shown(path);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let file = sources.add(path.to_path_buf(), display, text);
            match yaml::parse(sources, file) {
                Ok(node) => Some(node),
                Err(problem) => {
                    problems.push(*problem);
                    None
                }
            }
        }
        Err(error) => {
            let mut scratch = Sources::default();
            let file = scratch.add(PathBuf::from(&display), display, String::new());
            let at = Loc {
                file,
                line: 1,
                column: 1,
            };
            problems.push(Diagnostic::new(
                &scratch,
                at,
                format!("cannot read this file: {error}"),
            ));
            None
        }
    }
}

fn describe(
    reader: &mut Reader,
    provider: &str,
    root: &Node,
    openapi: OpenApi,
) -> Option<SandboxSpec> {
    if !reader.keys(root, TOP_KEYS, "a sandbox description") {
        return None;
    }
    let base_path = match reader.optional_string(root, "base_path", "the base path") {
        Some((path, _)) => path.trim_end_matches('/').to_string(),
        None => server_path(&openapi.root),
    };
    let request_envelope = match reader.optional_string(root, "request_envelope", "a path of keys")
    {
        Some((text, node)) => {
            let keys: Vec<String> = text.split('.').map(str::to_string).collect();
            if keys.iter().any(|k| k.is_empty() || k.contains(['[', ']'])) {
                reader.error(
                    node,
                    format!("`{text}` is not a path of keys such as `data` or `data.record`"),
                );
            }
            keys
        }
        None => Vec::new(),
    };
    let auth = read_auth(reader, root);
    let mut collections = Vec::new();
    match root.get("collections") {
        Some(section) if matches!(section.value, Value::Map(_)) => {
            for (name_node, body) in section.entries() {
                let Some(name) = reader.string(name_node, "a collection name") else {
                    continue;
                };
                if let Some(collection) = read_collection(reader, &name, body, &openapi, &base_path)
                {
                    collections.push(collection);
                }
            }
        }
        Some(other) => {
            reader.error(
                other,
                "`collections` maps collection names to their description",
            );
        }
        None => {
            reader.error(root, "the sandbox has no `collections:`").help =
                Some("add `collections: { persons: { operations: { create: addPerson, get: getPerson } } }`".into());
        }
    }
    // References name collections of this sandbox.
    let names: Vec<String> = collections.iter().map(|c| c.name.clone()).collect();
    if let Some(section) = root.get("collections") {
        for (name_node, body) in section.entries() {
            for (field, reference) in body.get("references").map(Node::entries).unwrap_or(&[]) {
                let Some(target) = reference.get("collection") else {
                    continue;
                };
                let Some(target_name) = target.as_str() else {
                    continue;
                };
                if !names.iter().any(|n| n == target_name) {
                    let help = match did_you_mean(target_name, names.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!(
                            "collections are {}",
                            one_of(names.iter().map(String::as_str))
                        ),
                    };
                    reader
                        .error(
                            target,
                            format!(
                                "`{}` of `{}` refers to `{target_name}`, which is not a collection",
                                field.as_str().unwrap_or("?"),
                                name_node.as_str().unwrap_or("?"),
                            ),
                        )
                        .help = Some(help);
                }
            }
        }
    }
    let responses = read_responses(reader, root.get("responses"));
    let pagination = read_pagination(reader, root.get("pagination"));

    let errors = read_errors(reader, root.get("errors"));
    let rate_limits = root
        .get("rate_limits")
        .and_then(|node| read_rate(reader, node));
    Some(SandboxSpec {
        provider: provider.to_string(),
        base_path,
        request_envelope,
        auth,
        collections,
        responses,
        pagination: pagination?,
        errors,
        rate_limits,
        openapi: to_json(&openapi.root),
    })
}

/// The path of the document's first server URL (`https://api.pipedrive.com/v1` → `/v1`).
fn server_path(root: &Node) -> String {
    let url = root
        .get("servers")
        .and_then(|s| s.items().first())
        .and_then(|s| s.get("url"))
        .and_then(Node::as_str)
        .unwrap_or("");
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |slash| &rest[slash..]),
        None => url,
    };
    path.trim_end_matches('/').to_string()
}

fn read_auth(reader: &mut Reader, root: &Node) -> AuthSpec {
    let Some(auth) = root.get("auth") else {
        return AuthSpec {
            check: AuthCheck::Bearer,
            token_path: None,
        };
    };
    reader.keys(auth, &["type", "header", "token_path"], "`auth`");
    let check = match reader.optional_string(auth, "type", "`bearer` or `header`") {
        None => AuthCheck::Bearer,
        Some((ty, _)) if ty == "bearer" => AuthCheck::Bearer,
        Some((ty, _)) if ty == "header" => {
            match reader.required_string(auth, "header", "the header carrying the token") {
                Some((header, _)) => AuthCheck::Header(header),
                None => AuthCheck::Bearer,
            }
        }
        Some((ty, node)) => {
            reader.error(node, format!("unknown auth type `{ty}`")).help =
                Some("use `bearer` or `header`".into());
            AuthCheck::Bearer
        }
    };
    let token_path = reader
        .optional_string(auth, "token_path", "the OAuth token path")
        .map(|(path, _)| path);
    AuthSpec { check, token_path }
}

fn field_path(reader: &mut Reader, node: &Node) -> Option<FieldPath> {
    let text = reader.string(node, "a field path")?;
    let mut steps = Vec::new();
    for part in text.split('.') {
        let (key, each) = match part.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (part, false),
        };
        if key.is_empty() || key.contains(['[', ']']) {
            reader
                .error(node, format!("`{text}` is not a field path"))
                .help = Some("paths look like `name`, `address.city` or `email[].value`".into());
            return None;
        }
        steps.push(FieldStep::Key(key.to_string()));
        if each {
            steps.push(FieldStep::Each);
        }
    }
    Some(FieldPath { text, steps })
}

fn read_collection(
    reader: &mut Reader,
    name: &str,
    body: &Node,
    openapi: &OpenApi,
    base_path: &str,
) -> Option<CollectionSpec> {
    if !reader.keys(body, COLLECTION_KEYS, &format!("collection `{name}`")) {
        return None;
    }
    let singular = reader
        .optional_string(body, "singular", "the singular name")
        .map(|(s, _)| s)
        .unwrap_or_else(|| name.strip_suffix('s').unwrap_or(name).to_string());
    let mut routes = Vec::new();
    match body.get("operations") {
        Some(operations) => {
            reader.keys(
                operations,
                &Action::ALL.map(|(name, _)| name),
                &format!("the operations of `{name}`"),
            );
            for (action_name, action) in Action::ALL {
                let Some(node) = operations.get(action_name) else {
                    continue;
                };
                let ids: Vec<&Node> = match &node.value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![node],
                };
                for id_node in ids {
                    if let Some(route) = route(reader, openapi, base_path, action, id_node) {
                        routes.push(route);
                    }
                }
            }
        }
        None => {
            reader.error(body, format!("collection `{name}` has no `operations:`")).help =
                Some("name the OpenAPI operations it serves: `operations: { create: addPerson, get: getPerson }`".into());
        }
    }
    let (mut id_field, mut id_format, mut id_prefix) =
        ("id".to_string(), IdFormat::Uuid, String::new());
    if let Some(id) = body.get("id") {
        reader.keys(id, &["field", "format", "prefix"], "`id`");
        if let Some((field, _)) = reader.optional_string(id, "field", "the id field") {
            id_field = field;
        }
        match reader.optional_string(id, "format", "`integer`, `uuid` or `string`") {
            None => {}
            Some((format, _)) if format == "integer" => id_format = IdFormat::Integer,
            Some((format, _)) if format == "uuid" => id_format = IdFormat::Uuid,
            Some((format, _)) if format == "string" => id_format = IdFormat::Prefixed,
            Some((format, node)) => {
                let help = did_you_mean(&format, ["integer", "uuid", "string"]).map_or(
                    "formats are `integer`, `uuid` and `string`".to_string(),
                    |c| format!("did you mean `{c}`?"),
                );
                reader
                    .error(node, format!("unknown id format `{format}`"))
                    .help = Some(help);
            }
        }
        if let Some((prefix, node)) = reader.optional_string(id, "prefix", "an id prefix") {
            if id_format != IdFormat::Prefixed {
                reader.error(node, "`prefix` goes with `format: string`");
            }
            id_prefix = prefix;
        }
    }
    let paths = |reader: &mut Reader, key: &str| -> Vec<FieldPath> {
        body.get(key)
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(|node| field_path(reader, node))
            .collect()
    };
    let required = paths(reader, "required");
    let unique = paths(reader, "unique");
    let defaults = match body.get("defaults").map(to_json) {
        Some(Json::Object(map)) => map,
        Some(_) => {
            if let Some(node) = body.get("defaults") {
                reader.error(node, "`defaults` maps field names to values");
            }
            serde_json::Map::new()
        }
        None => serde_json::Map::new(),
    };
    let timestamps = body.get("timestamps").map(|node| {
        reader.keys(node, &["created", "updated", "format"], "`timestamps`");
        let created = reader
            .optional_string(node, "created", "a field name")
            .map(|(f, _)| f);
        let updated = reader
            .optional_string(node, "updated", "a field name")
            .map(|(f, _)| f);
        const FORMATS: [(&str, TimeFormat); 4] = [
            ("rfc3339", TimeFormat::Rfc3339),
            ("sql", TimeFormat::Sql),
            ("epoch_seconds", TimeFormat::EpochSeconds),
            ("epoch_millis", TimeFormat::EpochMillis),
        ];
        let format = match reader.optional_string(node, "format", "a time format") {
            None => TimeFormat::Rfc3339,
            Some((text, at)) => match FORMATS.iter().find(|(n, _)| *n == text) {
                Some((_, format)) => *format,
                None => {
                    let help = match did_you_mean(&text, FORMATS.map(|(n, _)| n)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("formats are {}", one_of(FORMATS.map(|(n, _)| n))),
                    };
                    reader
                        .error(at, format!("unknown time format `{text}`"))
                        .help = Some(help);
                    TimeFormat::Rfc3339
                }
            },
        };
        Timestamps {
            created,
            updated,
            format,
        }
    });
    let mut references = Vec::new();
    for (field, spec) in body.get("references").map(Node::entries).unwrap_or(&[]) {
        let Some(field) = reader.string(field, "a field name") else {
            continue;
        };
        if !reader.keys(
            spec,
            &["collection", "read_as"],
            &format!("reference `{field}`"),
        ) {
            continue;
        }
        let Some((collection, _)) =
            reader.required_string(spec, "collection", "the referenced collection")
        else {
            continue;
        };
        references.push(ReferenceSpec {
            field,
            collection,
            read_as: spec.get("read_as").map(template),
        });
    }
    let mut derived = Vec::new();
    for (field, spec) in body.get("derived").map(Node::entries).unwrap_or(&[]) {
        let Some(field) = reader.string(field, "a field name") else {
            continue;
        };
        if !reader.keys(
            spec,
            &["split", "part"],
            &format!("derived field `{field}`"),
        ) {
            continue;
        }
        let Some((from, _)) = reader.required_string(spec, "split", "the field split into words")
        else {
            continue;
        };
        const PARTS: [(&str, WordPart); 4] = [
            ("first", WordPart::First),
            ("rest", WordPart::Rest),
            ("last", WordPart::Last),
            ("init", WordPart::Init),
        ];
        let Some((part, at)) =
            reader.required_string(spec, "part", "`first`, `rest`, `last` or `init`")
        else {
            continue;
        };
        match PARTS.iter().find(|(n, _)| *n == part) {
            Some((_, part)) => derived.push(DerivedSpec {
                field,
                from,
                part: *part,
            }),
            None => {
                reader.error(at, format!("unknown part `{part}`")).help =
                    Some("parts are `first`, `rest` (after the first word), `last` and `init` (before the last word)".into());
            }
        }
    }
    let seed = body.get("seed").map(template);
    check_vars(reader, body.get("seed"), &["n"], "a seed record");
    Some(CollectionSpec {
        name: name.to_string(),
        singular,
        id_field,
        id_format,
        id_prefix,
        routes,
        required,
        unique,
        defaults,
        timestamps,
        references,
        derived,
        seed,
    })
}

fn route(
    reader: &mut Reader,
    openapi: &OpenApi,
    base_path: &str,
    action: Action,
    id_node: &Node,
) -> Option<RouteSpec> {
    let id = reader.string(id_node, "an operationId")?;
    let Some(op) = openapi.operation(&id) else {
        let ids = openapi.operations.iter().map(|op| op.id.as_str());
        let help = match did_you_mean(&id, ids.clone()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("operations in the OpenAPI document are {}", one_of(ids)),
        };
        reader
            .error(id_node, format!("unknown operation `{id}`"))
            .help = Some(help);
        return None;
    };
    if !action.methods().contains(&op.method.as_str()) {
        reader.error(
            id_node,
            format!(
                "operation `{id}` is `{} {}`, but this action is served with {}",
                op.method.to_uppercase(),
                op.path,
                action
                    .methods()
                    .iter()
                    .map(|m| m.to_uppercase())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        );
        return None;
    }
    let id_param = last_parameter(op);
    if action.takes_id() && id_param.is_none() {
        reader.error(
            id_node,
            format!(
                "operation `{id}` (`{}`) has no path parameter for the record id",
                op.path
            ),
        );
        return None;
    }
    Some(RouteSpec {
        action,
        operation: id,
        method: op.method.to_uppercase(),
        path: format!("{base_path}{}", op.path),
        id_param: if action.takes_id() { id_param } else { None },
        request_schema: op.request.as_ref().map(to_json),
        success_status: op.success_status.unwrap_or(200),
    })
}

fn last_parameter(op: &Operation) -> Option<String> {
    op.path
        .rsplit('/')
        .find_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
}

/// Reports every placeholder in the strings under `node` that `allowed` does not
/// list, at the string that uses it.
fn check_vars(reader: &mut Reader, node: Option<&Node>, allowed: &[&str], what: &str) {
    let Some(node) = node else { return };
    match &node.value {
        Value::Str(text) => {
            for part in text_parts(text) {
                let TextPart::Var(name) = part else { continue };
                if allowed.contains(&name.as_str()) {
                    continue;
                }
                let help = match did_you_mean(&name, allowed.iter().copied()) {
                    Some(close) => format!("did you mean `{{{close}}}`?"),
                    None => format!("{what} may use {}", one_of(allowed.iter().copied())),
                };
                reader
                    .error(node, format!("unknown placeholder `{{{name}}}` in {what}"))
                    .help = Some(help);
            }
        }
        Value::Seq(items) => items
            .iter()
            .for_each(|item| check_vars(reader, Some(item), allowed, what)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|(_, value)| check_vars(reader, Some(value), allowed, what)),
        _ => {}
    }
}

fn read_responses(reader: &mut Reader, node: Option<&Node>) -> ResponseSpec {
    let mut spec = ResponseSpec {
        record: Template::Whole("record".into()),
        list: Template::Whole("records".into()),
        deleted: Template::Object(Vec::new()),
    };
    let Some(node) = node else { return spec };
    if !reader.keys(node, &["record", "list", "deleted"], "`responses`") {
        return spec;
    }
    if let Some(record) = node.get("record") {
        spec.record = template(record);
        check_vars(reader, Some(record), &["record"], "a record response");
    }
    if let Some(list) = node.get("list") {
        spec.list = template(list);
        check_vars(reader, Some(list), LIST_VARS, "a list response");
    }
    if let Some(deleted) = node.get("deleted") {
        spec.deleted = template(deleted);
        check_vars(reader, Some(deleted), &["id"], "a delete response");
    }
    spec
}

fn read_pagination(reader: &mut Reader, node: Option<&Node>) -> Option<PageSpec> {
    let mut spec = PageSpec {
        style: PageStyle::Offset,
        offset_param: "offset".into(),
        cursor_param: "cursor".into(),
        limit_param: "limit".into(),
        default_limit: 100,
        max_limit: 100,
        empty_page_null: false,
    };
    let Some(node) = node else {
        return Some(spec);
    };
    if !reader.keys(
        node,
        &[
            "style",
            "offset_param",
            "cursor_param",
            "limit_param",
            "default_limit",
            "max_limit",
            "empty_page",
        ],
        "`pagination`",
    ) {
        return Some(spec);
    }
    match reader.optional_string(node, "style", "`offset`, `cursor` or `next_url`") {
        None => {}
        Some((style, _)) if style == "offset" => spec.style = PageStyle::Offset,
        Some((style, _)) if style == "cursor" => spec.style = PageStyle::Cursor,
        Some((style, _)) if style == "next_url" => spec.style = PageStyle::NextUrl,
        Some((style, at)) => {
            reader
                .error(at, format!("unknown pagination style `{style}`"))
                .help = Some("styles are `offset`, `cursor` and `next_url`".into());
        }
    }
    for (key, target) in [
        ("offset_param", &mut spec.offset_param),
        ("cursor_param", &mut spec.cursor_param),
        ("limit_param", &mut spec.limit_param),
    ] {
        if let Some((value, _)) = reader.optional_string(node, key, "a parameter name") {
            *target = value;
        }
    }
    for (key, target) in [
        ("default_limit", &mut spec.default_limit),
        ("max_limit", &mut spec.max_limit),
    ] {
        match node.get(key).map(|n| (&n.value, n)) {
            None => {}
            Some((Value::Int(n), _)) if *n > 0 => *target = *n as usize,
            Some((_, at)) => {
                reader.error(at, format!("`{key}` must be a positive whole number"));
            }
        }
    }
    if spec.default_limit > spec.max_limit {
        spec.max_limit = spec.default_limit;
    }
    match node.get("empty_page").map(|n| (&n.value, n)) {
        None => {}
        Some((Value::Null, _)) => spec.empty_page_null = true,
        Some((Value::Seq(items), _)) if items.is_empty() => spec.empty_page_null = false,
        Some((_, at)) => {
            reader.error(
                at,
                "`empty_page` is `null` or `[]`: what `{records}` is on an empty page",
            );
        }
    }
    Some(spec)
}

fn read_errors(reader: &mut Reader, node: Option<&Node>) -> Vec<ErrorSpec> {
    let default_body = node
        .and_then(|n| n.get("body"))
        .map(template)
        .unwrap_or_else(|| {
            Template::Object(vec![("message".into(), Template::Whole("message".into()))])
        });
    let mut body_vars: Vec<&str> = vec!["message", "code", "kind"];
    body_vars.extend(ERROR_VARS);
    let mut allowed_keys: Vec<&str> = vec!["body"];
    allowed_keys.extend(ErrorKind::ALL.map(ErrorKind::name));
    if let Some(node) = node {
        reader.keys(node, &allowed_keys, "`errors`");
        check_vars(reader, node.get("body"), &body_vars, "an error body");
    }
    let mut out = Vec::new();
    for kind in ErrorKind::ALL {
        let mut spec = ErrorSpec {
            kind,
            status: kind.default_status(),
            message: Template::text(kind.default_message()),
            code: kind.name().to_string(),
            body: default_body.clone(),
        };
        if let Some(entry) = node.and_then(|n| n.get(kind.name())) {
            match &entry.value {
                Value::Str(text) => spec.message = Template::text(text),
                Value::Map(_) => {
                    reader.keys(
                        entry,
                        &["status", "message", "code", "body"],
                        &format!("`errors.{}`", kind.name()),
                    );
                    match entry.get("status").map(|n| (&n.value, n)) {
                        None => {}
                        Some((Value::Int(code), _)) if (400..600).contains(code) => {
                            spec.status = *code as u16
                        }
                        Some((_, at)) => {
                            reader.error(at, "`status` must be an HTTP error status such as 404");
                        }
                    }
                    if let Some((text, _)) = reader.optional_string(entry, "message", "the message")
                    {
                        spec.message = Template::text(&text);
                    }
                    if let Some((code, _)) = reader.optional_string(entry, "code", "the error code")
                    {
                        spec.code = code;
                    }
                    if let Some(body) = entry.get("body") {
                        spec.body = template(body);
                        check_vars(reader, Some(body), &body_vars, "an error body");
                    }
                }
                _ => {
                    reader.error(
                        entry,
                        format!(
                            "`errors.{}` is a message or `{{ status, message, code, body }}`",
                            kind.name()
                        ),
                    );
                }
            }
            let message = entry
                .get("message")
                .or(Some(entry))
                .filter(|n| n.as_str().is_some());
            check_vars(reader, message, ERROR_VARS, "an error message");
        }
        out.push(spec);
    }
    out
}

fn read_rate(reader: &mut Reader, node: &Node) -> Option<RateSpec> {
    if !reader.keys(
        node,
        &["requests", "window_ms", "headers", "retry_after", "enforce"],
        "`rate_limits`",
    ) {
        return None;
    }
    let positive = |reader: &mut Reader, key: &str| match node.get(key).map(|n| (&n.value, n)) {
        Some((Value::Int(n), _)) if *n > 0 => Some(*n as u64),
        Some((_, at)) => {
            reader.error(at, format!("`{key}` must be a positive whole number"));
            None
        }
        None => {
            reader.error(node, format!("`rate_limits` needs `{key}`"));
            None
        }
    };
    let requests = positive(reader, "requests")?;
    let window_ms = positive(reader, "window_ms")?;
    let (mut limit_header, mut remaining_header, mut reset_header) = (None, None, None);
    if let Some(headers) = node.get("headers") {
        reader.keys(
            headers,
            &["limit", "remaining", "reset"],
            "`rate_limits.headers`",
        );
        limit_header = reader
            .optional_string(headers, "limit", "a header name")
            .map(|(h, _)| h);
        remaining_header = reader
            .optional_string(headers, "remaining", "a header name")
            .map(|(h, _)| h);
        reset_header = reader
            .optional_string(headers, "reset", "a header name")
            .map(|(h, _)| h);
    }
    let retry_after = match reader.optional_string(node, "retry_after", "`seconds` or `http_date`")
    {
        None => RetryAfter::Seconds,
        Some((text, _)) if text == "seconds" => RetryAfter::Seconds,
        Some((text, _)) if text == "http_date" => RetryAfter::HttpDate,
        Some((text, at)) => {
            reader.error(
                at,
                format!("`retry_after` is `seconds` or `http_date`, not `{text}`"),
            );
            RetryAfter::Seconds
        }
    };
    let enforce = match node.get("enforce") {
        None => true,
        Some(_) => reader.boolean(node, "enforce"),
    };
    Some(RateSpec {
        requests: requests as usize,
        window_ms,
        limit_header,
        remaining_header,
        reset_header,
        retry_after,
        enforce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_fill_whole_values_and_text() {
        let mut sources = Sources::default();
        let file = sources.add(
            "t.yaml".into(),
            "t.yaml".into(),
            "{ success: true, data: '{record}', note: 'id {id}!', next: '{next}', braces: '{not a var}' }".into(),
        );
        let node = yaml::parse(&sources, file).unwrap();
        let template = template(&node);
        let rendered = template
            .render(&|name| match name {
                "record" => Some(json!({"id": 1})),
                "id" => Some(json!(1)),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            rendered,
            json!({"success": true, "data": {"id": 1}, "note": "id 1!", "braces": "{not a var}"})
        );
    }
}
