//! Sending one provider request: URL, credentials, error classification, tracing.

use crate::json::{self, Seg};
use crate::provider::{ErrorRule, ProviderSpec};
use crate::{Connection, Credentials, Error, ErrorCategory};
use serde_json::Value;
use std::time::{Duration, Instant};

/// HTTP methods the generated actions use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One request of a generated action, relative to the provider's base URL.
#[derive(Clone, Debug)]
pub struct Request {
    /// The OpenAPI `operationId`, for logs.
    pub operation: &'static str,
    pub method: Method,
    /// Path with parameters already substituted and percent-encoded.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// Sending it twice has the effect of sending it once, so it may be retried after
    /// an ambiguous failure. True for every method but POST; POST queries set it.
    pub idempotent: bool,
    /// Only reads (GET, POST queries): counted against read budgets, not write ones.
    pub reads: bool,
}

impl Request {
    pub fn new(operation: &'static str, method: Method, path: impl Into<String>) -> Request {
        Request {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            idempotent: method != Method::Post,
            reads: method == Method::Get,
        }
    }

    /// Marks a POST that only reads (a search or query endpoint) as safe to retry.
    pub fn reading(mut self) -> Request {
        self.idempotent = true;
        self.reads = true;
        self
    }

    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.query.push((name, value.into()));
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    pub fn json(mut self, body: Value) -> Request {
        self.body = Some(body);
        self
    }
}

/// A successful response: status and parsed body (`null` when empty).
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: Value,
    /// The raw body, kept for errors that must show what the provider sent.
    pub raw: String,
    /// The answer's rate-limit headers, as logged.
    pub rate_limit: Vec<(String, String)>,
    /// It answered a write (not a read): the success says the write was carried out.
    pub wrote: bool,
}

impl Response {
    /// The error for a success whose body does not have the documented shape. After a
    /// write it says "may have written": the provider carried the write out, and what
    /// it wrote (the new id) could not be read.
    pub fn unreadable(&self, provider: &str, problem: impl std::fmt::Display) -> Error {
        let error = Error::UnexpectedResponse {
            provider: provider.to_string(),
            status: self.status,
            reason: problem.to_string(),
            body: self.raw.clone(),
        };
        if self.wrote {
            error.after_write(provider, None, "reading its answer")
        } else {
            error
        }
    }
}

/// Shared state for running actions: one HTTP client (connection pool) for every
/// connection. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runtime {
    client: reqwest::Client,
    pacer: Option<crate::pacing::Pacer>,
    observers: Observers,
    body_limit: usize,
    #[cfg(feature = "queue")]
    logs: Option<crate::logs::LogStore>,
}

/// The observers of a runtime (`Debug` shows how many).
#[derive(Clone, Default)]
struct Observers(std::sync::Arc<Vec<std::sync::Arc<dyn crate::Observer>>>);

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} observers", self.0.len())
    }
}

/// Settings for a [`Runtime`].
#[derive(Debug)]
pub struct RuntimeBuilder {
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    pacing: bool,
    observers: Vec<Observers>,
    body_limit: usize,
    #[cfg(feature = "queue")]
    logs: Option<crate::logs::LogStore>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("unifold/", env!("CARGO_PKG_VERSION")).to_string(),
            pacing: true,
            observers: Vec::new(),
            body_limit: 4096,
            #[cfg(feature = "queue")]
            logs: None,
        }
    }
}

impl RuntimeBuilder {
    /// The deadline for one whole request, response body included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whether requests wait for the provider's declared `rate_limits` (on by default).
    /// Off only for benchmarks against local sandboxes.
    pub fn pacing(mut self, pacing: bool) -> Self {
        self.pacing = pacing;
        self
    }

    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Adds a hook that receives every finished action, every HTTP request and every
    /// retry (attempt number, wait, reason), redacted.
    pub fn observer(mut self, observer: std::sync::Arc<dyn crate::Observer>) -> Self {
        self.observers
            .push(Observers(std::sync::Arc::new(vec![observer])));
        self
    }

    /// How much of each request and response body observers and logs get (default
    /// 4 KiB; the rest is cut, marked with the full length).
    pub fn log_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Stores every action and request in `logs` (the queue's database), queryable with
    /// [`Runtime::logs`].
    #[cfg(feature = "queue")]
    pub fn logs(mut self, logs: crate::logs::LogStore) -> Self {
        self.logs = Some(logs);
        self
    }

    pub fn build(self) -> Result<Runtime, Error> {
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(|error| Error::Transport {
                provider: "(none)".into(),
                message: format!("could not build the HTTP client: {error}"),
            })?;
        #[cfg_attr(not(feature = "queue"), allow(unused_mut))]
        let mut observers: Vec<std::sync::Arc<dyn crate::Observer>> = self
            .observers
            .iter()
            .flat_map(|group| group.0.iter().cloned())
            .collect();
        #[cfg(feature = "queue")]
        if let Some(logs) = &self.logs {
            observers.push(std::sync::Arc::new(logs.clone()));
        }
        Ok(Runtime {
            client,
            pacer: self.pacing.then(crate::pacing::Pacer::default),
            observers: Observers(std::sync::Arc::new(observers)),
            body_limit: self.body_limit,
            #[cfg(feature = "queue")]
            logs: self.logs,
        })
    }
}

impl Runtime {
    /// A runtime with default settings (30 s request timeout).
    pub fn new() -> Result<Runtime, Error> {
        RuntimeBuilder::default().build()
    }

    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The stored logs, when the runtime was built with [`RuntimeBuilder::logs`]:
    /// `runtime.logs()?.query(&filter)`.
    #[cfg(feature = "queue")]
    pub fn logs(&self) -> Option<&crate::logs::LogStore> {
        self.logs.as_ref()
    }

    pub(crate) fn is_observed(&self) -> bool {
        !self.observers.0.is_empty()
    }

    pub(crate) fn observers(&self) -> impl Iterator<Item = &std::sync::Arc<dyn crate::Observer>> {
        self.observers.0.iter()
    }

    /// This runtime with its pacing kept in `shared` (the queue's store) so that
    /// several processes together stay within each connection's limits.
    #[cfg_attr(not(feature = "queue"), allow(dead_code))]
    pub(crate) fn with_shared_pacing(
        mut self,
        shared: std::sync::Arc<dyn crate::pacing::SharedPacing>,
    ) -> Runtime {
        if let Some(pacer) = &mut self.pacer {
            pacer.shared = Some(shared);
        }
        self
    }

    /// Sends one request for `connection` and classifies the answer with the
    /// provider's error table, retrying as the provider's [`RetryPolicy`](crate::RetryPolicy) allows.
    /// Success statuses return the parsed body.
    pub async fn send(
        &self,
        connection: &Connection,
        provider: &ProviderSpec,
        request: Request,
    ) -> Result<Response, Error> {
        let policy = provider.retry;
        let started = Instant::now();
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            if let Some(pacer) = &self.pacer {
                if let Some(spent) = pacer.exhausted(provider, connection) {
                    let reserve = connection.quota_reserve();
                    return Err(Error::QuotaExhausted {
                        provider: provider.name.to_string(),
                        status: 0,
                        message: format!(
                            "{} of {} requests of the allocation are used{}",
                            spent.used,
                            spent.limit,
                            if reserve > 0 {
                                format!(
                                    " and connection {} keeps {reserve} in reserve",
                                    connection.id()
                                )
                            } else {
                                String::new()
                            }
                        ),
                        retry_after_secs: Some(
                            spent
                                .until
                                .saturating_duration_since(tokio::time::Instant::now())
                                .as_secs(),
                        ),
                        body: String::new(),
                    });
                }
                pacer.ready(provider, connection, &request).await;
            }
            let generation = match connection.credentials() {
                Credentials::OAuth2(oauth) => oauth.generation(),
                _ => 0,
            };
            let sent_at = (Instant::now(), chrono::Utc::now());
            let outcome = Box::pin(self.attempt(connection, provider, &request, attempt)).await;
            crate::observe::count_request(attempt > 1);
            if self.is_observed() {
                self.report_request(connection, provider, &request, attempt, sent_at, &outcome);
            }
            let failure = match outcome {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            // An expired OAuth token: refresh once (or use the token another request
            // just got) and send again, without counting it as a retry.
            if let (
                Error::Auth { status: 401, .. },
                Credentials::OAuth2(oauth),
                Some(token_url),
                false,
            ) = (
                &failure.error,
                connection.credentials(),
                provider.token_url,
                refreshed,
            ) {
                self.refresh(connection, provider, oauth, token_url, generation)
                    .await?;
                refreshed = true;
                continue;
            }
            if attempt >= policy.max_attempts || !failure.retryable(&request, &policy) {
                return Err(failure.error);
            }
            let Some(wait) =
                wait_before_retry(&policy, failure.retry_after, attempt, started.elapsed())
            else {
                // Waiting that long would block the caller: hand the error (with the
                // wait the provider asked for) back instead.
                return Err(failure.error);
            };
            let reason =
                crate::observe::Redactor::new(connection, &[]).text(&failure.error.to_string());
            tracing::info!(
                provider = provider.name,
                connection = connection.id(),
                operation = request.operation,
                attempt,
                wait_ms = wait.as_millis() as u64,
                reason = %reason,
                "retrying"
            );
            if self.is_observed() {
                let event = crate::RetryEvent {
                    operation_id: crate::observe::current_operation(),
                    connection_id: connection.id().to_string(),
                    provider: provider.name.to_string(),
                    operation: request.operation.to_string(),
                    attempt,
                    wait_ms: wait.as_millis() as u64,
                    reason,
                };
                for observer in self.observers() {
                    observer.retrying(&event);
                }
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        connection: &Connection,
        provider: &ProviderSpec,
        request: &Request,
        attempt: u32,
    ) -> Result<Response, Failure> {
        let url = format!(
            "{}{}",
            base_url(connection, provider).map_err(Failure::fatal)?,
            request.path
        );
        let span = tracing::info_span!(
            "unifold.http",
            provider = provider.name,
            connection = connection.id(),
            operation = request.operation,
            method = request.method.as_str(),
            url = %url,
            attempt,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let _entered = span.enter();
        let started = Instant::now();

        let mut builder = self.client.request(request.method.to_reqwest(), &url);
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        builder = crate::auth::apply(builder, provider, connection).map_err(Failure::fatal)?;
        builder = builder.header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }

        let transport = |error: reqwest::Error| {
            let kind = if error.is_connect() {
                FailureKind::NotSent
            } else {
                FailureKind::Transport
            };
            Failure {
                error: Error::Transport {
                    provider: provider.name.to_string(),
                    // Without the URL: reqwest's message names it, and query strings may
                    // carry values that are not ours to log.
                    message: error.without_url().to_string(),
                },
                kind,
                retry_after: None,
                rate_limit: Vec::new(),
            }
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let rate_limit = rate_limit_headers(response.headers(), provider);
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        if let (Some(pacer), Some(headers)) = (&self.pacer, provider.rate_limit_headers) {
            let read = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<u64>().ok())
            };
            if let Some(usage) = headers.usage
                && let Some((used, limit)) = response
                    .headers()
                    .get(usage.header)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| parse_usage(usage.pattern, value))
            {
                pacer.usage(
                    provider,
                    connection,
                    used,
                    limit,
                    Duration::from_millis(usage.recheck_ms),
                );
            }
            if headers.remaining.and_then(read) == Some(0) {
                let pause = headers
                    .interval_ms
                    .and_then(read)
                    .unwrap_or(headers.default_pause_ms);
                pacer.pause(
                    provider,
                    connection,
                    tokio::time::Instant::now() + Duration::from_millis(pause),
                );
            }
        }
        let raw = response.text().await.map_err(transport)?;
        span.record("status", status);
        span.record("duration_ms", started.elapsed().as_millis() as u64);

        let body = if raw.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&raw) {
                Ok(body) => body,
                Err(error) if (200..300).contains(&status) => {
                    let unreadable = Error::UnexpectedResponse {
                        provider: provider.name.to_string(),
                        status,
                        reason: format!("the body is not JSON: {error}"),
                        body: raw,
                    };
                    // A write the provider answered with success did happen; what it
                    // wrote (the new id) is unknown, so the outcome is "maybe written".
                    return Err(Failure::fatal(if request.reads {
                        unreadable
                    } else {
                        unreadable.after_write(provider.name, None, "reading its answer")
                    }));
                }
                // An error page that is not JSON is still an error with a status.
                Err(_) => Value::Null,
            }
        };
        if (200..300).contains(&status) {
            tracing::debug!(status, "provider answered");
            return Ok(Response {
                status,
                body,
                raw,
                rate_limit,
                wrote: !request.reads,
            });
        }
        let error = classify(connection, provider, status, &body, raw, retry_after);
        tracing::info!(
            status,
            category = error.category().name(),
            "provider refused the request"
        );
        Err(Failure {
            error,
            kind: FailureKind::Status(status),
            retry_after: retry_after.map(Duration::from_secs),
            rate_limit,
        })
    }

    /// Reports one attempt to the observers, redacted.
    fn report_request(
        &self,
        connection: &Connection,
        provider: &ProviderSpec,
        request: &Request,
        attempt: u32,
        (sent, started_at): (Instant, crate::DateTime),
        outcome: &Result<Response, Failure>,
    ) {
        let redactor = crate::observe::Redactor::new(connection, &[])
            .with_values(crate::observe::current_sensitive_values());
        let mut url = base_url(connection, provider).unwrap_or_default();
        url.push_str(&request.path);
        if !request.query.is_empty()
            && let Ok(with_query) = reqwest::Url::parse_with_params(&url, &request.query)
        {
            url = with_query.to_string();
        }
        let (status, error, response_body, rate_limit) = match outcome {
            Ok(response) => (
                Some(response.status),
                None,
                Some(redactor.body(&response.raw, self.body_limit)),
                response.rate_limit.clone(),
            ),
            Err(failure) => (
                failure.error.status(),
                Some(redactor.text(&failure.error.to_string())),
                failure
                    .error
                    .body()
                    .map(|body| redactor.body(body, self.body_limit)),
                failure.rate_limit.clone(),
            ),
        };
        let record = crate::RequestRecord {
            id: crate::observe::new_id(),
            operation_id: crate::observe::current_operation(),
            connection_id: connection.id().to_string(),
            provider: provider.name.to_string(),
            operation: request.operation.to_string(),
            method: request.method.as_str().to_string(),
            url: redactor.text(&url),
            status,
            error,
            started_at,
            duration_ms: sent.elapsed().as_millis() as u64,
            attempt,
            rate_limit,
            request_body: request.body.as_ref().map(|body| {
                crate::observe::truncate(redactor.value(body.clone()).to_string(), self.body_limit)
            }),
            response_body,
        };
        for observer in self.observers() {
            observer.request_finished(&record);
        }
    }
}

/// The headers of an answer that say how much of a budget is left or when to come
/// back: `Retry-After`, the provider's declared ones, and any `*RateLimit*` header.
fn rate_limit_headers(
    headers: &reqwest::header::HeaderMap,
    provider: &ProviderSpec,
) -> Vec<(String, String)> {
    let declared: Vec<&str> = provider
        .rate_limit_headers
        .iter()
        .flat_map(|h| [h.remaining, h.interval_ms, h.usage.map(|u| u.header)])
        .flatten()
        .collect();
    let mut found: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "retry-after"
                || name.contains("ratelimit")
                || name.contains("rate-limit")
                || declared.iter().any(|d| d.eq_ignore_ascii_case(name))
        })
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    found.sort();
    found
}

impl Runtime {
    /// The refresh grant over this runtime's own HTTP client. Only one task per
    /// connection refreshes; the others find the generation moved on and reuse its token.
    async fn refresh(
        &self,
        connection: &Connection,
        provider: &ProviderSpec,
        oauth: &crate::OAuth2,
        token_url: &str,
        seen_generation: u64,
    ) -> Result<(), Error> {
        let _only_one = oauth.inner.refreshing.lock().await;
        if oauth.generation() != seen_generation {
            return Ok(());
        }
        let url = match connection.origin() {
            // A sandbox or proxy: the token endpoint's path on that origin.
            Some(origin) => {
                let path = reqwest::Url::parse(token_url)
                    .map(|u| u.path().to_string())
                    .unwrap_or_default();
                format!("{origin}{path}")
            }
            None => token_url.to_string(),
        };
        let form = [
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", oauth.refresh_token()),
            ("client_id", oauth.inner.client_id.clone()),
            (
                "client_secret",
                secrecy::ExposeSecret::expose_secret(&oauth.inner.client_secret).to_string(),
            ),
        ];
        let failed = |status: u16, message: String, body: String| Error::Auth {
            provider: provider.name.to_string(),
            connection: connection.id().to_string(),
            status,
            message: format!("refreshing the OAuth token failed: {message}"),
            body,
        };
        let response = self
            .client
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|error| failed(0, error.without_url().to_string(), String::new()))?;
        let status = response.status().as_u16();
        let raw = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
        let access = body.get("access_token").and_then(Value::as_str);
        match access {
            Some(access) if (200..300).contains(&status) => {
                let rotated = body
                    .get("refresh_token")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                oauth.store(access.to_string(), rotated);
                tracing::info!(
                    provider = provider.name,
                    connection = connection.id(),
                    "OAuth token refreshed"
                );
                Ok(())
            }
            _ => {
                // The body is the provider's OAuth error (`invalid_grant`…), never a token.
                let reason = body
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no access token in the answer")
                    .to_string();
                Err(failed(status, reason, raw))
            }
        }
    }
}

/// A failed attempt and what it says about retrying.
struct Failure {
    error: Error,
    kind: FailureKind,
    /// The wait the provider asked for.
    retry_after: Option<Duration>,
    rate_limit: Vec<(String, String)>,
}

enum FailureKind {
    /// Not worth retrying (a setting is missing, a body did not parse).
    Fatal,
    /// The connection was never opened: the provider saw nothing.
    NotSent,
    /// Timed out or reset: the provider may have processed it.
    Transport,
    Status(u16),
}

impl Failure {
    fn fatal(error: Error) -> Failure {
        Failure {
            error,
            kind: FailureKind::Fatal,
            retry_after: None,
            rate_limit: Vec::new(),
        }
    }

    fn retryable(&self, request: &Request, policy: &crate::RetryPolicy) -> bool {
        match self.kind {
            FailureKind::Fatal => false,
            FailureKind::NotSent => true,
            FailureKind::Transport => request.idempotent,
            FailureKind::Status(_) if self.error.category() == ErrorCategory::QuotaExhausted => {
                false
            }
            // A throttled request was not processed: re-sending it is safe, and every
            // provider is retried after one, whatever its `statuses` list.
            FailureKind::Status(_) if self.error.category() == ErrorCategory::RateLimited => true,
            FailureKind::Status(status) => request.idempotent && policy.statuses.contains(&status),
        }
    }
}

/// How long to wait before retry `attempt` after a failure: the wait the provider
/// asked for (`Retry-After`), or backoff with jitter. `None` when that wait is beyond
/// the policy's cap or would overrun its total budget (`spent` so far): the caller
/// gets the error, with the wait, instead of being blocked.
pub(crate) fn wait_before_retry(
    policy: &crate::RetryPolicy,
    asked: Option<Duration>,
    attempt: u32,
    spent: Duration,
) -> Option<Duration> {
    let wait = asked.unwrap_or_else(|| backoff(policy, attempt));
    let too_long = wait > Duration::from_millis(policy.max_delay_ms)
        || spent + wait > Duration::from_millis(policy.max_total_ms);
    (!too_long).then_some(wait)
}

/// Exponential backoff with full jitter: a random wait up to base × 2^(attempt-1),
/// capped, so many clients retrying at once spread out.
pub fn backoff(policy: &crate::RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy
        .base_delay_ms
        .saturating_mul(1u64 << (attempt - 1).min(20))
        .min(policy.max_delay_ms);
    Duration::from_millis(rand::random_range(0..=ceiling))
}

/// The base URL for this connection: the live one with `{placeholders}` filled from
/// the connection's settings, or the connection's origin override plus the base path.
fn base_url(connection: &Connection, provider: &ProviderSpec) -> Result<String, Error> {
    if let Some(origin) = connection.origin() {
        return Ok(format!("{origin}{}", provider.base_path));
    }
    let mut url = String::with_capacity(provider.base_url.len() + 32);
    let mut rest = provider.base_url;
    while let Some(open) = rest.find('{') {
        url.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            break;
        };
        let key = &after[..close];
        let value = connection.config(key).ok_or_else(|| Error::Config {
            connection: connection.id().to_string(),
            message: format!(
                "provider `{}` needs the connection setting `{key}` (Connection::with_config(\"{key}\", ...))",
                provider.name
            ),
        })?;
        if let Some(setting) = provider.settings.iter().find(|setting| setting.name == key)
            && !setting.allows(value)
        {
            // A connection's settings come from outside (an OAuth response, a customer):
            // never send its credentials to a host the provider does not own.
            return Err(Error::Config {
                connection: connection.id().to_string(),
                message: format!(
                    "`{key}` must match {}, not `{value}`",
                    setting.allow.join(" or ")
                ),
            });
        }
        url.push_str(value.trim_end_matches('/'));
        rest = &after[close + 1..];
    }
    url.push_str(rest);
    Ok(url)
}

/// `used` and `limit` from a usage header, by a pattern whose two groups are them.
fn parse_usage(pattern: &'static str, value: &str) -> Option<(u64, u64)> {
    static PATTERNS: std::sync::Mutex<Vec<(&'static str, regex::Regex)>> =
        std::sync::Mutex::new(Vec::new());
    let mut compiled = PATTERNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let regex = match compiled.iter().find(|(source, _)| *source == pattern) {
        Some((_, regex)) => regex.clone(),
        None => {
            let regex = regex::Regex::new(pattern).ok()?;
            compiled.push((pattern, regex.clone()));
            regex
        }
    };
    drop(compiled);
    let captures = regex.captures(value)?;
    let used = captures.get(1)?.as_str().parse().ok()?;
    let limit = captures.get(2)?.as_str().parse().ok()?;
    Some((used, limit))
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110), as seconds from now.
fn parse_retry_after(value: &str) -> Option<u64> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(seconds);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = at.timestamp() - chrono::Utc::now().timestamp();
    Some(wait.max(0) as u64)
}

fn classify(
    connection: &Connection,
    provider: &ProviderSpec,
    status: u16,
    body: &Value,
    raw: String,
    retry_after_secs: Option<u64>,
) -> Error {
    let message = provider
        .error_message
        .iter()
        .find_map(|path| json::get(body, path).and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| summarize(&raw));
    let rule = provider
        .error_rules
        .iter()
        .find(|rule| matches(rule, status, body));
    let category = match rule {
        Some(rule) => rule.category,
        // "Too many requests", from the provider or a gateway in front of it, whatever
        // the provider documents; a rule may still say otherwise (a daily quota).
        None if status == 429 => ErrorCategory::RateLimited,
        // "Unavailable, come back then": the request was not processed.
        None if status == 503 && retry_after_secs.is_some() => ErrorCategory::RateLimited,
        None if (400..500).contains(&status) => ErrorCategory::Rejected,
        None => ErrorCategory::Provider,
    };
    let name = provider.name.to_string();
    match category {
        ErrorCategory::Auth => Error::Auth {
            provider: name,
            connection: connection.id().to_string(),
            status,
            message,
            body: raw,
        },
        ErrorCategory::NotFound => Error::NotFound {
            provider: name,
            status,
            message,
            body: raw,
        },
        ErrorCategory::Conflict => {
            let existing_id = rule.and_then(|rule| rule.existing_id).and_then(|extract| {
                let found = json::get(body, extract.path)?;
                let text = match found {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                match extract.pattern {
                    None => Some(text),
                    Some(pattern) => regex::Regex::new(pattern)
                        .ok()?
                        .captures(&text)?
                        .get(1)
                        .map(|id| id.as_str().to_string()),
                }
            });
            Error::Conflict {
                provider: name,
                status,
                message,
                existing_id,
                body: raw,
            }
        }
        ErrorCategory::RateLimited => Error::RateLimited {
            provider: name,
            status,
            retry_after_secs,
            body: raw,
        },
        ErrorCategory::QuotaExhausted => Error::QuotaExhausted {
            provider: name,
            status,
            message,
            retry_after_secs,
            body: raw,
        },
        ErrorCategory::Rejected | ErrorCategory::Validation => Error::Rejected {
            provider: name,
            status,
            message,
            body: raw,
        },
        _ => Error::Provider {
            provider: name,
            status,
            message,
            body: raw,
        },
    }
}

fn matches(rule: &ErrorRule, status: u16, body: &Value) -> bool {
    rule.status.is_none_or(|expected| expected == status)
        && rule.body.iter().all(|(path, expected): &(&[Seg], &str)| {
            json::get(body, path).and_then(Value::as_str) == Some(*expected)
        })
}

fn summarize(raw: &str) -> String {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return "(empty body)".to_string();
    }
    let mut cut = trimmed.len().min(200);
    while !trimmed.is_char_boundary(cut) {
        cut -= 1;
    }
    trimmed[..cut].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credentials;
    use crate::provider::AuthScheme;

    const SPEC: ProviderSpec = ProviderSpec {
        name: "example",
        base_url: "{instance_url}/services/data/v62.0",
        base_path: "/services/data/v62.0",
        auth: AuthScheme::Bearer,
        token_url: None,
        error_message: &[],
        error_rules: &[],
        retry: crate::RetryPolicy::DEFAULT,
        rate_limits: &[],
        rate_limit_headers: None,
        settings: &[crate::SettingSpec {
            name: "instance_url",
            allow: &["https://*.my.salesforce.com", "https://*.salesforce.com"],
        }],
        response_envelope: &[],
        sensitive_fields: &[],
    };

    #[test]
    fn base_url_fills_settings_or_uses_the_origin() {
        let connection = Connection::new("c1", "example", Credentials::bearer("t"));
        let missing = base_url(&connection, &SPEC).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "connection c1 is misconfigured: provider `example` needs the connection setting `instance_url` (Connection::with_config(\"instance_url\", ...))"
        );
        let live = connection
            .clone()
            .with_config("instance_url", "https://acme.my.salesforce.com/");
        assert_eq!(
            base_url(&live, &SPEC).unwrap(),
            "https://acme.my.salesforce.com/services/data/v62.0"
        );
        let local = connection.with_origin("http://127.0.0.1:9/");
        assert_eq!(
            base_url(&local, &SPEC).unwrap(),
            "http://127.0.0.1:9/services/data/v62.0"
        );
    }

    #[test]
    fn settings_outside_the_allowlist_are_refused_before_any_request() {
        let connection = Connection::new("c1", "example", Credentials::bearer("t"));
        for bad in [
            "http://127.0.0.1:8080",
            "https://evil.example.com",
            "https://acme.my.salesforce.com.evil.com",
            "https://user@acme.my.salesforce.com",
            "https://acme.my.salesforce.com:8443",
            "https://acme.my.salesforce.com/path",
            "http://acme.my.salesforce.com",
            "https://my.salesforce.com.evil",
        ] {
            let error =
                base_url(&connection.clone().with_config("instance_url", bad), &SPEC).unwrap_err();
            assert!(
                error.to_string().contains("`instance_url` must match https://*.my.salesforce.com or https://*.salesforce.com"),
                "{bad}: {error}"
            );
        }
        for good in [
            "https://acme.my.salesforce.com",
            "https://acme--dev.sandbox.my.salesforce.com/",
            "https://na1.salesforce.com",
        ] {
            assert!(
                base_url(&connection.clone().with_config("instance_url", good), &SPEC).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn usage_headers_are_read_by_their_pattern() {
        let pattern = r"api-usage=(\d+)/(\d+)";
        assert_eq!(
            parse_usage(pattern, "api-usage=14250/15000"),
            Some((14250, 15000))
        );
        // The org's figure comes first; a connected app's own share follows it.
        assert_eq!(
            parse_usage(
                pattern,
                "api-usage=25/5000, per-app-api-usage=17/250(appName=sample-app)"
            ),
            Some((25, 5000))
        );
        assert_eq!(parse_usage(pattern, "garbage"), None);
    }

    #[test]
    fn a_429_is_a_rate_limit_unless_a_rule_says_otherwise() {
        let connection = Connection::new("c1", "example", Credentials::bearer("t"));
        let html = || "<html>slow down</html>".to_string();
        let category = |status, retry_after| {
            classify(
                &connection,
                &SPEC,
                status,
                &Value::Null,
                html(),
                retry_after,
            )
            .category()
        };
        // SPEC has no rules at all.
        assert_eq!(category(429, None), ErrorCategory::RateLimited);
        assert_eq!(category(503, Some(1)), ErrorCategory::RateLimited);
        assert_eq!(category(503, None), ErrorCategory::Provider);
        assert_eq!(category(400, None), ErrorCategory::Rejected);
        const DAILY: &[ErrorRule] = &[ErrorRule {
            status: Some(429),
            body: &[(&[Seg::Key("policyName")], "DAILY")],
            category: ErrorCategory::QuotaExhausted,
            existing_id: None,
        }];
        let quota = ProviderSpec {
            error_rules: DAILY,
            ..SPEC
        };
        let daily = serde_json::json!({"policyName": "DAILY"});
        let classified = classify(
            &connection,
            &quota,
            429,
            &daily,
            daily.to_string(),
            Some(60),
        );
        assert_eq!(classified.category(), ErrorCategory::QuotaExhausted);
        let other = classify(&connection, &quota, 429, &Value::Null, html(), Some(1));
        assert_eq!(
            other.to_string(),
            "example rate-limited the request (HTTP 429); retry after 1 s"
        );
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(7));
        assert_eq!(parse_retry_after("Tue, 23 May 2023 14:42:01 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
