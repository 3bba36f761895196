//! The `unifold` command as a user runs it: exit codes, diagnostics, generated crates.

use std::path::{Path, PathBuf};
use std::process::Command;

fn unifold() -> Command {
    Command::new(env!("CARGO_BIN_EXE_unifold"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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

#[test]
fn check_accepts_the_shipped_project() {
    let output = unifold().arg("check").arg(repo()).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ok: 3 models, 3 providers, 9 mappings\n"
    );
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
    let output = unifold()
        .arg("check")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown provider field `lastnam` under `properties` for `last_name`"),
        "{stderr}"
    );
    let line = std::fs::read_to_string(&mapping)
        .unwrap()
        .lines()
        .position(|l| l.contains("properties.lastnam"))
        .unwrap()
        + 1;
    let location = format!("[providers/hubspot/mappings/contact.yaml:{line}:14]");
    assert!(stderr.contains(&location), "{stderr}");
    assert!(
        stderr.contains("did you mean `properties.lastname`?"),
        "{stderr}"
    );
    assert!(stderr.contains("1 problem found"), "{stderr}");
}

#[test]
fn generate_writes_a_crate_and_is_byte_stable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme-crm");
    let run = || {
        unifold()
            .args(["generate"])
            .arg(repo())
            .arg("--out")
            .arg(&out)
            .args(["--name", "acme-crm", "--version", "1.2.3", "--runtime-path"])
            .arg(repo().join("runtime"))
            .output()
            .unwrap()
    };
    let output = run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest = std::fs::read_to_string(out.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"acme-crm\"") && manifest.contains("version = \"1.2.3\""),
        "{manifest}"
    );
    assert!(
        manifest.contains("unifold-runtime = { path = "),
        "{manifest}"
    );
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains("| salesforce | Contact | `create_contact`, `get_contact`, `update_contact`, `delete_contact`, `upsert_contact`, `list_contacts`, `find_contact_by_email` |"),
        "{readme}"
    );
    assert!(
        readme.contains("use acme_crm::{CompanyInput, create_company};"),
        "{readme}"
    );
    let lib = std::fs::read_to_string(out.join("src/lib.rs")).unwrap();
    assert!(lib.contains("pub async fn create_contact("));

    let before: Vec<_> = ["Cargo.toml", "README.md", "src/lib.rs"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert!(run().status.success());
    let after: Vec<_> = ["Cargo.toml", "README.md", "src/lib.rs"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);

    // The generated crate builds on its own (sharing this workspace's target dir).
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/generated-crate");
    let build = Command::new(env!("CARGO"))
        .arg("build")
        .arg("--offline")
        .current_dir(&out)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
}

#[test]
fn generate_refuses_a_crate_name_cargo_would_reject() {
    let dir = tempfile::tempdir().unwrap();
    let output = unifold()
        .arg("generate")
        .arg(repo())
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--name", "Bad Name"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: `Bad Name` is not a valid crate name: use ASCII letters, digits, `-` and `_`, starting with a letter (at most 64)\n"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn sandbox_refuses_an_unknown_provider() {
    let output = unifold().args(["sandbox", "pipedrive"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: unknown provider `pipedrive`; sandboxes exist for hubspot, salesforce, attio (or describe one and pass --dir providers/pipedrive)\n"
    );
}
