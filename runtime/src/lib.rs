//! The runtime every unifold-generated action calls.
//!
//! Generated code stays declarative: it builds provider request bodies and reads
//! provider responses with the helpers in [`support`] and [`json`], and hands the HTTP
//! exchange to [`Runtime::send`]. Everything a user touches directly lives at the crate root:
//! [`Runtime`], [`Connection`], [`Credentials`] and the typed [`Error`].

mod auth;
mod batch;
mod connection;
mod error;
pub mod json;
#[cfg(feature = "queue")]
pub mod logs;
#[cfg(feature = "mcp")]
pub mod mcp;
mod observe;
mod outcome;
mod pacing;
mod pagination;
mod provider;
#[cfg(feature = "queue")]
pub mod queue;
mod registry;
pub(crate) mod runtime;
#[doc(hidden)]
pub mod schema;
pub mod support;
pub mod transform;
pub mod validate;

pub use batch::{BatchMatch, BatchSpec};
pub use connection::{Connection, Credentials, OAuth2, OAuth2Tokens, OnRefresh, RefreshedTokens};
pub use error::{Error, ErrorCategory, FieldError, ValidationErrors, Written};
pub use observe::{ObservedStream, Observer, OperationRecord, Outcome, RequestRecord, RetryEvent};
pub use pagination::{ListOptions, PageStyle, Pagination, RecordStream};
pub use provider::{
    AuthScheme, ErrorRule, IdExtract, ProviderSpec, RateLimit, RateLimitHeaders, RateScope,
    RequestsBySetting, RetryPolicy, SettingSpec, UsageHeader,
};
pub use registry::{
    ActionInfo, ActionKind, BatchInfo, BatchInvokeFn, CheckFn, IdArguments, InvokeFn,
    ListArguments, Registry, TypedAction, UpdateArguments,
};
pub use runtime::{Method, Request, Response, Runtime, RuntimeBuilder};

/// Stream adapters for list actions (`next().await`, `try_collect()`).
pub use futures_util::{StreamExt, TryStreamExt};

/// Timestamps in unified models are UTC instants, whatever format the provider uses.
pub type DateTime = chrono::DateTime<chrono::Utc>;
/// Calendar dates (no time of day), e.g. an opportunity's close date.
pub type Date = chrono::NaiveDate;

/// Third-party crates the generated derives name (so users never add them by hand and
/// a bump of one of them is unifold's semver event, not theirs), and the registry's
/// argument helpers. Not a public API: everything else generated code calls is in
/// [`support`].
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{
        arguments, batch_arguments, batch_outputs, collect_list, output, string_argument,
    };
    pub use crate::schema;
    pub use schemars;
    pub use serde;
    pub use serde_json;
}
