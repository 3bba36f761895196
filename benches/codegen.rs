//! Time to load, check and emit every shipped spec (what a build script does).
//!
//!     cargo bench --bench codegen

use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let layout = unifold_codegen::Layout::conventional(Path::new(env!("CARGO_MANIFEST_DIR")));
    let mut samples: Vec<Duration> = (0..50)
        .map(|_| {
            let started = Instant::now();
            let generated = unifold_codegen::generate(&layout, "::unifold")
                .map_err(|(p, _)| p.to_string())
                .expect("valid");
            std::hint::black_box(generated);
            started.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[samples.len() / 2];
    let lines = unifold_codegen::generate(&layout, "::unifold")
        .map(|g| g.code.lines().count())
        .unwrap_or(0);
    println!(
        "codegen of the shipped specs (3 providers, 3 models): median {:.2} ms, {lines} lines emitted",
        median.as_secs_f64() * 1e3
    );
}
