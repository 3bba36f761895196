//! The static description of a provider that generated code hands to the runtime.
//! Every field comes from the provider's `provider.yaml`; nothing here is specific to
//! one provider.

use crate::ErrorCategory;
use crate::json::Seg;

/// How credentials go on the wire.
#[derive(Clone, Copy, Debug)]
pub enum AuthScheme {
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// `<header>: <secret>`.
    Header(&'static str),
}

/// Where to find a record id in an error response.
#[derive(Clone, Copy, Debug)]
pub struct IdExtract {
    pub path: &'static [Seg],
    /// A regular expression whose first group is the id, for providers that only
    /// mention it inside a message (`Existing ID: (\d+)`).
    pub pattern: Option<&'static str>,
}

/// One line of a provider's error table: responses with this status (and these body
/// values) are errors of this category.
#[derive(Clone, Copy, Debug)]
pub struct ErrorRule {
    pub status: Option<u16>,
    /// `(path, expected string)` pairs that must all hold in the body.
    pub body: &'static [(&'static [Seg], &'static str)],
    pub category: ErrorCategory,
    pub existing_id: Option<IdExtract>,
}

/// Everything the runtime needs to talk to one provider.
#[derive(Clone, Copy, Debug)]
pub struct ProviderSpec {
    pub name: &'static str,
    /// The live base URL; `{key}` placeholders are connection settings.
    pub base_url: &'static str,
    /// The part of `base_url` after its origin, kept when a connection overrides the
    /// origin (sandboxes).
    pub base_path: &'static str,
    pub auth: AuthScheme,
    /// Where OAuth 2 connections refresh their tokens (`auth.token_url`).
    pub token_url: Option<&'static str>,
    /// Where the human-readable message sits in an error body; tried in order.
    pub error_message: &'static [&'static [Seg]],
    pub error_rules: &'static [ErrorRule],
    pub retry: RetryPolicy,
    /// Request budgets per connection, paced before sending (not discovered by 429s).
    pub rate_limits: &'static [RateLimit],
    /// Headers through which the provider reports what is left of its budget.
    pub rate_limit_headers: Option<RateLimitHeaders>,
    /// Connection settings whose values are checked before use.
    pub settings: &'static [SettingSpec],
    /// Where single-record responses wrap the record (`envelope:`; empty: the body).
    pub response_envelope: &'static [Seg],
    /// Unified fields declared `sensitive: true`: redacted wherever an input of this
    /// provider's actions is logged.
    pub sensitive_fields: &'static [&'static str],
}

/// At most `requests` per `per_ms` milliseconds on one connection, for the requests
/// of `scope` (`rate_limits:` in `provider.yaml`).
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub requests: u32,
    pub per_ms: u64,
    pub scope: RateScope,
    /// A larger or smaller budget for connections whose setting says so (HubSpot's
    /// Professional and Enterprise accounts get 190 instead of 100 per 10 s).
    pub requests_by: Option<RequestsBySetting>,
}

/// `requests_by:` of a rate limit: the connection setting `setting` picks `requests`.
#[derive(Clone, Copy, Debug)]
pub struct RequestsBySetting {
    pub setting: &'static str,
    /// (setting value, requests); values not listed keep the limit's `requests`.
    pub values: &'static [(&'static str, u32)],
}

impl RateLimit {
    /// The budget of this limit for `connection`.
    pub fn requests_for(&self, connection: &crate::Connection) -> u32 {
        self.requests_by
            .and_then(|by| {
                let value = connection.config(by.setting)?;
                by.values
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(value))
                    .map(|(_, requests)| *requests)
            })
            .unwrap_or(self.requests)
    }
}

/// A provider's budget headers: when `remaining` reads 0 (other clients of the same
/// account spent it), the connection pauses for `interval_ms` (the header, or
/// `default_pause_ms`) instead of running into 429s. When `usage` shows a long-term
/// allocation spent (or down to the connection's reserve), further requests are
/// refused before sending for `recheck_ms`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimitHeaders {
    pub remaining: Option<&'static str>,
    pub interval_ms: Option<&'static str>,
    pub default_pause_ms: u64,
    pub usage: Option<UsageHeader>,
}

/// A header reporting `used` of `limit` requests of a long-term allocation, read with
/// a regular expression whose two groups are the two numbers (Salesforce's
/// `Sforce-Limit-Info: api-usage=14250/15000`).
#[derive(Clone, Copy, Debug)]
pub struct UsageHeader {
    pub header: &'static str,
    pub pattern: &'static str,
    /// How long a spent allocation refuses requests before one is sent to re-check.
    pub recheck_ms: u64,
}

/// Which requests a [`RateLimit`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateScope {
    All,
    /// GETs and POST queries.
    Reads,
    /// Creates, updates and deletes.
    Writes,
}

/// A connection setting the provider declares (`config:` in `provider.yaml`).
#[derive(Clone, Copy, Debug)]
pub struct SettingSpec {
    pub name: &'static str,
    /// URL patterns the value must match, such as `https://*.my.salesforce.com`: the
    /// scheme exactly, the host exactly or (after `*.`) as a subdomain, nothing else (no
    /// credentials, port or path). Empty: any value.
    pub allow: &'static [&'static str],
}

impl SettingSpec {
    /// Whether `value` fits one of the allowed patterns.
    pub fn allows(&self, value: &str) -> bool {
        if self.allow.is_empty() {
            return true;
        }
        let Ok(url) = reqwest::Url::parse(value) else {
            return false;
        };
        if !url.username().is_empty()
            || url.password().is_some()
            || url.port().is_some()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        self.allow.iter().any(|pattern| {
            let Some((scheme, host_pattern)) = pattern.split_once("://") else {
                return false;
            };
            if url.scheme() != scheme {
                return false;
            }
            match host_pattern.strip_prefix("*.") {
                Some(suffix) => {
                    host.len() > suffix.len() + 1
                        && host.ends_with(suffix)
                        && host[..host.len() - suffix.len()].ends_with('.')
                }
                None => host == host_pattern,
            }
        })
    }
}

/// How failed requests are retried, from the provider's `retry:` section.
///
/// A throttled request (429) was not processed and is always safe to retry. A 5xx or a
/// timeout may have been processed: only idempotent requests (reads, updates, deletes,
/// POST queries) are retried then, never a create, so a retry cannot duplicate a record.
/// A connection that could not be opened never reached the provider and is retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 turns retries off.
    pub max_attempts: u32,
    /// Statuses worth retrying (429 and 5xx by default).
    pub statuses: &'static [u16],
    /// The first backoff; each next one doubles, with full jitter.
    pub base_delay_ms: u64,
    /// The longest single wait. A provider asking (`Retry-After`) for longer gets the
    /// error back at once, with the wait in it, instead of a blocked caller.
    pub max_delay_ms: u64,
    /// The longest time spent retrying one request.
    pub max_total_ms: u64,
}

impl RetryPolicy {
    /// What a provider without a `retry:` section gets.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        statuses: &[429, 500, 502, 503, 504],
        base_delay_ms: 200,
        max_delay_ms: 10_000,
        max_total_ms: 30_000,
    };
}
