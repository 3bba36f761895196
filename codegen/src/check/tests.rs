//! The checkers on small YAML strings: each stage tested on its own, beside the
//! whole-project goldens.

use crate::check::{mapping, model, provider};
use crate::diagnostics::Sources;
use crate::ir::{Mapping, ModelSet, Read, Seg, Write};
use crate::parse::openapi::OpenApi;
use crate::parse::reader::Reader;
use crate::parse::yaml;

const MODELS: &str = "\
models:
  Contact:
    fields:
      remote_id: { type: string, read_only: true, required: true }
      first_name: { type: string, max_length: 255 }
      email: { type: string, format: email }
";

const PROVIDER: &str = "\
name: tiny
display_name: Tiny
openapi: openapi.yaml
base_url: https://api.tiny.example/v1
auth: { type: bearer }
";

const OPENAPI: &str = "\
openapi: 3.0.3
info: { title: Tiny, version: '1' }
paths:
  /people:
    post:
      operationId: createPerson
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                attributes:
                  type: object
                  properties:
                    given_name: { type: string }
                    email: { type: string }
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Person' }
components:
  schemas:
    Person:
      type: object
      properties:
        id: { type: string }
        attributes:
          type: object
          properties:
            given_name: { type: string }
            email: { type: string }
";

/// Reads `models` and a mapping against the tiny provider: the lowered mapping, and
/// every problem rendered as a user sees it.
fn check_mapping(models: &str, mapping_yaml: &str) -> (Option<Mapping>, Vec<String>) {
    let mut sources = Sources::default();
    let add = |sources: &mut Sources, name: &str, text: &str| {
        sources.add(name.into(), name.into(), text.to_string())
    };
    let files = [
        add(&mut sources, "unified-models/contact.yaml", models),
        add(&mut sources, "providers/tiny/provider.yaml", PROVIDER),
        add(&mut sources, "providers/tiny/openapi.yaml", OPENAPI),
        add(
            &mut sources,
            "providers/tiny/mappings/contact.yaml",
            mapping_yaml,
        ),
    ];
    let roots: Vec<_> = files
        .iter()
        .map(|file| yaml::parse(&sources, *file).expect("test YAML parses"))
        .collect();
    let mut reader = Reader::new(&sources);
    let mut set = ModelSet::default();
    model::read(&mut reader, &roots[0], &mut set);
    model::check_references(&mut reader, &set);
    let openapi = OpenApi::read(&mut reader, roots[2].clone());
    let provider = provider::read(&mut reader, "tiny", &roots[1], openapi);
    let mapping =
        provider.and_then(|provider| mapping::read(&mut reader, &roots[3], &set, &provider));
    let problems = reader.problems.iter().map(|d| d.render_plain()).collect();
    (mapping, problems)
}

const MAPPING: &str = "\
model: Contact
actions:
  create: { operation: createPerson }
fields:
  remote_id: id
  first_name: attributes.given_name
  email: attributes.email
";

#[test]
fn a_mapping_lowers_to_writes_and_reads() {
    let (mapping, problems) = check_mapping(MODELS, MAPPING);
    assert_eq!(problems, Vec::<String>::new());
    let mapping = mapping.expect("the mapping checks");
    let written: Vec<String> = mapping
        .writes
        .iter()
        .map(|write| crate::parse::path::display(write.path()))
        .collect();
    assert_eq!(written, ["attributes.given_name", "attributes.email"]);
    assert!(matches!(
        &mapping.reads[0],
        Read::Scalar { field, path, required: true, .. }
            if field == "remote_id" && path == &[Seg::Key("id".into())]
    ));
    assert!(matches!(&mapping.writes[0], Write::Scalar { field, .. } if field == "first_name"));
    let names: Vec<String> = mapping.actions().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["create_contact"]);
}

#[test]
fn a_misspelt_provider_field_points_at_its_line_with_a_hint() {
    let misspelt = MAPPING.replace("attributes.given_name", "attributes.givn_name");
    let (_, problems) = check_mapping(MODELS, &misspelt);
    // Once for the request body it is written to, once for the response it is read from.
    assert_eq!(problems.len(), 2, "{problems:?}");
    for (problem, side) in problems.iter().zip(["request body", "response"]) {
        assert!(
            problem.starts_with("error: unknown provider field `givn_name` under `attributes` for `first_name`\n  --> providers/tiny/mappings/contact.yaml:6:15\n"),
            "{problem}"
        );
        assert!(
            problem.contains(&format!(
                "not in the {side} of `createPerson` (POST /people)"
            )),
            "{problem}"
        );
        assert!(
            problem.contains("= help: did you mean `attributes.given_name`?"),
            "{problem}"
        );
    }
}

#[test]
fn an_unknown_unified_field_is_named_with_the_model() {
    let unknown = MAPPING.replace("  email: attributes.email", "  emial: attributes.email");
    let (_, problems) = check_mapping(MODELS, &unknown);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("providers/tiny/mappings/contact.yaml:7:3"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].contains("did you mean `email`?"),
        "{}",
        problems[0]
    );
}

#[test]
fn models_report_every_problem_at_once() {
    let broken = "\
models:
  Contact:
    fields:
      remote_id: { type: strin }
      first_name: { type: string, max_lenght: 3 }
";
    let (_, problems) = check_mapping(broken, MAPPING);
    assert!(
        problems[0].contains("= help: use string, integer, number"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("= help: did you mean `max_length`?"),
        "{problems:?}"
    );
    let locations: Vec<&str> = problems.iter().filter_map(|p| p.lines().nth(1)).collect();
    assert!(
        locations.contains(&"  --> unified-models/contact.yaml:4:26"),
        "{problems:?}"
    );
    assert!(
        locations.contains(&"  --> unified-models/contact.yaml:5:35"),
        "{problems:?}"
    );
}
