//! `unifold provider import` and `unifold sandbox --dir` as a user runs them: exit
//! codes, the files written, and the diagnostics shown.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn unifold() -> Command {
    let mut command = Command::cargo_bin("unifold").unwrap();
    command.env("NO_COLOR", "1");
    command
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A project folder with one unified model, for `unifold check` on imported providers.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("unified-models")).unwrap();
    std::fs::write(
        dir.path().join("unified-models/thing.yaml"),
        "models:\n  Thing:\n    fields:\n      remote_id: { type: string, read_only: true, required: true }\n",
    )
    .unwrap();
    dir
}

const WIDGET_OPERATIONS: &str = "createWidget, GET /widgets/{id},deleteWidget,listWidgets";

#[test]
fn imports_the_chosen_operations_and_what_they_reference() {
    let dir = project();
    let out = dir.path().join("providers/widgets");
    unifold()
        .args(["provider", "import"])
        .arg(fixture("widgets-3.1.yaml"))
        .args(["--operations", WIDGET_OPERATIONS, "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "imported 4 operations and 10 components",
        ))
        .stdout(predicate::str::contains("wrote ").count(3));

    let openapi = std::fs::read_to_string(out.join("openapi.yaml")).unwrap();
    // Reached through a path-level parameter (into a component's properties), a
    // response, `$defs` inside a component, and a discriminator mapping.
    for kept in [
        "    Money:",
        "    Problem:",
        "      $defs:\n        Part:\n",
        "    Triangle:",
        "    Currency:",
        "  securitySchemes: { bearer: { type: http, scheme: bearer } }",
    ] {
        assert!(openapi.contains(kept), "`{kept}` missing:\n{openapi}");
    }
    for dropped in ["Gadget", "Unused", "listGadgets", "partnerKey", "Sprocket"] {
        assert!(!openapi.contains(dropped), "`{dropped}` kept:\n{openapi}");
    }
    // 3.1 constructs stay; a property named `example` is a property, not an example.
    assert!(
        openapi.contains("name: { type: [string, \"null\"] }"),
        "{openapi}"
    );
    assert!(openapi.contains("kind: { const: widget }"), "{openapi}");
    assert!(
        openapi
            .contains("example: { type: string, description: A property called example stays. }")
    );
    // The operation without an id got one, and the file says so.
    assert!(
        openapi.contains("      operationId: getWidgetsById\n"),
        "{openapi}"
    );
    assert!(openapi.contains(
        "# `getWidgetsById` is GET /widgets/{id}, which the document gives no operationId."
    ));
    // Paths in order, each method once.
    let widgets = openapi.find("  /widgets:").unwrap();
    let by_id = openapi.find("  /widgets/{id}:").unwrap();
    assert!(widgets < by_id);

    let provider = std::fs::read_to_string(out.join("provider.yaml")).unwrap();
    assert!(
        provider.contains("base_url: https://api.widgets.example/{region}/v1\n"),
        "{provider}"
    );
    assert!(provider.contains("  region:\n    description: The data region of the account.\n"));
    assert!(provider.contains("  type: bearer"));
    assert!(provider.contains("  message: [detail]"), "{provider}");
    assert!(
        provider.contains("#   style: cursor\n#   cursor_param: cursor\n"),
        "{provider}"
    );
    let sandbox = std::fs::read_to_string(out.join("sandbox.yaml")).unwrap();
    assert!(sandbox.contains("      get: getWidgetsById\n"), "{sandbox}");
    assert!(
        sandbox.contains("list: { items: \"{records}\", next_cursor: \"{next_cursor}\" }"),
        "{sandbox}"
    );

    // The skeletons pass `unifold check` as written.
    unifold()
        .arg("check")
        .arg(dir.path())
        .assert()
        .success()
        .stdout("ok: 1 models, 1 providers, 0 mappings, 1 sandbox\n");

    // Re-running changes no byte and keeps the (possibly edited) skeletons.
    let before: Vec<Vec<u8>> = ["openapi.yaml", "provider.yaml", "sandbox.yaml"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    std::fs::write(out.join("provider.yaml"), b"# edited\n").unwrap();
    unifold()
        .args(["provider", "import"])
        .arg(fixture("widgets-3.1.yaml"))
        .args(["--operations", WIDGET_OPERATIONS, "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged "))
        .stdout(predicate::str::contains("kept ").count(2));
    assert_eq!(std::fs::read(out.join("openapi.yaml")).unwrap(), before[0]);
    assert_eq!(
        std::fs::read(out.join("provider.yaml")).unwrap(),
        b"# edited\n"
    );
    assert_eq!(std::fs::read(out.join("sandbox.yaml")).unwrap(), before[2]);
}

#[test]
fn unknown_operations_get_a_did_you_mean_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("providers/widgets");
    unifold()
        .args(["provider", "import"])
        .arg(fixture("widgets-3.1.yaml"))
        .args([
            "--operations",
            "createWidget,lstWidgets,POST /gadgets",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown operation `lstWidgets`"))
        .stderr(predicate::str::contains("[--operations:1:14]"))
        .stderr(predicate::str::contains("did you mean `listWidgets`?"))
        .stderr(predicate::str::contains(
            "unknown operation `POST /gadgets`",
        ))
        .stderr(predicate::str::contains("did you mean `GET /gadgets`?"))
        .stderr(predicate::str::contains("2 problems found"));
    assert!(!out.exists(), "nothing is written on failure");
}

#[test]
fn a_broken_ref_is_reported_with_its_json_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("widgets-3.1.yaml"))
        .unwrap()
        .replace(
            "schema: { $ref: \"#/components/schemas/WidgetInput\" }",
            "schema: { $ref: \"#/components/schemas/WidgetInptu\" }",
        );
    let source = dir.path().join("widgets.yaml");
    std::fs::write(&source, text).unwrap();
    let line = std::fs::read_to_string(&source)
        .unwrap()
        .lines()
        .position(|l| l.contains("WidgetInptu"))
        .unwrap()
        + 1;
    unifold()
        .current_dir(dir.path())
        .args(["provider", "import", "widgets.yaml", "--operations", "createWidget", "--out", "providers/widgets"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the `$ref` at `#/paths/~1widgets/post/requestBody/content/application~1json/schema/$ref` points at `#/components/schemas/WidgetInptu`, which does not exist",
        ))
        .stderr(predicate::str::contains(format!("[widgets.yaml:{line}:")))
        .stderr(predicate::str::contains(
            "did you mean `#/components/schemas/WidgetInput`?",
        ));
}

#[test]
fn documents_that_are_not_openapi_3_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("swagger.json");
    std::fs::write(&source, r#"{"swagger": "2.0", "paths": {}}"#).unwrap();
    unifold()
        .args(["provider", "import"])
        .arg(&source)
        .args(["--operations", "x", "--out"])
        .arg(dir.path().join("providers/x"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "this is a Swagger (OpenAPI 2) document",
        ))
        .stderr(predicate::str::contains("convert it to OpenAPI 3 first"));
    unifold()
        .args(["provider", "import"])
        .arg(dir.path().join("missing.yaml"))
        .args(["--operations", "x", "--out"])
        .arg(dir.path().join("providers/x"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read this file"));
}

#[test]
fn imports_from_attios_published_document() {
    let vendor = repo().join("../shared/vendor-specs/attio/openapi.json");
    if !vendor.is_file() {
        if std::env::var_os("UNIFOLD_SKIP_VENDOR_SPECS").is_some() {
            println!(
                "skipped: UNIFOLD_SKIP_VENDOR_SPECS is set and {} is missing",
                vendor.display()
            );
            return;
        }
        panic!(
            "{} is missing (set UNIFOLD_SKIP_VENDOR_SPECS=1 to skip)",
            vendor.display()
        );
    }
    let dir = project();
    let out = dir.path().join("providers/attio_v2");
    // Attio's document gives no operationIds: operations are named by method and path.
    unifold()
        .args(["provider", "import"])
        .arg(&vendor)
        .args([
            "--operations",
            "POST /v2/objects/{object}/records,GET /v2/objects/{object}/records/{record_id},post /v2/objects/{object}/records/query",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("imported 3 operations"));
    let openapi = std::fs::read_to_string(out.join("openapi.yaml")).unwrap();
    assert!(
        openapi.starts_with(
            "# Imported by `unifold provider import` from openapi.json (OpenAPI 3.1.0)"
        )
    );
    for id in [
        "operationId: postV2ObjectsByObjectRecords\n",
        "operationId: getV2ObjectsByObjectRecordsByRecordId\n",
        "operationId: postV2ObjectsByObjectRecordsQuery\n",
    ] {
        assert!(openapi.contains(id), "{id}");
    }
    assert!(!openapi.contains("/v2/lists"), "other paths are left out");
    assert!(openapi.len() < 100_000, "{} bytes", openapi.len());
    unifold().arg("check").arg(dir.path()).assert().success();
}

#[test]
fn check_reports_problems_in_a_sandbox_description() {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["unified-models", "providers"] {
        copy_tree(
            &repo().join("examples/pipedrive").join(folder),
            &dir.path().join(folder),
        );
    }
    for model in ["common", "contact", "company"] {
        std::fs::copy(
            repo().join(format!("unified-models/{model}.yaml")),
            dir.path().join(format!("unified-models/{model}.yaml")),
        )
        .unwrap();
    }
    let description = dir.path().join("providers/pipedrive/sandbox.yaml");
    let text = std::fs::read_to_string(&description)
        .unwrap()
        .replace("get: getPerson\n", "get: getPersn\n")
        .replace("\"{Singular} not found\"", "\"{Singulr} not found\"");
    std::fs::write(&description, text).unwrap();
    unifold()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown operation `getPersn`"))
        .stderr(predicate::str::contains("did you mean `getPerson`?"))
        .stderr(predicate::str::contains(
            "[providers/pipedrive/sandbox.yaml:",
        ))
        .stderr(predicate::str::contains(
            "unknown placeholder `{Singulr}` in an error message",
        ))
        .stderr(predicate::str::contains("did you mean `{Singular}`?"))
        .stderr(predicate::str::contains("2 problems found"));
    unifold()
        .arg("sandbox")
        .arg("--dir")
        .arg(dir.path().join("providers/pipedrive"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown operation `getPersn`"));
}

#[test]
fn sandbox_dir_serves_a_described_provider() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("unifold"))
        .arg("sandbox")
        .arg("--dir")
        .arg(repo().join("examples/pipedrive/providers/pipedrive"))
        .args(["--token", "cli-token"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first
        .strip_prefix("pipedrive sandbox listening on http://")
        .and_then(|rest| rest.strip_suffix("/v1"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let ask = |token: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "GET /v1/persons HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    };
    let ok = ask("cli-token");
    let refused = ask("wrong");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains(r#""success":true"#), "{ok}");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(refused.contains("unauthorized access"), "{refused}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}
