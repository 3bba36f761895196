//! Stateful in-process emulators ("sandboxes") of the HubSpot CRM v3, Salesforce REST and
//! Attio REST v2 APIs, and of any provider described in YAML (`sandbox.yaml`).
//!
//! Tests of generated clients talk to a [`Sandbox`] instead of the live service. The
//! emulators follow the real paths, bodies, status codes and error bodies, and they reject
//! what the real API rejects, so a client can only pass by sending what the vendor accepts.
//!
//! Layout: `state` holds what every emulator shares (the record store, the request log,
//! the auth check and the request-recording middleware); `hubspot`, `salesforce` and `attio`
//! each map HTTP to and from that store in their vendor's shapes; `described` does the same
//! for a provider from its sandbox description ([`Sandbox::start_described`]).

mod attio;
mod described;
mod hubspot;
mod salesforce;
mod state;
mod util;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::{
    Association, CustomFieldError, Fault, FaultPlan, Limit, RecordedRequest, SandboxState,
};
pub use unifold_codegen::sandbox::SandboxSpec;

/// Why a described sandbox did not start.
#[derive(Debug)]
pub enum StartError {
    /// The description (or the OpenAPI document it serves) has problems, each with
    /// its file, line and column.
    Description(unifold_codegen::Diagnostics),
    /// The address could not be bound.
    Io(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Description(problems) => write!(f, "{problems}"),
            StartError::Io(error) => write!(f, "cannot listen: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<std::io::Error> for StartError {
    fn from(error: std::io::Error) -> StartError {
        StartError::Io(error)
    }
}

/// One of the emulated vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    HubSpot,
    Salesforce,
    Attio,
}

impl Vendor {
    /// Every emulated vendor, in a fixed order.
    pub const ALL: [Vendor; 3] = [Vendor::HubSpot, Vendor::Salesforce, Vendor::Attio];

    /// Parses `"hubspot"`, `"salesforce"` or `"attio"`, ignoring case.
    pub fn from_name(name: &str) -> Option<Vendor> {
        Vendor::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The lower-case name used on the command line and in mapping files.
    pub fn name(&self) -> &'static str {
        match self {
            Vendor::HubSpot => "hubspot",
            Vendor::Salesforce => "salesforce",
            Vendor::Attio => "attio",
        }
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Builds the axum router of one vendor's emulator together with the state it serves from.
///
/// Use this to mount the emulator in your own server; [`Sandbox`] does the binding for you.
pub fn router(vendor: Vendor, token: &str) -> (axum::Router, SandboxState) {
    let state = SandboxState::new(vendor, token);
    let routes = match vendor {
        Vendor::HubSpot => state::build::<hubspot::HubSpot>(state.clone()),
        Vendor::Salesforce => state::build::<salesforce::Salesforce>(state.clone()),
        Vendor::Attio => state::build::<attio::Attio>(state.clone()),
    };
    (routes, state)
}

/// Builds the router of a described provider (see [`Sandbox::start_described`]).
pub fn router_described(spec: SandboxSpec, token: &str) -> (axum::Router, SandboxState) {
    let described = Arc::new(described::Described::new(spec));
    let provider = described.spec().provider.clone();
    let state = SandboxState::with_dialect(None, &provider, described.clone(), token);
    if let Some(rate) = described.spec().rate_limits.as_ref().filter(|r| r.enforce) {
        state.enforce(Limit {
            requests: rate.requests,
            window: std::time::Duration::from_millis(rate.window_ms),
            reads: None,
        });
    }
    let routes = state::serve(state.clone(), described::Described::routes(described));
    (routes, state)
}

/// A running emulator bound to a local TCP port.
///
/// Dropping it stops the server gracefully: the listener closes at once and open
/// connections are closed once their current request is answered, so a test cannot leak a
/// server into the next one.
#[derive(Debug)]
pub struct Sandbox {
    state: SandboxState,
    addr: SocketAddr,
    server: JoinHandle<()>,
    /// Dropping this sender (with the sandbox) is the server's shutdown signal.
    _shutdown: oneshot::Sender<()>,
}

impl Sandbox {
    /// Starts an emulator of `vendor` on `127.0.0.1` with a free port, accepting only
    /// `Authorization: Bearer <token>`.
    pub async fn start(vendor: Vendor, token: &str) -> std::io::Result<Sandbox> {
        Sandbox::start_on(vendor, SocketAddr::from(([127, 0, 0, 1], 0)), token).await
    }

    /// Starts an emulator of `vendor` on `addr` (port 0 picks a free port).
    pub async fn start_on(
        vendor: Vendor,
        addr: SocketAddr,
        token: &str,
    ) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(addr).await?;
        let (app, state) = router(vendor, token);
        Sandbox::serve(listener, app, state)
    }

    /// Starts the emulator a provider folder describes (`dir/sandbox.yaml` with the
    /// OpenAPI document beside it) on `127.0.0.1` with a free port, accepting `token`
    /// the way the description's `auth:` says. No Rust per provider:
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), unifold_sandbox::StartError> {
    /// let sandbox = unifold_sandbox::Sandbox::start_described("examples/pipedrive/providers/pipedrive", "token").await?;
    /// assert_eq!(sandbox.provider(), "pipedrive");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_described(
        dir: impl AsRef<Path>,
        token: &str,
    ) -> Result<Sandbox, StartError> {
        Sandbox::start_described_on(dir, SocketAddr::from(([127, 0, 0, 1], 0)), token).await
    }

    /// [`Sandbox::start_described`] on `addr` (port 0 picks a free port).
    pub async fn start_described_on(
        dir: impl AsRef<Path>,
        addr: SocketAddr,
        token: &str,
    ) -> Result<Sandbox, StartError> {
        let spec = unifold_codegen::sandbox::load(dir.as_ref()).map_err(StartError::Description)?;
        let listener = TcpListener::bind(addr).await?;
        let (app, state) = router_described(spec, token);
        Ok(Sandbox::serve(listener, app, state)?)
    }

    fn serve(
        listener: TcpListener,
        app: axum::Router,
        state: SandboxState,
    ) -> std::io::Result<Sandbox> {
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // An accept loop error ends the server; the owner sees it as refused connections.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // Resolves when the sender is dropped together with the sandbox.
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Sandbox {
            state,
            addr,
            server,
            _shutdown: shutdown,
        })
    }

    /// The emulated vendor; `None` for a sandbox described in YAML.
    pub fn vendor(&self) -> Option<Vendor> {
        self.state.vendor()
    }

    /// The emulated provider's name (`hubspot`, `pipedrive`, ...).
    pub fn provider(&self) -> &str {
        self.state.provider()
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the emulator accepts.
    pub fn token(&self) -> &str {
        self.state.token()
    }

    /// Number of HTTP requests received, including rejected ones.
    pub fn request_count(&self) -> usize {
        self.state.request_count()
    }

    /// Every answered request, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Stored records of `object` in the vendor's read shape, in creation order.
    ///
    /// Object names are the vendor's own: HubSpot `contacts`/`companies`/`deals` (archived
    /// records excluded), Salesforce `Contact`/`Account`/`Opportunity`/
    /// `OpportunityContactRole`, Attio `people`/`companies`/`deals`, and a described
    /// provider's collection names. An unknown name gives an empty list.
    pub fn records(&self, object: &str) -> Vec<serde_json::Value> {
        self.state.records(object)
    }

    /// Clears records, declared custom fields, the request log and the usage counters.
    pub fn reset(&self) {
        self.state.reset()
    }

    /// Forgets the requests received so far, keeping the records.
    pub fn reset_log(&self) {
        self.state.reset_log()
    }

    /// Inserts `count` valid records of `object` directly into the store and returns their
    /// ids in order; see [`SandboxState::seed`].
    pub fn seed(&self, object: &str, count: usize) -> Vec<String> {
        self.state.seed(object, count)
    }

    /// Draws failures (5xx, 429, resets before/after commit) for every request from now on.
    pub fn fault_plan(&self, plan: FaultPlan) {
        self.state.fault_plan(plan);
    }

    /// Enforces a request budget like the vendor's (a rolling window), answering the
    /// vendor's 429 with `Retry-After` when it is spent.
    pub fn enforce(&self, limit: Limit) {
        self.state.enforce(limit);
    }

    /// Registers an OAuth app: its refresh grant at the vendor's token path exchanges
    /// `refresh_token` for a new access token (and a rotated refresh token).
    pub fn enable_oauth(&self, client_id: &str, client_secret: &str, refresh_token: &str) {
        self.state
            .enable_oauth(client_id, client_secret, refresh_token);
    }

    /// Expires the accepted access token: requests with it get the vendor's 401.
    pub fn expire_access_token(&self) {
        self.state.expire_access_token();
    }

    /// Refresh grants accepted so far.
    pub fn token_grants(&self) -> usize {
        self.state.token_grants()
    }

    /// Counts `requests` of the vendor's daily allocation as spent by the account's
    /// other integrations (Salesforce then reports them in `Sforce-Limit-Info` and
    /// answers `REQUEST_LIMIT_EXCEEDED` once the allocation is spent).
    pub fn use_daily_requests(&self, requests: usize) {
        self.state.use_daily_requests(requests);
    }

    /// Queues failures the next authorized requests get instead of being served.
    pub fn inject_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.inject_faults(faults);
    }

    /// Declares a custom text field on `object` the way the vendor's own API would, e.g.
    /// `sandbox.declare_custom_field("contacts", "linkedin_url")?` on HubSpot; see
    /// [`SandboxState::declare_custom_field`].
    pub fn declare_custom_field(&self, object: &str, name: &str) -> Result<(), CustomFieldError> {
        self.state.declare_custom_field(object, name)
    }

    /// HubSpot associations held in the store; see [`SandboxState::associations`].
    pub fn associations(&self) -> Vec<Association> {
        self.state.associations()
    }

    /// A handle on the state, for inspection from elsewhere while the server runs.
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Serves until the process is killed (for a long-running CLI command).
    pub async fn wait(self) {
        let Sandbox {
            server, _shutdown, ..
        } = self;
        // `_shutdown` stays alive while awaiting, so the server keeps running.
        let _ = server.await;
    }
}
