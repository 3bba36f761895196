//! Small helpers the vendor modules share: JSON replies, body parsing with error positions,
//! e-mail syntax and stable identifiers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use uuid::Uuid;

/// A JSON reply: status plus body, served as `application/json`.
///
/// Handlers build these for successes and vendor errors alike; being small (unlike
/// `Response`) it also serves as the error type of the vendors' validation steps.
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    body: Value,
}

pub(crate) fn reply(status: StatusCode, body: Value) -> Reply {
    Reply { status, body }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Where and why a request body failed to parse as JSON, for the vendors' parser errors.
pub(crate) struct JsonSyntaxError {
    pub line: usize,
    pub column: usize,
    /// The parser's explanation without serde_json's trailing " at line L column C".
    pub reason: String,
}

/// Parses a request body as JSON; an empty body is a syntax error, as on the real APIs.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, JsonSyntaxError> {
    serde_json::from_slice(body).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let reason = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        JsonSyntaxError {
            line: e.line(),
            column: e.column(),
            reason,
        }
    })
}

/// A practical e-mail syntax check: one `@`, a non-empty local part without spaces and a
/// dotted domain of letters, digits and hyphens. All three vendors reject what fails it.
pub(crate) fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '@' | '(' | ')' | ',' | ';' | ':'));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// The registrable part of a host name, approximated as its last two labels
/// (`mail.example.com` → `example.com`).
pub(crate) fn root_domain(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    labels[labels.len().saturating_sub(2)..].join(".")
}

/// A UUID derived from `name`, so that fixed vendor ids (workspace, objects, attributes)
/// are the same in every run without hard-coding dozens of literals.
pub(crate) fn stable_uuid(name: &str) -> Uuid {
    let high = fnv1a(name.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let low = fnv1a(name.as_bytes(), 0x8422_2325_cbf2_9ce4);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn fnv1a(data: &[u8], seed: u64) -> u64 {
    data.iter().fold(seed, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A fresh random id for error bodies' `correlationId` and new records.
pub(crate) fn random_uuid() -> String {
    Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_syntax() {
        for ok in ["ada@example.com", "a.b+c@mail.example.co.uk", "x_y@a-b.io"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada @example.com",
            "ada@exa mple.com",
            "ada@example.c",
            "ada@-example.com",
            ".ada@example.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn json_errors_carry_positions() {
        let err = parse_json(b"{\"a\": }").expect_err("must fail");
        assert_eq!((err.line, err.column), (1, 7));
        assert_eq!(err.reason, "expected value");
        assert!(parse_json(b"").is_err());
    }

    #[test]
    fn stable_uuids_are_stable_and_distinct() {
        assert_eq!(stable_uuid("a"), stable_uuid("a"));
        assert_ne!(stable_uuid("a"), stable_uuid("b"));
        assert_eq!(stable_uuid("a").get_version_num(), 4);
    }
}
