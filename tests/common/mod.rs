//! What the end-to-end test binaries share: a sandbox and a connection to it, and the
//! sandboxes' names for the unified models.

#![allow(dead_code)] // each test binary uses a different part

pub mod fault_proxy;

use std::sync::{Arc, Mutex};
use unifold_runtime::{Connection, Credentials};
use unifold_sandbox::{Sandbox, Vendor};

/// A sandbox for `vendor` accepting `token`, and a connection to it: the API's origin
/// points at the sandbox (a Salesforce `instance_url` must be a Salesforce host, so the
/// origin override is how a sandbox is reached there too).
pub async fn start(vendor: Vendor, token: &str) -> (Sandbox, Connection) {
    let sandbox = Sandbox::start(vendor, token).await.expect("sandbox starts");
    let connection = connect(&sandbox, vendor, token);
    (sandbox, connection)
}

/// Another connection (another end customer) to a running sandbox.
pub fn connect(sandbox: &Sandbox, vendor: Vendor, token: &str) -> Connection {
    Connection::new("customer-1", vendor.name(), Credentials::bearer(token))
        .with_origin(sandbox.url())
}

/// The sandbox's object name for a unified model.
pub fn object_of(vendor: Vendor, model: &str) -> &'static str {
    match (vendor, model) {
        (Vendor::HubSpot, "company") => "companies",
        (Vendor::HubSpot, "contact") => "contacts",
        (Vendor::HubSpot, _) => "deals",
        (Vendor::Salesforce, "company") => "Account",
        (Vendor::Salesforce, "contact") => "Contact",
        (Vendor::Salesforce, _) => "Opportunity",
        (Vendor::Attio, "company") => "companies",
        (Vendor::Attio, "contact") => "people",
        (Vendor::Attio, _) => "deals",
    }
}

/// A contact numbered `n`: last name `Person n`, email `p<n>@example.com`.
pub fn person(n: usize) -> unifold_providers::ContactInput {
    unifold_providers::ContactInput {
        last_name: Some(format!("Person {n}")),
        email_addresses: vec![unifold_providers::EmailAddress {
            email_address: format!("p{n}@example.com"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A `tracing` writer that keeps everything written, for scanning.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
