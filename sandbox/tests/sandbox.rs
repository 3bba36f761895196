//! Lifecycle and inspection API shared by all vendors.

mod common;

use common::{TOKEN, get, send_raw, start};
use reqwest::Method;
use serde_json::{Value, json};
use unifold_sandbox::{RecordedRequest, Sandbox, Vendor, router};

/// A create path and a valid body per vendor.
fn valid_create(vendor: Vendor) -> (&'static str, Value) {
    match vendor {
        Vendor::HubSpot => (
            "/crm/v3/objects/contacts",
            json!({"properties": {"lastname": "L"}}),
        ),
        Vendor::Salesforce => (
            "/services/data/v62.0/sobjects/Contact/",
            json!({"LastName": "L"}),
        ),
        Vendor::Attio => (
            "/v2/objects/people/records",
            json!({"data": {"values": {"job_title": "CTO"}}}),
        ),
    }
}

fn person_object(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::HubSpot => "contacts",
        Vendor::Salesforce => "Contact",
        Vendor::Attio => "people",
    }
}

#[test]
fn vendor_names_round_trip() {
    assert_eq!(
        Vendor::ALL,
        [Vendor::HubSpot, Vendor::Salesforce, Vendor::Attio]
    );
    for vendor in Vendor::ALL {
        assert_eq!(Vendor::from_name(vendor.name()), Some(vendor));
        assert_eq!(
            Vendor::from_name(&vendor.name().to_uppercase()),
            Some(vendor)
        );
    }
    assert_eq!(
        Vendor::from_name("HubSpot").map(|v| v.name()),
        Some("hubspot")
    );
    assert_eq!(Vendor::from_name("pipedrive"), None);
}

#[tokio::test]
async fn inspection_reset_and_shutdown() {
    for vendor in Vendor::ALL {
        let sb = start(vendor).await;
        assert_eq!(sb.vendor(), Some(vendor));
        assert_eq!(sb.provider(), vendor.name());
        assert_eq!(sb.token(), TOKEN);
        assert_eq!(sb.url(), format!("http://127.0.0.1:{}", sb.addr().port()));
        assert!(!sb.url().ends_with('/'));

        let (path, body) = valid_create(vendor);
        let reply = common::post(&sb, path, body.clone()).await;
        assert!(
            reply.status == 200 || reply.status == 201,
            "{vendor}: {:?}",
            reply.body
        );
        let _ = get(&sb, "/nowhere?x=1").await;
        assert_eq!(sb.request_count(), 2);
        let seen: Vec<(String, String, u16, Value)> = sb
            .requests()
            .into_iter()
            .map(|r: RecordedRequest| (r.method, r.path, r.status, r.body))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("POST".to_string(), path.to_string(), reply.status, body),
                (
                    "GET".to_string(),
                    "/nowhere?x=1".to_string(),
                    404,
                    Value::Null
                ),
            ]
        );
        assert_eq!(sb.records(person_object(vendor)).len(), 1);
        assert!(sb.records("no-such-object").is_empty());

        sb.reset();
        assert_eq!(sb.request_count(), 0);
        assert!(sb.requests().is_empty());
        assert!(sb.records(person_object(vendor)).is_empty());

        let addr = sb.addr();
        drop(sb);
        let mut refused = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            refused,
            "{vendor}: server still accepts connections after drop"
        );
    }
}

#[tokio::test]
async fn start_on_explicit_address_and_router() {
    let sb = Sandbox::start_on(Vendor::Attio, "127.0.0.1:0".parse().unwrap(), "t")
        .await
        .unwrap();
    assert_ne!(sb.addr().port(), 0);
    assert_eq!(sb.state().vendor(), Some(Vendor::Attio));

    let (app, state) = router(Vendor::HubSpot, "t");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let status = reqwest::Client::new()
        .get(format!("http://{addr}/crm/v3/objects/contacts/1"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    assert_eq!(state.request_count(), 1);
    server.abort();
}

/// Odd bodies never crash a handler: each gets a vendor-style 4xx and the server lives on.
#[tokio::test]
async fn odd_bodies_are_rejected_not_fatal() {
    let odd = [
        "",
        "null",
        "[]",
        "\"x\"",
        "42",
        "{",
        "{}",
        "{\"properties\": null}",
        "{\"properties\": {\"email\": {}}}",
        "{\"data\": []}",
        "{\"data\": {\"values\": []}}",
        "{\"data\": {\"values\": {\"name\": [null]}}}",
        "{\"LastName\": []}",
        "{\"associations\": 7, \"properties\": {}}",
        "\u{0}\u{1}",
        "{\"data\": {\"values\": {\"company\": [{\"target_object\": 1}]}}}",
        "{\"properties\": {\"lastname\": \"L\"}, \"associations\": [{\"to\": {}, \"types\": []}]}",
    ];
    for vendor in Vendor::ALL {
        let sb = start(vendor).await;
        let (path, _) = valid_create(vendor);
        for body in odd {
            let reply = send_raw(&sb, Method::POST, path, Some(body)).await;
            let status = reply.status;
            assert!(
                (400..500).contains(&status) || status == 201 || status == 200,
                "{vendor} {body:?}: {status}"
            );
            match vendor {
                Vendor::HubSpot if status >= 400 => assert_eq!(reply.body["status"], "error"),
                Vendor::Salesforce if status >= 400 => {
                    assert!(reply.body[0]["errorCode"].is_string())
                }
                Vendor::Attio if status >= 400 => assert_eq!(reply.body["status_code"], status),
                _ => {}
            }
        }
        assert_eq!(sb.request_count(), odd.len());
    }
}

/// Seeding is direct (no requests) and gives distinct ids at large volumes; its speed
/// is measured by `cargo bench --bench list_records`, not asserted here. One test per
/// vendor so that they run in parallel.
async fn seed_100k(vendor: Vendor, object: &str) {
    let sb = start(vendor).await;
    let ids = sb.seed(object, 100_000);
    assert_eq!(ids.len(), 100_000);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(sb.request_count(), 0);
    assert!(sb.associations().is_empty());
    assert_eq!(sb.state().seed(object, 1).len(), 1);
}

#[tokio::test]
async fn seeding_hubspot_makes_distinct_records() {
    seed_100k(Vendor::HubSpot, "contacts").await;
}

#[tokio::test]
async fn seeding_salesforce_makes_distinct_records() {
    seed_100k(Vendor::Salesforce, "Contact").await;
}

#[tokio::test]
async fn seeding_attio_makes_distinct_records() {
    seed_100k(Vendor::Attio, "people").await;
}
