//! Attio REST v2 emulator against the shapes in providers.md §3.

mod common;

use common::{get, keys, post, send, send_as, send_raw, start, uuid};
use reqwest::Method;
use serde_json::{Value, json};
use unifold_sandbox::{Sandbox, Vendor};

const PEOPLE: &str = "/v2/objects/people/records";
const COMPANIES: &str = "/v2/objects/companies/records";
const DEALS: &str = "/v2/objects/deals/records";

fn values(values: Value) -> Value {
    json!({"data": {"values": values}})
}

fn is_attio_time(value: &Value) -> bool {
    let s = value.as_str().unwrap_or("");
    s.len() == 30 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

/// Checks the fields every stored value carries and returns the typed rest.
fn typed(value: &Value, attribute_type: &str) -> Value {
    assert!(is_attio_time(&value["active_from"]), "{value}");
    assert_eq!(value["active_until"], Value::Null);
    assert_eq!(value["created_by_actor"]["type"], "api-token");
    uuid(&value["created_by_actor"]["id"]);
    assert_eq!(value["attribute_type"], attribute_type);
    let mut rest = value.as_object().unwrap().clone();
    for key in [
        "active_from",
        "active_until",
        "created_by_actor",
        "attribute_type",
    ] {
        rest.remove(key);
    }
    Value::Object(rest)
}

async fn create_company(sb: &Sandbox, domain: &str) -> String {
    let reply = post(
        sb,
        COMPANIES,
        values(json!({"name": "Acme", "domains": [{"domain": domain}]})),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["data"]["id"]["record_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn create_then_get_person() {
    let sb = start(Vendor::Attio).await;
    let created = post(
        &sb,
        PEOPLE,
        values(json!({
            "name": [{"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"}],
            "email_addresses": [{"email_address": "Ada+work@Example.com"}],
            "phone_numbers": [{"original_phone_number": "+15558675309", "country_code": "US"}],
            "job_title": "Analyst"
        })),
    )
    .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(keys(&created.body), ["data"]);
    let data = &created.body["data"];
    assert_eq!(keys(data), ["created_at", "id", "values", "web_url"]);
    assert_eq!(
        keys(&data["id"]),
        ["object_id", "record_id", "workspace_id"]
    );
    let record_id = uuid(&data["id"]["record_id"]);
    uuid(&data["id"]["workspace_id"]);
    uuid(&data["id"]["object_id"]);
    assert!(is_attio_time(&data["created_at"]), "{}", data["created_at"]);
    assert_eq!(
        data["web_url"],
        format!("https://app.attio.com/sandbox/person/{record_id}")
    );
    let v = &data["values"];
    assert_eq!(
        keys(v),
        [
            "company",
            "description",
            "email_addresses",
            "job_title",
            "name",
            "phone_numbers"
        ]
    );
    assert_eq!(v["company"], json!([]));
    assert_eq!(v["description"], json!([]));
    assert_eq!(
        typed(&v["name"][0], "personal-name"),
        json!({"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace"})
    );
    assert_eq!(
        typed(&v["email_addresses"][0], "email-address"),
        json!({
            "original_email_address": "Ada+work@Example.com",
            "email_address": "ada+work@example.com",
            "email_domain": "example.com",
            "email_root_domain": "example.com",
            "email_local_specifier": "ada"
        })
    );
    assert_eq!(
        typed(&v["phone_numbers"][0], "phone-number"),
        json!({"original_phone_number": "+15558675309", "country_code": "US", "phone_number": "+15558675309"})
    );
    assert_eq!(
        typed(&v["job_title"][0], "text"),
        json!({"value": "Analyst"})
    );

    let read = get(&sb, &format!("{PEOPLE}/{record_id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created.body);
    assert_eq!(sb.records("people"), vec![created.body["data"].clone()]);

    // Object ids work in place of slugs.
    let object_id = data["id"]["object_id"].as_str().unwrap();
    assert_eq!(
        get(&sb, &format!("/v2/objects/{object_id}/records/{record_id}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let sb = start(Vendor::Attio).await;
    for token in [None, Some("bad")] {
        let reply = send_as(
            &sb,
            Method::POST,
            PEOPLE,
            token,
            Some(values(json!({})).to_string()),
        )
        .await;
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.body,
            json!({"status_code": 401, "type": "auth_error", "code": "unauthorized", "message": "Authentication failed. Please check your API key."})
        );
    }
    assert_eq!(sb.request_count(), 2);
    assert!(sb.records("people").is_empty());
}

#[tokio::test]
async fn unknown_attribute_and_bad_values() {
    let sb = start(Vendor::Attio).await;
    let reply = post(&sb, PEOPLE, values(json!({"foo": "x"}))).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"status_code": 400, "type": "invalid_request_error", "code": "value_not_found", "message": "Cannot find attribute with slug/ID \"foo\"."})
    );
    let validation = |reply: &common::Reply| {
        assert_eq!(reply.status, 400, "{:?}", reply.body);
        assert_eq!(reply.body["type"], "invalid_request_error");
        assert_eq!(reply.body["code"], "validation_type");
    };
    validation(
        &post(
            &sb,
            PEOPLE,
            values(json!({"name": [{"first_name": "Ada", "last_name": "L"}]})),
        )
        .await,
    );
    validation(
        &post(
            &sb,
            PEOPLE,
            values(json!({"email_addresses": ["not-an-email"]})),
        )
        .await,
    );
    validation(&post(&sb, PEOPLE, values(json!({"job_title": ["a", "b"]}))).await);
    validation(&post(&sb, PEOPLE, json!({"values": {}})).await);
    validation(&send_raw(&sb, Method::POST, PEOPLE, Some("{\"data\":")).await);
    assert!(sb.records("people").is_empty());
    assert_eq!(sb.request_count(), 6);
}

#[tokio::test]
async fn deals_require_name_and_stage() {
    let sb = start(Vendor::Attio).await;
    let reply = post(&sb, DEALS, values(json!({"name": "Renewal"}))).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["code"], "missing_value");
    let message = reply.body["message"].as_str().unwrap();
    let id = message
        .strip_prefix("Required value for attribute with ID \"")
        .and_then(|m| m.strip_suffix("\" was not provided."))
        .expect("message shape");
    uuid(&json!(id));

    let reply = post(
        &sb,
        DEALS,
        values(json!({"name": "Renewal", "stage": "Negotiating"})),
    )
    .await;
    assert_eq!(
        reply.body,
        json!({"status_code": 400, "type": "invalid_request_error", "code": "value_not_found", "message": "Cannot find select attribute with select option title \"Negotiating\"."})
    );

    let reply = post(
        &sb,
        DEALS,
        values(json!({"name": "Renewal", "stage": [{"status": "Won 🎉"}], "value": 1500, "owner": "alice@example.com"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let v = &reply.body["data"]["values"];
    let stage = typed(&v["stage"][0], "status");
    assert_eq!(stage["status"]["title"], "Won 🎉");
    assert_eq!(stage["status"]["celebration_enabled"], true);
    assert_eq!(
        keys(&stage["status"]["id"]),
        ["attribute_id", "object_id", "status_id", "workspace_id"]
    );
    assert_eq!(
        typed(&v["value"][0], "currency"),
        json!({"currency_value": 1500.0, "currency_code": "USD"})
    );
    assert_eq!(
        typed(&v["owner"][0], "actor-reference")["referenced_actor_type"],
        "workspace-member"
    );
    assert_eq!(v["associated_people"], json!([]));
}

#[tokio::test]
async fn unique_attributes_conflict() {
    let sb = start(Vendor::Attio).await;
    let first = post(
        &sb,
        PEOPLE,
        values(json!({"email_addresses": ["ada@example.com"]})),
    )
    .await;
    assert_eq!(first.status, 200);
    let again = post(
        &sb,
        PEOPLE,
        values(json!({"email_addresses": [{"email_address": "ADA@example.com"}]})),
    )
    .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body["code"], "uniqueness_conflict");
    assert_eq!(again.body["type"], "invalid_request_error");
    let message = again.body["message"].as_str().unwrap();
    let rest = message
        .strip_prefix(r#"The value "{\"email_address\":\"ada@example.com\"}" provided for attribute with ID ""#)
        .expect(message);
    let id = rest
        .strip_suffix("\" conflicts with one already in the system.")
        .expect(message);
    uuid(&json!(id));
    assert!(!message.contains(first.body["data"]["id"]["record_id"].as_str().unwrap()));

    create_company(&sb, "acme.com").await;
    let reply = post(
        &sb,
        COMPANIES,
        values(json!({"domains": ["https://www.ACME.com/"]})),
    )
    .await;
    assert_eq!(reply.body["code"], "uniqueness_conflict");
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .starts_with(r#"The value "{\"domain\":\"acme.com\"}""#)
    );
    assert_eq!(sb.records("people").len(), 1);
    assert_eq!(sb.records("companies").len(), 1);
}

#[tokio::test]
async fn record_references_resolve_and_mirror() {
    let sb = start(Vendor::Attio).await;
    let company_id = create_company(&sb, "acme.com").await;
    let person = post(
        &sb,
        PEOPLE,
        values(
            json!({"company": [{"target_object": "companies", "target_record_id": company_id}]}),
        ),
    )
    .await;
    assert_eq!(person.status, 200, "{:?}", person.body);
    let person_id = person.body["data"]["id"]["record_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        typed(
            &person.body["data"]["values"]["company"][0],
            "record-reference"
        ),
        json!({"target_object": "companies", "target_record_id": company_id})
    );
    // The company's team now lists the person.
    let company = get(&sb, &format!("{COMPANIES}/{company_id}")).await;
    assert_eq!(
        company.body["data"]["values"]["team"][0]["target_record_id"],
        person_id.as_str()
    );

    // Matching by a unique attribute of the target.
    let deal = post(
        &sb,
        DEALS,
        values(json!({"name": "D", "stage": "Lead", "associated_company": {"target_object": "companies", "domains": [{"domain": "acme.com"}]}})),
    )
    .await;
    assert_eq!(deal.status, 200, "{:?}", deal.body);
    assert_eq!(
        deal.body["data"]["values"]["associated_company"][0]["target_record_id"],
        company_id.as_str()
    );

    let missing = "00000000-0000-4000-8000-000000000000";
    let reply = post(
        &sb,
        PEOPLE,
        values(json!({"company": {"target_object": "companies", "target_record_id": missing}})),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body["message"],
        format!("Record with ID \"{missing}\" not found.")
    );
    let reply = post(
        &sb,
        PEOPLE,
        values(json!({"company": {"target_object": "people", "target_record_id": person_id}})),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(sb.records("people").len(), 1);
}

#[tokio::test]
async fn not_found_bodies() {
    let sb = start(Vendor::Attio).await;
    let id = "891dcbfc-9141-415d-9b2a-2238a6cc012d";
    let reply = get(&sb, &format!("{PEOPLE}/{id}")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body,
        json!({"status_code": 404, "type": "invalid_request_error", "code": "not_found", "message": format!("Record with ID \"{id}\" not found.")})
    );
    let reply = get(&sb, &format!("/v2/objects/widgets/records/{id}")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body["message"],
        "Object with slug/ID \"widgets\" not found."
    );
    let reply = post(&sb, "/v2/objects/widgets/records", values(json!({}))).await;
    assert_eq!(reply.status, 404);
    let reply = get(&sb, "/v2/elsewhere").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["code"], "not_found");
    assert_eq!(sb.request_count(), 4);
}

fn record_id(reply: &common::Reply) -> String {
    reply.body["data"]["id"]["record_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn emails(record: &Value) -> Vec<String> {
    record["values"]["email_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["email_address"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn patch_put_delete() {
    let sb = start(Vendor::Attio).await;
    let created = post(
        &sb,
        PEOPLE,
        values(json!({"email_addresses": ["ada@example.com"], "job_title": "Analyst"})),
    )
    .await;
    let id = record_id(&created);
    let path = format!("{PEOPLE}/{id}");

    let patched = send(
        &sb,
        Method::PATCH,
        &path,
        Some(values(
            json!({"email_addresses": ["ada@work.example.com"], "job_title": "CTO"}),
        )),
    )
    .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(
        emails(&patched.body["data"]),
        ["ada@example.com", "ada@work.example.com"]
    );
    assert_eq!(
        patched.body["data"]["values"]["job_title"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        typed(&patched.body["data"]["values"]["job_title"][0], "text"),
        json!({"value": "CTO"})
    );
    assert_eq!(
        patched.body["data"]["created_at"],
        created.body["data"]["created_at"]
    );

    let put = send(
        &sb,
        Method::PUT,
        &path,
        Some(values(json!({"email_addresses": ["ada@example.com"]}))),
    )
    .await;
    assert_eq!(put.status, 200);
    assert_eq!(emails(&put.body["data"]), ["ada@example.com"]);
    assert_eq!(
        put.body["data"]["values"]["job_title"][0]["value"], "CTO",
        "PUT leaves other attributes"
    );

    // Uniqueness against other records, validation, 404.
    let other = post(
        &sb,
        PEOPLE,
        values(json!({"email_addresses": ["grace@example.com"]})),
    )
    .await;
    let reply = send(
        &sb,
        Method::PATCH,
        &format!("{PEOPLE}/{}", record_id(&other)),
        Some(values(json!({"email_addresses": ["ADA@example.com"]}))),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["code"], "uniqueness_conflict");
    let reply = send(
        &sb,
        Method::PATCH,
        &path,
        Some(values(json!({"nope": "x"}))),
    )
    .await;
    assert_eq!(reply.body["code"], "value_not_found");
    let missing = format!("{PEOPLE}/{}", uuid::Uuid::new_v4());
    let reply = send(
        &sb,
        Method::PATCH,
        &missing,
        Some(values(json!({"job_title": "x"}))),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["code"], "not_found");

    let deleted = send(&sb, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body, json!({}));
    assert_eq!(get(&sb, &path).await.status, 404);
    assert_eq!(send(&sb, Method::DELETE, &path, None).await.status, 404);
    // The deleted person's address is free again.
    assert_eq!(
        post(
            &sb,
            PEOPLE,
            values(json!({"email_addresses": ["ada@example.com"]}))
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn updates_keep_company_and_team_in_sync() {
    let sb = start(Vendor::Attio).await;
    let acme = create_company(&sb, "acme.com").await;
    let globex = create_company(&sb, "globex.com").await;
    let person = post(
        &sb,
        PEOPLE,
        values(json!({"company": [{"target_object": "companies", "target_record_id": acme}]})),
    )
    .await;
    let person_id = record_id(&person);
    let team = |company: &str| {
        sb.records("companies")
            .into_iter()
            .find(|c| c["id"]["record_id"] == company)
            .map(|c| {
                c["values"]["team"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["target_record_id"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap()
    };
    assert_eq!(team(&acme), std::slice::from_ref(&person_id));

    let moved = send(&sb, Method::PATCH, &format!("{PEOPLE}/{person_id}"), Some(values(json!({"company": [{"target_object": "companies", "domains": [{"domain": "globex.com"}]}]})))).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    assert!(team(&acme).is_empty());
    assert_eq!(team(&globex), std::slice::from_ref(&person_id));

    let emptied = send(
        &sb,
        Method::PUT,
        &format!("{COMPANIES}/{globex}"),
        Some(values(json!({"team": []}))),
    )
    .await;
    assert_eq!(emptied.status, 200);
    let person = get(&sb, &format!("{PEOPLE}/{person_id}")).await;
    assert_eq!(person.body["data"]["values"]["company"], json!([]));

    // Deleting a company removes it from its people.
    send(
        &sb,
        Method::PATCH,
        &format!("{COMPANIES}/{acme}"),
        Some(values(
            json!({"team": [{"target_object": "people", "target_record_id": person_id}]}),
        )),
    )
    .await;
    let person = get(&sb, &format!("{PEOPLE}/{person_id}")).await;
    assert_eq!(
        person.body["data"]["values"]["company"][0]["target_record_id"],
        acme.as_str()
    );
    send(&sb, Method::DELETE, &format!("{COMPANIES}/{acme}"), None).await;
    let person = get(&sb, &format!("{PEOPLE}/{person_id}")).await;
    assert_eq!(person.body["data"]["values"]["company"], json!([]));
}

#[tokio::test]
async fn assert_creates_then_updates() {
    let sb = start(Vendor::Attio).await;
    let path = format!("{PEOPLE}?matching_attribute=email_addresses");
    let first = send(
        &sb,
        Method::PUT,
        &path,
        Some(values(
            json!({"email_addresses": ["ada@example.com"], "job_title": "Analyst"}),
        )),
    )
    .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let second = send(
        &sb,
        Method::PUT,
        &path,
        Some(values(
            json!({"email_addresses": ["Ada@Example.com"], "job_title": "CTO"}),
        )),
    )
    .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(record_id(&second), record_id(&first));
    assert_eq!(
        second.body["data"]["values"]["job_title"][0]["value"],
        "CTO"
    );
    assert_eq!(emails(&second.body["data"]), ["ada@example.com"]);
    assert_eq!(sb.records("people").len(), 1);

    let reply = send(
        &sb,
        Method::PUT,
        &format!("{PEOPLE}?matching_attribute=job_title"),
        Some(values(json!({"job_title": "CTO"}))),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["code"],
        "matching_attribute_definition_not_unique"
    );
    assert_eq!(
        reply.body["message"],
        "The matching attribute specified is not a unique attribute."
    );
    let reply = send(
        &sb,
        Method::PUT,
        &format!("{DEALS}?matching_attribute=name"),
        Some(values(json!({"name": "X"}))),
    )
    .await;
    assert_eq!(
        reply.body["code"],
        "matching_attribute_definition_not_unique"
    );
    let company = send(
        &sb,
        Method::PUT,
        &format!("{COMPANIES}?matching_attribute=domains"),
        Some(values(json!({"domains": ["acme.com"], "name": "Acme"}))),
    )
    .await;
    assert_eq!(company.status, 200);
}

#[tokio::test]
async fn query_filters_sorts_and_pages() {
    let sb = start(Vendor::Attio).await;
    let seeded = sb.seed("people", 250);
    let query = format!("{PEOPLE}/query");

    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = post(&sb, &query, json!({"limit": 100, "offset": offset})).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let data = page.body["data"].as_array().unwrap();
        seen.extend(
            data.iter()
                .map(|r| r["id"]["record_id"].as_str().unwrap().to_owned()),
        );
        offset += 100;
        if data.len() < 100 {
            break;
        }
    }
    assert_eq!(seen, seeded);
    assert_eq!(
        post(&sb, &query, json!({})).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        250
    );

    let by_email = post(
        &sb,
        &query,
        json!({"filter": {"email_addresses": "person7@example.com"}}),
    )
    .await;
    let data = by_email.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"]["record_id"], seeded[6].as_str());
    assert_eq!(
        typed(&data[0]["values"]["name"][0], "personal-name"),
        json!({"first_name": "Person", "last_name": "7", "full_name": "Person 7"})
    );
    let verbose = post(
        &sb,
        &query,
        json!({"filter": {"$or": [
        {"email_addresses": {"email_address": {"$eq": "person1@example.com"}}},
        {"name": {"last_name": {"$in": ["2", "3"]}}}
    ]}, "sorts": [{"direction": "desc", "attribute": "name", "field": "last_name"}]}),
    )
    .await;
    let names: Vec<&Value> = verbose.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["values"]["name"][0]["last_name"])
        .collect();
    assert_eq!(names, [&json!("3"), &json!("2"), &json!("1")]);
    let created = post(
        &sb,
        &query,
        json!({"filter": {"created_at": {"$gte": "2000-01-01T00:00:00Z"}}, "limit": 1}),
    )
    .await;
    assert_eq!(created.body["data"].as_array().unwrap().len(), 1);
    let none = post(
        &sb,
        &query,
        json!({"filter": {"created_at": {"$gt": "2999-01-01T00:00:00Z"}}}),
    )
    .await;
    assert_eq!(none.body["data"], json!([]));

    for bad in [
        json!({"filter": {"nope": "x"}}),
        json!({"filter": {"name": {"$like": "x"}}}),
    ] {
        let reply = post(&sb, &query, bad.clone()).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.body["code"], "filter_error");
        assert_eq!(reply.body["message"], "Error in filter.");
    }

    let companies = sb.seed("companies", 3);
    let by_domain = post(
        &sb,
        &format!("{COMPANIES}/query"),
        json!({"filter": {"domains": "company2.example.com"}}),
    )
    .await;
    assert_eq!(
        by_domain.body["data"][0]["id"]["record_id"],
        companies[1].as_str()
    );
    let by_name = post(&sb, &format!("{COMPANIES}/query"), json!({"filter": {"name": "Company 3"}, "sorts": [{"direction": "asc", "attribute": "created_at"}]})).await;
    assert_eq!(
        by_name.body["data"][0]["id"]["record_id"],
        companies[2].as_str()
    );
    let deals = sb.seed("deals", 2);
    let deal = get(&sb, &format!("{DEALS}/{}", deals[1])).await;
    assert_eq!(
        deal.body["data"]["values"]["value"][0]["currency_value"],
        200.0
    );
    assert_eq!(
        deal.body["data"]["values"]["stage"][0]["status"]["title"],
        "Lead"
    );
}

#[tokio::test]
async fn query_needs_a_body_and_sorts_follow_paths() {
    let sb = start(Vendor::Attio).await;
    let query = format!("{PEOPLE}/query");
    let reply = send_raw(&sb, Method::POST, &query, None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["code"], "validation_type");
    assert_eq!(reply.body["type"], "invalid_request_error");
    // `null` members are not absent ones: the schema gives each a type.
    for (body, code) in [
        (json!({"offset": null}), "validation_type"),
        (json!({"limit": null}), "validation_type"),
        (json!({"sorts": null}), "validation_type"),
        (json!({"filter": null}), "filter_error"),
    ] {
        let reply = post(&sb, &query, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.body["code"], code, "{body}");
    }

    // Two people at companies named so that the company order is the reverse of the
    // people's creation order.
    let zeta = post(&sb, COMPANIES, values(json!({"name": "Zeta"}))).await;
    let alpha = post(&sb, COMPANIES, values(json!({"name": "Alpha"}))).await;
    for (last_name, company) in [("First", &zeta), ("Second", &alpha)] {
        let person = values(json!({
            "name": [{"first_name": "A", "last_name": last_name, "full_name": format!("A {last_name}")}],
            "company": [{"target_object": "companies", "target_record_id": record_id(company)}],
        }));
        assert_eq!(post(&sb, PEOPLE, person).await.status, 200);
    }
    let by_company = post(
        &sb,
        &query,
        json!({"sorts": [{"direction": "asc", "path": [["people", "company"], ["companies", "name"]]}]}),
    )
    .await;
    assert_eq!(by_company.status, 200, "{:?}", by_company.body);
    let order: Vec<&Value> = by_company.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["values"]["name"][0]["last_name"])
        .collect();
    assert_eq!(order, [&json!("Second"), &json!("First")]);
    let one_step = post(
        &sb,
        &query,
        json!({"sorts": [{"direction": "desc", "path": [["people", "name"]], "field": "last_name"}]}),
    )
    .await;
    assert_eq!(
        one_step.body["data"][0]["values"]["name"][0]["last_name"],
        "Second"
    );

    for (sort, code) in [
        (
            json!({"direction": "asc", "attribute": "nope"}),
            "filter_error",
        ),
        (
            json!({"direction": "asc", "path": [["companies", "name"]]}),
            "filter_error",
        ),
        (
            json!({"direction": "asc", "path": [["people", "job_title"], ["companies", "name"]]}),
            "filter_error",
        ),
        (
            json!({"direction": "asc", "path": [["", ""]]}),
            "filter_error",
        ),
        (json!({"direction": "asc", "path": []}), "validation_type"),
        (
            json!({"direction": "up", "attribute": "name"}),
            "validation_type",
        ),
    ] {
        let reply = post(&sb, &query, json!({ "sorts": [sort.clone()] })).await;
        assert_eq!(reply.status, 400, "{sort}");
        assert_eq!(reply.body["code"], code, "{sort}: {:?}", reply.body);
    }
}

#[tokio::test]
async fn assert_on_an_unknown_matching_attribute_is_refused() {
    let sb = start(Vendor::Attio).await;
    let reply = send(
        &sb,
        Method::PUT,
        &format!("{PEOPLE}?matching_attribute=nope"),
        Some(values(json!({"job_title": "CTO"}))),
    )
    .await;
    assert_eq!(
        reply.body,
        json!({"status_code": 400, "type": "invalid_request_error", "code": "value_not_found", "message": "No attribute was found for matching_attribute slug/ID \"nope\"."})
    );
    assert!(sb.records("people").is_empty());
}

#[tokio::test]
async fn custom_attributes_are_created_through_the_attributes_api() {
    let sb = start(Vendor::Attio).await;
    let reply = post(&sb, PEOPLE, values(json!({"linkedin_url": "x"}))).await;
    assert_eq!(reply.body["code"], "value_not_found");

    let attribute = json!({"data": {"title": "LinkedIn", "description": null, "api_slug": "linkedin_url", "type": "text",
        "is_required": false, "is_unique": false, "is_multiselect": false, "config": {}}});
    let created = post(&sb, "/v2/objects/people/attributes", attribute.clone()).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let data = &created.body["data"];
    assert_eq!(data["api_slug"], "linkedin_url");
    assert_eq!(data["title"], "LinkedIn");
    assert_eq!(data["type"], "text");
    assert_eq!(data["is_system_attribute"], false);
    uuid(&data["id"]["attribute_id"]);
    assert!(is_attio_time(&data["created_at"]));
    let again = post(&sb, "/v2/objects/people/attributes", attribute).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "slug_conflict");
    let listed = get(&sb, "/v2/objects/people/attributes").await;
    let slugs: Vec<&Value> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["api_slug"])
        .collect();
    assert_eq!(slugs.last(), Some(&&json!("linkedin_url")));
    assert!(slugs.contains(&&json!("email_addresses")));

    let person = post(
        &sb,
        PEOPLE,
        values(json!({"linkedin_url": "https://linkedin.com/in/ada"})),
    )
    .await;
    assert_eq!(person.status, 200, "{:?}", person.body);
    let value = typed(&person.body["data"]["values"]["linkedin_url"][0], "text");
    assert_eq!(value, json!({"value": "https://linkedin.com/in/ada"}));
    let found = post(
        &sb,
        &format!("{PEOPLE}/query"),
        json!({"filter": {"linkedin_url": "https://linkedin.com/in/ada"}}),
    )
    .await;
    assert_eq!(found.body["data"].as_array().unwrap().len(), 1);
    // Every record shows the attribute, empty when unset; other slugs stay unknown.
    let other = post(&sb, PEOPLE, values(json!({"job_title": "CTO"}))).await;
    assert_eq!(other.body["data"]["values"]["linkedin_url"], json!([]));
    let reply = post(&sb, PEOPLE, values(json!({"twitter": "x"}))).await;
    assert_eq!(reply.body["code"], "value_not_found");
    let reply = post(&sb, COMPANIES, values(json!({"linkedin_url": "x"}))).await;
    assert_eq!(reply.body["code"], "value_not_found");
}

#[tokio::test]
async fn custom_attribute_types_and_bad_definitions() {
    let sb = start(Vendor::Attio).await;
    let define = |slug: &str, kind: &str, required: bool| {
        json!({"data": {"title": slug, "description": "", "api_slug": slug, "type": kind,
            "is_required": required, "is_unique": false, "is_multiselect": false, "config": {}}})
    };
    assert_eq!(
        post(
            &sb,
            "/v2/objects/deals/attributes",
            define("seats", "number", true)
        )
        .await
        .status,
        200
    );
    assert_eq!(
        post(
            &sb,
            "/v2/objects/deals/attributes",
            define("signed", "checkbox", false)
        )
        .await
        .status,
        200
    );
    let deal = json!({"name": "Renewal", "stage": "Lead"});
    let reply = post(&sb, DEALS, values(deal.clone())).await;
    assert_eq!(
        reply.body["code"], "missing_value",
        "a required custom attribute"
    );
    let mut with_seats = deal.clone();
    with_seats["seats"] = json!("many");
    assert_eq!(
        post(&sb, DEALS, values(with_seats.clone())).await.body["code"],
        "validation_type"
    );
    with_seats["seats"] = json!(12);
    with_seats["signed"] = json!(true);
    let reply = post(&sb, DEALS, values(with_seats)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["data"]["values"]["seats"][0]["value"], 12.0);
    assert_eq!(reply.body["data"]["values"]["signed"][0]["value"], true);

    for bad in [
        json!({"data": {"title": "x"}}),
        define("Bad Slug", "text", false),
        define("x", "interaction", false),
        json!("not an object"),
    ] {
        let reply = post(&sb, "/v2/objects/people/attributes", bad.clone()).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.body["code"], "validation_type", "{bad}");
    }
    assert_eq!(
        post(
            &sb,
            "/v2/objects/people/attributes",
            define("name", "text", false)
        )
        .await
        .status,
        409
    );
    assert_eq!(
        post(
            &sb,
            "/v2/objects/nope/attributes",
            define("x", "text", false)
        )
        .await
        .status,
        404
    );

    sb.declare_custom_field("companies", "linkedin_url")
        .unwrap();
    let company = post(
        &sb,
        COMPANIES,
        values(json!({"linkedin_url": "https://linkedin.com/company/acme"})),
    )
    .await;
    assert_eq!(company.status, 200, "{:?}", company.body);
    assert!(
        sb.declare_custom_field("companies", "linkedin_url")
            .is_err()
    );
    assert!(sb.declare_custom_field("lists", "x").is_err());
}
