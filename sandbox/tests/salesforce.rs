//! Salesforce REST emulator against the shapes in providers.md §2.

mod common;

use common::{get, keys, post, send_as, send_raw, start};
use reqwest::Method;
use serde_json::{Value, json};
use unifold_sandbox::Vendor;

const BASE: &str = "/services/data/v62.0/sobjects";

fn is_sf_time(value: &Value) -> bool {
    let s = value.as_str().unwrap_or("");
    s.len() == 28 && s.ends_with("+0000") && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

async fn create(sb: &unifold_sandbox::Sandbox, sobject: &str, body: Value) -> common::Reply {
    post(sb, &format!("{BASE}/{sobject}/"), body).await
}

#[tokio::test]
async fn create_then_get_contact() {
    let sb = start(Vendor::Salesforce).await;
    let created = create(
        &sb,
        "Contact",
        json!({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"}),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(keys(&created.body), ["errors", "id", "success"]);
    assert_eq!(created.body["success"], true);
    assert_eq!(created.body["errors"], json!([]));
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("003"));
    assert_eq!(
        created.header("sforce-limit-info"),
        Some("api-usage=1/15000")
    );

    let read = get(&sb, &format!("/services/data/v63.0/sobjects/Contact/{id}")).await;
    assert_eq!(read.status, 200);
    let r = &read.body;
    assert_eq!(
        keys(r),
        [
            "AccountId",
            "CreatedById",
            "CreatedDate",
            "Department",
            "Description",
            "Email",
            "FirstName",
            "Id",
            "IsDeleted",
            "LastModifiedById",
            "LastModifiedDate",
            "LastName",
            "MobilePhone",
            "OwnerId",
            "Phone",
            "SystemModstamp",
            "Title",
            "attributes"
        ]
    );
    assert_eq!(
        r["attributes"],
        json!({"type": "Contact", "url": format!("/services/data/v63.0/sobjects/Contact/{id}")})
    );
    assert_eq!(r["Id"], id.as_str());
    assert_eq!(r["FirstName"], "Ada");
    assert_eq!(r["Phone"], Value::Null);
    assert_eq!(r["IsDeleted"], false);
    assert!(r["OwnerId"].as_str().unwrap().starts_with("005"));
    for key in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        assert!(is_sf_time(&r[key]), "{key}: {}", r[key]);
    }
    assert_eq!(read.header("sforce-limit-info"), Some("api-usage=2/15000"));

    let read = get(
        &sb,
        &format!("{BASE}/Contact/{id}?fields=Id,firstname,Email"),
    )
    .await;
    assert_eq!(
        read.body,
        json!({
            "attributes": {"type": "Contact", "url": format!("/services/data/v62.0/sobjects/Contact/{id}")},
            "Id": id, "FirstName": "Ada", "Email": "ada@example.com"
        })
    );
    // 15-character ids resolve too.
    assert_eq!(
        get(&sb, &format!("{BASE}/Contact/{}", &id[..15]))
            .await
            .status,
        200
    );

    let records = sb.records("Contact");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["LastName"], "Lovelace");
    assert_eq!(records[0]["attributes"]["type"], "Contact");
}

#[tokio::test]
async fn both_path_forms_and_typed_fields() {
    let sb = start(Vendor::Salesforce).await;
    let account = post(
        &sb,
        &format!("{BASE}/Account"),
        json!({"Name": "Acme", "NumberOfEmployees": 12, "AnnualRevenue": "1000000"}),
    )
    .await;
    assert_eq!(account.status, 201, "{:?}", account.body);
    let account_id = account.body["id"].as_str().unwrap().to_owned();
    assert!(account_id.starts_with("001"));

    let opp = create(&sb, "Opportunity", json!({"Name": "Renewal", "StageName": "Closed Won", "CloseDate": "2025-06-30", "Amount": 1500, "AccountId": account_id})).await;
    assert_eq!(opp.status, 201, "{:?}", opp.body);
    assert!(opp.body["id"].as_str().unwrap().starts_with("006"));
    let read = get(
        &sb,
        &format!("{BASE}/Opportunity/{}", opp.body["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(read.body["Amount"], json!(1500.0));
    assert_eq!(read.body["IsWon"], true);
    assert_eq!(read.body["IsClosed"], true);
    assert_eq!(read.body["Probability"], json!(100.0));
    assert_eq!(read.body["AccountId"], account_id.as_str());
    assert_eq!(sb.records("Account")[0]["NumberOfEmployees"], 12);
    assert_eq!(
        sb.records("Account")[0]["AnnualRevenue"],
        json!(1_000_000.0)
    );
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let sb = start(Vendor::Salesforce).await;
    for token in [None, Some("nope")] {
        let reply = send_as(
            &sb,
            Method::GET,
            &format!("{BASE}/Contact/003000000000000AAA"),
            token,
            None,
        )
        .await;
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.body,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        );
        assert!(reply.header("sforce-limit-info").is_some());
    }
    assert_eq!(sb.request_count(), 2);
    assert!(sb.requests().iter().all(|r| r.status == 401));
}

#[tokio::test]
async fn validation_errors() {
    let sb = start(Vendor::Salesforce).await;
    let reply = create(&sb, "Contact", json!({"LastName": "L", "Foo": 1})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!([{"message": "No such column 'Foo' on sobject of type Contact", "errorCode": "INVALID_FIELD"}])
    );

    let reply = create(&sb, "Contact", json!({"FirstName": "Ada", "LastName": ""})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!([{"message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}])
    );

    let reply = create(&sb, "Opportunity", json!({"Amount": 5})).await;
    assert_eq!(
        reply.body,
        json!([{"message": "Required fields are missing: [Name, StageName, CloseDate]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name", "StageName", "CloseDate"]}])
    );

    let reply = create(&sb, "Contact", json!({"LastName": "L", "Email": "nope"})).await;
    assert_eq!(
        reply.body,
        json!([{"message": "Email: invalid email address: nope", "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}])
    );

    let reply = create(
        &sb,
        "Opportunity",
        json!({"Name": "N", "StageName": "Prospecting", "CloseDate": "2025-06-30", "IsWon": true}),
    )
    .await;
    assert_eq!(
        reply.body[0]["errorCode"],
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    );
    assert_eq!(reply.body[0]["fields"], json!(["IsWon"]));

    let reply = create(
        &sb,
        "Opportunity",
        json!({"Name": "N", "StageName": "Prospecting", "CloseDate": "30/06/2025"}),
    )
    .await;
    assert_eq!(reply.body[0]["errorCode"], "JSON_PARSER_ERROR");

    let reply = create(&sb, "Contact", json!({"LastName": "L", "AccountId": "abc"})).await;
    assert_eq!(
        reply.body,
        json!([{"message": "Account ID: id value of incorrect type: abc", "errorCode": "MALFORMED_ID", "fields": ["AccountId"]}])
    );
    let reply = create(
        &sb,
        "Contact",
        json!({"LastName": "L", "AccountId": "001000000000001AAA"}),
    )
    .await;
    assert_eq!(
        reply.body[0]["errorCode"],
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
    );

    let reply = create(&sb, "Contact", json!({"LastName": "x".repeat(81)})).await;
    assert_eq!(reply.body[0]["errorCode"], "STRING_TOO_LONG");

    let reply = send_raw(
        &sb,
        Method::POST,
        &format!("{BASE}/Contact/"),
        Some("{\"LastName\": }"),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body[0]["errorCode"], "JSON_PARSER_ERROR");
    assert_eq!(
        reply.body[0]["message"],
        "expected value at [line:1, column:14]"
    );

    assert!(sb.records("Contact").is_empty() && sb.records("Opportunity").is_empty());
    assert_eq!(sb.request_count(), 10);
    assert!(sb.requests().iter().all(|r| r.status == 400));
}

#[tokio::test]
async fn duplicate_email_is_duplicates_detected_with_existing_id() {
    let sb = start(Vendor::Salesforce).await;
    let first = create(
        &sb,
        "Contact",
        json!({"LastName": "Lovelace", "Email": "ada@example.com"}),
    )
    .await;
    let existing = first.body["id"].as_str().unwrap();
    let again = post(
        &sb,
        "/services/data/v60.0/sobjects/Contact",
        json!({"LastName": "L2", "Email": "ADA@example.com"}),
    )
    .await;
    assert_eq!(again.status, 400);
    let message =
        "You're creating a duplicate record. We recommend you use an existing record instead.";
    assert_eq!(
        again.body,
        json!([{
            "duplicateResut": {
                "allowSave": false,
                "duplicateRule": "Standard_Contact_Duplicate_Rule",
                "duplicateRuleEntityType": "Contact",
                "errorMessage": message,
                "matchResults": [{
                    "entityType": "Contact",
                    "errors": [],
                    "matchEngine": "FuzzyMatchEngine",
                    "matchRecords": [{
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {"attributes": {"type": "Contact", "url": format!("/services/data/v60.0/sobjects/Contact/{existing}")}, "Id": existing}
                    }],
                    "rule": "Standard_Contact_Match_Rule_v1_1",
                    "size": 1,
                    "success": true
                }]
            },
            "errorCode": "DUPLICATES_DETECTED",
            "message": message
        }])
    );
    assert_eq!(sb.records("Contact").len(), 1);
}

#[tokio::test]
async fn not_found_bodies() {
    let sb = start(Vendor::Salesforce).await;
    let not_found =
        json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]);
    for path in [
        format!("{BASE}/Contact/003000000000000AAA"),
        format!("{BASE}/Contact/garbage"),
        format!("{BASE}/Lead/00Q000000000000AAA"),
        "/services/data/v62/sobjects/Contact/003000000000000AAA".to_owned(),
        "/services/data/v62.0/nothing".to_owned(),
    ] {
        let reply = get(&sb, &path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.body, not_found, "{path}");
    }
    let reply = get(
        &sb,
        &format!("{BASE}/Contact/003000000000000AAA?fields=Id,Bogus"),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body[0]["errorCode"], "INVALID_FIELD");
    assert!(
        reply.body[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("No such column 'Bogus' on entity 'Contact'.")
    );
}
