//! The MCP server (`unifold_runtime::mcp`) tested with a client nobody here wrote: the
//! official Python SDK (`mcp` on PyPI, installed by `.ci/run` into a virtual environment
//! named by `UNIFOLD_MCP_PYTHON`) runs `tests/mcp/client.py` over stdio (spawning the
//! `mcp_server` example) and over Streamable HTTP (served here), on each sandbox.
//! Without Python's `mcp` those parts print why they skip; the Rust checks of the HTTP
//! endpoint (bearer token, protocol errors, tool errors, credentials) always run.

mod common;

use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::PathBuf;
use unifold_providers::REGISTRY;
use unifold_runtime::mcp::{CONNECTION_HEADER, McpServer};
use unifold_runtime::{Connection, Credentials, Error, Runtime};
use unifold_sandbox::{Sandbox, Vendor};

const SANDBOX_TOKEN: &str = "mcp-sandbox-token";
const MCP_TOKEN: &str = "mcp-bearer-token-7f3a";

/// The three sandboxes and a connection to each, with the ids the example uses.
async fn sandboxes() -> Vec<(Vendor, Sandbox, Connection)> {
    let mut all = Vec::new();
    for vendor in Vendor::ALL {
        let sandbox = Sandbox::start(vendor, SANDBOX_TOKEN).await.unwrap();
        let connection = Connection::new(
            format!("{}-demo", vendor.name()),
            vendor.name(),
            Credentials::bearer(SANDBOX_TOKEN),
        )
        .with_origin(sandbox.url());
        all.push((vendor, sandbox, connection));
    }
    all
}

fn runtime() -> Runtime {
    Runtime::builder().pacing(false).build().unwrap()
}

/// Serves `server` over Streamable HTTP on a free loopback port; returns its URL.
async fn serve_http(server: McpServer) -> String {
    let router = server.router(SecretString::from(MCP_TOKEN));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// A stored contact's last name and first email, read the way each sandbox stores it.
fn stored_contact(vendor: Vendor, record: &Value) -> (String, String) {
    let text = |pointer: &str| {
        record
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match vendor {
        Vendor::HubSpot => (text("/properties/lastname"), text("/properties/email")),
        Vendor::Salesforce => (text("/LastName"), text("/Email")),
        Vendor::Attio => (
            text("/values/name/0/last_name"),
            text("/values/email_addresses/0/email_address"),
        ),
    }
}

// --- The official Python SDK ------------------------------------------------------

/// The Python with the `mcp` package, or why the Python parts skip. A set
/// `UNIFOLD_MCP_PYTHON` (CI) must work: a broken one fails instead of skipping.
fn python() -> Result<String, String> {
    let imports_mcp = |python: &str| {
        std::process::Command::new(python)
            .args(["-c", "import mcp"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if let Ok(python) = std::env::var("UNIFOLD_MCP_PYTHON") {
        assert!(
            imports_mcp(&python),
            "UNIFOLD_MCP_PYTHON={python} cannot `import mcp`: run .ci/run, which installs it"
        );
        return Ok(python);
    }
    if imports_mcp("python3") {
        return Ok("python3".into());
    }
    Err(
        "UNIFOLD_MCP_PYTHON is unset and python3 has no `mcp` package (.ci/run installs one)"
            .into(),
    )
}

/// Runs `tests/mcp/client.py` and returns the JSON it printed.
async fn run_client(python: &str, arguments: &[&str], env: &[(&str, String)]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let mut command = tokio::process::Command::new(python);
    command.arg(script).args(arguments).kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .expect("the Python client finishes within 2 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client.py failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"))
}

/// Requests a direct `create_contact` + `get_contact` sends: what the client's pair of
/// tool calls must add to a sandbox, its invalid calls adding nothing.
async fn direct_create_and_get(connection: &Connection) {
    let runtime = runtime();
    let created = REGISTRY
        .invoke(
            &runtime,
            connection,
            "create_contact",
            json!({"last_name": "Baseline", "email_addresses": [{"email_address": "baseline@example.com"}]}),
        )
        .await
        .unwrap();
    REGISTRY
        .invoke(
            &runtime,
            connection,
            "get_contact",
            json!({"id": created["remote_id"]}),
        )
        .await
        .unwrap();
}

/// What client.py reported for every connection, checked against each sandbox.
fn assert_client_report(report: &Value, all: &[(Vendor, Sandbox, Connection)], baseline: &[usize]) {
    let reports = report["connections"].as_array().unwrap();
    assert_eq!(reports.len(), all.len(), "{report}");
    for ((vendor, sandbox, connection), (entry, requests_before)) in
        all.iter().zip(reports.iter().zip(baseline))
    {
        let id = connection.id();
        assert_eq!(entry["connection"], id);
        let tools = &entry["tools"];
        assert_eq!(tools["count"], REGISTRY.actions.len(), "{id}");
        assert_eq!(tools["get_contact_read_only"], true, "{id}");
        assert_eq!(tools["create_contact_read_only"], false, "{id}");
        assert_eq!(tools["delete_contact_destructive"], true, "{id}");

        let last_name = format!("Lovelace-{id}");
        let email = format!("ada.{id}@example.com");
        assert_eq!(entry["created"]["last_name"], last_name.as_str(), "{id}");
        assert_eq!(
            entry["read"]["remote_id"], entry["created"]["remote_id"],
            "{id}"
        );
        assert_eq!(entry["read"]["last_name"], last_name.as_str(), "{id}");
        assert_eq!(entry["read"]["email"], email.as_str(), "{id}");

        assert_eq!(entry["invalid_email"]["is_error"], true, "{id}");
        assert_eq!(
            entry["invalid_email"]["text"],
            "invalid input: email_addresses[0].email_address: `not-an-email` is not a valid email address"
        );
        assert_eq!(entry["wrong_type"]["is_error"], true, "{id}");
        assert_eq!(
            entry["wrong_type"]["text"],
            "invalid input: last_name: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            entry["unknown_tool"],
            json!({"code": -32602, "message": "no tool is named `create_contract`"})
        );

        // The record is in the provider, next to the baseline's; the invalid calls sent
        // nothing: the client's requests are exactly one create and one get.
        let object = common::object_of(*vendor, "contact");
        let stored: Vec<(String, String)> = sandbox
            .records(object)
            .iter()
            .map(|record| stored_contact(*vendor, record))
            .collect();
        assert!(
            stored.contains(&(last_name.clone(), email.clone())),
            "{id}: {stored:?}"
        );
        assert_eq!(stored.len(), 2, "{id}: {stored:?}");
        assert_eq!(sandbox.request_count(), 2 * requests_before, "{id}");
    }
}

#[tokio::test]
async fn python_sdk_over_streamable_http_on_every_sandbox() {
    let python = match python() {
        Ok(python) => python,
        Err(reason) => {
            println!("skipping: {reason}");
            return;
        }
    };
    let all = sandboxes().await;
    let mut baseline = Vec::new();
    for (_, sandbox, connection) in &all {
        direct_create_and_get(connection).await;
        baseline.push(sandbox.request_count());
    }
    let server = McpServer::builder(REGISTRY, runtime())
        .connections(all.iter().map(|(_, _, connection)| connection.clone()))
        .build()
        .unwrap();
    let url = serve_http(server).await;
    let ids: Vec<&str> = all.iter().map(|(_, _, c)| c.id()).collect();
    let mut arguments = vec!["http", url.as_str()];
    arguments.extend(&ids);
    let report = run_client(
        &python,
        &arguments,
        &[("UNIFOLD_MCP_TOKEN", MCP_TOKEN.to_string())],
    )
    .await;
    assert_eq!(report["mode"], "http");
    assert_client_report(&report, &all, &baseline);
}

/// The example binary, built by `cargo test --workspace` (not by `--test mcp` alone).
fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let debug = exe.parent()?.parent()?;
    let binary = debug.join("examples").join("mcp_server");
    binary.exists().then_some(binary)
}

#[tokio::test]
async fn python_sdk_over_stdio_spawning_the_example_on_every_sandbox() {
    let python = match python() {
        Ok(python) => python,
        Err(reason) => {
            println!("skipping: {reason}");
            return;
        }
    };
    let Some(binary) = example_binary() else {
        println!(
            "skipping: the mcp_server example is not built (cargo test --workspace or cargo build --example mcp_server builds it)"
        );
        return;
    };
    let all = sandboxes().await;
    let mut baseline = Vec::new();
    for (_, sandbox, connection) in &all {
        direct_create_and_get(connection).await;
        baseline.push(sandbox.request_count());
    }
    // The example serves these sandboxes instead of starting its own.
    let connections: Vec<Value> = all
        .iter()
        .map(|(vendor, sandbox, connection)| {
            json!({"id": connection.id(), "provider": vendor.name(), "token": SANDBOX_TOKEN, "origin": sandbox.url()})
        })
        .collect();
    let binary = binary.display().to_string();
    let ids: Vec<&str> = all.iter().map(|(_, _, c)| c.id()).collect();
    let mut arguments = vec!["stdio", binary.as_str()];
    arguments.extend(&ids);
    let report = run_client(
        &python,
        &arguments,
        &[("UNIFOLD_CONNECTIONS", Value::from(connections).to_string())],
    )
    .await;
    assert_eq!(report["mode"], "stdio");
    assert_client_report(&report, &all, &baseline);
}

// --- The HTTP endpoint, checked from Rust ---------------------------------------------

/// One JSON-RPC request to the endpoint (stateless: no `initialize` needed).
async fn post(
    url: &str,
    bearer: Option<&str>,
    connection: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(token) = bearer {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(id) = connection {
        request = request.header(CONNECTION_HEADER, id);
    }
    request.send().await.unwrap()
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

fn ada() -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email_addresses": [{"email_address": "ada@example.com"}]})
}

#[tokio::test]
async fn requests_without_the_bearer_token_get_401_and_run_nothing() {
    let (sandbox, connection) = common::start(Vendor::HubSpot, SANDBOX_TOKEN).await;
    let server = McpServer::builder(REGISTRY, runtime())
        .connection(connection)
        .build()
        .unwrap();
    let url = serve_http(server).await;
    let create = call("create_contact", ada());

    let missing = post(&url, None, None, create.clone()).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"error": "unauthorized", "message": "this MCP endpoint needs the header `Authorization: Bearer <token>`"})
    );
    for wrong in [
        "mcp-bearer-token-7f3b",
        "mcp-bearer-token-7f3",
        "mcp-bearer-token-7f3aa",
        "",
    ] {
        let response = post(&url, Some(wrong), None, create.clone()).await;
        assert_eq!(response.status(), 401, "token {wrong:?}");
    }
    let basic = reqwest::Client::new()
        .post(&url)
        .header("Authorization", format!("Basic {MCP_TOKEN}"))
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(sandbox.request_count(), 0);
    assert!(sandbox.records("contacts").is_empty());

    // The right token runs the same request.
    let accepted = post(&url, Some(MCP_TOKEN), None, create).await;
    assert_eq!(accepted.status(), 200);
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(
        body["result"]["structuredContent"]["last_name"], "Lovelace",
        "{body}"
    );
    assert_eq!(sandbox.records("contacts").len(), 1);
}

#[tokio::test]
async fn the_connection_header_chooses_the_sandbox() {
    let all = sandboxes().await;
    let server = McpServer::builder(REGISTRY, runtime())
        .connections(all.iter().map(|(_, _, connection)| connection.clone()))
        .build()
        .unwrap();
    let url = serve_http(server).await;
    for (vendor, sandbox, connection) in &all {
        let body: Value = post(
            &url,
            Some(MCP_TOKEN),
            Some(connection.id()),
            call("create_contact", ada()),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(body["result"]["isError"], false, "{body}");
        let records = sandbox.records(common::object_of(*vendor, "contact"));
        assert_eq!(records.len(), 1, "{vendor:?}");
        assert_eq!(
            stored_contact(*vendor, &records[0]),
            ("Lovelace".into(), "ada@example.com".into())
        );
    }

    // No header, or an unknown id: the protocol's invalid-params error, nothing sent.
    let requests: Vec<usize> = all.iter().map(|(_, s, _)| s.request_count()).collect();
    let missing: Value = post(&url, Some(MCP_TOKEN), None, call("create_contact", ada()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(missing["error"]["code"], -32602);
    assert_eq!(
        missing["error"]["message"],
        "this server serves several connections: name one in the `X-Unifold-Connection` header"
    );
    let unknown: Value = post(
        &url,
        Some(MCP_TOKEN),
        Some("acme"),
        call("create_contact", ada()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        unknown["error"]["message"],
        "no connection `acme` on this server (header `X-Unifold-Connection`)"
    );
    assert_eq!(unknown["error"]["code"], -32602);
    let after: Vec<usize> = all.iter().map(|(_, s, _)| s.request_count()).collect();
    assert_eq!(requests, after);
    for (vendor, sandbox, _) in &all {
        assert_eq!(
            sandbox.records(common::object_of(*vendor, "contact")).len(),
            1
        );
    }
}

#[tokio::test]
async fn bad_input_is_a_tool_error_naming_the_field_and_an_unknown_tool_a_protocol_error() {
    let (sandbox, connection) = common::start(Vendor::Salesforce, SANDBOX_TOKEN).await;
    let server = McpServer::builder(REGISTRY, runtime())
        .connection(connection)
        .build()
        .unwrap();
    let url = serve_http(server).await;
    let cases = [
        (
            "create_contact",
            json!({"last_name": "L", "email_addresses": [{"email_address": "not-an-email"}]}),
            "invalid input: email_addresses[0].email_address: `not-an-email` is not a valid email address",
        ),
        (
            "create_contact",
            json!({"last_name": ["L"]}),
            "invalid input: last_name: invalid type: sequence, expected a string",
        ),
        (
            "create_contact",
            json!({"last_name": "L", "email": "a@b.c"}),
            "invalid input: email: unknown field `email`, expected one of `first_name`, `last_name`, `email_addresses`, `phone_numbers`, `title`, `account`, `owner`, `custom_fields`, `remote_fields`",
        ),
        (
            "create_contact",
            json!({"first_name": "Ada"}),
            "invalid input: last_name: is required by salesforce",
        ),
        ("get_contact", json!({}), "invalid input: id: is required"),
        (
            "update_contact",
            json!({"id": "003", "patch": {"title": 7}}),
            "invalid input: patch.title: invalid type: integer `7`, expected a string",
        ),
        (
            "list_contacts",
            json!({"limit": "ten"}),
            "invalid input: limit: invalid type: string \"ten\", expected usize",
        ),
    ];
    for (tool, arguments, expected) in cases {
        let body: Value = post(&url, Some(MCP_TOKEN), None, call(tool, arguments))
            .await
            .json()
            .await
            .unwrap();
        let result = &body["result"];
        assert_eq!(result["isError"], true, "{tool}: {body}");
        assert_eq!(result["content"][0]["text"], expected, "{tool}");
        assert_eq!(result.get("structuredContent"), None, "{tool}");
    }
    assert_eq!(sandbox.request_count(), 0);

    let unknown: Value = post(
        &url,
        Some(MCP_TOKEN),
        None,
        call("create_contract", json!({})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        unknown["error"],
        json!({"code": -32602, "message": "no tool is named `create_contract`"})
    );
    assert_eq!(unknown.get("result"), None);
}

#[tokio::test]
async fn provider_errors_are_tool_errors_that_name_no_credential() {
    let sandbox = Sandbox::start(Vendor::HubSpot, SANDBOX_TOKEN)
        .await
        .unwrap();
    let secret = "pat-na1-very-secret-credential";
    let connection = Connection::new("customer-7", "hubspot", Credentials::bearer(secret))
        .with_origin(sandbox.url());
    let server = McpServer::builder(REGISTRY, runtime())
        .connection(connection)
        .build()
        .unwrap();
    let url = serve_http(server).await;
    let body: Value = post(
        &url,
        Some(MCP_TOKEN),
        None,
        call("get_contact", json!({"id": "1"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["result"]["isError"], true, "{body}");
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("hubspot refused the credentials of connection customer-7 (HTTP 401)"),
        "{text}"
    );
    assert!(!body.to_string().contains(secret), "{body}");
}

// --- Tools as data ---------------------------------------------------------------------

#[test]
fn every_action_is_a_tool_with_object_schemas_and_hints() {
    let connection = Connection::new("c", "hubspot", Credentials::bearer("t"));
    let server = McpServer::builder(REGISTRY, runtime())
        .connection(connection)
        .build()
        .unwrap();
    let tools = server.tools();
    assert_eq!(tools.len(), REGISTRY.actions.len());
    for (tool, action) in tools.iter().zip(REGISTRY.actions) {
        assert_eq!(tool.name, action.name);
        assert_eq!(tool.description.as_deref(), Some(action.description));
        assert_eq!(tool.input_schema["type"], "object", "{}", action.name);
        let output = tool.output_schema.as_ref().unwrap();
        assert_eq!(output["type"], "object", "{}", action.name);
        let hints = tool.annotations.as_ref().unwrap();
        assert_eq!(
            hints.read_only_hint,
            Some(action.read_only),
            "{}",
            action.name
        );
    }
    let tool = |name: &str| tools.iter().find(|t| t.name == name).unwrap().clone();

    let create = tool("create_contact");
    assert_eq!(create.input_schema["additionalProperties"], false);
    let email = &create.input_schema["properties"]["email_addresses"]["items"];
    assert_eq!(email["required"], json!(["email_address"]));
    assert_eq!(email["properties"]["email_address"]["format"], "email");
    assert_eq!(
        email["properties"]["email_address_type"]["examples"],
        json!(["work", "personal"])
    );
    assert_eq!(
        create.input_schema["properties"]["last_name"]["maxLength"],
        255
    );
    let output = create.output_schema.as_ref().unwrap();
    assert_eq!(output["required"], json!(["remote_id"]));
    assert_eq!(
        create.annotations.as_ref().unwrap().destructive_hint,
        Some(false)
    );

    let get = tool("get_contact");
    assert_eq!(get.input_schema["required"], json!(["id"]));
    assert_eq!(get.annotations.as_ref().unwrap().read_only_hint, Some(true));
    let update = tool("update_contact");
    assert_eq!(
        update.input_schema["properties"]["patch"]["properties"]["title"]["type"],
        json!(["string", "null"])
    );
    let delete = tool("delete_contact");
    assert_eq!(
        delete.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
    assert_eq!(
        **delete.output_schema.as_ref().unwrap(),
        *json!({"type": "object", "properties": {"deleted": {"const": true}}, "required": ["deleted"]})
            .as_object()
            .unwrap()
    );
    let list = tool("list_contacts");
    assert_eq!(
        list.output_schema.as_ref().unwrap()["properties"]["records"]["items"]["properties"]["remote_id"]
            ["type"],
        "string"
    );
    assert_eq!(
        list.input_schema["properties"]["modified_since"]["format"],
        "date-time"
    );
    let find = tool("find_contact_by_email");
    assert_eq!(find.input_schema["required"], json!(["email"]));
    let link = tool("link_opportunity_contact");
    assert_eq!(
        link.input_schema["required"],
        json!(["opportunity_id", "contact_id"])
    );
    let composite = tool("create_opportunity_with_links");
    assert!(
        composite.input_schema["properties"]["contact"]["properties"]["last_name"].is_object(),
        "{:?}",
        composite.input_schema
    );
}

#[test]
fn the_allowlist_picks_the_tools_and_names_must_exist() {
    let connection = Connection::new("c", "hubspot", Credentials::bearer("t"));
    let server = McpServer::builder(REGISTRY, runtime())
        .allow(["get_contact", "create_contact"])
        .connection(connection.clone())
        .build()
        .unwrap();
    let names: Vec<String> = server.tools().iter().map(|t| t.name.to_string()).collect();
    // In the registry's order, whatever the allowlist's.
    assert_eq!(names, ["create_contact", "get_contact"]);

    let misspelt = McpServer::builder(REGISTRY, runtime())
        .allow(["get_contacts"])
        .connection(connection)
        .build();
    assert!(
        matches!(&misspelt, Err(Error::UnknownAction { action }) if action == "get_contacts"),
        "{:?}",
        misspelt.err()
    );
    let unbound = McpServer::builder(REGISTRY, runtime()).build();
    assert!(
        matches!(&unbound, Err(Error::Config { message, .. })
            if message == "the MCP server needs a connection: call `connection` or `connections`"),
        "{:?}",
        unbound.err()
    );
}

#[tokio::test]
async fn a_tool_left_out_of_the_allowlist_cannot_be_called() {
    let (sandbox, connection) = common::start(Vendor::Attio, SANDBOX_TOKEN).await;
    let server = McpServer::builder(REGISTRY, runtime())
        .allow(["get_contact"])
        .connection(connection)
        .build()
        .unwrap();
    let url = serve_http(server).await;
    let listed: Value = post(
        &url,
        Some(MCP_TOKEN),
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert_eq!(names, ["get_contact"]);
    let refused: Value = post(&url, Some(MCP_TOKEN), None, call("create_contact", ada()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        refused["error"]["message"],
        "no tool is named `create_contact`"
    );
    assert_eq!(sandbox.request_count(), 0);
}
