//! `get_contact` called directly vs as an MCP `tools/call` over Streamable HTTP, against
//! the same HubSpot sandbox, in one process. The MCP side is what a remote client pays:
//! a JSON-RPC POST (raw, with reqwest, after one `initialize`) through the bearer-token
//! check, rmcp's stateless Streamable HTTP service and `Registry::invoke`, and the JSON
//! response read back. Prints each median and their ratio (MCP / direct).
//!
//!     cargo bench --bench mcp

use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use unifold_providers::{ContactInput, EmailAddress, REGISTRY, create_contact, get_contact};
use unifold_runtime::mcp::McpServer;
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Sandbox, Vendor};

const SAMPLES: usize = 2000;
const TOKEN: &str = "bench-token";
const MCP_TOKEN: &str = "bench-mcp-token";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        let sandbox = Sandbox::start(Vendor::HubSpot, TOKEN)
            .await
            .expect("sandbox");
        // Pacing off: this measures the MCP layer, not HubSpot's 10 requests/s.
        let runtime = Runtime::builder().pacing(false).build().expect("runtime");
        let connection = Connection::new("bench", "hubspot", Credentials::bearer(TOKEN))
            .with_origin(sandbox.url());
        let input = ContactInput {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            email_addresses: vec![EmailAddress {
                email_address: "ada@example.com".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let id = create_contact(&runtime, &connection, &input)
            .await
            .expect("create")
            .remote_id;

        let router = McpServer::builder(REGISTRY, runtime.clone())
            .connection(connection.clone())
            .build()
            .expect("server")
            .router(SecretString::from(MCP_TOKEN));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let post = |body: Value| {
            client
                .post(&url)
                .bearer_auth(MCP_TOKEN)
                .header("Accept", "application/json, text/event-stream")
                .json(&body)
                .send()
        };
        let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}});
        let response = post(initialize).await.expect("initialize");
        assert_eq!(response.status().as_u16(), 200);
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "get_contact", "arguments": {"id": id}}});

        // Warm both paths (connection pools, allocator).
        for _ in 0..50 {
            get_contact(&runtime, &connection, &id)
                .await
                .expect("direct");
            post(call.clone())
                .await
                .expect("mcp")
                .bytes()
                .await
                .expect("body");
        }
        let mut direct = Vec::with_capacity(SAMPLES);
        let mut mcp = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            // Interleave so both see the same sandbox state and machine noise.
            let started = Instant::now();
            let contact = get_contact(&runtime, &connection, &id)
                .await
                .expect("direct");
            direct.push(started.elapsed());
            std::hint::black_box(contact);

            let started = Instant::now();
            let response = post(call.clone()).await.expect("mcp");
            let body: Value = response.json().await.expect("json");
            mcp.push(started.elapsed());
            assert_eq!(body["result"]["isError"], false, "{body}");
            std::hint::black_box(body);
        }
        let direct = median(direct);
        let mcp = median(mcp);
        println!("get_contact on the HubSpot sandbox, {SAMPLES} samples each");
        println!(
            "  direct call                     median {:>9.1} µs",
            direct.as_secs_f64() * 1e6
        );
        println!(
            "  MCP tools/call, Streamable HTTP median {:>9.1} µs",
            mcp.as_secs_f64() * 1e6
        );
        println!(
            "  ratio MCP / direct: {:.3}",
            mcp.as_secs_f64() / direct.as_secs_f64()
        );
    });
}
