//! The project's Attio OpenAPI document may be more specific than Attio's published
//! one (it spells out attributes where Attio's says "any"), but everywhere both
//! describe the same thing they must agree: same paths and methods, same property
//! names and JSON types.

use serde_json::Value;
use std::path::Path;

fn load_ours() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("providers/attio/openapi.yaml")).unwrap();
    serde_saphyr_value(&text)
}

/// Reads YAML through serde-saphyr into JSON values (the test needs no spans).
fn serde_saphyr_value(text: &str) -> Value {
    serde_json::to_value(serde_saphyr::from_str::<Value>(text).unwrap()).unwrap()
}

fn vendor() -> Option<Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vendor-specs/attio/openapi.json");
    let text = std::fs::read_to_string(&path).ok()?;
    Some(serde_json::from_str(&text).unwrap())
}

fn resolve<'a>(document: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        schema = document
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling {reference}"));
    }
    schema
}

fn json_type(schema: &Value) -> Option<String> {
    match schema.get("type")? {
        Value::String(ty) => Some(ty.clone()),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_string),
        _ => None,
    }
}

/// Walks both schemas together; returns every disagreement as `path: reason`.
fn compare(
    ours_doc: &Value,
    ours: &Value,
    theirs_doc: &Value,
    theirs: &Value,
    at: &str,
    problems: &mut Vec<String>,
    compared: &mut usize,
) {
    let ours = resolve(ours_doc, ours);
    let theirs = resolve(theirs_doc, theirs);
    if let (Some(a), Some(b)) = (json_type(ours), json_type(theirs)) {
        *compared += 1;
        if a != b {
            problems.push(format!("{at}: ours is {a}, Attio's is {b}"));
        }
    }
    if let (Some(a), Some(b)) = (ours.get("items"), theirs.get("items")) {
        compare(
            ours_doc,
            a,
            theirs_doc,
            b,
            &format!("{at}[]"),
            problems,
            compared,
        );
    }
    let (Some(our_props), Some(their_props)) = (
        ours.get("properties").and_then(Value::as_object),
        theirs.get("properties").and_then(Value::as_object),
    ) else {
        return;
    };
    let open = theirs
        .get("additionalProperties")
        .is_some_and(|v| v != &Value::Bool(false));
    for (name, our_prop) in our_props {
        match their_props.get(name) {
            Some(their_prop) => compare(
                ours_doc,
                our_prop,
                theirs_doc,
                their_prop,
                &format!("{at}.{name}"),
                problems,
                compared,
            ),
            None if open => {}
            None => problems.push(format!("{at}.{name}: not in Attio's document")),
        }
    }
}

fn vendor_path<'a>(theirs: &'a Value, path: &str) -> Option<&'a Value> {
    let paths = theirs.get("paths")?.as_object()?;
    paths.iter().find_map(|(template, item)| {
        let t: Vec<&str> = template.split('/').collect();
        let p: Vec<&str> = path.split('/').collect();
        let matches = t.len() == p.len()
            && t.iter().zip(&p).all(|(a, b)| {
                a == b || (a.starts_with('{') && (b.starts_with('{') || !b.is_empty()))
            });
        matches.then_some(item)
    })
}

#[test]
fn our_attio_document_agrees_with_attios() {
    let Some(theirs) = vendor() else {
        // CI always has ../shared beside the clone; only an explicit opt-out skips.
        if std::env::var_os("UNIFOLD_SKIP_VENDOR_SPECS").is_some() {
            println!("skipped: UNIFOLD_SKIP_VENDOR_SPECS is set");
            return;
        }
        panic!(
            "../shared/vendor-specs/attio/openapi.json is missing (set UNIFOLD_SKIP_VENDOR_SPECS=1 to skip)"
        );
    };
    let ours = load_ours();
    let mut problems = Vec::new();
    let mut compared = 0;
    for (path, item) in ours["paths"].as_object().unwrap() {
        let Some(their_item) = vendor_path(&theirs, path) else {
            problems.push(format!("{path}: no such path in Attio's document"));
            continue;
        };
        for (method, op) in item.as_object().unwrap() {
            let Some(their_op) = their_item.get(method) else {
                problems.push(format!(
                    "{} {path}: no such operation in Attio's document",
                    method.to_uppercase()
                ));
                continue;
            };
            let body = "/requestBody/content/application~1json/schema";
            if let (Some(a), Some(b)) = (op.pointer(body), their_op.pointer(body)) {
                compare(
                    &ours,
                    a,
                    &theirs,
                    b,
                    &format!("{method} {path} request"),
                    &mut problems,
                    &mut compared,
                );
            }
            let ok = "/responses/200/content/application~1json/schema";
            if let (Some(a), Some(b)) = (op.pointer(ok), their_op.pointer(ok)) {
                compare(
                    &ours,
                    a,
                    &theirs,
                    b,
                    &format!("{method} {path} response"),
                    &mut problems,
                    &mut compared,
                );
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        compared >= 8,
        "only {compared} shared schema nodes were compared"
    );
}
