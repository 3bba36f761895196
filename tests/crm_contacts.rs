//! Update, delete and list of contacts on every provider, checked against the
//! sandboxes' state and request logs.

mod common;

use std::collections::HashSet;
use unifold_providers::{
    ContactInput, EmailAddress, create_contact, delete_contact, get_contact, list_contacts,
    update_contact,
};
use unifold_runtime::{ErrorCategory, ListOptions, Runtime, StreamExt, TryStreamExt};
use unifold_sandbox::Vendor;

const TOKEN: &str = "crm-token-77";

fn object_of(vendor: Vendor) -> &'static str {
    common::object_of(vendor, "contact")
}

fn ada() -> ContactInput {
    ContactInput {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email_addresses: vec![EmailAddress {
            email_address: "ada@example.com".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn update_sends_only_what_is_set() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let created = create_contact(&runtime, &connection, &ada()).await.unwrap();
        let patch = ContactInput {
            title: Some("Countess".into()),
            ..Default::default()
        };
        let updated = update_contact(&runtime, &connection, &created.remote_id, &patch)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(updated.remote_id, created.remote_id);
        assert_eq!(
            updated.title.as_deref(),
            Some("Countess"),
            "{}",
            vendor.name()
        );
        assert_eq!(
            updated.first_name.as_deref(),
            Some("Ada"),
            "{}",
            vendor.name()
        );
        assert_eq!(
            updated.email_addresses,
            created.email_addresses,
            "{}",
            vendor.name()
        );

        let again = get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        assert_eq!(again.title.as_deref(), Some("Countess"));
        assert_eq!(sandbox.records(object_of(vendor)).len(), 1);
    }
}

#[tokio::test]
async fn attio_updates_of_one_name_part_keep_the_other() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
    let created = create_contact(&runtime, &connection, &ada()).await.unwrap();
    let patch = ContactInput {
        last_name: Some("King".into()),
        ..Default::default()
    };
    let updated = update_contact(&runtime, &connection, &created.remote_id, &patch)
        .await
        .unwrap();
    assert_eq!(updated.first_name.as_deref(), Some("Ada"));
    assert_eq!(updated.last_name.as_deref(), Some("King"));
    let stored = &sandbox.records("people")[0];
    assert_eq!(
        stored
            .pointer("/values/name/0/full_name")
            .and_then(|v| v.as_str()),
        Some("Ada King")
    );
}

#[tokio::test]
async fn delete_removes_and_missing_records_are_not_found() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let created = create_contact(&runtime, &connection, &ada()).await.unwrap();
        delete_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        let error = get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::NotFound,
            "{}: {error}",
            vendor.name()
        );
        let error = delete_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::NotFound,
            "{}: {error}",
            vendor.name()
        );
        let patch = ContactInput {
            title: Some("x".into()),
            ..Default::default()
        };
        let error = update_contact(&runtime, &connection, &created.remote_id, &patch)
            .await
            .unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::NotFound,
            "{}: {error}",
            vendor.name()
        );
        assert!(
            sandbox.records(object_of(vendor)).is_empty(),
            "{}",
            vendor.name()
        );
    }
}

#[tokio::test]
async fn invalid_patches_never_reach_the_provider() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let patch = ContactInput {
            email_addresses: vec![EmailAddress {
                email_address: "nope".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let error = update_contact(&runtime, &connection, "123", &patch)
            .await
            .unwrap_err();
        assert_eq!(error.category(), ErrorCategory::Validation);
        assert_eq!(sandbox.request_count(), 0);
    }
}

#[tokio::test]
async fn listing_2500_records_returns_each_exactly_once() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let seeded: HashSet<String> = sandbox.seed(object_of(vendor), 2500).into_iter().collect();
        let listed: Vec<String> = list_contacts(&runtime, &connection, &ListOptions::default())
            .map_ok(|contact| contact.remote_id)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(listed.len(), 2500, "{}", vendor.name());
        let unique: HashSet<String> = listed.into_iter().collect();
        assert_eq!(unique, seeded, "{}", vendor.name());
        // The largest page each provider allows: 100, 2000 and 500 records.
        let pages = match vendor {
            Vendor::HubSpot => 25,
            Vendor::Salesforce => 2,
            Vendor::Attio => 6, // five full pages, then an empty one proves the end
        };
        assert_eq!(sandbox.request_count(), pages, "{}", vendor.name());
    }
}

#[tokio::test]
async fn page_size_is_honoured_and_capped() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    sandbox.seed("contacts", 120);
    let options = ListOptions {
        page_size: Some(50),
        ..Default::default()
    };
    let count = list_contacts(&runtime, &connection, &options).count().await;
    assert_eq!(count, 120);
    assert_eq!(sandbox.request_count(), 3);
    let options = ListOptions {
        page_size: Some(10_000),
        ..Default::default()
    };
    sandbox.reset();
    sandbox.seed("contacts", 120);
    let count = list_contacts(&runtime, &connection, &options).count().await;
    assert_eq!(count, 120);
    assert_eq!(sandbox.request_count(), 2, "capped at HubSpot's 100");
}

#[tokio::test]
async fn modified_since_filters_where_the_provider_can() {
    let runtime = Runtime::new().unwrap();
    for vendor in [Vendor::Salesforce, Vendor::HubSpot] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let ids = sandbox.seed(object_of(vendor), 150);
        // SOQL compares to the second: leave a clear second on each side.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let since = chrono::Utc::now();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let patch = ContactInput {
            title: Some("Changed".into()),
            ..Default::default()
        };
        for id in [&ids[3], &ids[120]] {
            update_contact(&runtime, &connection, id, &patch)
                .await
                .unwrap();
        }
        let options = ListOptions {
            modified_since: Some(since),
            page_size: Some(1),
        };
        let changed: Vec<_> = list_contacts(&runtime, &connection, &options)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        let changed_ids: Vec<&str> = changed.iter().map(|c| c.remote_id.as_str()).collect();
        assert_eq!(
            changed_ids,
            [ids[3].as_str(), ids[120].as_str()],
            "{}",
            vendor.name()
        );
        assert!(
            changed
                .iter()
                .all(|c| c.title.as_deref() == Some("Changed"))
        );
    }
    let options = ListOptions {
        modified_since: Some(chrono::Utc::now()),
        ..Default::default()
    };

    // Attio records carry no modification time: the option is refused up front.
    let (attio, connection) = common::start(Vendor::Attio, TOKEN).await;
    let mut stream = list_contacts(&runtime, &connection, &options);
    let error = stream.next().await.unwrap().unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid input: modified_since: is not supported by attio"
    );
    assert_eq!(attio.request_count(), 0);
}

#[tokio::test]
async fn upsert_creates_then_updates_the_record_holding_the_email() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        // Other contacts are there: the update must land on the one holding the email.
        sandbox.seed(object_of(vendor), 5);
        let first = unifold_providers::upsert_contact(&runtime, &connection, &ada())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        let mut again = ada();
        again.title = Some("Countess".into());
        let second = unifold_providers::upsert_contact(&runtime, &connection, &again)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(second.remote_id, first.remote_id, "{}", vendor.name());
        assert_eq!(
            second.title.as_deref(),
            Some("Countess"),
            "{}",
            vendor.name()
        );
        assert_eq!(
            sandbox.records(object_of(vendor)).len(),
            6,
            "{}",
            vendor.name()
        );
        let titled = sandbox
            .records(object_of(vendor))
            .into_iter()
            .filter(|record| record.to_string().contains("Countess"))
            .count();
        assert_eq!(titled, 1, "{}", vendor.name());
    }
}
