//! Batch writes (`batch:` in the HubSpot and Salesforce mappings): many inputs per
//! request, each with its own outcome in input order, failures confined to the inputs
//! that caused them, and no duplicate after a batch whose outcome is unknown.

mod common;

use std::collections::HashSet;
use unifold_providers::{
    ContactInput, EmailAddress, create_contact, create_contacts, update_contacts,
};
use unifold_runtime::{ErrorCategory, Runtime};
use unifold_sandbox::{Fault, Vendor};

const TOKEN: &str = "batch-token";

fn person(n: usize) -> ContactInput {
    ContactInput {
        first_name: Some(format!("Ada{n}")),
        last_name: Some("Lovelace".into()),
        email_addresses: vec![EmailAddress {
            email_address: format!("ada{n}@example.com"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn unpaced() -> Runtime {
    Runtime::builder().pacing(false).build().unwrap()
}

fn emails(records: &[serde_json::Value], vendor: Vendor) -> HashSet<String> {
    let pointer = match vendor {
        Vendor::HubSpot => "/properties/email",
        _ => "/Email",
    };
    records
        .iter()
        .filter_map(|r| r.pointer(pointer).and_then(|v| v.as_str()))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn creates_go_out_in_batches_and_each_input_gets_its_own_outcome() {
    let runtime = unpaced();
    for (vendor, max, reads_back) in [
        (Vendor::HubSpot, 100, false),
        (Vendor::Salesforce, 200, true),
    ] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let mut inputs: Vec<ContactInput> = (0..250).map(person).collect();
        // Refused before sending: not an email address.
        inputs[7].email_addresses[0].email_address = "not-an-email".into();
        // Refused by the provider alone: a field it does not have.
        inputs[42].remote_fields = serde_json::json!({"no_such_field": "x"});
        let outcomes = create_contacts(&runtime, &connection, &inputs).await;
        assert_eq!(outcomes.len(), 250);
        for (index, outcome) in outcomes.iter().enumerate() {
            match index {
                7 => {
                    let error = outcome.as_ref().unwrap_err();
                    assert_eq!(error.category(), ErrorCategory::Validation, "{vendor}");
                    assert!(error.to_string().contains("email_address"), "{error}");
                }
                42 => {
                    let error = outcome.as_ref().unwrap_err();
                    assert_eq!(
                        error.category(),
                        ErrorCategory::Rejected,
                        "{vendor}: {error}"
                    );
                    assert!(
                        error.to_string().to_lowercase().contains("no_such_field"),
                        "{vendor}: {error}"
                    );
                }
                _ => {
                    let contact = outcome
                        .as_ref()
                        .unwrap_or_else(|e| panic!("{vendor} #{index}: {e}"));
                    // Outcomes are in input order, whatever order the provider answered in.
                    assert_eq!(
                        contact.email_addresses[0].email_address,
                        format!("ada{index}@example.com"),
                        "{vendor}"
                    );
                    assert_eq!(
                        contact.first_name.as_deref(),
                        Some(format!("Ada{index}").as_str())
                    );
                    assert!(!contact.remote_id.is_empty());
                }
            }
        }
        let object = common::object_of(vendor, "contact");
        let records = sandbox.records(object);
        assert_eq!(records.len(), 248, "{vendor}");
        assert_eq!(emails(&records, vendor).len(), 248, "{vendor}");
        // 249 inputs were sent (one refused before): ceil(249 / max) batch requests, plus
        // one read-back query per batch where results carry only ids.
        let batches = 249usize.div_ceil(max);
        let expected = if reads_back { 2 * batches } else { batches };
        assert_eq!(
            sandbox.request_count(),
            expected,
            "{vendor}: {:?}",
            sandbox
                .requests()
                .iter()
                .map(|r| (&r.method, &r.path, r.status))
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn a_batch_refused_as_a_whole_is_sent_input_by_input() {
    let runtime = unpaced();
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    let existing = create_contact(&runtime, &connection, &person(3))
        .await
        .unwrap();
    sandbox.reset_log();
    // HubSpot fails a whole batch/create on one email that exists already.
    let inputs: Vec<ContactInput> = (0..5).map(person).collect();
    let outcomes = create_contacts(&runtime, &connection, &inputs).await;
    let statuses: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [409, 201, 201, 201, 409, 201]);
    for (index, outcome) in outcomes.iter().enumerate() {
        if index == 3 {
            let error = outcome.as_ref().unwrap_err();
            assert_eq!(error.category(), ErrorCategory::Conflict);
            assert_eq!(error.existing_id(), Some(existing.remote_id.as_str()));
        } else {
            assert!(outcome.is_ok(), "#{index}: {outcome:?}");
        }
    }
    assert_eq!(sandbox.records("contacts").len(), 5);
}

#[tokio::test]
async fn a_batch_cut_off_after_the_provider_wrote_it_leaves_no_duplicate() {
    let runtime = unpaced();
    for vendor in [Vendor::HubSpot, Vendor::Salesforce] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        // The provider commits the batch, then the connection breaks: nobody knows
        // which records exist. Each input is then upserted by its email.
        sandbox.inject_faults([Fault::reset_after()]);
        let inputs: Vec<ContactInput> = (0..20).map(person).collect();
        let outcomes = create_contacts(&runtime, &connection, &inputs).await;
        for (index, outcome) in outcomes.iter().enumerate() {
            let contact = outcome
                .as_ref()
                .unwrap_or_else(|e| panic!("{vendor} #{index}: {e}"));
            assert_eq!(
                contact.email_addresses[0].email_address,
                format!("ada{index}@example.com")
            );
        }
        let records = sandbox.records(common::object_of(vendor, "contact"));
        assert_eq!(records.len(), 20, "{vendor}: no duplicate");
        assert_eq!(emails(&records, vendor).len(), 20, "{vendor}");
    }
}

#[tokio::test]
async fn updates_go_out_in_batches_and_a_missing_record_fails_alone() {
    let runtime = unpaced();
    for vendor in [Vendor::HubSpot, Vendor::Salesforce] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let inputs: Vec<ContactInput> = (0..30).map(person).collect();
        let created: Vec<_> = create_contacts(&runtime, &connection, &inputs)
            .await
            .into_iter()
            .map(|outcome| outcome.unwrap())
            .collect();
        sandbox.reset_log();
        let missing_id = match vendor {
            Vendor::HubSpot => "999999".to_string(),
            _ => "003000000000999AAA".to_string(),
        };
        let mut updates: Vec<(String, ContactInput)> = created
            .iter()
            .map(|contact| {
                let patch = ContactInput {
                    title: Some(format!("Engineer {}", contact.remote_id)),
                    ..Default::default()
                };
                (contact.remote_id.clone(), patch)
            })
            .collect();
        updates.insert(
            10,
            (
                missing_id,
                ContactInput {
                    title: Some("Ghost".into()),
                    ..Default::default()
                },
            ),
        );
        let outcomes = update_contacts(&runtime, &connection, &updates).await;
        assert_eq!(outcomes.len(), 31);
        for (index, outcome) in outcomes.iter().enumerate() {
            if index == 10 {
                assert!(outcome.is_err(), "{vendor}: {outcome:?}");
                continue;
            }
            let contact = outcome
                .as_ref()
                .unwrap_or_else(|e| panic!("{vendor} #{index}: {e}"));
            assert_eq!(contact.remote_id, updates[index].0);
            assert_eq!(
                contact.title,
                Some(format!("Engineer {}", contact.remote_id))
            );
        }
        // One batch request (plus the read-back on Salesforce).
        let expected = if vendor == Vendor::Salesforce { 2 } else { 1 };
        assert_eq!(sandbox.request_count(), expected, "{vendor}");
        let titled = sandbox
            .records(common::object_of(vendor, "contact"))
            .iter()
            .filter(|r| {
                r.pointer("/properties/jobtitle")
                    .or(r.pointer("/Title"))
                    .and_then(|v| v.as_str())
                    .is_some_and(|t| t.starts_with("Engineer "))
            })
            .count();
        assert_eq!(titled, 30, "{vendor}");
    }
}

#[tokio::test]
async fn providers_without_a_batch_endpoint_take_one_request_per_input() {
    let runtime = unpaced();
    let (sandbox, connection) = common::start(Vendor::Attio, TOKEN).await;
    let inputs: Vec<ContactInput> = (0..4).map(person).collect();
    let outcomes = create_contacts(&runtime, &connection, &inputs).await;
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(sandbox.records("people").len(), 4);
    assert_eq!(sandbox.request_count(), 4);
}
