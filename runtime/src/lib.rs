//! The runtime every unifold-generated action calls.
//!
//! Generated code stays declarative: it builds provider request bodies and reads
//! provider responses with the helpers in [`__private`], and hands the HTTP exchange
//! to [`Runtime::send`]. Everything a user touches directly lives at the crate root:
//! [`Runtime`], [`Connection`], [`Credentials`] and the typed [`Error`].

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

/// Paths the generated code names, so that users never add these crates by hand and a
/// bump of one of them is unifold's semver event, not theirs. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::batch::{BatchRead, BatchWrite, write_batch};
    pub use crate::json::{self, Seg};
    pub use crate::observe::{input_json, object_json, observe_stream, run_action, run_batch};
    pub use crate::outcome::{after_write, create_with_upsert_fallback};
    pub use crate::registry::{
        arguments, batch_arguments, batch_outputs, collect_list, output, string_argument,
    };
    pub use crate::schema;
    pub use crate::transform;
    pub use crate::validate;
    pub use chrono;
    pub use futures_util::future::BoxFuture;
    pub use futures_util::{StreamExt, TryStreamExt, stream};
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use tracing::{self, Instrument};

    /// An action called by an action, on the heap: each action's state stays small
    /// however deeply actions nest (debug builds copy large futures on the stack).
    pub fn boxed<'a, T>(
        work: impl std::future::Future<Output = T> + Send + 'a,
    ) -> BoxFuture<'a, T> {
        Box::pin(work)
    }

    /// The wait before retry `attempt` (backoff with full jitter), and the sleep itself,
    /// for generated code that retries a whole action.
    pub use crate::runtime::backoff;
    pub async fn sleep(wait: std::time::Duration) {
        tokio::time::sleep(wait).await;
    }
}
