//! Small helpers the vendor modules share: JSON replies, body parsing with error positions,
//! e-mail syntax and stable identifiers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A JSON reply: status plus body, served as `application/json`.
///
/// Handlers build these for successes and vendor errors alike; being small (unlike
/// `Response`) it also serves as the error type of the vendors' validation steps.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// `None` for bodiless replies such as 204.
    pub(crate) body: Option<Value>,
}

pub(crate) fn reply(status: StatusCode, body: Value) -> Reply {
    Reply {
        status,
        body: Some(body),
    }
}

/// A 204 without body (updates and deletes on HubSpot and Salesforce).
pub(crate) fn no_content() -> Reply {
    Reply {
        status: StatusCode::NO_CONTENT,
        body: None,
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self.body {
            Some(body) => (self.status, Json(body)).into_response(),
            None => self.status.into_response(),
        }
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

/// The modification instant of a write at `now` to a record last written at `previous`:
/// `now`, or one `tick` (the vendor's timestamp precision) after `previous` when the clock
/// has not moved on, so every update visibly changes the modified instant.
pub(crate) fn touched(
    previous: DateTime<Utc>,
    now: DateTime<Utc>,
    tick: TimeDelta,
) -> DateTime<Utc> {
    now.max(previous + tick)
}

const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding, for opaque cursors that survive unencoded query strings.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let bytes = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for i in 0..=chunk.len() {
            let sextet = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(BASE64_URL[sextet as usize]));
        }
    }
    out
}

/// Decodes base64 in either the standard or the URL-safe alphabet, padded or not.
/// Percent-decoding of a path segment or query value (`+` is a space in queries).
pub(crate) fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    // A lone trailing sextet cannot come from any encoding.
    (bits < 6).then_some(out)
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
    fn base64_round_trips() {
        for data in [&b""[..], b"5", b"52", b"525", b"5251", b"525\n"] {
            assert_eq!(base64_decode(&base64_encode(data)).as_deref(), Some(data));
        }
        assert_eq!(base64_decode("NTI1Cg==").as_deref(), Some(&b"525\n"[..]));
        assert_eq!(base64_decode("NTI1Cg").as_deref(), Some(&b"525\n"[..]));
        assert_eq!(base64_decode("N"), None);
        assert_eq!(base64_decode("a b"), None);
    }

    #[test]
    fn touched_always_moves_forward() {
        let t = Utc::now();
        let tick = TimeDelta::milliseconds(1);
        assert_eq!(touched(t, t, tick), t + tick);
        assert_eq!(touched(t - tick * 5, t, tick), t);
    }

    #[test]
    fn stable_uuids_are_stable_and_distinct() {
        assert_eq!(stable_uuid("a"), stable_uuid("a"));
        assert_ne!(stable_uuid("a"), stable_uuid("b"));
        assert_eq!(stable_uuid("a").get_version_num(), 4);
    }
}
