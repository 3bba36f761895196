//! `unifold init` as a new user runs it, in a folder outside this workspace: the files
//! it writes, what it refuses, and (in one slow test) the project built, formatted, run
//! and tested offline, together with every Rust and TOML snippet of
//! docs/getting-started.md, which must be those files or build with them.

mod support;

use std::path::{Path, PathBuf};
use support::{assert_no_warning, cargo, repo, unifold};

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The YAML files of the shipped models and of `providers`, as `init` copies them.
fn shipped_yaml(providers: &[&str]) -> Vec<String> {
    let mut files: Vec<String> = files_under(&repo().join("unified-models"))
        .into_iter()
        .map(|file| format!("unified-models/{file}"))
        .collect();
    for provider in providers {
        let dir = repo().join("providers").join(provider);
        files.extend(
            files_under(&dir)
                .into_iter()
                .map(|file| format!("providers/{provider}/{file}")),
        );
    }
    files
}

#[test]
fn init_writes_the_shipped_models_and_the_chosen_providers_as_the_users_yaml() {
    let dir = tempfile::tempdir().unwrap();
    unifold()
        .current_dir(dir.path())
        .args(["init", "my-crm", "--providers", "hubspot, Attio"])
        .assert()
        .code(0)
        .stdout(
            "created `my-crm` in my-crm: the shipped unified models, the providers hubspot and attio (18 files)\n\
             next: cd my-crm && cargo run\n",
        )
        .stderr("");
    let project = dir.path().join("my-crm");
    let yaml = shipped_yaml(&["hubspot", "attio"]);
    let mut expected: Vec<String> = [
        ".gitignore",
        "Cargo.lock",
        "Cargo.toml",
        "src/lib.rs",
        "src/main.rs",
    ]
    .map(String::from)
    .into_iter()
    .chain(yaml.iter().cloned())
    .collect();
    expected.sort();
    assert_eq!(files_under(&project), expected);
    for file in &yaml {
        assert_eq!(
            std::fs::read(project.join(file)).unwrap(),
            std::fs::read(repo().join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(
        std::fs::read(project.join("Cargo.lock")).unwrap(),
        std::fs::read(repo().join("Cargo.lock")).unwrap()
    );
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    let checkout = repo().display().to_string();
    for line in [
        format!(
            "unifold = {{ path = \"{checkout}\", default-features = false, features = [\"macros\"] }}\n"
        ),
        format!("unifold-sandbox = {{ path = \"{checkout}/sandbox\" }}\n"),
    ] {
        assert!(manifest.contains(&line), "`{line}` missing:\n{manifest}");
    }
    let main = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert!(main.contains("const PROVIDERS: [&str; 2] = [\"hubspot\", \"attio\"];\n"));

    // The project is one `unifold check` accepts, from inside it.
    unifold()
        .current_dir(&project)
        .args(["check", "."])
        .assert()
        .code(0)
        .stdout("ok: 3 models, 2 providers, 6 mappings\n");
}

#[test]
fn init_takes_every_shipped_provider_by_default_and_git_dependencies_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("crm");
    unifold()
        .arg("init")
        .arg(&project)
        .args(["--unifold-git", "https://example.com/unifold.git"])
        .assert()
        .code(0);
    let files = files_under(&project);
    for provider in ["attio", "hubspot", "salesforce"] {
        let file = format!("providers/{provider}/provider.yaml");
        assert!(files.contains(&file), "{file} missing: {files:?}");
    }
    // No checkout, so no lockfile to copy: cargo resolves from the repository.
    assert!(!files.contains(&"Cargo.lock".to_string()));
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    for line in [
        "unifold = { git = \"https://example.com/unifold.git\", default-features = false, features = [\"macros\"] }\n",
        "unifold-sandbox = { git = \"https://example.com/unifold.git\" }\n",
        "# From unifold's git repository until the crates are on crates.io; then `git = …` becomes `version = \"0.1\"`.\n",
    ] {
        assert!(manifest.contains(line), "`{line}` missing:\n{manifest}");
    }
    let main = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert!(
        main.contains("const PROVIDERS: [&str; 3] = [\"attio\", \"hubspot\", \"salesforce\"];\n")
    );
}

#[test]
fn init_refuses_a_used_folder_an_unknown_provider_a_bad_name_and_a_wrong_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], stderr: String| {
        unifold()
            .current_dir(dir.path())
            .arg("init")
            .args(args)
            .assert()
            .code(1)
            .stdout("")
            .stderr(stderr);
    };

    // A folder with anything in it is left alone.
    std::fs::create_dir(dir.path().join("used")).unwrap();
    std::fs::write(dir.path().join("used/notes.txt"), "mine").unwrap();
    refused(
        &["used"],
        "error: used is not empty: init writes a new project, so give it a new or empty folder\n"
            .to_string(),
    );
    assert_eq!(files_under(&dir.path().join("used")), ["notes.txt"]);

    refused(
        &["crm", "--providers", "hubspot,pipedrive"],
        "error: --providers: no shipped provider `pipedrive`; choose from attio, hubspot, salesforce\n"
            .to_string(),
    );
    refused(
        &["Bad Name"],
        "error: `Bad Name` is not a valid crate name: pass --name NAME (ASCII letters, digits, `-` and `_`, starting with a letter)\n"
            .to_string(),
    );
    let not_a_checkout = dir.path().canonicalize().unwrap().join("used");
    refused(
        &["crm", "--unifold-path", "used"],
        format!(
            "error: --unifold-path: {} is not a unifold checkout: {} does not exist\n",
            not_a_checkout.display(),
            not_a_checkout.join("Cargo.toml").display()
        ),
    );
    assert!(!dir.path().join("crm").exists());
    assert!(!dir.path().join("Bad Name").exists());
}

// --- The project on its own, and the guide (slow: nested cargo runs) --------------------

/// A fenced block of the guide and the HTML comment marking it (`file: PATH`,
/// `append: PATH`, `output: …`, with an optional `, variant: NAME`).
struct Snippet {
    marker: Option<String>,
    language: String,
    text: String,
}

/// Every fenced block of `markdown`, with the `<!-- … -->` line just above it.
fn snippets(markdown: &str) -> Vec<Snippet> {
    let mut out = Vec::new();
    let mut lines = markdown.lines().peekable();
    let mut previous = "";
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let mut text = String::new();
            for inner in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                text.push_str(inner);
                text.push('\n');
            }
            let marker = previous
                .strip_prefix("<!-- ")
                .and_then(|rest| rest.strip_suffix(" -->"))
                .map(String::from);
            out.push(Snippet {
                marker,
                language: language.to_string(),
                text,
            });
        }
        previous = line;
    }
    out
}

/// `(key, value)` pairs of a marker: `file: src/lib.rs, variant: build-script`.
fn marker_field<'a>(marker: &'a str, key: &str) -> Option<&'a str> {
    marker
        .split(", ")
        .find_map(|part| part.strip_prefix(key)?.strip_prefix(": "))
}

/// Program output against the guide's, where `<id>` stands for any one word.
fn assert_output(expected: &str, actual: &str) {
    let (expected, actual): (Vec<&str>, Vec<&str>) =
        (expected.lines().collect(), actual.lines().collect());
    let same = expected.len() == actual.len()
        && expected
            .iter()
            .zip(&actual)
            .all(|(want, got)| match want.split_once("<id>") {
                None => want == got,
                Some((before, after)) => got
                    .strip_prefix(before)
                    .and_then(|rest| rest.strip_suffix(after))
                    .is_some_and(|id| !id.is_empty() && !id.contains(' ')),
            });
    assert!(
        same,
        "expected:\n{}\nactual:\n{}",
        expected.join("\n"),
        actual.join("\n")
    );
}

/// Writes or checks the guide's snippets of one variant (`None`: the project as
/// `init` writes it) into `project`: a file `init` wrote must be the snippet (the
/// checkout's path shown as `/path/to/unifold`); other files are written, appends
/// appended.
fn apply_snippets(guide: &[Snippet], variant: Option<&str>, project: &Path) {
    let checkout = repo().display().to_string();
    for snippet in guide {
        let Some(marker) = &snippet.marker else {
            continue;
        };
        if marker_field(marker, "variant") != variant {
            continue;
        }
        let text = snippet.text.replace("/path/to/unifold", &checkout);
        if let Some(file) = marker_field(marker, "file") {
            let path = project.join(file);
            match std::fs::read_to_string(&path) {
                Ok(written) if variant.is_none() => {
                    assert_eq!(written, text, "the guide's {file} is not what init writes")
                }
                _ => {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, text).unwrap();
                }
            }
        } else if let Some(file) = marker_field(marker, "append") {
            let path = project.join(file);
            let mut contents = std::fs::read_to_string(&path).unwrap();
            contents.push('\n');
            contents.push_str(&text);
            std::fs::write(&path, contents).unwrap();
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for file in files_under(from) {
        let target: PathBuf = to.join(&file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&file), target).unwrap();
    }
}

#[test]
fn the_initialized_project_builds_runs_and_tests_offline_as_the_guide_shows() {
    let guide_text = std::fs::read_to_string(repo().join("docs/getting-started.md")).unwrap();
    let guide = snippets(&guide_text);
    for snippet in &guide {
        if ["rust", "toml"].contains(&snippet.language.as_str()) {
            assert!(
                snippet.marker.is_some(),
                "a {} snippet of the guide is not marked as a file, so no test compiles it:\n{}",
                snippet.language,
                snippet.text
            );
        }
    }
    let output = guide
        .iter()
        .find(|snippet| snippet.marker.as_deref() == Some("output: cargo run"))
        .expect("the guide shows `cargo run`'s output");

    // As the guide says: init with the CLI built from this checkout, outside it.
    let dir = tempfile::tempdir().unwrap();
    unifold()
        .current_dir(dir.path())
        .args(["init", "my-crm", "--providers", "hubspot,attio"])
        .assert()
        .code(0);
    let project = dir.path().join("my-crm");
    apply_snippets(&guide, None, &project);

    let format = std::process::Command::new(env!("CARGO"))
        .args(["fmt", "--check"])
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(
        format.status.success(),
        "the project is not as rustfmt writes it:\n{}",
        String::from_utf8_lossy(&format.stdout)
    );
    let run = cargo(&project, &["run"]);
    assert_no_warning(&run, "cargo run");
    assert_output(&output.text, &String::from_utf8_lossy(&run.stdout));
    // Only the guide's test: the library's and binary's own test harnesses would
    // compile the generated code a second time for nothing.
    let test = cargo(&project, &["test", "--test", "contacts"]);
    assert!(
        String::from_utf8_lossy(&test.stdout)
            .contains("test a_created_contact_is_in_the_sandbox ... ok"),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );

    // The guide's build-script variant: the same program, the code from build.rs.
    let variant = dir.path().join("my-crm-build-script");
    copy_tree(&project, &variant);
    apply_snippets(&guide, Some("build-script"), &variant);
    let guide_build_script = std::fs::read_to_string(variant.join("build.rs")).unwrap();

    // First the mistakes of issue 17: this repository's build script copied as it is.
    std::fs::write(
        variant.join("build.rs"),
        "fn main() {\n    unifold_codegen::Builder::new(\"..\").runtime_path(\"::unifold_runtime\").run();\n}\n",
    )
    .unwrap();
    let failed = std::process::Command::new(env!("CARGO"))
        .args(["build", "--offline"])
        .current_dir(&variant)
        .env("CARGO_TARGET_DIR", support::shared_target())
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("error"))
        .collect();
    let (parent, manifest) = (
        dir.path().canonicalize().unwrap(),
        variant.canonicalize().unwrap(),
    );
    let relative_note = format!(
        "(Builder's folders are relative to the crate's folder, CARGO_MANIFEST_DIR = `{}`)",
        manifest.display()
    );
    assert_eq!(
        errors,
        [
            "error: failed to run custom build command for `my-crm v0.1.0 (".to_string()
                + &manifest.display().to_string()
                + ")`",
            format!(
                "error: no unified models at `{}`: that folder (or YAML file) does not exist {relative_note}",
                parent.join("unified-models").display()
            ),
            format!(
                "error: no providers folder at `{}`: that folder does not exist {relative_note}",
                parent.join("providers").display()
            ),
            format!(
                "error: the generated code names its runtime `::unifold_runtime`, but `{}` declares \
                 no dependency `unifold-runtime`: add `unifold-runtime` to [dependencies], or \
                 depend on `unifold` and leave out `.runtime_path(\"::unifold_runtime\")` (the \
                 default, `::unifold`, names the facade crate)",
                manifest.join("Cargo.toml").display()
            ),
        ],
        "{stderr}"
    );

    // Then the guide's build script.
    std::fs::write(variant.join("build.rs"), guide_build_script).unwrap();
    let run = cargo(&variant, &["run"]);
    assert_no_warning(&run, "cargo run of the build-script variant");
    assert_output(&output.text, &String::from_utf8_lossy(&run.stdout));
}
