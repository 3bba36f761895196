//! A provider added with YAML and an OpenAPI document only: Pipedrive persons and
//! organizations as the shipped unified Contact and Company.
//!
//! ```sh
//! cargo run --example pipedrive
//! ```
//!
//! Runs against the sandbox described in `providers/pipedrive/sandbox.yaml`; with
//! `PIPEDRIVE_TOKEN` (an OAuth access token) set, against the live API instead.

mod pipedrive {
    unifold::generate!(
        "examples/pipedrive",
        models = [
            "unified-models/common.yaml",
            "unified-models/contact.yaml",
            "unified-models/company.yaml"
        ]
    );
}

use futures_util::TryStreamExt;
use pipedrive::{
    CompanyInput, ContactInput, EmailAddress, create_company, create_contact, delete_contact,
    get_contact, list_contacts, update_contact,
};
use unifold::{Connection, Credentials, ListOptions, Runtime};
use unifold_sandbox::Sandbox;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::new()?;
    let (connection, sandbox) = match std::env::var("PIPEDRIVE_TOKEN") {
        Ok(token) => (
            Connection::new("example", "pipedrive", Credentials::bearer(token)),
            None,
        ),
        Err(_) => {
            let dir = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/pipedrive/providers/pipedrive"
            );
            let sandbox = Sandbox::start_described(dir, "example-token").await?;
            let connection =
                Connection::new("example", "pipedrive", Credentials::bearer("example-token"))
                    .with_origin(sandbox.url());
            (connection, Some(sandbox))
        }
    };

    let company = create_company(
        &runtime,
        &connection,
        &CompanyInput {
            name: Some("Analytical Engines".into()),
            ..Default::default()
        },
    )
    .await?;
    println!("organization {}: {:?}", company.remote_id, company.name);

    let contact = create_contact(
        &runtime,
        &connection,
        &ContactInput {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            email_addresses: vec![EmailAddress {
                email_address: "ada@example.com".into(),
                ..Default::default()
            }],
            account: Some(company.remote_id.clone()),
            ..Default::default()
        },
    )
    .await?;
    println!(
        "person {}: {:?} {:?} at organization {:?}",
        contact.remote_id, contact.first_name, contact.last_name, contact.account
    );

    let patch = ContactInput {
        last_name: Some("King".into()),
        ..Default::default()
    };
    let updated = update_contact(&runtime, &connection, &contact.remote_id, &patch).await?;
    println!("renamed: {:?} {:?}", updated.first_name, updated.last_name);

    let fetched = get_contact(&runtime, &connection, &contact.remote_id).await?;
    println!("read back: {}", fetched.remote_data);

    let everyone: Vec<_> = list_contacts(&runtime, &connection, &ListOptions::default())
        .try_collect()
        .await?;
    println!("{} person(s) listed", everyone.len());

    delete_contact(&runtime, &connection, &contact.remote_id).await?;
    match get_contact(&runtime, &connection, &contact.remote_id).await {
        Err(error) => println!("after delete: {error}"),
        Ok(_) => println!("after delete: still there"),
    }
    if let Some(sandbox) = sandbox {
        println!("the sandbox answered {} requests", sandbox.request_count());
    }
    Ok(())
}
