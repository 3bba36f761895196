//! Pacing: each connection spends its provider's declared budget (`rate_limits:` in
//! `provider.yaml`) evenly, so a sandbox enforcing the same budget never answers 429,
//! and connections do not slow each other.

mod common;

use std::time::{Duration, Instant};
use unifold_providers::{ContactInput, create_contact};
use unifold_runtime::Runtime;
use unifold_sandbox::{Limit, Sandbox, Vendor};

const TOKEN: &str = "pacing-token";

use common::person;

/// An Attio sandbox enforcing Attio's 25 writes per second.
async fn attio() -> (Sandbox, unifold_runtime::Connection) {
    let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
    sandbox.enforce(Limit {
        requests: 25,
        window: Duration::from_secs(1),
        reads: Some(false),
    });
    (sandbox, connection)
}

async fn create_many(runtime: &Runtime, connection: &unifold_runtime::Connection, count: usize) {
    let inputs: Vec<ContactInput> = (0..count).map(person).collect();
    let calls = inputs
        .iter()
        .map(|input| create_contact(runtime, connection, input));
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
}

fn throttled(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count()
}

#[tokio::test]
async fn concurrent_creates_on_one_connection_never_meet_a_429() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = attio().await;
    let started = Instant::now();
    create_many(&runtime, &connection, 60).await;
    assert_eq!(throttled(&sandbox), 0);
    assert_eq!(sandbox.request_count(), 60);
    assert_eq!(sandbox.records("people").len(), 60);
    // 60 writes at 25/s take at least 2.3 s.
    assert!(
        started.elapsed() >= Duration::from_millis(2300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn without_pacing_the_same_burst_is_throttled() {
    // The control: the sandbox does enforce the limit (and retries then absorb it).
    let runtime = Runtime::builder().pacing(false).build().unwrap();
    let (sandbox, connection) = attio().await;
    create_many(&runtime, &connection, 60).await;
    assert!(throttled(&sandbox) > 0);
    assert_eq!(sandbox.records("people").len(), 60);
}

#[tokio::test]
async fn connections_do_not_slow_each_other() {
    let runtime = Runtime::new().unwrap();
    let one_alone = {
        let (_sandbox, alone) = attio().await;
        let started = Instant::now();
        create_many(&runtime, &alone, 40).await;
        started.elapsed()
    };
    // Two customers' accounts, each with its own budget, used at once.
    let (first, one) = attio().await;
    let (second, _) = attio().await;
    let two = unifold_runtime::Connection::new(
        "customer-2",
        "attio",
        unifold_runtime::Credentials::bearer(TOKEN),
    )
    .with_origin(second.url());
    let started = Instant::now();
    tokio::join!(
        create_many(&runtime, &one, 40),
        create_many(&runtime, &two, 40)
    );
    let together = started.elapsed();
    assert_eq!(throttled(&first) + throttled(&second), 0);
    assert_eq!(
        first.records("people").len() + second.records("people").len(),
        80
    );
    // Together they take about as long as one alone, not twice as long.
    assert!(
        together < one_alone.mul_f64(1.5),
        "one alone {one_alone:?}, two together {together:?}"
    );
}

#[tokio::test]
async fn a_budget_spent_by_another_client_pauses_the_connection_instead_of_429s() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    sandbox.enforce(Limit {
        requests: 100,
        window: Duration::from_secs(10),
        reads: None,
    });
    // Another app of the same account spends 99 of the 100 requests of the window.
    let other = reqwest::Client::new();
    let url = format!("{}/crm/v3/objects/contacts/1", sandbox.url());
    for _ in 0..99 {
        other.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    }
    // Our request is the 100th: it succeeds, and HubSpot reports 0 remaining...
    let error = unifold_providers::get_contact(&runtime, &connection, "1")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
    // ...so the next one waits for the window instead of being throttled.
    let started = Instant::now();
    let _ = unifold_providers::get_contact(&runtime, &connection, "1").await;
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(throttled(&sandbox), 0);
}

/// A HubSpot sandbox enforcing a Professional account's 190 requests per rolling 10 s.
async fn hubspot_professional(id: &str) -> (Sandbox, unifold_runtime::Connection) {
    let sandbox = Sandbox::start(Vendor::HubSpot, TOKEN).await.unwrap();
    sandbox.enforce(Limit {
        requests: 190,
        window: Duration::from_secs(10),
        reads: None,
    });
    let connection = unifold_runtime::Connection::new(
        id,
        "hubspot",
        unifold_runtime::Credentials::bearer(TOKEN),
    )
    .with_origin(sandbox.url())
    .with_config("plan", "professional");
    (sandbox, connection)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_hubspot_creates_per_connection_meet_no_429() {
    // Two customers, each firing 500 creates at once on one connection. The `plan`
    // setting selects HubSpot's Professional budget (`requests_by` in provider.yaml).
    let runtime = Runtime::new().unwrap();
    let (first, one) = hubspot_professional("customer-1").await;
    let (second, two) = hubspot_professional("customer-2").await;
    let started = Instant::now();
    tokio::join!(
        create_many(&runtime, &one, 500),
        create_many(&runtime, &two, 500)
    );
    let elapsed = started.elapsed();
    for sandbox in [&first, &second] {
        assert_eq!(throttled(sandbox), 0);
        assert_eq!(sandbox.request_count(), 500);
        assert_eq!(sandbox.records("contacts").len(), 500);
    }
    // One connection alone needs 500 / 19 per s ≈ 26.3 s; run side by side, the two
    // take about that long, not twice as long.
    assert!(
        elapsed >= Duration::from_secs(25) && elapsed < Duration::from_secs(36),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn a_spent_salesforce_allocation_stops_requests_before_they_are_sent() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::Salesforce, TOKEN).await;
    // The org's other integrations used 14,993 of its 15,000 daily requests; this
    // connection leaves 5 of them unused.
    sandbox.use_daily_requests(14_993);
    let connection = connection.with_quota_reserve(5);
    create_contact(&runtime, &connection, &person(1))
        .await
        .unwrap();
    let requests = sandbox.request_count();
    // The create and its read-back: Sforce-Limit-Info said 14,995/15,000, which
    // leaves only the reserve, so the next call is refused without a request.
    assert_eq!(requests, 2);
    let error = create_contact(&runtime, &connection, &person(2))
        .await
        .unwrap_err();
    assert_eq!(
        error.category(),
        unifold_runtime::ErrorCategory::QuotaExhausted
    );
    let expected = format!(
        "salesforce's request quota is spent (not sent): {} of 15000 requests of the allocation are used and connection customer-1 keeps 5 in reserve; resets in 3",
        14_993 + requests
    );
    assert!(error.to_string().starts_with(&expected), "{error}");
    assert_eq!(error.status(), None);
    assert_eq!(sandbox.request_count(), requests);
    assert_eq!(sandbox.records("Contact").len(), 1);
}

#[tokio::test]
async fn salesforce_refusing_the_spent_allocation_is_a_quota_error_and_not_retried() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::Salesforce, TOKEN).await;
    sandbox.use_daily_requests(15_000);
    let error = create_contact(&runtime, &connection, &person(1))
        .await
        .unwrap_err();
    assert_eq!(
        error.category(),
        unifold_runtime::ErrorCategory::QuotaExhausted
    );
    assert_eq!(error.status(), Some(403));
    assert_eq!(sandbox.request_count(), 1);
    // The 403 carried the usage header too: the next call is not sent at all.
    let again = get_contact_error(&runtime, &connection).await;
    assert_eq!(
        again.category(),
        unifold_runtime::ErrorCategory::QuotaExhausted
    );
    assert_eq!(again.status(), None);
    assert_eq!(sandbox.request_count(), 1);
}

async fn get_contact_error(
    runtime: &Runtime,
    connection: &unifold_runtime::Connection,
) -> unifold_runtime::Error {
    unifold_providers::get_contact(runtime, connection, "003000000000001AAA")
        .await
        .unwrap_err()
}
