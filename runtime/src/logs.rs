//! Stored logs: every action invocation and every HTTP request it made, in the same
//! database as the queue (SQLite by default, PostgreSQL when several machines share
//! the work), kept for a retention period and queryable from Rust
//! ([`LogStore::query`]) and from the CLI (`unifold logs`).
//!
//! The store is an [`Observer`]: records arrive already redacted, are handed to a
//! background task through a channel (an action never waits for the database), and
//! are written in batches. [`LogStore::flush`] waits until everything reported so far
//! is stored.

use crate::queue::store::{Backend, open, storage};
use crate::{Error, Observer, OperationRecord, Outcome, RequestRecord};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Settings of a [`LogStore`].
#[derive(Debug)]
pub struct LogStoreBuilder {
    url: String,
    schema: Option<String>,
    retention: Duration,
}

impl LogStoreBuilder {
    /// A PostgreSQL schema for the tables (created when missing).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// How long records are kept (default 7 days); older ones are deleted hourly.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Connects, creates the tables when missing, and starts the writer.
    pub async fn connect(self) -> Result<LogStore, Error> {
        let (pool, backend, prefix) = open(&self.url, self.schema.as_deref()).await?;
        let tables = Tables {
            operations: format!("{prefix}unifold_operations"),
            requests: format!("{prefix}unifold_requests"),
        };
        migrate(&pool, backend, &tables).await?;
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            pool,
            tables,
            sender,
            retention: self.retention,
            reported: AtomicU64::new(0),
            stored: AtomicU64::new(0),
            written: tokio::sync::Notify::new(),
        });
        let store = LogStore { inner };
        store.purge_expired().await?;
        tokio::spawn(write_forever(store.inner.clone(), receiver));
        Ok(store)
    }
}

#[derive(Debug)]
struct Tables {
    operations: String,
    requests: String,
}

/// A row waiting to be written.
enum Pending {
    Operation(Box<OperationRecord>),
    Request(Box<RequestRecord>),
}

#[derive(Debug)]
struct Inner {
    pool: AnyPool,
    tables: Tables,
    sender: tokio::sync::mpsc::UnboundedSender<Pending>,
    retention: Duration,
    /// Records handed over, and records written (or given up on): `flush` waits for
    /// the second to reach the first.
    reported: AtomicU64,
    stored: AtomicU64,
    written: tokio::sync::Notify,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pending::Operation(_) => f.write_str("Operation"),
            Pending::Request(_) => f.write_str("Request"),
        }
    }
}

/// The log store. Cheap to clone; register it with
/// [`crate::RuntimeBuilder::logs`].
#[derive(Clone, Debug)]
pub struct LogStore {
    inner: Arc<Inner>,
}

/// Which operations [`LogStore::query`] returns; every condition set must hold.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LogFilter {
    pub connection_id: Option<String>,
    pub action: Option<String>,
    pub provider: Option<String>,
    /// Only operations started at or after this instant.
    pub since: Option<crate::DateTime>,
    /// Only failed operations.
    pub failed: bool,
    pub operation_id: Option<String>,
    /// At most this many operations, newest first (default 100).
    pub limit: Option<usize>,
}

/// An operation as stored, with the requests it sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedOperation {
    #[serde(flatten)]
    pub operation: OperationRecord,
    pub requests: Vec<RequestRecord>,
}

impl LogStore {
    /// A store at `url` (`sqlite:app.db`, `sqlite::memory:`, `postgres://…`): the same
    /// database the queue uses works.
    pub fn builder(url: impl Into<String>) -> LogStoreBuilder {
        LogStoreBuilder {
            url: url.into(),
            schema: None,
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Operations matching `filter`, newest first, each with its requests.
    pub async fn query(&self, filter: &LogFilter) -> Result<Vec<LoggedOperation>, Error> {
        let mut conditions = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut push = |column: &str, value: &Option<String>, texts: &mut Vec<String>| {
            if let Some(value) = value {
                texts.push(value.clone());
                conditions.push(format!("{column} = ${}", texts.len()));
            }
        };
        push("connection_id", &filter.connection_id, &mut texts);
        push("action", &filter.action, &mut texts);
        push("provider", &filter.provider, &mut texts);
        push("id", &filter.operation_id, &mut texts);
        if filter.failed {
            conditions.push("status = 'failed'".to_string());
        }
        let since_index = texts.len() + 1;
        if filter.since.is_some() {
            conditions.push(format!("started_at >= ${since_index}"));
        }
        let limit = filter.limit.unwrap_or(100).min(10_000) as i64;
        let sql = format!(
            "SELECT * FROM {} {} ORDER BY started_at DESC, id LIMIT {limit}",
            self.inner.tables.operations,
            if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            }
        );
        let mut query = sqlx::query(&sql);
        for text in &texts {
            query = query.bind(text);
        }
        if let Some(since) = filter.since {
            query = query.bind(since.timestamp_millis());
        }
        let rows = query.fetch_all(&self.inner.pool).await.map_err(storage)?;
        let mut operations = Vec::with_capacity(rows.len());
        for row in &rows {
            let operation = operation_row(row)?;
            let sql = format!(
                "SELECT * FROM {} WHERE operation_id = $1 ORDER BY started_at, attempt, id",
                self.inner.tables.requests
            );
            let requests = sqlx::query(&sql)
                .bind(&operation.id)
                .fetch_all(&self.inner.pool)
                .await
                .map_err(storage)?
                .iter()
                .map(request_row)
                .collect::<Result<Vec<_>, Error>>()?;
            operations.push(LoggedOperation {
                operation,
                requests,
            });
        }
        Ok(operations)
    }

    /// Requests sent outside any action (a hand-written `Runtime::send`), newest first.
    pub async fn unattached_requests(&self, limit: usize) -> Result<Vec<RequestRecord>, Error> {
        let sql = format!(
            "SELECT * FROM {} WHERE operation_id IS NULL ORDER BY started_at DESC LIMIT {}",
            self.inner.tables.requests,
            limit.min(10_000)
        );
        sqlx::query(&sql)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(storage)?
            .iter()
            .map(request_row)
            .collect()
    }

    /// Waits until every record reported before this call is stored.
    pub async fn flush(&self) {
        let target = self.inner.reported.load(Ordering::SeqCst);
        loop {
            let notified = self.inner.written.notified();
            if self.inner.stored.load(Ordering::SeqCst) >= target {
                return;
            }
            // A timeout keeps a lost wake-up from hanging the caller.
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    /// Deletes records older than the retention period; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        let cutoff = chrono::Utc::now().timestamp_millis()
            - i64::try_from(self.inner.retention.as_millis()).unwrap_or(i64::MAX);
        let mut deleted = 0;
        for table in [&self.inner.tables.requests, &self.inner.tables.operations] {
            let sql = format!("DELETE FROM {table} WHERE started_at < $1");
            deleted += sqlx::query(&sql)
                .bind(cutoff)
                .execute(&self.inner.pool)
                .await
                .map_err(storage)?
                .rows_affected();
        }
        Ok(deleted)
    }

    fn report(&self, row: Pending) {
        self.inner.reported.fetch_add(1, Ordering::SeqCst);
        if self.inner.sender.send(row).is_err() {
            // The writer is gone (its runtime shut down): count it as done so that
            // `flush` does not wait for it.
            self.inner.stored.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Observer for LogStore {
    fn action_finished(&self, record: &OperationRecord) {
        self.report(Pending::Operation(Box::new(record.clone())));
    }

    fn request_finished(&self, record: &RequestRecord) {
        self.report(Pending::Request(Box::new(record.clone())));
    }
}

async fn migrate(pool: &AnyPool, backend: Backend, tables: &Tables) -> Result<(), Error> {
    let statements = [
        format!(
            "CREATE TABLE IF NOT EXISTS {} (
                id TEXT PRIMARY KEY,
                parent_id TEXT,
                connection_id TEXT NOT NULL,
                provider TEXT NOT NULL,
                action TEXT NOT NULL,
                input TEXT NOT NULL,
                -- milliseconds since the Unix epoch
                started_at BIGINT NOT NULL,
                duration_ms BIGINT NOT NULL,
                status TEXT NOT NULL,
                outcome TEXT NOT NULL,
                attempts BIGINT NOT NULL,
                requests BIGINT NOT NULL
            )",
            tables.operations
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS unifold_operations_started ON {} (started_at)",
            tables.operations
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS unifold_operations_connection ON {} (connection_id, started_at)",
            tables.operations
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (
                id TEXT PRIMARY KEY,
                operation_id TEXT,
                connection_id TEXT NOT NULL,
                provider TEXT NOT NULL,
                operation TEXT NOT NULL,
                method TEXT NOT NULL,
                url TEXT NOT NULL,
                status BIGINT,
                error TEXT,
                started_at BIGINT NOT NULL,
                duration_ms BIGINT NOT NULL,
                attempt BIGINT NOT NULL,
                rate_limit TEXT NOT NULL,
                request_body TEXT,
                response_body TEXT
            )",
            tables.requests
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS unifold_requests_operation ON {} (operation_id)",
            tables.requests
        ),
    ];
    for statement in statements {
        match sqlx::query(&statement).execute(pool).await {
            Ok(_) => {}
            // Two processes creating the tables at once on PostgreSQL.
            Err(sqlx::Error::Database(error))
                if backend == Backend::Postgres && error.code().as_deref() == Some("23505") => {}
            Err(error) => return Err(storage(error)),
        }
    }
    Ok(())
}

/// Writes what arrives, in batches of up to 256 rows per transaction; deletes
/// expired rows every hour.
async fn write_forever(
    inner: Arc<Inner>,
    mut receiver: tokio::sync::mpsc::UnboundedReceiver<Pending>,
) {
    let mut last_purge = tokio::time::Instant::now();
    let mut batch = Vec::with_capacity(256);
    while receiver.recv_many(&mut batch, 256).await > 0 {
        let count = batch.len() as u64;
        if let Err(error) = write(&inner, &batch).await {
            tracing::warn!(%error, rows = count, "could not store logs");
        }
        batch.clear();
        inner.stored.fetch_add(count, Ordering::SeqCst);
        inner.written.notify_waiters();
        if last_purge.elapsed() > Duration::from_secs(3600) {
            last_purge = tokio::time::Instant::now();
            let store = LogStore {
                inner: inner.clone(),
            };
            if let Err(error) = store.purge_expired().await {
                tracing::warn!(%error, "could not delete expired logs");
            }
        }
    }
}

async fn write(inner: &Inner, rows: &[Pending]) -> Result<(), Error> {
    let mut transaction = inner.pool.begin().await.map_err(storage)?;
    let operations = format!(
        "INSERT INTO {} (id, parent_id, connection_id, provider, action, input, started_at, duration_ms, status, outcome, attempts, requests)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        inner.tables.operations
    );
    let requests = format!(
        "INSERT INTO {} (id, operation_id, connection_id, provider, operation, method, url, status, error, started_at, duration_ms, attempt, rate_limit, request_body, response_body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        inner.tables.requests
    );
    for row in rows {
        match row {
            Pending::Operation(op) => {
                let status = if op.outcome.is_failure() {
                    "failed"
                } else {
                    "succeeded"
                };
                sqlx::query(&operations)
                    .bind(&op.id)
                    .bind(op.parent_id.as_deref())
                    .bind(&op.connection_id)
                    .bind(&op.provider)
                    .bind(&op.action)
                    .bind(op.input.to_string())
                    .bind(op.started_at.timestamp_millis())
                    .bind(op.duration_ms as i64)
                    .bind(status)
                    .bind(serde_json::to_string(&op.outcome).unwrap_or_default())
                    .bind(i64::from(op.attempts))
                    .bind(i64::from(op.requests))
                    .execute(&mut *transaction)
                    .await
                    .map_err(storage)?;
            }
            Pending::Request(request) => {
                sqlx::query(&requests)
                    .bind(&request.id)
                    .bind(request.operation_id.as_deref())
                    .bind(&request.connection_id)
                    .bind(&request.provider)
                    .bind(&request.operation)
                    .bind(&request.method)
                    .bind(&request.url)
                    .bind(request.status.map(i64::from))
                    .bind(request.error.as_deref())
                    .bind(request.started_at.timestamp_millis())
                    .bind(request.duration_ms as i64)
                    .bind(i64::from(request.attempt))
                    .bind(serde_json::to_string(&request.rate_limit).unwrap_or_default())
                    .bind(request.request_body.as_deref())
                    .bind(request.response_body.as_deref())
                    .execute(&mut *transaction)
                    .await
                    .map_err(storage)?;
            }
        }
    }
    transaction.commit().await.map_err(storage)
}

fn time(ms: i64) -> crate::DateTime {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn operation_row(row: &AnyRow) -> Result<OperationRecord, Error> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(storage);
    let number = |name: &str| row.try_get::<i64, _>(name).map_err(storage);
    let outcome: Outcome =
        serde_json::from_str(&text("outcome")?).map_err(|error| Error::Storage {
            message: format!("a stored outcome is not readable: {error}"),
        })?;
    Ok(OperationRecord {
        id: text("id")?,
        parent_id: row.try_get("parent_id").map_err(storage)?,
        connection_id: text("connection_id")?,
        provider: text("provider")?,
        action: text("action")?,
        input: serde_json::from_str(&text("input")?).unwrap_or(serde_json::Value::Null),
        started_at: time(number("started_at")?),
        duration_ms: number("duration_ms")?.max(0) as u64,
        outcome,
        attempts: u32::try_from(number("attempts")?).unwrap_or(u32::MAX),
        requests: u32::try_from(number("requests")?).unwrap_or(u32::MAX),
    })
}

fn request_row(row: &AnyRow) -> Result<RequestRecord, Error> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(storage);
    let number = |name: &str| row.try_get::<i64, _>(name).map_err(storage);
    let status: Option<i64> = row.try_get("status").map_err(storage)?;
    Ok(RequestRecord {
        id: text("id")?,
        operation_id: row.try_get("operation_id").map_err(storage)?,
        connection_id: text("connection_id")?,
        provider: text("provider")?,
        operation: text("operation")?,
        method: text("method")?,
        url: text("url")?,
        status: status.and_then(|s| u16::try_from(s).ok()),
        error: row.try_get("error").map_err(storage)?,
        started_at: time(number("started_at")?),
        duration_ms: number("duration_ms")?.max(0) as u64,
        attempt: u32::try_from(number("attempt")?).unwrap_or(u32::MAX),
        rate_limit: serde_json::from_str(&text("rate_limit")?).unwrap_or_default(),
        request_body: row.try_get("request_body").map_err(storage)?,
        response_body: row.try_get("response_body").map_err(storage)?,
    })
}
