//! A provider as checked from `provider.yaml`: auth, errors, pagination, retries and
//! budgets, with its OpenAPI document.

use crate::ir::Seg;
use crate::parse::openapi::OpenApi;
use crate::parse::yaml::Node;

#[derive(Clone, Debug)]
pub enum Auth {
    Bearer,
    Header(String),
}

#[derive(Clone, Debug)]
pub struct ErrorRule {
    pub status: Option<u16>,
    pub body: Vec<(Vec<Seg>, String)>,
    pub category: String,
    pub existing_id: Option<(Vec<Seg>, Option<String>)>,
}

#[derive(Clone, Debug)]
pub enum PageStyle {
    Cursor { param: String, path: Vec<Seg> },
    NextUrl { path: Vec<Seg> },
    Offset { param: String },
}

#[derive(Clone, Debug)]
pub struct Pagination {
    pub style: PageStyle,
    pub records: Vec<Seg>,
    pub limit_param: Option<String>,
    pub limit_header: Option<(String, String)>,
    pub max_page_size: u32,
    pub params_in_body: bool,
}

/// The `retry:` section; fields left out keep the runtime's defaults.
#[derive(Clone, Debug, Default)]
pub struct Retry {
    pub max_attempts: Option<u32>,
    pub statuses: Option<Vec<u16>>,
    pub base_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub max_total_ms: Option<u64>,
}

/// One `rate_limits:` entry.
#[derive(Debug, Clone)]
pub struct RateLimitDef {
    pub requests: u32,
    pub per_ms: u64,
    /// `all`, `reads` or `writes`.
    pub scope: String,
    /// `requests_by:` the connection setting and its (value, requests) pairs.
    pub requests_by: Option<(String, Vec<(String, u32)>)>,
}

/// `rate_limit_headers:`.
#[derive(Debug, Clone)]
pub struct RateLimitHeadersDef {
    pub remaining: Option<String>,
    pub interval: Option<String>,
    pub default_pause_ms: u64,
    /// (header, pattern, recheck_ms) of a long-term allocation's usage.
    pub usage: Option<(String, String, u64)>,
}

#[derive(Clone, Debug)]
pub struct Provider {
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub base_url: String,
    pub base_path: String,
    pub auth: Auth,
    /// Where OAuth 2 connections refresh their tokens.
    pub token_url: Option<String>,
    /// Connection settings: name, description, allowed URL patterns.
    pub config: Vec<(String, Option<String>, Vec<String>)>,
    /// Where request bodies wrap the record (`envelope: data` or `envelope: { request: ... }`).
    pub envelope: Vec<Seg>,
    /// Where responses wrap the record: the same as `envelope` unless `envelope:` names
    /// the two apart (Pipedrive wraps responses in `data` but takes bare request bodies).
    pub response_envelope: Vec<Seg>,
    pub error_message: Vec<Vec<Seg>>,
    pub error_rules: Vec<ErrorRule>,
    pub pagination: Option<Pagination>,
    pub retry: Option<Retry>,
    /// `(requests, per_ms, scope)` budgets per connection.
    pub rate_limits: Vec<RateLimitDef>,
    /// `(remaining header, interval header, default pause ms)`.
    pub rate_limit_headers: Option<RateLimitHeadersDef>,
    pub openapi: OpenApi,
    pub node: Node,
}
