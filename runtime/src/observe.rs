//! What the runtime reports about every action it runs and every HTTP request it
//! sends: as `tracing` spans and events (for any subscriber, OpenTelemetry included),
//! and as records handed to the [`Observer`]s registered on the [`Runtime`] (hooks, and
//! the log store of the `queue` feature).
//!
//! Records are redacted before anyone sees them: the connection's secrets (tokens, API
//! keys, OAuth client secrets) are replaced wherever they appear, and so are the values
//! of fields named like secrets (`password`, `access_token`, …) or declared
//! `sensitive: true` in a unified model. Bodies are cut to the runtime's body limit.

use crate::{Connection, Credentials, Error, Runtime};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Receives what the runtime does, as it happens. Register with
/// [`crate::RuntimeBuilder::observer`]. Methods run on the task doing the work: keep
/// them quick (hand records to a channel, as the log store does).
pub trait Observer: Send + Sync {
    /// An action (a generated function such as `create_contact`) has finished.
    fn action_finished(&self, _record: &OperationRecord) {}
    /// One HTTP request (one attempt) has been answered or has failed.
    fn request_finished(&self, _record: &RequestRecord) {}
    /// A request failed and will be sent again after `wait`.
    fn retrying(&self, _event: &RetryEvent) {}
}

/// One action invocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationRecord {
    pub id: String,
    /// The action that called this one (a composite's step, a create's retry through
    /// its upsert).
    pub parent_id: Option<String>,
    pub connection_id: String,
    pub provider: String,
    pub action: String,
    /// The input, redacted.
    pub input: Value,
    pub started_at: crate::DateTime,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// 1 plus the retries of its requests.
    pub attempts: u32,
    /// HTTP requests sent by the action itself (not by the actions it called).
    pub requests: u32,
}

/// How an action ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// `summary`: the record's id, a list's length, or the output cut short.
    Succeeded { summary: Value },
    Failed {
        category: String,
        message: String,
        status: Option<u16>,
    },
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// One HTTP request (one attempt of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: String,
    /// The action that sent it, when it was sent inside one.
    pub operation_id: Option<String>,
    pub connection_id: String,
    pub provider: String,
    /// The OpenAPI `operationId`.
    pub operation: String,
    pub method: String,
    /// The URL with secrets redacted.
    pub url: String,
    /// `None` when no answer came (the connection failed).
    pub status: Option<u16>,
    /// Why the request failed, when it did (redacted).
    pub error: Option<String>,
    pub started_at: crate::DateTime,
    pub duration_ms: u64,
    pub attempt: u32,
    /// Rate-limit headers of the answer (`Retry-After`, `X-HubSpot-RateLimit-*`, …).
    pub rate_limit: Vec<(String, String)>,
    /// Bodies redacted and cut to the runtime's body limit.
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

/// A request that will be sent again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryEvent {
    pub operation_id: Option<String>,
    pub connection_id: String,
    pub provider: String,
    pub operation: String,
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    pub wait_ms: u64,
    /// The failure, redacted.
    pub reason: String,
}

/// The action a task is running, for the requests it sends and the actions it calls.
pub(crate) struct OperationContext {
    pub id: String,
    requests: AtomicU32,
    retries: AtomicU32,
    /// Values of the input's sensitive fields: redacted from the bodies of the
    /// requests this action sends too, whatever the provider calls the field.
    sensitive_values: std::sync::Mutex<Vec<String>>,
}

tokio::task_local! {
    static CURRENT: Arc<OperationContext>;
}

impl OperationContext {
    fn new() -> Arc<OperationContext> {
        Arc::new(OperationContext {
            id: new_id(),
            requests: AtomicU32::new(0),
            retries: AtomicU32::new(0),
            sensitive_values: std::sync::Mutex::new(Vec::new()),
        })
    }
}

/// The id of the action the current task runs, if any.
pub(crate) fn current_operation() -> Option<String> {
    CURRENT.try_with(|context| context.id.clone()).ok()
}

/// The values of the current action's sensitive input fields.
pub(crate) fn current_sensitive_values() -> Vec<String> {
    CURRENT
        .try_with(|context| {
            context
                .sensitive_values
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        })
        .unwrap_or_default()
}

/// Counts a request (and whether it was a retry) against the current action.
pub(crate) fn count_request(retry: bool) {
    let _ = CURRENT.try_with(|context| {
        context.requests.fetch_add(1, Ordering::Relaxed);
        if retry {
            context.retries.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// A random 128-bit id in hex.
pub(crate) fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Field names whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "password",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "client_secret",
    "api_key",
    "apikey",
    "authorization",
];

const REDACTED: &str = "[redacted]";

/// Replaces secrets in what is logged: the connection's own secrets anywhere, and the
/// values of fields named like secrets or declared sensitive.
pub(crate) struct Redactor<'a> {
    secrets: Vec<String>,
    sensitive: &'a [&'a str],
}

impl<'a> Redactor<'a> {
    pub fn new(connection: &Connection, sensitive: &'a [&'a str]) -> Redactor<'a> {
        let secrets = match connection.credentials() {
            Credentials::BearerToken(_) | Credentials::ApiKey(_) => {
                vec![connection.credentials().secret()]
            }
            Credentials::OAuth2(oauth) => vec![
                oauth.access_token(),
                oauth.refresh_token(),
                secrecy::ExposeSecret::expose_secret(&oauth.inner.client_secret).to_string(),
            ],
        };
        Redactor {
            // A secret shorter than this would redact ordinary text.
            secrets: secrets.into_iter().filter(|s| s.len() >= 6).collect(),
            sensitive,
        }
    }

    /// Also redacts these values (an action's sensitive inputs) wherever they appear.
    pub fn with_values(mut self, values: Vec<String>) -> Redactor<'a> {
        self.secrets
            .extend(values.into_iter().filter(|value| value.len() >= 3));
        self
    }

    /// The string values held by sensitive (declared) fields of `value`.
    fn sensitive_values(&self, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| self.sensitive_values(v, out)),
            Value::Object(map) => {
                for (key, value) in map {
                    if self.sensitive.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                        collect_strings(value, out);
                    } else {
                        self.sensitive_values(value, out);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    fn sensitive_key(&self, key: &str) -> bool {
        SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
            || self.sensitive.iter().any(|k| k.eq_ignore_ascii_case(key))
    }

    pub fn value(&self, value: Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.text(&text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, value)| {
                        if self.sensitive_key(&key) && !value.is_null() {
                            (key, Value::String(REDACTED.into()))
                        } else {
                            let value = self.value(value);
                            (key, value)
                        }
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// A body as logged: JSON bodies redacted field by field, any body redacted by
    /// value, cut to `limit` bytes.
    pub fn body(&self, raw: &str, limit: usize) -> String {
        let redacted = match serde_json::from_str::<Value>(raw) {
            Ok(json) => self.value(json).to_string(),
            Err(_) => self.text(raw),
        };
        truncate(redacted, limit)
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Number(number) => out.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// `text` cut to at most `limit` bytes (on a character boundary), marked when cut.
pub(crate) fn truncate(mut text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let total = text.len();
    text.truncate(cut);
    text.push_str(&format!("… ({total} bytes)"));
    text
}

/// What an action's output looks like in a log: the record's id, a list's length, or
/// the output cut short.
fn summary(output: &Value) -> Value {
    match output {
        Value::Object(map) => match map.get("remote_id") {
            Some(id) => serde_json::json!({ "remote_id": id }),
            None => Value::String(truncate(output.to_string(), 200)),
        },
        Value::Array(items) => serde_json::json!({ "count": items.len() }),
        other => Value::String(truncate(other.to_string(), 200)),
    }
}

/// How an action ended; the output's summary is only made for observers (`observed`).
fn outcome_of<T: Serialize>(
    result: &Result<T, Error>,
    redactor: &Redactor,
    observed: bool,
) -> Outcome {
    match result {
        Ok(output) if observed => Outcome::Succeeded {
            summary: summary(&serde_json::to_value(output).unwrap_or(Value::Null)),
        },
        Ok(_) => Outcome::Succeeded {
            summary: Value::Null,
        },
        Err(error) => Outcome::Failed {
            category: error.category().name().to_string(),
            message: redactor.text(&error.to_string()),
            status: error.status(),
        },
    }
}

/// Runs one action: in its `unifold.action` span (requests it sends and actions it
/// calls are children), counted, and reported to the runtime's observers when it ends.
/// `input` is only built when someone observes.
#[allow(clippy::too_many_arguments)]
pub async fn run_action<T: Serialize>(
    runtime: &Runtime,
    provider: &str,
    connection: &Connection,
    action: &'static str,
    sensitive: &[&str],
    input: impl FnOnce() -> Value,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    observe_action(
        runtime,
        (provider, connection, action),
        sensitive,
        input,
        work,
        outcome_of,
    )
    .await
}

/// Runs a batch action (`create_contacts`): each input has its own outcome, and the
/// action's outcome counts them.
#[allow(clippy::too_many_arguments)]
pub async fn run_batch<T>(
    runtime: &Runtime,
    provider: &str,
    connection: &Connection,
    action: &'static str,
    sensitive: &[&str],
    input: impl FnOnce() -> Value,
    work: impl Future<Output = Vec<Result<T, Error>>>,
) -> Vec<Result<T, Error>> {
    observe_action(
        runtime,
        (provider, connection, action),
        sensitive,
        input,
        work,
        |outcomes, _, _| {
            let failed = outcomes.iter().filter(|o| o.is_err()).count();
            Outcome::Succeeded {
                summary: serde_json::json!({
                    "succeeded": outcomes.len() - failed,
                    "failed": failed,
                }),
            }
        },
    )
    .await
}

/// A new action's context, its parent (the action the task runs now) and its span.
fn begin(
    provider: &str,
    connection: &Connection,
    action: &'static str,
) -> (Arc<OperationContext>, Option<String>, tracing::Span) {
    let context = OperationContext::new();
    let parent = current_operation();
    let span = tracing::info_span!(
        "unifold.action",
        action,
        provider,
        connection = connection.id(),
        operation_id = %context.id,
        parent_id = parent.as_deref().unwrap_or(""),
        outcome = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    (context, parent, span)
}

async fn observe_action<R>(
    runtime: &Runtime,
    (provider, connection, action): (&str, &Connection, &'static str),
    sensitive: &[&str],
    input: impl FnOnce() -> Value,
    work: impl Future<Output = R>,
    outcome: impl FnOnce(&R, &Redactor, bool) -> Outcome,
) -> R {
    let (context, parent, span) = begin(provider, connection, action);
    let observed = runtime.is_observed();
    let redactor = Redactor::new(connection, sensitive);
    let input = if observed {
        let raw = input();
        let mut values = Vec::new();
        redactor.sensitive_values(&raw, &mut values);
        *context
            .sensitive_values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = values;
        redactor.value(raw)
    } else {
        Value::Null
    };
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    // On the heap: actions nest (composites, retries through upserts), and in debug
    // builds each layer would otherwise copy its callee's whole state onto the stack.
    let work = Box::pin(work.instrument(span.clone()));
    let result = CURRENT.scope(context.clone(), work).await;
    let duration = started.elapsed();
    finish(
        runtime,
        &span,
        &context,
        parent,
        (provider, connection, action),
        input,
        (started_at, duration),
        outcome(&result, &redactor, observed),
    );
    result
}

/// An action's input as logged.
pub fn input_json<T: Serialize + ?Sized>(input: &T) -> Value {
    serde_json::to_value(input).unwrap_or(Value::Null)
}

/// Records the end of an action in its span, as an event, and with the observers.
#[allow(clippy::too_many_arguments)]
fn finish(
    runtime: &Runtime,
    span: &tracing::Span,
    context: &OperationContext,
    parent: Option<String>,
    (provider, connection, action): (&str, &Connection, &'static str),
    input: Value,
    (started_at, duration): (crate::DateTime, Duration),
    outcome: Outcome,
) {
    let duration_ms = duration.as_millis() as u64;
    let requests = context.requests.load(Ordering::Relaxed);
    let attempts = 1 + context.retries.load(Ordering::Relaxed);
    span.record("duration_ms", duration_ms);
    match &outcome {
        Outcome::Succeeded { .. } => {
            span.record("outcome", "succeeded");
            tracing::info!(parent: span, duration_ms, requests, attempts, "action succeeded");
        }
        Outcome::Failed {
            category, message, ..
        } => {
            span.record("outcome", "failed");
            tracing::warn!(parent: span, duration_ms, requests, attempts, category = %category, error = %message, "action failed");
        }
    }
    if runtime.is_observed() {
        let record = OperationRecord {
            id: context.id.clone(),
            parent_id: parent,
            connection_id: connection.id().to_string(),
            provider: provider.to_string(),
            action: action.to_string(),
            input,
            started_at,
            duration_ms,
            outcome,
            attempts,
            requests,
        };
        for observer in runtime.observers() {
            observer.action_finished(&record);
        }
    }
}

/// A list action's stream as one action: it starts at the first page asked for and
/// ends when the stream ends, fails, or is dropped.
pub struct ObservedStream<'a, T> {
    inner: crate::RecordStream<'a, T>,
    state: Option<StreamState<'a>>,
}

struct StreamState<'a> {
    runtime: &'a Runtime,
    provider: &'static str,
    connection: &'a Connection,
    action: &'static str,
    input: Value,
    context: Arc<OperationContext>,
    parent: Option<String>,
    span: tracing::Span,
    started: Option<(Instant, crate::DateTime)>,
    records: usize,
    failure: Option<Outcome>,
}

/// Wraps a list stream so that the requests of its pages belong to one `list_*` action.
pub fn observe_stream<'a, T>(
    runtime: &'a Runtime,
    provider: &'static str,
    connection: &'a Connection,
    action: &'static str,
    input: impl FnOnce() -> Value,
    inner: crate::RecordStream<'a, T>,
) -> ObservedStream<'a, T> {
    let (context, parent, span) = begin(provider, connection, action);
    let input = if runtime.is_observed() {
        Redactor::new(connection, &[]).value(input())
    } else {
        Value::Null
    };
    ObservedStream {
        inner,
        state: Some(StreamState {
            runtime,
            provider,
            connection,
            action,
            input,
            context,
            parent,
            span,
            started: None,
            records: 0,
            failure: None,
        }),
    }
}

impl<T> ObservedStream<'_, T> {
    fn end(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        let (started, started_at) = state
            .started
            .unwrap_or_else(|| (Instant::now(), chrono::Utc::now()));
        let outcome = state.failure.unwrap_or(Outcome::Succeeded {
            summary: serde_json::json!({ "count": state.records }),
        });
        finish(
            state.runtime,
            &state.span,
            &state.context,
            state.parent,
            (state.provider, state.connection, state.action),
            state.input,
            (started_at, started.elapsed()),
            outcome,
        );
    }
}

impl<T> Stream for ObservedStream<'_, T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(state) = this.state.as_mut() else {
            return Poll::Ready(None);
        };
        if state.started.is_none() {
            state.started = Some((Instant::now(), chrono::Utc::now()));
        }
        let context = state.context.clone();
        let span = state.span.clone();
        let inner = &mut this.inner;
        let polled = CURRENT.sync_scope(context, || {
            let _entered = span.enter();
            inner.as_mut().poll_next(cx)
        });
        match &polled {
            Poll::Ready(Some(Ok(_))) => state.records += 1,
            Poll::Ready(Some(Err(error))) => {
                let redactor = Redactor::new(state.connection, &[]);
                state.failure = Some(Outcome::Failed {
                    category: error.category().name().to_string(),
                    message: redactor.text(&error.to_string()),
                    status: error.status(),
                });
                this.end();
            }
            Poll::Ready(None) => this.end(),
            Poll::Pending => {}
        }
        polled
    }
}

impl<T> Drop for ObservedStream<'_, T> {
    fn drop(&mut self) {
        // A caller that stops early (`take(10)`) still gets its action logged, once
        // it had asked for anything.
        if self.state.as_ref().is_some_and(|s| s.started.is_some()) {
            self.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_sensitive_fields_are_redacted_and_bodies_cut() {
        let connection = Connection::new("c1", "x", Credentials::bearer("tok-123456789"));
        let redactor = Redactor::new(&connection, &["ssn"]);
        let redacted = redactor.value(serde_json::json!({
            "note": "my token is tok-123456789!",
            "nested": [{"ssn": "078-05-1120", "password": "hunter2", "name": "Ada"}],
            "Access_Token": "x"
        }));
        assert_eq!(
            redacted,
            serde_json::json!({
                "note": "my token is [redacted]!",
                "nested": [{"ssn": "[redacted]", "password": "[redacted]", "name": "Ada"}],
                "Access_Token": "[redacted]"
            })
        );
        assert_eq!(
            redactor.body("not json tok-123456789", 100),
            "not json [redacted]"
        );
        assert_eq!(redactor.body("ééééé", 5), "éé… (10 bytes)");
    }
}
