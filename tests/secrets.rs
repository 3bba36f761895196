//! A connection's token never shows up in logs, errors or Debug output: every tracing
//! event and span field of a busy run (creates, reads, lists, retries, throttling,
//! provider errors) is captured and scanned for it. Its own test binary, because a
//! scoped subscriber must not miss callsites other tests register first.

mod common;

use unifold_providers::{ContactInput, EmailAddress, create_contact, get_contact, list_contacts};
use unifold_runtime::{Connection, Credentials, ListOptions, Runtime, TryStreamExt};
use unifold_sandbox::{Fault, Vendor};

/// A token that appears nowhere else.
const TOKEN: &str = "tok-4f1c9e7b2d6a8350c1e9";

use common::Captured;

#[tokio::test(flavor = "current_thread")]
async fn the_token_is_in_no_log_line_error_or_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let runtime = Runtime::new().unwrap();
    let mut seen_errors = Vec::new();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let input = ContactInput {
            last_name: Some("Lovelace".into()),
            email_addresses: vec![EmailAddress {
                email_address: "ada@example.com".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        sandbox.inject_faults([Fault::status(503)]);
        let created = create_contact(&runtime, &connection, &input).await.unwrap();
        sandbox.inject_faults([Fault::status(502)]);
        get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        let _: Vec<_> = list_contacts(&runtime, &connection, &ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        // Errors of several kinds: conflict, not found, a refused token.
        seen_errors.push(
            create_contact(&runtime, &connection, &input)
                .await
                .unwrap_err(),
        );
        seen_errors.push(get_contact(&runtime, &connection, "0").await.unwrap_err());
        let wrong = Connection::new(
            "c",
            vendor.name(),
            Credentials::bearer(format!("{TOKEN}-wrong")),
        )
        .with_origin(sandbox.url());
        seen_errors.push(get_contact(&runtime, &wrong, "1").await.unwrap_err());
        assert!(!format!("{connection:?}").contains(TOKEN));
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("unifold.http"), "the run was logged");
    assert!(logs.contains("retrying"), "retries were logged");
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    for error in &seen_errors {
        assert!(!error.to_string().contains(TOKEN), "{error}");
        assert!(!format!("{error:?}").contains(TOKEN), "{error:?}");
    }
}
