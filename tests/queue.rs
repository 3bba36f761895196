//! The durable queue: the same suite on SQLite (a file in a temp dir) and on
//! PostgreSQL (`DATABASE_URL`, a schema per test; skipped with a reason when unset).

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use unifold_providers::{Contact, REGISTRY};
use unifold_runtime::queue::{JobStatus, Queue, QueueBuilder, Webhook, verify_webhook};
use unifold_runtime::{Connection, ErrorCategory, Runtime};
use unifold_sandbox::{Fault, Vendor};

const TOKEN: &str = "queue-token";

/// A queue builder per available backend: SQLite always, PostgreSQL when configured.
fn backends(dir: &tempfile::TempDir) -> Vec<(&'static str, QueueBuilder)> {
    let mut found = vec![(
        "sqlite",
        Queue::builder(
            format!("sqlite:{}", dir.path().join("jobs.db").display()),
            REGISTRY,
        ),
    )];
    match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let schema = format!("queue_test_{}", uuid::Uuid::new_v4().simple());
            found.push(("postgres", Queue::builder(url, REGISTRY).schema(schema)));
        }
        Err(_) => eprintln!("skipping the PostgreSQL backend: DATABASE_URL is not set"),
    }
    found
}

fn person(n: usize) -> Value {
    json!({
        "last_name": format!("Person {n}"),
        "email_addresses": [{"email_address": format!("p{n}@example.com")}]
    })
}

/// Runs a worker in the background until the returned sender is dropped or fired.
fn start_worker(queue: &Queue, runtime: Runtime, connections: Vec<Connection>) -> StopWorker {
    let worker = queue.worker(runtime, move |id| {
        connections.iter().find(|c| c.id() == id).cloned()
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    StopWorker {
        stop: Some(stop),
        handle,
    }
}

struct StopWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), unifold_runtime::Error>>,
}

impl StopWorker {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.handle).await.unwrap().unwrap();
    }
}

fn unpaced() -> Runtime {
    Runtime::builder().pacing(false).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_in_the_background_and_report_their_output() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, builder) in backends(&dir) {
        let queue = builder.connect().await.unwrap();
        let (hubspot, hub) = common::start(Vendor::HubSpot, TOKEN).await;
        let (attio, _) = common::start(Vendor::Attio, TOKEN).await;
        // A second customer's connection: jobs find their connection by its id.
        let att = Connection::new(
            "customer-2",
            "attio",
            unifold_runtime::Credentials::bearer(TOKEN),
        )
        .with_origin(attio.url());
        let first = queue
            .enqueue(&hub, "create_contact", person(1))
            .await
            .unwrap();
        let second = queue
            .enqueue(&att, "create_contact", person(2))
            .await
            .unwrap();
        // Enqueued, not run: no worker yet.
        assert_eq!(queue.job(&first).await.unwrap().status, JobStatus::Queued);
        assert_eq!(hubspot.request_count(), 0);

        let worker = start_worker(&queue, unpaced(), vec![hub.clone(), att.clone()]);
        for (id, sandbox, object) in [(&first, &hubspot, "contacts"), (&second, &attio, "people")] {
            let job = queue.wait(id, Duration::from_secs(20)).await.unwrap();
            assert_eq!(job.status, JobStatus::Succeeded, "{backend}: {job:?}");
            assert_eq!(job.attempts, 1);
            let contact: Contact = job.output_as().unwrap().unwrap();
            assert!(contact.last_name.as_deref().unwrap().starts_with("Person"));
            let records = sandbox.records(object);
            assert_eq!(records.len(), 1, "{backend}");
            assert_eq!(
                records[0]["id"]
                    .as_str()
                    .or(records[0].pointer("/id/record_id").and_then(Value::as_str)),
                Some(contact.remote_id.as_str()),
                "{backend}"
            );
        }
        let counts = queue.counts().await.unwrap();
        assert_eq!((counts.succeeded, counts.unfinished()), (2, 0), "{backend}");
        worker.stop().await;
    }
}

#[tokio::test]
async fn bad_jobs_are_refused_at_enqueue_and_unknown_ids_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, builder) in backends(&dir) {
        let queue = builder.max_arguments_bytes(10_000).connect().await.unwrap();
        let (_sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
        let invalid = queue
            .enqueue(
                &connection,
                "create_contact",
                json!({"last_name": "L", "email_addresses": [{"email_address": "nope"}]}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            invalid.to_string(),
            "invalid input: email_addresses[0].email_address: `nope` is not a valid email address",
            "{backend}"
        );
        let bulk = queue
            .enqueue_many(
                &connection,
                "create_contact",
                [person(1), json!({"last_nam": "x"})],
            )
            .await
            .unwrap_err();
        assert!(
            bulk.to_string()
                .starts_with("invalid input: [1].last_nam: unknown field `last_nam`"),
            "{backend}: {bulk}"
        );
        let unknown = queue
            .enqueue(&connection, "create_contract", json!({}))
            .await
            .unwrap_err();
        assert_eq!(unknown.to_string(), "no action is named `create_contract`");
        let oversized = queue
            .enqueue(
                &connection,
                "create_contact",
                json!({"last_name": "x".repeat(20_000)}),
            )
            .await
            .unwrap_err();
        assert_eq!(oversized.category(), ErrorCategory::Validation);
        assert!(
            oversized
                .to_string()
                .contains("a job takes at most 10000 bytes of arguments"),
            "{oversized}"
        );
        // Nothing was stored: the bulk enqueue is all or nothing.
        assert_eq!(queue.counts().await.unwrap().queued, 0, "{backend}");
        let missing = queue.job("no-such-job").await.unwrap_err();
        assert_eq!(missing.to_string(), "no job has the id `no-such-job`");
        assert_eq!(missing.category(), ErrorCategory::NotFound);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_are_retried_with_backoff_and_final_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, builder) in backends(&dir) {
        let queue = builder
            .backoff(Duration::from_millis(300), Duration::from_secs(1))
            .max_attempts(3)
            .connect()
            .await
            .unwrap();
        let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
        let ids = sandbox.seed("contacts", 1);
        // The runtime makes 4 attempts per request: 4 503s fail the first job attempt.
        sandbox.inject_faults((0..4).map(|_| Fault::status(503)));
        let retried = queue
            .enqueue(&connection, "get_contact", json!({"id": ids[0]}))
            .await
            .unwrap();
        let worker = start_worker(&queue, unpaced(), vec![connection.clone()]);
        let job = queue.wait(&retried, Duration::from_secs(20)).await.unwrap();
        assert_eq!(job.status, JobStatus::Succeeded, "{backend}: {job:?}");
        assert_eq!(job.attempts, 2, "{backend}");
        // 4 requests of the failed attempt, then the one that succeeded.
        assert_eq!(sandbox.request_count(), 5);
        // Not retried at once: the second attempt waited for the backoff (at least half
        // of the 300 ms base).
        let gap = job.updated_at - job.created_at;
        assert!(gap >= chrono::Duration::milliseconds(150), "{gap:?}");
        let missing = queue
            .enqueue(&connection, "get_contact", json!({"id": "999999"}))
            .await
            .unwrap();
        // A 404 is final: one attempt, the typed error kept with status and body.
        let job = queue.wait(&missing, Duration::from_secs(20)).await.unwrap();
        assert_eq!(job.status, JobStatus::Failed, "{backend}");
        assert_eq!(job.attempts, 1);
        let error = job.error.unwrap();
        assert_eq!(error.category, "not_found");
        assert_eq!(error.status, Some(404));
        assert!(error.body.is_some_and(|body| !body.is_empty()));
        worker.stop().await;
    }
}

/// A webhook receiver: answers 500 to the first delivery, then 200; keeps what it got.
async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes, u16)>>>) {
    let seen: Arc<Mutex<Vec<(HeaderMap, Bytes, u16)>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                let status = if log.is_empty() { 500 } else { 200 };
                log.push((headers, body, status));
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_webhooks_are_signed_carry_the_result_and_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, builder) in backends(&dir) {
        let (url, seen) = receiver().await;
        let secret = "whsec_7f3c2a";
        let queue = builder
            .webhook(Webhook::new(&url, secret))
            .connect()
            .await
            .unwrap();
        let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
        let id = queue
            .enqueue(&connection, "create_contact", person(7))
            .await
            .unwrap();
        let worker = start_worker(&queue, unpaced(), vec![connection.clone()]);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while seen.lock().unwrap().len() < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend}: no second delivery"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        worker.stop().await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen.len(),
            2,
            "{backend}: delivered once acknowledged, not again"
        );
        for (headers, body, _) in &seen {
            verify_webhook(secret, headers, body).unwrap();
            assert_eq!(
                verify_webhook("wrong-secret", headers, body)
                    .unwrap_err()
                    .to_string(),
                "the signature does not match the body"
            );
        }
        let (headers, body, status) = &seen[1];
        assert_eq!(*status, 200);
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(payload["job_id"], id.as_str());
        assert_eq!(payload["status"], "succeeded");
        assert_eq!(payload["action"], "create_contact");
        // The result inline, not only an id to fetch.
        let record_id = sandbox.records("people")[0]
            .pointer("/id/record_id")
            .and_then(Value::as_str)
            .unwrap()
            .to_string();
        assert_eq!(payload["output"]["remote_id"], record_id.as_str());
        let signature = headers["unifold-signature"].to_str().unwrap();
        assert!(
            signature.starts_with("t=") && signature.contains(",v1="),
            "{signature}"
        );
        assert!(!String::from_utf8_lossy(body).contains(secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_customers_backlog_does_not_hold_up_another() {
    let dir = tempfile::tempdir().unwrap();
    let (_, builder) = backends(&dir).remove(0);
    let queue = builder.concurrency(8, 4).connect().await.unwrap();
    // Paced as Attio allows: 25 writes/s per connection.
    let runtime = Runtime::new().unwrap();
    let (busy_sandbox, busy) = common::start(Vendor::Attio, TOKEN).await;
    let (quiet_sandbox, _) = common::start(Vendor::Attio, TOKEN).await;
    let quiet = Connection::new(
        "customer-2",
        "attio",
        unifold_runtime::Credentials::bearer(TOKEN),
    )
    .with_origin(quiet_sandbox.url());
    queue
        .enqueue_many(&busy, "create_contact", (0..150).map(person))
        .await
        .unwrap();
    let quiet_jobs = queue
        .enqueue_many(&quiet, "create_contact", (1000..1005).map(person))
        .await
        .unwrap();
    let worker = start_worker(&queue, runtime, vec![busy.clone(), quiet.clone()]);
    for id in &quiet_jobs {
        let job = queue.wait(id, Duration::from_secs(30)).await.unwrap();
        assert_eq!(job.status, JobStatus::Succeeded);
    }
    // The quiet customer's jobs, queued behind 150 of the busy one's, are done while
    // most of the backlog still waits for its own connection's budget.
    let done = busy_sandbox.records("people").len();
    assert!(
        done < 100,
        "the busy connection had already finished {done} of 150"
    );
    assert_eq!(quiet_sandbox.records("people").len(), 5);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_creates_are_coalesced_into_the_providers_batch_requests() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, builder) in backends(&dir) {
        let queue = builder.connect().await.unwrap();
        let (hubspot, hub) = common::start(Vendor::HubSpot, TOKEN).await;
        let (salesforce, _) = common::start(Vendor::Salesforce, TOKEN).await;
        let sf = Connection::new(
            "customer-2",
            "salesforce",
            unifold_runtime::Credentials::bearer(TOKEN),
        )
        .with_origin(salesforce.url());
        let mut people: Vec<Value> = (0..1000).map(person).collect();
        // Valid for the queue, refused by HubSpot alone: only this job may fail.
        people[500]["remote_fields"] = json!({"no_such_field": "x"});
        let hub_jobs = queue
            .enqueue_many(&hub, "create_contact", people)
            .await
            .unwrap();
        let sf_jobs = queue
            .enqueue_many(&sf, "create_contact", (0..1000).map(person))
            .await
            .unwrap();
        let worker = start_worker(&queue, unpaced(), vec![hub.clone(), sf.clone()]);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while queue.counts().await.unwrap().unfinished() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend}: unfinished"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        worker.stop().await;
        let counts = queue.counts().await.unwrap();
        assert_eq!((counts.succeeded, counts.failed), (1999, 1), "{backend}");
        let failed = queue.job(&hub_jobs[500]).await.unwrap();
        assert_eq!(failed.status, JobStatus::Failed);
        let error = failed.error.unwrap();
        assert_eq!(error.category, "rejected", "{backend}");
        assert!(error.message.contains("no_such_field"), "{}", error.message);
        // Each job has its own record as output.
        let job = queue.job(&hub_jobs[999]).await.unwrap();
        let contact: Contact = job.output_as().unwrap().unwrap();
        assert_eq!(contact.email_addresses[0].email_address, "p999@example.com");
        let job = queue.job(&sf_jobs[0]).await.unwrap();
        let contact: Contact = job.output_as().unwrap().unwrap();
        assert_eq!(contact.email_addresses[0].email_address, "p0@example.com");
        assert_eq!(hubspot.records("contacts").len(), 999, "{backend}");
        assert_eq!(salesforce.records("Contact").len(), 1000, "{backend}");
        // 1,000 HubSpot creates in at most 11 requests (100 per batch/create), 1,000
        // Salesforce creates in 200-record collections, each read back in one query.
        let hub_requests = hubspot.request_count();
        assert!(
            hub_requests <= 11,
            "{backend}: {hub_requests} HubSpot requests"
        );
        let sf_requests = salesforce.request_count();
        assert!(
            sf_requests <= 12,
            "{backend}: {sf_requests} Salesforce requests"
        );
        println!(
            "{backend}: HubSpot {hub_requests} requests, Salesforce {sf_requests} for 1,000 creates each"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_jobs_take_the_actions_input_and_give_back_its_output() {
    use unifold_providers::typed::{CreateContact, DeleteContact, GetContact};
    use unifold_runtime::IdArguments;
    let dir = tempfile::tempdir().unwrap();
    let (_, builder) = backends(&dir).remove(0);
    let queue = builder.connect().await.unwrap();
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    let input = common::person(5);
    let created = queue
        .submit(&connection, CreateContact, &input)
        .await
        .unwrap();
    assert_eq!(queue.outcome(&created).await.unwrap(), None, "not run yet");
    let worker = start_worker(&queue, unpaced(), vec![connection.clone()]);
    queue
        .wait(created.as_str(), Duration::from_secs(20))
        .await
        .unwrap();
    let contact: Contact = queue.outcome(&created).await.unwrap().unwrap().unwrap();
    assert_eq!(contact.email_addresses[0].email_address, "p5@example.com");
    let missing = queue
        .submit(
            &connection,
            GetContact,
            &IdArguments {
                id: "999999".into(),
            },
        )
        .await
        .unwrap();
    let deleted = queue
        .submit(
            &connection,
            DeleteContact,
            &IdArguments {
                id: contact.remote_id.clone(),
            },
        )
        .await
        .unwrap();
    queue
        .wait(missing.as_str(), Duration::from_secs(20))
        .await
        .unwrap();
    queue
        .wait(deleted.as_str(), Duration::from_secs(20))
        .await
        .unwrap();
    let error = queue.outcome(&missing).await.unwrap().unwrap().unwrap_err();
    assert_eq!(
        (error.category.as_str(), error.status),
        ("not_found", Some(404))
    );
    let () = queue.outcome(&deleted).await.unwrap().unwrap().unwrap();
    assert!(sandbox.records("contacts").is_empty());
    worker.stop().await;
}
