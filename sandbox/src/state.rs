//! What every emulator shares: a record store kept in creation order, the request log,
//! usage counters, the token check and the middleware that applies them to every
//! request before a vendor's handler runs.
//!
//! The middleware asks the emulated vendor for its error bodies and headers through
//! [`Dialect`]: the hand-written vendors answer with static functions ([`VendorApi`]),
//! a sandbox described in YAML (`crate::described`) answers from its description.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::Vendor;
use crate::util::{Reply, decode};

/// Largest request body read; bigger bodies get the vendor's 413.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Length of the fixed usage window that rate-limit headers report on.
pub(crate) const RATE_WINDOW: Duration = Duration::from_secs(10);

/// One request as the sandbox saw and answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path including the query string, e.g. `/crm/v3/objects/contacts/512?properties=email`.
    pub path: String,
    /// Status code returned.
    pub status: u16,
    /// Request body as JSON; `Null` when empty, a JSON string holding the raw text when the
    /// body was not valid JSON.
    pub body: Value,
    /// When the sandbox began handling it (what its rate limits count).
    pub received_at: Instant,
}

/// A stored record in a vendor-neutral form; each vendor module decides what `fields` hold
/// and renders them in its read shape.
#[derive(Debug, Clone)]
pub(crate) struct StoredRecord {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// Last write; strictly later than the previous one (see [`crate::util::touched`]), so
    /// "modified since" filters see every update even within one clock tick.
    pub updated_at: DateTime<Utc>,
    /// When the record was archived (HubSpot's soft delete); `None` for live records.
    pub archived_at: Option<DateTime<Utc>>,
    pub fields: Map<String, Value>,
    /// Position in the store's insertion order, set by [`Store::insert`]. List cursors
    /// point at it, so they stay valid when other records are removed meanwhile.
    pub order: u64,
}

impl StoredRecord {
    /// A record created at `at` (its `order` is assigned on insertion).
    pub fn new(id: String, at: DateTime<Utc>, fields: Map<String, Value>) -> StoredRecord {
        StoredRecord {
            id,
            created_at: at,
            updated_at: at,
            archived_at: None,
            fields,
            order: 0,
        }
    }
}

/// A HubSpot association between two records, stored once; reads from the `to` side see
/// it with the inverse type id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Association {
    /// Object type name of the source, e.g. `contacts`.
    pub from_type: String,
    pub from_id: String,
    /// Object type name of the target, e.g. `companies`.
    pub to_type: String,
    pub to_id: String,
    /// HUBSPOT_DEFINED `associationTypeId` in the `from` → `to` direction (279, 1, …).
    pub type_id: u32,
}

/// The ids a Salesforce query matched, kept so that `nextRecordsUrl` pages through a
/// stable snapshot even while records are created or deleted in between.
#[derive(Debug, Clone)]
pub(crate) struct QueryCursor {
    pub object: &'static str,
    /// Canonical names of the selected fields, in SELECT order.
    pub fields: Vec<&'static str>,
    pub ids: Vec<String>,
    pub batch_size: usize,
}

/// Records of one object type in insertion order, with an id index so lookups stay O(1)
/// when tests seed tens of thousands of records.
#[derive(Debug, Default)]
struct Table {
    rows: Vec<StoredRecord>,
    index: HashMap<String, usize>,
}

impl Table {
    /// Inserts keeping rows sorted by `order` (appending in the common case).
    fn insert(&mut self, record: StoredRecord) {
        let at = self.rows.partition_point(|r| r.order < record.order);
        if at == self.rows.len() {
            self.index.insert(record.id.clone(), at);
            self.rows.push(record);
        } else {
            self.rows.insert(at, record);
            self.reindex(at);
        }
    }

    fn remove(&mut self, id: &str) -> Option<StoredRecord> {
        let at = self.index.remove(id)?;
        let record = self.rows.remove(at);
        self.reindex(at);
        Some(record)
    }

    fn reindex(&mut self, from: usize) {
        for (i, row) in self.rows.iter().enumerate().skip(from) {
            self.index.insert(row.id.clone(), i);
        }
    }

    fn get(&self, id: &str) -> Option<&StoredRecord> {
        self.index.get(id).and_then(|&i| self.rows.get(i))
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut StoredRecord> {
        let i = *self.index.get(id)?;
        self.rows.get_mut(i)
    }
}

/// Records per object type, each list in creation order, plus the vendor-specific side
/// tables (HubSpot associations and archive, Salesforce query cursors).
#[derive(Debug, Default)]
pub(crate) struct Store {
    tables: HashMap<&'static str, Table>,
    /// HubSpot's archived records, per object type, out of the live tables.
    archived: HashMap<&'static str, Table>,
    sequence: u64,
    inserted: u64,
    /// How many records [`VendorApi::seed`] has made per object, so that repeated seeding
    /// continues the numbering instead of colliding on unique values.
    seeded: HashMap<&'static str, usize>,
    pub associations: Vec<Association>,
    pub query_cursors: HashMap<String, QueryCursor>,
    /// Custom fields declared per object (HubSpot properties, Salesforce `__c` fields, Attio
    /// attributes), each in its vendor's own definition shape, in declaration order.
    custom_fields: HashMap<String, Vec<Value>>,
}

impl Store {
    /// A number that grows by one on every call, for vendors with sequential ids.
    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Appends a record, assigning its insertion `order`.
    pub fn insert(&mut self, object: &'static str, mut record: StoredRecord) {
        self.inserted += 1;
        record.order = self.inserted;
        self.tables.entry(object).or_default().insert(record);
    }

    /// Live records of `object` in creation order.
    pub fn all(&self, object: &str) -> &[StoredRecord] {
        self.tables.get(object).map_or(&[], |t| t.rows.as_slice())
    }

    pub fn get(&self, object: &str, id: &str) -> Option<&StoredRecord> {
        self.tables.get(object)?.get(id)
    }

    pub fn get_mut(&mut self, object: &str, id: &str) -> Option<&mut StoredRecord> {
        self.tables.get_mut(object)?.get_mut(id)
    }

    /// Deletes a live record for good.
    pub fn remove(&mut self, object: &str, id: &str) -> Option<StoredRecord> {
        self.tables.get_mut(object)?.remove(id)
    }

    /// Moves a live record to the archive, keeping its creation order there.
    pub fn archive(&mut self, object: &'static str, id: &str, at: DateTime<Utc>) -> bool {
        let Some(mut record) = self.remove(object, id) else {
            return false;
        };
        record.archived_at = Some(at);
        self.archived.entry(object).or_default().insert(record);
        true
    }

    /// Archived records of `object` in creation order.
    pub fn archived(&self, object: &str) -> &[StoredRecord] {
        self.archived.get(object).map_or(&[], |t| t.rows.as_slice())
    }

    pub fn get_archived(&self, object: &str, id: &str) -> Option<&StoredRecord> {
        self.archived.get(object)?.get(id)
    }

    /// The last number [`VendorApi::seed`] used for `object` (0 before any seeding).
    pub fn seed_counter(&mut self, object: &'static str) -> &mut usize {
        self.seeded.entry(object).or_default()
    }

    /// Custom field definitions declared on `object`, oldest first.
    pub fn custom_fields(&self, object: &str) -> &[Value] {
        self.custom_fields.get(object).map_or(&[], Vec::as_slice)
    }

    /// Adds a custom field definition to `object`; the vendor checked it is new.
    pub fn declare_custom_field(&mut self, object: &str, definition: Value) {
        self.custom_fields
            .entry(object.to_owned())
            .or_default()
            .push(definition);
    }

    /// Room for `additional` more live records of `object`, so seeding allocates once.
    pub fn reserve(&mut self, object: &'static str, additional: usize) {
        let table = self.tables.entry(object).or_default();
        table.rows.reserve(additional);
        table.index.reserve(additional);
    }
}

/// A failure the sandbox answers instead of serving a request: the vendor's error body
/// for `status`, with `Retry-After: <retry_after>` when given (seconds or an HTTP date,
/// as the vendor sends it). The request is not processed, as with the real throttles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: u16,
    pub retry_after: Option<String>,
    /// Break the connection instead of answering: before the request is processed
    /// (`Some(false)`) or after it was (`Some(true)`, the record is kept).
    pub reset: Option<bool>,
    /// Answer the vendor's "daily quota spent" error instead of `status`.
    pub quota: bool,
    /// Process the request, then answer only after this long: a client whose timeout
    /// is shorter gives up on a request that did take effect.
    pub delay: Option<Duration>,
}

impl Fault {
    pub fn status(status: u16) -> Fault {
        Fault {
            status,
            retry_after: None,
            reset: None,
            quota: false,
            delay: None,
        }
    }

    /// The request is processed, and answered `delay` later.
    pub fn slow(delay: Duration) -> Fault {
        Fault {
            delay: Some(delay),
            ..Fault::status(0)
        }
    }

    /// The vendor's daily allocation is spent (HubSpot's DAILY 429, Salesforce's 403).
    pub fn daily_quota() -> Fault {
        Fault {
            quota: true,
            ..Fault::status(429)
        }
    }

    /// The connection breaks before the request is processed.
    pub fn reset_before() -> Fault {
        Fault {
            status: 0,
            retry_after: None,
            reset: Some(false),
            quota: false,
            delay: None,
        }
    }

    /// The request is processed (a record created), then the connection breaks before
    /// the client has the answer: the case that duplicates records when a client simply
    /// sends the create again.
    pub fn reset_after() -> Fault {
        Fault {
            status: 0,
            retry_after: None,
            reset: Some(true),
            quota: false,
            delay: None,
        }
    }

    pub fn retry_after(mut self, value: impl Into<String>) -> Fault {
        self.retry_after = Some(value.into());
        self
    }
}

/// An OAuth app registered with the sandbox: the refresh grant at the vendor's token
/// path exchanges `refresh_token` (with the client credentials) for a new access token,
/// which replaces the accepted one. Refresh tokens rotate, as Salesforce and HubSpot
/// may do.
#[derive(Debug, Clone)]
struct OAuthApp {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    access_token: String,
    /// Refresh grants received.
    grants: usize,
}

/// Failure rates drawn, from a seed, for every authorized request: a vendor-shaped 5xx,
/// a 429 with `Retry-After`, a connection reset before or after the request is
/// processed, or an answer delayed by `slow_by` after processing. Rates are fractions
/// of requests; the rest are served normally.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    pub seed: u64,
    pub server_error: f64,
    pub throttle: f64,
    pub reset_before: f64,
    pub reset_after: f64,
    pub slow: f64,
    pub slow_by: Duration,
    /// The `Retry-After` sent with throttles.
    pub retry_after: String,
}

impl Default for FaultPlan {
    /// Seed 1, no faults; set the rates wanted.
    fn default() -> FaultPlan {
        FaultPlan {
            seed: 1,
            server_error: 0.0,
            throttle: 0.0,
            reset_before: 0.0,
            reset_after: 0.0,
            slow: 0.0,
            slow_by: Duration::from_secs(5),
            retry_after: "1".into(),
        }
    }
}

/// A request budget the sandbox enforces like its vendor: more than `requests` in any
/// `window` (a rolling window) gets the vendor's 429 with a `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: usize,
    pub window: Duration,
    /// Count only writes (`Some(false)`), only reads (`Some(true)`), or all (`None`).
    pub reads: Option<bool>,
}

/// Usage figures of the request being handled, for the vendors' limit headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    /// Requests received since start or reset, this one included.
    pub total: usize,
    /// Requests received in the current [`RATE_WINDOW`], this one included.
    pub in_window: usize,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    log: Vec<RecordedRequest>,
    /// Failures to answer instead of serving, in order (see [`SandboxState::inject_faults`]).
    faults: std::collections::VecDeque<Fault>,
    /// Random failures drawn for every authorized request (see [`FaultPlan`]).
    plan: Option<(FaultPlan, u64)>,
    /// The OAuth app and the access token currently accepted instead of the fixed one.
    oauth: Option<OAuthApp>,
    /// Enforced request budgets and the times of the requests each has counted.
    limits: Vec<(Limit, std::collections::VecDeque<Instant>)>,
    received: usize,
    /// Requests of the daily allocation spent before this sandbox started (by the
    /// customer's other integrations), see [`SandboxState::use_daily_requests`].
    used_before: usize,
    window_start: Instant,
    window_count: usize,
}

impl Inner {
    fn new() -> Inner {
        Inner {
            store: Store::default(),
            log: Vec::new(),
            faults: std::collections::VecDeque::new(),
            limits: Vec::new(),
            oauth: None,
            plan: None,
            received: 0,
            used_before: 0,
            window_start: Instant::now(),
            window_count: 0,
        }
    }
}

/// Shared state of one emulator: the store, the request log and the accepted token.
///
/// Cloning is cheap and every clone sees the same data.
#[derive(Debug, Clone)]
pub struct SandboxState {
    /// `None` for a sandbox described in YAML.
    vendor: Option<Vendor>,
    /// The provider's name: the vendor's, or the described provider's folder name.
    provider: Arc<str>,
    dialect: Arc<dyn Dialect>,
    token: Arc<str>,
    inner: Arc<Mutex<Inner>>,
}

impl SandboxState {
    pub(crate) fn new(vendor: Vendor, token: &str) -> SandboxState {
        let dialect: Arc<dyn Dialect> = match vendor {
            Vendor::HubSpot => Arc::new(Builtin::<crate::hubspot::HubSpot>::new()),
            Vendor::Salesforce => Arc::new(Builtin::<crate::salesforce::Salesforce>::new()),
            Vendor::Attio => Arc::new(Builtin::<crate::attio::Attio>::new()),
        };
        SandboxState::with_dialect(Some(vendor), vendor.name(), dialect, token)
    }

    /// The state of an emulator whose behaviour is `dialect`.
    pub(crate) fn with_dialect(
        vendor: Option<Vendor>,
        provider: &str,
        dialect: Arc<dyn Dialect>,
        token: &str,
    ) -> SandboxState {
        SandboxState {
            vendor,
            provider: Arc::from(provider),
            dialect,
            token: Arc::from(token),
            inner: Arc::new(Mutex::new(Inner::new())),
        }
    }

    /// The emulated vendor; `None` for a sandbox described in YAML
    /// ([`crate::Sandbox::start_described`]), which [`SandboxState::provider`] names.
    pub fn vendor(&self) -> Option<Vendor> {
        self.vendor
    }

    /// The emulated provider's name (`hubspot`, or a described provider's folder name).
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The bearer token the emulator accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Number of HTTP requests received, including rejected ones.
    pub fn request_count(&self) -> usize {
        self.lock().received
    }

    /// Every answered request, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.clone()
    }

    /// Stored records of `object` in the vendor's read shape, in creation order.
    pub fn records(&self, object: &str) -> Vec<Value> {
        let inner = self.lock();
        self.dialect.records(&inner.store, object)
    }

    /// Inserts `count` valid records of `object` straight into the store (no HTTP, not
    /// counted as requests) and returns their ids in order.
    ///
    /// Values are deterministic and numbered on from earlier seeding: people/contacts are
    /// `Person <n>` with `person<n>@example.com`, companies/accounts `Company <n>` with
    /// `company<n>.example.com`, deals/opportunities `Deal <n>` with amount `n*100`. Numbers
    /// whose unique value is already taken are skipped. An unknown object (or Salesforce
    /// `OpportunityContactRole`, which needs existing pairs) gives an empty list.
    pub fn seed(&self, object: &str, count: usize) -> Vec<String> {
        let mut inner = self.lock();
        self.dialect.seed(&mut inner.store, object, count)
    }

    /// Declares a custom text field `name` on `object`, as the vendor's own API would: a
    /// HubSpot property (`"contacts"`, `"linkedin_url"`, as `POST /crm/v3/properties/contacts`
    /// creates), a Salesforce custom field (`"Contact"`, `"LinkedIn_URL__c"`, listed by the
    /// sObject's describe) or an Attio attribute (`"people"`, `"linkedin_url"`, as
    /// `POST /v2/objects/people/attributes` creates). Records then take and return it; other
    /// unknown names stay refused with the vendor's error.
    ///
    /// Fails (with the reason) on an unknown object, a name the vendor would refuse, a name
    /// already taken, or a sandbox described in YAML.
    pub fn declare_custom_field(&self, object: &str, name: &str) -> Result<(), CustomFieldError> {
        let mut inner = self.lock();
        self.dialect
            .declare_custom_field(&mut inner.store, object, name)
            .map_err(|reason| CustomFieldError {
                object: object.to_owned(),
                name: name.to_owned(),
                reason,
            })
    }

    /// HubSpot associations in the direction they were created; empty for the other
    /// vendors, whose links are fields shown by [`SandboxState::records`].
    /// Draws failures for every authorized request from now on (see [`FaultPlan`]).
    pub fn fault_plan(&self, plan: FaultPlan) {
        let state = plan.seed.max(1);
        self.lock().plan = Some((plan, state));
    }

    /// Enforces a request budget from now on (see [`Limit`]).
    pub fn enforce(&self, limit: Limit) {
        self.lock()
            .limits
            .push((limit, std::collections::VecDeque::new()));
    }

    /// The failure to answer instead of serving: a queued one, or a 429 when an
    /// enforced budget is spent (the request is then not counted against it).
    fn next_fault(&self, reads: bool) -> Option<Fault> {
        let mut inner = self.lock();
        if let Some(fault) = inner.faults.pop_front() {
            return Some(fault);
        }
        if let Some((plan, state)) = &mut inner.plan {
            // xorshift64*: deterministic for a seed, no dependency.
            *state ^= *state >> 12;
            *state ^= *state << 25;
            *state ^= *state >> 27;
            let draw =
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
            let mut edge = plan.server_error;
            if draw < edge {
                return Some(Fault::status(503));
            }
            edge += plan.throttle;
            if draw < edge {
                return Some(Fault::status(429).retry_after(plan.retry_after.clone()));
            }
            edge += plan.reset_before;
            if draw < edge {
                return Some(Fault::reset_before());
            }
            edge += plan.reset_after;
            if draw < edge {
                return Some(Fault::reset_after());
            }
            edge += plan.slow;
            if draw < edge {
                return Some(Fault::slow(plan.slow_by));
            }
        }
        let now = Instant::now();
        let mut wait = None;
        for (limit, times) in inner.limits.iter_mut() {
            if limit.reads.is_some_and(|only_reads| only_reads != reads) {
                continue;
            }
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= limit.window)
            {
                times.pop_front();
            }
            if times.len() >= limit.requests
                && let Some(oldest) = times.front()
            {
                let until = limit.window.saturating_sub(now.duration_since(*oldest));
                wait = Some(wait.map_or(until, |w: Duration| w.max(until)));
            }
        }
        if let Some(wait) = wait {
            return Some(Fault::status(429).retry_after(self.dialect.retry_after(wait)));
        }
        for (limit, times) in inner.limits.iter_mut() {
            if limit.reads.is_none_or(|only_reads| only_reads == reads) {
                times.push_back(now);
            }
        }
        None
    }

    /// Counts `requests` as already spent of the vendor's daily allocation (by other
    /// integrations of the same account): usage headers report them, and vendors that
    /// enforce the allocation refuse requests once it is spent.
    pub fn use_daily_requests(&self, requests: usize) {
        self.lock().used_before = requests;
    }

    /// Queues failures: the next authorized requests get them, one each, in order.
    pub fn inject_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.extend(faults);
    }

    pub fn associations(&self) -> Vec<Association> {
        self.lock().store.associations.clone()
    }

    /// Clears records, declared custom fields, the request log and the usage counters.
    pub fn reset(&self) {
        *self.lock() = Inner::new();
    }

    /// Forgets the requests received so far (log and count), keeping the records.
    pub fn reset_log(&self) {
        let mut inner = self.lock();
        inner.log.clear();
        inner.received = 0;
    }

    /// Runs `f` with the store locked. Handlers must not `.await` inside `f`.
    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.lock().store)
    }

    // A handler that panicked mid-update cannot leave the store half-written in a way that
    // matters more than losing the sandbox, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin_request(&self) -> Usage {
        let mut inner = self.lock();
        inner.received += 1;
        let now = Instant::now();
        if now.duration_since(inner.window_start) >= RATE_WINDOW {
            inner.window_start = now;
            inner.window_count = 0;
        }
        inner.window_count += 1;
        Usage {
            total: inner.received + inner.used_before,
            in_window: inner.window_count,
        }
    }

    fn authorizes(&self, headers: &HeaderMap) -> bool {
        let accepted = match &self.lock().oauth {
            Some(app) => app.access_token.clone(),
            None => self.token.to_string(),
        };
        self.dialect.authorizes(headers, &accepted)
    }

    /// Registers an OAuth app; the sandbox token stays the accepted access token until
    /// [`SandboxState::expire_access_token`].
    pub fn enable_oauth(&self, client_id: &str, client_secret: &str, refresh_token: &str) {
        self.lock().oauth = Some(OAuthApp {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            refresh_token: refresh_token.to_string(),
            access_token: self.token.to_string(),
            grants: 0,
        });
    }

    /// Expires the current access token: requests with it get the vendor's 401.
    pub fn expire_access_token(&self) {
        if let Some(app) = &mut self.lock().oauth {
            app.access_token = format!("expired-{}", crate::util::random_uuid());
        }
    }

    /// Refresh grants the token endpoint has accepted.
    pub fn token_grants(&self) -> usize {
        self.lock().oauth.as_ref().map_or(0, |app| app.grants)
    }

    /// The refresh grant (`application/x-www-form-urlencoded`): a new access token and a
    /// rotated refresh token, or 400 `invalid_grant` in OAuth's own error shape.
    fn refresh_grant(&self, body: &[u8]) -> Response {
        let form: HashMap<String, String> = String::from_utf8_lossy(body)
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        let mut inner = self.lock();
        let Some(app) = &mut inner.oauth else {
            return oauth_error("invalid_client", "no OAuth app is registered");
        };
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
        if field("grant_type") != "refresh_token" {
            return oauth_error("unsupported_grant_type", "grant_type must be refresh_token");
        }
        if field("client_id") != app.client_id || field("client_secret") != app.client_secret {
            return oauth_error("invalid_client", "client credentials are invalid");
        }
        if field("refresh_token") != app.refresh_token {
            return oauth_error("invalid_grant", "refresh token is invalid or expired");
        }
        app.grants += 1;
        app.access_token = format!("access-{}", crate::util::random_uuid());
        app.refresh_token = format!("refresh-{}", crate::util::random_uuid());
        let body = serde_json::json!({
            "access_token": app.access_token,
            "refresh_token": app.refresh_token,
            "token_type": "bearer",
            "expires_in": 1800,
        });
        (StatusCode::OK, axum::Json(body)).into_response()
    }
}

/// `Authorization: Bearer <accepted>`, the check every shipped vendor makes.
pub(crate) fn bearer_matches(headers: &HeaderMap, accepted: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, credentials)| {
            scheme.eq_ignore_ascii_case("bearer") && credentials.trim() == accepted
        })
}

/// Why [`SandboxState::declare_custom_field`] declared nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldError {
    pub object: String,
    pub name: String,
    pub reason: String,
}

impl std::fmt::Display for CustomFieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot declare custom field `{}` on `{}`: {}",
            self.name, self.object, self.reason
        )
    }
}

impl std::error::Error for CustomFieldError {}

/// What the shared middleware asks of the emulated vendor while serving a request.
pub(crate) trait Dialect: std::fmt::Debug + Send + Sync + 'static {
    fn unauthorized(&self) -> Reply;
    fn unknown_path(&self) -> Reply;
    fn method_not_allowed(&self, method: &Method) -> Reply;
    fn fault(&self, status: StatusCode) -> Reply;
    fn quota_fault(&self) -> Reply;
    fn daily_limit(&self) -> Option<usize>;
    /// Where OAuth refresh grants are served, if anywhere.
    fn token_path(&self) -> Option<&str>;
    fn retry_after(&self, wait: Duration) -> String;
    fn body_too_large(&self) -> Reply;
    fn usage_headers(&self, headers: &mut HeaderMap, usage: Usage);
    fn records(&self, store: &Store, object: &str) -> Vec<Value>;
    fn seed(&self, store: &mut Store, object: &str, count: usize) -> Vec<String>;
    fn declare_custom_field(
        &self,
        store: &mut Store,
        object: &str,
        name: &str,
    ) -> Result<(), String>;
    /// Whether the request carries the accepted token.
    fn authorizes(&self, headers: &HeaderMap, accepted: &str) -> bool {
        bearer_matches(headers, accepted)
    }
}

/// A hand-written vendor as a [`Dialect`].
struct Builtin<A>(std::marker::PhantomData<fn() -> A>);

impl<A> Builtin<A> {
    fn new() -> Builtin<A> {
        Builtin(std::marker::PhantomData)
    }
}

impl<A> std::fmt::Debug for Builtin<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::any::type_name::<A>())
    }
}

impl<A: VendorApi> Dialect for Builtin<A> {
    fn unauthorized(&self) -> Reply {
        A::unauthorized()
    }
    fn unknown_path(&self) -> Reply {
        A::unknown_path()
    }
    fn method_not_allowed(&self, method: &Method) -> Reply {
        A::method_not_allowed(method)
    }
    fn fault(&self, status: StatusCode) -> Reply {
        A::fault(status)
    }
    fn quota_fault(&self) -> Reply {
        A::quota_fault()
    }
    fn daily_limit(&self) -> Option<usize> {
        A::daily_limit()
    }
    fn token_path(&self) -> Option<&str> {
        Some(A::token_path())
    }
    fn retry_after(&self, wait: Duration) -> String {
        A::retry_after(wait)
    }
    fn body_too_large(&self) -> Reply {
        A::body_too_large()
    }
    fn usage_headers(&self, headers: &mut HeaderMap, usage: Usage) {
        A::usage_headers(headers, usage)
    }
    fn records(&self, store: &Store, object: &str) -> Vec<Value> {
        A::records(store, object)
    }
    fn seed(&self, store: &mut Store, object: &str, count: usize) -> Vec<String> {
        A::seed(store, object, count)
    }
    fn declare_custom_field(
        &self,
        store: &mut Store,
        object: &str,
        name: &str,
    ) -> Result<(), String> {
        A::declare_custom_field(store, object, name)
    }
}

/// What a vendor module provides to be served by [`build`].
pub(crate) trait VendorApi: Send + Sync + 'static {
    /// The vendor's routes; unmatched paths and methods get the vendor's own errors.
    fn routes() -> Router<SandboxState>;
    /// Reply to a request without the right bearer token.
    fn unauthorized() -> Reply;
    /// Reply to a path the vendor does not serve.
    fn unknown_path() -> Reply;
    /// Reply to a known path called with a method it does not serve.
    fn method_not_allowed(method: &Method) -> Reply;
    /// The vendor's body for an injected failure status (429, 5xx, quota 403).
    fn fault(status: StatusCode) -> Reply;
    /// The vendor's answer once its daily allocation is spent.
    fn quota_fault() -> Reply {
        Self::fault(StatusCode::TOO_MANY_REQUESTS)
    }
    /// The daily allocation the vendor enforces with [`VendorApi::quota_fault`], if any.
    fn daily_limit() -> Option<usize> {
        None
    }
    /// Where the vendor's OAuth token endpoint is.
    fn token_path() -> &'static str;
    /// The `Retry-After` value the vendor sends for a wait (seconds, or an HTTP date).
    fn retry_after(wait: Duration) -> String {
        wait.as_secs_f64().ceil().max(1.0).to_string()
    }
    /// Reply to a body larger than the sandbox reads.
    fn body_too_large() -> Reply;
    /// Adds the vendor's usage/limit headers to every response.
    fn usage_headers(headers: &mut HeaderMap, usage: Usage);
    /// Records of `object` in the vendor's read shape.
    fn records(store: &Store, object: &str) -> Vec<Value>;
    /// Inserts `count` deterministic valid records (see [`SandboxState::seed`]).
    fn seed(store: &mut Store, object: &str, count: usize) -> Vec<String>;
    /// Declares a text custom field `name` on `object` as the vendor's own API would
    /// (see [`SandboxState::declare_custom_field`]), or says why it cannot.
    fn declare_custom_field(store: &mut Store, object: &str, name: &str) -> Result<(), String>;
}

/// The complete router of vendor `A`: its routes, its fallbacks, and the recording and auth
/// middleware in front of them.
pub(crate) fn build<A: VendorApi>(state: SandboxState) -> Router {
    serve(state, A::routes())
}

/// `routes` with the dialect's fallbacks, behind the recording and auth middleware.
pub(crate) fn serve(state: SandboxState, routes: Router<SandboxState>) -> Router {
    let unknown = state.dialect.clone();
    let not_allowed = state.dialect.clone();
    routes
        .fallback(move || async move { unknown.unknown_path() })
        .method_not_allowed_fallback(move |method: Method| async move {
            not_allowed.method_not_allowed(&method)
        })
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Counts and logs every request, and answers 401 before routing when the token is wrong.
async fn track(State(state): State<SandboxState>, request: Request, next: Next) -> Response {
    let received_at = Instant::now();
    let usage = state.begin_request();
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let dialect = state.dialect.clone();
    let token_grant =
        request.method() == Method::POST && dialect.token_path() == Some(request.uri().path());
    let authorized = token_grant || state.authorizes(request.headers());
    let (parts, body) = request.into_parts();
    let (body, mut response) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            let logged = logged_body(&bytes);
            if token_grant {
                let response = state.refresh_grant(&bytes);
                state.lock().log.push(RecordedRequest {
                    method,
                    path,
                    status: response.status().as_u16(),
                    body: Value::String("(token request)".into()),
                    received_at,
                });
                return response;
            }
            let spent = dialect
                .daily_limit()
                .is_some_and(|limit| usage.total > limit);
            let fault = if !authorized {
                None
            } else if spent {
                Some(Fault::daily_quota())
            } else {
                let reads = parts.method == Method::GET
                    || path.contains("/query")
                    || path.contains("/search");
                state.next_fault(reads)
            };
            let response = match (authorized, fault) {
                (false, _) => dialect.unauthorized().into_response(),
                (
                    true,
                    Some(Fault {
                        reset: Some(after), ..
                    }),
                ) => {
                    if after {
                        let _committed = next
                            .run(Request::from_parts(parts, Body::from(bytes)))
                            .await;
                    }
                    broken_connection()
                }
                (true, Some(Fault { quota: true, .. })) => dialect.quota_fault().into_response(),
                (
                    true,
                    Some(Fault {
                        delay: Some(delay), ..
                    }),
                ) => {
                    let response = next
                        .run(Request::from_parts(parts, Body::from(bytes)))
                        .await;
                    tokio::time::sleep(delay).await;
                    response
                }
                (true, Some(fault)) => {
                    let status = StatusCode::from_u16(fault.status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let mut response = dialect.fault(status).into_response();
                    if let Some(wait) = fault.retry_after
                        && let Ok(value) = axum::http::HeaderValue::from_str(&wait)
                    {
                        response.headers_mut().insert(header::RETRY_AFTER, value);
                    }
                    response
                }
                (true, None) => {
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
            };
            (logged, response)
        }
        Err(_) => (Value::Null, dialect.body_too_large().into_response()),
    };
    dialect.usage_headers(response.headers_mut(), usage);
    state.lock().log.push(RecordedRequest {
        method,
        path,
        status: response.status().as_u16(),
        body,
        received_at,
    });
    response
}

fn oauth_error(code: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": code, "error_description": description});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// A response whose body fails mid-stream: the server closes the connection and the
/// client sees a transport error, as with a reset or a dropped proxy.
fn broken_connection() -> Response {
    let failure = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection reset",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(failure))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn logged_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}
