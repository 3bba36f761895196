//! HubSpot CRM v3 emulator against the shapes in providers.md §1.

mod common;

use common::{get, keys, post, send, send_as, send_raw, start, uuid};
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
    // `associations` of the wrong JSON type, `null` included, is HubSpot's binding error.
    for associations in [json!(null), json!({}), json!("x"), json!([1])] {
        let body = json!({"properties": {"dealname": "D"}, "associations": associations});
        let reply = post(&sb, "/crm/v3/objects/deals", body).await;
        assert_eq!(reply.status, 400, "{associations}");
        assert_eq!(reply.body["status"], "error");
        assert_eq!(reply.body["category"], "VALIDATION_ERROR", "{associations}");
        uuid(&reply.body["correlationId"]);
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid input JSON on line 1, column 1: "),
            "{:?}",
            reply.body
        );
    }
    assert!(sb.records("deals").is_empty());
}

#[tokio::test]
async fn batch_errors_are_standard_errors() {
    let sb = start(Vendor::HubSpot).await;
    let reply = post(
        &sb,
        "/crm/v3/objects/contacts/batch/create",
        json!({"inputs": [
            {"properties": {"email": "ada@example.com"}, "objectWriteTraceId": "good"},
            {"properties": {"email": "not-an-email"}, "objectWriteTraceId": "bad"},
            {"properties": {"nope": "x"}, "objectWriteTraceId": "unknown"},
        ]}),
    )
    .await;
    assert_eq!(reply.status, 207, "{:?}", reply.body);
    assert_eq!(reply.body["numErrors"], 2);
    assert_eq!(reply.body["results"][0]["objectWriteTraceId"], "good");
    let errors = reply.body["errors"].as_array().unwrap();
    // HubSpot's StandardError requires status, category, message, context, errors, links.
    for error in errors {
        assert_eq!(
            keys(error),
            [
                "category", "context", "errors", "links", "message", "status"
            ]
        );
        assert_eq!(error["links"], json!({}));
    }
    assert_eq!(errors[0]["context"], json!({"objectWriteTraceId": ["bad"]}));
    assert_eq!(
        errors[0]["errors"],
        json!([{"message": "Email address not-an-email is invalid", "code": "INVALID_EMAIL", "context": {"propertyName": ["email"]}}])
    );
    assert_eq!(
        errors[1]["context"],
        json!({"objectWriteTraceId": ["unknown"]})
    );
    assert_eq!(errors[1]["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(sb.records("contacts").len(), 1);

    let reply = post(
        &sb,
        "/crm/v3/objects/contacts/batch/update",
        json!({"inputs": [{"id": "404404", "properties": {"firstname": "X"}}]}),
    )
    .await;
    assert_eq!(reply.status, 207, "{:?}", reply.body);
    let error = &reply.body["errors"][0];
    assert_eq!(
        keys(error),
        [
            "category", "context", "errors", "links", "message", "status"
        ]
    );
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(error["context"], json!({"ids": ["404404"]}));
}

#[tokio::test]
async fn a_batch_input_of_the_wrong_shape_fails_the_whole_batch() {
    let sb = start(Vendor::HubSpot).await;
    let id = sb.seed("contacts", 1).remove(0);
    for (path, bad) in [
        ("create", json!({"properties": {}, "associations": null})),
        ("create", json!({"properties": null})),
        ("create", json!({"objectWriteTraceId": "no properties"})),
        (
            "create",
            json!({"properties": {}, "objectWriteTraceId": {}}),
        ),
        ("create", json!({"properties": {"firstname": {}}})),
        ("create", json!("not an object")),
        (
            "update",
            json!({"id": "512", "properties": {"firstname": 5}}),
        ),
        ("update", json!({"id": 512, "properties": {}})),
    ] {
        // A valid input beside the bad one, which would be written on its own.
        let good = match path {
            "create" => json!({"properties": {"email": "ada@example.com"}}),
            _ => json!({"id": id, "properties": {"firstname": "Ada"}}),
        };
        let body = json!({"inputs": [good, bad.clone()]});
        let reply = post(&sb, &format!("{CONTACTS}/batch/{path}"), body).await;
        assert_eq!(reply.status, 400, "{bad}: {:?}", reply.body);
        assert_eq!(reply.body["category"], "VALIDATION_ERROR", "{bad}");
        uuid(&reply.body["correlationId"]);
    }
    let stored = sb.records("contacts");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["properties"]["firstname"], "Person");
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

fn path_of(object: &str, id: &Value) -> String {
    format!("/crm/v3/objects/{object}/{}", id.as_str().unwrap())
}

#[tokio::test]
async fn update_archive_and_not_found() {
    let sb = start(Vendor::HubSpot).await;
    let created = post(&sb, CONTACTS, ada()).await;
    let path = path_of("contacts", &created.body["id"]);

    let updated = send(
        &sb,
        Method::PATCH,
        &path,
        Some(json!({"properties": {"firstname": "Augusta", "phone": ""}})),
    )
    .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    let body = &updated.body;
    assert_eq!(body["properties"]["firstname"], "Augusta");
    assert!(body["properties"].get("phone").is_none(), "\"\" clears");
    assert_eq!(body["properties"]["lastname"], "Lovelace");
    assert_eq!(body["createdAt"], created.body["createdAt"]);
    assert!(is_hubspot_time(&body["updatedAt"]));
    assert!(body["updatedAt"].as_str() > created.body["updatedAt"].as_str());
    assert_eq!(body["properties"]["lastmodifieddate"], body["updatedAt"]);

    // Same validation as create; empty or missing properties.
    let reply = send(
        &sb,
        Method::PATCH,
        &path,
        Some(json!({"properties": {"foo": "x"}})),
    )
    .await;
    assert_eq!(reply.body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    for empty in [json!({"properties": {}}), json!({})] {
        let reply = send(&sb, Method::PATCH, &path, Some(empty)).await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.body["category"], "VALIDATION_ERROR");
        assert_eq!(
            reply.body["message"],
            "No properties found to update, please provide at least one."
        );
    }
    let reply = send(
        &sb,
        Method::PATCH,
        "/crm/v3/objects/contacts/999999",
        Some(json!({"properties": {"firstname": "X"}})),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(keys(&reply.body), ["correlationId", "message", "status"]);
    assert_eq!(reply.body["message"], "resource not found");

    // Taking another contact's email is a conflict; keeping one's own is not.
    let grace = post(
        &sb,
        CONTACTS,
        json!({"properties": {"email": "grace@example.com"}}),
    )
    .await;
    let grace_path = path_of("contacts", &grace.body["id"]);
    let reply = send(
        &sb,
        Method::PATCH,
        &grace_path,
        Some(json!({"properties": {"email": "ADA@example.com"}})),
    )
    .await;
    assert_eq!(reply.status, 409);
    assert_eq!(
        reply.body["message"],
        format!(
            "Contact already exists. Existing ID: {}",
            created.body["id"].as_str().unwrap()
        )
    );
    let reply = send(
        &sb,
        Method::PATCH,
        &grace_path,
        Some(json!({"properties": {"email": "grace@example.com"}})),
    )
    .await;
    assert_eq!(reply.status, 200);

    // Archive: gone from GET and list, visible with archived=true.
    let reply = send(&sb, Method::DELETE, &path, None).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, Value::Null);
    assert_eq!(get(&sb, &path).await.status, 404);
    let archived = get(&sb, &format!("{path}?archived=true")).await;
    assert_eq!(archived.status, 200);
    assert_eq!(archived.body["archived"], true);
    assert!(is_hubspot_time(&archived.body["archivedAt"]));
    let listed = get(&sb, CONTACTS).await;
    assert_eq!(listed.body["results"].as_array().unwrap().len(), 1);
    let listed = get(&sb, &format!("{CONTACTS}?archived=true")).await;
    assert_eq!(listed.body["results"][0]["id"], created.body["id"]);
    let again = send(&sb, Method::DELETE, &path, None).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body["category"], "OBJECT_NOT_FOUND");
    // The archived contact's email is free again.
    assert_eq!(post(&sb, CONTACTS, ada()).await.status, 201);
}

#[tokio::test]
async fn list_pages_through_seeded_records_once() {
    let sb = start(Vendor::HubSpot).await;
    let seeded = sb.seed("contacts", 250);
    assert_eq!(seeded.len(), 250);
    assert_eq!(sb.request_count(), 0, "seeding is not HTTP");

    let mut seen = Vec::new();
    let mut path = format!("{CONTACTS}?limit=100&properties=email");
    let mut pages = Vec::new();
    loop {
        let page = get(&sb, &path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let results = page.body["results"].as_array().unwrap();
        pages.push(results.len());
        seen.extend(results.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page.body.get("paging") {
            Some(paging) => {
                let after = paging["next"]["after"].as_str().unwrap();
                assert_eq!(paging["next"]["link"], format!("?after={after}"));
                path = format!("{CONTACTS}?limit=100&properties=email&after={after}");
            }
            None => break,
        }
    }
    assert_eq!(pages, [100, 100, 50]);
    assert_eq!(seen, seeded);

    let first = get(&sb, CONTACTS).await;
    assert_eq!(first.body["results"].as_array().unwrap().len(), 10);
    assert_eq!(
        first.body["results"][0]["properties"]["email"],
        "person1@example.com"
    );
    assert_eq!(
        first.body["results"][0]["properties"]["firstname"],
        "Person"
    );
    assert_eq!(first.body["results"][0]["properties"]["lastname"], "1");

    let reply = get(&sb, &format!("{CONTACTS}?limit=101")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("between 1 and 100")
    );
    let reply = get(&sb, &format!("{CONTACTS}?after=%%%")).await;
    assert_eq!(reply.status, 400);

    // Seeding continues the numbering and other objects get valid values.
    let more = sb.seed("contacts", 1);
    let read = get(&sb, &path_of("contacts", &json!(more[0]))).await;
    assert_eq!(read.body["properties"]["email"], "person251@example.com");
    let deals = sb.seed("deals", 2);
    let read = get(&sb, &path_of("deals", &json!(deals[1]))).await;
    assert_eq!(read.body["properties"]["dealname"], "Deal 2");
    assert_eq!(read.body["properties"]["amount"], "200");
    assert_eq!(read.body["properties"]["dealstage"], "appointmentscheduled");
    assert!(sb.seed("widgets", 3).is_empty());
}

#[tokio::test]
async fn search_by_email_and_last_modified() {
    let sb = start(Vendor::HubSpot).await;
    let ids = sb.seed("contacts", 30);
    let search = format!("{CONTACTS}/search");

    let by_email = post(
        &sb,
        &search,
        json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "PERSON7@example.com"}]}],
               "properties": ["email", "firstname"]}),
    )
    .await;
    assert_eq!(by_email.status, 200, "{:?}", by_email.body);
    assert_eq!(by_email.body["total"], 1);
    assert_eq!(by_email.body["results"][0]["id"], ids[6].as_str());
    assert_eq!(
        by_email.body["results"][0]["properties"]["email"],
        "person7@example.com"
    );
    assert!(by_email.body.get("paging").is_none());

    // Modified after the seed instant: only the contact updated since.
    let seeded_at = get(&sb, &path_of("contacts", &json!(ids[0]))).await.body["updatedAt"].clone();
    let patched = send(
        &sb,
        Method::PATCH,
        &path_of("contacts", &json!(ids[3])),
        Some(json!({"properties": {"jobtitle": "CTO"}})),
    )
    .await;
    assert_eq!(patched.status, 200);
    let since = post(
        &sb,
        &search,
        json!({"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": seeded_at}]}]}),
    )
    .await;
    assert_eq!(since.body["total"], 1, "{:?}", since.body);
    assert_eq!(since.body["results"][0]["id"], ids[3].as_str());
    // Epoch milliseconds work too.
    let epoch = chrono::DateTime::parse_from_rfc3339(seeded_at.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
        .to_string();
    let since = post(
        &sb,
        &search,
        json!({"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": epoch}]}]}),
    )
    .await;
    assert_eq!(since.body["total"], 1);

    // OR across groups, IN, sorts in both forms, offset paging.
    let either = post(
        &sb,
        &search,
        json!({"filterGroups": [
                {"filters": [{"propertyName": "lastname", "operator": "IN", "values": ["1", "2"]}]},
                {"filters": [{"propertyName": "jobtitle", "operator": "HAS_PROPERTY"}]}],
               "sorts": ["-createdate", {"propertyName": "lastname", "direction": "DESCENDING"}]}),
    )
    .await;
    assert_eq!(either.body["total"], 3);
    let names: Vec<&str> = either.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["lastname"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["4", "2", "1"]);
    let page = post(&sb, &search, json!({"limit": 10, "after": "20"})).await;
    assert_eq!(page.body["total"], 30);
    assert_eq!(page.body["results"][0]["id"], ids[20].as_str());
    assert!(page.body.get("paging").is_none());
    let page = post(&sb, &search, json!({"limit": 10})).await;
    assert_eq!(page.body["paging"]["next"]["after"], "10");

    for bad in [
        json!({"limit": 201}),
        json!({"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "x"}]}]}),
        json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}]}),
        json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ"}]}]}),
        json!({"after": "10000"}),
    ] {
        let reply = post(&sb, &search, bad.clone()).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn v4_associations_from_both_ends() {
    let sb = start(Vendor::HubSpot).await;
    let contact = sb.seed("contacts", 1).remove(0);
    let company = sb.seed("companies", 1).remove(0);

    let made = send(
        &sb,
        Method::PUT,
        &format!("/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"),
        None,
    )
    .await;
    assert_eq!(made.status, 200, "{:?}", made.body);
    assert_eq!(made.body["status"], "COMPLETE");
    assert_eq!(
        made.body["results"][0],
        json!({"from": {"id": contact}, "to": {"id": company}, "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}})
    );
    assert_eq!(sb.associations().len(), 1);
    let link = &sb.associations()[0];
    assert_eq!(
        (
            link.from_type.as_str(),
            link.from_id.as_str(),
            link.to_type.as_str(),
            link.to_id.as_str(),
            link.type_id
        ),
        (
            "contacts",
            contact.as_str(),
            "companies",
            company.as_str(),
            279
        )
    );

    let labelled = send(
        &sb,
        Method::PUT,
        &format!("/crm/v4/objects/contact/{contact}/associations/company/{company}"),
        Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}])),
    )
    .await;
    assert_eq!(labelled.status, 201, "{:?}", labelled.body);
    assert_eq!(
        keys(&labelled.body),
        [
            "fromObjectId",
            "fromObjectTypeId",
            "labels",
            "toObjectId",
            "toObjectTypeId"
        ]
    );
    assert_eq!(labelled.body["fromObjectTypeId"], "0-1");
    assert_eq!(labelled.body["toObjectId"], company.as_str());
    assert_eq!(sb.associations().len(), 2, "279 is not stored twice");

    let listed = get(
        &sb,
        &format!("/crm/v4/objects/contacts/{contact}/associations/companies"),
    )
    .await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.body,
        json!({"results": [{"toObjectId": company, "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": null},
            {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Contact with Primary Company"}
        ]}]})
    );
    // The inverse direction sees the same links with inverse ids.
    let inverse = get(
        &sb,
        &format!("/crm/v4/objects/0-2/{company}/associations/contacts"),
    )
    .await;
    let types: Vec<&Value> = inverse.body["results"][0]["associationTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["typeId"])
        .collect();
    assert_eq!(inverse.body["results"][0]["toObjectId"], contact.as_str());
    assert_eq!(types, [&json!(280), &json!(2)]);
    let v3 = get(
        &sb,
        &format!("/crm/v3/objects/companies/{company}?associations=contacts"),
    )
    .await;
    assert_eq!(
        v3.body["associations"]["contacts"]["results"][0]["type"],
        "company_to_contact_unlabeled"
    );

    // Wrong type for the pair, unknown record.
    let wrong = send(
        &sb,
        Method::PUT,
        &format!("/crm/v4/objects/contacts/{contact}/associations/companies/{company}"),
        Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}])),
    )
    .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.body["category"], "VALIDATION_ERROR");
    let missing = send(
        &sb,
        Method::PUT,
        &format!("/crm/v4/objects/contacts/{contact}/associations/default/companies/1"),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);

    // Paging with a small limit, then removal from the other end.
    let second = sb.seed("companies", 1).remove(0);
    send(
        &sb,
        Method::PUT,
        &format!("/crm/v4/objects/contacts/{contact}/associations/default/companies/{second}"),
        None,
    )
    .await;
    let page = get(
        &sb,
        &format!("/crm/v4/objects/contacts/{contact}/associations/companies?limit=1"),
    )
    .await;
    assert_eq!(page.body["results"].as_array().unwrap().len(), 1);
    let after = page.body["paging"]["next"]["after"].as_str().unwrap();
    let page = get(
        &sb,
        &format!("/crm/v4/objects/contacts/{contact}/associations/companies?limit=1&after={after}"),
    )
    .await;
    assert_eq!(page.body["results"][0]["toObjectId"], second.as_str());
    assert!(page.body.get("paging").is_none());
    let removed = send(
        &sb,
        Method::DELETE,
        &format!("/crm/v4/objects/companies/{company}/associations/contacts/{contact}"),
        None,
    )
    .await;
    assert_eq!(removed.status, 204);
    let listed = get(
        &sb,
        &format!("/crm/v4/objects/contacts/{contact}/associations/companies"),
    )
    .await;
    assert_eq!(listed.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(sb.associations().len(), 1);
}

#[tokio::test]
async fn custom_properties_are_created_through_the_properties_api() {
    let sb = start(Vendor::HubSpot).await;
    // Unknown until created.
    let reply = post(&sb, CONTACTS, json!({"properties": {"linkedin_url": "x"}})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");

    let definition = json!({"name": "linkedin_url", "label": "LinkedIn URL", "type": "string", "fieldType": "text", "groupName": "contactinformation"});
    let created = post(&sb, "/crm/v3/properties/contacts", definition.clone()).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    for (key, value) in [
        ("name", "linkedin_url"),
        ("label", "LinkedIn URL"),
        ("type", "string"),
        ("fieldType", "text"),
        ("groupName", "contactinformation"),
    ] {
        assert_eq!(created.body[key], value, "{key}");
    }
    assert_eq!(created.body["hubspotDefined"], false);
    assert_eq!(created.body["options"], json!([]));
    assert!(is_hubspot_time(&created.body["createdAt"]));
    let read = get(&sb, "/crm/v3/properties/contacts/linkedin_url").await;
    assert_eq!(read.body, created.body);
    let again = post(&sb, "/crm/v3/properties/contacts", definition).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["category"], "OBJECT_ALREADY_EXISTS");
    assert_eq!(
        again.body["message"],
        "Property named 'linkedin_url' already exists."
    );

    let contact = post(
        &sb,
        &format!("{CONTACTS}?properties=linkedin_url"),
        json!({"properties": {"email": "ada@example.com", "linkedin_url": "https://linkedin.com/in/ada"}}),
    )
    .await;
    assert_eq!(contact.status, 201, "{:?}", contact.body);
    assert_eq!(
        sb.records("contacts")[0]["properties"]["linkedin_url"],
        "https://linkedin.com/in/ada"
    );
    let id = contact.body["id"].as_str().unwrap();
    let read = get(&sb, &format!("{CONTACTS}/{id}?properties=linkedin_url")).await;
    assert_eq!(
        read.body["properties"]["linkedin_url"],
        "https://linkedin.com/in/ada"
    );
    let found = post(
        &sb,
        &format!("{CONTACTS}/search"),
        json!({"filterGroups": [{"filters": [{"propertyName": "linkedin_url", "operator": "EQ", "value": "https://linkedin.com/in/ada"}]}]}),
    )
    .await;
    assert_eq!(found.body["total"], 1, "{:?}", found.body);
    // Other contacts' properties, and companies', are still unknown.
    let reply = post(
        &sb,
        CONTACTS,
        json!({"properties": {"twitter_handle": "x"}}),
    )
    .await;
    assert_eq!(reply.body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    let reply = post(
        &sb,
        "/crm/v3/objects/companies",
        json!({"properties": {"linkedin_url": "x"}}),
    )
    .await;
    assert_eq!(reply.body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
}

#[tokio::test]
async fn custom_property_types_and_bad_definitions() {
    let sb = start(Vendor::HubSpot).await;
    let tier = json!({"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select", "groupName": "contactinformation",
        "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}]});
    assert_eq!(
        post(&sb, "/crm/v3/properties/contacts", tier).await.status,
        201
    );
    let score = json!({"name": "score", "label": "Score", "type": "number", "fieldType": "number", "groupName": "contactinformation"});
    assert_eq!(
        post(&sb, "/crm/v3/properties/contacts", score).await.status,
        201
    );
    let reply = post(
        &sb,
        CONTACTS,
        json!({"properties": {"tier": "bronze", "score": "many"}}),
    )
    .await;
    assert_eq!(reply.status, 400);
    let codes: Vec<&Value> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["code"])
        .collect();
    assert_eq!(codes, [&json!("INVALID_INTEGER"), &json!("INVALID_OPTION")]);
    let reply = post(
        &sb,
        CONTACTS,
        json!({"properties": {"tier": "gold", "score": "12"}}),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);

    for (bad, status) in [
        (json!({"name": "x", "label": "X"}), 400),
        (
            json!({"name": "Bad Name", "label": "X", "type": "string", "fieldType": "text", "groupName": "g"}),
            400,
        ),
        (
            json!({"name": "x", "label": "X", "type": "money", "fieldType": "text", "groupName": "g"}),
            400,
        ),
        (
            json!({"name": "x", "label": "X", "type": "number", "fieldType": "select", "groupName": "g"}),
            400,
        ),
        (
            json!({"name": "x", "label": "X", "type": "enumeration", "fieldType": "select", "groupName": "g"}),
            400,
        ),
        (
            json!({"name": "email", "label": "E", "type": "string", "fieldType": "text", "groupName": "g"}),
            409,
        ),
        (
            json!({"name": "createdate", "label": "C", "type": "string", "fieldType": "text", "groupName": "g"}),
            409,
        ),
    ] {
        let reply = post(&sb, "/crm/v3/properties/contacts", bad.clone()).await;
        assert_eq!(reply.status, status, "{bad}: {:?}", reply.body);
        assert_eq!(reply.body["status"], "error");
    }
    assert_eq!(
        post(&sb, "/crm/v3/properties/tickets", json!({}))
            .await
            .status,
        400
    );
    assert_eq!(
        get(&sb, "/crm/v3/properties/contacts/nope").await.status,
        404
    );
    assert_eq!(
        get(&sb, "/crm/v3/properties/contacts/email").await.body["hubspotDefined"],
        true
    );

    // The one-line declaration from a test is the same as the API's text property.
    sb.declare_custom_field("deals", "renewal_notes").unwrap();
    assert_eq!(
        get(&sb, "/crm/v3/properties/deals/renewal_notes")
            .await
            .body["type"],
        "string"
    );
    let error = sb
        .declare_custom_field("deals", "renewal_notes")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot declare custom field `renewal_notes` on `deals`: Property named 'renewal_notes' already exists."
    );
    assert!(sb.declare_custom_field("tickets", "x").is_err());
}
