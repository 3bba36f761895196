//! A user-defined unified model: `Invoice` (examples/invoicing/unified-models) mapped
//! to Tally, a fictional billing API described only by its OpenAPI 3.1 document (JSON,
//! imported) and YAML, with its sandbox described in YAML too.

mod billing {
    unifold::generate!("examples/invoicing");
}

use billing::{
    InvoiceInput, InvoiceLineItem, InvoiceStatus, create_invoice, get_invoice, list_invoices,
};
use futures_util::TryStreamExt;
use serde_json::json;
use unifold::{Connection, Credentials, Date, Error, ErrorCategory, ListOptions, Runtime};
use unifold_sandbox::Sandbox;

const KEY: &str = "tally-test-key";

async fn start() -> (Sandbox, Connection) {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/invoicing/providers/tally"
    );
    let sandbox = Sandbox::start_described(dir, KEY).await.unwrap();
    let connection =
        Connection::new("acme", "tally", Credentials::api_key(KEY)).with_origin(sandbox.url());
    (sandbox, connection)
}

fn consulting(number: &str) -> InvoiceInput {
    InvoiceInput {
        number: Some(number.into()),
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
    }
}

#[tokio::test]
async fn a_user_defined_model_gets_typed_actions() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = start().await;

    let invoice = create_invoice(&runtime, &connection, &consulting("INV-001"))
        .await
        .unwrap();
    assert!(
        invoice.remote_id.starts_with("inv_"),
        "{}",
        invoice.remote_id
    );
    assert_eq!(invoice.total_amount, Some(1250.0));
    assert_eq!(invoice.status, Some(InvoiceStatus::Open));
    assert_eq!(invoice.due_date, Date::from_ymd_opt(2025, 3, 31));
    assert!(invoice.created_at.is_some());

    // What the billing API holds: cents, its own status words, ISO dates, the lines.
    let stored = sandbox.records("invoices");
    assert_eq!(stored.len(), 1);
    let record = &stored[0];
    assert_eq!(record["id"], invoice.remote_id.as_str());
    assert_eq!(record["number"], "INV-001");
    assert_eq!(record["amount_due"].as_f64(), Some(125_000.0));
    assert_eq!(record["status"], "open");
    assert_eq!(record["issued_on"], "2025-03-01");
    assert_eq!(
        record["lines"],
        json!([{"description": "Consulting, 2 days", "quantity": 2, "unit_amount": 62500}])
    );
    // The request went out wrapped in Tally's envelope.
    let sent = &sandbox.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/invoices")
    );
    assert_eq!(sent.body["invoice"]["currency"], "EUR");

    let fetched = get_invoice(&runtime, &connection, &invoice.remote_id)
        .await
        .unwrap();
    assert_eq!(fetched.number.as_deref(), Some("INV-001"));
    assert_eq!(fetched.line_items, invoice.line_items);

    let seeded = sandbox.seed("invoices", 24);
    sandbox.reset_log();
    let listed: Vec<_> = list_invoices(
        &runtime,
        &connection,
        &ListOptions {
            page_size: Some(10),
            ..Default::default()
        },
    )
    .try_collect()
    .await
    .unwrap();
    assert_eq!(listed.len(), 25);
    assert_eq!(listed[0].remote_id, invoice.remote_id);
    assert_eq!(listed[24].remote_id, seeded[23]);
    assert_eq!(listed[1].number.as_deref(), Some("INV-1"));
    assert_eq!(sandbox.request_count(), 3);
}

#[tokio::test]
async fn the_billing_api_refuses_what_tally_refuses() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, connection) = start().await;

    // Known before sending: a malformed email, and the fields Tally's schema requires.
    let mut input = consulting("INV-002");
    input.customer_email = Some("billing at acme".into());
    input.currency = None;
    let error = create_invoice(&runtime, &connection, &input)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid input: customer_email: `billing at acme` is not a valid email address; currency: is required by tally"
    );
    assert_eq!(sandbox.request_count(), 0);

    // Only Tally knows: lines are required, the number is taken, the currency is one of three.
    let mut no_lines = consulting("INV-003");
    no_lines.line_items.clear();
    let error = create_invoice(&runtime, &connection, &no_lines)
        .await
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Rejected);
    assert_eq!(error.status(), Some(400));
    assert!(
        error.to_string().contains("Missing required param: lines."),
        "{error}"
    );

    let first = create_invoice(&runtime, &connection, &consulting("INV-004"))
        .await
        .unwrap();
    let error = create_invoice(&runtime, &connection, &consulting("INV-004"))
        .await
        .unwrap_err();
    match &error {
        Error::Conflict { existing_id, .. } => {
            assert_eq!(existing_id.as_deref(), Some(first.remote_id.as_str()))
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(
        error
            .to_string()
            .contains("An invoice with number 'INV-004' already exists."),
        "{error}"
    );

    let mut yen = consulting("INV-005");
    yen.currency = Some("JPY".into());
    let error = create_invoice(&runtime, &connection, &yen)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Invalid currency: must be one of \"EUR\", \"GBP\", \"USD\"."),
        "{error}"
    );
    assert_eq!(sandbox.records("invoices").len(), 1);

    let missing = get_invoice(&runtime, &connection, "inv_000000000000000000000000")
        .await
        .unwrap_err();
    assert_eq!(missing.category(), ErrorCategory::NotFound);
    assert!(
        missing
            .to_string()
            .contains("No such invoice: 'inv_000000000000000000000000'"),
        "{missing}"
    );

    // Another key in `X-Api-Key` is refused with Tally's 401.
    let stranger =
        Connection::new("other", "tally", Credentials::api_key("wrong")).with_origin(sandbox.url());
    let error = get_invoice(&runtime, &stranger, &first.remote_id)
        .await
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Auth);
    assert!(
        error.to_string().contains("Invalid API key provided."),
        "{error}"
    );

    // The key must be in `X-Api-Key`: a bearer token is not looked at.
    let bearer = reqwest::Client::new()
        .get(format!("{}/v1/invoices", sandbox.url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401);
    assert_eq!(
        bearer.json::<serde_json::Value>().await.unwrap(),
        json!({"error": {"type": "authentication_error", "code": "invalid_api_key", "message": "Invalid API key provided."}})
    );
}

/// Collects what the runtime reports.
#[derive(Default)]
struct Seen {
    actions: std::sync::Mutex<Vec<unifold::OperationRecord>>,
    requests: std::sync::Mutex<Vec<unifold::RequestRecord>>,
}

impl unifold::Observer for Seen {
    fn action_finished(&self, record: &unifold::OperationRecord) {
        self.actions.lock().unwrap().push(record.clone());
    }
    fn request_finished(&self, record: &unifold::RequestRecord) {
        self.requests.lock().unwrap().push(record.clone());
    }
}

#[tokio::test]
async fn fields_declared_sensitive_are_redacted_from_logged_inputs_and_bodies() {
    let seen = std::sync::Arc::new(Seen::default());
    let runtime = Runtime::builder().observer(seen.clone()).build().unwrap();
    let (sandbox, connection) = start().await;
    let invoice = create_invoice(&runtime, &connection, &consulting("INV-900"))
        .await
        .unwrap();
    // Sent and stored as given: redaction is for logs only.
    assert_eq!(
        invoice.customer_email.as_deref(),
        Some("billing@acme.example")
    );
    assert_eq!(sandbox.records("invoices").len(), 1);
    let action = seen.actions.lock().unwrap().last().cloned().unwrap();
    assert_eq!(action.input["customer_email"], "[redacted]");
    assert_eq!(action.input["number"], "INV-900");
    let requests = seen.requests.lock().unwrap().clone();
    assert!(!requests.is_empty());
    for request in &requests {
        for body in [&request.request_body, &request.response_body]
            .into_iter()
            .flatten()
        {
            assert!(!body.contains("billing@acme.example"), "{body}");
        }
    }
    assert!(
        requests[0]
            .request_body
            .as_deref()
            .unwrap()
            .contains("INV-900")
    );
}
