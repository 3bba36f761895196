//! Retries as each provider's `retry:` section declares them, against sandboxes that
//! answer injected failures with the vendors' bodies and `Retry-After` headers.

mod common;

use std::time::{Duration, Instant};
use unifold_providers::{ContactInput, EmailAddress, create_contact, get_contact};
use unifold_runtime::{ErrorCategory, Runtime};
use unifold_sandbox::{Fault, Vendor};

const TOKEN: &str = "retry-token";

fn ada(n: usize) -> ContactInput {
    ContactInput {
        last_name: Some("Lovelace".into()),
        email_addresses: vec![EmailAddress {
            email_address: format!("ada{n}@example.com"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn reads_are_retried_through_server_errors() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let created = create_contact(&runtime, &connection, &ada(1))
            .await
            .unwrap();
        sandbox.reset_log();
        sandbox.inject_faults([Fault::status(503), Fault::status(502)]);
        let fetched = get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(fetched.remote_id, created.remote_id);
        let statuses: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
        assert_eq!(statuses, [503, 502, 200], "{}", vendor.name());
    }
}

#[tokio::test]
async fn a_create_answered_5xx_is_retried_through_its_upsert_key_once_only() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        // The runtime never re-sends a create after a 5xx (it may have been processed);
        // the generated create retries it through the upsert key instead.
        sandbox.inject_faults([Fault::status(503)]);
        create_contact(&runtime, &connection, &ada(2))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            sandbox.records(common::object_of(vendor, "contact")).len(),
            1,
            "{}",
            vendor.name()
        );
        assert_eq!(sandbox.requests()[0].status, 503);
    }
}

#[tokio::test]
async fn a_create_without_an_upsert_key_is_not_retried_after_a_5xx() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        sandbox.inject_faults([Fault::status(503)]);
        // Opportunities have no unique key to find a half-made one by.
        let deal = unifold_providers::OpportunityInput {
            name: Some("Engine".into()),
            stage: Some("Prospecting".into()),
            close_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
            ..Default::default()
        };
        let error = unifold_providers::create_opportunity(&runtime, &connection, &deal)
            .await
            .unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::Provider,
            "{}: {error}",
            vendor.name()
        );
        assert!(error.is_ambiguous());
        assert_eq!(sandbox.request_count(), 1, "{}", vendor.name());
        assert!(
            sandbox
                .records(common::object_of(vendor, "opportunity"))
                .is_empty()
        );
    }
}

#[tokio::test]
async fn companies_upsert_by_domain_and_survive_a_cut_off_create() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        sandbox.seed(common::object_of(vendor, "company"), 3);
        let acme = unifold_providers::CompanyInput {
            name: Some("Acme".into()),
            website: Some("acme.example.com".into()),
            ..Default::default()
        };
        sandbox.inject_faults([Fault::reset_after()]);
        let first = unifold_providers::create_company(&runtime, &connection, &acme)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        let renamed = unifold_providers::CompanyInput {
            name: Some("Acme Ltd".into()),
            ..acme.clone()
        };
        let second = unifold_providers::upsert_company(&runtime, &connection, &renamed)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(second.remote_id, first.remote_id, "{}", vendor.name());
        assert_eq!(second.name.as_deref(), Some("Acme Ltd"));
        assert_eq!(
            sandbox.records(common::object_of(vendor, "company")).len(),
            4,
            "{}: 3 seeded + 1",
            vendor.name()
        );
    }
}

#[tokio::test]
async fn throttled_creates_wait_as_told_and_succeed_once() {
    let runtime = Runtime::new().unwrap();
    for (vendor, retry_after) in [
        (Vendor::HubSpot, "1".to_string()),
        // Attio sends an HTTP date.
        (
            Vendor::Attio,
            (chrono::Utc::now() + chrono::Duration::seconds(2))
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        ),
    ] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        sandbox.inject_faults([Fault::status(429).retry_after(retry_after)]);
        let started = Instant::now();
        create_contact(&runtime, &connection, &ada(3))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{}: waited {:?}",
            vendor.name(),
            started.elapsed()
        );
        assert_eq!(sandbox.request_count(), 2, "{}", vendor.name());
        assert_eq!(
            sandbox.records(common::object_of(vendor, "contact")).len(),
            1
        );
    }
}

#[tokio::test]
async fn a_wait_beyond_the_cap_is_returned_not_slept() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    sandbox.inject_faults([Fault::status(429).retry_after("120")]);
    let started = Instant::now();
    let error = create_contact(&runtime, &connection, &ada(4))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.category(), ErrorCategory::RateLimited);
    assert_eq!(
        error.to_string(),
        "hubspot rate-limited the request (HTTP 429); retry after 120 s"
    );
    assert_eq!(sandbox.request_count(), 1);
}

#[tokio::test]
async fn a_spent_daily_quota_is_its_own_error_and_not_retried() {
    let runtime = Runtime::new().unwrap();
    for (vendor, id, marker) in [
        (
            Vendor::Salesforce,
            "003000000000001AAA",
            "REQUEST_LIMIT_EXCEEDED",
        ),
        (Vendor::HubSpot, "512", "DAILY"),
    ] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        sandbox.inject_faults([Fault::daily_quota()]);
        let error = get_contact(&runtime, &connection, id).await.unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::QuotaExhausted,
            "{}: {error}",
            vendor.name()
        );
        assert!(error.body().unwrap().contains(marker));
        assert_eq!(sandbox.request_count(), 1, "{}: not retried", vendor.name());
    }
}

#[tokio::test]
async fn retries_stop_after_the_declared_attempts() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
    sandbox.inject_faults(std::iter::repeat_n(Fault::status(500), 10));
    let error = get_contact(
        &runtime,
        &connection,
        "00000000-0000-4000-8000-000000000000",
    )
    .await
    .unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert_eq!(
        sandbox.request_count(),
        4,
        "max_attempts: 4 in providers/attio/provider.yaml"
    );
}

#[tokio::test]
async fn a_create_cut_off_after_the_provider_committed_leaves_one_record() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        sandbox.inject_faults([Fault::reset_after()]);
        let created = create_contact(&runtime, &connection, &ada(5))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        let stored = sandbox.records(common::object_of(vendor, "contact"));
        assert_eq!(stored.len(), 1, "{}: exactly one record", vendor.name());
        assert!(
            stored[0].to_string().contains(&created.remote_id),
            "{}",
            vendor.name()
        );
        assert_eq!(created.email_addresses[0].email_address, "ada5@example.com");
    }
}

#[tokio::test]
async fn a_create_cut_off_before_the_provider_saw_it_is_sent_again() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        sandbox.inject_faults([Fault::reset_before()]);
        create_contact(&runtime, &connection, &ada(6))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            sandbox.records(common::object_of(vendor, "contact")).len(),
            1,
            "{}",
            vendor.name()
        );
    }
}
