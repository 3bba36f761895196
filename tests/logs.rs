//! Every action invocation is an operation record and every HTTP request a child
//! record: stored in the queue's database (SQLite here, PostgreSQL when
//! `DATABASE_URL` is set), queryable by connection, action, time and failure, and
//! handed to hooks as it happens (each retry with its attempt, wait and reason).

mod common;

use std::sync::{Arc, Mutex};
use unifold_providers::{create_contact, create_contacts, get_contact, list_contacts};
use unifold_runtime::logs::{LogFilter, LogStore};
use unifold_runtime::{
    ListOptions, Observer, OperationRecord, Outcome, RequestRecord, RetryEvent, Runtime,
    TryStreamExt,
};
use unifold_sandbox::{Fault, Vendor};

const TOKEN: &str = "logs-token-7c1d";

use common::person;

/// Log stores to test: SQLite always, PostgreSQL when configured.
async fn stores(dir: &tempfile::TempDir) -> Vec<(&'static str, LogStore)> {
    let url = format!("sqlite:{}", dir.path().join("logs.db").display());
    let mut found = vec![("sqlite", LogStore::builder(url).connect().await.unwrap())];
    match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let schema = format!("logs_{}", uuid::Uuid::new_v4().simple());
            let store = LogStore::builder(url)
                .schema(schema)
                .connect()
                .await
                .unwrap();
            found.push(("postgres", store));
        }
        Err(_) => eprintln!("skipping the PostgreSQL log store: DATABASE_URL is not set"),
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_and_their_requests_are_stored_and_queryable() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, store) in stores(&dir).await {
        let runtime = Runtime::builder()
            .pacing(false)
            .log_body_limit(120)
            .logs(store.clone())
            .build()
            .unwrap();
        let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
        let before = chrono::Utc::now() - chrono::Duration::seconds(1);

        let created = create_contact(&runtime, &connection, &person(1))
            .await
            .unwrap();
        // A 503 on create: the create is retried through the upsert, a child action.
        sandbox.inject_faults([Fault::status(503)]);
        let retried = create_contact(&runtime, &connection, &person(2))
            .await
            .unwrap();
        // A read retried after a 502, then a failure.
        sandbox.inject_faults([Fault::status(502)]);
        get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        let missing = get_contact(&runtime, &connection, "999999")
            .await
            .unwrap_err();
        let listed: Vec<_> = list_contacts(&runtime, &connection, &ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        let batch = create_contacts(&runtime, &connection, &[person(3), person(4)]).await;
        assert!(batch.iter().all(Result::is_ok));
        store.flush().await;

        let all = store
            .query(&LogFilter {
                connection_id: Some("customer-1".into()),
                since: Some(before),
                ..LogFilter::default()
            })
            .await
            .unwrap();
        let actions: Vec<&str> = all
            .iter()
            .rev()
            .map(|op| op.operation.action.as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "create_contact",
                "create_contact",
                "upsert_contact",
                "get_contact",
                "get_contact",
                "list_contacts",
                "create_contacts"
            ],
            "{backend}: each action once, a child after its parent"
        );

        // The first create: one request, 201, its body cut to the limit.
        let first = &all[6];
        assert_eq!(
            first.operation.outcome,
            Outcome::Succeeded {
                summary: serde_json::json!({"remote_id": created.remote_id})
            }
        );
        assert_eq!(first.operation.input["last_name"], "Person 1");
        assert_eq!(first.requests.len(), 1, "{backend}");
        let request = &first.requests[0];
        assert_eq!(
            (request.method.as_str(), request.status, request.attempt),
            ("POST", Some(201), 1)
        );
        assert_eq!(
            request.url,
            format!("{}/crm/v3/objects/contacts", sandbox.url())
        );
        assert!(
            request
                .response_body
                .as_deref()
                .unwrap()
                .ends_with(" bytes)"),
            "{request:?}"
        );
        assert!(
            request
                .rate_limit
                .iter()
                .any(|(name, _)| name == "x-hubspot-ratelimit-remaining"),
            "{:?}",
            request.rate_limit
        );

        // The create that hit a 503 and its upsert: parent and child.
        let (outer, inner) = (&all[5], &all[4]);
        assert_eq!(outer.operation.action, "create_contact");
        assert_eq!(inner.operation.action, "upsert_contact");
        assert_eq!(
            inner.operation.parent_id.as_deref(),
            Some(outer.operation.id.as_str())
        );
        assert_eq!(
            outer.requests.iter().map(|r| r.status).collect::<Vec<_>>(),
            [Some(503)]
        );
        assert_eq!(
            outer.operation.outcome,
            Outcome::Succeeded {
                summary: serde_json::json!({"remote_id": retried.remote_id})
            }
        );

        // The retried read: two attempts of one request.
        let read = &all[3];
        let attempts: Vec<(Option<u16>, u32)> = read
            .requests
            .iter()
            .map(|r| (r.status, r.attempt))
            .collect();
        assert_eq!(attempts, [(Some(502), 1), (Some(200), 2)], "{backend}");
        assert_eq!((read.operation.requests, read.operation.attempts), (2, 2));

        // The failure, with its typed category and status.
        let failed = store
            .query(&LogFilter {
                failed: true,
                since: Some(before),
                ..LogFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1, "{backend}");
        match &failed[0].operation.outcome {
            Outcome::Failed {
                category,
                message,
                status,
            } => {
                assert_eq!((category.as_str(), *status), ("not_found", Some(404)));
                assert_eq!(message, &missing.to_string());
            }
            other => panic!("{other:?}"),
        }
        // The list is one action over its pages; the batch one over its request.
        assert_eq!(
            all[1].operation.outcome,
            Outcome::Succeeded {
                summary: serde_json::json!({"count": 2})
            }
        );
        assert_eq!(
            all[0].operation.outcome,
            Outcome::Succeeded {
                summary: serde_json::json!({"succeeded": 2, "failed": 0})
            }
        );
        assert_eq!(
            all[0].requests[0].url,
            format!("{}/crm/v3/objects/contacts/batch/create", sandbox.url())
        );

        let by_action = store
            .query(&LogFilter {
                action: Some("get_contact".into()),
                since: Some(before),
                ..LogFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(by_action.len(), 2);
        let later = store
            .query(&LogFilter {
                since: Some(chrono::Utc::now() + chrono::Duration::seconds(5)),
                ..LogFilter::default()
            })
            .await
            .unwrap();
        assert!(later.is_empty());
    }
}

#[derive(Default)]
struct Hooks {
    retries: Mutex<Vec<RetryEvent>>,
    requests: Mutex<Vec<RequestRecord>>,
    actions: Mutex<Vec<OperationRecord>>,
}

impl Observer for Hooks {
    fn action_finished(&self, record: &OperationRecord) {
        self.actions.lock().unwrap().push(record.clone());
    }
    fn request_finished(&self, record: &RequestRecord) {
        self.requests.lock().unwrap().push(record.clone());
    }
    fn retrying(&self, event: &RetryEvent) {
        self.retries.lock().unwrap().push(event.clone());
    }
}

#[tokio::test]
async fn hooks_see_every_attempt_with_its_wait_and_reason() {
    let hooks = Arc::new(Hooks::default());
    let runtime = Runtime::builder()
        .pacing(false)
        .observer(hooks.clone())
        .build()
        .unwrap();
    let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
    let created = create_contact(&runtime, &connection, &person(1))
        .await
        .unwrap();
    sandbox.inject_faults([Fault::status(503), Fault::status(429).retry_after("1")]);
    get_contact(&runtime, &connection, &created.remote_id)
        .await
        .unwrap();

    let retries = hooks.retries.lock().unwrap().clone();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert_eq!(retries[0].attempt, 1);
    assert!(
        retries[0].reason.contains("HTTP 503"),
        "{}",
        retries[0].reason
    );
    assert_eq!(retries[1].attempt, 2);
    assert!(
        retries[1].reason.contains("rate-limited"),
        "{}",
        retries[1].reason
    );
    // Attio's Retry-After: the wait the provider asked for.
    assert_eq!(retries[1].wait_ms, 1000);
    let get = hooks.actions.lock().unwrap().last().cloned().unwrap();
    assert_eq!(get.action, "get_contact");
    assert_eq!(retries[0].operation_id.as_deref(), Some(get.id.as_str()));
    let statuses: Vec<Option<u16>> = hooks
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.operation_id.as_deref() == Some(get.id.as_str()))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [Some(503), Some(429), Some(200)]);
}

#[tokio::test]
async fn the_cli_prints_the_log_as_a_table_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("logs.db").display());
    let store = LogStore::builder(&url).connect().await.unwrap();
    let runtime = Runtime::builder()
        .pacing(false)
        .logs(store.clone())
        .build()
        .unwrap();
    let (_sandbox, connection) = common::start(Vendor::Salesforce, TOKEN).await;
    create_contact(&runtime, &connection, &person(1))
        .await
        .unwrap();
    get_contact(&runtime, &connection, "003000000000001AAA")
        .await
        .unwrap_err();
    store.flush().await;

    let binary = cli_binary();
    let table = std::process::Command::new(&binary)
        .args([
            "logs",
            "--store",
            &url,
            "--connection",
            "customer-1",
            "--since",
            "1h",
            "--requests",
        ])
        .output()
        .unwrap();
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("started (UTC)"), "{text}");
    assert!(
        text.contains("salesforce  create_contact  ok 003"),
        "{text}"
    );
    assert!(text.contains("FAILED not_found (HTTP 404)"), "{text}");
    assert!(text.contains("POST http://127.0.0.1:"), "{text}");
    assert!(!text.contains(TOKEN));

    let failed = std::process::Command::new(&binary)
        .args(["logs", "--store", &url, "--failed", "--json"])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(failed.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["action"], "get_contact");
    assert_eq!(lines[0]["outcome"]["category"], "not_found");
    assert_eq!(lines[0]["requests"][0]["status"], 404);

    let bad = std::process::Command::new(&binary)
        .args(["logs", "--store", &url, "--since", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`yesterday` is not a duration"));
}

/// The `unifold` binary, built beside this test by `cargo test --workspace`.
fn cli_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = debug.join("unifold");
    if !binary.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "unifold-cli"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    binary
}
