//! What the three emulators share: a record store kept in creation order, the request log,
//! usage counters, the bearer-token check and the middleware that applies them to every
//! request before a vendor's handler runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::Vendor;
use crate::util::Reply;

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
}

/// A stored record in a vendor-neutral form; each vendor module decides what `fields` hold
/// and renders them in its read shape.
#[derive(Debug, Clone)]
pub(crate) struct StoredRecord {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub fields: Map<String, Value>,
    /// Associations kept beside the fields (HubSpot); vendors whose links are field values
    /// (Salesforce lookups, Attio record references) leave this empty.
    pub links: Vec<Link>,
}

/// A directed association from the owning record to another record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub object: &'static str,
    pub id: String,
    /// Vendor-specific association type (HubSpot `associationTypeId`).
    pub kind: u32,
}

/// Records per object type, each list in creation order.
#[derive(Debug, Default)]
pub(crate) struct Store {
    tables: HashMap<&'static str, Vec<StoredRecord>>,
    sequence: u64,
}

impl Store {
    /// A number that grows by one on every call, for vendors with sequential ids.
    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    pub fn insert(&mut self, object: &'static str, record: StoredRecord) {
        self.tables.entry(object).or_default().push(record);
    }

    pub fn all(&self, object: &str) -> &[StoredRecord] {
        self.tables.get(object).map_or(&[], Vec::as_slice)
    }

    pub fn get(&self, object: &str, id: &str) -> Option<&StoredRecord> {
        self.all(object).iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, object: &str, id: &str) -> Option<&mut StoredRecord> {
        self.tables.get_mut(object)?.iter_mut().find(|r| r.id == id)
    }
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
    received: usize,
    window_start: Instant,
    window_count: usize,
}

impl Inner {
    fn new() -> Inner {
        Inner {
            store: Store::default(),
            log: Vec::new(),
            received: 0,
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
    vendor: Vendor,
    token: Arc<str>,
    inner: Arc<Mutex<Inner>>,
}

impl SandboxState {
    pub(crate) fn new(vendor: Vendor, token: &str) -> SandboxState {
        SandboxState {
            vendor,
            token: Arc::from(token),
            inner: Arc::new(Mutex::new(Inner::new())),
        }
    }

    /// The emulated vendor.
    pub fn vendor(&self) -> Vendor {
        self.vendor
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
        match self.vendor {
            Vendor::HubSpot => crate::hubspot::HubSpot::records(&inner.store, object),
            Vendor::Salesforce => crate::salesforce::Salesforce::records(&inner.store, object),
            Vendor::Attio => crate::attio::Attio::records(&inner.store, object),
        }
    }

    /// Clears records, the request log and the usage counters.
    pub fn reset(&self) {
        *self.lock() = Inner::new();
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
            total: inner.received,
            in_window: inner.window_count,
        }
    }

    fn authorizes(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .is_some_and(|(scheme, credentials)| {
                scheme.eq_ignore_ascii_case("bearer") && credentials.trim() == &*self.token
            })
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
    /// Reply to a body larger than the sandbox reads.
    fn body_too_large() -> Reply;
    /// Adds the vendor's usage/limit headers to every response.
    fn usage_headers(headers: &mut HeaderMap, usage: Usage);
    /// Records of `object` in the vendor's read shape.
    fn records(store: &Store, object: &str) -> Vec<Value>;
}

/// The complete router of vendor `A`: its routes, its fallbacks, and the recording and auth
/// middleware in front of them.
pub(crate) fn build<A: VendorApi>(state: SandboxState) -> Router {
    A::routes()
        .fallback(|| async { A::unknown_path() })
        .method_not_allowed_fallback(|method: Method| async move { A::method_not_allowed(&method) })
        .layer(middleware::from_fn_with_state(state.clone(), track::<A>))
        .with_state(state)
}

/// Counts and logs every request, and answers 401 before routing when the token is wrong.
async fn track<A: VendorApi>(
    State(state): State<SandboxState>,
    request: Request,
    next: Next,
) -> Response {
    let usage = state.begin_request();
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let authorized = state.authorizes(request.headers());
    let (parts, body) = request.into_parts();
    let (body, mut response) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            let logged = logged_body(&bytes);
            let response = if authorized {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            } else {
                A::unauthorized().into_response()
            };
            (logged, response)
        }
        Err(_) => (Value::Null, A::body_too_large().into_response()),
    };
    A::usage_headers(response.headers_mut(), usage);
    state.lock().log.push(RecordedRequest {
        method,
        path,
        status: response.status().as_u16(),
        body,
    });
    response
}

fn logged_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}
