//! A team's own unified model: `Invoice`, declared in `unified-models/invoice.yaml`
//! beside its mapping to a billing API, gets the same typed actions as the shipped
//! CRM models (create, get, list), with no Rust written for the model or the provider.
//!
//! ```sh
//! cargo run --example invoicing
//! ```

mod billing {
    unifold::generate!("examples/invoicing");
}

use billing::{
    InvoiceInput, InvoiceLineItem, InvoiceStatus, create_invoice, get_invoice, list_invoices,
};
use futures_util::TryStreamExt;
use unifold::{Connection, Credentials, Date, ListOptions, Runtime};
use unifold_sandbox::Sandbox;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/invoicing/providers/tally"
    );
    let sandbox = Sandbox::start_described(dir, "tally-key").await?;
    let runtime = Runtime::new()?;
    let connection = Connection::new("acme", "tally", Credentials::api_key("tally-key"))
        .with_origin(sandbox.url());

    let invoice = create_invoice(
        &runtime,
        &connection,
        &InvoiceInput {
            number: Some("INV-2025-001".into()),
            customer_email: Some("billing@acme.example".into()),
            currency: Some("EUR".into()),
            total_amount: Some(1250.0),
            status: Some(InvoiceStatus::Open),
            issue_date: Date::from_ymd_opt(2025, 3, 1),
            due_date: Date::from_ymd_opt(2025, 3, 31),
            line_items: vec![InvoiceLineItem {
                description: "Consulting, 2 days".into(),
                quantity: Some(2),
                unit_amount: Some(62_500),
            }],
        },
    )
    .await?;
    println!(
        "created {} ({:?}), {:?} {:?} due {:?}",
        invoice.remote_id, invoice.number, invoice.total_amount, invoice.currency, invoice.due_date
    );
    println!(
        "stored by the billing API: {}",
        sandbox.records("invoices")[0]
    );

    let again = get_invoice(&runtime, &connection, &invoice.remote_id).await?;
    println!("read back: {:?} {:?}", again.status, again.line_items);

    sandbox.seed("invoices", 12);
    let all: Vec<_> = list_invoices(&runtime, &connection, &ListOptions::default())
        .try_collect()
        .await?;
    println!(
        "{} invoices listed in {} requests",
        all.len(),
        sandbox.request_count() - 2
    );
    Ok(())
}
