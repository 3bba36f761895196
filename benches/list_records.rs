//! Listing 100,000 seeded records through the generated `list_contacts` on each
//! sandbox: records per second, and the heap the listing adds at its peak (a
//! counting allocator; the sandbox's own store is allocated before measuring starts).
//! The same run over 10,000 records shows whether memory stays flat.
//!
//!     cargo bench --bench list_records

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use unifold_providers::list_contacts;
use unifold_runtime::{Connection, Credentials, ListOptions, Runtime, StreamExt};
use unifold_sandbox::{Sandbox, Vendor};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TOKEN: &str = "bench-token";

async fn measure(runtime: &Runtime, vendor: Vendor, count: usize) -> (f64, f64) {
    let sandbox = Sandbox::start(vendor, TOKEN).await.expect("sandbox");
    let object = match vendor {
        Vendor::HubSpot => "contacts",
        Vendor::Salesforce => "Contact",
        Vendor::Attio => "people",
    };
    sandbox.seed(object, count);
    let connection = Connection::new("bench", vendor.name(), Credentials::bearer(TOKEN));
    let connection = connection.with_origin(sandbox.url());
    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let started = Instant::now();
    let mut stream = list_contacts(runtime, &connection, &ListOptions::default());
    let mut seen = 0usize;
    while let Some(contact) = stream.next().await {
        std::hint::black_box(contact.expect("listed"));
        seen += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(seen, count);
    let peak_mb = (PEAK.load(Ordering::Relaxed) - baseline) as f64 / (1024.0 * 1024.0);
    (seen as f64 / elapsed, peak_mb)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    rt.block_on(async {
        // Pacing off: this measures the generated code, not HubSpot's 10 requests/s.
        let runtime = Runtime::builder().pacing(false).build().expect("runtime");
        println!("list_contacts over seeded sandboxes (largest page each provider allows)");
        for vendor in Vendor::ALL {
            let (small_rate, small_peak) = measure(&runtime, vendor, 10_000).await;
            let (rate, peak) = measure(&runtime, vendor, 100_000).await;
            println!(
                "  {:<10}  100,000 records: {:>8.0} records/s, peak heap +{:>6.1} MiB   (10,000 records: {:>8.0} records/s, +{:>5.1} MiB)",
                vendor.name(),
                rate,
                peak,
                small_rate,
                small_peak
            );
        }
    });
}
