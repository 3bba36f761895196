//! The generated code for the shipped YAML is checked in (`tests/golden/crm.rs`) and
//! compared byte for byte; run with `UNIFOLD_BLESS=1` to regenerate after an intended
//! change. `tests/golden_compiles.rs` builds the checked-in file, so a golden that does
//! not compile fails the suite.

use std::path::Path;

#[test]
fn generated_code_matches_the_golden_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = match unifold_codegen::generate(
        &unifold_codegen::Layout::conventional(root),
        "::unifold",
    ) {
        Ok(generated) => generated.code,
        Err((problems, _)) => panic!("{problems}"),
    };
    let golden = root.join("tests/golden/crm.rs");
    if std::env::var_os("UNIFOLD_BLESS").is_some() {
        std::fs::write(&golden, &generated).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    if expected != generated {
        let first_difference = expected
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map(|line| line + 1)
            .unwrap_or_else(|| expected.lines().count().min(generated.lines().count()) + 1);
        panic!(
            "tests/golden/crm.rs is out of date (first difference at line {first_difference}); \
             rerun with UNIFOLD_BLESS=1 cargo test --test golden if the change is intended"
        );
    }
}

/// The test-only constructs fixture (`split`, `when`) has a golden file too.
#[test]
fn constructs_fixture_matches_its_golden_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layout = unifold_codegen::Layout::conventional(root.join("tests/fixtures/constructs"));
    let generated = match unifold_codegen::generate(&layout, "::unifold") {
        Ok(generated) => generated.code,
        Err((problems, _)) => panic!("{problems}"),
    };
    let golden = root.join("tests/golden/constructs.rs");
    if std::env::var_os("UNIFOLD_BLESS").is_some() {
        std::fs::write(&golden, &generated).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        expected == generated,
        "tests/golden/constructs.rs is out of date; rerun with UNIFOLD_BLESS=1 cargo test --test golden"
    );
}

#[test]
fn generation_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let layout = unifold_codegen::Layout::conventional(root);
    let first = unifold_codegen::generate(&layout, "::unifold")
        .map_err(|(p, _)| p.to_string())
        .unwrap();
    let second = unifold_codegen::generate(&layout, "::unifold")
        .map_err(|(p, _)| p.to_string())
        .unwrap();
    assert_eq!(first.code, second.code);
}
