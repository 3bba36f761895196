//! Creates the same person on HubSpot, Salesforce and Attio through the one unified
//! `create_contact`, reads each back with `get_contact`, and prints a table.
//!
//! By default every provider is an in-process sandbox. Set a provider's token to use
//! the live API instead:
//!   HUBSPOT_TOKEN=pat-...                                   (private-app token)
//!   SALESFORCE_TOKEN=00D...  SALESFORCE_INSTANCE_URL=https://acme.my.salesforce.com
//!   ATTIO_TOKEN=...                                          (API key)

use unifold_providers::{ContactInput, EmailAddress, create_contact, get_contact};
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Sandbox, Vendor};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::new()?;
    let suffix = std::process::id();
    let input = ContactInput {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email_addresses: vec![EmailAddress {
            email_address: format!("ada.{suffix}@example.com"),
            ..Default::default()
        }],
        title: Some("Analyst".into()),
        ..Default::default()
    };

    // Sandboxes stay alive until the end of main.
    let mut sandboxes = Vec::new();
    let mut rows = Vec::new();
    for vendor in Vendor::ALL {
        let env_name = vendor.name().to_uppercase();
        let connection = match std::env::var(format!("{env_name}_TOKEN")) {
            Ok(token) => {
                let connection =
                    Connection::new("quickstart", vendor.name(), Credentials::bearer(token));
                match std::env::var(format!("{env_name}_INSTANCE_URL")) {
                    Ok(url) => connection.with_config("instance_url", url),
                    Err(_) => connection,
                }
            }
            Err(_) => {
                let token = format!("sandbox-{suffix}");
                let sandbox = Sandbox::start(vendor, &token).await?;
                let connection =
                    Connection::new("quickstart", vendor.name(), Credentials::bearer(token));
                // The sandbox stands in for the API's host (for Salesforce, the org's
                // instance URL, which must otherwise be a Salesforce host).
                let connection = connection.with_origin(sandbox.url());
                sandboxes.push(sandbox);
                connection
            }
        };
        let created = create_contact(&runtime, &connection, &input).await?;
        let fetched = get_contact(&runtime, &connection, &created.remote_id).await?;
        let name = [fetched.first_name.as_deref(), fetched.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let email = fetched
            .email_addresses
            .first()
            .map(|e| e.email_address.clone())
            .unwrap_or_default();
        let target = if sandboxes.iter().any(|s| s.vendor() == Some(vendor)) {
            "sandbox"
        } else {
            "live"
        };
        rows.push((vendor.name(), target, fetched.remote_id, name, email));
    }

    println!(
        "{:<11} {:<8} {:<38} {:<14} email",
        "provider", "target", "id", "name"
    );
    for (provider, target, id, name, email) in rows {
        println!("{provider:<11} {target:<8} {id:<38} {name:<14} {email}");
    }
    Ok(())
}
