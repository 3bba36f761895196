//! The queue across real worker processes (`examples/queue_worker.rs`): workers killed
//! with SIGKILL lose no job and create no duplicate; three workers on one PostgreSQL
//! share 3,000 jobs without running one twice and together stay within the
//! connection's rate limit.

mod common;

use serde_json::json;
use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};
use unifold_providers::REGISTRY;
use unifold_runtime::queue::{Queue, QueueBuilder};
use unifold_sandbox::{FaultPlan, Limit, Sandbox, Vendor};

const TOKEN: &str = "worker-token";

/// The example worker binary, built by `cargo test` beside this test binary.
fn worker_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = debug.join("examples").join("queue_worker");
    assert!(
        binary.exists(),
        "{} is missing: run through cargo test",
        binary.display()
    );
    binary
}

struct WorkerSetup<'a> {
    url: &'a str,
    schema: Option<&'a str>,
    sandbox: &'a Sandbox,
    provider: &'a str,
    lease_ms: u64,
    pacing: bool,
}

fn spawn_worker(setup: &WorkerSetup) -> tokio::process::Child {
    let connections = json!([{
        "id": "customer-1",
        "provider": setup.provider,
        "token": TOKEN,
        "origin": setup.sandbox.url(),
    }]);
    // Workers run at a lower priority than this process, which plays the provider:
    // on a 2-core machine they would otherwise delay the sandbox's handling of requests
    // and make it see bursts that were not sent (a real provider does not share our
    // CPU). `nice` executes the worker in its own place, so killing it kills the worker.
    let mut command = tokio::process::Command::new("nice");
    command.arg("-n").arg("10").arg(worker_binary());
    command
        .env("UNIFOLD_QUEUE_URL", setup.url)
        .env("UNIFOLD_CONNECTIONS", connections.to_string())
        .env("UNIFOLD_LEASE_MS", setup.lease_ms.to_string())
        .env("UNIFOLD_PACING", if setup.pacing { "on" } else { "off" })
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(
            std::env::var("UNIFOLD_WORKER_LOG").map_or(Stdio::null(), |path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_or(Stdio::null(), Stdio::from)
            }),
        )
        .kill_on_drop(true);
    if let Some(schema) = setup.schema {
        command.env("UNIFOLD_QUEUE_SCHEMA", schema);
    }
    command.spawn().unwrap()
}

fn person(n: usize) -> serde_json::Value {
    json!({
        "last_name": format!("Person {n}"),
        "email_addresses": [{"email_address": format!("person{n}@example.com")}]
    })
}

async fn wait_until_done(queue: &Queue, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let counts = queue.counts().await.unwrap();
        if counts.unfinished() == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "jobs still unfinished: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// 1,000 creates on `vendor`, five workers killed while they run, a sixth to finish.
/// `kill_after` requests reach the sandbox before each kill: on Attio a job is a
/// request; on HubSpot 100 jobs share one batch request, so the first kill cuts off
/// batches and the jobs they held run again one by one, through the upsert.
async fn crash_run(
    backend: &str,
    url: &str,
    schema: Option<&str>,
    builder: QueueBuilder,
    vendor: Vendor,
    kill_after: usize,
) {
    let queue = builder.connect().await.unwrap();
    let (sandbox, connection) = common::start(vendor, TOKEN).await;
    // Slow answers (after the record is committed) keep many creates in flight, so
    // each kill cuts some off between the provider's commit and the worker's record.
    sandbox.fault_plan(FaultPlan {
        seed: 5,
        slow: 0.3,
        slow_by: Duration::from_millis(300),
        ..FaultPlan::default()
    });
    let ids = queue
        .enqueue_many(&connection, "create_contact", (0..1000).map(person))
        .await
        .unwrap();
    let setup = WorkerSetup {
        url,
        schema,
        sandbox: &sandbox,
        provider: vendor.name(),
        lease_ms: 1000,
        pacing: false,
    };
    let mut kills = 0;
    while kills < 5 {
        let mut child = spawn_worker(&setup);
        // Let it take and start jobs, then kill it without warning.
        let before = sandbox.request_count();
        let deadline = Instant::now() + Duration::from_secs(20);
        while sandbox.request_count() < before + kill_after && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        kills += 1;
        let counts = queue.counts().await.unwrap();
        assert!(
            counts.unfinished() > 0,
            "{backend}: the run ended before kill {kills}"
        );
    }
    // A last worker finishes the run, picking up the dead workers' jobs after their
    // leases run out.
    let mut last = spawn_worker(&setup);
    wait_until_done(&queue, Duration::from_secs(120)).await;
    last.start_kill().unwrap();
    last.wait().await.unwrap();

    let counts = queue.counts().await.unwrap();
    assert_eq!(counts.succeeded, 1000, "{backend}: {counts:?}");
    let records = sandbox.records(common::object_of(vendor, "contact"));
    let emails: HashSet<&str> = records
        .iter()
        .filter_map(|r| {
            r.pointer("/properties/email")
                .or(r.pointer("/values/email_addresses/0/email_address"))
                .and_then(|v| v.as_str())
        })
        .collect();
    assert_eq!(records.len(), 1000, "{backend}: no duplicate, none lost");
    assert_eq!(emails.len(), 1000, "{backend}");
    // Some jobs were cut off by the kills and ran again (through the upsert).
    let mut rerun = 0;
    for id in &ids {
        if queue.job(id).await.unwrap().attempts > 1 {
            rerun += 1;
        }
    }
    assert!(rerun > 0, "{backend}: no job was interrupted by the kills");
    println!(
        "{backend} ({vendor}): 5 kills, {rerun} jobs ran again, {} requests, 1000 records, no duplicates",
        sandbox.request_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_five_times_lose_no_job_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("jobs.db").display());
    let builder = Queue::builder(&url, REGISTRY);
    crash_run("sqlite", &url, None, builder, Vendor::Attio, 60).await;
    match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let schema = format!("crash_{}", uuid::Uuid::new_v4().simple());
            let builder = Queue::builder(&url, REGISTRY).schema(&schema);
            crash_run("postgres", &url, Some(&schema), builder, Vendor::HubSpot, 1).await;
        }
        Err(_) => eprintln!("skipping the PostgreSQL crash run: DATABASE_URL is not set"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_share_the_jobs_and_the_rate_limit() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("skipping: DATABASE_URL is not set (three workers need PostgreSQL)");
        return;
    };
    let schema = format!("workers_{}", uuid::Uuid::new_v4().simple());
    let queue = Queue::builder(&url, REGISTRY)
        .schema(&schema)
        .connect()
        .await
        .unwrap();
    let sandbox = Sandbox::start(Vendor::Attio, TOKEN).await.unwrap();
    let record = sandbox.seed("people", 1).remove(0);
    // Attio's read budget, enforced per rolling second: over it, a 429.
    sandbox.enforce(Limit {
        requests: 100,
        window: Duration::from_secs(1),
        reads: Some(true),
    });
    let connection = common::connect(&sandbox, Vendor::Attio, TOKEN);
    queue
        .enqueue_many(
            &connection,
            "get_contact",
            (0..3000).map(|_| json!({"id": record})),
        )
        .await
        .unwrap();
    let setup = WorkerSetup {
        url: &url,
        schema: Some(&schema),
        sandbox: &sandbox,
        provider: "attio",
        lease_ms: 30_000,
        pacing: true,
    };
    let started = Instant::now();
    let mut workers: Vec<_> = (0..3).map(|_| spawn_worker(&setup)).collect();
    wait_until_done(&queue, Duration::from_secs(180)).await;
    let elapsed = started.elapsed();
    for worker in &mut workers {
        worker.start_kill().unwrap();
        worker.wait().await.unwrap();
    }
    let counts = queue.counts().await.unwrap();
    assert_eq!(counts.succeeded, 3000, "{counts:?}");
    let requests = sandbox.requests();
    let throttled = requests.iter().filter(|r| r.status == 429).count();
    let served = requests.iter().filter(|r| r.status == 200).count();
    if throttled > 0 {
        // Show the window that went over: when each of the last 101 requests arrived.
        let start = requests[0].received_at;
        for (index, _) in requests.iter().enumerate().filter(|(_, r)| r.status == 429) {
            let window: Vec<u128> = requests[index.saturating_sub(100)..=index]
                .iter()
                .map(|r| r.received_at.duration_since(start).as_millis())
                .collect();
            eprintln!("429 at request #{index}; arrivals (ms) before it: {window:?}");
        }
    }
    // Together within the one budget: no 429, and no job run twice.
    assert_eq!(throttled, 0);
    assert_eq!(served, 3000);
    // 3,000 reads at 100/s take about 30 s however many workers share them.
    assert!(elapsed >= Duration::from_secs(29), "{elapsed:?}");
    println!("3 workers, 3000 jobs in {elapsed:?}, {served} requests, {throttled} 429s");
}
