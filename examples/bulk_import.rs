//! Enqueues 1,000 contacts for each of three customers (HubSpot, Salesforce and Attio
//! sandboxes that enforce the vendors' rate limits), runs a worker, and shows a
//! progress bar per connection; then the records each provider holds and the HTTP
//! requests it took. The queue coalesces HubSpot and Salesforce creates into their
//! batch endpoints; Attio, which has none, gets one request per contact, paced at its
//! 25 writes per second.
//!
//!   cargo run --example bulk_import             (1,000 per connection)
//!   cargo run --example bulk_import -- 200      (another count)
//!
//! The queue is a SQLite file in a temporary folder; set `UNIFOLD_QUEUE_URL` to use
//! another (e.g. `postgres://postgres@127.0.0.1:5432/test`).

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};
use unifold_providers::{ContactInput, EmailAddress, REGISTRY};
use unifold_runtime::queue::Queue;
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Limit, Sandbox, Vendor};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = match std::env::args().nth(1) {
        Some(text) => text.parse().map_err(|_| format!("not a count: {text}"))?,
        None => 1000,
    };
    let folder = tempfile::tempdir()?;
    let url = std::env::var("UNIFOLD_QUEUE_URL")
        .unwrap_or_else(|_| format!("sqlite:{}", folder.path().join("jobs.db").display()));
    let mut builder = Queue::builder(&url, REGISTRY);
    if url.starts_with("postgres") {
        // A schema of its own, so reruns never see an earlier run's jobs.
        builder = builder.schema(format!("bulk_import_{}", std::process::id()));
    }
    let queue = builder.connect().await?;

    // Each sandbox refuses what its vendor would: HubSpot 100 requests per 10 s,
    // Attio 25 writes per second. Salesforce counts a daily allocation instead.
    let mut sandboxes = Vec::new();
    let mut connections = Vec::new();
    for vendor in Vendor::ALL {
        let token = format!("bulk-{vendor}");
        let sandbox = Sandbox::start(vendor, &token).await?;
        match vendor {
            Vendor::HubSpot => sandbox.enforce(Limit {
                requests: 100,
                window: Duration::from_secs(10),
                reads: None,
            }),
            Vendor::Attio => sandbox.enforce(Limit {
                requests: 25,
                window: Duration::from_secs(1),
                reads: Some(false),
            }),
            Vendor::Salesforce => {}
        }
        let connection = Connection::new(
            format!("{vendor}-customer"),
            vendor.name(),
            Credentials::bearer(token),
        )
        .with_origin(sandbox.url());
        sandboxes.push(sandbox);
        connections.push(connection);
    }

    let started = Instant::now();
    for connection in &connections {
        let people = (0..count).map(|n| ContactInput {
            first_name: Some(format!("Person {n}")),
            last_name: Some(connection.provider().to_string()),
            email_addresses: vec![EmailAddress {
                email_address: format!("person{n}@{}.example.com", connection.provider()),
                ..Default::default()
            }],
            ..Default::default()
        });
        queue
            .enqueue_many(connection, "create_contact", people)
            .await?;
    }
    println!(
        "enqueued {} jobs in {:.2?}",
        count * connections.len(),
        started.elapsed()
    );

    let lookup = connections.clone();
    let worker = queue.worker(Runtime::new()?, move |id| {
        lookup.iter().find(|c| c.id() == id).cloned()
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));

    let bars = MultiProgress::new();
    let style =
        ProgressStyle::with_template("{prefix:>20} [{bar:40}] {pos:>5}/{len} {per_sec:>12} {msg}")?
            .progress_chars("=> ");
    let progress: Vec<ProgressBar> = connections
        .iter()
        .map(|connection| {
            let bar = bars.add(ProgressBar::new(count as u64));
            bar.set_style(style.clone());
            bar.set_prefix(connection.id().to_string());
            bar
        })
        .collect();
    loop {
        let mut unfinished = 0;
        for (connection, bar) in connections.iter().zip(&progress) {
            let counts = queue.connection_counts(connection.id()).await?;
            bar.set_position(counts.succeeded + counts.failed);
            if counts.failed > 0 {
                bar.set_message(format!("{} failed", counts.failed));
            }
            if counts.unfinished() == 0 && !bar.is_finished() {
                bar.finish();
            }
            unfinished += counts.unfinished();
        }
        if unfinished == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    running.await??;

    println!("\ndone in {elapsed:.2?}");
    println!(
        "{:<11} {:>8} {:>14} {:>6}",
        "provider", "records", "HTTP requests", "429s"
    );
    for (sandbox, connection) in sandboxes.iter().zip(&connections) {
        let object = match connection.provider() {
            "hubspot" => "contacts",
            "salesforce" => "Contact",
            _ => "people",
        };
        let throttled = sandbox
            .requests()
            .iter()
            .filter(|request| request.status == 429)
            .count();
        println!(
            "{:<11} {:>8} {:>14} {:>6}",
            connection.provider(),
            sandbox.records(object).len(),
            sandbox.request_count(),
            throttled
        );
    }
    Ok(())
}
