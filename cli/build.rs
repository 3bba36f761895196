//! Embeds the shipped unified models and provider definitions (`../unified-models`,
//! `../providers/<name>/`) in the binary, for `unifold init`: an installed `unifold`
//! writes the YAML its own generator was built and tested with, wherever it runs,
//! whether or not the checkout is still there.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let checkout = manifest_dir.join("..");
    let mut files = Vec::new();
    yaml_files(&checkout, Path::new("unified-models"), &mut files);
    let providers = checkout.join("providers");
    println!("cargo:rerun-if-changed={}", providers.display());
    for entry in std::fs::read_dir(&providers)
        .into_iter()
        .flatten()
        .flatten()
    {
        // Provider folders hold a provider.yaml; the crate's own src/ does not.
        if entry.path().join("provider.yaml").is_file() {
            let relative = Path::new("providers").join(entry.file_name());
            yaml_files(&checkout, &relative, &mut files);
        }
    }
    files.sort();

    let mut code = String::from(
        "/// The shipped YAML: (path relative to a project, contents), sorted by path.\n\
         pub const SHIPPED: &[(&str, &str)] = &[\n",
    );
    for relative in &files {
        let absolute = checkout.join(relative);
        let shown = relative.to_string_lossy().replace('\\', "/");
        code.push_str(&format!(
            "    ({shown:?}, include_str!({:?})),\n",
            absolute.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("shipped.rs");
    if let Err(error) = std::fs::write(&out, code) {
        eprintln!("cannot write {}: {error}", out.display());
        std::process::exit(1);
    }
}

/// The YAML files under `checkout/relative`, recursively, as paths relative to `checkout`.
fn yaml_files(checkout: &Path, relative: &Path, out: &mut Vec<PathBuf>) {
    let dir = checkout.join(relative);
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = relative.join(entry.file_name());
        if entry.path().is_dir() {
            yaml_files(checkout, &path, out);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            println!("cargo:rerun-if-changed={}", entry.path().display());
            out.push(path);
        }
    }
}
