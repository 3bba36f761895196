//! Per-connection custom fields and pass-through extras, checked in the sandboxes with
//! real custom fields, declared the way each vendor takes them (a HubSpot property, a
//! Salesforce `__c` field, an Attio attribute).

mod common;

use serde_json::{Value, json};
use unifold_providers::{ContactInput, create_contact, get_contact, list_contacts, update_contact};
use unifold_runtime::{Connection, Credentials, ErrorCategory, ListOptions, Runtime, TryStreamExt};
use unifold_sandbox::{Sandbox, Vendor};

const TOKEN: &str = "custom-token-5";

/// The custom field this customer added to contacts, and where the sandbox stores it.
fn customer_field(vendor: Vendor) -> (&'static str, &'static str) {
    match vendor {
        Vendor::HubSpot => ("linkedin_url", "/properties/linkedin_url"),
        Vendor::Salesforce => ("LinkedIn_URL__c", "/LinkedIn_URL__c"),
        Vendor::Attio => ("linkedin_url", "/values/linkedin_url/0/value"),
    }
}

/// A sandbox whose contacts have the customer's custom field, and a connection to it.
async fn start_with_custom_field(vendor: Vendor) -> (Sandbox, Connection) {
    let (sandbox, connection) = common::start(vendor, TOKEN).await;
    let (provider_field, _) = customer_field(vendor);
    sandbox
        .declare_custom_field(object_of(vendor), provider_field)
        .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
    (sandbox, connection)
}

fn object_of(vendor: Vendor) -> &'static str {
    common::object_of(vendor, "contact")
}

#[tokio::test]
async fn custom_fields_round_trip_through_the_connections_field_map() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = start_with_custom_field(vendor).await;
        let (provider_field, stored_at) = customer_field(vendor);
        let connection = connection.with_field_mapping("Contact", "team", provider_field);
        let input = ContactInput {
            last_name: Some("Lovelace".into()),
            custom_fields: json!({"team": "Analytics", "unmapped": "dropped"}),
            ..Default::default()
        };
        let created = create_contact(&runtime, &connection, &input)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            created.custom_fields,
            json!({"team": "Analytics"}),
            "{}",
            vendor.name()
        );
        let stored = &sandbox.records(object_of(vendor))[0];
        assert_eq!(
            stored.pointer(stored_at),
            Some(&json!("Analytics")),
            "{}: {stored}",
            vendor.name()
        );

        let patch = ContactInput {
            custom_fields: json!({"team": "Engines"}),
            ..Default::default()
        };
        let updated = update_contact(&runtime, &connection, &created.remote_id, &patch)
            .await
            .unwrap();
        assert_eq!(
            updated.custom_fields,
            json!({"team": "Engines"}),
            "{}",
            vendor.name()
        );
        let fetched = get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        assert_eq!(fetched.custom_fields, json!({"team": "Engines"}));
        let listed: Vec<_> = list_contacts(&runtime, &connection, &ListOptions::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            listed[0].custom_fields,
            json!({"team": "Engines"}),
            "{}",
            vendor.name()
        );

        // Another customer's connection has no such field: nothing is sent or read.
        let other = Connection::new("customer-8", vendor.name(), Credentials::bearer(TOKEN))
            .with_config("instance_url", sandbox.url())
            .with_origin(sandbox.url());
        let plain = get_contact(&runtime, &other, &created.remote_id)
            .await
            .unwrap();
        assert_eq!(plain.custom_fields, json!({}));
        // Providers that return every field still show it in remote_data (HubSpot
        // returns only the properties asked for).
        if vendor != Vendor::HubSpot {
            assert!(
                plain.remote_data.to_string().contains("Engines"),
                "{}",
                vendor.name()
            );
        }
    }
}

#[tokio::test]
async fn remote_fields_pass_through_and_provider_refusals_are_typed() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let (provider_field, stored_at) = customer_field(vendor);
        let extra = match vendor {
            Vendor::Attio => json!({ provider_field: [{"value": "Passed"}] }),
            _ => json!({ provider_field: "Passed" }),
        };
        // Before the customer adds the field, the provider refuses it.
        let input = ContactInput {
            last_name: Some("Lovelace".into()),
            remote_fields: extra,
            ..Default::default()
        };
        let refused = create_contact(&runtime, &connection, &input)
            .await
            .unwrap_err();
        assert_eq!(refused.status(), Some(400), "{}: {refused}", vendor.name());
        assert!(sandbox.records(object_of(vendor)).is_empty());
        sandbox
            .declare_custom_field(object_of(vendor), provider_field)
            .unwrap();
        create_contact(&runtime, &connection, &input)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        let stored = &sandbox.records(object_of(vendor))[0];
        assert_eq!(
            stored.pointer(stored_at),
            Some(&Value::from("Passed")),
            "{}",
            vendor.name()
        );

        let bogus = ContactInput {
            last_name: Some("Lovelace".into()),
            remote_fields: json!({"no_such_field_xyz": "x"}),
            ..Default::default()
        };
        let error = create_contact(&runtime, &connection, &bogus)
            .await
            .unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::Rejected,
            "{}: {error}",
            vendor.name()
        );
        assert_eq!(error.status(), Some(400));
        assert!(
            error.body().unwrap().contains("no_such_field_xyz"),
            "{}",
            vendor.name()
        );
    }
}
