//! A whole MCP server process in one call: what a generated crate's `<crate>-mcp`
//! binary runs, so that binary is two lines and needs no dependency of its own.

use super::McpServer;
use crate::{Connection, Credentials, Registry, Runtime};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// One entry of `UNIFOLD_CONNECTIONS`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionSpec {
    id: String,
    provider: String,
    token: String,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

#[derive(Debug, Default, PartialEq)]
struct Arguments {
    help: bool,
    http: Option<String>,
    connection: Option<String>,
    allow: Option<Vec<String>>,
}

/// A failure before or while serving: a usage error (exit code 2) or any other (1).
enum Failure {
    Usage(String),
    Other(String),
}

/// The providers some action of `registry` runs on, sorted.
fn providers(registry: &Registry) -> Vec<&'static str> {
    let mut providers: Vec<&'static str> = registry
        .actions
        .iter()
        .flat_map(|action| action.providers.iter().copied())
        .collect();
    providers.sort_unstable();
    providers.dedup();
    providers
}

fn usage(program: &str, provider: &str) -> String {
    format!(
        "usage: {program} [--connection ID] [--http ADDRESS:PORT] [--allow ACTION,ACTION,...]

Serves this crate's actions as Model Context Protocol tools.

  (default)            stdio, on the connection named by --connection (or the only one)
  --http ADDRESS:PORT  Streamable HTTP on http://ADDRESS:PORT/mcp; each request needs
                       `Authorization: Bearer $UNIFOLD_MCP_TOKEN` and, unless
                       --connection is given, an `X-Unifold-Connection: ID` header
  --allow A,B          expose only these actions (default: every action)

Environment:
  UNIFOLD_CONNECTIONS  a JSON list of connections:
                       [{{\"id\": \"customer-1\", \"provider\": \"{provider}\", \"token\": \"...\",
                         \"origin\": \"https://...\" (optional), \"config\": {{...}} (optional)}}]
  UNIFOLD_MCP_TOKEN    the bearer token HTTP clients must send (with --http)
  UNIFOLD_PACING=off   no client-side pacing (for sandboxes without rate limits)
  RUST_LOG             log filter (default `info,rmcp=warn`); logs go to standard error
"
    )
}

fn parse_arguments(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<Arguments, String> {
    let mut parsed = Arguments::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|arg| format!("argument `{}` is not UTF-8", arg.to_string_lossy()))?;
        let mut value = |flag: &str, what: &str| {
            args.next()
                .and_then(|value| value.into_string().ok())
                .filter(|value| !value.is_empty())
                .ok_or_else(|| format!("{flag} needs {what}"))
        };
        match arg.as_str() {
            "-h" | "--help" => parsed.help = true,
            "--http" => parsed.http = Some(value("--http", "ADDRESS:PORT")?),
            "--connection" => parsed.connection = Some(value("--connection", "an id")?),
            "--allow" => {
                let names = value("--allow", "action names separated by commas")?;
                parsed.allow = Some(
                    names
                        .split(',')
                        .map(str::trim)
                        .filter(|name| !name.is_empty())
                        .map(String::from)
                        .collect(),
                );
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(parsed)
}

/// Reads `UNIFOLD_CONNECTIONS`. Problems name the place in the JSON, never a value (the
/// list holds tokens).
fn parse_connections(text: &str, registry: &Registry) -> Result<Vec<Connection>, String> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    let specs: Vec<ConnectionSpec> =
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let place = error.path().to_string();
            let inner = error.inner();
            format!(
                "UNIFOLD_CONNECTIONS is not a JSON list of {{\"id\", \"provider\", \"token\", \"origin\"?, \"config\"?}} objects ({}line {}, column {})",
                if place == "." {
                    String::new()
                } else {
                    format!("at `{place}`, ")
                },
                inner.line(),
                inner.column()
            )
        })?;
    if specs.is_empty() {
        return Err("UNIFOLD_CONNECTIONS lists no connection".into());
    }
    let providers = providers(registry);
    let mut connections: Vec<Connection> = Vec::with_capacity(specs.len());
    for spec in specs {
        if !providers.contains(&spec.provider.as_str()) {
            return Err(format!(
                "connection `{}`: no action here runs on provider `{}` (providers: {})",
                spec.id,
                spec.provider,
                providers.join(", ")
            ));
        }
        if connections.iter().any(|c| c.id() == spec.id) {
            return Err(format!(
                "UNIFOLD_CONNECTIONS lists connection `{}` twice",
                spec.id
            ));
        }
        let mut connection =
            Connection::new(&spec.id, &spec.provider, Credentials::bearer(spec.token));
        if let Some(origin) = spec.origin {
            connection = connection.with_origin(origin);
        }
        for (key, value) in spec.config {
            connection = connection.with_config(key, value);
        }
        connections.push(connection);
    }
    Ok(connections)
}

/// Runs an MCP server process over `registry`'s actions and returns its exit code: the
/// whole `main` of a generated crate's `<crate>-mcp` binary (`program` is its name, for
/// the usage text).
///
/// Connections come from `UNIFOLD_CONNECTIONS` (a JSON list of `{"id", "provider",
/// "token", "origin"?, "config"?}`, the format of the queue worker). Serves stdio by
/// default, on `--connection ID` or the only connection; `--http ADDRESS:PORT` serves
/// Streamable HTTP on `/mcp` behind the bearer token in `UNIFOLD_MCP_TOKEN`, each
/// request naming its connection in [`CONNECTION_HEADER`](super::CONNECTION_HEADER)
/// unless `--connection` binds the server to one. `--allow A,B` exposes only those
/// actions. Logs go to standard error (`RUST_LOG`, default `info,rmcp=warn`). Exit code
/// 2 for a usage error, 1 for any other failure.
///
/// ```no_run
/// // The whole `src/bin/mcp.rs` of a generated crate is this, with its own `REGISTRY`:
/// fn serve(registry: unifold_runtime::Registry) -> std::process::ExitCode {
///     unifold_runtime::mcp::serve_main(registry, "acme-crm-mcp")
/// }
/// ```
pub fn serve_main(registry: Registry, program: &str) -> ExitCode {
    let arguments = match parse_arguments(std::env::args_os().skip(1)) {
        Ok(arguments) if arguments.help => {
            let providers = providers(&registry);
            print!(
                "{}",
                usage(program, providers.first().copied().unwrap_or("hubspot"))
            );
            return ExitCode::SUCCESS;
        }
        Ok(arguments) => arguments,
        Err(problem) => {
            eprintln!("error: {problem}\n(`{program} --help` lists the options)");
            return ExitCode::from(2);
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Other(format!("cannot start the async runtime: {error}")))
        .and_then(|tokio| tokio.block_on(serve(registry, arguments)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(problem)) => {
            eprintln!("error: {problem}\n(`{program} --help` lists the options)");
            ExitCode::from(2)
        }
        Err(Failure::Other(problem)) => {
            eprintln!("error: {problem}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(registry: Registry, arguments: Arguments) -> Result<(), Failure> {
    let text = std::env::var("UNIFOLD_CONNECTIONS").map_err(|_| {
        Failure::Usage(format!(
            "set UNIFOLD_CONNECTIONS to the connections to serve, a JSON list such as \
             [{{\"id\": \"customer-1\", \"provider\": \"{}\", \"token\": \"...\"}}]",
            providers(&registry).first().copied().unwrap_or("hubspot")
        ))
    })?;
    let mut connections = parse_connections(&text, &registry).map_err(Failure::Other)?;
    if let Some(id) = &arguments.connection {
        let ids: Vec<String> = connections.iter().map(|c| c.id().to_string()).collect();
        connections.retain(|connection| connection.id() == id);
        if connections.is_empty() {
            return Err(Failure::Usage(format!(
                "no connection `{id}` in UNIFOLD_CONNECTIONS (it has: {})",
                ids.join(", ")
            )));
        }
    }
    let pacing = std::env::var("UNIFOLD_PACING").map_or(true, |value| value != "off");
    let runtime = Runtime::builder()
        .pacing(pacing)
        .build()
        .map_err(|error| Failure::Other(error.to_string()))?;
    let mut builder = McpServer::builder(registry, runtime);
    if let Some(allow) = arguments.allow {
        builder = builder.allow(allow);
    }
    let ids: Vec<String> = connections.iter().map(|c| c.id().to_string()).collect();
    match arguments.http {
        None => {
            let [connection] = <[Connection; 1]>::try_from(connections).map_err(|_| {
                Failure::Usage(format!(
                    "stdio serves one connection: choose one with --connection ({})",
                    ids.join(", ")
                ))
            })?;
            let server = builder
                .connection(connection)
                .build()
                .map_err(|error| Failure::Other(error.to_string()))?;
            tracing::info!(connection = ids.join(", "), "serving MCP over stdio");
            server
                .serve_stdio()
                .await
                .map_err(|error| Failure::Other(format!("stdio: {error}")))
        }
        Some(address) => {
            let token = std::env::var("UNIFOLD_MCP_TOKEN")
                .ok()
                .filter(|token| !token.is_empty())
                .ok_or_else(|| {
                    Failure::Usage(
                        "set UNIFOLD_MCP_TOKEN to the bearer token HTTP clients must send".into(),
                    )
                })?;
            builder = if arguments.connection.is_some() {
                connections
                    .into_iter()
                    .fold(builder, |b, c| b.connection(c))
            } else {
                builder.connections(connections)
            };
            let router = builder
                .build()
                .map_err(|error| Failure::Other(error.to_string()))?
                .router(SecretString::from(token));
            let listener = tokio::net::TcpListener::bind(&address)
                .await
                .map_err(|error| Failure::Other(format!("cannot listen on {address}: {error}")))?;
            let url = match listener.local_addr() {
                Ok(local) => format!("http://{local}{}", super::MCP_PATH),
                Err(_) => format!("http://{address}{}", super::MCP_PATH),
            };
            tracing::info!(
                url,
                connections = ids.join(", "),
                "serving MCP over Streamable HTTP"
            );
            axum::serve(listener, router)
                .await
                .map_err(|error| Failure::Other(format!("http: {error}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Arguments, String> {
        parse_arguments(list.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn arguments() {
        assert_eq!(args(&[]), Ok(Arguments::default()));
        assert_eq!(
            args(&[
                "--http",
                "127.0.0.1:0",
                "--allow",
                "get_contact, create_contact"
            ]),
            Ok(Arguments {
                http: Some("127.0.0.1:0".into()),
                allow: Some(vec!["get_contact".into(), "create_contact".into()]),
                ..Arguments::default()
            })
        );
        assert_eq!(args(&["--http"]), Err("--http needs ADDRESS:PORT".into()));
        assert_eq!(args(&["--port"]), Err("unknown argument `--port`".into()));
    }

    static NO_ACTIONS: Registry = {
        fn invoke<'a>(
            _: &'a Runtime,
            _: &'a Connection,
            name: &'a str,
            _: serde_json::Value,
        ) -> futures_util::future::BoxFuture<'a, Result<serde_json::Value, crate::Error>> {
            Box::pin(async move {
                Err(crate::Error::UnknownAction {
                    action: name.into(),
                })
            })
        }
        fn invoke_batch<'a>(
            _: &'a Runtime,
            _: &'a Connection,
            _: &'a str,
            _: Vec<serde_json::Value>,
        ) -> futures_util::future::BoxFuture<'a, Vec<Result<serde_json::Value, crate::Error>>>
        {
            Box::pin(async { Vec::new() })
        }
        fn check(name: &str, _: &serde_json::Value) -> Result<(), crate::Error> {
            Err(crate::Error::UnknownAction {
                action: name.into(),
            })
        }
        Registry {
            actions: &[],
            invoke,
            check,
            batches: &[],
            invoke_batch,
        }
    };

    #[test]
    fn connection_problems_name_the_place_never_the_value() {
        let problem = parse_connections(
            r#"[{"id": "a", "provider": "hubspot", "token": 12345678}]"#,
            &NO_ACTIONS,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            problem,
            "UNIFOLD_CONNECTIONS is not a JSON list of {\"id\", \"provider\", \"token\", \"origin\"?, \"config\"?} objects (at `[0].token`, line 1, column 53)"
        );
        let problem = parse_connections(
            r#"[{"id": "a", "provider": "hubspot", "token": "secret-token"}]"#,
            &NO_ACTIONS,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            problem,
            "connection `a`: no action here runs on provider `hubspot` (providers: )"
        );
        assert!(!problem.contains("secret-token"));
    }
}
