//! The build-script front end, in the style of prost-build's `Config`.

use crate::diagnostics::{Diagnostic, Diagnostics, Loc, Sources};
use crate::{Generated, Layout, generate, preflight};
use std::path::{Path, PathBuf};

/// The build-script front end, in the style of prost-build's `Config`.
#[derive(Debug, Clone)]
pub struct Builder {
    layout: Layout,
    runtime_path: String,
    out_file: String,
}

impl Builder {
    /// A builder for the conventional layout under `root` (`unified-models/`,
    /// `providers/`), relative to the crate being built.
    pub fn new(root: impl AsRef<Path>) -> Builder {
        let root = root.as_ref();
        let root = match std::env::var_os("CARGO_MANIFEST_DIR") {
            Some(dir) if root.is_relative() => PathBuf::from(dir).join(root),
            _ => root.to_path_buf(),
        };
        Builder {
            layout: Layout::conventional(root),
            runtime_path: "::unifold".to_string(),
            out_file: "unifold_actions.rs".to_string(),
        }
    }

    pub fn models_dir(mut self, dir: impl AsRef<Path>) -> Builder {
        self.layout.models_dir = self.layout.root.join(dir);
        self
    }

    /// Reads unified models from `dir` too (relative to the root), after the others:
    /// e.g. the shipped CRM models beside a team's own.
    pub fn add_models_dir(mut self, dir: impl AsRef<Path>) -> Builder {
        let dir = self.layout.root.join(dir);
        self.layout.extra_models_dirs.push(dir);
        self
    }

    pub fn providers_dir(mut self, dir: impl AsRef<Path>) -> Builder {
        self.layout.providers_dir = self.layout.root.join(dir);
        self
    }

    /// How generated code names the runtime: `::unifold` (default, the facade) or
    /// `::unifold_runtime` for crates that depend on the runtime alone.
    pub fn runtime_path(mut self, path: impl Into<String>) -> Builder {
        self.runtime_path = path.into();
        self
    }

    /// The file name written in `OUT_DIR` (default `unifold_actions.rs`).
    pub fn out_file(mut self, name: impl Into<String>) -> Builder {
        self.out_file = name.into();
        self
    }

    /// Generates into `out_dir`, rewriting the file only when its bytes change (so
    /// cargo's timestamps stay stable), and returns the written path.
    pub fn generate_into(
        &self,
        out_dir: &Path,
    ) -> Result<(PathBuf, Generated), (Diagnostics, Vec<PathBuf>)> {
        let generated = generate(&self.layout, &self.runtime_path)?;
        let target = out_dir.join(&self.out_file);
        write_if_changed(&target, generated.code.as_bytes()).map_err(|error| {
            let mut sources = Sources::default();
            let shown = target.display().to_string();
            let file = sources.add(target.clone(), shown, String::new());
            let diagnostic = Diagnostic::new(
                &sources,
                Loc {
                    file,
                    line: 1,
                    column: 1,
                },
                format!("cannot write generated code: {error}"),
            );
            (Diagnostics(vec![diagnostic]), generated.inputs.clone())
        })?;
        Ok((target, generated))
    }

    /// Set-up mistakes found before reading any YAML, each a whole message: a folder
    /// that does not exist (named as resolved against `CARGO_MANIFEST_DIR`), and a
    /// runtime path naming a crate that the crate being built does not depend on.
    pub fn preflight(&self) -> Vec<String> {
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let mut mistakes: Vec<String> = preflight::missing_folders(&self.layout)
            .into_iter()
            .map(|missing| match &manifest_dir {
                Some(dir) => format!(
                    "{missing} (Builder's folders are relative to the crate's folder, CARGO_MANIFEST_DIR = `{}`)",
                    dir.display()
                ),
                None => missing,
            })
            .collect();
        if let Some(dir) = &manifest_dir {
            mistakes.extend(preflight::undeclared_runtime(
                &self.runtime_path,
                &dir.join("Cargo.toml"),
            ));
        }
        mistakes
    }

    /// For build.rs: generates into `OUT_DIR`, prints `cargo:rerun-if-changed` for
    /// exactly the files read (and the folders, so new files are noticed), and on
    /// problems prints every diagnostic and exits with status 1.
    pub fn run(&self) {
        let Some(out_dir) = std::env::var_os("OUT_DIR") else {
            eprintln!(
                "unifold-codegen: OUT_DIR is not set; Builder::run is meant for build.rs (use generate_into elsewhere)"
            );
            std::process::exit(1);
        };
        for dir in self.layout.models_dirs() {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
        println!(
            "cargo:rerun-if-changed={}",
            self.layout.providers_dir.display()
        );
        for dir in std::fs::read_dir(&self.layout.providers_dir)
            .into_iter()
            .flatten()
            .flatten()
        {
            let mappings = dir.path().join("mappings");
            if mappings.is_dir() {
                println!("cargo:rerun-if-changed={}", mappings.display());
            }
        }
        let mistakes = self.preflight();
        if !mistakes.is_empty() {
            for mistake in &mistakes {
                eprintln!("error: {mistake}");
            }
            std::process::exit(1);
        }
        match self.generate_into(Path::new(&out_dir)) {
            Ok((_, generated)) => {
                for input in &generated.inputs {
                    println!("cargo:rerun-if-changed={}", input.display());
                }
            }
            Err((problems, inputs)) => {
                for input in &inputs {
                    println!("cargo:rerun-if-changed={}", input.display());
                }
                eprintln!("{problems}");
                std::process::exit(1);
            }
        }
    }
}

/// Writes `bytes` to `path` unless the file already holds exactly them.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes)?;
    Ok(true)
}
