//! Serves every shipped action as an MCP tool, on connections to the three in-process
//! sandboxes (`hubspot-demo`, `salesforce-demo`, `attio-demo`).
//!
//!     cargo run --example mcp_server                        # stdio, hubspot-demo
//!     cargo run --example mcp_server -- --connection attio-demo
//!     UNIFOLD_MCP_TOKEN=secret cargo run --example mcp_server -- --http 127.0.0.1:8808
//!
//! Over stdio one connection serves every call (`--connection ID`). Over Streamable HTTP
//! (`http://ADDR/mcp`) each request needs `Authorization: Bearer $UNIFOLD_MCP_TOKEN` and
//! names its connection in `X-Unifold-Connection`.
//!
//! `UNIFOLD_CONNECTIONS`, a JSON list of `{"id", "provider", "token", "origin"?}`, replaces
//! the in-process sandboxes (the tests point it at sandboxes they inspect). Logs go to
//! standard error: standard output is the stdio transport.

use secrecy::SecretString;
use unifold_runtime::mcp::McpServer;
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Sandbox, Vendor};

#[derive(serde::Deserialize)]
struct ConnectionSpec {
    id: String,
    provider: String,
    token: String,
    #[serde(default)]
    origin: Option<String>,
}

enum Transport {
    Stdio { connection: String },
    Http { address: String },
}

fn arguments() -> Result<Transport, String> {
    let mut connection = "hubspot-demo".to_string();
    let mut http = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--connection" => connection = args.next().ok_or("--connection needs an id")?,
            "--http" => http = Some(args.next().ok_or("--http needs ADDRESS:PORT")?),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: mcp_server [--connection ID] [--http ADDRESS:PORT]"
                ));
            }
        }
    }
    Ok(match http {
        Some(address) => Transport::Http { address },
        None => Transport::Stdio { connection },
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let transport = arguments()?;

    // Sandboxes stay alive until the end of main.
    let mut sandboxes = Vec::new();
    let connections = match std::env::var("UNIFOLD_CONNECTIONS") {
        Ok(specs) => serde_json::from_str::<Vec<ConnectionSpec>>(&specs)?
            .into_iter()
            .map(|spec| {
                let connection =
                    Connection::new(&spec.id, &spec.provider, Credentials::bearer(spec.token));
                match spec.origin {
                    Some(origin) => connection.with_origin(origin),
                    None => connection,
                }
            })
            .collect::<Vec<_>>(),
        Err(_) => {
            let token = format!("sandbox-{}", std::process::id());
            let mut connections = Vec::new();
            for vendor in Vendor::ALL {
                let sandbox = Sandbox::start(vendor, &token).await?;
                let id = format!("{}-demo", vendor.name());
                connections.push(
                    Connection::new(id, vendor.name(), Credentials::bearer(token.clone()))
                        .with_origin(sandbox.url()),
                );
                sandboxes.push(sandbox);
            }
            connections
        }
    };
    let runtime = Runtime::new()?;
    let server = McpServer::builder(unifold_providers::REGISTRY, runtime);

    match transport {
        Transport::Stdio { connection: id } => {
            let Some(connection) = connections.into_iter().find(|c| c.id() == id) else {
                return Err(format!("no connection `{id}`").into());
            };
            tracing::info!(connection = id, "serving MCP over stdio");
            server.connection(connection).build()?.serve_stdio().await?;
        }
        Transport::Http { address } => {
            let token = std::env::var("UNIFOLD_MCP_TOKEN")
                .ok()
                .filter(|token| !token.is_empty())
                .ok_or("set UNIFOLD_MCP_TOKEN to the bearer token clients must send")?;
            let ids: Vec<String> = connections.iter().map(|c| c.id().to_string()).collect();
            let router = server
                .connections(connections)
                .build()?
                .router(SecretString::from(token));
            let listener = tokio::net::TcpListener::bind(&address).await?;
            tracing::info!(
                url = format!("http://{}/mcp", listener.local_addr()?),
                connections = ids.join(", "),
                "serving MCP over Streamable HTTP"
            );
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
        }
    }
    Ok(())
}
