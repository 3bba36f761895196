//! The shipped unified CRM actions, generated at build time from the YAML in
//! `unified-models/` and `providers/` (HubSpot, Salesforce, Attio).
//!
//! ```no_run
//! # async fn demo() -> Result<(), unifold_runtime::Error> {
//! use unifold_providers::{ContactInput, EmailAddress, create_contact};
//! use unifold_runtime::{Connection, Credentials, Runtime};
//!
//! let runtime = Runtime::new()?;
//! let connection = Connection::new("acme", "hubspot", Credentials::bearer("pat-..."));
//! let input = ContactInput {
//!     first_name: Some("Ada".into()),
//!     last_name: Some("Lovelace".into()),
//!     email_addresses: vec![EmailAddress { email_address: "ada@example.com".into(), ..Default::default() }],
//!     ..Default::default()
//! };
//! let contact = create_contact(&runtime, &connection, &input).await?;
//! println!("{}", contact.remote_id);
//! # Ok(())
//! # }
//! ```

include!(concat!(env!("OUT_DIR"), "/unifold_actions.rs"));
