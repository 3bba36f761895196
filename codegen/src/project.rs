//! Loading a project folder: `unified-models/*.yaml` and `providers/<name>/` with
//! `provider.yaml`, its OpenAPI document and `mappings/*.yaml`.

use crate::diagnostics::{Diagnostic, Diagnostics, Sources};
use crate::mapping::{self, Mapping};
use crate::model::{self, ModelSet};
use crate::openapi::OpenApi;
use crate::provider::{self, Provider};
use crate::reader::Reader;
use crate::yaml::{self, Loc, Node};
use std::path::{Path, PathBuf};

/// A checked project, ready to emit.
#[derive(Clone, Debug)]
pub struct Project {
    pub models: ModelSet,
    pub providers: Vec<(Provider, Vec<Mapping>)>,
    pub composites: Vec<crate::composite::Composite>,
}

/// Where a project's inputs live.
#[derive(Clone, Debug)]
pub struct Layout {
    /// File names in messages are shown relative to this folder.
    pub root: PathBuf,
    pub models_dir: PathBuf,
    pub providers_dir: PathBuf,
}

impl Layout {
    /// The conventional layout: `root/unified-models` and `root/providers`.
    pub fn conventional(root: impl Into<PathBuf>) -> Layout {
        let root = root.into();
        Layout {
            models_dir: root.join("unified-models"),
            providers_dir: root.join("providers"),
            root,
        }
    }
}

/// The outcome of loading: every file read (even on failure, so build scripts can
/// watch them) and the project or every problem found.
pub struct Loaded {
    pub sources: Sources,
    pub result: Result<Project, Diagnostics>,
}

pub fn load(layout: &Layout) -> Loaded {
    let mut sources = Sources::default();
    let mut early: Vec<Diagnostic> = Vec::new();

    let mut model_docs = Vec::new();
    for path in yaml_files(&layout.models_dir) {
        if let Some(doc) = read_yaml(&path, layout, &mut sources, &mut early) {
            model_docs.push(doc);
        }
    }

    struct ProviderDocs {
        dir_name: String,
        definition: Node,
        openapi: Option<Node>,
        mappings: Vec<Node>,
    }
    let mut provider_docs = Vec::new();
    for dir in subdirectories(&layout.providers_dir) {
        let definition_path = dir.join("provider.yaml");
        if !definition_path.is_file() {
            continue;
        }
        let Some(definition) = read_yaml(&definition_path, layout, &mut sources, &mut early) else {
            continue;
        };
        let openapi_name = definition
            .get("openapi")
            .and_then(Node::as_str)
            .unwrap_or("openapi.yaml")
            .to_string();
        let openapi = read_yaml(&dir.join(&openapi_name), layout, &mut sources, &mut early);
        let mut mappings = Vec::new();
        for path in yaml_files(&dir.join("mappings")) {
            if let Some(doc) = read_yaml(&path, layout, &mut sources, &mut early) {
                mappings.push(doc);
            }
        }
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        provider_docs.push(ProviderDocs {
            dir_name,
            definition,
            openapi,
            mappings,
        });
    }

    let mut reader = Reader::new(&sources);
    reader.problems = early;
    let mut models = ModelSet::default();
    for doc in &model_docs {
        model::read(&mut reader, doc, &mut models);
    }
    model::check_references(&mut reader, &models);
    if models.models().next().is_none() && reader.problems.is_empty() {
        let shown = display_path(&layout.models_dir, layout);
        reader.problems.push(placeholder(
            &sources,
            &shown,
            "no unified models found: add `models:` to a YAML file in this folder",
        ));
    }

    let mut providers = Vec::new();
    for docs in provider_docs {
        let Some(openapi_root) = docs.openapi else {
            continue;
        };
        let openapi = OpenApi::read(&mut reader, openapi_root);
        let Some(provider) = provider::read(&mut reader, &docs.dir_name, &docs.definition, openapi)
        else {
            continue;
        };
        let mut mappings: Vec<Mapping> = Vec::new();
        for doc in &docs.mappings {
            if let Some(mapping) = mapping::read(&mut reader, doc, &models, &provider) {
                if mappings.iter().any(|m| m.model == mapping.model) {
                    reader.error(
                        doc,
                        format!(
                            "model `{}` is mapped twice for provider `{}`",
                            mapping.model, provider.name
                        ),
                    );
                    continue;
                }
                mappings.push(mapping);
            }
        }
        providers.push((provider, mappings));
    }
    if providers.is_empty() && reader.problems.is_empty() {
        let shown = display_path(&layout.providers_dir, layout);
        reader.problems.push(placeholder(
            &sources,
            &shown,
            "no providers found: add a folder with `provider.yaml` here",
        ));
    }

    let mut composites = Vec::new();
    for doc in &model_docs {
        composites.extend(crate::composite::read(
            &mut reader,
            doc,
            &models,
            &providers,
        ));
    }

    let mut problems = std::mem::take(&mut reader.problems);
    // A path checked against both the request and the response reports the same
    // problem twice; keep the first.
    let mut seen = std::collections::HashSet::new();
    problems.retain(|d| seen.insert((d.file.clone(), d.line, d.column)));
    let result = if problems.is_empty() {
        Ok(Project {
            models,
            providers,
            composites,
        })
    } else {
        Err(Diagnostics(problems))
    };
    Loaded { sources, result }
}

/// A diagnostic about a folder rather than a line in a file.
fn placeholder(_sources: &Sources, shown: &str, message: &str) -> Diagnostic {
    let mut scratch = Sources::default();
    let file = scratch.add(PathBuf::from(shown), shown.to_string(), String::new());
    Diagnostic::new(
        &scratch,
        Loc {
            file,
            line: 1,
            column: 1,
        },
        message,
    )
}

fn read_yaml(
    path: &Path,
    layout: &Layout,
    sources: &mut Sources,
    problems: &mut Vec<Diagnostic>,
) -> Option<Node> {
    let shown = display_path(path, layout);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let file = sources.add(path.to_path_buf(), shown, text);
            match yaml::parse(sources, file) {
                Ok(node) => Some(node),
                Err(diagnostic) => {
                    problems.push(*diagnostic);
                    None
                }
            }
        }
        Err(error) => {
            problems.push(placeholder(
                sources,
                &shown,
                &format!("cannot read this file: {error}"),
            ));
            None
        }
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.is_file()
                        && matches!(
                            path.extension().and_then(|e| e.to_str()),
                            Some("yaml" | "yml")
                        )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn display_path(path: &Path, layout: &Layout) -> String {
    path.strip_prefix(&layout.root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
