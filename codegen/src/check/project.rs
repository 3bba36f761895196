//! Loading a project folder: `unified-models/*.yaml` and `providers/<name>/` with
//! `provider.yaml`, its OpenAPI document and `mappings/*.yaml`.

use crate::check::{mapping, model, provider};
use crate::diagnostics::{Diagnostic, Diagnostics, Sources};
use crate::ir::{Mapping, ModelSet, Project};
use crate::parse::openapi::OpenApi;
use crate::parse::reader::Reader;
use crate::parse::yaml::{self, Loc, Node};
use std::path::{Path, PathBuf};

/// Where a project's inputs live.
#[derive(Clone, Debug)]
pub struct Layout {
    /// File names in messages are shown relative to this folder.
    pub root: PathBuf,
    pub models_dir: PathBuf,
    /// More folders of unified models, read after `models_dir` into the same model
    /// set: a project that maps models kept elsewhere (the shipped CRM models) or
    /// shares them between projects. Like `models_dir`, each may also be one YAML file,
    /// to take some models of a folder and not others.
    pub extra_models_dirs: Vec<PathBuf>,
    pub providers_dir: PathBuf,
}

impl Layout {
    /// The conventional layout: `root/unified-models` and `root/providers`.
    pub fn conventional(root: impl Into<PathBuf>) -> Layout {
        let root = root.into();
        Layout {
            models_dir: root.join("unified-models"),
            extra_models_dirs: Vec::new(),
            providers_dir: root.join("providers"),
            root,
        }
    }

    /// Reads the unified models from `dirs` (folders or single YAML files, in order)
    /// instead of `root/unified-models`. An empty list keeps the conventional folder.
    pub fn with_models_dirs(mut self, dirs: impl IntoIterator<Item = PathBuf>) -> Layout {
        let mut dirs = dirs.into_iter();
        if let Some(first) = dirs.next() {
            self.models_dir = first;
            self.extra_models_dirs = dirs.collect();
        }
        self
    }

    /// Every folder unified models are read from, in order.
    pub fn models_dirs(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.models_dir.as_path())
            .chain(self.extra_models_dirs.iter().map(PathBuf::as_path))
    }

    /// How messages and generated headers name `path`: relative to the root, with
    /// `..` for files outside it (models shared from another folder), never absolute
    /// when a relative name exists, so generated code is the same on every machine.
    pub fn display(&self, path: &Path) -> String {
        display_path(path, self)
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
    for dir in layout.models_dirs() {
        let files = if dir.is_file() {
            vec![dir.to_path_buf()]
        } else {
            yaml_files(dir)
        };
        for path in files {
            if let Some(doc) = read_yaml(&path, layout, &mut sources, &mut early) {
                model_docs.push(doc);
            }
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
        composites.extend(crate::check::composite::read(
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

pub(crate) fn subdirectories(dir: &Path) -> Vec<PathBuf> {
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
    let shown = match path.strip_prefix(&layout.root) {
        Ok(inside) => inside.to_path_buf(),
        Err(_) => relative_to(path, &layout.root).unwrap_or_else(|| path.to_path_buf()),
    };
    shown.to_string_lossy().replace('\\', "/")
}

/// `path` relative to `base` through `..` steps, when both are absolute or both are
/// relative (lexically: symbolic links are not followed).
fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    use std::path::Component;
    if path.is_absolute() != base.is_absolute() {
        return None;
    }
    fn clean(p: &Path) -> Vec<Component<'_>> {
        let mut out: Vec<Component<'_>> = Vec::new();
        for component in p.components() {
            match component {
                Component::CurDir => {}
                Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    }
    let (path, base) = (clean(path), clean(base));
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if base[common..]
        .iter()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for component in &path[common..] {
        out.push(component.as_os_str());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_outside_the_root_are_named_relative_to_it() {
        let layout = Layout::conventional("/work/repo/examples/pipedrive");
        assert_eq!(
            layout.display(Path::new("/work/repo/unified-models/contact.yaml")),
            "../../unified-models/contact.yaml"
        );
        assert_eq!(
            layout.display(Path::new(
                "/work/repo/examples/pipedrive/providers/x/provider.yaml"
            )),
            "providers/x/provider.yaml"
        );
        let layout = Layout::conventional("examples/pipedrive/../pipedrive");
        assert_eq!(
            layout.display(Path::new("unified-models/contact.yaml")),
            "../../unified-models/contact.yaml"
        );
    }
}
