//! What generated actions are made of.
//!
//! Generated provider modules start with `use unifold::support::prelude::*;` and call
//! these helpers, so that the code a build writes reads like code written by hand: the
//! operation around an action, reading the record out of a response, the typed error
//! for a body that does not have the documented shape. They are public and documented
//! because they are what generated code is; nothing here is specific to a provider.

use crate::json::{self, ReadError};
use crate::{Connection, Error, FieldError, ProviderSpec, Response, Runtime};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;

pub use crate::observe::{input_json, run_action};

/// Everything a generated provider module names, in one glob import.
pub mod prelude {
    pub use crate::batch::{BatchRead, BatchWrite, write_batch};
    pub use crate::json::{self, Map};
    pub use crate::observe::{input_json, observe_stream, run_batch};
    pub use crate::outcome::{after_write, create_with_upsert_fallback};
    pub use crate::support::boxed;
    pub use crate::{
        AuthScheme, BatchMatch, BatchSpec, Connection, Error, ErrorCategory, ErrorRule, FieldError,
        IdExtract, ListOptions, Method, PageStyle, Pagination, ProviderSpec, RateLimit,
        RateLimitHeaders, RateScope, RecordStream, Request, RequestsBySetting, Response,
        RetryPolicy, Runtime, SettingSpec, UsageHeader, transform, validate,
    };
    pub use futures_util::future::BoxFuture;
    pub use futures_util::{StreamExt, stream};
    pub use serde_json::Value;
    pub use tracing;
}

/// An action called by an action, on the heap: each action's state stays small however
/// deeply actions nest (debug builds copy large futures on the stack).
pub fn boxed<'a, T>(
    work: impl Future<Output = T> + Send + 'a,
) -> futures_util::future::BoxFuture<'a, T> {
    Box::pin(work)
}

/// The batch runner of a crate without batch actions: every argument is refused.
pub fn no_batches<'a>(
    _: &'a Runtime,
    _: &'a Connection,
    name: &'a str,
    arguments: Vec<Value>,
) -> futures_util::future::BoxFuture<'a, Vec<Result<Value, Error>>> {
    let refusals = arguments
        .iter()
        .map(|_| {
            Err(Error::UnknownAction {
                action: name.to_string(),
            })
        })
        .collect();
    Box::pin(std::future::ready(refusals))
}

impl ProviderSpec {
    /// Runs one action of this provider as an operation: in its `unifold.action` span
    /// (the requests it sends and the actions it calls are its children), reported to
    /// the runtime's observers and logs with `input` redacted. `input` is only built
    /// when someone observes.
    pub async fn run<T: Serialize>(
        &self,
        runtime: &Runtime,
        connection: &Connection,
        action: &'static str,
        input: impl FnOnce() -> Value,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let sensitive = self.sensitive_fields;
        let checked = async move {
            check_field_mappings(connection)?;
            work.await
        };
        run_action(
            runtime, self.name, connection, action, sensitive, input, checked,
        )
        .await
    }

    /// The record in a single-record response, inside the provider's envelope.
    pub fn record_of<'a>(&self, response: &'a Response) -> &'a Value {
        json::get(&response.body, self.response_envelope).unwrap_or(&Value::Null)
    }

    /// Reads the record of a single-record response with `read`; a record without the
    /// documented shape is [`Error::UnexpectedResponse`] with the status and raw body.
    pub fn read_record<T>(
        &self,
        response: &Response,
        read: impl FnOnce(&Value) -> Result<T, ReadError>,
    ) -> Result<T, Error> {
        read(self.record_of(response)).map_err(|problem| self.unexpected(response, problem))
    }

    /// A success response whose body does not have the documented shape.
    /// After a write it says "may have written" (see [`Response::unreadable`]).
    pub fn unexpected(&self, response: &Response, problem: ReadError) -> Error {
        response.unreadable(self.name, problem)
    }

    /// A listed record that does not have the documented shape.
    pub fn unexpected_record(&self, record: &Value, problem: ReadError) -> Error {
        Error::UnexpectedResponse {
            provider: self.name.to_string(),
            status: 200,
            reason: problem.to_string(),
            body: record.to_string(),
        }
    }
}

/// Refuses a connection whose custom-field map names a field that is not an identifier.
pub fn check_field_mappings(connection: &Connection) -> Result<(), Error> {
    match connection.invalid_field_mapping() {
        None => Ok(()),
        Some(name) => Err(Error::Config {
            connection: connection.id().to_string(),
            message: format!(
                "custom field `{name}` is not a field name (letters, digits and `_`, not starting with a digit)"
            ),
        }),
    }
}

impl Error {
    /// A validation error about one field, found before anything was sent.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Validation(crate::ValidationErrors(vec![FieldError::new(
            field, message,
        )]))
    }
}
