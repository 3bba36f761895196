//! Every class of mapping mistake gives an error at the right file, line and column,
//! with a hint. Each case copies the shipped project, breaks one thing, and checks.

use std::path::{Path, PathBuf};
use unifold_codegen::{Layout, check};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() != "src" {
                copy_dir(&entry.path(), &target);
            }
        } else if entry.path().extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The shipped project with `find` replaced by `replace` in one file.
fn broken(file: &str, find: &str, replace: &str) -> (tempfile::TempDir, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &root.join("unified-models"),
        &dir.path().join("unified-models"),
    );
    copy_dir(&root.join("providers"), &dir.path().join("providers"));
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(find), "{file} does not contain {find:?}");
    std::fs::write(&path, text.replacen(find, replace, 1)).unwrap();
    let root = dir.path().to_path_buf();
    (dir, root)
}

/// The 1-based line of the first line containing `needle` in `file` under `root`.
fn line_of(root: &Path, file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    text.lines()
        .position(|line| line.contains(needle))
        .expect("needle present")
        + 1
}

fn problems(root: &Path) -> Vec<unifold_codegen::Diagnostic> {
    match check(&Layout::conventional(root)) {
        Ok(_) => panic!("expected the broken project to fail"),
        Err(problems) => problems.0,
    }
}

#[test]
fn the_shipped_project_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Err(problems) = check(&Layout::conventional(root)) {
        panic!("{problems}");
    }
}

#[test]
fn unknown_unified_field() {
    let (_dir, root) = broken(
        "providers/salesforce/mappings/contact.yaml",
        "  first_name: FirstName",
        "  frist_name: FirstName",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    let problem = &found[0];
    let line = line_of(
        &root,
        "providers/salesforce/mappings/contact.yaml",
        "frist_name",
    );
    assert_eq!(
        problem.location(),
        format!("providers/salesforce/mappings/contact.yaml:{line}:3")
    );
    assert_eq!(problem.message, "unknown unified field `frist_name`");
    assert_eq!(problem.help.as_deref(), Some("did you mean `first_name`?"));
    assert_eq!(
        problem.render_plain(),
        format!(
            "error: unknown unified field `frist_name`\n   --> providers/salesforce/mappings/contact.yaml:{line}:3\n   |\n{line} |   frist_name: FirstName\n   |   ^^^^^^^^^^ `Contact` has no field `frist_name`\n   |\n   = help: did you mean `first_name`?\n"
        )
    );
}

#[test]
fn unknown_provider_field() {
    let (_dir, root) = broken(
        "providers/hubspot/mappings/contact.yaml",
        "properties.firstname",
        "properties.fristname",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    let line = line_of(
        &root,
        "providers/hubspot/mappings/contact.yaml",
        "fristname",
    );
    assert_eq!(
        found[0].location(),
        format!("providers/hubspot/mappings/contact.yaml:{line}:15")
    );
    assert_eq!(
        found[0].message,
        "unknown provider field `fristname` under `properties` for `first_name`"
    );
    assert_eq!(
        found[0].help.as_deref(),
        Some("did you mean `properties.firstname`?")
    );
    assert!(
        found[0]
            .render_plain()
            .contains("^^^^^^^^^^^^^^^^^^^^ not in the request body of `createContact`")
    );
}

#[test]
fn unknown_operation() {
    let (_dir, root) = broken(
        "providers/attio/mappings/contact.yaml",
        "operation: getPerson",
        "operation: getPersn",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    let line = line_of(&root, "providers/attio/mappings/contact.yaml", "getPersn");
    assert_eq!(
        found[0].location(),
        format!("providers/attio/mappings/contact.yaml:{line}:16")
    );
    assert_eq!(found[0].message, "unknown operation `getPersn`");
    assert_eq!(found[0].help.as_deref(), Some("did you mean `getPerson`?"));
}

#[test]
fn type_mismatch() {
    let (_dir, root) = broken(
        "providers/hubspot/mappings/contact.yaml",
        "  email_addresses:\n    path: properties.email\n    primary: email_address\n",
        "  email_addresses: properties.email\n",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    let line = line_of(
        &root,
        "providers/hubspot/mappings/contact.yaml",
        "email_addresses: properties.email",
    );
    assert_eq!(
        found[0].location(),
        format!("providers/hubspot/mappings/contact.yaml:{line}:20")
    );
    assert_eq!(
        found[0].message,
        "type mismatch: `email_addresses` is list<EmailAddress>, a list, but `properties.email` is one value"
    );
    assert!(
        found[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("add `primary: <item field>`")
    );
}

#[test]
fn type_mismatch_against_the_schema() {
    let (_dir, root) = broken(
        "providers/attio/mappings/contact.yaml",
        "  title: values.job_title[0].value",
        "  title: values.job_title",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].message,
        "type mismatch: `title` is string but `values.job_title` is array in the request body of `createPerson`"
    );
    assert!(found[0].help.as_deref().unwrap().contains("index it"));
}

#[test]
fn missing_required_provider_field() {
    let (_dir, root) = broken(
        "providers/salesforce/mappings/contact.yaml",
        "  last_name: LastName\n",
        "",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].location(),
        "providers/salesforce/mappings/contact.yaml:6:16"
    );
    assert_eq!(
        found[0].message,
        "missing required provider field: `createContact` requires `LastName`, but no field of this mapping writes it"
    );
    assert!(
        found[0]
            .help
            .as_deref()
            .unwrap()
            .contains("`LastName: { const: ... }`")
    );
}

#[test]
fn malformed_yaml() {
    let (_dir, root) = broken(
        "providers/hubspot/mappings/contact.yaml",
        "  last_name: properties.lastname",
        "  last_name: [properties.lastname",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .location()
            .starts_with("providers/hubspot/mappings/contact.yaml:"),
        "{}",
        found[0].location()
    );
    assert!(
        found[0].message.starts_with("malformed YAML: "),
        "{}",
        found[0].message
    );
    assert!(found[0].help.is_some());
}

#[test]
fn unknown_transform() {
    let (_dir, root) = broken(
        "providers/attio/mappings/contact.yaml",
        "    join: [first_name, last_name]",
        "    joinn: [first_name, last_name]",
    );
    let found = problems(&root);
    assert!(
        found
            .iter()
            .any(|p| p.message == "unknown transform `joinn`"
                && p.help.as_deref() == Some("did you mean `join`?")),
        "{found:?}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let (_dir, root) = broken(
        "providers/hubspot/mappings/contact.yaml",
        "properties.firstname",
        "properties.fristname",
    );
    let text =
        std::fs::read_to_string(root.join("providers/salesforce/mappings/contact.yaml")).unwrap();
    std::fs::write(
        root.join("providers/salesforce/mappings/contact.yaml"),
        text.replace("Title", "Titel"),
    )
    .unwrap();
    let found = problems(&root);
    let files: Vec<String> = found.iter().map(|p| p.location()).collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0].starts_with("providers/hubspot/"));
    assert!(files[1].starts_with("providers/salesforce/"));
    assert_eq!(found[1].help.as_deref(), Some("did you mean `Title`?"));
}

#[test]
fn unknown_enum_value_in_a_value_map() {
    let (_dir, root) = broken(
        "providers/hubspot/mappings/opportunity.yaml",
        "values: { WON: closedwon",
        "values: { WONN: closedwon",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].message,
        "`WONN` is not a value of `OpportunityStatus`"
    );
    assert_eq!(found[0].help.as_deref(), Some("did you mean `WON`?"));
    let line = line_of(&root, "providers/hubspot/mappings/opportunity.yaml", "WONN");
    assert!(found[0].location().starts_with(&format!(
        "providers/hubspot/mappings/opportunity.yaml:{line}:"
    )));
}

#[test]
fn composite_steps_are_checked() {
    let (_dir, root) = broken(
        "unified-models/opportunity.yaml",
        "find: { action: find_company_by_domain, key: company.website }",
        "find: { action: find_company_by_domian, key: company.websit }",
    );
    let found = problems(&root);
    let messages: Vec<(&str, Option<&str>)> = found
        .iter()
        .map(|p| (p.message.as_str(), p.help.as_deref()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                "unknown action `find_company_by_domian`",
                Some("did you mean `find_company_by_domain`?")
            ),
            (
                "`Company` has no writable field `websit`",
                Some("did you mean `website`?")
            ),
        ]
    );
    assert!(
        found
            .iter()
            .all(|p| p.file == "unified-models/opportunity.yaml")
    );
}

#[test]
fn link_path_parameters_must_be_bound() {
    let (_dir, root) = broken(
        "providers/hubspot/mappings/opportunity.yaml",
        "path_params: { dealId: from, contactId: to }",
        "path_params: { dealId: from }",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].message,
        "path parameter `contactId` of `associateDealWithContact` is not bound: add it to `path_params` as `from` or `to`"
    );
}

#[test]
fn a_list_needs_the_providers_pagination() {
    let (_dir, root) = broken(
        "providers/attio/provider.yaml",
        "pagination:\n",
        "unused_pagination:\n",
    );
    let found = problems(&root);
    assert!(
        found
            .iter()
            .any(|p| p.message == "unknown key `unused_pagination` in a provider definition"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.message == "`list` needs the provider's pagination, but `attio`'s provider.yaml has no `pagination:`"),
        "{found:?}"
    );
}

#[test]
fn provider_names_must_be_rust_module_names() {
    let (_dir, root) = broken(
        "providers/attio/provider.yaml",
        "name: attio",
        "name: my-attio",
    );
    let found = problems(&root);
    assert!(
        found
            .iter()
            .any(|p| p.message == "`my-attio` cannot name a provider"),
        "{found:?}"
    );
}

#[test]
fn field_names_rust_cannot_take_are_refused() {
    let (_dir, root) = broken(
        "unified-models/contact.yaml",
        "      title:\n",
        "      self:\n",
    );
    let found = problems(&root);
    assert!(
        found
            .iter()
            .any(|p| p.message == "`self` is not a valid field name"),
        "{found:?}"
    );
}

#[test]
fn enum_values_that_collide_as_variants_are_refused() {
    let (_dir, root) = broken(
        "unified-models/common.yaml",
        "enum: [work, personal]",
        "enum: [work, personal, Work]",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].message,
        "`Work` and `work` would both be the variant `Work`"
    );
}

#[test]
fn rate_limit_budgets_by_setting_need_a_declared_setting() {
    let (_dir, root) = broken(
        "providers/hubspot/provider.yaml",
        "requests_by: { setting: plan,",
        "requests_by: { setting: tier,",
    );
    let found = problems(&root);
    let problem = found
        .iter()
        .find(|p| p.message == "`tier` is not a declared connection setting")
        .unwrap_or_else(|| panic!("{found:?}"));
    let file = "providers/hubspot/provider.yaml";
    assert_eq!(problem.line as usize, line_of(&root, file, "setting: tier"));
    assert_eq!(
        problem.help.as_deref(),
        Some("declare it under `config:` as `tier: { description: ... }`")
    );
}

#[test]
fn usage_header_patterns_need_two_groups() {
    let (_dir, root) = broken(
        "providers/salesforce/provider.yaml",
        r#"pattern: "api-usage=(\\d+)/(\\d+)""#,
        r#"pattern: "api-usage=(\\d+)""#,
    );
    let found = problems(&root);
    assert!(
        found
            .iter()
            .any(|p| p.message == "the pattern needs exactly two groups: used, then allowed"),
        "{found:?}"
    );
}

#[test]
fn batch_items_must_be_an_array_of_the_request() {
    let (_dir, root) = broken(
        "providers/hubspot/mappings/contact.yaml",
        "      items: inputs\n      results: results\n      match: { by: tag",
        "      items: input\n      results: results\n      match: { by: tag",
    );
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    let file = "providers/hubspot/mappings/contact.yaml";
    assert_eq!(
        found[0].message,
        "`input` is not an array in the request body of `batchCreateContacts`"
    );
    assert_eq!(
        found[0].location(),
        format!("{file}:{}:14", line_of(&root, file, "items: input"))
    );
}

#[test]
fn every_written_field_must_fit_the_batch_items() {
    // The batch's items take `properties`; a write path outside them is refused.
    let (_dir, root) = broken(
        "providers/hubspot/openapi.yaml",
        "    ContactBatchCreateInput:\n      type: object\n      required: [properties]\n      properties:\n        properties:",
        "    ContactBatchCreateInput:\n      type: object\n      required: [props]\n      properties:\n        props:",
    );
    let found = problems(&root);
    let problem = found
        .iter()
        .find(|p| p.message.starts_with("unknown provider field `properties`"))
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(
        problem.label.as_deref(),
        Some(
            "not in the batch items of `batchCreateContacts` (POST /crm/v3/objects/contacts/batch/create)"
        )
    );
    assert_eq!(
        problem.help.as_deref(),
        Some("expected one of `props`, `associations`, `objectWriteTraceId`")
    );
}

#[test]
fn results_that_carry_only_ids_need_a_read_back() {
    let file = "providers/salesforce/mappings/contact.yaml";
    let (_dir, root) = broken(
        file,
        "      read_back:\n        operation: query\n        query:\n          q: \"SELECT {fields} FROM Contact WHERE Id IN ({ids:soql})\"\n        records: records\n  get:",
        "  get:",
    );
    let found = problems(&root);
    assert!(
        found.iter().any(|p| p.message
            == "results that carry only ids need `read_back`: the request that reads the records by their ids"),
        "{found:?}"
    );
}
