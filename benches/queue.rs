//! The durable queue against rate-limited sandboxes (SQLite file store, one worker,
//! pacing on):
//! - 1,000 jobs on one Attio connection whose sandbox enforces 100 reads per second
//!   (`get_contact`; Attio's declared read budget): wall time against the fastest the
//!   limit allows, as achieved / allowed rate (goal ≥ 0.95);
//! - 1,000 creates on one Attio connection (25 writes per second enforced), the same ratio;
//! - 1,000 creates on one HubSpot connection with batching: HTTP requests used.
//!
//!     cargo bench --bench queue        (about 55 s: the budgets are the time)

use std::time::{Duration, Instant};
use unifold_providers::REGISTRY;
use unifold_runtime::queue::Queue;
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Limit, Sandbox, Vendor};

const JOBS: usize = 1000;

fn person(n: usize) -> serde_json::Value {
    serde_json::json!({
        "last_name": format!("Person {n}"),
        "email_addresses": [{"email_address": format!("p{n}@example.com")}]
    })
}

/// Runs `jobs` of `action` for a fresh connection to `sandbox` through a fresh queue
/// and returns the wall time from the first job taken to the last finished.
async fn run(
    sandbox: &Sandbox,
    vendor: Vendor,
    action: &str,
    jobs: Vec<serde_json::Value>,
) -> (Duration, u64) {
    let folder = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", folder.path().join("jobs.db").display());
    let queue = Queue::builder(&url, REGISTRY)
        .connect()
        .await
        .expect("queue");
    let connection = Connection::new("bench", vendor.name(), Credentials::bearer("bench-token"))
        .with_origin(sandbox.url());
    queue
        .enqueue_many(&connection, action, jobs)
        .await
        .expect("enqueue");
    let lookup = connection.clone();
    let worker = queue.worker(Runtime::new().expect("runtime"), move |_| {
        Some(lookup.clone())
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    loop {
        let counts = queue.counts().await.expect("counts");
        if counts.unfinished() == 0 {
            let elapsed = started.elapsed();
            let _ = stop.send(());
            let _ = running.await;
            return (elapsed, counts.failed);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn throttled(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        for (action, per_second, reads) in [("get_contact", 100.0, true), ("create_contact", 25.0, false)] {
            let sandbox = Sandbox::start(Vendor::Attio, "bench-token")
                .await
                .expect("sandbox");
            sandbox.enforce(Limit {
                requests: per_second as usize,
                window: Duration::from_secs(1),
                reads: Some(reads),
            });
            let jobs: Vec<serde_json::Value> = if reads {
                let id = sandbox.seed("people", 1).remove(0);
                (0..JOBS).map(|_| serde_json::json!({"id": id})).collect()
            } else {
                (0..JOBS).map(person).collect()
            };
            let (elapsed, failed) = run(&sandbox, Vendor::Attio, action, jobs).await;
            let fastest = (JOBS - 1) as f64 / per_second;
            println!(
                "queue, 1,000 `{action}` jobs on Attio ({per_second} per second enforced): {:.2} s, fastest allowed {fastest:.2} s, achieved / allowed rate {:.3}, {failed} failed, {} 429s",
                elapsed.as_secs_f64(),
                fastest / elapsed.as_secs_f64(),
                throttled(&sandbox)
            );
        }
        let sandbox = Sandbox::start(Vendor::HubSpot, "bench-token")
            .await
            .expect("sandbox");
        sandbox.enforce(Limit {
            requests: 100,
            window: Duration::from_secs(10),
            reads: None,
        });
        let (elapsed, failed) =
            run(&sandbox, Vendor::HubSpot, "create_contact", (0..JOBS).map(person).collect()).await;
        println!(
            "queue, 1,000 `create_contact` jobs on HubSpot with batching: {} HTTP requests ({:.3} per job), {:.2} s, {failed} failed, {} 429s",
            sandbox.request_count(),
            sandbox.request_count() as f64 / JOBS as f64,
            elapsed.as_secs_f64(),
            throttled(&sandbox)
        );
    });
}
