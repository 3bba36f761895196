//! The one error type every action returns.

use std::fmt;

/// One problem with an action's input, found before any request was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The unified field, as a path: `email_addresses[0].email_address`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in one input, not only the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, problem) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// What kind of failure an [`Error`] is, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    Validation,
    Auth,
    NotFound,
    Conflict,
    RateLimited,
    QuotaExhausted,
    Rejected,
    Provider,
    UnexpectedResponse,
    Transport,
    Config,
    Unsupported,
    /// The job store (SQLite, PostgreSQL) failed.
    Storage,
    /// A write of the call was carried out, or may have been, and a later step of the
    /// same call failed ([`Error::AfterWrite`]).
    AfterWrite,
}

impl ErrorCategory {
    /// The snake_case name provider definitions use for this category.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCategory::Validation => "validation",
            ErrorCategory::Auth => "auth",
            ErrorCategory::NotFound => "not_found",
            ErrorCategory::Conflict => "conflict",
            ErrorCategory::RateLimited => "rate_limited",
            ErrorCategory::QuotaExhausted => "quota_exhausted",
            ErrorCategory::Rejected => "rejected",
            ErrorCategory::Provider => "provider",
            ErrorCategory::UnexpectedResponse => "unexpected_response",
            ErrorCategory::Transport => "transport",
            ErrorCategory::Config => "config",
            ErrorCategory::Unsupported => "unsupported",
            ErrorCategory::Storage => "storage",
            ErrorCategory::AfterWrite => "after_write",
        }
    }
}

/// Why an action failed. Provider errors keep the HTTP status and the raw body, so
/// nothing the provider said is lost; no variant ever holds a credential.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The input was refused before any request was sent.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// The provider refused the credentials (401, or 403 on a missing scope).
    #[error(
        "{provider} refused the credentials of connection {connection} (HTTP {status}): {message}"
    )]
    Auth {
        provider: String,
        connection: String,
        status: u16,
        message: String,
        body: String,
    },
    /// The record does not exist.
    #[error("{provider} has no such record (HTTP {status}): {message}")]
    NotFound {
        provider: String,
        status: u16,
        message: String,
        body: String,
    },
    /// A unique field already belongs to another record; `existing_id` is that
    /// record's id when the provider says it.
    #[error("{provider} already has a record with these unique values{} (HTTP {status}): {message}", existing_id.as_deref().map(|id| format!(", id {id}")).unwrap_or_default())]
    Conflict {
        provider: String,
        status: u16,
        message: String,
        existing_id: Option<String>,
        body: String,
    },
    /// The provider throttled the request.
    #[error("{provider} rate-limited the request (HTTP {status}){}", retry_after_secs.map(|s| format!("; retry after {s} s")).unwrap_or_default())]
    RateLimited {
        provider: String,
        status: u16,
        retry_after_secs: Option<u64>,
        body: String,
    },
    /// A daily (or longer) allocation is spent: waiting seconds will not help, so it is
    /// never retried. `retry_after_secs` is when it resets, when the provider says.
    /// `status` is 0 when the runtime stopped the request before sending it (the
    /// provider's usage header showed the allocation spent or down to the reserve).
    #[error("{provider}'s request quota is spent ({}): {message}{}", if *status == 0 { "not sent".to_string() } else { format!("HTTP {status}") }, retry_after_secs.map(|s| format!("; resets in {s} s")).unwrap_or_default())]
    QuotaExhausted {
        provider: String,
        status: u16,
        message: String,
        retry_after_secs: Option<u64>,
        body: String,
    },
    /// The provider refused the request as invalid (a 4xx it explains).
    #[error("{provider} rejected the request (HTTP {status}): {message}")]
    Rejected {
        provider: String,
        status: u16,
        message: String,
        body: String,
    },
    /// Any other failure status, e.g. a 5xx.
    #[error("{provider} failed (HTTP {status}): {message}")]
    Provider {
        provider: String,
        status: u16,
        message: String,
        body: String,
    },
    /// A success status whose body does not have the documented shape.
    #[error("unexpected response from {provider} (HTTP {status}): {reason}")]
    UnexpectedResponse {
        provider: String,
        status: u16,
        reason: String,
        body: String,
    },
    /// The request did not complete (DNS, connect, reset, timeout).
    #[error("could not reach {provider}: {message}")]
    Transport { provider: String, message: String },
    /// The connection lacks a setting the provider needs.
    #[error("connection {connection} is misconfigured: {message}")]
    Config { connection: String, message: String },
    /// No implementation of this action exists for the connection's provider.
    #[error(
        "action `{action}` is not available for provider `{provider}` (available: {available})"
    )]
    Unsupported {
        provider: String,
        action: String,
        available: String,
    },
    /// No job has this id.
    #[error("no job has the id `{id}`")]
    JobNotFound { id: String },
    /// The job store (the queue's database) failed; nothing of the action ran.
    #[error("the job store failed: {message}")]
    Storage { message: String },
    /// No action has this name (a queued job or a tool call naming an action the
    /// registry does not have).
    #[error("no action is named `{action}`")]
    UnknownAction { action: String },
    /// The call wrote a record, or may have, and then `step` failed with `error`.
    /// `id` is the record's id when the runtime has it: the record exists, and sending
    /// the create again would make a second one. Without an id the write is unknown
    /// ([`Error::is_ambiguous`]): re-send through the action's upsert.
    #[error("{}, then {step} failed: {error}", match id { Some(id) => format!("{provider} has record {id}"), None => format!("{provider} may have written the record") })]
    AfterWrite {
        provider: String,
        id: Option<String>,
        /// What the call was doing when it failed ("reading it back").
        step: String,
        error: Box<Error>,
    },
}

/// Whether a failed call wrote anything, as far as the runtime knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written<'a> {
    /// Nothing was written: the request was refused, never sent, or only read.
    No,
    /// The provider may have carried a write out (a connection cut after sending, a
    /// 5xx, an answer that could not be read): re-send through the upsert.
    Maybe,
    /// The record with this id was written (or already had the unique values); a
    /// later step failed.
    Yes(&'a str),
}

impl Error {
    pub fn category(&self) -> ErrorCategory {
        match self {
            Error::Validation(_) => ErrorCategory::Validation,
            Error::Auth { .. } => ErrorCategory::Auth,
            Error::NotFound { .. } => ErrorCategory::NotFound,
            Error::Conflict { .. } => ErrorCategory::Conflict,
            Error::RateLimited { .. } => ErrorCategory::RateLimited,
            Error::QuotaExhausted { .. } => ErrorCategory::QuotaExhausted,
            Error::Rejected { .. } => ErrorCategory::Rejected,
            Error::Provider { .. } => ErrorCategory::Provider,
            Error::UnexpectedResponse { .. } => ErrorCategory::UnexpectedResponse,
            Error::Transport { .. } => ErrorCategory::Transport,
            Error::Config { .. } => ErrorCategory::Config,
            Error::Unsupported { .. } | Error::UnknownAction { .. } => ErrorCategory::Unsupported,
            Error::JobNotFound { .. } => ErrorCategory::NotFound,
            Error::Storage { .. } => ErrorCategory::Storage,
            Error::AfterWrite { .. } => ErrorCategory::AfterWrite,
        }
    }

    /// A validation error with every field path put under `prefix` (`patch.first_name`);
    /// other errors unchanged.
    pub fn within(self, prefix: &str) -> Error {
        match self {
            Error::Validation(ValidationErrors(problems)) => Error::Validation(ValidationErrors(
                problems
                    .into_iter()
                    .map(|problem| FieldError {
                        field: if problem.field == "(arguments)" {
                            prefix.to_string()
                        } else {
                            format!("{prefix}.{}", problem.field)
                        },
                        message: problem.message,
                    })
                    .collect(),
            )),
            other => other,
        }
    }

    /// Builds the validation error generated `validate()` calls produce; `Ok` when
    /// nothing was found.
    pub fn check(problems: Vec<FieldError>) -> Result<(), Error> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(ValidationErrors(problems)))
        }
    }

    /// The problems of a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::Validation(problems) => &problems.0,
            _ => &[],
        }
    }

    /// The HTTP status, for errors that came with a response.
    pub fn status(&self) -> Option<u16> {
        let status = match self {
            Error::Auth { status, .. }
            | Error::NotFound { status, .. }
            | Error::Conflict { status, .. }
            | Error::RateLimited { status, .. }
            | Error::QuotaExhausted { status, .. }
            | Error::Rejected { status, .. }
            | Error::Provider { status, .. }
            | Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::AfterWrite { error, .. } => return error.status(),
            _ => None,
        };
        // 0: stopped before sending (a spent quota); there was no HTTP status.
        status.filter(|status| *status != 0)
    }

    /// The raw response body, for errors that came with a response.
    pub fn body(&self) -> Option<&str> {
        match self {
            Error::Auth { body, .. }
            | Error::NotFound { body, .. }
            | Error::Conflict { body, .. }
            | Error::RateLimited { body, .. }
            | Error::QuotaExhausted { body, .. }
            | Error::Rejected { body, .. }
            | Error::Provider { body, .. }
            | Error::UnexpectedResponse { body, .. } => Some(body),
            Error::AfterWrite { error, .. } => error.body(),
            _ => None,
        }
    }

    /// Whether the provider may have carried the request out although it failed: the
    /// connection broke or timed out after sending, the provider answered 5xx, or a
    /// write's answer could not be read. A create that fails this way must not simply
    /// be sent again: re-send it through its upsert.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Provider { status, .. } => *status >= 500,
            Error::AfterWrite { id, .. } => id.is_none(),
            _ => false,
        }
    }

    /// Whether the call wrote: no, maybe ([`Error::is_ambiguous`]), or yes with the
    /// record's id ([`Error::AfterWrite`] with an id).
    pub fn written(&self) -> Written<'_> {
        match self {
            Error::AfterWrite { id: Some(id), .. } => Written::Yes(id),
            _ if self.is_ambiguous() => Written::Maybe,
            _ => Written::No,
        }
    }

    /// The id of the record the call wrote before it failed, when the runtime has it.
    pub fn written_id(&self) -> Option<&str> {
        match self.written() {
            Written::Yes(id) => Some(id),
            _ => None,
        }
    }

    /// The failure itself: for [`Error::AfterWrite`], the error of the step that
    /// failed after the write; any other error is its own.
    pub fn failure(&self) -> &Error {
        match self {
            Error::AfterWrite { error, .. } => error.failure(),
            other => other,
        }
    }

    /// The wait the provider asked for before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self.failure() {
            Error::RateLimited {
                retry_after_secs, ..
            }
            | Error::QuotaExhausted {
                retry_after_secs, ..
            } => retry_after_secs.map(std::time::Duration::from_secs),
            _ => None,
        }
    }

    /// Whether trying again later may succeed: the connection, a 5xx, a rate limit or
    /// an unreadable answer, not a refusal of the request itself.
    pub fn is_transient(&self) -> bool {
        match self.failure() {
            Error::Transport { .. } | Error::RateLimited { .. } => true,
            Error::Provider { status, .. } => *status >= 500,
            Error::UnexpectedResponse { .. } => true,
            _ => false,
        }
    }

    /// This error marked as having happened after a write of `provider`: `id` when
    /// the record is known, otherwise "may have written" (ambiguous). An error that
    /// already knows more (an id) keeps it.
    pub fn after_write(self, provider: &str, id: Option<&str>, step: &str) -> Error {
        let known = id.map(str::to_string);
        match self {
            Error::AfterWrite { id: Some(_), .. } => self,
            Error::AfterWrite {
                provider,
                id: None,
                step,
                error,
            } => Error::AfterWrite {
                provider,
                id: known,
                step,
                error,
            },
            other => Error::AfterWrite {
                provider: provider.to_string(),
                id: known,
                step: step.to_string(),
                error: Box::new(other),
            },
        }
    }

    /// The id of the record a conflict collided with, when the provider named it.
    pub fn existing_id(&self) -> Option<&str> {
        match self {
            Error::Conflict { existing_id, .. } => existing_id.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut_off() -> Error {
        Error::Transport {
            provider: "hubspot".into(),
            message: "connection reset".into(),
        }
    }

    #[test]
    fn a_failure_after_a_write_says_what_is_known() {
        let refused = Error::RateLimited {
            provider: "salesforce".into(),
            status: 429,
            retry_after_secs: Some(3),
            body: "[]".into(),
        };
        assert_eq!(refused.written(), Written::No);
        let named = refused.after_write("salesforce", Some("003A"), "reading it back");
        assert_eq!(
            named.to_string(),
            "salesforce has record 003A, then reading it back failed: salesforce rate-limited the request (HTTP 429); retry after 3 s"
        );
        assert_eq!(named.written(), Written::Yes("003A"));
        assert!(!named.is_ambiguous());
        assert_eq!(named.status(), Some(429));
        assert_eq!(named.retry_after(), Some(std::time::Duration::from_secs(3)));
        assert_eq!(named.category(), ErrorCategory::AfterWrite);
        assert_eq!(named.failure().category(), ErrorCategory::RateLimited);
        // Marking again never loses the id, nor nests.
        let again = named.clone().after_write("salesforce", None, "the retry");
        assert_eq!(again.to_string(), named.to_string());

        let maybe = cut_off().after_write("hubspot", None, "finding it by its upsert key");
        assert_eq!(maybe.written(), Written::Maybe);
        assert!(maybe.is_ambiguous());
        assert_eq!(
            maybe.to_string(),
            "hubspot may have written the record, then finding it by its upsert key failed: could not reach hubspot: connection reset"
        );
        // A later step that learns the id upgrades "maybe" and keeps the step.
        let known = maybe.after_write("hubspot", Some("512"), "the retry");
        assert_eq!(known.written_id(), Some("512"));
        assert!(
            known
                .to_string()
                .starts_with("hubspot has record 512, then finding it")
        );
        assert_eq!(cut_off().written(), Written::Maybe);
    }
}
