//! What the CLI's test files share: the binary, the checkout, and nested cargo runs
//! in one target folder. Each test file uses part of it.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The `unifold` binary, without colours.
pub fn unifold() -> Command {
    let mut command = Command::cargo_bin("unifold").unwrap();
    command.env("NO_COLOR", "1");
    command
}

/// This checkout's folder, absolute.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Copies the YAML files of `from` into `to`, recursively (skipping `src/`).
pub fn copy_yaml(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() && entry.file_name() != "src" {
            copy_yaml(&path, &to.join(entry.file_name()));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// The target folder of every crate built by these tests, kept between runs, so
/// unifold and its dependencies are compiled once for all of them.
pub fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-crates")
}

/// `cargo ARGS` in `dir`, offline, in the shared target folder; panics with cargo's
/// output unless it succeeds.
pub fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("RUSTDOCFLAGS", "-D warnings")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Fails on any warning in the output's standard error.
pub fn assert_no_warning(output: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("warning"), "{what} warned:\n{stderr}");
}
