//! A worker process for the shipped providers' actions: takes jobs from the queue at
//! `UNIFOLD_QUEUE_URL` (`sqlite:jobs.db` or `postgres://…`, in the PostgreSQL schema
//! `UNIFOLD_QUEUE_SCHEMA` when set) until stopped. Run as many as you like, on as many
//! machines as share the database; a killed one loses no job.
//!
//! Connections come from `UNIFOLD_CONNECTIONS`, a JSON list of
//! `{"id", "provider", "token", "origin"?, "config"?}` (a real deployment reads them from
//! its own secret store: jobs never hold credentials).
//!
//! Settings: `UNIFOLD_LEASE_MS` (default 30000), `UNIFOLD_PACING=off` (sandboxes without
//! rate limits), `UNIFOLD_MAX_ATTEMPTS` (default 5).

use std::collections::HashMap;
use std::time::Duration;
use unifold_runtime::queue::Queue;
use unifold_runtime::{Connection, Credentials, Runtime};

#[derive(serde::Deserialize)]
struct ConnectionSpec {
    id: String,
    provider: String,
    token: String,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    config: HashMap<String, String>,
}

fn env_number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .map_err(|_| format!("{name} must be a whole number, not `{text}`")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let url = std::env::var("UNIFOLD_QUEUE_URL").map_err(|_| "set UNIFOLD_QUEUE_URL")?;
    let specs: Vec<ConnectionSpec> = serde_json::from_str(
        &std::env::var("UNIFOLD_CONNECTIONS").map_err(|_| "set UNIFOLD_CONNECTIONS")?,
    )?;
    let connections: HashMap<String, Connection> = specs
        .into_iter()
        .map(|spec| {
            let mut connection =
                Connection::new(&spec.id, &spec.provider, Credentials::bearer(spec.token));
            if let Some(origin) = spec.origin {
                connection = connection.with_origin(origin);
            }
            for (key, value) in spec.config {
                connection = connection.with_config(key, value);
            }
            (spec.id, connection)
        })
        .collect();

    let mut builder = Queue::builder(url, unifold_providers::REGISTRY)
        .lease(Duration::from_millis(env_number(
            "UNIFOLD_LEASE_MS",
            30_000,
        )?))
        .max_attempts(env_number("UNIFOLD_MAX_ATTEMPTS", 5)? as u32);
    if let Ok(schema) = std::env::var("UNIFOLD_QUEUE_SCHEMA") {
        builder = builder.schema(schema);
    }
    let queue = builder.connect().await?;
    let pacing = std::env::var("UNIFOLD_PACING").map_or(true, |value| value != "off");
    let runtime = Runtime::builder().pacing(pacing).build()?;
    let worker = queue.worker(runtime, move |id| connections.get(id).cloned());
    eprintln!("worker ready");
    worker
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
