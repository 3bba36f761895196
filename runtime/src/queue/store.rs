//! The job tables, on SQLite or PostgreSQL through sqlx's `Any` driver: one set of SQL
//! statements (`$n` placeholders work on both), with `FOR UPDATE SKIP LOCKED` added on
//! PostgreSQL so that workers on several machines never claim the same job.

use crate::Error;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and the qualified names of the queue's tables.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: AnyPool,
    pub backend: Backend,
    jobs: String,
    deliveries: String,
    rates: String,
}

/// A job as a worker claims it.
#[derive(Clone, Debug)]
pub(crate) struct Claimed {
    pub id: String,
    pub connection_id: String,
    pub action: String,
    pub arguments: String,
    /// Attempts including this one.
    pub attempts: i64,
    pub max_attempts: i64,
    /// An earlier attempt may have taken effect (its worker died holding the job, or
    /// it failed ambiguously): only an action safe to repeat may run now.
    pub interrupted: bool,
}

/// A webhook delivery as a worker claims it.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub id: String,
    pub connection_id: String,
    pub body: String,
    pub attempts: i64,
}

/// A stored job, as `Queue::job` reads it.
#[derive(Clone, Debug)]
pub(crate) struct JobRow {
    pub id: String,
    pub connection_id: String,
    pub action: String,
    pub arguments: String,
    pub status: String,
    pub attempts: i64,
    pub output: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A new job.
pub(crate) struct NewJob {
    pub id: String,
    pub connection_id: String,
    pub action: String,
    pub arguments: String,
    pub max_attempts: i64,
}

fn claimed(row: &AnyRow) -> Result<Claimed, Error> {
    Ok(Claimed {
        id: row.try_get("id").map_err(storage)?,
        connection_id: row.try_get("connection_id").map_err(storage)?,
        action: row.try_get("action").map_err(storage)?,
        arguments: row.try_get("arguments").map_err(storage)?,
        attempts: row.try_get("attempts").map_err(storage)?,
        max_attempts: row.try_get("max_attempts").map_err(storage)?,
        interrupted: row.try_get::<i64, _>("interrupted").map_err(storage)? != 0,
    })
}

pub(crate) fn storage(error: sqlx::Error) -> Error {
    Error::Storage {
        // sqlx's messages name tables and constraints, never bound values.
        message: error.to_string(),
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Connects to `url` (`sqlite:path`, `sqlite::memory:`, `postgres://…`) and creates
    /// the tables (in `schema` on PostgreSQL) when missing.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Store, Error> {
        let (pool, backend, prefix) = open(url, schema).await?;
        let store = Store {
            pool,
            backend,
            jobs: format!("{prefix}unifold_jobs"),
            deliveries: format!("{prefix}unifold_deliveries"),
            rates: format!("{prefix}unifold_rates"),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let statements = [
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    id TEXT PRIMARY KEY,
                    connection_id TEXT NOT NULL,
                    action TEXT NOT NULL,
                    arguments TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    max_attempts BIGINT NOT NULL,
                    interrupted BIGINT NOT NULL DEFAULT 0,
                    run_at BIGINT NOT NULL,
                    lease_until BIGINT,
                    worker TEXT,
                    output TEXT,
                    error TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )",
                self.jobs
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS unifold_jobs_ready ON {} (status, run_at)",
                self.jobs
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    id TEXT PRIMARY KEY,
                    job_id TEXT NOT NULL,
                    connection_id TEXT NOT NULL,
                    body TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    next_at BIGINT NOT NULL,
                    delivered_at BIGINT,
                    abandoned_at BIGINT,
                    last_status BIGINT,
                    last_error TEXT
                )",
                self.deliveries
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (
                    key TEXT PRIMARY KEY,
                    -- microseconds since the Unix epoch, on the database's clock
                    next_free BIGINT NOT NULL
                )",
                self.rates
            ),
        ];
        for statement in statements {
            match sqlx::query(&statement).execute(&self.pool).await {
                Ok(_) => {}
                // Two processes creating the tables at once on PostgreSQL: the loser's
                // CREATE ... IF NOT EXISTS can still hit the unique catalog index.
                Err(sqlx::Error::Database(error))
                    if self.backend == Backend::Postgres
                        && error.code().as_deref() == Some("23505") => {}
                Err(error) => return Err(storage(error)),
            }
        }
        Ok(())
    }

    pub async fn insert(&self, jobs: &[NewJob]) -> Result<(), Error> {
        let now = now_ms();
        let mut transaction = self.pool.begin().await.map_err(storage)?;
        let sql = format!(
            "INSERT INTO {} (id, connection_id, action, arguments, status, attempts, max_attempts, run_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6, $6)",
            self.jobs
        );
        for job in jobs {
            sqlx::query(&sql)
                .bind(&job.id)
                .bind(&job.connection_id)
                .bind(&job.action)
                .bind(&job.arguments)
                .bind(job.max_attempts)
                .bind(now)
                .execute(&mut *transaction)
                .await
                .map_err(storage)?;
        }
        transaction.commit().await.map_err(storage)
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, Error> {
        let sql = format!(
            "SELECT id, connection_id, action, arguments, status, attempts, output, error, created_at, updated_at
             FROM {} WHERE id = $1",
            self.jobs
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(storage)?;
        row.map(|row| job_row(&row)).transpose()
    }

    /// Jobs per status, of one connection or of all.
    pub async fn counts(&self, connection_id: Option<&str>) -> Result<Vec<(String, i64)>, Error> {
        let filter = if connection_id.is_some() {
            "WHERE connection_id = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT status, COUNT(*) AS n FROM {} {filter} GROUP BY status",
            self.jobs
        );
        let mut query = sqlx::query(&sql);
        if let Some(connection_id) = connection_id {
            query = query.bind(connection_id);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(storage)?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get::<String, _>("status").map_err(storage)?,
                    row.try_get::<i64, _>("n").map_err(storage)?,
                ))
            })
            .collect()
    }

    /// Takes up to `limit` jobs that are due (or whose worker's lease ran out), never of
    /// the connections in `busy`, and leases them to `worker` until `lease_until`.
    pub async fn claim(
        &self,
        worker: &str,
        limit: usize,
        busy: &[String],
        lease: Duration,
    ) -> Result<Vec<Claimed>, Error> {
        let placeholders: Vec<String> = (0..busy.len()).map(|i| format!("${}", i + 5)).collect();
        let condition = format!(
            "((status = 'queued' AND run_at <= $3) OR (status = 'running' AND lease_until < $3)){}",
            if busy.is_empty() {
                String::new()
            } else {
                format!(" AND connection_id NOT IN ({})", placeholders.join(", "))
            }
        );
        self.lease(worker, limit, lease, &condition, busy).await
    }

    /// Takes up to `limit` more due, never-interrupted jobs of one connection and action
    /// (to fill a batch), leased to `worker` like [`Store::claim`]'s.
    pub async fn claim_more(
        &self,
        worker: &str,
        connection_id: &str,
        action: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Claimed>, Error> {
        let condition = "status = 'queued' AND run_at <= $3 AND interrupted = 0 AND connection_id = $5 AND action = $6";
        let values = [connection_id.to_string(), action.to_string()];
        self.lease(worker, limit, lease, condition, &values).await
    }

    /// Leases to `worker` up to `limit` jobs meeting `condition` (SQL over the jobs
    /// table, where `$3` is now and `$5…` are `values`), oldest due first. A job taken
    /// back from a dead worker is marked interrupted: its attempt may have taken effect.
    async fn lease(
        &self,
        worker: &str,
        limit: usize,
        lease: Duration,
        condition: &str,
        values: &[String],
    ) -> Result<Vec<Claimed>, Error> {
        let now = now_ms();
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE {jobs} SET
                status = 'running',
                attempts = attempts + 1,
                interrupted = CASE WHEN status = 'running' THEN 1 ELSE interrupted END,
                lease_until = $1,
                worker = $2,
                updated_at = $3
             WHERE id IN (
                SELECT id FROM {jobs}
                WHERE {condition}
                ORDER BY run_at
                LIMIT $4
                {lock}
             )
             RETURNING id, connection_id, action, arguments, attempts, max_attempts, interrupted",
            jobs = self.jobs
        );
        let mut query = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(worker)
            .bind(now)
            .bind(limit as i64);
        for value in values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(storage)?;
        rows.iter().map(claimed).collect()
    }

    /// Extends the leases of every job `worker` holds.
    pub async fn heartbeat(&self, worker: &str, lease: Duration) -> Result<(), Error> {
        let sql = format!(
            "UPDATE {} SET lease_until = $1 WHERE worker = $2 AND status = 'running'",
            self.jobs
        );
        sqlx::query(&sql)
            .bind(now_ms() + lease.as_millis() as i64)
            .bind(worker)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// Records the outcome of an attempt: `succeeded` or `failed` for good, or
    /// `queued` again at `run_at`. Only while `worker` still holds the job, so a worker
    /// whose lease ran out cannot overwrite the outcome of the one that took over.
    /// Returns whether the row was updated.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        &self,
        id: &str,
        worker: &str,
        status: &str,
        output: Option<&str>,
        error: Option<&str>,
        run_at: i64,
        interrupted: bool,
        delivery: Option<(&str, &str, &str)>,
    ) -> Result<bool, Error> {
        let now = now_ms();
        let mut transaction = self.pool.begin().await.map_err(storage)?;
        let sql = format!(
            "UPDATE {} SET status = $1, output = $2, error = $3, run_at = $4, interrupted = $5,
                 lease_until = NULL, worker = NULL, updated_at = $6
             WHERE id = $7 AND worker = $8 AND status = 'running'",
            self.jobs
        );
        let updated = sqlx::query(&sql)
            .bind(status)
            .bind(output)
            .bind(error)
            .bind(run_at)
            .bind(i64::from(interrupted))
            .bind(now)
            .bind(id)
            .bind(worker)
            .execute(&mut *transaction)
            .await
            .map_err(storage)?
            .rows_affected();
        if updated == 1
            && let Some((delivery_id, connection_id, body)) = delivery
        {
            let sql = format!(
                "INSERT INTO {} (id, job_id, connection_id, body, attempts, next_at) VALUES ($1, $2, $3, $4, 0, $5)",
                self.deliveries
            );
            sqlx::query(&sql)
                .bind(delivery_id)
                .bind(id)
                .bind(connection_id)
                .bind(body)
                .bind(now)
                .execute(&mut *transaction)
                .await
                .map_err(storage)?;
        }
        transaction.commit().await.map_err(storage)?;
        Ok(updated == 1)
    }

    /// Takes up to `limit` due webhook deliveries, hiding them from other workers for
    /// `lease` (a delivery whose worker dies is retried after it).
    pub async fn claim_deliveries(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<Delivery>, Error> {
        let now = now_ms();
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE {d} SET attempts = attempts + 1, next_at = $1
             WHERE id IN (
                SELECT id FROM {d}
                WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_at <= $2
                ORDER BY next_at LIMIT $3 {lock}
             )
             RETURNING id, connection_id, body, attempts",
            d = self.deliveries
        );
        let rows = sqlx::query(&sql)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|row| {
                Ok(Delivery {
                    id: row.try_get("id").map_err(storage)?,
                    connection_id: row.try_get("connection_id").map_err(storage)?,
                    body: row.try_get("body").map_err(storage)?,
                    attempts: row.try_get("attempts").map_err(storage)?,
                })
            })
            .collect()
    }

    /// Records a delivery attempt: delivered, due again at `next_at`, or abandoned.
    pub async fn delivery_attempted(
        &self,
        id: &str,
        outcome: DeliveryOutcome,
        status: Option<u16>,
        error: Option<&str>,
    ) -> Result<(), Error> {
        let now = now_ms();
        let (delivered, abandoned, next_at) = match outcome {
            DeliveryOutcome::Delivered => (Some(now), None, now),
            DeliveryOutcome::RetryAt(at) => (None, None, at),
            DeliveryOutcome::Abandoned => (None, Some(now), now),
        };
        let sql = format!(
            "UPDATE {} SET delivered_at = $1, abandoned_at = $2, next_at = $3, last_status = $4, last_error = $5 WHERE id = $6",
            self.deliveries
        );
        sqlx::query(&sql)
            .bind(delivered)
            .bind(abandoned)
            .bind(next_at)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// Reserves the next send slot of a rate shared by every process using this
    /// PostgreSQL store (GCRA in one statement) and returns how long to wait for it.
    /// Each slot is `interval_ms` after the previous one. Times are the database's
    /// clock, read while the row is locked: a reservation that queued behind others
    /// still gets a slot after theirs, never one in the past that would send in a burst,
    /// and machines' clocks need not agree.
    pub async fn reserve_slot(&self, key: &str, interval: Duration) -> Result<Duration, Error> {
        // Microseconds: at 100 requests per second, whole milliseconds would round the
        // 10.1 ms spacing down to exactly the limit.
        const NOW_US: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";
        let interval_us = i64::try_from(interval.as_micros())
            .unwrap_or(i64::MAX)
            .max(1);
        let sql = format!(
            "INSERT INTO {r} (key, next_free) VALUES ($1, {NOW_US} + $2)
             ON CONFLICT (key) DO UPDATE SET next_free = GREATEST({r}.next_free, {NOW_US}) + $2
             RETURNING next_free, {NOW_US} AS db_now",
            r = self.rates
        );
        let row = sqlx::query(&sql)
            .bind(key)
            .bind(interval_us)
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?;
        let next_free: i64 = row.try_get("next_free").map_err(storage)?;
        let db_now: i64 = row.try_get("db_now").map_err(storage)?;
        // The slot starts one interval before the next free instant.
        let slot = next_free - interval_us;
        Ok(Duration::from_micros((slot - db_now).max(0) as u64))
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum DeliveryOutcome {
    Delivered,
    RetryAt(i64),
    Abandoned,
}

fn job_row(row: &AnyRow) -> Result<JobRow, Error> {
    Ok(JobRow {
        id: row.try_get("id").map_err(storage)?,
        connection_id: row.try_get("connection_id").map_err(storage)?,
        action: row.try_get("action").map_err(storage)?,
        arguments: row.try_get("arguments").map_err(storage)?,
        status: row.try_get("status").map_err(storage)?,
        attempts: row.try_get("attempts").map_err(storage)?,
        output: row.try_get("output").map_err(storage)?,
        error: row.try_get("error").map_err(storage)?,
        created_at: row.try_get("created_at").map_err(storage)?,
        updated_at: row.try_get("updated_at").map_err(storage)?,
    })
}

/// A connection pool to `url` (`sqlite:path`, `sqlite::memory:`, `postgres://…`), its
/// backend, and the prefix of table names (`schema.` on PostgreSQL, created when
/// missing). The queue and the log store both open their databases this way.
pub(crate) async fn open(
    url: &str,
    schema: Option<&str>,
) -> Result<(AnyPool, Backend, String), Error> {
    sqlx::any::install_default_drivers();
    let backend = if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else {
        return Err(Error::Storage {
            message: "the store URL must start with sqlite: or postgres://".into(),
        });
    };
    let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
    if backend == Backend::Sqlite {
        // An in-memory database exists once per connection: keep exactly one. A file
        // takes one writer at a time anyway; readers wait instead of failing.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        options = options
            .max_connections(if in_memory { 1 } else { 4 })
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA busy_timeout = 30000")
                        .execute(&mut *connection)
                        .await?;
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *connection)
                        .await?;
                    Ok(())
                })
            });
    } else {
        // Connections opened up front, not in the first second of work where their
        // setup would delay the first requests' pacing slots.
        options = options.max_connections(8).min_connections(4);
    }
    let url = if backend == Backend::Sqlite && !url.contains(":memory:") && !url.contains('?') {
        // Create the file when it does not exist yet.
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    let pool = options.connect(&url).await.map_err(storage)?;
    let prefix = match (backend, schema) {
        (Backend::Postgres, Some(schema)) => {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(Error::Storage {
                    message: format!("`{schema}` is not a usable schema name (letters, digits, _)"),
                });
            }
            match sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&pool)
                .await
            {
                Ok(_) => {}
                // Two pools creating it at once: the loser hits the catalog's unique index.
                Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("23505") => {}
                Err(error) => return Err(storage(error)),
            }
            format!("{schema}.")
        }
        _ => String::new(),
    };
    Ok((pool, backend, prefix))
}
