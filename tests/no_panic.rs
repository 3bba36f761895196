//! The codegen core never panics, whatever is in the YAML: arbitrary text and random
//! edits of the shipped files go through the whole check and always end in `Ok` or
//! in diagnostics.

use proptest::prelude::*;
use std::path::Path;

const FILES: &[&str] = &[
    "providers/hubspot/mappings/contact.yaml",
    "providers/attio/mappings/contact.yaml",
    "providers/salesforce/openapi.yaml",
    "providers/attio/provider.yaml",
    "unified-models/contact.yaml",
    "unified-models/common.yaml",
];

fn project_with(file: &str, text: &str) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for relative in FILES.iter().chain(&[
        "unified-models/company.yaml",
        "providers/hubspot/provider.yaml",
        "providers/hubspot/openapi.yaml",
        "providers/salesforce/provider.yaml",
        "providers/salesforce/mappings/contact.yaml",
        "providers/attio/openapi.yaml",
    ]) {
        let target = dir.path().join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(root.join(relative), &target).unwrap();
    }
    std::fs::write(dir.path().join(file), text).unwrap();
    dir
}

fn run(file: &str, text: &str) {
    let dir = project_with(file, text);
    let layout = unifold_codegen::Layout::conventional(dir.path());
    if let Err((problems, _)) = unifold_codegen::generate(&layout, "::unifold") {
        // Rendering must not panic either.
        let _ = problems.to_string();
        let _ = problems.render_graphical(false);
        assert!(!problems.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(file in proptest::sample::select(FILES), text in "[ -~\n\tä→]{0,300}") {
        run(file, &text);
    }

    #[test]
    fn edited_real_files(file in proptest::sample::select(FILES), at in 0usize..4000, cut in 0usize..40, insert in "[ -~\n]{0,12}") {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let original = std::fs::read_to_string(root.join(file)).unwrap();
        let mut start = at.min(original.len());
        while !original.is_char_boundary(start) { start -= 1; }
        let mut end = (start + cut).min(original.len());
        while !original.is_char_boundary(end) { end -= 1; }
        let edited = format!("{}{}{}", &original[..start], insert, &original[end..]);
        run(file, &edited);
    }
}

/// The import and the sandbox description reader, on edited copies of the Pipedrive
/// example's vendor document and sandbox description: `Ok` or diagnostics, never a panic.
fn import_and_describe(vendor: &str, description: &str) {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("vendor.yaml");
    std::fs::write(&source, vendor).unwrap();
    let out = dir.path().join("pipedrive");
    match unifold_codegen::import::import(&source, "getPersons,addPerson,getPerson", "pipedrive") {
        Ok(imported) => {
            imported.write_to(&out).unwrap();
        }
        Err(problems) => {
            let _ = problems.render_graphical(false);
            assert!(!problems.is_empty());
            return;
        }
    }
    std::fs::write(out.join("sandbox.yaml"), description).unwrap();
    if let Err(problems) = unifold_codegen::sandbox::load(&out) {
        let _ = problems.to_string();
        assert!(!problems.is_empty());
    }
}

fn edit(original: &str, at: usize, cut: usize, insert: &str) -> String {
    let mut start = at.min(original.len());
    while !original.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + cut).min(original.len());
    while !original.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}{}", &original[..start], insert, &original[end..])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn edited_vendor_documents_and_sandbox_descriptions(
        vendor_at in 0usize..16000,
        description_at in 0usize..3500,
        cut in 0usize..40,
        insert in "[ -~\n]{0,12}",
    ) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipedrive");
        let vendor = std::fs::read_to_string(root.join("vendor/pipedrive-v1-openapi.yaml")).unwrap();
        let description = std::fs::read_to_string(root.join("providers/pipedrive/sandbox.yaml")).unwrap();
        import_and_describe(&edit(&vendor, vendor_at, cut, &insert), &description);
        import_and_describe(&vendor, &edit(&description, description_at, cut, &insert));
    }
}
