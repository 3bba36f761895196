//! Shared HTTP helpers for the sandbox integration tests.

#![allow(dead_code)] // each test binary uses a different subset

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use unifold_sandbox::{Sandbox, Vendor};

pub const TOKEN: &str = "test-token-123";

/// A response reduced to what the tests inspect.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn start(vendor: Vendor) -> Sandbox {
    Sandbox::start(vendor, TOKEN).await.expect("sandbox starts")
}

/// Sends `body` (raw text, sent as JSON) with the sandbox token.
pub async fn send_raw(sb: &Sandbox, method: Method, path: &str, body: Option<&str>) -> Reply {
    send_as(sb, method, path, Some(TOKEN), body.map(str::to_owned)).await
}

/// Sends a JSON body with the sandbox token.
pub async fn send(sb: &Sandbox, method: Method, path: &str, body: Option<Value>) -> Reply {
    send_as(sb, method, path, Some(TOKEN), body.map(|b| b.to_string())).await
}

pub async fn get(sb: &Sandbox, path: &str) -> Reply {
    send(sb, Method::GET, path, None).await
}

pub async fn post(sb: &Sandbox, path: &str, body: Value) -> Reply {
    send(sb, Method::POST, path, Some(body)).await
}

/// Sends with an explicit token (`None`: no Authorization header).
pub async fn send_as(
    sb: &Sandbox,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Reply {
    let client = reqwest::Client::new();
    let mut request = client.request(method, format!("{}{path}", sb.url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.expect("request succeeds");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if status != 204 {
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "every reply is JSON"
        );
    }
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// Asserts `value` is a string that parses as a UUID and returns it.
pub fn uuid(value: &Value) -> String {
    let s = value.as_str().expect("uuid string");
    assert_eq!(s.len(), 36, "{s}");
    assert!(s.chars().all(|c| c.is_ascii_hexdigit() || c == '-'), "{s}");
    s.to_owned()
}

/// Sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

/// A GET with one extra request header (e.g. `Sforce-Query-Options`).
pub async fn send_with_header(sb: &Sandbox, path: &str, header: (&str, &str)) -> Reply {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", sb.url()))
        .bearer_auth(TOKEN)
        .header(header.0, header.1)
        .send()
        .await
        .expect("request succeeds");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.expect("JSON body");
    Reply {
        status,
        headers,
        body,
    }
}
