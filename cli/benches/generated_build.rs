//! What the crate `unifold generate` writes for the shipped specs costs to generate and
//! to build, against an empty crate with the same dependencies.
//!
//!     cargo bench -p unifold-cli --bench generated_build
//!
//! Measured, all with `cargo build --offline` in the dev profile (what `cargo build` and
//! `cargo test` use), each crate with a target folder of its own, this workspace's
//! Cargo.lock and the runtime by path (`--runtime-path`):
//! - cold: from an empty target folder (the runtime and every dependency compiled too);
//!   after one uncounted build that fills the page cache, two builds of each crate,
//!   interleaved, the faster kept;
//! - the crate alone, dependencies compiled: `cargo clean -p CRATE`, then a build (what a
//!   dependent project pays for the crate); median of 3;
//! - incremental: `touch src/lib.rs`, then a build; median of 3;
//! - codegen: `unifold_codegen::generate` in process (load, check, emit, format; as
//!   `cargo bench --bench codegen` in the workspace) and the whole `unifold generate`
//!   process writing a new crate; medians of 20 and 10.
//!
//! Each build figure is wall-clock time and, on Linux, CPU time (user + system of cargo
//! and the compilers it ran), which other load on a shared machine barely changes.
//! The build figures compare the generated crate (`src/actions.rs`, every shipped
//! action) with a crate whose `src/lib.rs` is empty and whose `[dependencies]` are the
//! same line; the ratio is generated / empty.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository")
}

/// One build: wall-clock time, and CPU time (user + system) of cargo and every compiler
/// it ran. CPU time barely moves with other load on a shared machine; wall time does.
#[derive(Clone, Copy, Default)]
struct Time {
    wall: Duration,
    cpu: Option<Duration>,
}

/// CPU time of this process's finished children, from `/proc/self/stat` (`cutime` and
/// `cstime`, which include every descendant each child waited for; Linux, USER_HZ 100).
fn children_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name in parentheses, from field 3 (`state`) on.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    Some(Duration::from_millis((ticks(16)? + ticks(17)?) * 10))
}

fn median(mut samples: Vec<Time>) -> Time {
    samples.sort_by_key(|time| time.wall);
    samples[samples.len() / 2]
}

fn secs(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Time {
    let (started, cpu) = (Instant::now(), children_cpu());
    run(Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target));
    Time {
        wall: started.elapsed(),
        cpu: cpu
            .zip(children_cpu())
            .map(|(before, after)| after - before),
    }
}

fn generate(out: &Path) {
    run(Command::new(env!("CARGO_BIN_EXE_unifold"))
        .arg("generate")
        .arg(repo())
        .arg("--out")
        .arg(out)
        .args(["--name", "acme-crm", "--runtime-path"])
        .arg(repo().join("runtime")));
}

struct Figures {
    cold: Time,
    alone: Time,
    incremental: Time,
}

/// The crate alone and incremental builds, in a target folder holding its dependencies.
fn measure_warm(dir: &Path, name: &str, target: &Path, cold: Time) -> Figures {
    let alone = median(
        (0..3)
            .map(|_| {
                cargo(dir, target, &["clean", "-p", name]);
                cargo(dir, target, &["build"])
            })
            .collect(),
    );
    let incremental = median(
        (0..3)
            .map(|_| {
                let lib = dir.join("src/lib.rs");
                let text = std::fs::read(&lib).expect("src/lib.rs");
                std::fs::write(&lib, text).expect("touch src/lib.rs");
                cargo(dir, target, &["build"])
            })
            .collect(),
    );
    Figures {
        cold,
        alone,
        incremental,
    }
}

/// A build from an empty target folder.
fn cold(dir: &Path, target: &Path) -> Time {
    let _ = std::fs::remove_dir_all(target);
    cargo(dir, target, &["build"])
}

fn median_duration(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let work = tempfile::tempdir().expect("a temporary folder");

    // Codegen.
    let layout = unifold_codegen::Layout::conventional(repo());
    let in_process = median_duration(
        (0..20)
            .map(|_| {
                let started = Instant::now();
                let generated = unifold_codegen::generate(&layout, "::unifold_runtime")
                    .map_err(|(problems, _)| problems.to_string())
                    .expect("the shipped specs are valid");
                std::hint::black_box(generated);
                started.elapsed()
            })
            .collect(),
    );
    let whole = median_duration(
        (0..10)
            .map(|i| {
                let out = work.path().join(format!("generate-{i}/acme-crm"));
                let started = Instant::now();
                generate(&out);
                started.elapsed()
            })
            .collect(),
    );

    // The two crates, side by side at the same depth so the runtime's relative path is
    // the same line in both manifests.
    let generated = work.path().join("generated/acme-crm");
    generate(&generated);
    let lines = std::fs::read_to_string(generated.join("src/actions.rs"))
        .expect("src/actions.rs")
        .lines()
        .count();
    let manifest = std::fs::read_to_string(generated.join("Cargo.toml")).expect("Cargo.toml");
    let dependency = manifest
        .lines()
        .find(|line| line.starts_with("unifold-runtime = "))
        .expect("the runtime dependency");
    let empty = work.path().join("empty/acme-crm-empty");
    std::fs::create_dir_all(empty.join("src")).expect("the empty crate");
    std::fs::write(
        empty.join("Cargo.toml"),
        format!(
            "[package]\nname = \"acme-crm-empty\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n{dependency}\n\n[workspace]\n"
        ),
    )
    .expect("Cargo.toml");
    std::fs::write(empty.join("src/lib.rs"), "").expect("src/lib.rs");
    for dir in [&generated, &empty] {
        std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).expect("Cargo.lock");
    }

    let targets = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-generated-build");
    let (empty_target, generated_target) = (targets.join("empty"), targets.join("generated"));
    // A first cold build reads every source into the page cache; it is not counted. Then
    // two cold builds of each crate, interleaved, keeping the faster (the machine is
    // shared, so slower runs measure other load).
    cold(&empty, &empty_target);
    let mut empty_cold = Vec::new();
    let mut generated_cold = Vec::new();
    for _ in 0..2 {
        empty_cold.push(cold(&empty, &empty_target));
        generated_cold.push(cold(&generated, &generated_target));
    }
    let fastest = |samples: Vec<Time>| {
        samples
            .into_iter()
            .min_by_key(|time| time.wall)
            .unwrap_or_default()
    };
    let empty_figures = measure_warm(&empty, "acme-crm-empty", &empty_target, fastest(empty_cold));
    let generated_figures = measure_warm(
        &generated,
        "acme-crm",
        &generated_target,
        fastest(generated_cold),
    );
    // Each target folder holds a gigabyte or two of dependencies.
    let _ = std::fs::remove_dir_all(&targets);

    println!(
        "codegen of the shipped specs (load, check, emit, format; {lines} lines): median {:.1} ms in process, {:.1} ms for the whole `unifold generate` process writing the crate",
        in_process.as_secs_f64() * 1e3,
        whole.as_secs_f64() * 1e3
    );
    println!(
        "cargo build (dev profile)                 generated (cpu)        empty (cpu)   ratio (cpu)"
    );
    let cpu = |time: Time| time.cpu.map(secs).unwrap_or_else(|| "-".into());
    let ratio = |g: Option<Duration>, e: Option<Duration>| match (g, e) {
        (Some(g), Some(e)) if !e.is_zero() => format!("{:.2}", g.as_secs_f64() / e.as_secs_f64()),
        _ => "-".into(),
    };
    for (what, g, e) in [
        (
            "cold, dependencies included, fastest",
            generated_figures.cold,
            empty_figures.cold,
        ),
        (
            "the crate alone (clean -p), median",
            generated_figures.alone,
            empty_figures.alone,
        ),
        (
            "incremental (touch src/lib.rs), median",
            generated_figures.incremental,
            empty_figures.incremental,
        ),
    ] {
        println!(
            "{what:<40} {:>8} ({:>7}) {:>8} ({:>7}) {:>6} ({:>5})",
            secs(g.wall),
            cpu(g),
            secs(e.wall),
            cpu(e),
            ratio(Some(g.wall), Some(e.wall)),
            ratio(g.cpu, e.cpu),
        );
    }
}
