//! Signed completion webhooks. The header is
//! `Unifold-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the HMAC taken with the
//! webhook secret over `<t>.<raw body>`; receivers refuse signatures older than five
//! minutes, so a captured request cannot be replayed later.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Unifold-Signature";

/// How old a signature may be, in seconds.
const TOLERANCE_SECS: i64 = 300;

/// Why a webhook was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the `Unifold-Signature` header is missing or malformed")]
    Malformed,
    #[error("the signature is {age} s old; at most {TOLERANCE_SECS} s are accepted")]
    Expired { age: i64 },
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Unifold-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn sign_webhook(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let signature = mac(secret.expose_secret().as_bytes(), timestamp, body).finalize();
    format!("t={timestamp},v1={}", hex::encode(signature.into_bytes()))
}

/// Checks a received webhook: the signature in `headers` must match `body` (the raw
/// bytes, before any JSON parsing) under `secret` and be at most five minutes old.
pub fn verify_webhook(
    secret: &str,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<(), WebhookError> {
    verify_webhook_at(secret, headers, body, chrono::Utc::now().timestamp())
}

/// [`verify_webhook`] at the instant `now` (Unix seconds).
pub fn verify_webhook_at(
    secret: &str,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let value = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or(WebhookError::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => {
                signatures.push(hex::decode(v).map_err(|_| WebhookError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::Malformed)?;
    if signatures.is_empty() {
        return Err(WebhookError::Malformed);
    }
    let age = now - timestamp;
    if age.abs() > TOLERANCE_SECS {
        return Err(WebhookError::Expired { age });
    }
    let expected = mac(secret.as_bytes(), timestamp, body);
    // Constant-time comparison (`verify_slice`); several `v1` entries allow a secret
    // to be rotated.
    if signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
    {
        Ok(())
    } else {
        Err(WebhookError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, value.parse().unwrap());
        headers
    }

    #[test]
    fn signatures_verify_and_refuse_tampering_and_replays() {
        let secret = SecretString::from("whsec_test".to_string());
        let body = br#"{"job_id":"1"}"#;
        let signed = sign_webhook(&secret, 1_700_000_000, body);
        assert!(signed.starts_with("t=1700000000,v1="));
        let ok = headers(&signed);
        assert_eq!(
            verify_webhook_at("whsec_test", &ok, body, 1_700_000_010),
            Ok(())
        );
        assert_eq!(
            verify_webhook_at("whsec_test", &ok, br#"{"job_id":"2"}"#, 1_700_000_010),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_webhook_at("other", &ok, body, 1_700_000_010),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify_webhook_at("whsec_test", &ok, body, 1_700_000_400),
            Err(WebhookError::Expired { age: 400 })
        );
        assert_eq!(
            verify_webhook_at("whsec_test", &headers("v1=00"), body, 1_700_000_000),
            Err(WebhookError::Malformed)
        );
        assert_eq!(
            verify_webhook_at("whsec_test", &reqwest::header::HeaderMap::new(), body, 0),
            Err(WebhookError::Malformed)
        );
    }
}
