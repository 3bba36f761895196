//! Where a user's crate gets unifold's crates from while they are not on a registry:
//! a unifold checkout on this machine (by path) or its git repository.

use std::path::{Path, PathBuf};

/// The checkout this binary was built from: `cli/`'s parent. `cargo install --path
/// cli` and `cargo run -p unifold-cli` both build from one.
const BUILT_FROM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The crates a project depends on, relative to a checkout.
const CRATES: [&str; 3] = ["", "runtime", "sandbox"];

/// `dir` made absolute, if it holds unifold's facade, runtime and sandbox crates; else
/// what is missing there.
pub fn checkout_at(dir: &Path) -> Result<PathBuf, String> {
    let dir = std::fs::canonicalize(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    match CRATES
        .iter()
        .map(|name| dir.join(name).join("Cargo.toml"))
        .find(|manifest| !manifest.is_file())
    {
        None => Ok(dir),
        Some(missing) => Err(format!(
            "{} is not a unifold checkout: {} does not exist",
            dir.display(),
            missing.display()
        )),
    }
}

/// The checkout this binary was built from, if it is still there.
pub fn built_from() -> Option<PathBuf> {
    checkout_at(Path::new(BUILT_FROM)).ok()
}

/// The folder this binary was built from, as it is named in messages.
pub fn built_from_shown() -> String {
    let path = Path::new(BUILT_FROM);
    path.parent()
        .and_then(Path::parent)
        .map(|parent| parent.display().to_string())
        .unwrap_or_else(|| path.display().to_string())
}
