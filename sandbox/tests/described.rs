//! Sandboxes described in YAML (the Pipedrive and Tally descriptions of the examples),
//! over raw HTTP: routing, the vendor's error bodies, pagination, the shared test tools.

use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use unifold_sandbox::{Fault, Sandbox, StartError};

const TOKEN: &str = "described-token";

fn example(provider: &str) -> PathBuf {
    let dir = match provider {
        "pipedrive" => "examples/pipedrive/providers/pipedrive",
        _ => "examples/invoicing/providers/tally",
    };
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir)
}

async fn call(sandbox: &Sandbox, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sandbox.url()))
        .bearer_auth(TOKEN)
        .header("X-Api-Key", TOKEN);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn routes_and_refusals_follow_the_description() {
    let sandbox = Sandbox::start_described(example("pipedrive"), TOKEN)
        .await
        .unwrap();
    let (status, body) = call(&sandbox, Method::DELETE, "/v1/persons", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("Unknown method ."))
    );
    let (status, body) = call(&sandbox, Method::GET, "/v1/deals", None).await;
    assert_eq!((status, body["success"].as_bool()), (404, Some(false)));
    let (status, body) = call(&sandbox, Method::POST, "/v1/persons", Some("{\"name\": ")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("Malformed JSON body"))
    );
    let (status, body) = call(&sandbox, Method::POST, "/v1/persons", Some("[]")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("Validation failed: body: must be a JSON object"))
    );
    let (status, body) = call(&sandbox, Method::GET, "/v1/persons/17", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("Person not found"))
    );
    let (status, _) = call(&sandbox, Method::GET, "/v1/persons?limit=many", None).await;
    assert_eq!(status, 400);
    assert!(sandbox.records("persons").is_empty());
    // Every request is logged, refused or not.
    assert_eq!(sandbox.request_count(), 6);
    assert_eq!(sandbox.requests()[0].status, 405);
}

#[tokio::test]
async fn updates_merge_and_keep_server_fields() {
    let sandbox = Sandbox::start_described(example("pipedrive"), TOKEN)
        .await
        .unwrap();
    let (status, created) = call(
        &sandbox,
        Method::POST,
        "/v1/persons",
        Some(r#"{"name": "Grace Brewster Hopper", "id": 999, "add_time": "1900-01-01 00:00:00"}"#),
    )
    .await;
    assert_eq!(status, 201);
    let person = &created["data"];
    assert_ne!(person["id"], 999, "ids are the server's");
    assert_ne!(person["add_time"], "1900-01-01 00:00:00");
    assert_eq!(person["first_name"], "Grace");
    assert_eq!(person["last_name"], "Brewster Hopper");
    let id = person["id"].as_u64().unwrap();
    let (status, updated) = call(
        &sandbox,
        Method::PUT,
        &format!("/v1/persons/{id}"),
        Some(r#"{"phone": [{"value": "+1 555 0100", "label": "work"}]}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(updated["data"]["name"], "Grace Brewster Hopper");
    assert_eq!(updated["data"]["phone"][0]["label"], "work");
    // Emptying a required field is refused; the record stays as it was.
    let (status, refused) = call(
        &sandbox,
        Method::PUT,
        &format!("/v1/persons/{id}"),
        Some(r#"{"name": ""}"#),
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("Name must be given."))
    );
    assert_eq!(
        sandbox.records("persons")[0]["name"],
        "Grace Brewster Hopper"
    );
    let (status, deleted) =
        call(&sandbox, Method::DELETE, &format!("/v1/persons/{id}"), None).await;
    assert_eq!(
        (status, deleted),
        (200, json!({"success": true, "data": {"id": id}}))
    );
    let (status, _) = call(&sandbox, Method::DELETE, &format!("/v1/persons/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn cursors_are_opaque_and_pages_end() {
    let sandbox = Sandbox::start_described(example("tally"), TOKEN)
        .await
        .unwrap();
    let ids = sandbox.seed("invoices", 5);
    assert_eq!(ids.len(), 5);
    assert!(
        ids.iter()
            .all(|id| id.starts_with("inv_") && id.len() == 28)
    );
    let (status, first) = call(&sandbox, Method::GET, "/v1/invoices?page_size=3", None).await;
    assert_eq!(status, 200);
    assert_eq!(first["invoices"].as_array().map(Vec::len), Some(3));
    let token = first["next_page_token"].as_str().unwrap().to_string();
    let (_, last) = call(
        &sandbox,
        Method::GET,
        &format!("/v1/invoices?page_size=3&page_token={token}"),
        None,
    )
    .await;
    assert_eq!(last["invoices"][1]["id"], ids[4].as_str());
    assert!(last.get("next_page_token").is_none(), "{last}");
    let (status, forged) = call(&sandbox, Method::GET, "/v1/invoices?page_token=3", None).await;
    assert_eq!(status, 400);
    assert_eq!(forged["error"]["code"], "parameter_invalid");
    // Seeding numbers on, so unique numbers never clash.
    sandbox.seed("invoices", 2);
    let numbers: Vec<Value> = sandbox
        .records("invoices")
        .iter()
        .map(|r| r["number"].clone())
        .collect();
    assert_eq!(numbers[5..], [json!("INV-6"), json!("INV-7")]);
    sandbox.reset();
    assert!(sandbox.records("invoices").is_empty());
    assert_eq!(sandbox.request_count(), 0);
}

#[tokio::test]
async fn faults_and_limits_answer_in_the_vendors_shape() {
    let sandbox = Sandbox::start_described(example("tally"), TOKEN)
        .await
        .unwrap();
    sandbox.inject_faults([Fault::status(503), Fault::status(429).retry_after("2")]);
    let (status, body) = call(&sandbox, Method::GET, "/v1/invoices", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("server_error"))
    );
    let response = reqwest::Client::new()
        .get(format!("{}/v1/invoices", sandbox.url()))
        .header("X-Api-Key", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(response.headers()["ratelimit-limit"], "100");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": {"type": "rate_limit_error", "code": "rate_limit", "message": "Too many requests."}})
    );
    let (status, _) = call(&sandbox, Method::GET, "/v1/invoices", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oauth_refresh_grants_are_served_at_the_declared_path() {
    let sandbox = Sandbox::start_described(example("pipedrive"), TOKEN)
        .await
        .unwrap();
    sandbox.enable_oauth("client", "secret", "refresh-1");
    let grant = reqwest::Client::new()
        .post(format!("{}/oauth/token", sandbox.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "client"),
            ("client_secret", "secret"),
            ("refresh_token", "refresh-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 200);
    let tokens: Value = grant.json().await.unwrap();
    assert_eq!(sandbox.token_grants(), 1);
    let (status, _) = call(&sandbox, Method::GET, "/v1/persons", None).await;
    assert_eq!(status, 401, "the old token was replaced");
    let fresh = reqwest::Client::new()
        .get(format!("{}/v1/persons", sandbox.url()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
}

#[tokio::test]
async fn a_broken_description_does_not_start() {
    let dir = tempfile_dir();
    for file in ["openapi.yaml", "provider.yaml"] {
        std::fs::copy(example("tally").join(file), dir.join(file)).unwrap();
    }
    let text = std::fs::read_to_string(example("tally").join("sandbox.yaml"))
        .unwrap()
        .replace("style: cursor", "style: cursr");
    std::fs::write(dir.join("sandbox.yaml"), text).unwrap();
    match Sandbox::start_described(&dir, TOKEN).await {
        Err(StartError::Description(problems)) => {
            let shown = problems.to_string();
            assert!(
                shown.contains("unknown pagination style `cursr`"),
                "{shown}"
            );
            assert!(shown.contains("sandbox.yaml:"), "{shown}");
        }
        other => panic!("expected a description error, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh folder under the target's temporary directory.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "unifold-described-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
