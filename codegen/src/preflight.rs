//! Checks made before a project is read, so the two commonest set-up mistakes in a
//! user's crate are one clear message each instead of a puzzle: a folder that is not
//! where the build script or macro looked (named by the path it resolved to), and a
//! runtime path naming a crate the building crate does not depend on (which would
//! otherwise be one compile error per generated item, hundreds of them).

use crate::check::project::Layout;
use std::path::{Component, Path, PathBuf};

/// One message per models or providers folder of `layout` that does not exist, each
/// naming the folder as resolved (absolute when the layout is, `..` steps removed).
pub fn missing_folders(layout: &Layout) -> Vec<String> {
    let models = layout.models_dirs().filter(|dir| !dir.exists()).map(|dir| {
        format!(
            "no unified models at `{}`: that folder (or YAML file) does not exist",
            lexical(dir).display()
        )
    });
    let providers = (!layout.providers_dir.is_dir()).then(|| {
        format!(
            "no providers folder at `{}`: that folder does not exist",
            lexical(&layout.providers_dir).display()
        )
    });
    models.chain(providers).collect()
}

/// `path` with `.` and `name/..` steps removed, without touching the file system (the
/// folder may not exist, so it cannot be canonicalized).
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// When `runtime_path` names an extern crate (`::unifold_runtime::…`) that the
/// manifest at `manifest_path` does not declare in any `[dependencies]` table, the
/// message saying so and what to change. `None` when the crate is declared, the path
/// is not an extern-crate path (`crate::rt`), or the manifest cannot be read.
pub fn undeclared_runtime(runtime_path: &str, manifest_path: &Path) -> Option<String> {
    let crate_name = runtime_path
        .trim()
        .strip_prefix("::")?
        .split("::")
        .next()?
        .trim();
    if crate_name.is_empty() || ["std", "core", "alloc"].contains(&crate_name) {
        return None;
    }
    let manifest = std::fs::read_to_string(manifest_path).ok()?;
    let declared = dependency_keys(&manifest);
    if declared
        .iter()
        .any(|key| key.replace('-', "_") == crate_name)
    {
        return None;
    }
    let package = crate_name.replace('_', "-");
    let fix = if crate_name == "unifold" {
        "add `unifold` to [dependencies]".to_string()
    } else {
        format!(
            "add `{package}` to [dependencies], or depend on `unifold` and leave out \
             `.runtime_path(\"{runtime_path}\")` (the default, `::unifold`, names the facade crate)"
        )
    };
    Some(format!(
        "the generated code names its runtime `{runtime_path}`, but `{}` declares no dependency \
         `{package}`: {fix}",
        manifest_path.display()
    ))
}

/// The keys of every dependency table of a Cargo manifest (`[dependencies]`,
/// `[target.'cfg(…)'.dependencies]`, `[dependencies.NAME]`): what `::NAME` paths
/// resolve to. A line scan, not a TOML parser: a key is what starts a line inside such
/// a table, up to `=` or `.` (`unifold-runtime.workspace = true`).
fn dependency_keys(manifest: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            let header = header.split(']').next().unwrap_or("").trim();
            in_dependencies = header == "dependencies" || header.ends_with(".dependencies");
            if let Some(name) = header.strip_prefix("dependencies.") {
                keys.push(name.trim().trim_matches('"').to_string());
            }
            continue;
        }
        if !in_dependencies || line.starts_with('#') {
            continue;
        }
        if let Some(end) = line.find(['=', '.']) {
            let key = line[..end].trim().trim_matches(['"', '\'']);
            if !key.is_empty() {
                keys.push(key.to_string());
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_keys_of_every_form() {
        let manifest = r#"
[package]
name = "crm"
[dependencies]
unifold = { path = "../unifold", default-features = false }
unifold-runtime.workspace = true
"quoted" = "1"
# commented = "1"
[dev-dependencies]
dev-only = "1"
[target.'cfg(unix)'.dependencies]
unix-only = "1"
[dependencies.tabled]
version = "1"
"#;
        assert_eq!(
            dependency_keys(manifest),
            [
                "unifold",
                "unifold-runtime",
                "quoted",
                "unix-only",
                "tabled"
            ]
        );
    }

    #[test]
    fn an_undeclared_runtime_crate_is_named_with_the_fix() {
        let dir = std::env::temp_dir().join(format!("unifold-preflight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("Cargo.toml");
        std::fs::write(&manifest, "[dependencies]\nunifold = \"0.1\"\n").unwrap();
        let message = undeclared_runtime("::unifold_runtime", &manifest).unwrap();
        assert_eq!(
            message,
            format!(
                "the generated code names its runtime `::unifold_runtime`, but `{}` declares no \
                 dependency `unifold-runtime`: add `unifold-runtime` to [dependencies], or depend \
                 on `unifold` and leave out `.runtime_path(\"::unifold_runtime\")` (the default, \
                 `::unifold`, names the facade crate)",
                manifest.display()
            )
        );
        assert_eq!(undeclared_runtime("::unifold", &manifest), None);
        assert_eq!(undeclared_runtime("crate::runtime", &manifest), None);
        assert_eq!(
            undeclared_runtime("::unifold", &dir.join("missing.toml")),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_folders_are_named_as_resolved() {
        let layout = Layout::conventional("/nowhere/crate/../project");
        assert_eq!(
            missing_folders(&layout),
            [
                "no unified models at `/nowhere/project/unified-models`: that folder (or YAML file) does not exist",
                "no providers folder at `/nowhere/project/providers`: that folder does not exist",
            ]
        );
    }
}
