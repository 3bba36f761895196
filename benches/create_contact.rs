//! Generated `hubspot::create_contact` vs a hand-written reqwest + serde_json call
//! doing the same request against the same HubSpot sandbox, in one process.
//! Prints each median and their ratio (generated / hand-written).
//!
//!     cargo bench --bench create_contact

use std::time::{Duration, Instant};
use unifold_providers::{ContactInput, EmailAddress, hubspot};
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Sandbox, Vendor};

const SAMPLES: usize = 2000;
const TOKEN: &str = "bench-token";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn input(n: usize) -> ContactInput {
    ContactInput {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email_addresses: vec![EmailAddress {
            email_address: format!("ada{n}@example.com"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        let sandbox = Sandbox::start(Vendor::HubSpot, TOKEN).await.expect("sandbox");
        // Pacing off: this measures the generated code, not HubSpot's 10 requests/s.
        let runtime = Runtime::builder().pacing(false).build().expect("runtime");
        let connection = Connection::new("bench", "hubspot", Credentials::bearer(TOKEN)).with_origin(sandbox.url());
        let client = reqwest::Client::new();
        let url = format!("{}/crm/v3/objects/contacts", sandbox.url());

        // Warm both paths (connection pools, allocator).
        for n in 0..50 {
            hubspot::create_contact(&runtime, &connection, &input(n)).await.expect("generated");
        }
        let mut generated = Vec::with_capacity(SAMPLES);
        let mut manual = Vec::with_capacity(SAMPLES);
        for n in 0..SAMPLES {
            // Interleave so both see the same sandbox state and machine noise.
            let contact = input(100_000 + n);
            let started = Instant::now();
            let created = hubspot::create_contact(&runtime, &connection, &contact).await.expect("generated");
            generated.push(started.elapsed());
            std::hint::black_box(created);

            let email = format!("hand{n}@example.com");
            let started = Instant::now();
            let response = client
                .post(&url)
                .bearer_auth(TOKEN)
                .json(&serde_json::json!({"properties": {"firstname": "Ada", "lastname": "Lovelace", "email": email}}))
                .send()
                .await
                .expect("manual");
            assert_eq!(response.status().as_u16(), 201);
            let body: serde_json::Value = response.json().await.expect("json");
            manual.push(started.elapsed());
            std::hint::black_box(body);
        }
        let generated = median(generated);
        let manual = median(manual);
        println!("create_contact on the HubSpot sandbox, {SAMPLES} samples each");
        println!("  generated action  median {:>9.1} µs", generated.as_secs_f64() * 1e6);
        println!("  hand-written call median {:>9.1} µs", manual.as_secs_f64() * 1e6);
        println!("  ratio generated / hand-written: {:.3}", generated.as_secs_f64() / manual.as_secs_f64());
    });
}
