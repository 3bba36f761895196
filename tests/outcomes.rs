//! Every outcome known, through a fault-injecting proxy of our own (not the sandboxes'
//! fault plans) between the runtime and each sandbox: a write that happened is never
//! reported as a plain failure, 429s and 503s with `Retry-After` are waited out on
//! every retry path, and 300 concurrent creates per provider, re-sent as the README
//! says, leave exactly 300 records.

mod common;

use common::fault_proxy::{Fault, FaultMix, FaultProxy};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use unifold_providers::{ContactInput, create_contact, get_contact, upsert_contact};
use unifold_runtime::queue::{JobStatus, Queue};
use unifold_runtime::{Connection, Credentials, Error, ErrorCategory, Runtime, Written};
use unifold_sandbox::{Sandbox, Vendor};

const TOKEN: &str = "outcome-token";
const CREATES: usize = 300;

/// A sandbox, a proxy in front of it, and a connection through the proxy.
async fn behind_proxy(vendor: Vendor, mix: FaultMix) -> (Sandbox, FaultProxy, Connection) {
    let sandbox = Sandbox::start(vendor, TOKEN).await.expect("sandbox starts");
    let proxy = FaultProxy::start(&sandbox.url(), mix).await;
    let connection = Connection::new("customer-1", vendor.name(), Credentials::bearer(TOKEN))
        .with_origin(proxy.url());
    (sandbox, proxy, connection)
}

/// Pacing off (the sandboxes do not enforce budgets here) and a 1 s deadline, so the
/// proxy's late answers time out.
fn runtime() -> Runtime {
    Runtime::builder()
        .pacing(false)
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap()
}

/// Each stored contact's email and id, as the sandbox keeps them.
fn stored_contacts(sandbox: &Sandbox, vendor: Vendor) -> Vec<(String, String)> {
    let (email, id) = match vendor {
        Vendor::HubSpot => ("/properties/email", "/id"),
        Vendor::Salesforce => ("/Email", "/Id"),
        Vendor::Attio => ("/values/email_addresses/0/email_address", "/id/record_id"),
    };
    let text = |record: &Value, pointer: &str| {
        record
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    sandbox
        .records(common::object_of(vendor, "contact"))
        .iter()
        .map(|record| {
            (
                text(record, email).unwrap_or_default(),
                text(record, id).unwrap_or_default(),
            )
        })
        .collect()
}

fn email(n: usize) -> String {
    format!("p{n}@example.com")
}

/// Nearly a third of all requests fail, every kind of fault in the mix.
fn faulty(seed: u64) -> FaultMix {
    FaultMix {
        seed,
        weights: vec![
            (Fault::Pass, 56),
            (Fault::ResetBefore, 3),
            (Fault::ResetAfter, 3),
            (Fault::BadGateway, 3),
            (Fault::Unavailable, 3),
            (Fault::TooManyRequests, 3),
            (Fault::Slow, 2),
            (Fault::HalfBody, 3),
            (Fault::NotJson, 4),
        ],
        retry_after: "1".into(),
        delay: Duration::from_millis(1500),
    }
}

/// 300 creates, 16 at a time, through the faulty proxy; then the README's recipe.
async fn three_hundred_creates(vendor: Vendor, seed: u64) {
    let started = Instant::now();
    let (sandbox, proxy, connection) = behind_proxy(vendor, faulty(seed)).await;
    let runtime = runtime();
    let inputs: Vec<ContactInput> = (0..CREATES).map(common::person).collect();
    let outcomes: Vec<(usize, Result<_, Error>)> =
        futures_util::stream::iter(inputs.iter().enumerate())
            .map(|(n, input)| {
                let (runtime, connection) = (&runtime, &connection);
                async move {
                    // No call without an outcome.
                    let outcome = tokio::time::timeout(
                        Duration::from_secs(60),
                        create_contact(runtime, connection, input),
                    )
                    .await
                    .unwrap_or_else(|_| panic!("{}: create {n} hung", vendor.name()));
                    (n, outcome)
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;

    // Every outcome tells the truth about the sandbox's state.
    let stored: HashMap<String, String> = stored_contacts(&sandbox, vendor).into_iter().collect();
    let mut resend = Vec::new();
    let mut told = HashMap::<&str, usize>::new();
    for (n, outcome) in &outcomes {
        let existing = stored.get(&email(*n));
        match outcome {
            Ok(contact) => assert_eq!(existing, Some(&contact.remote_id), "{}", vendor.name()),
            Err(error) => {
                match (error.written(), existing) {
                    (Written::No, Some(id)) => panic!(
                        "{}: create {n} failed with `{error}` but record {id} exists",
                        vendor.name()
                    ),
                    (Written::Yes(written), existing) => {
                        assert_eq!(existing.map(String::as_str), Some(written), "{error}");
                        assert!(error.to_string().contains(written), "{error}");
                        *told.entry("written, with id").or_default() += 1;
                        // The record exists: nothing to send again.
                        continue;
                    }
                    (Written::Maybe, _) => {
                        assert!(error.is_ambiguous(), "{error}");
                        *told.entry("maybe written").or_default() += 1;
                    }
                    (Written::No, None) => *told.entry("not written").or_default() += 1,
                }
                resend.push(*n);
            }
        }
    }
    let first_pass_failures = outcomes.iter().filter(|(_, o)| o.is_err()).count();

    // The README's recipe: send the failed ones again through `upsert_contact` (safe
    // whether or not the first attempt wrote).
    for _round in 0..10 {
        if resend.is_empty() {
            break;
        }
        let mut still = Vec::new();
        for n in resend {
            if let Err(error) = upsert_contact(&runtime, &connection, &inputs[n]).await
                && error.written_id().is_none()
            {
                still.push(n);
            }
        }
        resend = still;
    }
    assert!(
        resend.is_empty(),
        "{}: {resend:?} never went through",
        vendor.name()
    );

    let stored = stored_contacts(&sandbox, vendor);
    let emails: HashSet<&str> = stored.iter().map(|(email, _)| email.as_str()).collect();
    assert_eq!(
        stored.len(),
        CREATES,
        "{}: no duplicate, none missing",
        vendor.name()
    );
    assert_eq!(emails.len(), CREATES, "{}", vendor.name());
    for fault in Fault::ALL {
        assert!(
            proxy.count(fault) > 0,
            "{}: the proxy never injected {fault:?}",
            vendor.name()
        );
    }
    println!(
        "{}: {CREATES} creates, {} requests through the proxy ({} faulted), {first_pass_failures} errors on the first pass {told:?}, {:.1} s",
        vendor.name(),
        proxy.exchanges().len(),
        proxy
            .exchanges()
            .iter()
            .filter(|e| e.fault != Fault::Pass)
            .count(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_three_hundred_creates_through_faults_leave_three_hundred_records() {
    three_hundred_creates(Vendor::HubSpot, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_three_hundred_creates_through_faults_leave_three_hundred_records() {
    three_hundred_creates(Vendor::Salesforce, 23).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attio_three_hundred_creates_through_faults_leave_three_hundred_records() {
    three_hundred_creates(Vendor::Attio, 37).await;
}

/// The gap between each refused request (a 429 or 503 with `Retry-After: 1`) and the
/// request after it.
fn gaps_after_refusals(proxy: &FaultProxy) -> Vec<Duration> {
    let exchanges = proxy.exchanges();
    exchanges
        .windows(2)
        .filter(|pair| matches!(pair[0].fault, Fault::Unavailable | Fault::TooManyRequests))
        .map(|pair| pair[1].received.duration_since(pair[0].answered))
        .collect()
}

fn assert_waited(proxy: &FaultProxy, refusals: usize, path: &str) {
    let gaps = gaps_after_refusals(proxy);
    assert_eq!(gaps.len(), refusals, "{path}: {:?}", proxy.exchanges());
    for gap in gaps {
        assert!(
            gap >= Duration::from_secs(1),
            "{path}: sent again after {gap:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_from_any_provider_is_a_rate_limit_and_is_waited_out() {
    let runtime = runtime();
    for vendor in Vendor::ALL {
        let (sandbox, proxy, connection) = behind_proxy(vendor, FaultMix::none()).await;
        // Salesforce's provider.yaml has no 429 rule: the runtime's default applies.
        proxy.script([Fault::TooManyRequests, Fault::Unavailable]);
        create_contact(&runtime, &connection, &common::person(1))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            stored_contacts(&sandbox, vendor).len(),
            1,
            "{}",
            vendor.name()
        );
        assert_waited(&proxy, 2, vendor.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_waited_out_on_request_create_and_batch_retries() {
    let runtime = runtime();
    // A read's own retries.
    let (_sandbox, proxy, connection) = behind_proxy(Vendor::HubSpot, FaultMix::none()).await;
    let created = create_contact(&runtime, &connection, &common::person(1))
        .await
        .unwrap();
    proxy.script([Fault::Unavailable]);
    get_contact(&runtime, &connection, &created.remote_id)
        .await
        .unwrap();
    assert_waited(&proxy, 1, "a read");

    // The create -> upsert retry: Salesforce's create is committed, its read-back
    // refused four times (the runtime's attempts), and the create then goes again
    // through the upsert key, after the wait the last refusal asked for.
    let (sandbox, proxy, connection) = behind_proxy(Vendor::Salesforce, FaultMix::none()).await;
    proxy.script([Fault::Pass].into_iter().chain([Fault::TooManyRequests; 4]));
    let contact = create_contact(&runtime, &connection, &common::person(2))
        .await
        .unwrap();
    let stored = stored_contacts(&sandbox, Vendor::Salesforce);
    assert_eq!(stored, [(email(2), contact.remote_id.clone())]);
    assert_waited(&proxy, 4, "the create's retry through its upsert key");

    // A batch request.
    let (sandbox, proxy, connection) = behind_proxy(Vendor::HubSpot, FaultMix::none()).await;
    proxy.script([Fault::Unavailable]);
    let inputs: Vec<ContactInput> = (10..15).map(common::person).collect();
    let outcomes = unifold_providers::create_contacts(&runtime, &connection, &inputs).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(stored_contacts(&sandbox, Vendor::HubSpot).len(), 5);
    assert_waited(&proxy, 1, "a batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_read_back_fails_names_the_record_it_wrote() {
    let runtime = runtime();
    let (sandbox, proxy, connection) = behind_proxy(
        Vendor::Salesforce,
        FaultMix {
            // Beyond the policy's 10 s cap: returned, not slept.
            retry_after: "20".into(),
            ..FaultMix::none()
        },
    )
    .await;
    proxy.script([Fault::Pass, Fault::TooManyRequests]);
    let error = create_contact(&runtime, &connection, &common::person(3))
        .await
        .unwrap_err();
    let stored = stored_contacts(&sandbox, Vendor::Salesforce);
    assert_eq!(stored.len(), 1);
    let id = &stored[0].1;
    assert_eq!(
        error.to_string(),
        format!(
            "salesforce has record {id}, then reading it back failed: salesforce rate-limited the request (HTTP 429); retry after 20 s"
        )
    );
    assert_eq!(error.category(), ErrorCategory::AfterWrite);
    assert_eq!(error.written(), Written::Yes(id));
    assert!(!error.is_ambiguous());
    assert_eq!(error.status(), Some(429));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(error.failure().category(), ErrorCategory::RateLimited);
    // What the caller does with it: the record is there.
    let read = get_contact(&runtime, &connection, id).await.unwrap();
    assert_eq!(read.email_addresses[0].email_address, email(3));
    assert_eq!(proxy.exchanges().len(), 3, "the create was not sent twice");
}

/// An opportunity each provider accepts (its own stage names).
fn deal(vendor: Vendor) -> unifold_providers::OpportunityInput {
    let stage = match vendor {
        Vendor::HubSpot => "appointmentscheduled",
        Vendor::Salesforce => "Prospecting",
        Vendor::Attio => "Lead",
    };
    unifold_providers::OpportunityInput {
        name: Some("Engine".into()),
        stage: Some(stage.into()),
        close_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_answered_with_an_unreadable_body_is_maybe_written() {
    let runtime = runtime();
    for vendor in Vendor::ALL {
        let (sandbox, proxy, connection) = behind_proxy(vendor, FaultMix::none()).await;
        // Opportunities have no upsert key: the create is not re-sent, and its error
        // says it may have written.
        proxy.script([Fault::NotJson]);
        let error = unifold_providers::create_opportunity(&runtime, &connection, &deal(vendor))
            .await
            .unwrap_err();
        assert!(error.is_ambiguous(), "{}: {error}", vendor.name());
        assert_eq!(error.written(), Written::Maybe);
        assert!(
            error.to_string().starts_with(&format!(
                "{} may have written the record, then reading its answer failed: unexpected response from {} (HTTP 200): the body is not JSON",
                vendor.name(),
                vendor.name()
            )),
            "{error}"
        );
        let deals = sandbox.records(common::object_of(vendor, "opportunity"));
        assert_eq!(deals.len(), 1, "{}: it was written", vendor.name());
        assert_eq!(proxy.exchanges().len(), 1, "{}", vendor.name());
    }
}

fn sqlite_queue(dir: &tempfile::TempDir) -> unifold_runtime::queue::QueueBuilder {
    Queue::builder(
        format!("sqlite:{}", dir.path().join("jobs.db").display()),
        unifold_providers::REGISTRY,
    )
    .backoff(Duration::from_millis(10), Duration::from_millis(100))
    .poll_interval(Duration::from_millis(20))
}

async fn run_job(
    queue: &Queue,
    connection: &Connection,
    action: &str,
    arguments: Value,
) -> unifold_runtime::queue::Job {
    let id = queue.enqueue(connection, action, arguments).await.unwrap();
    let worker_connection = connection.clone();
    let worker = queue.worker(runtime(), move |_| Some(worker_connection.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let job = queue.wait(&id, Duration::from_secs(30)).await.unwrap();
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_jobs_wait_out_retry_after_and_never_create_twice() {
    let dir = tempfile::tempdir().unwrap();
    let queue = sqlite_queue(&dir).max_attempts(3).connect().await.unwrap();

    // A job attempt that ends rate-limited (the runtime's four attempts all refused)
    // runs again only after the wait the provider asked for.
    let (_sandbox, proxy, connection) = behind_proxy(Vendor::HubSpot, FaultMix::none()).await;
    let created = create_contact(&runtime(), &connection, &common::person(1))
        .await
        .unwrap();
    proxy.script([Fault::TooManyRequests; 4]);
    let job = run_job(
        &queue,
        &connection,
        "get_contact",
        json!({"id": created.remote_id}),
    )
    .await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 2);
    assert_waited(&proxy, 4, "a queued job");

    // A create that may have written (a committed create answered with a body that is
    // not JSON, then every retry cut off) runs again only through its upsert.
    let (sandbox, proxy, connection) = behind_proxy(Vendor::Attio, FaultMix::none()).await;
    proxy.script([Fault::NotJson].into_iter().chain([Fault::ResetBefore; 3]));
    let job = run_job(
        &queue,
        &connection,
        "create_contact",
        serde_json::to_value(common::person(2)).unwrap(),
    )
    .await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 2);
    let stored = stored_contacts(&sandbox, Vendor::Attio);
    assert_eq!(stored.len(), 1, "never created twice");
    assert_eq!(job.output.unwrap()["remote_id"], json!(stored[0].1));

    // Without an upsert key, such a job fails at once, saying it may have written.
    let (sandbox, proxy, connection) = behind_proxy(Vendor::Attio, FaultMix::none()).await;
    proxy.script([Fault::NotJson]);
    let job = run_job(
        &queue,
        &connection,
        "create_opportunity",
        serde_json::to_value(deal(Vendor::Attio)).unwrap(),
    )
    .await;
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    assert_eq!(job.attempts, 1);
    let error = job.error.unwrap();
    assert_eq!(error.category, "after_write");
    assert!(
        error
            .message
            .starts_with("attio may have written the record"),
        "{}",
        error.message
    );
    assert_eq!(sandbox.records("deals").len(), 1);
    assert_eq!(proxy.exchanges().len(), 1);
}
