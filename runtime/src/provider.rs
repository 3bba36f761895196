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
    /// Where the human-readable message sits in an error body; tried in order.
    pub error_message: &'static [&'static [Seg]],
    pub error_rules: &'static [ErrorRule],
}
