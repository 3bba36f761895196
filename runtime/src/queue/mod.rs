//! Asynchronous actions on a durable queue: jobs are stored (SQLite by default,
//! PostgreSQL for workers on several machines), run by workers as fast as each
//! connection's rate limits allow, retried with backoff, and reported by polling
//! ([`Queue::job`]) or by a signed webhook ([`verify_webhook`]).
//!
//! Why sqlx rather than a job-queue crate: the queue needs per-connection fairness, a
//! lease that survives `SIGKILL`, "run the upsert instead" after an interrupted create,
//! and the outcome and webhook written in one transaction. Those are a few SQL
//! statements over `FOR UPDATE SKIP LOCKED` (PostgreSQL) or SQLite's single writer,
//! which sqlx runs on both backends from one code path; see the README.

pub(crate) mod store;
mod webhook;

pub use webhook::{
    SIGNATURE_HEADER, WebhookError, sign_webhook, verify_webhook, verify_webhook_at,
};

use crate::{Connection, Error, ErrorCategory, Registry, Runtime};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use store::{DeliveryOutcome, NewJob, Store, now_ms};
use tracing::Instrument;

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker (new, or between attempts).
    Queued,
    /// A worker holds it.
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    fn parse(text: &str) -> JobStatus {
        match text {
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            _ => JobStatus::Queued,
        }
    }

    /// Succeeded or failed: nothing more will happen to the job.
    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

/// The error a job ended with (or its last attempt's error while it waits for
/// another), as stored: the typed [`Error`]'s category, message, status and body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct JobError {
    pub category: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl JobError {
    fn of(error: &Error) -> JobError {
        JobError {
            category: error.category().name().to_string(),
            message: error.to_string(),
            status: error.status(),
            body: error.body().map(str::to_string),
        }
    }
}

/// A job as [`Queue::job`] reports it.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    pub id: String,
    pub connection_id: String,
    pub action: String,
    pub arguments: Value,
    pub status: JobStatus,
    /// Attempts started so far.
    pub attempts: u32,
    /// The action's output, once it succeeded.
    pub output: Option<Value>,
    /// The final error once it failed; while queued again, the last attempt's error.
    pub error: Option<JobError>,
    pub created_at: crate::DateTime,
    pub updated_at: crate::DateTime,
}

impl Job {
    /// The output as the action's typed output (`Contact` for `create_contact`).
    pub fn output_as<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.output.clone().map(serde_json::from_value)
    }
}

/// The id of a job queued with [`Queue::submit`], typed by its action's output.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JobId<T> {
    id: String,
    output: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for JobId<T> {
    fn clone(&self) -> Self {
        JobId::new(self.id.clone())
    }
}

impl<T> JobId<T> {
    fn new(id: String) -> JobId<T> {
        JobId {
            id,
            output: std::marker::PhantomData,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }
}

impl<T> std::fmt::Display for JobId<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// A stored output that no longer reads as the action's output type.
fn unreadable(message: &str) -> JobError {
    JobError {
        category: ErrorCategory::UnexpectedResponse.name().to_string(),
        message: message.to_string(),
        status: None,
        body: None,
    }
}

/// Jobs per status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub queued: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
}

impl JobCounts {
    pub fn unfinished(&self) -> u64 {
        self.queued + self.running
    }
}

/// Where completion webhooks go and the secret that signs them.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    secret: SecretString,
}

impl Webhook {
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Webhook {
        Webhook {
            url: url.into(),
            secret: SecretString::from(secret.into()),
        }
    }
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Settings of a [`Queue`].
#[derive(Debug)]
pub struct QueueBuilder {
    url: String,
    registry: Registry,
    schema: Option<String>,
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    lease: Duration,
    poll_interval: Duration,
    concurrency: usize,
    per_connection: usize,
    max_arguments_bytes: usize,
    webhook: Option<Webhook>,
    connection_webhooks: HashMap<String, Webhook>,
    webhook_timeout: Duration,
    webhook_attempts: u32,
    shared_rate_limits: bool,
}

impl QueueBuilder {
    /// A PostgreSQL schema for the tables (created when missing), so that several
    /// environments or tests share one database without seeing each other's jobs.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Attempts per job before it fails (default 5).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff between attempts: between half and all of `base × 2^(attempt-1)`,
    /// capped at `max` (defaults 1 s and 5 min). A provider's `Retry-After` wins when longer.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// How long a worker holds a job without renewing it (default 30 s). A worker that
    /// dies loses its jobs to other workers this long after its last renewal.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How often idle workers look for due jobs (default 200 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Jobs one worker runs at once (default 64), and at most `per_connection` of them
    /// (default 16) for one connection, so one customer's backlog never holds the
    /// others' jobs.
    pub fn concurrency(mut self, total: usize, per_connection: usize) -> Self {
        self.concurrency = total.max(1);
        self.per_connection = per_connection.max(1);
        self
    }

    /// The largest JSON arguments a job takes (default 1 MiB).
    pub fn max_arguments_bytes(mut self, bytes: usize) -> Self {
        self.max_arguments_bytes = bytes;
        self
    }

    /// The completion webhook for every connection without its own.
    pub fn webhook(mut self, webhook: Webhook) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// The completion webhook of one connection.
    pub fn connection_webhook(
        mut self,
        connection_id: impl Into<String>,
        webhook: Webhook,
    ) -> Self {
        self.connection_webhooks
            .insert(connection_id.into(), webhook);
        self
    }

    /// Per delivery attempt (default 10 s), and attempts before a delivery is given up
    /// (default 12, backing off from 1 s to 1 h).
    pub fn webhook_delivery(mut self, timeout: Duration, attempts: u32) -> Self {
        self.webhook_timeout = timeout;
        self.webhook_attempts = attempts.max(1);
        self
    }

    /// Paces each connection's requests through the store instead of in memory, so
    /// that worker processes sharing one PostgreSQL database together stay within
    /// the provider's rate limits (one round trip per request). On by default for
    /// PostgreSQL.
    pub fn shared_rate_limits(mut self, shared: bool) -> Self {
        self.shared_rate_limits = shared;
        self
    }

    /// Connects to the store and creates its tables when missing.
    pub async fn connect(self) -> Result<Queue, Error> {
        let store = Store::connect(&self.url, self.schema.as_deref()).await?;
        Ok(Queue {
            inner: Arc::new(QueueInner {
                shared_rate_limits: self.shared_rate_limits
                    && store.backend == store::Backend::Postgres,
                store,
                settings: self,
                wake: tokio::sync::Notify::new(),
            }),
        })
    }
}

/// A durable job queue over a generated crate's [`Registry`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Queue {
    inner: Arc<QueueInner>,
}

#[derive(Debug)]
struct QueueInner {
    store: Store,
    settings: QueueBuilder,
    shared_rate_limits: bool,
    /// Wakes this process's workers when it enqueues.
    wake: tokio::sync::Notify,
}

impl Queue {
    /// A queue stored at `url`: `sqlite:jobs.db` (a file, created when missing),
    /// `sqlite::memory:` (tests), or `postgres://…`.
    pub fn builder(url: impl Into<String>, registry: Registry) -> QueueBuilder {
        QueueBuilder {
            url: url.into(),
            registry,
            schema: None,
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            concurrency: 64,
            per_connection: 16,
            max_arguments_bytes: 1 << 20,
            webhook: None,
            connection_webhooks: HashMap::new(),
            webhook_timeout: Duration::from_secs(10),
            webhook_attempts: 12,
            shared_rate_limits: true,
        }
    }

    /// Queues `action` with `arguments` (the action's input, e.g. a `ContactInput`)
    /// for `connection` and returns the job id at once. The arguments are checked
    /// now: an invalid, unknown or oversized job is refused, never stored.
    pub async fn enqueue(
        &self,
        connection: &Connection,
        action: &str,
        arguments: impl Serialize,
    ) -> Result<String, Error> {
        let mut ids = self.enqueue_many(connection, action, [arguments]).await?;
        Ok(ids.remove(0))
    }

    /// Queues one job per input, in one transaction: all are stored or none.
    pub async fn enqueue_many<I: Serialize>(
        &self,
        connection: &Connection,
        action: &str,
        inputs: impl IntoIterator<Item = I>,
    ) -> Result<Vec<String>, Error> {
        let settings = &self.inner.settings;
        let inputs: Vec<I> = inputs.into_iter().collect();
        // Errors of a bulk enqueue name the input: `[3].last_name: is required`.
        let numbered = inputs.len() > 1;
        let mut jobs = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.into_iter().enumerate() {
            let within = |error: Error| {
                if numbered {
                    error.within(&format!("[{index}]"))
                } else {
                    error
                }
            };
            let arguments = crate::__private::output(input)?;
            let text = arguments.to_string();
            if text.len() > settings.max_arguments_bytes {
                return Err(within(Error::Validation(crate::ValidationErrors(vec![
                    crate::FieldError::new(
                        "(arguments)",
                        format!(
                            "are {} bytes; a job takes at most {} bytes of arguments",
                            text.len(),
                            settings.max_arguments_bytes
                        ),
                    ),
                ]))));
            }
            settings
                .registry
                .check(action, &arguments)
                .map_err(within)?;
            jobs.push(NewJob {
                id: uuid::Uuid::new_v4().to_string(),
                connection_id: connection.id().to_string(),
                action: action.to_string(),
                arguments: text,
                max_attempts: i64::from(settings.max_attempts),
            });
        }
        self.inner.store.insert(&jobs).await?;
        self.inner.wake.notify_waiters();
        Ok(jobs.into_iter().map(|job| job.id).collect())
    }

    /// Queues the typed action `A` (`typed::CreateContact`) with its typed arguments;
    /// the returned id knows the output's type (see [`Queue::outcome`]).
    pub async fn submit<A: crate::TypedAction>(
        &self,
        connection: &Connection,
        _action: A,
        arguments: &A::Arguments,
    ) -> Result<JobId<A::Output>, Error> {
        let id = self.enqueue(connection, A::NAME, arguments).await?;
        Ok(JobId::new(id))
    }

    /// [`Queue::submit`] for many arguments, in one transaction: all are stored or none.
    pub async fn submit_many<'a, A: crate::TypedAction>(
        &self,
        connection: &Connection,
        _action: A,
        arguments: impl IntoIterator<Item = &'a A::Arguments>,
    ) -> Result<Vec<JobId<A::Output>>, Error>
    where
        A::Arguments: 'a,
    {
        let ids = self.enqueue_many(connection, A::NAME, arguments).await?;
        Ok(ids.into_iter().map(JobId::new).collect())
    }

    /// A typed job's outcome: `None` while it is queued or running, then its output
    /// as the action's type, or the error it failed with.
    pub async fn outcome<T: DeserializeOwned>(
        &self,
        id: &JobId<T>,
    ) -> Result<Option<Result<T, JobError>>, Error> {
        let job = self.job(id.as_str()).await?;
        Ok(match job.status {
            JobStatus::Succeeded => Some(match job.output_as::<T>() {
                Some(Ok(output)) => Ok(output),
                Some(Err(error)) => Err(unreadable(&error.to_string())),
                None => Err(unreadable("the job succeeded without output")),
            }),
            JobStatus::Failed => Some(Err(job
                .error
                .unwrap_or_else(|| unreadable("the job failed without an error")))),
            JobStatus::Queued | JobStatus::Running => None,
        })
    }

    /// The job's status, attempts, and output or error.
    pub async fn job(&self, id: &str) -> Result<Job, Error> {
        let row = self
            .inner
            .store
            .job(id)
            .await?
            .ok_or_else(|| Error::JobNotFound { id: id.to_string() })?;
        let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
        Ok(Job {
            arguments: serde_json::from_str(&row.arguments).unwrap_or(Value::Null),
            status: JobStatus::parse(&row.status),
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            output: parse(row.output),
            error: row.error.and_then(|t| serde_json::from_str(&t).ok()),
            created_at: time(row.created_at),
            updated_at: time(row.updated_at),
            id: row.id,
            connection_id: row.connection_id,
            action: row.action,
        })
    }

    /// Polls until the job is finished or `timeout` passes (then returns it as it is).
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Job, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.job(id).await?;
            if job.status.is_finished() || tokio::time::Instant::now() >= deadline {
                return Ok(job);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Jobs per status.
    pub async fn counts(&self) -> Result<JobCounts, Error> {
        self.counts_of(None).await
    }

    /// Jobs per status of one connection (progress of one customer's import).
    pub async fn connection_counts(&self, connection_id: &str) -> Result<JobCounts, Error> {
        self.counts_of(Some(connection_id)).await
    }

    async fn counts_of(&self, connection_id: Option<&str>) -> Result<JobCounts, Error> {
        let mut counts = JobCounts::default();
        for (status, n) in self.inner.store.counts(connection_id).await? {
            let n = u64::try_from(n).unwrap_or_default();
            match JobStatus::parse(&status) {
                JobStatus::Queued => counts.queued += n,
                JobStatus::Running => counts.running += n,
                JobStatus::Succeeded => counts.succeeded += n,
                JobStatus::Failed => counts.failed += n,
            }
        }
        Ok(counts)
    }

    /// A worker that runs this queue's jobs with `runtime`, finding each job's
    /// connection (credentials are never stored with jobs) with `connections`.
    pub fn worker(
        &self,
        runtime: Runtime,
        connections: impl Fn(&str) -> Option<Connection> + Send + Sync + 'static,
    ) -> Worker {
        let runtime = if self.inner.shared_rate_limits {
            runtime.with_shared_pacing(Arc::new(StorePacing {
                store: self.inner.store.clone(),
            }))
        } else {
            runtime
        };
        Worker {
            queue: self.clone(),
            runtime,
            connections: Arc::new(connections),
            id: format!("worker-{}", uuid::Uuid::new_v4()),
            http: reqwest::Client::new(),
        }
    }
}

/// Pacing shared by every process on one store: each request reserves the next slot
/// of its (provider, connection, limit) in the store.
#[derive(Debug)]
struct StorePacing {
    store: Store,
}

impl crate::pacing::SharedPacing for StorePacing {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        interval: Duration,
    ) -> futures_util::future::BoxFuture<'a, Result<Duration, Error>> {
        Box::pin(async move { self.store.reserve_slot(key, interval).await })
    }
}

fn no_connection(connection_id: &str) -> Error {
    Error::Config {
        connection: connection_id.to_string(),
        message: "this worker has no connection with this id".into(),
    }
}

/// The span of one job's attempt.
fn job_span(job: &store::Claimed) -> tracing::Span {
    tracing::info_span!(
        "unifold.job",
        job = %job.id,
        action = %job.action,
        connection = %job.connection_id,
        attempt = job.attempts
    )
}

/// Finds a job's connection by its id.
type ConnectionLookup = Arc<dyn Fn(&str) -> Option<Connection> + Send + Sync>;

/// Runs jobs until stopped. Several workers (tasks or processes) may share a queue.
pub struct Worker {
    queue: Queue,
    runtime: Runtime,
    connections: ConnectionLookup,
    id: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("id", &self.id).finish()
    }
}

/// Jobs in flight per connection in this worker.
type InFlight = Arc<Mutex<HashMap<String, usize>>>;

impl Worker {
    /// Runs jobs and delivers webhooks until `shutdown` completes; jobs in flight then
    /// finish first. A worker that is killed instead loses nothing: its jobs go back to
    /// the queue when their lease runs out.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), Error> {
        let settings = &self.queue.inner.settings;
        let in_flight: InFlight = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        let heartbeat = {
            let store = self.queue.inner.store.clone();
            let id = self.id.clone();
            let lease = settings.lease;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    if let Err(error) = store.heartbeat(&id, lease).await {
                        tracing::warn!(%error, "could not renew job leases");
                    }
                }
            })
        };
        let deliveries = {
            let worker = self.clone_for_deliveries();
            tokio::spawn(async move { worker.deliver_forever().await })
        };
        tokio::pin!(shutdown);
        let outcome = loop {
            while tasks.try_join_next().is_some() {}
            let (total, busy) = {
                let flight = in_flight.lock().unwrap_or_else(PoisonError::into_inner);
                let total: usize = flight.values().sum();
                let busy: Vec<String> = flight
                    .iter()
                    .filter(|(_, n)| **n >= settings.per_connection)
                    .map(|(c, _)| c.clone())
                    .collect();
                (total, busy)
            };
            let room = settings.concurrency.saturating_sub(total);
            let claimed = if room == 0 {
                Vec::new()
            } else {
                match self
                    .queue
                    .inner
                    .store
                    .claim(
                        &self.id,
                        room.min(settings.per_connection),
                        &busy,
                        settings.lease,
                    )
                    .await
                {
                    Ok(claimed) => claimed,
                    Err(error) => {
                        tracing::warn!(%error, "could not claim jobs");
                        Vec::new()
                    }
                }
            };
            let idle = claimed.is_empty();
            for unit in self.coalesce(claimed).await {
                let connection_id = unit[0].connection_id.clone();
                // A batch is one request at a time for its connection, like one job.
                *in_flight
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(connection_id.clone())
                    .or_default() += 1;
                let runner = self.clone_for_job();
                let in_flight = in_flight.clone();
                tasks.spawn(async move {
                    runner.run_unit(unit).await;
                    let mut flight = in_flight.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(n) = flight.get_mut(&connection_id) {
                        *n -= 1;
                        if *n == 0 {
                            flight.remove(&connection_id);
                        }
                    }
                });
            }
            if idle {
                tokio::select! {
                    _ = &mut shutdown => break Ok(()),
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = self.queue.inner.wake.notified() => {}
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            } else {
                tokio::select! {
                    biased;
                    _ = &mut shutdown => break Ok(()),
                    _ = std::future::ready(()) => {}
                }
            }
        };
        while tasks.join_next().await.is_some() {}
        heartbeat.abort();
        deliveries.abort();
        outcome
    }

    fn clone_for_job(&self) -> Worker {
        Worker {
            queue: self.queue.clone(),
            runtime: self.runtime.clone(),
            connections: self.connections.clone(),
            id: self.id.clone(),
            http: self.http.clone(),
        }
    }

    fn clone_for_deliveries(&self) -> Worker {
        self.clone_for_job()
    }

    /// Groups claimed jobs into what runs together: queued creates or updates of one
    /// connection whose provider takes that action in batches run as one batch (topped
    /// up from the queue to the provider's batch size); every other job runs alone. A
    /// job an earlier attempt may have carried out runs alone, through its safe action.
    async fn coalesce(&self, claimed: Vec<store::Claimed>) -> Vec<Vec<store::Claimed>> {
        let settings = &self.queue.inner.settings;
        let mut units: Vec<Vec<store::Claimed>> = Vec::new();
        let mut batches: Vec<(usize, usize)> = Vec::new();
        for job in claimed {
            let size = if job.interrupted {
                None
            } else {
                (self.connections)(&job.connection_id)
                    .and_then(|c| settings.registry.batch_size(&job.action, c.provider()))
            };
            let open = size.and_then(|max| {
                batches.iter().find(|(unit, _)| {
                    let first = &units[*unit][0];
                    first.connection_id == job.connection_id
                        && first.action == job.action
                        && units[*unit].len() < max
                })
            });
            match (size, open) {
                (Some(_), Some((unit, _))) => units[*unit].push(job),
                (Some(max), None) => {
                    batches.push((units.len(), max));
                    units.push(vec![job]);
                }
                (None, _) => units.push(vec![job]),
            }
        }
        for (unit, max) in batches {
            let missing = max.saturating_sub(units[unit].len());
            if missing == 0 {
                continue;
            }
            let (connection_id, action) = (
                units[unit][0].connection_id.clone(),
                units[unit][0].action.clone(),
            );
            match self
                .queue
                .inner
                .store
                .claim_more(&self.id, &connection_id, &action, missing, settings.lease)
                .await
            {
                Ok(more) => units[unit].extend(more),
                Err(error) => tracing::warn!(%error, "could not top up a batch"),
            }
        }
        units
    }

    /// Runs a unit from [`Worker::coalesce`]: one job alone, or a batch.
    async fn run_unit(&self, mut unit: Vec<store::Claimed>) {
        if unit.len() == 1
            && let Some(job) = unit.pop()
        {
            let span = job_span(&job);
            let outcome = self
                .attempt(&job, self.queue.inner.settings.registry)
                .instrument(span.clone())
                .await;
            self.record(job, outcome).instrument(span).await;
            return;
        }
        let registry = self.queue.inner.settings.registry;
        let Some(first) = unit.first() else {
            return;
        };
        let span = tracing::info_span!(
            "unifold.batch",
            action = %first.action,
            connection = %first.connection_id,
            jobs = unit.len()
        );
        let outcomes: Vec<Result<Value, Error>> = match (self.connections)(&first.connection_id) {
            None => unit
                .iter()
                .map(|job| Err(no_connection(&job.connection_id)))
                .collect(),
            Some(connection) => {
                let mut arguments = Vec::with_capacity(unit.len());
                for job in &unit {
                    arguments.push(serde_json::from_str(&job.arguments).unwrap_or(Value::Null));
                }
                registry
                    .invoke_batch(&self.runtime, &connection, &first.action, arguments)
                    .instrument(span.clone())
                    .await
            }
        };
        for (job, outcome) in unit.into_iter().zip(outcomes) {
            let span = job_span(&job);
            self.record(job, outcome).instrument(span).await;
        }
    }

    /// Stores the outcome of one attempt of `job`: done, failed, or queued again.
    async fn record(&self, job: store::Claimed, outcome: Result<Value, Error>) {
        let (status, output, error, run_at, interrupted) = match &outcome {
            Ok(output) => ("succeeded", Some(output.to_string()), None, now_ms(), false),
            Err(error) => {
                let stored = serde_json::to_string(&JobError::of(error)).ok();
                // The attempt may have written (or did): the next one runs only through
                // the action's safe form (a create's upsert), never as a fresh create.
                let info = self.queue.inner.settings.registry.action(&job.action);
                let may_have_written = error.written() != crate::Written::No
                    && info.is_none_or(|info| !info.read_only);
                let rerun_safely = info.is_some_and(|info| info.retry_as.is_some());
                let delay = if may_have_written && !rerun_safely {
                    None
                } else {
                    self.retry_delay(error, job.attempts, job.max_attempts)
                };
                match delay {
                    Some(wait) => {
                        tracing::info!(%error, wait_ms = wait.as_millis() as u64, "job will be retried");
                        (
                            "queued",
                            None,
                            stored,
                            now_ms() + wait.as_millis() as i64,
                            job.interrupted || may_have_written,
                        )
                    }
                    None => ("failed", None, stored, now_ms(), false),
                }
            }
        };
        let webhook = if status == "queued" {
            None
        } else {
            self.webhook_for(&job.connection_id).map(|_| {
                let body = serde_json::json!({
                    "job_id": job.id,
                    "connection_id": job.connection_id,
                    "action": job.action,
                    "status": status,
                    "attempts": job.attempts,
                    "output": outcome.as_ref().ok(),
                    "error": outcome.as_ref().err().map(JobError::of),
                    "finished_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                });
                (uuid::Uuid::new_v4().to_string(), body.to_string())
            })
        };
        let delivery = webhook
            .as_ref()
            .map(|(id, body)| (id.as_str(), job.connection_id.as_str(), body.as_str()));
        match self
            .queue
            .inner
            .store
            .finish(
                &job.id,
                &self.id,
                status,
                output.as_deref(),
                error.as_deref(),
                run_at,
                interrupted,
                delivery,
            )
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("the job's lease ran out while it ran; another worker owns it now")
            }
            Err(error) => {
                tracing::warn!(%error, "could not store the job's outcome; it will run again after its lease")
            }
        }
    }

    async fn attempt(&self, job: &store::Claimed, registry: Registry) -> Result<Value, Error> {
        let connection = (self.connections)(&job.connection_id)
            .ok_or_else(|| no_connection(&job.connection_id))?;
        let info = registry
            .action(&job.action)
            .ok_or_else(|| Error::UnknownAction {
                action: job.action.clone(),
            })?;
        let arguments: Value =
            serde_json::from_str(&job.arguments).map_err(|error| Error::Storage {
                message: format!("the stored arguments are not JSON: {error}"),
            })?;
        // An earlier attempt may have done its write: run the action that is safe to
        // repeat (a create's upsert), or stop rather than risk a duplicate.
        let action = if job.interrupted {
            match info.retry_as {
                Some(safe) => safe,
                None => {
                    return Err(Error::Transport {
                        provider: connection.provider().to_string(),
                        message: format!(
                            "an earlier attempt of `{}` was cut off and may have taken effect; it has no upsert key, so it is not run again",
                            job.action
                        ),
                    });
                }
            }
        } else {
            info.name
        };
        registry
            .invoke(&self.runtime, &connection, action, arguments)
            .await
    }

    /// The wait before the next attempt, or `None` when the job should fail now.
    fn retry_delay(&self, error: &Error, attempts: i64, max_attempts: i64) -> Option<Duration> {
        let settings = &self.queue.inner.settings;
        // After a write, what decides is the step that failed (a read-back's 429).
        let failure = error.failure();
        let retryable = match failure.category() {
            ErrorCategory::Transport | ErrorCategory::RateLimited | ErrorCategory::Storage => true,
            ErrorCategory::Provider => failure.status().is_none_or(|s| s >= 500),
            // An answer that did not read after a write: the record may exist; its
            // upsert finds it.
            ErrorCategory::UnexpectedResponse => error.written() != crate::Written::No,
            _ => false,
        };
        // A cut-off create without an upsert key is final (see `attempt`).
        let final_ambiguity = matches!(error, Error::Transport { message, .. } if message.contains("is not run again"));
        if !retryable || final_ambiguity || attempts >= max_attempts {
            return None;
        }
        let ceiling = settings
            .base_delay
            .saturating_mul(1u32 << (attempts.clamp(1, 20) - 1))
            .min(settings.max_delay);
        // Half fixed, half random: never at once, and spread out across jobs.
        let half = ceiling.as_millis() as u64 / 2;
        let jitter = Duration::from_millis(half + rand::random_range(0..=half));
        // The provider's `Retry-After` (a 429, a 503, or a step after a write), when
        // longer than the backoff.
        let asked = error.retry_after().unwrap_or_default();
        Some(jitter.max(asked))
    }

    fn webhook_for(&self, connection_id: &str) -> Option<&Webhook> {
        let settings = &self.queue.inner.settings;
        settings
            .connection_webhooks
            .get(connection_id)
            .or(settings.webhook.as_ref())
    }

    /// Delivers due webhooks, each in its own task so a slow receiver never holds the
    /// others (or the jobs) up.
    async fn deliver_forever(self) {
        let settings = &self.queue.inner.settings;
        let lease = settings.webhook_timeout + Duration::from_secs(5);
        loop {
            let due = match self.queue.inner.store.claim_deliveries(16, lease).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "could not claim webhook deliveries");
                    Vec::new()
                }
            };
            let idle = due.is_empty();
            for delivery in due {
                let worker = self.clone_for_job();
                tokio::spawn(async move { worker.deliver(delivery).await });
            }
            if idle {
                tokio::time::sleep(settings.poll_interval).await;
            }
        }
    }

    async fn deliver(&self, delivery: store::Delivery) {
        let settings = &self.queue.inner.settings;
        let Some(webhook) = self.webhook_for(&delivery.connection_id) else {
            // This process has no webhook for the connection; one that does will.
            return;
        };
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign_webhook(&webhook.secret, timestamp, delivery.body.as_bytes());
        let sent = self
            .http
            .post(&webhook.url)
            .timeout(settings.webhook_timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(error) => (None, Some(error.without_url().to_string())),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let outcome = if delivered {
            DeliveryOutcome::Delivered
        } else if delivery.attempts >= i64::from(settings.webhook_attempts) {
            tracing::warn!(delivery = %delivery.id, ?status, "webhook abandoned after its last attempt");
            DeliveryOutcome::Abandoned
        } else {
            let ceiling = Duration::from_secs(1)
                .saturating_mul(1u32 << (delivery.attempts.clamp(1, 20) - 1))
                .min(Duration::from_secs(3600));
            let wait =
                rand::random_range(ceiling.as_millis() as u64 / 2..=ceiling.as_millis() as u64);
            DeliveryOutcome::RetryAt(now_ms() + wait as i64)
        };
        if let Err(error) = self
            .queue
            .inner
            .store
            .delivery_attempted(&delivery.id, outcome, status, error.as_deref())
            .await
        {
            tracing::warn!(%error, "could not record a webhook delivery");
        }
    }
}
