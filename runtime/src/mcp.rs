//! The actions of a [`Registry`] as Model Context Protocol tools, served with the
//! official Rust SDK (`rmcp`) over stdio or Streamable HTTP (feature `mcp`).
//!
//! Tools are data, not code: each [`ActionInfo`] becomes a tool with its name, its
//! description from the YAML, and input and output schemas built from the generated
//! types. A call runs [`Registry::invoke`] on the server's connection; arguments that do
//! not fit and provider failures come back as tool errors (`isError`) carrying the typed
//! error's message, which names the field and never a credential.
//!
//! ```no_run
//! # async fn demo(registry: unifold_runtime::Registry, connection: unifold_runtime::Connection) -> Result<(), Box<dyn std::error::Error>> {
//! use unifold_runtime::{Runtime, mcp::McpServer};
//! let server = McpServer::builder(registry, Runtime::new()?)
//!     .allow(["create_contact", "get_contact"])
//!     .connection(connection)
//!     .build()?;
//! server.serve_stdio().await?;
//! # Ok(())
//! # }
//! ```

use crate::{ActionInfo, ActionKind, Connection, Error, Registry, Runtime};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

mod serve;
pub use serve::serve_main;

/// The SDK at the version this server is built with, for its configuration types
/// ([`StreamableHttpServerConfig`]) and the [`Tool`] values of [`McpServer::tools`].
pub use rmcp;

/// The HTTP header naming the connection a request runs on when a server holds several
/// ([`McpServerBuilder::connections`]): the connection's id.
pub const CONNECTION_HEADER: &str = "X-Unifold-Connection";

/// The path [`McpServer::router`] serves Streamable HTTP on.
pub const MCP_PATH: &str = "/mcp";

/// An MCP server over the actions of one [`Registry`]. Cheap to clone: Streamable HTTP
/// makes one per request.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    runtime: Runtime,
    tools: Vec<ToolEntry>,
    connections: Connections,
}

struct ToolEntry {
    action: &'static ActionInfo,
    tool: Tool,
    envelope: Envelope,
}

/// Which connection a call runs on.
enum Connections {
    One(Connection),
    /// Chosen per HTTP request by [`CONNECTION_HEADER`], by connection id.
    ByHeader(HashMap<String, Connection>),
}

/// How an action's output becomes the tool's structured content, which MCP requires to
/// be an object: records and objects as they are, other outputs under a named field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Envelope {
    /// The output is an object already.
    AsIs,
    /// `{"<field>": output}` (lists: `records`; finds: `record`, `null` when nothing
    /// matched; anything else that is not an object: `result`).
    Field(&'static str),
    /// An action that returns nothing: `{"<field>": true}` (`deleted`, `linked`).
    Done(&'static str),
}

impl Envelope {
    fn of(action: &ActionInfo, output_schema: &Value) -> Envelope {
        match action.kind {
            ActionKind::List => Envelope::Field("records"),
            ActionKind::Find => Envelope::Field("record"),
            ActionKind::Delete => Envelope::Done("deleted"),
            ActionKind::Link => Envelope::Done("linked"),
            _ if output_schema.get("type") == Some(&Value::String("object".into())) => {
                Envelope::AsIs
            }
            _ => Envelope::Field("result"),
        }
    }

    fn wrap(self, output: Value) -> Value {
        match self {
            Envelope::AsIs => output,
            Envelope::Field(field) => json!({ field: output }),
            Envelope::Done(field) => json!({ field: true }),
        }
    }

    fn wrap_schema(self, schema: Value) -> Value {
        match self {
            Envelope::AsIs => schema,
            Envelope::Field(field) => json!({
                "type": "object",
                "properties": { field: schema },
                "required": [field],
            }),
            Envelope::Done(field) => json!({
                "type": "object",
                "properties": { field: {"const": true} },
                "required": [field],
            }),
        }
    }
}

/// Builds an [`McpServer`]: which actions it exposes and which connections it runs on.
pub struct McpServerBuilder {
    registry: Registry,
    runtime: Runtime,
    allowed: Option<Vec<String>>,
    connections: Option<Connections>,
}

impl McpServer {
    /// A server over `registry`'s actions, run by `runtime`. Every action is exposed
    /// unless [`McpServerBuilder::allow`] says otherwise.
    pub fn builder(registry: Registry, runtime: Runtime) -> McpServerBuilder {
        McpServerBuilder {
            registry,
            runtime,
            allowed: None,
            connections: None,
        }
    }

    /// The tools this server lists, in the registry's order.
    pub fn tools(&self) -> Vec<Tool> {
        self.inner
            .tools
            .iter()
            .map(|entry| entry.tool.clone())
            .collect()
    }

    /// Serves MCP over this process's standard input and output until the client
    /// disconnects. Standard output is the transport: log to standard error. A server
    /// holding several connections cannot serve stdio (there is no header to choose
    /// one with).
    pub async fn serve_stdio(self) -> std::io::Result<()> {
        if let Connections::ByHeader(_) = self.inner.connections {
            return Err(std::io::Error::other(
                "stdio serves one connection: build the server with `connection(..)`",
            ));
        }
        let running = self
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|error| std::io::Error::other(error.to_string()))?;
        Ok(())
    }

    /// An axum router serving Streamable HTTP on [`MCP_PATH`] to requests carrying
    /// `Authorization: Bearer <token>`; anything else gets 401 before the MCP layer sees
    /// it. Stateless (no session id, one JSON response per POST) and, like rmcp's
    /// default, answering only requests whose `Host` is a loopback name: use
    /// [`McpServer::router_with_config`] to list a public host.
    pub fn router(self, token: SecretString) -> axum::Router {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None);
        self.router_with_config(token, config)
    }

    /// [`McpServer::router`] with rmcp's Streamable HTTP configuration (allowed hosts
    /// and origins, sessions, body size).
    pub fn router_with_config(
        self,
        token: SecretString,
        config: StreamableHttpServerConfig,
    ) -> axum::Router {
        let service = StreamableHttpService::new(
            move || Ok(self.clone()),
            Arc::new(NeverSessionManager::default()),
            config,
        );
        axum::Router::new()
            .route_service(MCP_PATH, service)
            .layer(middleware::from_fn_with_state(
                Arc::new(token),
                require_bearer,
            ))
    }

    fn entry(&self, name: &str) -> Option<&ToolEntry> {
        self.inner
            .tools
            .iter()
            .find(|entry| entry.action.name == name)
    }

    /// The connection a request runs on: the only one, or the one its HTTP request
    /// names in [`CONNECTION_HEADER`].
    fn connection(&self, context: &RequestContext<RoleServer>) -> Result<&Connection, ErrorData> {
        let by_id = match &self.inner.connections {
            Connections::One(connection) => return Ok(connection),
            Connections::ByHeader(by_id) => by_id,
        };
        let chosen = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.headers.get(CONNECTION_HEADER));
        let Some(chosen) = chosen else {
            return Err(ErrorData::invalid_params(
                format!(
                    "this server serves several connections: name one in the `{CONNECTION_HEADER}` header"
                ),
                None,
            ));
        };
        let id = chosen.to_str().unwrap_or_default();
        by_id.get(id).ok_or_else(|| {
            ErrorData::invalid_params(
                format!("no connection `{id}` on this server (header `{CONNECTION_HEADER}`)"),
                None,
            )
        })
    }
}

impl McpServerBuilder {
    /// Exposes only these actions (by name). Without it, every action is a tool.
    pub fn allow<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Runs every call on `connection`.
    pub fn connection(mut self, connection: Connection) -> Self {
        self.connections = Some(Connections::One(connection));
        self
    }

    /// Runs each HTTP request on the connection whose id it names in
    /// [`CONNECTION_HEADER`]; a request naming none or an unknown one is refused.
    pub fn connections(mut self, connections: impl IntoIterator<Item = Connection>) -> Self {
        let by_id = connections
            .into_iter()
            .map(|connection| (connection.id().to_string(), connection))
            .collect();
        self.connections = Some(Connections::ByHeader(by_id));
        self
    }

    /// The server; a configuration error when the allowlist names an action the
    /// registry does not have or no connection was given.
    pub fn build(self) -> Result<McpServer, Error> {
        let config_error = |message: String| Error::Config {
            connection: String::new(),
            message,
        };
        let connections = match self.connections {
            None => {
                return Err(config_error(
                    "the MCP server needs a connection: call `connection` or `connections`".into(),
                ));
            }
            Some(Connections::ByHeader(by_id)) if by_id.is_empty() => {
                return Err(config_error("`connections` was given no connection".into()));
            }
            Some(connections) => connections,
        };
        let actions: Vec<&'static ActionInfo> = match &self.allowed {
            None => self.registry.actions.iter().collect(),
            Some(names) => {
                for name in names {
                    if self.registry.action(name).is_none() {
                        return Err(Error::UnknownAction {
                            action: name.clone(),
                        });
                    }
                }
                self.registry
                    .actions
                    .iter()
                    .filter(|action| names.iter().any(|name| name == action.name))
                    .collect()
            }
        };
        let tools = actions.into_iter().map(tool_entry).collect();
        Ok(McpServer {
            inner: Arc::new(Inner {
                registry: self.registry,
                runtime: self.runtime,
                tools,
                connections,
            }),
        })
    }
}

fn tool_entry(action: &'static ActionInfo) -> ToolEntry {
    let output_schema = (action.output_schema)();
    let envelope = Envelope::of(action, &output_schema);
    let tool = Tool::new(
        action.name,
        action.description,
        object((action.input_schema)()),
    )
    .with_raw_output_schema(Arc::new(object(envelope.wrap_schema(output_schema))))
    .with_annotations(annotations(action))
    .with_title(title(action.name));
    ToolEntry {
        action,
        tool,
        envelope,
    }
}

/// A schema as the JSON object MCP carries; the schema helpers only ever build objects.
fn object(schema: Value) -> Map<String, Value> {
    match schema {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("allOf".into(), Value::Array(vec![other]));
            map
        }
    }
}

/// `create_contact` → `Create contact`.
fn title(name: &str) -> String {
    let mut title = name.replace('_', " ");
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    title
}

/// Hints for clients deciding what to confirm with a user: reads change nothing;
/// updates, upserts and deletes overwrite or remove data; creates add a record.
fn annotations(action: &ActionInfo) -> ToolAnnotations {
    let hints = ToolAnnotations::new().read_only(action.read_only);
    if action.read_only {
        return hints;
    }
    match action.kind {
        ActionKind::Delete | ActionKind::Update | ActionKind::Upsert => {
            hints.destructive(true).idempotent(true)
        }
        _ => hints.destructive(false).idempotent(false),
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("unifold", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool runs one unified CRM action (contacts, companies, opportunities) \
                 on the customer account this server is bound to. Record ids are the \
                 provider's ids, as returned in `remote_id`.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // Tools the connection's provider lacks are left out when the connection is
        // known; a listing without one shows every allowed tool.
        let provider = self
            .connection(&context)
            .ok()
            .map(|connection| connection.provider().to_string());
        let tools = self
            .inner
            .tools
            .iter()
            .filter(|entry| match &provider {
                Some(provider) => entry.action.providers.contains(&provider.as_str()),
                None => true,
            })
            .map(|entry| entry.tool.clone())
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.entry(name).map(|entry| entry.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(entry) = self.entry(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("no tool is named `{}`", request.name),
                None,
            ));
        };
        let connection = self.connection(&context)?;
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let outcome = self
            .inner
            .registry
            .invoke(
                &self.inner.runtime,
                connection,
                entry.action.name,
                arguments,
            )
            .await;
        let result = match outcome {
            Ok(output) => {
                tracing::info!(
                    tool = entry.action.name,
                    connection = connection.id(),
                    "MCP tool call succeeded"
                );
                CallToolResult::structured(entry.envelope.wrap(output))
            }
            Err(error) => {
                // Errors name fields and statuses, never a credential.
                tracing::info!(
                    tool = entry.action.name,
                    connection = connection.id(),
                    category = error.category().name(),
                    %error,
                    "MCP tool call failed"
                );
                CallToolResult::error(vec![ContentBlock::text(error.to_string())])
            }
        };
        Ok(result.into())
    }
}

/// Lets a request through only with `Authorization: Bearer <token>`, compared in
/// constant time; anything else is answered 401 here and runs nothing.
async fn require_bearer(
    State(token): State<Arc<SecretString>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .and_then(bearer_token);
    match presented {
        Some(presented) if token_matches(presented, token.expose_secret().as_bytes()) => {
            next.run(request).await
        }
        _ => unauthorized(),
    }
}

/// The credentials of a `Bearer` authorization (the scheme is case-insensitive).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| token.trim_ascii())
}

/// Equal tokens, without a time difference depending on where they differ (only the
/// length may show). An empty expected token matches nothing.
fn token_matches(presented: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && bool::from(presented.ct_eq(expected))
}

fn unauthorized() -> Response {
    let body = json!({
        "error": "unauthorized",
        "message": "this MCP endpoint needs the header `Authorization: Bearer <token>`",
    });
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_and_compared_whole() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert!(token_matches(b"secret-token", b"secret-token"));
        assert!(!token_matches(b"secret-tokem", b"secret-token"));
        assert!(!token_matches(b"secret", b"secret-token"));
        assert!(!token_matches(b"", b""));
    }

    #[test]
    fn outputs_that_are_not_objects_are_wrapped_by_kind() {
        assert_eq!(
            Envelope::Field("records").wrap(json!([1])),
            json!({"records": [1]})
        );
        assert_eq!(
            Envelope::Done("deleted").wrap(Value::Null),
            json!({"deleted": true})
        );
        assert_eq!(
            Envelope::Field("record").wrap_schema(json!({"type": "null"}))["required"],
            json!(["record"])
        );
        assert_eq!(title("create_contact"), "Create contact");
    }
}
