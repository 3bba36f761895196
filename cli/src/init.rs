//! `unifold init DIR`: a user's own crate, outside unifold's repository, that builds
//! and runs as written: the shipped unified models and the chosen providers' YAML
//! (copied in, the user's to edit), a `generate!` call, and a `main.rs` that creates
//! and lists contacts on the providers' sandboxes.

use crate::{checkout, fail, toml_string, valid_crate_name};
use askama::Template;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod shipped {
    include!(concat!(env!("OUT_DIR"), "/shipped.rs"));
}

/// What `init` was asked for.
pub struct InitOptions {
    pub dir: PathBuf,
    pub name: Option<String>,
    pub providers: Option<String>,
    pub unifold_path: Option<PathBuf>,
    pub unifold_git: Option<String>,
}

/// Where the project's manifest points for unifold's crates.
enum Source {
    /// A checkout's folder (absolute).
    Path(PathBuf),
    /// A git repository holding unifold's workspace.
    Git(String),
}

#[derive(Template)]
#[template(path = "init/Cargo.toml.txt", escape = "none")]
struct ManifestTemplate<'a> {
    name: &'a str,
    source_note: &'a str,
    unifold_source: String,
    sandbox_source: String,
}

#[derive(Template)]
#[template(path = "init/lib.rs.txt", escape = "none")]
struct LibTemplate<'a> {
    first_provider: &'a str,
}

#[derive(Template)]
#[template(path = "init/main.rs.txt", escape = "none")]
struct MainTemplate<'a> {
    crate_ident: &'a str,
    providers: &'a [String],
}

/// The providers whose YAML the binary carries (`providers/<name>/…`), sorted.
pub fn shipped_providers() -> Vec<&'static str> {
    let mut names: Vec<&str> = shipped::SHIPPED
        .iter()
        .filter_map(|(path, _)| path.strip_prefix("providers/")?.split('/').next())
        .collect();
    names.dedup();
    names
}

/// The providers asked for, in the order given, each once; or what is wrong.
fn chosen_providers(list: Option<&str>) -> Result<Vec<String>, String> {
    let shipped = shipped_providers();
    let Some(list) = list else {
        return Ok(shipped.iter().map(|name| name.to_string()).collect());
    };
    let mut chosen: Vec<String> = Vec::new();
    for name in list.split(',').map(|name| name.trim().to_ascii_lowercase()) {
        if !shipped.contains(&name.as_str()) {
            return Err(format!(
                "--providers: no shipped provider `{name}`; choose from {}",
                shipped.join(", ")
            ));
        }
        if !chosen.contains(&name) {
            chosen.push(name);
        }
    }
    Ok(chosen)
}

/// The checkout or repository to depend on, from the options or, by default, the
/// checkout this binary was built from.
fn source(options: &InitOptions) -> Result<Source, String> {
    if let Some(url) = &options.unifold_git {
        return Ok(Source::Git(url.clone()));
    }
    match &options.unifold_path {
        Some(path) => checkout::checkout_at(path)
            .map(Source::Path)
            .map_err(|problem| format!("--unifold-path: {problem}")),
        None => checkout::built_from().map(Source::Path).ok_or_else(|| {
            format!(
                "cannot find unifold's crates (they are not on crates.io yet): the checkout this \
                 unifold was built from ({}) is gone. Pass --unifold-path PATH (a clone of \
                 unifold's repository) or --unifold-git URL",
                checkout::built_from_shown()
            )
        }),
    }
}

/// The manifest: dependencies by path or git, per `source`.
fn manifest(name: &str, source: &Source) -> Result<String, askama::Error> {
    let (note, unifold, sandbox) = match source {
        Source::Path(dir) => (
            "From a unifold checkout until the crates are on crates.io; then `path = …` becomes `version = \"0.1\"`.",
            format!("path = {}", toml_string(&dir.display().to_string())),
            format!(
                "path = {}",
                toml_string(&dir.join("sandbox").display().to_string())
            ),
        ),
        Source::Git(url) => (
            "From unifold's git repository until the crates are on crates.io; then `git = …` becomes `version = \"0.1\"`.",
            format!("git = {}", toml_string(url)),
            format!("git = {}", toml_string(url)),
        ),
    };
    ManifestTemplate {
        name,
        source_note: note,
        unifold_source: unifold,
        sandbox_source: sandbox,
    }
    .render()
}

/// Every file of the new project: (path relative to it, contents).
fn project_files(
    name: &str,
    providers: &[String],
    source: &Source,
) -> Result<Vec<(String, String)>, askama::Error> {
    let crate_ident = name.replace('-', "_");
    let mut files = vec![
        ("Cargo.toml".to_string(), manifest(name, source)?),
        (".gitignore".to_string(), "/target\n".to_string()),
        (
            "src/lib.rs".to_string(),
            LibTemplate {
                first_provider: &providers[0],
            }
            .render()?,
        ),
        (
            "src/main.rs".to_string(),
            MainTemplate {
                crate_ident: &crate_ident,
                providers,
            }
            .render()?,
        ),
    ];
    for (path, text) in shipped::SHIPPED {
        let wanted = match path.strip_prefix("providers/") {
            Some(rest) => providers
                .iter()
                .any(|provider| rest.split('/').next() == Some(provider.as_str())),
            None => true,
        };
        if wanted {
            files.push((path.to_string(), text.to_string()));
        }
    }
    Ok(files)
}

pub fn run(options: &InitOptions) -> ExitCode {
    let dir = options.dir.as_path();
    let name = match &options.name {
        Some(name) => name.clone(),
        // `unifold init .` names the crate after the current folder.
        None => std::path::absolute(dir)
            .ok()
            .and_then(|dir| {
                dir.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_default(),
    };
    if !valid_crate_name(&name) {
        return fail(format!(
            "`{name}` is not a valid crate name: pass --name NAME (ASCII letters, digits, `-` and `_`, starting with a letter)"
        ));
    }
    let providers = match chosen_providers(options.providers.as_deref()) {
        Ok(providers) => providers,
        Err(problem) => return fail(problem),
    };
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return fail(format!(
            "{} is not empty: init writes a new project, so give it a new or empty folder",
            dir.display()
        ));
    }
    let source = match source(options) {
        Ok(source) => source,
        Err(problem) => return fail(problem),
    };
    let files = match project_files(&name, &providers, &source) {
        Ok(files) => files,
        Err(error) => return fail(format!("cannot render the project: {error}")),
    };
    for (path, text) in &files {
        let text = if text.ends_with('\n') {
            text.clone()
        } else {
            format!("{text}\n")
        };
        if let Err(error) = unifold_codegen::write_if_changed(&dir.join(path), text.as_bytes()) {
            return fail(format!(
                "cannot write {}: {error}",
                dir.join(path).display()
            ));
        }
    }
    // The versions unifold itself is built and tested with, so the first build needs
    // no dependency resolution (and works offline from a warm cargo cache).
    if let Source::Path(checkout) = &source
        && let Err(error) = copy_lockfile(checkout, dir)
    {
        return fail(error);
    }
    let names: Vec<&str> = providers.iter().map(String::as_str).collect();
    println!(
        "created `{name}` in {}: the shipped unified models, the provider{} {} ({} files)",
        dir.display(),
        if names.len() == 1 { "" } else { "s" },
        crate::and_list(&names),
        files.len()
    );
    println!("next: cd {} && cargo run", dir.display());
    ExitCode::SUCCESS
}

fn copy_lockfile(checkout: &Path, dir: &Path) -> Result<(), String> {
    let lockfile = checkout.join("Cargo.lock");
    if !lockfile.is_file() {
        return Ok(());
    }
    std::fs::copy(&lockfile, dir.join("Cargo.lock"))
        .map(|_| ())
        .map_err(|error| format!("cannot copy {}: {error}", lockfile.display()))
}
