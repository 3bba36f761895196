//! HubSpot CRM v3 emulator against the shapes in providers.md §1.

mod common;

use common::{get, keys, post, send_as, send_raw, start, uuid};
use reqwest::Method;
use serde_json::{Value, json};
use unifold_sandbox::Vendor;

const CONTACTS: &str = "/crm/v3/objects/contacts";

fn ada() -> Value {
    json!({"properties": {
        "email": "ada@example.com",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "phone": "+44 20 7946 0000"
    }})
}

fn is_hubspot_time(value: &Value) -> bool {
    let s = value.as_str().unwrap_or("");
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

#[tokio::test]
async fn create_then_get_contact() {
    let sb = start(Vendor::HubSpot).await;
    let created = post(&sb, CONTACTS, ada()).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let body = &created.body;
    assert_eq!(
        keys(body),
        ["archived", "createdAt", "id", "properties", "updatedAt"]
    );
    assert_eq!(body["id"], "512");
    assert_eq!(body["archived"], false);
    assert!(is_hubspot_time(&body["createdAt"]), "{}", body["createdAt"]);
    let props = &body["properties"];
    assert_eq!(
        keys(props),
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
            "phone"
        ]
    );
    assert_eq!(props["hs_object_id"], "512");
    assert_eq!(props["createdate"], body["createdAt"]);
    assert_eq!(props["lastmodifieddate"], body["updatedAt"]);
    assert_eq!(props["phone"], "+44 20 7946 0000");
    assert_eq!(created.header("x-hubspot-ratelimit-max"), Some("100"));
    assert_eq!(created.header("x-hubspot-ratelimit-remaining"), Some("99"));
    assert_eq!(
        created.header("x-hubspot-ratelimit-interval-milliseconds"),
        Some("10000")
    );

    // Default property set: phone is not in it.
    let read = get(&sb, "/crm/v3/objects/contacts/512").await;
    assert_eq!(read.status, 200);
    assert_eq!(
        keys(&read.body["properties"]),
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ]
    );
    assert_eq!(read.body["createdAt"], body["createdAt"]);
    assert_eq!(read.header("x-hubspot-ratelimit-remaining"), Some("98"));

    // Requested properties: unset ones are null, unknown ones ignored.
    let read = get(
        &sb,
        "/crm/v3/objects/contacts/512?properties=phone,jobtitle,nonsense",
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.body["properties"],
        json!({
            "createdate": body["createdAt"],
            "hs_object_id": "512",
            "jobtitle": null,
            "lastmodifieddate": body["updatedAt"],
            "phone": "+44 20 7946 0000"
        })
    );

    // Read by email.
    let read = get(
        &sb,
        "/crm/v3/objects/contacts/ADA@example.com?idProperty=email",
    )
    .await;
    assert_eq!(read.body["id"], "512");

    // Second record gets the next id; the store keeps creation order.
    let second = post(
        &sb,
        CONTACTS,
        json!({"properties": {"email": "grace@example.com"}}),
    )
    .await;
    assert_eq!(second.body["id"], "513");
    let records = sb.records("contacts");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0], created.body);
    assert_eq!(records[1]["properties"]["email"], "grace@example.com");
    assert!(sb.records("deals").is_empty());
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let sb = start(Vendor::HubSpot).await;
    for token in [None, Some("wrong")] {
        let reply = send_as(&sb, Method::POST, CONTACTS, token, Some(ada().to_string())).await;
        assert_eq!(reply.status, 401);
        assert_eq!(
            keys(&reply.body),
            ["category", "correlationId", "message", "status"]
        );
        assert_eq!(reply.body["status"], "error");
        assert_eq!(reply.body["category"], "INVALID_AUTHENTICATION");
        assert_eq!(
            reply.body["message"],
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
        );
        uuid(&reply.body["correlationId"]);
    }
    assert_eq!(sb.request_count(), 2);
    assert!(sb.records("contacts").is_empty());
    let log = sb.requests();
    assert_eq!(log[0].status, 401);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, CONTACTS);
    assert_eq!(log[0].body, ada());
}

#[tokio::test]
async fn unknown_property_is_rejected_with_hubspot_body() {
    let sb = start(Vendor::HubSpot).await;
    let reply = post(
        &sb,
        CONTACTS,
        json!({"properties": {"email": "a@b.co", "foo": "x"}}),
    )
    .await;
    assert_eq!(reply.status, 400);
    let body = &reply.body;
    assert_eq!(body["status"], "error");
    assert_eq!(body["category"], "VALIDATION_ERROR");
    uuid(&body["correlationId"]);
    let message = body["message"].as_str().unwrap();
    let embedded = message
        .strip_prefix("Property values were not valid: ")
        .expect("prefix");
    assert!(
        embedded.starts_with(r#"[{"isValid":false,"message":"Property \"foo\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"foo","localizedErrorMessage":"Property \"foo\" does not exist","portalId":"#),
        "{embedded}"
    );
    let parsed: Value = serde_json::from_str(embedded).expect("message embeds a JSON array");
    assert_eq!(parsed[0]["error"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(
        body["errors"],
        json!([{"message": "Property \"foo\" does not exist", "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": ["foo"]}}])
    );
    assert!(sb.records("contacts").is_empty());
}

#[tokio::test]
async fn value_errors() {
    let sb = start(Vendor::HubSpot).await;
    // Non-string value.
    let reply = post(
        &sb,
        "/crm/v3/objects/deals",
        json!({"properties": {"dealname": "X", "amount": 1500}}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert_eq!(
        reply.body["errors"][0]["code"],
        "INVALID_PROPERTY_VALUE_TYPE"
    );
    assert_eq!(
        reply.body["errors"][0]["context"],
        json!({"propertyName": ["amount"]})
    );
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Property values were not valid: [{")
    );

    // Not a number.
    let reply = post(
        &sb,
        "/crm/v3/objects/deals",
        json!({"properties": {"amount": "lots"}}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errors"][0]["code"], "INVALID_INTEGER");
    assert_eq!(
        reply.body["errors"][0]["message"],
        "lots was not a valid number."
    );

    // Bad email.
    let reply = post(
        &sb,
        CONTACTS,
        json!({"properties": {"email": "not-an-email"}}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errors"][0]["code"], "INVALID_EMAIL");
    let message = reply.body["message"].as_str().unwrap();
    assert!(
        message.contains(r#""error":"INVALID_EMAIL","name":"email""#),
        "{message}"
    );

    // Read-only and enumerated properties.
    let reply = post(
        &sb,
        CONTACTS,
        json!({"properties": {"hs_object_id": "1", "lifecyclestage": "vip"}}),
    )
    .await;
    assert_eq!(reply.status, 400);
    let codes: Vec<&Value> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["code"])
        .collect();
    assert_eq!(codes, [&json!("READ_ONLY_VALUE"), &json!("INVALID_OPTION")]);

    // properties must be an object.
    let reply = post(&sb, CONTACTS, json!({"properties": ["email"]})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    let reply = post(&sb, CONTACTS, json!({})).await;
    assert_eq!(reply.status, 400);

    // Malformed JSON.
    let reply = send_raw(&sb, Method::POST, CONTACTS, Some("{\"properties\": {")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid input JSON on line 1, column 16: "),
        "{}",
        reply.body["message"]
    );
    assert!(sb.records("contacts").is_empty() && sb.records("deals").is_empty());
    assert_eq!(sb.request_count(), 7);
}

#[tokio::test]
async fn duplicate_email_is_409_with_existing_id() {
    let sb = start(Vendor::HubSpot).await;
    let first = post(&sb, CONTACTS, ada()).await;
    assert_eq!(first.status, 201);
    let again = post(
        &sb,
        CONTACTS,
        json!({"properties": {"email": "Ada@Example.com"}}),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        keys(&again.body),
        ["category", "correlationId", "message", "status"]
    );
    assert_eq!(again.body["category"], "CONFLICT");
    assert_eq!(
        again.body["message"],
        format!(
            "Contact already exists. Existing ID: {}",
            first.body["id"].as_str().unwrap()
        )
    );
    assert_eq!(sb.records("contacts").len(), 1);
}

#[tokio::test]
async fn not_found_and_unknown_paths() {
    let sb = start(Vendor::HubSpot).await;
    let reply = get(&sb, "/crm/v3/objects/contacts/999").await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        keys(&reply.body),
        ["category", "context", "correlationId", "message", "status"]
    );
    assert_eq!(
        reply.body["message"],
        "Object not found.  objectId are usually numeric."
    );
    assert_eq!(reply.body["category"], "OBJECT_NOT_FOUND");
    assert_eq!(reply.body["context"], json!({"id": ["999"]}));

    let reply = get(&sb, "/crm/v3/objects/widgets/1").await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["message"],
        "Unable to infer object type from: widgets"
    );

    let reply = get(&sb, "/crm/v3/nothing-here").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["status"], "error");

    let reply = send_raw(&sb, Method::PUT, CONTACTS, None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(sb.request_count(), 4);
}

#[tokio::test]
async fn inline_associations_are_validated_and_readable_from_both_ends() {
    let sb = start(Vendor::HubSpot).await;
    let company = post(
        &sb,
        "/crm/v3/objects/companies",
        json!({"properties": {"name": "Acme", "domain": "acme.com"}}),
    )
    .await;
    assert_eq!(company.status, 201);
    assert!(
        company.body["properties"]
            .get("hs_lastmodifieddate")
            .is_some()
    );
    let company_id = company.body["id"].as_str().unwrap().to_owned();

    let mut body = ada();
    body["associations"] = json!([{"to": {"id": company_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]}]);
    let contact = post(&sb, CONTACTS, body).await;
    assert_eq!(contact.status, 201, "{:?}", contact.body);
    assert!(contact.body.get("associations").is_none());
    let contact_id = contact.body["id"].as_str().unwrap();

    let read = get(
        &sb,
        &format!("/crm/v3/objects/contacts/{contact_id}?associations=companies"),
    )
    .await;
    assert_eq!(
        read.body["associations"],
        json!({"companies": {"results": [
            {"id": company_id, "type": "contact_to_company"},
            {"id": company_id, "type": "contact_to_company_unlabeled"}
        ]}})
    );
    let read = get(
        &sb,
        &format!("/crm/v3/objects/0-2/{company_id}?associations=contacts,deals"),
    )
    .await;
    assert_eq!(
        read.body["associations"],
        json!({"contacts": {"results": [
            {"id": contact_id, "type": "company_to_contact"},
            {"id": contact_id, "type": "company_to_contact_unlabeled"}
        ]}})
    );

    // Missing target and wrong direction are rejected.
    let bad_target = json!({"properties": {"dealname": "D"}, "associations": [{"to": {"id": "404404"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]}]});
    let reply = post(&sb, "/crm/v3/objects/deals", bad_target).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    let wrong_type = json!({"properties": {"dealname": "D"}, "associations": [{"to": {"id": company_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]});
    let reply = post(&sb, "/crm/v3/objects/deals", wrong_type).await;
    assert_eq!(reply.status, 400);
    assert!(sb.records("deals").is_empty());
}

#[tokio::test]
async fn deal_dates_are_normalized() {
    let sb = start(Vendor::HubSpot).await;
    let deal = post(
        &sb,
        "/crm/v3/objects/deals",
        json!({"properties": {"dealname": "Renewal", "amount": "1500.00", "dealstage": "closedwon", "pipeline": "default", "closedate": "2025-06-30"}}),
    )
    .await;
    assert_eq!(deal.status, 201, "{:?}", deal.body);
    assert_eq!(
        deal.body["properties"]["closedate"],
        "2025-06-30T00:00:00.000Z"
    );
    assert_eq!(deal.body["properties"]["amount"], "1500.00");
    let read = get(
        &sb,
        &format!(
            "/crm/v3/objects/deals/{}",
            deal.body["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        keys(&read.body["properties"]),
        [
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline"
        ]
    );
}
