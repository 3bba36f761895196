//! `create_opportunity_with_links`, the composite action declared in
//! `unified-models/opportunity.yaml`, and the find/link actions it is made of.

mod common;

use unifold_providers::{
    CompanyInput, ContactInput, CreateOpportunityWithLinksInput, EmailAddress, OpportunityInput,
    create_company, create_contact, create_opportunity_with_links, find_company_by_domain,
    find_contact_by_email,
};
use unifold_runtime::{ErrorCategory, Runtime};
use unifold_sandbox::Vendor;

const TOKEN: &str = "composite-token-3";

fn open_stage(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::HubSpot => "appointmentscheduled",
        Vendor::Salesforce => "Prospecting",
        Vendor::Attio => "Lead",
    }
}

fn request(vendor: Vendor, email: &str) -> CreateOpportunityWithLinksInput {
    CreateOpportunityWithLinksInput {
        company: CompanyInput {
            name: Some("Analytical Engines".into()),
            website: Some("engines.example.com".into()),
            ..Default::default()
        },
        contact: ContactInput {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            email_addresses: vec![EmailAddress {
                email_address: email.into(),
                ..Default::default()
            }],
            ..Default::default()
        },
        opportunity: OpportunityInput {
            name: Some("Engine No. 4".into()),
            stage: Some(open_stage(vendor).into()),
            close_date: chrono::NaiveDate::from_ymd_opt(2026, 9, 30),
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn finds_existing_records_creates_the_rest_and_links_them() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        // The company already exists; the contact does not.
        let existing = create_company(
            &runtime,
            &connection,
            &request(vendor, "x@example.com").company,
        )
        .await
        .unwrap();

        let first = create_opportunity_with_links(
            &runtime,
            &connection,
            &request(vendor, "ada@example.com"),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            first.company.remote_id,
            existing.remote_id,
            "{}: company found, not created",
            vendor.name()
        );
        assert_eq!(
            first.contact.account.as_deref(),
            Some(existing.remote_id.as_str()),
            "{}",
            vendor.name()
        );
        assert_eq!(
            first.opportunity.account.as_deref(),
            Some(existing.remote_id.as_str()),
            "{}",
            vendor.name()
        );

        // A second deal for the same person reuses the contact.
        let second = create_opportunity_with_links(
            &runtime,
            &connection,
            &request(vendor, "ada@example.com"),
        )
        .await
        .unwrap();
        assert_eq!(
            second.contact.remote_id,
            first.contact.remote_id,
            "{}",
            vendor.name()
        );
        assert_ne!(second.opportunity.remote_id, first.opportunity.remote_id);

        assert_eq!(
            sandbox.records(common::object_of(vendor, "company")).len(),
            1,
            "{}",
            vendor.name()
        );
        assert_eq!(
            sandbox.records(common::object_of(vendor, "contact")).len(),
            1,
            "{}",
            vendor.name()
        );
        assert_eq!(
            sandbox
                .records(common::object_of(vendor, "opportunity"))
                .len(),
            2,
            "{}",
            vendor.name()
        );

        // The opportunity ↔ contact link, as each provider stores it.
        for deal in [&first.opportunity.remote_id, &second.opportunity.remote_id] {
            let contact = &first.contact.remote_id;
            match vendor {
                Vendor::HubSpot => assert!(
                    sandbox.associations().iter().any(|a| a.from_type == "deals"
                        && &a.from_id == deal
                        && a.to_type == "contacts"
                        && &a.to_id == contact
                        && a.type_id == 3),
                    "{:?}",
                    sandbox.associations()
                ),
                Vendor::Salesforce => assert!(
                    sandbox
                        .records("OpportunityContactRole")
                        .iter()
                        .any(|r| r["OpportunityId"] == deal.as_str()
                            && r["ContactId"] == contact.as_str()),
                    "{:?}",
                    sandbox.records("OpportunityContactRole")
                ),
                Vendor::Attio => {
                    let stored = sandbox
                        .records("deals")
                        .into_iter()
                        .find(|d| d.pointer("/id/record_id").and_then(|v| v.as_str()) == Some(deal))
                        .unwrap();
                    let people: Vec<&str> = stored
                        .pointer("/values/associated_people")
                        .and_then(|v| v.as_array())
                        .unwrap()
                        .iter()
                        .filter_map(|p| p["target_record_id"].as_str())
                        .collect();
                    assert_eq!(people, vec![contact.as_str()]);
                }
            }
        }
    }
}

#[tokio::test]
async fn every_input_is_validated_before_the_first_request() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let mut input = request(vendor, "not-an-email");
        input.company.name = Some("x".repeat(300));
        let error = create_opportunity_with_links(&runtime, &connection, &input)
            .await
            .unwrap_err();
        assert_eq!(error.category(), ErrorCategory::Validation);
        let fields: Vec<&str> = error
            .field_errors()
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        assert_eq!(
            fields,
            ["company.name", "contact.email_addresses[0].email_address"]
        );
        assert_eq!(sandbox.request_count(), 0);
    }
}

#[tokio::test]
async fn find_actions_return_none_or_the_record() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        // Other records are there, so a find that ignored its filter would be caught.
        sandbox.seed(common::object_of(vendor, "contact"), 5);
        sandbox.seed(common::object_of(vendor, "company"), 5);
        assert!(
            find_contact_by_email(&runtime, &connection, "nobody@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            find_company_by_domain(&runtime, &connection, "nowhere.example.com")
                .await
                .unwrap()
                .is_none()
        );
        // A quote in the key cannot change a SOQL query.
        let tricky = "o'brien@example.com";
        let input = ContactInput {
            last_name: Some("O'Brien".into()),
            email_addresses: vec![EmailAddress {
                email_address: tricky.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let created = create_contact(&runtime, &connection, &input).await.unwrap();
        let found = find_contact_by_email(&runtime, &connection, tricky)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()))
            .expect("found");
        assert_eq!(found.remote_id, created.remote_id, "{}", vendor.name());
        let error = find_contact_by_email(&runtime, &connection, " ")
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "invalid input: email: must not be empty");
    }
}
