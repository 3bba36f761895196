//! The end-to-end paths run with secrets that are random strings made for this run (a
//! bearer token per provider, OAuth access and refresh tokens and client secret, the
//! webhook secret, the MCP bearer token), then every place something is written is
//! scanned for them: every stored log row (and the raw bytes of the SQLite file), every
//! tracing event and span field, every error string and Debug output, every job record
//! and every webhook body. Zero hits. Its own test binary: a scoped subscriber must see
//! every callsite from the start.

mod common;

use axum::body::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use unifold_providers::{
    ContactInput, EmailAddress, REGISTRY, create_contact, create_contacts, delete_contact,
    find_contact_by_email, get_contact, list_contacts, update_contact, update_contacts,
    upsert_contact,
};
use unifold_runtime::logs::{LogFilter, LogStore};
use unifold_runtime::queue::{Queue, Webhook};
use unifold_runtime::{
    Connection, Credentials, Error, ListOptions, OAuth2Tokens, Runtime, TryStreamExt,
};
use unifold_sandbox::{Fault, Sandbox, Vendor};

use common::Captured;

fn random(kind: &str) -> String {
    format!("{kind}-{}", uuid::Uuid::new_v4().simple())
}

fn person(n: usize) -> ContactInput {
    ContactInput {
        first_name: Some(format!("Ada{n}")),
        last_name: Some("Lovelace".into()),
        email_addresses: vec![EmailAddress {
            email_address: format!("ada{n}@example.com"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Every action of the unified surface on one connection, with faults on the way, and
/// the errors they end in.
async fn workload(
    runtime: &Runtime,
    sandbox: &Sandbox,
    connection: &Connection,
    errors: &mut Vec<Error>,
) {
    sandbox.inject_faults([Fault::status(503)]);
    let created = create_contact(runtime, connection, &person(1))
        .await
        .unwrap();
    sandbox.inject_faults([Fault::status(502), Fault::status(503)]);
    get_contact(runtime, connection, &created.remote_id)
        .await
        .unwrap();
    let patch = ContactInput {
        title: Some("Analyst".into()),
        ..Default::default()
    };
    update_contact(runtime, connection, &created.remote_id, &patch)
        .await
        .unwrap();
    upsert_contact(runtime, connection, &person(1))
        .await
        .unwrap();
    find_contact_by_email(runtime, connection, "ada1@example.com")
        .await
        .unwrap();
    let _: Vec<_> = list_contacts(runtime, connection, &ListOptions::default())
        .try_collect()
        .await
        .unwrap();
    let batch = create_contacts(runtime, connection, &[person(2), person(3)]).await;
    let ids: Vec<String> = batch.into_iter().map(|c| c.unwrap().remote_id).collect();
    let updates: Vec<(String, ContactInput)> =
        ids.iter().map(|id| (id.clone(), patch.clone())).collect();
    for outcome in update_contacts(runtime, connection, &updates).await {
        outcome.unwrap();
    }
    delete_contact(runtime, connection, &ids[0]).await.unwrap();
    errors.push(
        create_contact(runtime, connection, &person(1))
            .await
            .unwrap_err(),
    );
    errors.push(get_contact(runtime, connection, &ids[0]).await.unwrap_err());
    errors.push(
        create_contact(
            runtime,
            connection,
            &ContactInput {
                email_addresses: vec![EmailAddress {
                    email_address: "bad".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_row_an_event_an_error_or_a_webhook() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_global_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let url = format!("sqlite:{}", db.display());
    let store = LogStore::builder(&url).connect().await.unwrap();
    let runtime = Runtime::builder()
        .pacing(false)
        .logs(store.clone())
        .build()
        .unwrap();
    let mut secrets: Vec<String> = Vec::new();
    let mut errors: Vec<Error> = Vec::new();
    let mut connections = Vec::new();
    let mut sandboxes = Vec::new();

    // Bearer-token connections on the three providers.
    for vendor in Vendor::ALL {
        let token = random("tok");
        secrets.push(token.clone());
        let (sandbox, connection) = common::start(vendor, &token).await;
        workload(&runtime, &sandbox, &connection, &mut errors).await;
        // A token the provider refuses.
        let wrong = Connection::new(
            "customer-wrong",
            vendor.name(),
            Credentials::bearer(random("wrong")),
        )
        .with_origin(sandbox.url());
        errors.push(get_contact(&runtime, &wrong, "1").await.unwrap_err());
        assert!(!format!("{connection:?}{wrong:?}").contains(&token));
        connections.push(connection);
        sandboxes.push(sandbox);
    }

    // A secret pasted into an input field (it happens): sent, since the caller asked,
    // but redacted from the logged input and from both logged bodies.
    let mut pasted = person(8);
    pasted.remote_fields = json!({"city": secrets[0].clone()});
    let kept = create_contact(&runtime, &connections[0], &pasted)
        .await
        .unwrap();
    assert_eq!(kept.remote_data["properties"]["city"], secrets[0].as_str());

    // An OAuth connection whose access token expires mid-run.
    let (access, refresh, client_secret) = (random("access"), random("refresh"), random("client"));
    secrets.extend([access.clone(), refresh.clone(), client_secret.clone()]);
    let rotated: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = rotated.clone();
    let oauth_sandbox = Sandbox::start(Vendor::HubSpot, &access).await.unwrap();
    oauth_sandbox.enable_oauth("client-1", &client_secret, &refresh);
    let oauth = Connection::new(
        "customer-oauth",
        "hubspot",
        Credentials::oauth2(
            OAuth2Tokens {
                access_token: access.clone(),
                refresh_token: refresh.clone(),
                client_id: "client-1".into(),
                client_secret: client_secret.clone(),
            },
            Some(Box::new(move |new: &unifold_runtime::RefreshedTokens| {
                let mut keep = keep.lock().unwrap();
                keep.push(new.access_token.expose_secret().to_string());
                keep.push(new.refresh_token.expose_secret().to_string());
            })),
        ),
    )
    .with_origin(oauth_sandbox.url());
    let created = create_contact(&runtime, &oauth, &person(9)).await.unwrap();
    oauth_sandbox.expire_access_token();
    get_contact(&runtime, &oauth, &created.remote_id)
        .await
        .unwrap();
    assert_eq!(oauth_sandbox.token_grants(), 1, "the token was refreshed");

    // Queued jobs with a signed completion webhook.
    let webhook_secret = random("whsec");
    secrets.push(webhook_secret.clone());
    let bodies: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let seen = bodies.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let queue = Queue::builder(&url, REGISTRY)
        .webhook(Webhook::new(&hook_url, &webhook_secret))
        .max_attempts(1)
        .connect()
        .await
        .unwrap();
    assert!(!format!("{queue:?}").contains(&webhook_secret));
    let jobs = queue
        .enqueue_many(&connections[0], "create_contact", (20..24).map(|n| json!({"last_name": "Queued", "email_addresses": [{"email_address": format!("q{n}@example.com")}]})))
        .await
        .unwrap();
    let failing = queue
        .enqueue(&connections[0], "get_contact", json!({"id": "999999"}))
        .await
        .unwrap();
    let lookup = connections.clone();
    let worker = queue.worker(runtime.clone(), move |id| {
        lookup.iter().find(|c| c.id() == id).cloned()
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));
    let mut job_records = Vec::new();
    for id in jobs.iter().chain([&failing]) {
        let job = queue.wait(id, Duration::from_secs(30)).await.unwrap();
        assert!(job.status.is_finished(), "{job:?}");
        job_records.push(serde_json::to_string(&job).unwrap());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while bodies.lock().unwrap().len() < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks not delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    running.await.unwrap().unwrap();

    // Tool calls through the MCP server, one refused.
    let mcp_token = random("mcp");
    secrets.push(mcp_token.clone());
    let server = unifold_runtime::mcp::McpServer::builder(REGISTRY, runtime.clone())
        .connection(connections[2].clone())
        .build()
        .unwrap();
    let router = server.router(SecretString::from(mcp_token.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mcp_url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let mut mcp_answers = Vec::new();
    for (id, (method, params)) in [
        ("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "scan", "version": "1"}})),
        ("tools/call", json!({"name": "create_contact", "arguments": {"last_name": "Tool", "email_addresses": [{"email_address": "tool@example.com"}]}})),
        ("tools/call", json!({"name": "get_contact", "arguments": {"id": "no-such-record"}})),
        ("tools/call", json!({"name": "create_contact", "arguments": {"email_addresses": [{"email_address": "nope"}]}})),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = client
            .post(&mcp_url)
            .bearer_auth(&mcp_token)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{method}: {}", answer.status());
        mcp_answers.push(answer.text().await.unwrap());
    }
    assert!(mcp_answers[1].contains("remote_id"), "{}", mcp_answers[1]);
    assert!(mcp_answers[3].contains("isError"), "{}", mcp_answers[3]);

    // Everything written, and where it was written.
    store.flush().await;
    let operations = store
        .query(&LogFilter {
            limit: Some(10_000),
            ..LogFilter::default()
        })
        .await
        .unwrap();
    assert!(
        operations.len() > 60,
        "the run was logged: {} operations",
        operations.len()
    );
    assert!(
        operations
            .iter()
            .any(|op| op.operation.connection_id == "customer-oauth")
    );
    let stored = serde_json::to_string(&operations).unwrap()
        + &serde_json::to_string(&store.unattached_requests(10_000).await.unwrap()).unwrap();
    let mut file_bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            file_bytes.extend(bytes);
        }
    }
    let events = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        events.contains("unifold.http")
            && events.contains("retrying")
            && events.contains("OAuth token refreshed")
    );
    let error_text: String = errors.iter().map(|e| format!("{e}\n{e:?}\n")).collect();
    let webhooks: String = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    secrets.extend(rotated.lock().unwrap().iter().cloned());
    for secret in &secrets {
        for (place, text) in [
            ("a stored log row", stored.as_str()),
            ("a tracing event", events.as_str()),
            ("an error", error_text.as_str()),
            ("a job record", &job_records.join("\n")),
            ("a webhook body", webhooks.as_str()),
            ("an MCP answer", &mcp_answers.join("\n")),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} leaked into {place}"
            );
        }
        let found = file_bytes
            .windows(secret.len())
            .any(|window| window == secret.as_bytes());
        assert!(!found, "{secret} is in the SQLite file");
    }
}
