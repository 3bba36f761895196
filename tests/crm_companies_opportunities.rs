//! Companies and opportunities on every provider, and the links between records,
//! checked in the sandboxes' state.

mod common;

use std::collections::HashSet;
use unifold_providers::{
    CompanyInput, ContactInput, OpportunityInput, OpportunityStatus, create_company,
    create_contact, create_opportunity, delete_company, delete_opportunity, get_company,
    get_contact, get_opportunity, list_companies, list_opportunities, update_company,
    update_opportunity,
};
use unifold_runtime::{ErrorCategory, ListOptions, Runtime, TryStreamExt};
use unifold_sandbox::Vendor;

const TOKEN: &str = "crm-token-91";

fn companies_of(vendor: Vendor) -> &'static str {
    common::object_of(vendor, "company")
}

fn deals_of(vendor: Vendor) -> &'static str {
    common::object_of(vendor, "opportunity")
}

/// A stage that is open, and one that is won, in each provider's own vocabulary.
fn stages(vendor: Vendor) -> (&'static str, &'static str) {
    match vendor {
        Vendor::HubSpot => ("appointmentscheduled", "closedwon"),
        Vendor::Salesforce => ("Prospecting", "Closed Won"),
        Vendor::Attio => ("Lead", "Won 🎉"),
    }
}

fn acme() -> CompanyInput {
    CompanyInput {
        name: Some("Analytical Engines".into()),
        website: Some("engines.example.com".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn company_crud_on_every_provider() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let created = create_company(&runtime, &connection, &acme())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(created.name.as_deref(), Some("Analytical Engines"));
        assert_eq!(
            created.website.as_deref(),
            Some("engines.example.com"),
            "{}",
            vendor.name()
        );
        let patch = CompanyInput {
            name: Some("Difference Engines".into()),
            ..Default::default()
        };
        let updated = update_company(&runtime, &connection, &created.remote_id, &patch)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(updated.name.as_deref(), Some("Difference Engines"));
        assert_eq!(
            updated.website.as_deref(),
            Some("engines.example.com"),
            "{}",
            vendor.name()
        );
        let fetched = get_company(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        assert_eq!(fetched.name.as_deref(), Some("Difference Engines"));
        assert_eq!(sandbox.records(companies_of(vendor)).len(), 1);
        delete_company(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        let error = get_company(&runtime, &connection, &created.remote_id)
            .await
            .unwrap_err();
        assert_eq!(
            error.category(),
            ErrorCategory::NotFound,
            "{}",
            vendor.name()
        );
    }
}

#[tokio::test]
async fn opportunity_status_is_derived_from_each_providers_stage() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let (open, won) = stages(vendor);
        let input = OpportunityInput {
            name: Some("Engine No. 2".into()),
            stage: Some(open.into()),
            amount: Some(1500.5),
            close_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
            ..Default::default()
        };
        let created = create_opportunity(&runtime, &connection, &input)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            created.status,
            Some(OpportunityStatus::Open),
            "{}",
            vendor.name()
        );
        assert_eq!(created.amount, Some(1500.5), "{}", vendor.name());
        if vendor != Vendor::Attio {
            assert_eq!(
                created.close_date,
                chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
                "{}",
                vendor.name()
            );
        }
        let patch = OpportunityInput {
            stage: Some(won.into()),
            ..Default::default()
        };
        let updated = update_opportunity(&runtime, &connection, &created.remote_id, &patch)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            updated.status,
            Some(OpportunityStatus::Won),
            "{}",
            vendor.name()
        );
        assert_eq!(updated.name.as_deref(), Some("Engine No. 2"));
        let fetched = get_opportunity(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        assert_eq!(fetched.status, Some(OpportunityStatus::Won));
        assert_eq!(sandbox.records(deals_of(vendor)).len(), 1);
        delete_opportunity(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        assert!(sandbox.records(deals_of(vendor)).is_empty());
    }
}

#[tokio::test]
async fn salesforce_requires_what_opportunities_need_before_sending() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = common::start(Vendor::Salesforce, TOKEN).await;
    let input = OpportunityInput {
        name: Some("Engine".into()),
        ..Default::default()
    };
    let error = create_opportunity(&runtime, &connection, &input)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid input: stage: is required by salesforce; close_date: is required by salesforce"
    );
    assert_eq!(sandbox.request_count(), 0);
}

#[tokio::test]
async fn contacts_and_opportunities_link_to_their_company() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let company = create_company(&runtime, &connection, &acme())
            .await
            .unwrap();
        let contact = ContactInput {
            last_name: Some("Lovelace".into()),
            account: Some(company.remote_id.clone()),
            ..Default::default()
        };
        let contact = create_contact(&runtime, &connection, &contact)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            contact.account.as_deref(),
            Some(company.remote_id.as_str()),
            "{}",
            vendor.name()
        );
        let again = get_contact(&runtime, &connection, &contact.remote_id)
            .await
            .unwrap();
        assert_eq!(again.account, contact.account);

        let (open, _) = stages(vendor);
        let deal = OpportunityInput {
            name: Some("Engine No. 3".into()),
            stage: Some(open.into()),
            close_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
            account: Some(company.remote_id.clone()),
            ..Default::default()
        };
        let deal = create_opportunity(&runtime, &connection, &deal)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(
            deal.account.as_deref(),
            Some(company.remote_id.as_str()),
            "{}",
            vendor.name()
        );

        // The links as each provider stores them.
        match vendor {
            Vendor::HubSpot => {
                let links: HashSet<(String, String, String, String, u32)> = sandbox
                    .associations()
                    .into_iter()
                    .map(|a| (a.from_type, a.from_id, a.to_type, a.to_id, a.type_id))
                    .collect();
                assert!(
                    links.contains(&(
                        "contacts".into(),
                        contact.remote_id.clone(),
                        "companies".into(),
                        company.remote_id.clone(),
                        279
                    )),
                    "{links:?}"
                );
                assert!(
                    links.contains(&(
                        "deals".into(),
                        deal.remote_id.clone(),
                        "companies".into(),
                        company.remote_id.clone(),
                        341
                    )),
                    "{links:?}"
                );
            }
            Vendor::Salesforce => {
                let stored = &sandbox.records("Contact")[0];
                assert_eq!(stored["AccountId"], company.remote_id.as_str());
                let stored = &sandbox.records("Opportunity")[0];
                assert_eq!(stored["AccountId"], company.remote_id.as_str());
            }
            Vendor::Attio => {
                let person = &sandbox.records("people")[0];
                assert_eq!(
                    person
                        .pointer("/values/company/0/target_record_id")
                        .and_then(|v| v.as_str()),
                    Some(company.remote_id.as_str())
                );
                // Attio mirrors the link on the company's team.
                let stored_company = &sandbox.records("companies")[0];
                assert_eq!(
                    stored_company
                        .pointer("/values/team/0/target_record_id")
                        .and_then(|v| v.as_str()),
                    Some(contact.remote_id.as_str())
                );
                let stored_deal = &sandbox.records("deals")[0];
                assert_eq!(
                    stored_deal
                        .pointer("/values/associated_company/0/target_record_id")
                        .and_then(|v| v.as_str()),
                    Some(company.remote_id.as_str())
                );
            }
        }
    }
}

#[tokio::test]
async fn lists_page_through_companies_and_opportunities() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let companies: HashSet<String> = sandbox
            .seed(companies_of(vendor), 230)
            .into_iter()
            .collect();
        let deals: HashSet<String> = sandbox.seed(deals_of(vendor), 230).into_iter().collect();
        let options = ListOptions {
            page_size: Some(100),
            ..Default::default()
        };
        let listed: HashSet<String> = list_companies(&runtime, &connection, &options)
            .map_ok(|c| c.remote_id)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(listed, companies, "{}", vendor.name());
        let listed: Vec<_> = list_opportunities(&runtime, &connection, &options)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        assert_eq!(listed.len(), 230);
        let ids: HashSet<String> = listed.iter().map(|o| o.remote_id.clone()).collect();
        assert_eq!(ids, deals, "{}", vendor.name());
        assert!(
            listed
                .iter()
                .all(|o| o.name.as_deref().is_some_and(|n| n.starts_with("Deal ")))
        );
    }
}

#[tokio::test]
async fn probability_is_a_fraction_everywhere_and_percent_on_salesforce() {
    let runtime = Runtime::new().unwrap();
    for (vendor, stored_at, stored) in [
        (Vendor::Salesforce, "/Probability", serde_json::json!(25.0)),
        (
            Vendor::HubSpot,
            "/properties/hs_deal_stage_probability",
            serde_json::json!("0.25"),
        ),
    ] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let (open, _) = stages(vendor);
        let input = OpportunityInput {
            name: Some("Engine No. 5".into()),
            stage: Some(open.into()),
            close_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30),
            probability: Some(0.25),
            ..Default::default()
        };
        let created = create_opportunity(&runtime, &connection, &input)
            .await
            .unwrap();
        assert_eq!(created.probability, Some(0.25), "{}", vendor.name());
        let record = &sandbox.records(deals_of(vendor))[0];
        let value = record.pointer(stored_at).unwrap();
        assert!(
            value == &stored || value.as_f64() == stored.as_f64(),
            "{}: {value}",
            vendor.name()
        );
    }
}
