//! 1,000 creates per provider against a sandbox that fails a third of all requests
//! (5xx, 429s, connection resets before and after the record is committed): every call
//! ends in a record or a typed error, none hangs, and after the application re-sends
//! the failed ones through `upsert_contact`, each provider holds exactly 1,000 contacts
//! with no duplicate.

mod common;

use futures_util::StreamExt;
use std::collections::HashSet;
use std::time::Duration;
use unifold_providers::{ContactInput, EmailAddress, create_contact, upsert_contact};
use unifold_runtime::Runtime;
use unifold_sandbox::{FaultPlan, Vendor};

const TOKEN: &str = "fault-token";
const CREATES: usize = 1000;

fn person(n: usize) -> ContactInput {
    ContactInput {
        last_name: Some(format!("Person {n}")),
        email_addresses: vec![EmailAddress {
            email_address: format!("person{n}@example.com"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn email_of(vendor: Vendor, record: &serde_json::Value) -> Option<String> {
    let pointer = match vendor {
        Vendor::HubSpot => "/properties/email",
        Vendor::Salesforce => "/Email",
        Vendor::Attio => "/values/email_addresses/0/email_address",
    };
    record
        .pointer(pointer)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_creates_through_faults_leave_a_thousand_records() {
    // Pacing off: the sandboxes do not enforce rate limits here, and HubSpot's
    // 10 requests/s would make this test take minutes.
    // A 1 s deadline per request: the sandbox's slow answers (2 s, after the record
    // is committed) time out, the other ambiguous failure besides a reset.
    let runtime = Runtime::builder()
        .pacing(false)
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    for (seed, vendor) in [
        (11, Vendor::HubSpot),
        (23, Vendor::Salesforce),
        (37, Vendor::Attio),
    ] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        sandbox.fault_plan(FaultPlan {
            seed,
            // Salesforce has no 429: its share of failures is all 5xx.
            server_error: if vendor == Vendor::Salesforce {
                0.30
            } else {
                0.20
            },
            throttle: if vendor == Vendor::Salesforce {
                0.0
            } else {
                0.10
            },
            reset_before: 0.025,
            reset_after: 0.025,
            slow: 0.01,
            slow_by: Duration::from_secs(2),
            retry_after: match vendor {
                Vendor::Attio => "Tue, 23 May 2023 14:42:01 GMT".into(),
                _ => "1".into(),
            },
        });
        let inputs: Vec<ContactInput> = (0..CREATES).map(person).collect();
        let outcomes: Vec<_> = futures_util::stream::iter(inputs.iter().enumerate())
            .map(|(n, input)| {
                let runtime = &runtime;
                let connection = &connection;
                async move {
                    let outcome = tokio::time::timeout(
                        Duration::from_secs(60),
                        create_contact(runtime, connection, input),
                    )
                    .await
                    .unwrap_or_else(|_| panic!("create {n} hung"));
                    (n, outcome)
                }
            })
            .buffer_unordered(50)
            .collect()
            .await;
        let mut failed: Vec<usize> = outcomes
            .iter()
            .filter(|(_, o)| o.is_err())
            .map(|(n, _)| *n)
            .collect();
        let first_pass_failures = failed.len();
        // What an application does with the typed errors: send those again, safely.
        for _round in 0..10 {
            if failed.is_empty() {
                break;
            }
            let mut still = Vec::new();
            for n in failed {
                if upsert_contact(&runtime, &connection, &inputs[n])
                    .await
                    .is_err()
                {
                    still.push(n);
                }
            }
            failed = still;
        }
        assert!(
            failed.is_empty(),
            "{}: {} creates never went through",
            vendor.name(),
            failed.len()
        );

        let records = sandbox.records(common::object_of(vendor, "contact"));
        let emails: HashSet<String> = records.iter().filter_map(|r| email_of(vendor, r)).collect();
        assert_eq!(
            records.len(),
            CREATES,
            "{}: no duplicates, none missing",
            vendor.name()
        );
        assert_eq!(emails.len(), CREATES, "{}", vendor.name());
        let faulted = sandbox
            .requests()
            .iter()
            .filter(|r| r.status == 503 || r.status == 429)
            .count();
        assert!(
            faulted > 200,
            "{}: the plan did inject failures ({faulted})",
            vendor.name()
        );
        println!(
            "{}: {CREATES} creates, {} requests, {faulted} answered 5xx/429, {first_pass_failures} typed errors re-sent through upsert",
            vendor.name(),
            sandbox.request_count()
        );
    }
}
