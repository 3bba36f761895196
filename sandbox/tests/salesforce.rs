//! Salesforce REST emulator against the shapes in providers.md §2.

mod common;

use common::{get, keys, post, send, send_as, send_raw, start};
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

async fn query(sb: &unifold_sandbox::Sandbox, soql: &str) -> common::Reply {
    let q: String = soql
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            b' ' => "+".into(),
            other => format!("%{other:02X}"),
        })
        .collect();
    get(sb, &format!("/services/data/v62.0/query?q={q}")).await
}

#[tokio::test]
async fn update_and_delete() {
    let sb = start(Vendor::Salesforce).await;
    let id = create(
        &sb,
        "Contact",
        json!({"LastName": "Lovelace", "Email": "ada@example.com"}),
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{BASE}/Contact/{id}");
    let before = get(&sb, &path).await.body;

    let reply = send(
        &sb,
        Method::PATCH,
        &path,
        Some(json!({"FirstName": "Ada", "Title": "Analyst"})),
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.body, Value::Null);
    let after = get(&sb, &path).await.body;
    assert_eq!(after["FirstName"], "Ada");
    assert_eq!(after["LastName"], "Lovelace");
    assert_eq!(after["CreatedDate"], before["CreatedDate"]);
    assert!(after["LastModifiedDate"].as_str() > before["LastModifiedDate"].as_str());
    assert_eq!(after["SystemModstamp"], after["LastModifiedDate"]);

    let errors = [
        (json!({"LastName": null}), "REQUIRED_FIELD_MISSING"),
        (json!({"LastName": ""}), "REQUIRED_FIELD_MISSING"),
        (json!({"Foo": 1}), "INVALID_FIELD"),
        (json!({"Email": "nope"}), "INVALID_EMAIL_ADDRESS"),
        (
            json!({"CreatedDate": "2025-01-01T00:00:00.000+0000"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            json!({"AccountId": "001000000000000"}),
            "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        ),
    ];
    for (body, code) in errors {
        let reply = send(&sb, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.body[0]["errorCode"], code, "{body}: {:?}", reply.body);
    }
    let other = create(
        &sb,
        "Contact",
        json!({"LastName": "Hopper", "Email": "grace@example.com"}),
    )
    .await;
    let other_path = format!("{BASE}/Contact/{}", other.body["id"].as_str().unwrap());
    let dup = send(
        &sb,
        Method::PATCH,
        &other_path,
        Some(json!({"Email": "ADA@example.com"})),
    )
    .await;
    assert_eq!(dup.status, 400);
    assert_eq!(dup.body[0]["errorCode"], "DUPLICATES_DETECTED");
    assert_eq!(
        dup.body[0]["duplicateResut"]["matchResults"][0]["matchRecords"][0]["record"]["Id"],
        id.as_str()
    );

    let missing = format!("{BASE}/Contact/003000000000000AAA");
    let reply = send(
        &sb,
        Method::PATCH,
        &missing,
        Some(json!({"FirstName": "X"})),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body,
        json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    );

    assert_eq!(send(&sb, Method::DELETE, &path, None).await.status, 204);
    assert_eq!(get(&sb, &path).await.status, 404);
    let again = send(&sb, Method::DELETE, &path, None).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body[0]["errorCode"], "NOT_FOUND");
    assert_eq!(sb.records("Contact").len(), 1);
}

#[tokio::test]
async fn opportunity_contact_roles() {
    let sb = start(Vendor::Salesforce).await;
    let contact = sb.seed("Contact", 1).remove(0);
    let opportunity = sb.seed("Opportunity", 1).remove(0);
    let ocr = "OpportunityContactRole";

    let reply = create(&sb, ocr, json!({"OpportunityId": opportunity})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(reply.body[0]["fields"], json!(["ContactId"]));
    let reply = create(
        &sb,
        ocr,
        json!({"OpportunityId": opportunity, "ContactId": "0035g0000000zzzAAA"}),
    )
    .await;
    assert_eq!(reply.status, 400, "a contact that does not exist");
    assert_eq!(
        reply.body[0]["errorCode"],
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
    );
    let reply = create(
        &sb,
        ocr,
        json!({"OpportunityId": contact, "ContactId": contact}),
    )
    .await;
    assert_eq!(reply.body[0]["errorCode"], "FIELD_INTEGRITY_EXCEPTION");
    let reply = create(
        &sb,
        ocr,
        json!({"OpportunityId": opportunity, "ContactId": contact, "Role": "Boss"}),
    )
    .await;
    assert_eq!(
        reply.body[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );

    let made = create(
        &sb,
        ocr,
        json!({"OpportunityId": opportunity, "ContactId": contact, "Role": "Decision Maker"}),
    )
    .await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("00K"));
    let read = get(&sb, &format!("{BASE}/{ocr}/{id}")).await;
    assert_eq!(read.body["IsPrimary"], false);
    assert_eq!(read.body["Role"], "Decision Maker");
    assert!(read.body.get("OwnerId").is_none());
    let reply = send(
        &sb,
        Method::PATCH,
        &format!("{BASE}/{ocr}/{id}"),
        Some(json!({"IsPrimary": true})),
    )
    .await;
    assert_eq!(reply.status, 204);

    let rows = query(&sb, &format!("SELECT ContactId, Role, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '{opportunity}'")).await;
    assert_eq!(rows.status, 200, "{:?}", rows.body);
    assert_eq!(rows.body["totalSize"], 1);
    assert_eq!(rows.body["records"][0]["ContactId"], contact.as_str());
    assert_eq!(rows.body["records"][0]["IsPrimary"], true);

    // Deleting the opportunity deletes its roles.
    assert_eq!(
        send(
            &sb,
            Method::DELETE,
            &format!("{BASE}/Opportunity/{opportunity}"),
            None
        )
        .await
        .status,
        204
    );
    assert!(sb.records(ocr).is_empty());
}

#[tokio::test]
async fn soql_paging_filters_and_errors() {
    let sb = start(Vendor::Salesforce).await;
    let seeded = sb.seed("Contact", 250);
    let first = common::send_with_header(
        &sb,
        "/services/data/v62.0/query?q=SELECT+Id,+LastName+FROM+Contact",
        ("Sforce-Query-Options", "batchSize=200"),
    )
    .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["totalSize"], 250);
    assert_eq!(first.body["done"], false);
    let records = first.body["records"].as_array().unwrap();
    assert_eq!(records.len(), 200);
    assert_eq!(keys(&records[0]), ["Id", "LastName", "attributes"]);
    assert_eq!(records[0]["attributes"]["type"], "Contact");
    let next = first.body["nextRecordsUrl"].as_str().unwrap();
    assert!(
        next.starts_with("/services/data/v62.0/query/01g") && next.ends_with("-200"),
        "{next}"
    );
    let second = get(&sb, next).await;
    assert_eq!(second.body["done"], true);
    assert!(second.body.get("nextRecordsUrl").is_none());
    let mut ids: Vec<String> = records
        .iter()
        .chain(second.body["records"].as_array().unwrap())
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, seeded);
    ids.dedup();
    assert_eq!(ids.len(), 250);

    // Default page size is 2000; batch sizes outside 200–2000 clamp.
    let all = query(&sb, "SELECT Id FROM Contact").await;
    assert_eq!(
        (
            all.body["done"].clone(),
            all.body["records"].as_array().unwrap().len()
        ),
        (json!(true), 250)
    );
    let small = common::send_with_header(
        &sb,
        "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact",
        ("Sforce-Query-Options", "batchSize=5"),
    )
    .await;
    assert_eq!(small.body["records"].as_array().unwrap().len(), 200);

    let one = query(&sb, "SELECT FirstName, lastname, Email FROM contact WHERE LastName = '7' AND Email LIKE 'PERSON%'").await;
    assert_eq!(one.body["totalSize"], 1, "{:?}", one.body);
    assert_eq!(one.body["records"][0]["Email"], "person7@example.com");
    let top = query(&sb, "SELECT LastName FROM Contact WHERE LastName IN ('1', '2', '3') ORDER BY LastName DESC LIMIT 2").await;
    let names: Vec<&Value> = top.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["LastName"])
        .collect();
    assert_eq!(names, [&json!("3"), &json!("2")]);
    let offset = query(
        &sb,
        "SELECT Id FROM Contact ORDER BY CreatedDate ASC LIMIT 5 OFFSET 248",
    )
    .await;
    assert_eq!(offset.body["totalSize"], 2);
    let created = get(&sb, &format!("{BASE}/Contact/{}", seeded[0]))
        .await
        .body["CreatedDate"]
        .as_str()
        .unwrap()
        .to_owned();
    // `2025-03-01T10:00:00.000+0000` → `2025-03-01T10:00:00.000+00:00` as a SOQL literal.
    let literal = format!("{}:00", &created[..created.len() - 2]);
    let later = query(
        &sb,
        &format!("SELECT Id FROM Contact WHERE CreatedDate > {literal}"),
    )
    .await;
    assert_eq!(later.body["totalSize"], 0, "{:?}", later.body);
    let since = query(
        &sb,
        &format!("SELECT Id FROM Contact WHERE CreatedDate >= {literal} AND Email != null"),
    )
    .await;
    assert_eq!(since.body["totalSize"], 250);
    let count = query(
        &sb,
        "SELECT COUNT() FROM Contact WHERE FirstName = 'person'",
    )
    .await;
    assert_eq!(count.body["totalSize"], 250);

    let malformed = query(&sb, "SELECT Id FORM Contact").await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body[0]["errorCode"], "MALFORMED_QUERY");
    let message = malformed.body[0]["message"].as_str().unwrap();
    assert!(message.contains("ERROR at Row:1:Column:11"), "{message}");
    let invalid = query(&sb, "SELECT Id, Foo FROM Contact").await;
    assert_eq!(invalid.body[0]["errorCode"], "INVALID_FIELD");
    assert!(
        invalid.body[0]["message"]
            .as_str()
            .unwrap()
            .contains("No such column 'Foo' on entity 'Contact'")
    );
    let typed = query(
        &sb,
        "SELECT Id FROM Contact WHERE CreatedDate > '2025-01-01'",
    )
    .await;
    assert_eq!(typed.body[0]["errorCode"], "INVALID_FIELD");
    let unknown = query(&sb, "SELECT Id FROM Widget").await;
    assert_eq!(unknown.body[0]["errorCode"], "INVALID_TYPE");
    assert!(
        unknown.body[0]["message"]
            .as_str()
            .unwrap()
            .contains("sObject type 'Widget' is not supported.")
    );
    let locator = get(&sb, "/services/data/v62.0/query/01gXXXXXXXXXXXXXXX-2000").await;
    assert_eq!(locator.status, 400);
    assert_eq!(locator.body[0]["errorCode"], "INVALID_QUERY_LOCATOR");
    assert!(locator.header("sforce-limit-info").is_some());
    let opportunity = sb.seed("Opportunity", 1);
    let read = get(&sb, &format!("{BASE}/Opportunity/{}", opportunity[0])).await;
    assert_eq!(read.body["CloseDate"], "2026-01-31");
    assert_eq!(read.body["Amount"], 100.0);
    assert_eq!(read.body["StageName"], "Prospecting");
}

#[tokio::test]
async fn custom_fields_are_declared_on_the_sobject_description() {
    let sb = start(Vendor::Salesforce).await;
    let reply = create(
        &sb,
        "Contact",
        json!({"LastName": "Lovelace", "LinkedIn_URL__c": "x"}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body[0]["errorCode"], "INVALID_FIELD");

    sb.declare_custom_field("Contact", "LinkedIn_URL__c")
        .unwrap();
    let described = get(&sb, &format!("{BASE}/Contact/describe")).await;
    assert_eq!(described.status, 200);
    assert_eq!(described.body["name"], "Contact");
    assert_eq!(described.body["keyPrefix"], "003");
    let fields = described.body["fields"].as_array().unwrap();
    let custom: Vec<&Value> = fields.iter().filter(|f| f["custom"] == true).collect();
    assert_eq!(custom.len(), 1);
    assert_eq!(custom[0]["name"], "LinkedIn_URL__c");
    assert_eq!(custom[0]["label"], "LinkedIn URL");
    assert_eq!(custom[0]["type"], "string");
    assert_eq!(custom[0]["length"], 255);
    assert!(
        fields
            .iter()
            .any(|f| f["name"] == "Email" && f["type"] == "email")
    );
    assert!(
        fields
            .iter()
            .any(|f| f["name"] == "Id" && f["type"] == "id")
    );

    let created = create(
        &sb,
        "Contact",
        json!({"LastName": "Lovelace", "LinkedIn_URL__c": "https://linkedin.com/in/ada"}),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        sb.records("Contact")[0]["LinkedIn_URL__c"],
        "https://linkedin.com/in/ada"
    );
    let id = created.body["id"].as_str().unwrap();
    let read = get(&sb, &format!("{BASE}/Contact/{id}")).await;
    assert_eq!(read.body["LinkedIn_URL__c"], "https://linkedin.com/in/ada");
    let queried = query(
        &sb,
        "SELECT Id, LinkedIn_URL__c FROM Contact WHERE LinkedIn_URL__c LIKE '%ada'",
    )
    .await;
    assert_eq!(queried.body["totalSize"], 1, "{:?}", queried.body);
    assert_eq!(
        queried.body["records"][0]["LinkedIn_URL__c"],
        "https://linkedin.com/in/ada"
    );
    let too_long = create(
        &sb,
        "Contact",
        json!({"LastName": "L", "LinkedIn_URL__c": "x".repeat(256)}),
    )
    .await;
    assert_eq!(too_long.body[0]["errorCode"], "STRING_TOO_LONG");
    // Other custom names, and the field on other sObjects, stay unknown.
    let reply = create(&sb, "Contact", json!({"LastName": "L", "Twitter__c": "x"})).await;
    assert_eq!(reply.body[0]["errorCode"], "INVALID_FIELD");
    let reply = create(
        &sb,
        "Account",
        json!({"Name": "Acme", "LinkedIn_URL__c": "x"}),
    )
    .await;
    assert_eq!(reply.body[0]["errorCode"], "INVALID_FIELD");
    let reply = query(&sb, "SELECT Twitter__c FROM Contact").await;
    assert_eq!(reply.body[0]["errorCode"], "INVALID_FIELD");

    for (object, name) in [
        ("Contact", "LinkedIn_URL__c"),
        ("Contact", "Email"),
        ("Contact", "NoSuffix"),
        ("Contact", "Two__Parts__c"),
        ("Contact", "_x__c"),
        ("Widget", "X__c"),
    ] {
        assert!(
            sb.declare_custom_field(object, name).is_err(),
            "{object}.{name}"
        );
    }
    assert_eq!(
        get(&sb, &format!("{BASE}/Widget/describe")).await.status,
        404
    );
}
