//! `unifold`: check mappings, generate a publishable crate, run a provider sandbox.

mod checkout;
mod init;
mod logs;

use askama::Template;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "unifold",
    version,
    about = "Typed unified actions on SaaS APIs, from YAML"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a project (unified-models/ and providers/) and report every problem.
    Check {
        /// The project folder.
        dir: PathBuf,
        /// Read the unified models from these folders or YAML files instead of
        /// DIR/unified-models (repeat for several, e.g. shared models and the project's own).
        #[arg(long = "models", value_name = "PATH")]
        models: Vec<PathBuf>,
    },
    /// Start a project of your own: a crate in DIR with the shipped unified models and
    /// the chosen providers' YAML (yours to edit), typed actions generated from them
    /// when it builds, and a main.rs that creates and lists contacts on the providers'
    /// sandboxes. `cd DIR && cargo run`.
    Init {
        /// The folder to create (new or empty).
        dir: PathBuf,
        /// The crate's name [default: the folder's name].
        #[arg(long)]
        name: Option<String>,
        /// The shipped providers to copy in, separated by commas [default: all of them].
        #[arg(long, value_name = "NAME,NAME,...")]
        providers: Option<String>,
        /// Depend on unifold's crates in this checkout (a clone of unifold's repository)
        /// [default: the checkout this unifold was built from].
        #[arg(long, value_name = "PATH", conflicts_with = "unifold_git")]
        unifold_path: Option<PathBuf>,
        /// Depend on unifold's crates from this git repository instead.
        #[arg(long, value_name = "URL")]
        unifold_git: Option<String>,
    },
    /// Generate a publishable crate with the typed actions of a project: Cargo.toml,
    /// README.md, src/lib.rs, src/actions.rs and an MCP server binary (feature `mcp`).
    /// Files are rewritten only when their bytes change.
    Generate {
        /// The project folder.
        dir: PathBuf,
        /// Read the unified models from these folders or YAML files instead of DIR/unified-models.
        #[arg(long = "models", value_name = "PATH")]
        models: Vec<PathBuf>,
        /// Where to write the crate.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        package: PackageOptions,
    },
    /// Work on provider definitions.
    Provider {
        #[command(subcommand)]
        command: ProviderCommand,
    },
    /// Show the stored log of actions and their HTTP requests (the runtime's log store).
    Logs {
        /// The store: `sqlite:app.db` or `postgres://…` (default: $UNIFOLD_LOG_STORE).
        #[arg(long, env = "UNIFOLD_LOG_STORE")]
        store: String,
        /// The PostgreSQL schema of the tables, if not the default one.
        #[arg(long)]
        schema: Option<String>,
        /// Only this connection's operations.
        #[arg(long)]
        connection: Option<String>,
        /// Only this action (`create_contact`).
        #[arg(long)]
        action: Option<String>,
        /// Only this provider.
        #[arg(long)]
        provider: Option<String>,
        /// Only operations started since then: 30s, 15m, 1h, 2d, or an RFC 3339 instant.
        #[arg(long, value_parser = logs::parse_since)]
        since: Option<unifold_runtime::DateTime>,
        /// Only failed operations.
        #[arg(long)]
        failed: bool,
        /// At most this many operations (the newest).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Show each operation's HTTP requests under it.
        #[arg(long)]
        requests: bool,
        /// One JSON object per operation (with its requests), for machines.
        #[arg(long)]
        json: bool,
    },
    /// Serve a provider emulator on 127.0.0.1 for tests in any language.
    Sandbox {
        /// hubspot, salesforce or attio (the hand-written emulators).
        #[arg(required_unless_present = "dir", conflicts_with = "dir")]
        provider: Option<String>,
        /// A provider folder with a sandbox description (sandbox.yaml), e.g. providers/pipedrive.
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The bearer token the sandbox accepts (a random one is printed when omitted).
        #[arg(long)]
        token: Option<String>,
    },
}

/// What `generate` writes into the crate's `[package]`.
#[derive(clap::Args)]
struct PackageOptions {
    /// The crate's name.
    #[arg(long)]
    name: String,
    /// The crate's version.
    #[arg(long, default_value = "0.1.0")]
    version: String,
    /// The crate's license, as an SPDX expression.
    #[arg(long, default_value = "MIT OR Apache-2.0")]
    license: String,
    /// The crate's description [default: "Typed actions on <the providers' display
    /// names>, generated by unifold"].
    #[arg(long)]
    description: Option<String>,
    /// The crate's repository URL.
    #[arg(long, value_name = "URL")]
    repository: Option<String>,
    /// Where the crate's docs are [default: https://docs.rs/<name>].
    #[arg(long, value_name = "URL")]
    documentation: Option<String>,
    /// Depend on the unifold runtime at this folder (with its version, so the crate
    /// still packages), written relative to --out [default: runtime/ of the checkout
    /// this unifold was built from, until the runtime is on crates.io].
    #[arg(long, value_name = "PATH", group = "runtime")]
    runtime_path: Option<PathBuf>,
    /// Depend on the unifold runtime from this git repository (with its version).
    #[arg(long, value_name = "URL", group = "runtime")]
    runtime_git: Option<String>,
    /// Depend on the unifold runtime by version alone, from crates.io: for when it is
    /// published (the crate is then the same, byte for byte, wherever it is written).
    #[arg(long, group = "runtime")]
    runtime_from_registry: bool,
}

/// Where the generated crate's manifest takes the runtime from.
enum RuntimeSource {
    Registry,
    /// An absolute folder, written relative to the crate.
    Path(PathBuf),
    Git(String),
}

/// The runtime source the options ask for, or by default the checkout this binary was
/// built from; an error naming the options when there is none.
fn runtime_source(package: &PackageOptions) -> Result<RuntimeSource, String> {
    if package.runtime_from_registry {
        return Ok(RuntimeSource::Registry);
    }
    if let Some(url) = &package.runtime_git {
        return Ok(RuntimeSource::Git(url.clone()));
    }
    let Some(path) = &package.runtime_path else {
        return checkout::built_from()
            .map(|checkout| RuntimeSource::Path(checkout.join("runtime")))
            .ok_or_else(|| {
                format!(
                    "cannot find the unifold runtime (unifold-runtime is not on crates.io yet): \
                     the checkout this unifold was built from ({}) is gone. Pass --runtime-path \
                     PATH (the runtime/ folder of a unifold checkout) or --runtime-git URL \
                     (--runtime-from-registry once it is published)",
                    checkout::built_from_shown()
                )
            });
    };
    match std::fs::canonicalize(path) {
        Ok(dir) if dir.join("Cargo.toml").is_file() => Ok(RuntimeSource::Path(dir)),
        Ok(_) => Err(format!(
            "--runtime-path {}: no Cargo.toml there (pass the unifold runtime's folder, e.g. runtime/ in unifold's repository)",
            path.display()
        )),
        Err(error) => Err(format!("--runtime-path {}: {error}", path.display())),
    }
}

#[derive(Subcommand)]
enum ProviderCommand {
    /// Scaffold a provider from a vendor's OpenAPI 3.0/3.1 document (JSON or YAML):
    /// writes OUT/openapi.yaml with the chosen operations and the components they
    /// reference, and provider.yaml / sandbox.yaml skeletons where they do not exist.
    Import {
        /// The vendor's OpenAPI document.
        openapi_file: PathBuf,
        /// The operationIds to keep, separated by commas.
        #[arg(long, value_name = "ID,ID,...")]
        operations: String,
        /// The provider folder to write, e.g. providers/pipedrive (its name is the provider's).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { dir, models } => check(&dir, models),
        Command::Init {
            dir,
            name,
            providers,
            unifold_path,
            unifold_git,
        } => init::run(&init::InitOptions {
            dir,
            name,
            providers,
            unifold_path,
            unifold_git,
        }),
        Command::Generate {
            dir,
            models,
            out,
            package,
        } => generate(&dir, models, &out, &package),
        Command::Provider {
            command:
                ProviderCommand::Import {
                    openapi_file,
                    operations,
                    out,
                },
        } => import(&openapi_file, &operations, &out),
        Command::Logs {
            store,
            schema,
            connection,
            action,
            provider,
            since,
            failed,
            limit,
            requests,
            json,
        } => logs::run(logs::LogsCommand {
            store,
            schema,
            filter: unifold_runtime::logs::LogFilter {
                connection_id: connection,
                action,
                provider,
                since,
                failed,
                operation_id: None,
                limit: Some(limit),
            },
            json,
            requests,
        }),
        Command::Sandbox {
            provider,
            dir,
            port,
            token,
        } => match (provider, dir) {
            (_, Some(dir)) => sandbox_described(&dir, port, token),
            (Some(provider), None) => sandbox(&provider, port, token),
            // clap requires one of the two.
            (None, None) => ExitCode::FAILURE,
        },
    }
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// Reports each models or providers folder of `layout` that does not exist, by its
/// absolute path (instead of "no unified models found" in an empty project).
fn report_missing_folders(layout: &unifold_codegen::Layout) -> bool {
    let resolved = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let absolute = unifold_codegen::Layout {
        root: resolved(&layout.root),
        models_dir: resolved(&layout.models_dir),
        extra_models_dirs: layout
            .extra_models_dirs
            .iter()
            .map(|dir| resolved(dir))
            .collect(),
        providers_dir: resolved(&layout.providers_dir),
    };
    let missing = unifold_codegen::preflight::missing_folders(&absolute);
    for problem in &missing {
        eprintln!("error: {problem}");
    }
    !missing.is_empty()
}

fn check(dir: &Path, models: Vec<PathBuf>) -> ExitCode {
    let layout = unifold_codegen::Layout::conventional(dir).with_models_dirs(models);
    if report_missing_folders(&layout) {
        return ExitCode::FAILURE;
    }
    match unifold_codegen::check(&layout) {
        Ok(project) => {
            let mappings: usize = project.providers.iter().map(|(_, m)| m.len()).sum();
            let sandboxes = match unifold_codegen::sandbox_dirs(&layout).len() {
                0 => String::new(),
                1 => ", 1 sandbox".to_string(),
                n => format!(", {n} sandboxes"),
            };
            println!(
                "ok: {} models, {} providers, {} mappings{sandboxes}",
                project.models.models().count(),
                project.providers.len(),
                mappings
            );
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprint!("{}", problems.render_graphical(color()));
            ExitCode::FAILURE
        }
    }
}

/// The crate's docs, in markdown: the README (`rustdoc: false`) and the crate-level
/// `//!` docs of src/lib.rs (`rustdoc: true`, with intra-doc links).
#[derive(Template)]
#[template(path = "docs.md.txt", escape = "none")]
struct DocsTemplate<'a> {
    rustdoc: bool,
    name: &'a str,
    crate_ident: &'a str,
    version: &'a str,
    description: &'a str,
    license_text: &'a str,
    unifold_version: &'a str,
    actions: &'a [(String, String, Vec<String>)],
    /// `(name, description on one line)`.
    composites: &'a [(String, String)],
    first_provider: &'a str,
    /// An action at the crate root and the same in its provider's module, for the prose.
    root_example: &'a str,
    module_example: &'a str,
    example: &'a str,
}

/// The action the example calls: a Contact's create if the project has one, else the
/// first model's.
struct Example {
    provider: String,
    model: String,
    action: String,
    variable: String,
}

#[derive(Template)]
#[template(path = "example.rs.txt", escape = "none")]
struct ExampleTemplate<'a> {
    crate_ident: &'a str,
    example: &'a Option<Example>,
    first_provider: &'a str,
}

#[derive(Template)]
#[template(path = "Cargo.toml.txt", escape = "none")]
struct ManifestTemplate<'a> {
    unifold_version: &'a str,
    crate_ident: &'a str,
    rust_version: &'a str,
    name: &'a str,
    version: &'a str,
    /// TOML strings, quoted and escaped.
    description: String,
    license: String,
    repository: Option<String>,
    documentation: String,
    /// The inside of the runtime's inline table.
    runtime: String,
}

#[derive(Template)]
#[template(path = "lib.rs.txt", escape = "none")]
struct LibTemplate<'a> {
    unifold_version: &'a str,
    name: &'a str,
    /// The models' and providers' folders (or files), relative to the project.
    inputs: &'a [String],
    /// The crate docs, each line with its leading space (none for blank lines).
    doc_lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "mcp.rs.txt", escape = "none")]
struct McpBinTemplate<'a> {
    unifold_version: &'a str,
    name: &'a str,
    crate_ident: &'a str,
}

/// The rules crates.io applies to names, so the written Cargo.toml is publishable.
fn valid_crate_name(name: &str) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `MAJOR.MINOR.PATCH`, optionally followed by `-pre` and `+build` parts.
fn valid_version(version: &str) -> bool {
    let (core, rest) = match version.find(['-', '+']) {
        Some(at) => version.split_at(at),
        None => (version, ""),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        && rest.len() != 1
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

/// A TOML basic string holding `text`: a JSON string is one (TOML basic strings take
/// JSON's escapes).
fn toml_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// `to` relative to the folder `from`, both absolute, with `/` separators: what a
/// manifest's `path` holds. `None` when no relative path exists (another drive).
fn relative_path(from: &Path, to: &Path) -> Option<String> {
    use std::path::Component;
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    if from.first() != to.first() {
        return None;
    }
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    for component in &to[common..] {
        parts.push(component.as_os_str().to_str()?.to_string());
    }
    Some(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    })
}

/// `A`, `A and B`, `A, B and C`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn generate(dir: &Path, models: Vec<PathBuf>, out: &Path, package: &PackageOptions) -> ExitCode {
    let name = package.name.as_str();
    if !valid_crate_name(name) {
        return fail(format!(
            "`{name}` is not a valid crate name: use ASCII letters, digits, `-` and `_`, starting with a letter (at most 64)"
        ));
    }
    let version = package.version.as_str();
    if !valid_version(version) {
        return fail(format!(
            "`{version}` is not a version cargo accepts: use MAJOR.MINOR.PATCH, e.g. 0.1.0 or 1.0.0-beta.1"
        ));
    }
    if package.license.trim().is_empty() {
        return fail("--license needs an SPDX expression, e.g. `MIT OR Apache-2.0`");
    }
    let runtime_source = match runtime_source(package) {
        Ok(source) => source,
        Err(problem) => return fail(problem),
    };

    let layout = unifold_codegen::Layout::conventional(dir).with_models_dirs(models);
    if report_missing_folders(&layout) {
        return ExitCode::FAILURE;
    }
    let generated = match unifold_codegen::generate(&layout, "::unifold_runtime") {
        Ok(generated) => generated,
        Err((problems, _)) => {
            eprint!("{}", problems.render_graphical(color()));
            return ExitCode::FAILURE;
        }
    };
    let Some((first_provider, first_model, first_actions)) = generated.actions.first() else {
        return fail(format!(
            "{} has no actions: add a provider with mappings under providers/",
            dir.display()
        ));
    };

    let unifold_version = env!("CARGO_PKG_VERSION");
    let crate_ident = name.replace('-', "_");
    let display_names: Vec<&str> = generated
        .providers
        .iter()
        .map(|p| p.display_name.as_str())
        .collect();
    let description = package.description.clone().unwrap_or_else(|| {
        format!(
            "Typed actions on {}, generated by unifold",
            and_list(&display_names)
        )
    });
    let creates = |model: &str| format!("create_{}", unifold_codegen::snake(model));
    let example = generated
        .actions
        .iter()
        .find(|(_, model, names)| model == "Contact" && names.contains(&creates(model)))
        .or_else(|| {
            generated
                .actions
                .iter()
                .find(|(_, model, names)| names.contains(&creates(model)))
        })
        .map(|(provider, model, _)| Example {
            provider: provider.clone(),
            model: model.clone(),
            action: creates(model),
            variable: unifold_codegen::snake(model),
        });
    let (example_provider, root_example) = match &example {
        Some(example) => (example.provider.clone(), example.action.clone()),
        None => (
            first_provider.clone(),
            first_actions
                .first()
                .cloned()
                .unwrap_or_else(|| creates(first_model)),
        ),
    };
    let module_example = format!("{example_provider}::{root_example}");
    let composites: Vec<(String, String)> = generated
        .composites
        .iter()
        .map(|(name, about)| {
            let about = about
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            (name.clone(), about)
        })
        .collect();
    let example_code = match (ExampleTemplate {
        crate_ident: &crate_ident,
        example: &example,
        first_provider,
    })
    .render()
    {
        Ok(code) => code,
        Err(error) => return fail(format!("cannot render the example: {error}")),
    };
    let docs = |rustdoc: bool| {
        DocsTemplate {
            rustdoc,
            name,
            crate_ident: &crate_ident,
            version,
            description: &description,
            license_text: &format!("Licensed under {}.", package.license),
            unifold_version,
            actions: &generated.actions,
            composites: &composites,
            first_provider,
            root_example: &root_example,
            module_example: &module_example,
            example: &example_code,
        }
        .render()
    };
    let inputs: Vec<String> = layout
        .models_dirs()
        .chain([layout.providers_dir.as_path()])
        .map(|path| layout.display(path))
        .collect();
    let lib = docs(true).and_then(|docs| {
        LibTemplate {
            unifold_version,
            name,
            inputs: &inputs,
            doc_lines: docs
                .trim_end()
                .lines()
                .map(|line| match line {
                    "" => String::new(),
                    line => format!(" {line}"),
                })
                .collect(),
        }
        .render()
    });
    let readme = docs(false);
    let bin = McpBinTemplate {
        unifold_version,
        name,
        crate_ident: &crate_ident,
    }
    .render();

    // The manifest names the runtime relative to the crate, so the folder is created first.
    if let Err(error) = std::fs::create_dir_all(out) {
        return fail(format!("cannot create {}: {error}", out.display()));
    }
    let runtime = match runtime_source {
        RuntimeSource::Registry => format!("version = \"={unifold_version}\""),
        RuntimeSource::Git(url) => format!(
            "version = \"={unifold_version}\", git = {}",
            toml_string(&url)
        ),
        RuntimeSource::Path(runtime_dir) => {
            let path = std::fs::canonicalize(out)
                .ok()
                .and_then(|out| relative_path(&out, &runtime_dir))
                .unwrap_or_else(|| runtime_dir.display().to_string().replace('\\', "/"));
            format!(
                "version = \"={unifold_version}\", path = {}",
                toml_string(&path)
            )
        }
    };
    let manifest = ManifestTemplate {
        unifold_version,
        crate_ident: &crate_ident,
        rust_version: env!("CARGO_PKG_RUST_VERSION"),
        name,
        version,
        description: toml_string(&description),
        license: toml_string(&package.license),
        repository: package.repository.as_deref().map(toml_string),
        documentation: toml_string(
            &package
                .documentation
                .clone()
                .unwrap_or_else(|| format!("https://docs.rs/{name}")),
        ),
        runtime,
    }
    .render();

    let files = [
        ("Cargo.toml", manifest),
        ("README.md", readme),
        ("src/lib.rs", lib),
        ("src/actions.rs", Ok(generated.code)),
        ("src/bin/mcp.rs", bin),
    ];
    for (file, contents) in files {
        let path = out.join(file);
        let text = match contents {
            // Askama drops the templates' last newline.
            Ok(text) if text.ends_with('\n') => text,
            Ok(text) => text + "\n",
            Err(error) => return fail(format!("cannot render {file}: {error}")),
        };
        match unifold_codegen::write_if_changed(&path, text.as_bytes()) {
            Ok(true) => println!("wrote {}", path.display()),
            Ok(false) => println!("unchanged {}", path.display()),
            Err(error) => return fail(format!("cannot write {}: {error}", path.display())),
        }
    }
    let count: usize = generated.actions.iter().map(|(_, _, a)| a.len()).sum();
    println!(
        "crate `{name}` {version}: {count} provider actions on {}",
        and_list(&display_names)
    );
    ExitCode::SUCCESS
}

fn import(openapi_file: &Path, operations: &str, out: &Path) -> ExitCode {
    let name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let imported = match unifold_codegen::import::import(openapi_file, operations, &name) {
        Ok(imported) => imported,
        Err(problems) => {
            eprint!("{}", problems.render_graphical(color()));
            return ExitCode::FAILURE;
        }
    };
    let written = match imported.write_to(out) {
        Ok(written) => written,
        Err(error) => {
            eprintln!("error: cannot write {}: {error}", out.display());
            return ExitCode::FAILURE;
        }
    };
    println!(
        "imported {} operations and {} components from {}",
        imported.operations.len(),
        imported.components.len(),
        openapi_file.display()
    );
    for outcome in written {
        match outcome {
            unifold_codegen::import::Written::Wrote(path) => println!("wrote {}", path.display()),
            unifold_codegen::import::Written::Unchanged(path) => {
                println!("unchanged {}", path.display())
            }
            unifold_codegen::import::Written::Kept(path) => {
                println!(
                    "kept {} (it exists; the skeleton was not written)",
                    path.display()
                )
            }
        }
    }
    println!(
        "next: fill in provider.yaml, add mappings/<model>.yaml, then `unifold check <project>`"
    );
    ExitCode::SUCCESS
}

/// Runs a command's async part on a runtime of its own.
fn block_on(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(work),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

fn sandbox(provider: &str, port: u16, token: Option<String>) -> ExitCode {
    let Some(vendor) = unifold_sandbox::Vendor::from_name(provider) else {
        eprintln!(
            "error: unknown provider `{provider}`; sandboxes exist for hubspot, salesforce, attio (or describe one and pass --dir providers/{provider})"
        );
        return ExitCode::FAILURE;
    };
    let token = token.unwrap_or_else(random_token);
    block_on(async move {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match unifold_sandbox::Sandbox::start_on(vendor, addr, &token).await {
            Ok(sandbox) => {
                println!("{} sandbox listening on {}", vendor.name(), sandbox.url());
                println!("token: {token}");
                sandbox.wait().await;
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: cannot listen on {addr}: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

fn sandbox_described(dir: &Path, port: u16, token: Option<String>) -> ExitCode {
    // Checked first, so a broken description is reported like `unifold check`.
    let spec = match unifold_codegen::sandbox::load(dir) {
        Ok(spec) => spec,
        Err(problems) => {
            eprint!("{}", problems.render_graphical(color()));
            return ExitCode::FAILURE;
        }
    };
    let token = token.unwrap_or_else(random_token);
    block_on(async move {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match unifold_sandbox::Sandbox::start_described_on(dir, addr, &token).await {
            Ok(sandbox) => {
                println!(
                    "{} sandbox listening on {}{}",
                    sandbox.provider(),
                    sandbox.url(),
                    spec.base_path
                );
                for collection in &spec.collections {
                    for route in &collection.routes {
                        println!("  {} {} ({})", route.method, route.path, route.operation);
                    }
                }
                println!("token: {token}");
                sandbox.wait().await;
                ExitCode::SUCCESS
            }
            Err(unifold_sandbox::StartError::Description(problems)) => {
                eprint!("{}", problems.render_graphical(color()));
                ExitCode::FAILURE
            }
            Err(unifold_sandbox::StartError::Io(error)) => {
                eprintln!("error: cannot listen on {addr}: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::from("sandbox-");
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}
