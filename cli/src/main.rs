//! `unifold`: check mappings, generate a publishable crate, run a provider sandbox.

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
    /// Generate a crate with the typed actions of a project.
    Generate {
        /// The project folder.
        dir: PathBuf,
        /// Read the unified models from these folders or YAML files instead of DIR/unified-models.
        #[arg(long = "models", value_name = "PATH")]
        models: Vec<PathBuf>,
        /// Where to write the crate.
        #[arg(long)]
        out: PathBuf,
        /// The crate's name.
        #[arg(long)]
        name: String,
        /// The crate's version.
        #[arg(long, default_value = "0.1.0")]
        version: String,
        /// Depend on the unifold runtime by path instead of by version (local work).
        #[arg(long)]
        runtime_path: Option<PathBuf>,
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
        Command::Generate {
            dir,
            models,
            out,
            name,
            version,
            runtime_path,
        } => generate(&dir, models, &out, &name, &version, runtime_path.as_deref()),
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

fn check(dir: &Path, models: Vec<PathBuf>) -> ExitCode {
    let layout = unifold_codegen::Layout::conventional(dir).with_models_dirs(models);
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

#[derive(Template)]
#[template(path = "README.md.txt", escape = "none")]
struct ReadmeTemplate<'a> {
    name: &'a str,
    crate_ident: String,
    actions: &'a [(String, String, Vec<String>)],
    /// The first mapping, for the example: provider, model, snake_case model.
    example_provider: String,
    example_model: String,
    example_snake: String,
}

#[derive(Template)]
#[template(path = "Cargo.toml.txt", escape = "none")]
struct ManifestTemplate<'a> {
    name: &'a str,
    version: &'a str,
    runtime: String,
}

fn generate(
    dir: &Path,
    models: Vec<PathBuf>,
    out: &Path,
    name: &str,
    version: &str,
    runtime_path: Option<&Path>,
) -> ExitCode {
    // The rules crates.io applies, so the written Cargo.toml is valid and publishable.
    let valid_name = name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        eprintln!(
            "error: `{name}` is not a valid crate name: use ASCII letters, digits, `-` and `_`, starting with a letter (at most 64)"
        );
        return ExitCode::FAILURE;
    }
    let layout = unifold_codegen::Layout::conventional(dir).with_models_dirs(models);
    let generated = match unifold_codegen::generate(&layout, "::unifold_runtime") {
        Ok(generated) => generated,
        Err((problems, _)) => {
            eprint!("{}", problems.render_graphical(color()));
            return ExitCode::FAILURE;
        }
    };
    let runtime = match runtime_path {
        Some(path) => {
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            format!("{{ path = {:?} }}", absolute.display().to_string())
        }
        None => format!("\"={}\"", env!("CARGO_PKG_VERSION")),
    };
    let manifest = ManifestTemplate {
        name,
        version,
        runtime,
    };
    let (example_provider, example_model) = generated
        .actions
        .first()
        .map(|(provider, model, _)| (provider.clone(), model.clone()))
        .unwrap_or_default();
    let readme = ReadmeTemplate {
        name,
        crate_ident: name.replace('-', "_"),
        actions: &generated.actions,
        example_snake: unifold_codegen::snake(&example_model),
        example_provider,
        example_model,
    };
    let lib = format!(
        "//! Typed unified actions generated by unifold. See README.md.\n\n{}",
        generated.code
    );
    let files = [
        (out.join("Cargo.toml"), manifest.render()),
        (out.join("README.md"), readme.render()),
        (out.join("src/lib.rs"), Ok(lib)),
    ];
    for (path, contents) in files {
        let written = contents
            .map_err(|error| error.to_string())
            .and_then(|text| {
                unifold_codegen::write_if_changed(&path, text.as_bytes())
                    .map_err(|error| error.to_string())
            });
        if let Err(error) = written {
            eprintln!("error: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    println!("wrote crate `{name}` to {}", out.display());
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
