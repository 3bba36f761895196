//! Achieved request rate over the allowed rate: 1,000 creates on one Attio connection
//! (25 writes per second declared in providers/attio/provider.yaml) against a sandbox
//! enforcing the same budget. Prints the ratio (goal ≥ 0.95) and the 429s seen (goal 0).
//!
//!     cargo bench --bench pacing        (takes about 40 s: that is the budget)

use futures_util::StreamExt;
use std::time::{Duration, Instant};
use unifold_providers::{ContactInput, EmailAddress, create_contact};
use unifold_runtime::{Connection, Credentials, Runtime};
use unifold_sandbox::{Limit, Sandbox, Vendor};

const CREATES: usize = 1000;
const WRITES_PER_SECOND: f64 = 25.0;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        let sandbox = Sandbox::start(Vendor::Attio, "bench-token")
            .await
            .expect("sandbox");
        sandbox.enforce(Limit {
            requests: 25,
            window: Duration::from_secs(1),
            reads: Some(false),
        });
        let connection = Connection::new("bench", "attio", Credentials::bearer("bench-token"))
            .with_origin(sandbox.url());
        let runtime = Runtime::new().expect("runtime");
        let inputs: Vec<ContactInput> = (0..CREATES)
            .map(|n| ContactInput {
                last_name: Some(format!("Person {n}")),
                email_addresses: vec![EmailAddress {
                    email_address: format!("p{n}@example.com"),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        let started = Instant::now();
        let failures = futures_util::stream::iter(inputs.iter())
            .map(|input| create_contact(&runtime, &connection, input))
            .buffer_unordered(100)
            .filter(|outcome| std::future::ready(outcome.is_err()))
            .count()
            .await;
        let elapsed = started.elapsed().as_secs_f64();
        // The first request goes at once; the budget spaces the other 999.
        let fastest_allowed = (CREATES - 1) as f64 / WRITES_PER_SECOND;
        let throttled = sandbox
            .requests()
            .iter()
            .filter(|r| r.status == 429)
            .count();
        println!("1,000 creates on one Attio connection, 25 writes/s allowed");
        println!("  elapsed {elapsed:.1} s, fastest allowed {fastest_allowed:.1} s");
        println!(
            "  achieved / allowed rate: {:.3}",
            fastest_allowed / elapsed
        );
        println!("  failures: {failures}, 429s from the sandbox: {throttled}");
    });
}
