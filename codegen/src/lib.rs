//! # unifold-codegen
//!
//! The one core behind every unifold front end (build script, proc-macro, CLI):
//! **parse** YAML with spans → **check** every reference against the unified models and
//! each provider's OpenAPI document → **IR** ([`Project`]) → **emit** Rust with
//! syn/quote, formatted by prettyplease.
//!
//! In `build.rs`, for a crate whose folder holds `unified-models/` and `providers/`:
//!
//! ```no_run
//! unifold_codegen::Builder::new(".").run();
//! ```

mod builder;
mod check;
mod diagnostics;
mod emit;
pub mod import;
mod ir;
mod naming;
mod parse;
pub mod preflight;
pub mod sandbox;

pub use builder::{Builder, write_if_changed};
pub use check::project::{Layout, Loaded, load};
pub use diagnostics::{Diagnostic, Diagnostics, Sources};
pub use ir::Project;
pub use naming::snake;

use std::path::{Path, PathBuf};

/// The result of a generation run: the Rust source, and every file that was read.
#[derive(Debug, Clone)]
pub struct Generated {
    pub code: String,
    pub inputs: Vec<PathBuf>,
    /// `(provider, model, [actions])`, for READMEs and listings.
    pub actions: Vec<(String, String, Vec<String>)>,
    /// The providers, in the order of `actions`.
    pub providers: Vec<ProviderSummary>,
    /// The composite actions (unified only: `(name, description)`).
    pub composites: Vec<(String, Option<String>)>,
}

/// A provider of a generated project, for READMEs and crate docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSummary {
    /// The module name (`hubspot`).
    pub name: String,
    /// `display_name` in `provider.yaml` (`HubSpot`).
    pub display_name: String,
    /// `description` in `provider.yaml`.
    pub description: Option<String>,
}

/// Checks a project without emitting code (`unifold check`): the models, every
/// provider and mapping, and each provider's sandbox description (`sandbox.yaml`).
pub fn check(layout: &Layout) -> Result<Project, Diagnostics> {
    let loaded = load(layout);
    let mut sources = Sources::default();
    let mut problems = Vec::new();
    for dir in check::project::subdirectories(&layout.providers_dir) {
        if sandbox::exists(&dir) {
            sandbox::load_into(
                &dir,
                &|path| layout.display(path),
                &mut sources,
                &mut problems,
            );
        }
    }
    match loaded.result {
        Ok(project) if problems.is_empty() => Ok(project),
        Ok(_) => Err(Diagnostics(problems)),
        Err(mut found) => {
            found.0.extend(problems);
            Err(found)
        }
    }
}

/// The provider folders of a project that describe a sandbox (`sandbox.yaml`).
pub fn sandbox_dirs(layout: &Layout) -> Vec<PathBuf> {
    check::project::subdirectories(&layout.providers_dir)
        .into_iter()
        .filter(|dir| sandbox::exists(dir))
        .collect()
}

/// Loads, checks and emits. On failure the error carries every problem found and the
/// files read so far (so build scripts can still watch them).
pub fn generate(
    layout: &Layout,
    runtime_path: &str,
) -> Result<Generated, (Diagnostics, Vec<PathBuf>)> {
    let loaded = load(layout);
    let inputs: Vec<PathBuf> = loaded.sources.paths().map(Path::to_path_buf).collect();
    let project = loaded
        .result
        .map_err(|problems| (problems, inputs.clone()))?;
    if syn::parse_str::<syn::Path>(runtime_path).is_err() {
        let mut sources = Sources::default();
        let file = sources.add(
            PathBuf::from("(settings)"),
            "(settings)".into(),
            String::new(),
        );
        let diagnostic = Diagnostic::new(
            &sources,
            diagnostics::Loc {
                file,
                line: 1,
                column: 1,
            },
            format!("`{runtime_path}` is not a Rust path for the runtime crate"),
        )
        .with_help("use `::unifold` or `::unifold_runtime`");
        return Err((Diagnostics(vec![diagnostic]), inputs));
    }
    let shown: Vec<String> = inputs.iter().map(|path| layout.display(path)).collect();
    let code = emit::emit(&project, runtime_path, &shown);
    let actions = project
        .providers
        .iter()
        .flat_map(|(provider, mappings)| {
            mappings.iter().map(|mapping| {
                let names = mapping.actions().into_iter().map(|action| action.name);
                (
                    provider.name.clone(),
                    mapping.model.clone(),
                    names.collect(),
                )
            })
        })
        .collect();
    let providers = project
        .providers
        .iter()
        .map(|(provider, _)| ProviderSummary {
            name: provider.name.clone(),
            display_name: provider.display_name.clone(),
            description: provider.description.clone(),
        })
        .collect();
    let composites = project
        .composites
        .iter()
        .map(|composite| (composite.name.clone(), composite.description.clone()))
        .collect();
    Ok(Generated {
        code,
        inputs,
        actions,
        providers,
        composites,
    })
}
