//! The unified contact actions against the three sandboxes: what lands in the
//! provider's state, what comes back, and that bad input never reaches the wire.

mod common;

use serde_json::Value;
use unifold_providers::{ContactInput, EmailAddress, PhoneNumber, create_contact, get_contact};
use unifold_runtime::{Connection, Credentials, ErrorCategory, Runtime};
use unifold_sandbox::Vendor;

const TOKEN: &str = "test-token-5f2c9e";

fn ada() -> ContactInput {
    ContactInput {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email_addresses: vec![EmailAddress {
            email_address: "ada@example.com".into(),
            ..Default::default()
        }],
        phone_numbers: vec![PhoneNumber {
            phone_number: "+442079460000".into(),
            ..Default::default()
        }],
        title: Some("Analyst".into()),
        ..Default::default()
    }
}

fn object_of(vendor: Vendor) -> &'static str {
    common::object_of(vendor, "contact")
}

/// The stored record's first name, email and title, read in the vendor's own shape.
fn stored(vendor: Vendor, record: &Value) -> (String, String, String) {
    let text = |pointer: &str| {
        record
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match vendor {
        Vendor::HubSpot => (
            text("/properties/firstname"),
            text("/properties/email"),
            text("/properties/jobtitle"),
        ),
        Vendor::Salesforce => (text("/FirstName"), text("/Email"), text("/Title")),
        Vendor::Attio => (
            text("/values/name/0/first_name"),
            text("/values/email_addresses/0/email_address"),
            text("/values/job_title/0/value"),
        ),
    }
}

#[tokio::test]
async fn create_then_get_on_every_provider() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let created = create_contact(&runtime, &connection, &ada())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert!(!created.remote_id.is_empty());
        assert_eq!(
            created.first_name.as_deref(),
            Some("Ada"),
            "{}",
            vendor.name()
        );
        assert_eq!(created.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(created.email_addresses[0].email_address, "ada@example.com");
        assert_eq!(created.phone_numbers[0].phone_number, "+442079460000");
        assert!(created.created_at.is_some(), "{}", vendor.name());
        assert!(created.remote_data.is_object());

        let records = sandbox.records(object_of(vendor));
        assert_eq!(records.len(), 1, "{}", vendor.name());
        assert_eq!(
            stored(vendor, &records[0]),
            ("Ada".into(), "ada@example.com".into(), "Analyst".into()),
            "{}",
            vendor.name()
        );

        let fetched = get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        assert_eq!(fetched.remote_id, created.remote_id);
        assert_eq!(fetched.first_name, created.first_name);
        assert_eq!(fetched.email_addresses, created.email_addresses);
        assert_eq!(fetched.title.as_deref(), Some("Analyst"));
    }
}

#[tokio::test]
async fn attio_receives_the_full_name_it_requires() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
    create_contact(&runtime, &connection, &ada()).await.unwrap();
    let record = &sandbox.records("people")[0];
    assert_eq!(
        record.pointer("/values/name/0/full_name"),
        Some(&Value::from("Ada Lovelace"))
    );
}

#[tokio::test]
async fn invalid_email_is_refused_before_any_request() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let mut input = ada();
        input.email_addresses[0].email_address = "ada at example.com".into();
        let error = create_contact(&runtime, &connection, &input)
            .await
            .unwrap_err();
        assert_eq!(error.category(), ErrorCategory::Validation);
        assert_eq!(
            error.to_string(),
            "invalid input: email_addresses[0].email_address: `ada at example.com` is not a valid email address"
        );
        assert_eq!(sandbox.request_count(), 0, "{}", vendor.name());
    }
}

#[tokio::test]
async fn salesforce_requires_a_last_name_before_sending() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::Salesforce, TOKEN).await;
    let input = ContactInput {
        first_name: Some("Ada".into()),
        ..Default::default()
    };
    let error = create_contact(&runtime, &connection, &input)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid input: last_name: is required by salesforce"
    );
    assert_eq!(error.field_errors()[0].field, "last_name");
    assert_eq!(sandbox.request_count(), 0);

    // HubSpot does not require one: the same input is sent and stored.
    let (hubspot, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    create_contact(&runtime, &connection, &input).await.unwrap();
    assert_eq!(hubspot.records("contacts").len(), 1);
}

#[tokio::test]
async fn duplicates_are_conflicts_naming_the_existing_record_where_the_provider_does() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let first = create_contact(&runtime, &connection, &ada()).await.unwrap();
        let error = create_contact(&runtime, &connection, &ada())
            .await
            .unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::Conflict,
            "{}: {error}",
            vendor.name()
        );
        let expected_id = match vendor {
            // Attio's uniqueness_conflict body does not name the record.
            Vendor::Attio => None,
            _ => Some(first.remote_id.as_str()),
        };
        assert_eq!(error.existing_id(), expected_id, "{}", vendor.name());
        assert_eq!(
            error.status(),
            Some(if vendor == Vendor::HubSpot { 409 } else { 400 })
        );
        assert_eq!(sandbox.records(object_of(vendor)).len(), 1);
    }
}

#[tokio::test]
async fn wrong_token_and_missing_record_are_typed() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, _) = common::start(vendor, TOKEN).await;
        let wrong = Connection::new(
            "customer-2",
            vendor.name(),
            Credentials::bearer("not-the-token"),
        )
        .with_config("instance_url", sandbox.url())
        .with_origin(sandbox.url());
        let error = get_contact(&runtime, &wrong, "12345").await.unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::Auth,
            "{}: {error}",
            vendor.name()
        );
        assert_eq!(error.status(), Some(401));
        assert!(!error.to_string().contains("not-the-token"));
        assert!(!format!("{error:?}").contains("not-the-token"));

        let right = Connection::new("customer-1", vendor.name(), Credentials::bearer(TOKEN))
            .with_origin(sandbox.url());
        let missing = match vendor {
            Vendor::Attio => "00000000-0000-4000-8000-000000000000",
            Vendor::Salesforce => "003000000000000AAA",
            Vendor::HubSpot => "999999",
        };
        let error = get_contact(&runtime, &right, missing).await.unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::NotFound,
            "{}: {error}",
            vendor.name()
        );
        assert_eq!(error.status(), Some(404));
        assert!(error.body().is_some_and(|body| !body.is_empty()));
    }
}

#[tokio::test]
async fn a_salesforce_instance_url_must_be_a_salesforce_host() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, _) = common::start(Vendor::Salesforce, TOKEN).await;
    // Pointing instance_url at any other host (here the sandbox itself) is refused
    // before the token is sent anywhere.
    let connection = Connection::new("customer-3", "salesforce", Credentials::bearer(TOKEN))
        .with_config("instance_url", sandbox.url());
    let error = get_contact(&runtime, &connection, "003000000000001AAA")
        .await
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Config);
    assert_eq!(
        error.to_string(),
        format!(
            "connection customer-3 is misconfigured: `instance_url` must match https://*.my.salesforce.com or https://*.salesforce.com, not `{}`",
            sandbox.url()
        )
    );
    assert_eq!(sandbox.request_count(), 0);
}

#[tokio::test]
async fn empty_ids_and_unknown_providers_never_send() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    let error = get_contact(&runtime, &connection, " ").await.unwrap_err();
    assert_eq!(error.to_string(), "invalid input: id: must not be empty");
    let pipedrive = Connection::new("c", "pipedrive", Credentials::bearer("x"));
    let error = create_contact(&runtime, &pipedrive, &ada())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "action `create_contact` is not available for provider `pipedrive` (available: attio, hubspot, salesforce)"
    );
    assert_eq!(sandbox.request_count(), 0);
}

#[tokio::test]
async fn a_last_name_alone_is_enough_everywhere() {
    // Only fields a provider requires on every create are required; Attio's nested
    // required keys (a job title's `value`) apply only when that value is sent.
    let runtime = Runtime::new().unwrap();
    let input = ContactInput {
        last_name: Some("Hopper".into()),
        ..Default::default()
    };
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let created = create_contact(&runtime, &connection, &input)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(created.last_name.as_deref(), Some("Hopper"));
        assert!(created.email_addresses.is_empty());
        assert_eq!(sandbox.records(object_of(vendor)).len(), 1);
    }
}

#[tokio::test]
async fn fields_a_provider_cannot_take_are_refused_or_skipped() {
    let runtime = Runtime::new().unwrap();
    // HubSpot links a contact to its company on create only: an update is refused.
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    let patch = ContactInput {
        account: Some("9001".into()),
        ..Default::default()
    };
    let error = unifold_providers::update_contact(&runtime, &connection, "512", &patch)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid input: account: cannot be updated on hubspot"
    );
    assert_eq!(sandbox.request_count(), 0);

    // Attio people have no owner: the mapping lists it under `ignore_on_write`, so the
    // same cross-provider input still works there (with a warning) and nothing is sent.
    let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
    let input = ContactInput {
        last_name: Some("Lovelace".into()),
        owner: Some("user-1".into()),
        ..Default::default()
    };
    create_contact(&runtime, &connection, &input).await.unwrap();
    assert!(!sandbox.requests()[0].body.to_string().contains("user-1"));
}

#[tokio::test]
async fn a_field_map_naming_no_field_is_refused_before_any_request() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        // Spliced into a SOQL field list or a property list, this would change the query.
        let connection = connection.with_field_mapping(
            "Contact",
            "tier",
            "Tier__c FROM Contact WHERE Name != ''",
        );
        let error = get_contact(&runtime, &connection, "003000000000001")
            .await
            .unwrap_err();
        assert_eq!(error.category(), ErrorCategory::Config, "{}", vendor.name());
        assert_eq!(
            error.to_string(),
            "connection customer-1 is misconfigured: custom field `Tier__c FROM Contact WHERE Name != ''` is not a field name (letters, digits and `_`, not starting with a digit)"
        );
        let error = create_contact(&runtime, &connection, &ada())
            .await
            .unwrap_err();
        assert_eq!(error.category(), ErrorCategory::Config, "{}", vendor.name());
        assert_eq!(sandbox.request_count(), 0, "{}", vendor.name());
    }
}
