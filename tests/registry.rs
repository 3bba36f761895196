//! Actions by name with JSON arguments (`REGISTRY`): what the queue and the MCP server
//! run. Arguments are checked like typed input, before any request.

mod common;

use serde_json::json;
use unifold_providers::REGISTRY;
use unifold_runtime::{ActionKind, ErrorCategory, Runtime};
use unifold_sandbox::Vendor;

const TOKEN: &str = "registry-token";

#[test]
fn every_unified_action_is_listed_once_with_its_kind() {
    let names: Vec<&str> = REGISTRY.actions.iter().map(|a| a.name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    for expected in [
        "create_contact",
        "get_contact",
        "update_contact",
        "delete_contact",
        "upsert_contact",
        "list_contacts",
        "find_contact_by_email",
        "link_opportunity_contact",
        "create_opportunity_with_links",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let create = REGISTRY.action("create_contact").unwrap();
    assert_eq!(create.kind, ActionKind::Create);
    assert!(!create.read_only);
    assert_eq!(create.retry_as, Some("upsert_contact"));
    assert_eq!(create.providers, ["attio", "hubspot", "salesforce"]);
    // Opportunities have no upsert key: a cut-off create must not be run again.
    assert_eq!(
        REGISTRY.action("create_opportunity").unwrap().retry_as,
        None
    );
    assert!(REGISTRY.action("list_contacts").unwrap().read_only);
    assert!(REGISTRY.action("find_company_by_domain").unwrap().read_only);
}

#[tokio::test]
async fn create_then_get_by_name_on_every_provider() {
    let runtime = Runtime::builder().pacing(false).build().unwrap();
    for vendor in [Vendor::HubSpot, Vendor::Salesforce, Vendor::Attio] {
        let (sandbox, connection) = common::start(vendor, TOKEN).await;
        let created = REGISTRY
            .invoke(
                &runtime,
                &connection,
                "create_contact",
                json!({
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "email_addresses": [{"email_address": "ada@example.com"}]
                }),
            )
            .await
            .unwrap();
        let id = created["remote_id"].as_str().unwrap().to_string();
        assert_eq!(
            sandbox.records(common::object_of(vendor, "contact")).len(),
            1
        );
        let read = REGISTRY
            .invoke(&runtime, &connection, "get_contact", json!({"id": id}))
            .await
            .unwrap();
        assert_eq!(read["last_name"], "Lovelace", "{vendor:?}");
        assert_eq!(
            read["email_addresses"][0]["email_address"], "ada@example.com",
            "{vendor:?}"
        );
        let found = REGISTRY
            .invoke(
                &runtime,
                &connection,
                "find_contact_by_email",
                json!({"email": "ada@example.com"}),
            )
            .await
            .unwrap();
        assert_eq!(found["remote_id"], id.as_str(), "{vendor:?}");
        let listed = REGISTRY
            .invoke(&runtime, &connection, "list_contacts", json!({"limit": 5}))
            .await
            .unwrap();
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{vendor:?}");
    }
}

#[tokio::test]
async fn arguments_that_do_not_fit_are_refused_before_any_request() {
    let runtime = Runtime::builder().pacing(false).build().unwrap();
    let (sandbox, connection) = common::start(Vendor::HubSpot, TOKEN).await;
    let cases = [
        (
            "create_contact",
            json!({"last_name": "L", "email_addresses": [{"email_address": 5}]}),
            "invalid input: email_addresses[0].email_address: invalid type: integer `5`, expected a string",
        ),
        (
            "create_contact",
            json!({"last_name": "L", "email": "a@b.c"}),
            "invalid input: email: unknown field `email`",
        ),
        (
            "create_contact",
            json!({"last_name": "L", "email_addresses": [{"email_address": "not an email"}]}),
            "invalid input: email_addresses[0].email_address: `not an email` is not a valid email address",
        ),
        ("get_contact", json!({}), "invalid input: id: is required"),
        (
            "update_contact",
            json!({"id": "1", "patch": {"title": 7}}),
            "invalid input: patch.title: invalid type: integer `7`, expected a string",
        ),
        (
            "list_contacts",
            json!({"limit": "ten"}),
            "invalid input: limit: invalid type: string \"ten\", expected usize",
        ),
    ];
    for (action, arguments, expected) in cases {
        let error = REGISTRY
            .invoke(&runtime, &connection, action, arguments)
            .await
            .unwrap_err();
        assert_eq!(error.category(), ErrorCategory::Validation, "{action}");
        assert!(
            error.to_string().starts_with(expected),
            "{action}: {error}\nexpected: {expected}"
        );
    }
    assert_eq!(sandbox.request_count(), 0);
    let unknown = REGISTRY
        .invoke(&runtime, &connection, "create_contract", json!({}))
        .await
        .unwrap_err();
    assert_eq!(unknown.to_string(), "no action is named `create_contract`");
}
