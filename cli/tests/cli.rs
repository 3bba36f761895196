//! The `unifold` command as a user runs it: exit codes, diagnostics, and the crate
//! `generate` writes — its exact files, byte-stable re-runs, and (in one slow test) the
//! crate built, tested, documented, packaged and serving MCP on its own.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn unifold() -> Command {
    let mut command = Command::cargo_bin("unifold").unwrap();
    command.env("NO_COLOR", "1");
    command
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn copy_yaml(from: &Path, to: &Path) {
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

/// Every file `generate` writes, in the order it writes them.
const FILES: [&str; 5] = [
    "Cargo.toml",
    "README.md",
    "src/lib.rs",
    "src/actions.rs",
    "src/bin/mcp.rs",
];

fn read_all(out: &Path) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|file| std::fs::read(out.join(file)).unwrap())
        .collect()
}

fn mtimes(out: &Path) -> Vec<SystemTime> {
    FILES
        .iter()
        .map(|file| {
            std::fs::metadata(out.join(file))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect()
}

/// What `generate` prints: one line per file, then a summary.
fn generate_report(out: &Path, verb: &str, summary: &str) -> String {
    let mut report = String::new();
    for file in FILES {
        report.push_str(&format!("{verb} {}\n", out.join(file).display()));
    }
    report.push_str(summary);
    report.push('\n');
    report
}

const SHIPPED_SUMMARY: &str =
    "crate `acme-crm` 1.2.3: 72 provider actions on Attio, HubSpot and Salesforce";

#[test]
fn check_accepts_the_shipped_project() {
    unifold()
        .arg("check")
        .arg(repo())
        .assert()
        .code(0)
        .stdout("ok: 3 models, 3 providers, 9 mappings\n")
        .stderr("");
}

#[test]
fn check_reports_a_misspelt_field_with_its_location_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    copy_yaml(
        &repo().join("unified-models"),
        &dir.path().join("unified-models"),
    );
    copy_yaml(&repo().join("providers"), &dir.path().join("providers"));
    let mapping = dir.path().join("providers/hubspot/mappings/contact.yaml");
    let text = std::fs::read_to_string(&mapping)
        .unwrap()
        .replace("properties.lastname", "properties.lastnam");
    std::fs::write(&mapping, text).unwrap();
    let line = std::fs::read_to_string(&mapping)
        .unwrap()
        .lines()
        .position(|l| l.contains("properties.lastnam"))
        .unwrap()
        + 1;
    unifold()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown provider field `lastnam` under `properties` for `last_name`",
        ))
        .stderr(predicate::str::contains(format!(
            "[providers/hubspot/mappings/contact.yaml:{line}:14]"
        )))
        .stderr(predicate::str::contains(
            "did you mean `properties.lastname`?",
        ))
        .stderr(predicate::str::contains("1 problem found"));

    // `generate` refuses the same project with the same diagnostics and writes nothing.
    let out = dir.path().join("out");
    unifold()
        .arg("generate")
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .args(["--name", "acme-crm"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "[providers/hubspot/mappings/contact.yaml:{line}:14]"
        )))
        .stderr(predicate::str::contains("1 problem found"));
    assert!(!out.exists());
}

#[test]
fn generate_writes_a_publishable_crate_byte_for_byte_the_same_on_every_run_and_machine() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme-crm");
    let generate = |out: &Path| {
        let mut command = unifold();
        command
            .arg("generate")
            .arg(repo())
            .arg("--out")
            .arg(out)
            .args(["--name", "acme-crm", "--version", "1.2.3"])
            .args(["--repository", "https://example.com/acme/crm"]);
        command
    };
    generate(&out)
        .assert()
        .code(0)
        .stdout(generate_report(&out, "wrote", SHIPPED_SUMMARY))
        .stderr("");

    assert_eq!(
        std::fs::read_to_string(out.join("Cargo.toml")).unwrap(),
        r#"# @generated by unifold 0.1.0. Do not edit: change the YAML and run
# `unifold generate` again, which rewrites this file.
[package]
name = "acme-crm"
version = "1.2.3"
edition = "2024"
rust-version = "1.89"
description = "Typed actions on Attio, HubSpot and Salesforce, generated by unifold"
license = "MIT OR Apache-2.0"
repository = "https://example.com/acme/crm"
documentation = "https://docs.rs/acme-crm"
readme = "README.md"
# Cargo.toml is always packaged; nothing else but these.
include = ["/README.md", "/src/**/*.rs"]

[dependencies]
# The runtime the generated code calls, pinned to the version it was generated for:
# every other crate is reached through it.
unifold-runtime = { version = "=0.1.0" }

[features]
# The MCP server: `acme_crm::mcp` and the `acme-crm-mcp` binary.
mcp = ["unifold-runtime/mcp"]

[[bin]]
name = "acme-crm-mcp"
path = "src/bin/mcp.rs"
required-features = ["mcp"]

[package.metadata.docs.rs]
all-features = true

# A crate of its own, not a member of an enclosing workspace.
[workspace]
"#
    );

    // src/actions.rs is exactly what the build-script front end generates.
    let layout = unifold_codegen::Layout::conventional(repo());
    let code = unifold_codegen::generate(&layout, "::unifold_runtime")
        .map_err(|(problems, _)| problems.to_string())
        .unwrap()
        .code;
    assert_eq!(
        std::fs::read_to_string(out.join("src/actions.rs")).unwrap(),
        code
    );

    let lib = std::fs::read_to_string(out.join("src/lib.rs")).unwrap();
    assert!(
        lib.starts_with(
            "// @generated by unifold 0.1.0. Do not edit: change the YAML and run\n\
             // `unifold generate` again. From (every file read is listed in src/actions.rs):\n\
             // - unified-models\n\
             // - providers\n\
             //! Typed actions on Attio, HubSpot and Salesforce, generated by unifold.\n"
        ),
        "{lib}"
    );
    for expected in [
        "//! | [`hubspot`] | [`Contact`] | [`create_contact`](hubspot::create_contact), ",
        "//! ```no_run\n//! use acme_crm::{ContactInput, Connection, Credentials, Runtime, create_contact};\n",
        "//! - [`create_opportunity_with_links`]: Creates an opportunity linked to its company",
        "#![warn(missing_docs)]\n\nmod actions;\npub use actions::*;\n",
        "#[cfg(feature = \"mcp\")]\npub use unifold_runtime::mcp;\n",
    ] {
        assert!(lib.contains(expected), "`{expected}` missing:\n{lib}");
    }
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    for expected in [
        "# acme-crm\n\nTyped actions on Attio, HubSpot and Salesforce, generated by unifold.\n",
        "| salesforce | Contact | `create_contact`, `get_contact`, `update_contact`, `delete_contact`, `upsert_contact`, `list_contacts`, `find_contact_by_email`, `create_contacts`, `update_contacts` |\n",
        "```toml\n[dependencies]\nacme-crm = \"1.2.3\"\n```\n",
        "```rust\nuse acme_crm::{ContactInput, Connection, Credentials, Runtime, create_contact};\n",
        "    let connection = Connection::new(\"customer-1\", \"attio\", Credentials::bearer(\"<access token>\"));\n",
        "acme-crm-mcp                                           # stdio, on the only connection\n",
        "## License\nLicensed under MIT OR Apache-2.0.\n",
    ] {
        assert!(readme.contains(expected), "`{expected}` missing:\n{readme}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("src/bin/mcp.rs")).unwrap(),
        "// @generated by unifold 0.1.0. Do not edit: run `unifold generate` again.\n\
         //! `acme-crm-mcp`: serves the actions of `acme-crm` as Model Context Protocol tools,\n\
         //! over stdio (default) or Streamable HTTP (`--http ADDRESS:PORT`), on the connections in\n\
         //! `UNIFOLD_CONNECTIONS`. `acme-crm-mcp --help` lists the options.\n\
         \n\
         fn main() -> std::process::ExitCode {\n    \
             acme_crm::mcp::serve_main(acme_crm::REGISTRY, \"acme-crm-mcp\")\n\
         }\n"
    );

    // A re-run on unchanged input writes nothing: same bytes, same modification times.
    let (bytes, times) = (read_all(&out), mtimes(&out));
    std::thread::sleep(Duration::from_millis(20));
    generate(&out)
        .assert()
        .code(0)
        .stdout(generate_report(&out, "unchanged", SHIPPED_SUMMARY));
    assert_eq!(read_all(&out), bytes);
    assert_eq!(mtimes(&out), times);

    // Elsewhere (another folder, another depth) the crate is the same, byte for byte:
    // no absolute path or time is written.
    let elsewhere = tempfile::tempdir().unwrap();
    let other = elsewhere.path().join("deeper/still/acme-crm");
    generate(&other).assert().code(0);
    assert_eq!(read_all(&other), bytes);
    for (file, contents) in FILES.iter().zip(&bytes) {
        let text = String::from_utf8_lossy(contents);
        for absolute in [dir.path(), &repo()] {
            let absolute = absolute.display().to_string();
            assert!(!text.contains(&absolute), "{file} names {absolute}");
        }
    }

    // A changed option rewrites only the files it shows in.
    generate(&out)
        .args(["--description", "Acme's \"CRM\" actions"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "wrote {}\nwrote {}\nwrote {}\nunchanged {}\nunchanged {}\n",
            out.join("Cargo.toml").display(),
            out.join("README.md").display(),
            out.join("src/lib.rs").display(),
            out.join("src/actions.rs").display(),
            out.join("src/bin/mcp.rs").display(),
        )));
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("description = \"Acme's \\\"CRM\\\" actions\"\n"),
        "{manifest}"
    );
}

#[test]
fn generate_refuses_bad_package_options_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let refused = |args: &[&str], stderr: &str| {
        unifold()
            .current_dir(repo())
            .arg("generate")
            .arg(repo())
            .arg("--out")
            .arg(&out)
            .args(args)
            .assert()
            .code(1)
            .stdout("")
            .stderr(stderr.to_string());
        assert!(!out.exists(), "{args:?} wrote files");
    };
    refused(
        &["--name", "Bad Name"],
        "error: `Bad Name` is not a valid crate name: use ASCII letters, digits, `-` and `_`, starting with a letter (at most 64)\n",
    );
    refused(
        &["--name", "acme", "--version", "1.2"],
        "error: `1.2` is not a version cargo accepts: use MAJOR.MINOR.PATCH, e.g. 0.1.0 or 1.0.0-beta.1\n",
    );
    refused(
        &["--name", "acme", "--license", " "],
        "error: --license needs an SPDX expression, e.g. `MIT OR Apache-2.0`\n",
    );
    refused(
        &["--name", "acme", "--runtime-path", "cli/templates"],
        "error: --runtime-path cli/templates: no Cargo.toml there (pass the unifold runtime's folder, e.g. runtime/ in unifold's repository)\n",
    );
    // clap's own usage errors exit 2.
    unifold()
        .arg("generate")
        .arg(repo())
        .args(["--name", "acme"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the following required arguments were not provided:\n  --out <OUT>",
        ));
}

#[test]
fn sandbox_refuses_an_unknown_provider() {
    unifold()
        .args(["sandbox", "pipedrive"])
        .assert()
        .code(1)
        .stderr("error: unknown provider `pipedrive`; sandboxes exist for hubspot, salesforce, attio (or describe one and pass --dir providers/pipedrive)\n");
}

// --- The generated crate on its own (slow: nested cargo runs) ---------------------------

/// `cargo ARGS` in `dir`, offline, with a target folder shared by every run of this test
/// (and kept between runs), so the runtime and its dependencies are compiled once.
fn cargo(dir: &Path, args: &[&str]) -> std::process::Output {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-crates");
    let output = std::process::Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
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

fn assert_no_warning(output: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("warning"), "{what} warned:\n{stderr}");
}

/// Generates `project` as crate `name` depending on this checkout's runtime, with this
/// workspace's lockfile (same dependency versions, no resolution).
fn generate_local(project: &Path, out: &Path, name: &str) {
    unifold()
        .arg("generate")
        .arg(project)
        .arg("--out")
        .arg(out)
        .args(["--name", name, "--version", "1.2.3", "--runtime-path"])
        .arg(repo().join("runtime"))
        .assert()
        .code(0);
    std::fs::copy(repo().join("Cargo.lock"), out.join("Cargo.lock")).unwrap();
}

/// An MCP client over the child's stdio, one JSON-RPC message per line.
struct Stdio {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Stdio {
    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("an answer within a minute");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == id {
                return message;
            }
        }
    }
}

#[test]
fn the_generated_crate_builds_tests_documents_packages_and_serves_mcp() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme-crm");
    generate_local(&repo(), &out, "acme-crm");

    // The runtime by version and by path, the path relative to the crate.
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|line| line.starts_with("unifold-runtime = "))
        .unwrap();
    let path = line
        .strip_prefix("unifold-runtime = { version = \"=0.1.0\", path = \"")
        .and_then(|rest| rest.strip_suffix("\" }"))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(Path::new(path).is_relative(), "{line}");
    assert_eq!(
        out.join(path).canonicalize().unwrap(),
        repo().join("runtime")
    );

    assert_no_warning(&cargo(&out, &["build"]), "cargo build");
    // The crate docs' example is a doctest that compiles against the crate.
    let test = cargo(&out, &["test"]);
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert!(
        predicate::str::is_match(r"test src/lib\.rs - \(line \d+\) - compile \.\.\. ok")
            .unwrap()
            .eval(&stdout),
        "{stdout}"
    );
    // No warning with RUSTDOCFLAGS=-D warnings, with and without the `mcp` feature
    // (docs.rs builds with every feature).
    cargo(&out, &["doc", "--no-deps"]);
    cargo(&out, &["doc", "--no-deps", "--features", "mcp"]);
    let package = cargo(&out, &["package", "--allow-dirty", "--no-verify", "--list"]);
    assert_eq!(
        String::from_utf8_lossy(&package.stdout),
        "Cargo.lock\nCargo.toml\nCargo.toml.orig\nREADME.md\nsrc/actions.rs\nsrc/bin/mcp.rs\nsrc/lib.rs\n"
    );
    assert_no_warning(&package, "cargo package");
    assert_no_warning(
        &cargo(&out, &["build", "--features", "mcp", "--bins"]),
        "cargo build --features mcp",
    );

    // The binary serves the crate's actions over stdio, on a HubSpot sandbox.
    let binary = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-crates/debug/acme-crm-mcp");
    let help = std::process::Command::new(&binary)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).starts_with(
        "usage: acme-crm-mcp [--connection ID] [--http ADDRESS:PORT] [--allow ACTION,ACTION,...]\n"
    ));
    let unconfigured = std::process::Command::new(&binary)
        .env_remove("UNIFOLD_CONNECTIONS")
        .output()
        .unwrap();
    assert_eq!(unconfigured.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unconfigured.stderr)
            .starts_with("error: set UNIFOLD_CONNECTIONS to the connections to serve, a JSON list such as [{\"id\": \"customer-1\", \"provider\": \"attio\"")
    );

    let tokio = tokio::runtime::Runtime::new().unwrap();
    let token = "sandbox-token";
    let sandbox = tokio
        .block_on(unifold_sandbox::Sandbox::start(
            unifold_sandbox::Vendor::HubSpot,
            token,
        ))
        .unwrap();
    let connections = json!([{"id": "hubspot-1", "provider": "hubspot", "token": token, "origin": sandbox.url()}]);
    let mut child = std::process::Command::new(&binary)
        .env("UNIFOLD_CONNECTIONS", connections.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut mcp = Stdio {
        child,
        stdin,
        lines,
    };
    let init = mcp.request(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "cli-test", "version": "0"}}),
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "unifold", "{init}");
    mcp.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let tools = mcp.request(2, "tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{tools}"))
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    for name in [
        "create_contact",
        "list_contacts",
        "link_opportunity_contact",
        "create_opportunity_with_links",
    ] {
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    let created = mcp.request(
        3,
        "tools/call",
        json!({"name": "create_contact", "arguments": {"last_name": "Lovelace", "email_addresses": [{"email_address": "ada@example.com"}]}}),
    );
    assert_eq!(created["result"]["isError"], false, "{created}");
    assert_eq!(
        created["result"]["structuredContent"]["last_name"],
        "Lovelace"
    );
    let records = sandbox.records("contacts");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["properties"]["email"], "ada@example.com");
    // Closing stdin ends the session and the process, cleanly.
    drop(mcp.stdin);
    let status = mcp.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    if let Some(mut stderr) = mcp.child.stderr.take() {
        std::io::Read::read_to_string(&mut stderr, &mut logs).unwrap();
    }
    assert!(logs.contains("serving MCP over stdio"), "{logs}");
    assert!(!logs.contains(token), "{logs}");

    // A team's own model and provider, no Contact: the example creates an Invoice.
    let invoicing = dir.path().join("tally-invoices");
    generate_local(
        &repo().join("examples/invoicing"),
        &invoicing,
        "tally-invoices",
    );
    let lib = std::fs::read_to_string(invoicing.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("//! use tally_invoices::{InvoiceInput, Connection, Credentials, Runtime, create_invoice};\n"),
        "{lib}"
    );
    let test = cargo(&invoicing, &["test"]);
    assert_no_warning(&test, "cargo test of tally-invoices");
    cargo(&invoicing, &["doc", "--no-deps"]);
}
