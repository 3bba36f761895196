//! `unifold provider import`: a provider definition scaffolded from a vendor's OpenAPI
//! 3.0 or 3.1 document (JSON or YAML).
//!
//! The document is read as the same spanned YAML tree the generator checks mappings
//! against (JSON is YAML), not through a typed OpenAPI model: typed readers such as
//! `openapiv3` take 3.0 only, and the tree keeps every line and column, so a broken
//! `$ref` is reported at its place with its JSON pointer. Only the chosen operations
//! are kept, with every component they reach through `$ref` (transitively, from
//! parameters, request bodies and responses alike). 3.1 constructs (`type: [x,
//! "null"]`, `const`, schemas under `$defs` of a component) are kept as they are: the
//! generator reads them. Examples (`example`, `examples`) are left out, since the
//! generator never reads them and they are most of a vendor document's size.
//!
//! The output is deterministic: paths and components in name order, methods in a
//! fixed order, keys of each object as the vendor wrote them.

use crate::diagnostics::{Diagnostic, Diagnostics, Sources, did_you_mean, one_of};
use crate::parse::openapi;
use crate::parse::reader::Reader;
use crate::parse::yaml::{self, Loc, Node, Value};
mod yaml_writer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// HTTP methods of an OpenAPI path item, in the order they are written out.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What an import produced: the pruned OpenAPI document and skeletons for the files
/// a provider folder needs beside it.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The provider's name (the `--out` folder's name).
    pub provider: String,
    /// `openapi.yaml`: the chosen operations and what they reference.
    pub openapi: String,
    /// A `provider.yaml` skeleton with what the document says filled in.
    pub provider_yaml: String,
    /// A `sandbox.yaml` skeleton with a collection per record path.
    pub sandbox_yaml: String,
    /// The operations kept, in the order given.
    pub operations: Vec<String>,
    /// The components kept, as `schemas/Person`.
    pub components: Vec<String>,
}

/// What happened to each file of an import written to a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Written (new, or its bytes changed).
    Wrote(PathBuf),
    /// Already held exactly these bytes.
    Unchanged(PathBuf),
    /// A skeleton that was not written because the file exists (it may hold edits).
    Kept(PathBuf),
}

impl Imported {
    /// Writes `openapi.yaml` into `dir` (rewritten when it changed), and the
    /// `provider.yaml` and `sandbox.yaml` skeletons only where those files do not
    /// exist yet, so re-running an import never overwrites a filled-in definition.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<Vec<Written>> {
        std::fs::create_dir_all(dir)?;
        let mut outcome = Vec::new();
        let openapi = dir.join("openapi.yaml");
        if crate::write_if_changed(&openapi, self.openapi.as_bytes())? {
            outcome.push(Written::Wrote(openapi));
        } else {
            outcome.push(Written::Unchanged(openapi));
        }
        for (name, text) in [
            ("provider.yaml", &self.provider_yaml),
            ("sandbox.yaml", &self.sandbox_yaml),
        ] {
            let path = dir.join(name);
            if path.exists() {
                outcome.push(Written::Kept(path));
            } else {
                std::fs::write(&path, text)?;
                outcome.push(Written::Wrote(path));
            }
        }
        Ok(outcome)
    }
}

/// Imports `operations` (operationIds separated by commas, as given on the command
/// line) from the OpenAPI document at `source`, for a provider named `provider`.
///
/// Every problem is reported at once: operations the document lacks (with the
/// closest operationId), `$ref`s that point nowhere (with their JSON pointer), a
/// document that is not OpenAPI 3.
pub fn import(source: &Path, operations: &str, provider: &str) -> Result<Imported, Diagnostics> {
    let mut sources = Sources::default();
    let shown = source.display().to_string();
    let text = match std::fs::read_to_string(source) {
        Ok(text) => text,
        Err(error) => {
            let file = sources.add(source.to_path_buf(), shown, String::new());
            let at = Loc {
                file,
                line: 1,
                column: 1,
            };
            return Err(Diagnostics(vec![
                Diagnostic::new(&sources, at, format!("cannot read this file: {error}"))
                    .with_help("pass the path of the vendor's OpenAPI document (JSON or YAML)"),
            ]));
        }
    };
    let file = sources.add(source.to_path_buf(), shown.clone(), text);
    let root = yaml::parse(&sources, file).map_err(|problem| Diagnostics(vec![*problem]))?;
    let chosen_line = sources.add(
        PathBuf::from("--operations"),
        "--operations".into(),
        operations.to_string(),
    );
    let mut reader = Reader::new(&sources);
    check_version(&mut reader, &root);
    if !crate::naming::is_module_name(provider) {
        let at = Loc {
            file: chosen_line,
            line: 1,
            column: 1,
        };
        reader.report(
            Diagnostic::new(&sources, at, format!("`{provider}` cannot name a provider"))
                .with_label("the name is the last folder of `--out`")
                .with_help("provider names become Rust module names: lowercase letters, digits and `_` (e.g. `providers/pipedrive`)"),
        );
    }

    let available = operations_of(&root);
    let mut chosen: Vec<&Found> = Vec::new();
    let mut column = 1u32;
    for part in operations.split(',') {
        let id = part.trim();
        let at = Loc {
            file: chosen_line,
            line: 1,
            column: column + (part.len() - part.trim_start().len()) as u32,
        };
        column += part.chars().count() as u32 + 1;
        if id.is_empty() {
            continue;
        }
        let chosen_route = id
            .split_once(' ')
            .map(|(method, path)| format!("{} {}", method.to_uppercase(), path.trim()));
        let matching = available.iter().find(|found| {
            found.id == id || chosen_route.as_deref() == Some(found.route().as_str())
        });
        match matching {
            Some(found) => {
                if !chosen.iter().any(|c| c.id == found.id) {
                    chosen.push(found);
                }
            }
            None => {
                let ids = available.iter().map(|found| found.id.as_str());
                let routes: Vec<String> = available.iter().map(Found::route).collect();
                // `POST /gadgets` where only `GET /gadgets` exists: the path is right.
                let same_path = id.split_once(' ').and_then(|(_, path)| {
                    available
                        .iter()
                        .find(|found| found.path == path.trim())
                        .map(Found::route)
                });
                let close = same_path
                    .or_else(|| did_you_mean(id, ids.clone()).map(str::to_string))
                    .or_else(|| {
                        did_you_mean(id, routes.iter().map(String::as_str)).map(str::to_string)
                    });
                let help = match close {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "operations in {shown} are {} (or name one as `METHOD /path`)",
                        one_of(ids)
                    ),
                };
                reader.report(
                    Diagnostic::new(&sources, at, format!("unknown operation `{id}`"))
                        .with_label(format!("no operationId `{id}` in {shown}"))
                        .with_help(help),
                );
            }
        }
    }
    if chosen.is_empty() && reader.problems.is_empty() {
        let at = Loc {
            file: chosen_line,
            line: 1,
            column: 1,
        };
        reader.report(
            Diagnostic::new(&sources, at, "no operations chosen").with_help(
                "list operationIds separated by commas, e.g. `--operations addPerson,getPerson`",
            ),
        );
    }

    let stripped = without_examples(&root, false);
    let mut walk = Walk {
        reader: &mut reader,
        root: &stripped,
        kept: BTreeMap::new(),
    };
    for found in &chosen {
        let item = path_item(&stripped, &found.path);
        let base = format!("#/paths/{}", escape(&found.path));
        if let Some(shared) = item.and_then(|item| item.get("parameters")) {
            walk.visit(shared, &format!("{base}/parameters"));
        }
        if let Some(op) = item.and_then(|item| item.get(&found.method)) {
            walk.visit(op, &format!("{base}/{}", found.method));
        }
    }
    let kept = walk.kept;
    let problems = std::mem::take(&mut reader.problems);
    if !problems.is_empty() {
        return Err(Diagnostics(problems));
    }

    let document = pruned_document(&stripped, &chosen, &kept);
    let ids: Vec<String> = chosen.iter().map(|found| found.id.clone()).collect();
    let components: Vec<String> = kept
        .keys()
        .map(|(kind, name)| format!("{kind}/{name}"))
        .collect();
    let source_name = source
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.clone());
    let version = root
        .get("openapi")
        .and_then(Node::as_str)
        .unwrap_or("3")
        .to_string();
    let named: Vec<String> = chosen
        .iter()
        .filter(|found| found.named_here)
        .map(|found| {
            format!(
                "# `{}` is {}, which the document gives no operationId.\n",
                found.id,
                found.route()
            )
        })
        .collect();
    let mut header = format!(
        "# Imported by `unifold provider import` from {source_name} (OpenAPI {version}): the\n\
         # operations {}\n\
         # and the {} component(s) they reference. Examples are left out.\n{}\
         # Re-run the import to refresh this file; edit provider.yaml and the mappings instead.\n",
        ids.join(", "),
        components.len(),
        named.concat(),
    );
    header.push_str(&yaml_writer::render(&document));
    let context = Context {
        provider,
        source_name: &source_name,
        root: &stripped,
        chosen: &chosen,
    };
    Ok(Imported {
        provider: provider.to_string(),
        openapi: header,
        provider_yaml: context.provider_skeleton(),
        sandbox_yaml: context.sandbox_skeleton(),
        operations: ids,
        components,
    })
}

fn check_version(reader: &mut Reader, root: &Node) {
    if let Some(swagger) = root.get("swagger") {
        reader
            .error(swagger, "this is a Swagger (OpenAPI 2) document")
            .help = Some(
            "convert it to OpenAPI 3 first (e.g. with swagger2openapi), then import the result"
                .into(),
        );
        return;
    }
    match root.get("openapi") {
        Some(node) if node.as_str().is_some_and(|v| v.starts_with("3.")) => {}
        Some(node) => {
            reader.error(node, "only OpenAPI 3.0 and 3.1 documents can be imported");
        }
        None => {
            reader
                .error(
                    root,
                    "not an OpenAPI 3 document: there is no `openapi:` version",
                )
                .help =
                Some("the document should start with `openapi: 3.0.3` or `openapi: 3.1.0`".into());
        }
    }
}

/// An operation of the source document.
#[derive(Debug)]
struct Found {
    id: String,
    method: String,
    path: String,
    /// The document gives no `operationId` (Attio's published one gives none); `id`
    /// was made from the method and path, and is written into the output.
    named_here: bool,
}

impl Found {
    /// `POST /persons`, the other way to choose an operation.
    fn route(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }
}

fn operations_of(root: &Node) -> Vec<Found> {
    let mut found = Vec::new();
    for (path, item) in root.get("paths").map(Node::entries).unwrap_or(&[]) {
        let Some(path) = path.as_str() else { continue };
        for (method, op) in item.entries() {
            let Some(method) = method.as_str().filter(|m| METHODS.contains(m)) else {
                continue;
            };
            let given = op.get("operationId").and_then(Node::as_str);
            found.push(Found {
                id: given.map_or_else(|| operation_id(method, path), str::to_string),
                method: method.to_string(),
                path: path.to_string(),
                named_here: given.is_none(),
            });
        }
    }
    found
}

/// An operationId for an operation without one: the method, then each path segment
/// capitalised, parameters as `By<Name>`: `GET /v2/objects/{object}/records/{record_id}`
/// is `getV2ObjectsByObjectRecordsByRecordId`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let (prefix, word) = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(parameter) => ("By", parameter),
            None => ("", segment),
        };
        id.push_str(prefix);
        for part in word
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
        {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                id.push(first.to_ascii_uppercase());
                id.push_str(chars.as_str());
            }
        }
    }
    id
}

fn path_item<'n>(root: &'n Node, path: &str) -> Option<&'n Node> {
    root.get("paths")?
        .entries()
        .iter()
        .find(|(key, _)| key.as_str() == Some(path))
        .map(|(_, item)| item)
}

/// A JSON pointer segment: `~` and `/` escaped.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Keywords whose value is a map of *names* to schemas: the names are kept whatever
/// they are (a property may well be called `example`).
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// The tree without `example` and `examples` keywords. `names` is true for a map
/// whose keys are names (properties), not keywords.
fn without_examples(node: &Node, names: bool) -> Node {
    let value = match &node.value {
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .filter(|(key, _)| names || !matches!(key.as_str(), Some("example" | "examples")))
                .map(|(key, value)| {
                    let child_names =
                        !names && key.as_str().is_some_and(|k| NAME_MAPS.contains(&k));
                    (key.clone(), without_examples(value, child_names))
                })
                .collect(),
        ),
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .map(|item| without_examples(item, false))
                .collect(),
        ),
        other => other.clone(),
    };
    Node {
        value,
        loc: node.loc,
    }
}

/// Collects the components reachable through `$ref` from the chosen operations.
struct Walk<'r, 's, 'n> {
    reader: &'r mut Reader<'s>,
    root: &'n Node,
    /// `(kind, name)` → the component, in name order.
    kept: BTreeMap<(String, String), Node>,
}

impl Walk<'_, '_, '_> {
    fn visit(&mut self, node: &Node, pointer: &str) {
        match &node.value {
            Value::Map(entries) => {
                for (key, value) in entries {
                    let Some(key_text) = key.as_str() else {
                        continue;
                    };
                    let here = format!("{pointer}/{}", escape(key_text));
                    if key_text == "$ref" {
                        self.follow(value, &here);
                    } else if key_text == "mapping" && pointer.ends_with("/discriminator") {
                        // Discriminator mappings name schemas by reference too.
                        for (name, target) in value.entries() {
                            let name = name.as_str().unwrap_or_default();
                            if target.as_str().is_some_and(|t| t.starts_with('#')) {
                                self.follow(target, &format!("{here}/{}", escape(name)));
                            }
                        }
                    } else {
                        self.visit(value, &here);
                    }
                }
            }
            Value::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.visit(item, &format!("{pointer}/{index}"));
                }
            }
            _ => {}
        }
    }

    /// Keeps the component a `$ref` (at JSON pointer `at`) points into, and walks it.
    fn follow(&mut self, reference: &Node, at: &str) {
        let Some(target) = reference.as_str() else {
            self.reader
                .error(reference, format!("the `$ref` at `{at}` must be a string"));
            return;
        };
        let Some(pointer) = target.strip_prefix("#/") else {
            self.reader
                .error(
                    reference,
                    format!("the `$ref` at `{at}` points outside this document: `{target}`"),
                )
                .help = Some(
                "inline the referenced file into the document first (e.g. `redocly bundle`)".into(),
            );
            return;
        };
        let parts: Vec<String> = pointer.split('/').map(unescape).collect();
        let (kind, name) = match parts.as_slice() {
            [components, kind, name, ..] if components == "components" => (kind, name),
            _ => {
                self.reader
                    .error(
                        reference,
                        format!("the `$ref` at `{at}` points at `{target}`, outside `#/components`"),
                    )
                    .help = Some("an import keeps the chosen operations and `#/components`; move the target under `components`".into());
                return;
            }
        };
        let mut found = Some(self.root);
        for part in &parts {
            found = found.and_then(|node| match &node.value {
                Value::Seq(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => node.get(part),
            });
        }
        if found.is_none() {
            let siblings: Vec<&str> = self
                .root
                .get("components")
                .and_then(|c| c.get(kind))
                .map(Node::entries)
                .unwrap_or(&[])
                .iter()
                .filter_map(|(key, _)| key.as_str())
                .collect();
            let help = match did_you_mean(name, siblings.iter().copied()) {
                Some(close) => format!("did you mean `#/components/{kind}/{}`?", escape(close)),
                None => format!(
                    "`#/components/{kind}` holds {}",
                    one_of(siblings.iter().copied())
                ),
            };
            self.reader
                .error(
                    reference,
                    format!("the `$ref` at `{at}` points at `{target}`, which does not exist"),
                )
                .with_label_text("broken reference")
                .help = Some(help);
            return;
        }
        let key = (kind.clone(), name.clone());
        if self.kept.contains_key(&key) {
            return;
        }
        let Some(component) = self
            .root
            .get("components")
            .and_then(|c| c.get(kind))
            .and_then(|k| k.get(name))
        else {
            return;
        };
        self.kept.insert(key, component.clone());
        self.visit(
            component,
            &format!("#/components/{}/{}", escape(kind), escape(name)),
        );
    }
}

trait LabelText {
    fn with_label_text(&mut self, label: &str) -> &mut Self;
}

impl LabelText for Diagnostic {
    fn with_label_text(&mut self, label: &str) -> &mut Self {
        self.label = Some(label.to_string());
        self
    }
}

/// The JSON schema of a request body or response.
fn json_content(holder: &Node) -> Option<Node> {
    holder
        .get("content")?
        .entries()
        .iter()
        .find(|(media, _)| media.as_str().is_some_and(|m| m.contains("json")))?
        .1
        .get("schema")
        .cloned()
}

fn node(value: Value) -> Node {
    Node {
        value,
        loc: Loc::default(),
    }
}

fn text(value: &str) -> Node {
    node(Value::Str(value.to_string()))
}

/// The output document: version, info, servers, security, the chosen operations in
/// path order and the kept components in name order.
fn pruned_document(
    root: &Node,
    chosen: &[&Found],
    kept: &BTreeMap<(String, String), Node>,
) -> Node {
    let mut top = Vec::new();
    for key in ["openapi", "info", "servers", "security"] {
        if let Some(value) = root.get(key) {
            top.push((text(key), value.clone()));
        }
    }
    let mut paths: BTreeMap<&str, Vec<&Found>> = BTreeMap::new();
    for found in chosen {
        paths.entry(found.path.as_str()).or_default().push(found);
    }
    let mut path_entries = Vec::new();
    for (path, ops) in paths {
        let Some(item) = path_item(root, path) else {
            continue;
        };
        let mut entries = Vec::new();
        // Path-level fields (shared parameters, summary) stay; other methods go.
        for (key, value) in item.entries() {
            if key.as_str().is_some_and(|k| !METHODS.contains(&k)) {
                entries.push((key.clone(), value.clone()));
            }
        }
        for method in METHODS {
            let Some(found) = ops.iter().find(|found| found.method == *method) else {
                continue;
            };
            let Some(op) = item.get(method) else { continue };
            let mut op = op.clone();
            if found.named_here
                && let Value::Map(entries) = &mut op.value
            {
                entries.insert(0, (text("operationId"), text(&found.id)));
            }
            entries.push((text(method), op));
        }
        path_entries.push((text(path), node(Value::Map(entries))));
    }
    top.push((text("paths"), node(Value::Map(path_entries))));

    let mut kinds: BTreeMap<&str, Vec<(Node, Node)>> = BTreeMap::new();
    for ((kind, name), component) in kept {
        kinds
            .entry(kind.as_str())
            .or_default()
            .push((text(name), component.clone()));
    }
    // Security schemes are named by `security` requirements, not by `$ref`.
    let mut schemes: Vec<String> = Vec::new();
    let requirements = root
        .get("security")
        .into_iter()
        .chain(chosen.iter().filter_map(|found| {
            path_item(root, &found.path)
                .and_then(|item| item.get(&found.method))
                .and_then(|op| op.get("security"))
        }));
    for requirement in requirements {
        for alternative in requirement.items() {
            for (name, _) in alternative.entries() {
                if let Some(name) = name.as_str()
                    && !schemes.iter().any(|s| s == name)
                {
                    schemes.push(name.to_string());
                }
            }
        }
    }
    schemes.sort();
    let defined = root
        .get("components")
        .and_then(|c| c.get("securitySchemes"));
    for name in schemes {
        if let Some(scheme) = defined.and_then(|d| d.get(&name)) {
            kinds
                .entry("securitySchemes")
                .or_default()
                .push((text(&name), scheme.clone()));
        }
    }
    if !kinds.is_empty() {
        let components = kinds
            .into_iter()
            .map(|(kind, entries)| (text(kind), node(Value::Map(entries))))
            .collect();
        top.push((text("components"), node(Value::Map(components))));
    }
    node(Value::Map(top))
}

#[derive(Default)]
struct AuthGuess {
    /// The bearer (or OAuth 2) scheme's name.
    bearer: Option<String>,
    /// An API-key scheme's name and header.
    header: Option<(String, String)>,
    token_url: Option<String>,
}

struct PageGuess {
    operation: String,
    /// A cursor parameter (else an offset one).
    cursor: bool,
    param: String,
    records: String,
    limit: Option<String>,
    max: i64,
}

/// What the skeletons are written from.
struct Context<'a> {
    provider: &'a str,
    source_name: &'a str,
    root: &'a Node,
    chosen: &'a [&'a Found],
}

impl Context<'_> {
    fn operation(&self, found: &Found) -> Option<&Node> {
        path_item(self.root, &found.path).and_then(|item| item.get(&found.method))
    }

    fn resolve(&self, node: &Node) -> Node {
        // Problems were reported by the walk; here a broken reference just stays.
        let sources = Sources::default();
        let mut quiet = Reader::new(&sources);
        openapi::resolve(&mut quiet, self.root, node)
    }

    fn provider_skeleton(&self) -> String {
        let info = self.root.get("info");
        let title = info
            .and_then(|i| i.get("title"))
            .and_then(Node::as_str)
            .unwrap_or(self.provider);
        let version = info
            .and_then(|i| i.get("version"))
            .and_then(Node::as_str)
            .unwrap_or("");
        let mut out = format!(
            "# {title}: a provider definition scaffolded by `unifold provider import` from\n\
             # {}. Every key is described in docs/provider-authoring.md; `unifold check`\n\
             # says what is still missing. Commented keys are defaults to adjust and uncomment.\n",
            self.source_name
        );
        out.push_str(&format!("name: {}\n", self.provider));
        out.push_str(&format!(
            "display_name: {}\n",
            yaml_writer::string(title, false)
        ));
        let description = if version.is_empty() {
            title.to_string()
        } else {
            format!("{title} {version}")
        };
        out.push_str(&format!(
            "description: {}\n",
            yaml_writer::string(&description, false)
        ));
        match self
            .root
            .get("externalDocs")
            .and_then(|d| d.get("url"))
            .and_then(Node::as_str)
        {
            Some(url) => out.push_str(&format!("docs: {}\n", yaml_writer::string(url, false))),
            None => out.push_str("# docs: https://...             # a link for readers\n"),
        }
        out.push_str("openapi: openapi.yaml\n");
        out.push_str(&self.base_url());
        out.push_str(&self.auth());
        out.push_str(&self.pagination());
        out.push_str(
            "# Per-connection budgets the runtime paces requests to (the vendor's documented limits):\n\
             # rate_limits:\n\
             #   - { requests: 100, per_ms: 10000 }          # applies_to: all | reads | writes\n\
             # rate_limit_headers:                            # when responses report the budget left\n\
             #   remaining: X-RateLimit-Remaining\n\
             # The runtime's defaults; uncomment to change them.\n\
             # retry:\n\
             #   max_attempts: 4\n\
             #   statuses: [429, 500, 502, 503, 504]\n\
             #   base_delay_ms: 200\n\
             #   max_delay_ms: 10000\n\
             #   max_total_ms: 30000\n",
        );
        out.push_str("errors:\n");
        match self.error_message() {
            Some((path, from)) => out.push_str(&format!(
                "  message: [{}]    # where error bodies carry their text (from `{from}`)\n",
                yaml_writer::string(&path, true)
            )),
            None => {
                out.push_str("  # message: [message]    # where error bodies carry their text\n")
            }
        }
        out.push_str(
            "  rules:                 # tried in order; add `body:` conditions for vendor codes\n\
             \x20   - { status: 401, category: auth }\n\
             \x20   - { status: 403, category: auth }\n\
             \x20   - { status: 404, category: not_found }\n\
             \x20   - { status: 409, category: conflict }\n\
             \x20   - { status: 429, category: rate_limited }\n",
        );
        out
    }

    fn base_url(&self) -> String {
        let server = self.root.get("servers").and_then(|s| s.items().first());
        let Some(url) = server.and_then(|s| s.get("url")).and_then(Node::as_str) else {
            return "# base_url: https://api.example.com/v1   # the document names no server: add it\n"
                .into();
        };
        if !url.contains("://") && !url.starts_with('{') {
            return format!(
                "# base_url: https://...{url}   # the document's server is relative: add the host\n"
            );
        }
        let mut out = format!("base_url: {}\n", yaml_writer::string(url, false));
        let variables = server
            .and_then(|s| s.get("variables"))
            .map(Node::entries)
            .unwrap_or(&[]);
        if !variables.is_empty() {
            out.push_str(
                "config:                 # per-connection settings (`Connection::with_config`)\n",
            );
            for (name, variable) in variables {
                let Some(name) = name.as_str() else { continue };
                let described = variable
                    .get("description")
                    .and_then(Node::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        let default = variable
                            .get("default")
                            .and_then(Node::as_str)
                            .unwrap_or("?");
                        format!("Server variable `{name}` (default `{default}`).")
                    });
                out.push_str(&format!(
                    "  {name}:\n    description: {}\n",
                    yaml_writer::string(&described, false)
                ));
            }
        }
        out
    }

    /// What the security schemes the chosen operations (or the document) use say
    /// about credentials.
    fn auth_guess(&self) -> AuthGuess {
        let schemes = self
            .root
            .get("components")
            .and_then(|c| c.get("securitySchemes"))
            .map(Node::entries)
            .unwrap_or(&[]);
        let used: Vec<&str> = self
            .root
            .get("security")
            .into_iter()
            .chain(
                self.chosen
                    .iter()
                    .filter_map(|f| self.operation(f).and_then(|op| op.get("security"))),
            )
            .flat_map(|requirement| requirement.items())
            .flat_map(|alternative| alternative.entries())
            .filter_map(|(name, _)| name.as_str())
            .collect();
        let mut guess = AuthGuess::default();
        for (name, scheme) in schemes {
            let name = name.as_str().unwrap_or_default();
            if !used.is_empty() && !used.contains(&name) {
                continue;
            }
            let scheme = self.resolve(scheme);
            match scheme.get("type").and_then(Node::as_str) {
                Some("http")
                    if scheme
                        .get("scheme")
                        .and_then(Node::as_str)
                        .is_some_and(|s| s.eq_ignore_ascii_case("bearer")) =>
                {
                    guess.bearer.get_or_insert(name.to_string());
                }
                Some("oauth2") => {
                    guess.bearer.get_or_insert(name.to_string());
                    let flows = scheme.get("flows").map(Node::entries).unwrap_or(&[]);
                    for (_, flow) in flows {
                        if let Some(url) = flow.get("tokenUrl").and_then(Node::as_str)
                            && url.starts_with("https://")
                        {
                            guess.token_url.get_or_insert(url.to_string());
                        }
                    }
                }
                Some("apiKey") if scheme.get("in").and_then(Node::as_str) == Some("header") => {
                    if let Some(header_name) = scheme.get("name").and_then(Node::as_str) {
                        guess
                            .header
                            .get_or_insert((name.to_string(), header_name.to_string()));
                    }
                }
                _ => {}
            }
        }
        guess
    }

    /// `auth:` of `provider.yaml`.
    fn auth(&self) -> String {
        let guess = self.auth_guess();
        let mut out = String::from("auth:\n");
        match (&guess.bearer, &guess.header) {
            (Some(scheme), _) => out.push_str(&format!(
                "  type: bearer           # `Authorization: Bearer <token>` (security scheme `{scheme}`)\n"
            )),
            (None, Some((scheme, name))) => out.push_str(&format!(
                "  type: header           # an API key (security scheme `{scheme}`)\n  header: {}\n",
                yaml_writer::string(name, false)
            )),
            (None, None) => out.push_str(
                "  type: bearer           # the document declares no bearer or header scheme: check\n\
                 \x20 # type: header\n\
                 \x20 # header: X-Api-Key\n",
            ),
        }
        match &guess.token_url {
            Some(url) => out.push_str(&format!(
                "  token_url: {}   # OAuth 2 connections refresh here\n",
                yaml_writer::string(url, false)
            )),
            None => {
                out.push_str("  # token_url: https://...   # OAuth 2 connections refresh here\n")
            }
        }
        out
    }

    /// Pagination guessed from the query parameters of the first chosen list operation.
    fn page_guess(&self) -> Option<PageGuess> {
        const OFFSET: &[&str] = &["offset", "start", "skip"];
        const CURSOR: &[&str] = &[
            "cursor",
            "after",
            "starting_after",
            "page_token",
            "pageToken",
            "next_cursor",
        ];
        const LIMIT: &[&str] = &["limit", "page_size", "pageSize", "per_page", "count"];
        for found in self.chosen.iter().filter(|f| f.method == "get") {
            let Some(op) = self.operation(found) else {
                continue;
            };
            let shared = path_item(self.root, &found.path)
                .and_then(|item| item.get("parameters"))
                .map(Node::items)
                .unwrap_or(&[]);
            let params: Vec<Node> = shared
                .iter()
                .chain(op.get("parameters").map(Node::items).unwrap_or(&[]))
                .map(|p| self.resolve(p))
                .filter(|p| p.get("in").and_then(Node::as_str) == Some("query"))
                .collect();
            let named = |names: &[&str]| {
                params.iter().find_map(|p| {
                    let name = p.get("name").and_then(Node::as_str)?;
                    names.contains(&name).then(|| (name.to_string(), p.clone()))
                })
            };
            let (offset, cursor, limit) = (named(OFFSET), named(CURSOR), named(LIMIT));
            let (cursor_style, param) = match (cursor, offset) {
                (Some((name, _)), _) => (true, name),
                (None, Some((name, _))) => (false, name),
                (None, None) => continue,
            };
            let max = limit
                .as_ref()
                .and_then(|(_, p)| p.get("schema"))
                .map(|s| self.resolve(s))
                .and_then(|s| match s.get("maximum").map(|m| &m.value) {
                    Some(Value::Int(n)) if *n > 0 => Some(*n),
                    _ => None,
                })
                .unwrap_or(100);
            return Some(PageGuess {
                operation: found.id.clone(),
                cursor: cursor_style,
                param,
                records: self.records_of(op).unwrap_or_else(|| "data".into()),
                limit: limit.map(|(name, _)| name),
                max,
            });
        }
        None
    }

    /// A commented `pagination:` for `provider.yaml`.
    fn pagination(&self) -> String {
        let Some(guess) = self.page_guess() else {
            return "# How list operations page; see docs/mapping-language.md (`Pagination`).\n\
                 # pagination:\n\
                 #   style: offset          # cursor | next_url | offset\n\
                 #   records: data          # where a page's records are\n\
                 #   offset_param: offset\n\
                 #   limit_param: limit\n\
                 #   max_page_size: 100\n"
                .to_string();
        };
        let mut out = format!(
            "# Guessed from the parameters of `{}`: check the vendor's docs, then uncomment.\n# pagination:\n",
            guess.operation
        );
        if guess.cursor {
            out.push_str(&format!(
                "#   style: cursor\n#   cursor_param: {}\n#   cursor_path: next_cursor   # where a page names the next cursor\n",
                guess.param
            ));
        } else {
            out.push_str(&format!(
                "#   style: offset          # stops at the first short page\n#   offset_param: {}\n",
                guess.param
            ));
        }
        out.push_str(&format!("#   records: {}\n", guess.records));
        if let Some(limit) = &guess.limit {
            out.push_str(&format!("#   limit_param: {limit}\n"));
        }
        out.push_str(&format!("#   max_page_size: {}\n", guess.max));
        out
    }

    /// The first array property of a list operation's success response.
    fn records_of(&self, op: &Node) -> Option<String> {
        let (_, response) = op.get("responses")?.entries().iter().find(|(code, _)| {
            matches!(&code.value, Value::Str(c) if c.starts_with('2'))
                || matches!(code.value, Value::Int(200..=299))
        })?;
        let response = self.resolve(response);
        let schema = response
            .get("content")?
            .entries()
            .iter()
            .find(|(media, _)| media.as_str().is_some_and(|m| m.contains("json")))?
            .1
            .get("schema")?;
        let sources = Sources::default();
        let mut quiet = Reader::new(&sources);
        let schema = openapi::resolve(&mut quiet, self.root, schema);
        for (name, property) in openapi::properties(&mut quiet, self.root, &schema) {
            let property = openapi::resolve(&mut quiet, self.root, &property);
            if openapi::schema_type(&property).as_deref() == Some("array") {
                return Some(name);
            }
        }
        None
    }

    /// Where error bodies keep their message, from the 4xx responses of the chosen
    /// operations: `(path, component or operation it was found in)`.
    fn error_message(&self) -> Option<(String, String)> {
        const MESSAGE: &[&str] = &[
            "message",
            "error",
            "detail",
            "error_description",
            "errorMessage",
            "title",
        ];
        let sources = Sources::default();
        let mut quiet = Reader::new(&sources);
        for found in self.chosen {
            let Some(op) = self.operation(found) else {
                continue;
            };
            for (code, response) in op.get("responses").map(Node::entries).unwrap_or(&[]) {
                let code = match &code.value {
                    Value::Str(code) => code.clone(),
                    Value::Int(code) => code.to_string(),
                    _ => continue,
                };
                if !code.starts_with('4') && code != "default" {
                    continue;
                }
                let response = self.resolve(response);
                let Some(schema) = response
                    .get("content")
                    .map(Node::entries)
                    .unwrap_or(&[])
                    .iter()
                    .find(|(media, _)| media.as_str().is_some_and(|m| m.contains("json")))
                    .and_then(|(_, media)| media.get("schema"))
                else {
                    continue;
                };
                let properties = openapi::properties(&mut quiet, self.root, schema);
                for wanted in MESSAGE {
                    let Some((_, property)) = properties.iter().find(|(name, _)| name == wanted)
                    else {
                        continue;
                    };
                    let property = openapi::resolve(&mut quiet, self.root, property);
                    match openapi::schema_type(&property).as_deref() {
                        Some("string") => {
                            return Some((wanted.to_string(), format!("{} {code}", found.id)));
                        }
                        Some("object") => {
                            let inner = openapi::properties(&mut quiet, self.root, &property);
                            if inner.iter().any(|(name, _)| name == "message") {
                                return Some((
                                    format!("{wanted}.message"),
                                    format!("{} {code}", found.id),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }

    /// A `sandbox.yaml` skeleton: one collection per record path among the chosen
    /// operations (`POST /x` with `GET /x/{id}` and friends).
    fn sandbox_skeleton(&self) -> String {
        let mut collections: BTreeMap<String, BTreeMap<&str, &Found>> = BTreeMap::new();
        let mut id_formats: BTreeMap<String, &str> = BTreeMap::new();
        for found in self.chosen {
            let (mut collection_path, by_id) = match found.path.rsplit_once('/') {
                Some((parent, last)) if last.starts_with('{') && last.ends_with('}') => {
                    (parent.to_string(), true)
                }
                _ => (found.path.clone(), false),
            };
            // `POST /records/query` lists the records of `/records`.
            let query = match found.path.rsplit_once('/') {
                Some((parent, "query" | "search")) if found.method == "post" => {
                    collection_path = parent.to_string();
                    true
                }
                _ => false,
            };
            let action = match (found.method.as_str(), by_id) {
                ("post", false) if query => "list",
                ("post", false) => "create",
                ("get", false) => "list",
                ("get", true) => "get",
                ("put" | "patch", true) => "update",
                ("delete", true) => "delete",
                _ => continue,
            };
            if by_id {
                let format = self.id_format(found);
                id_formats.entry(collection_path.clone()).or_insert(format);
            }
            collections
                .entry(collection_path)
                .or_default()
                .entry(action)
                .or_insert(found);
        }
        let auth = self.auth_guess();
        let mut out = format!(
            "# The emulator of {}: served by `Sandbox::start_described` and\n\
             # `unifold sandbox --dir`. Paths and request schemas come from openapi.yaml; the\n\
             # rest is the vendor's behaviour, described in docs/provider-authoring.md. The\n\
             # shapes below are guessed from the document: check them against real responses.\n",
            self.provider
        );
        match (&auth.bearer, &auth.header) {
            (None, Some((_, header))) => out.push_str(&format!(
                "auth:\n  type: header\n  header: {}\n",
                yaml_writer::string(header, false)
            )),
            _ => out.push_str("auth:\n  type: bearer                 # bearer | header (with `header: X-Api-Key`)\n"),
        }
        if auth.token_url.is_some() {
            out.push_str("  # token_path: /oauth/token     # serve OAuth refresh grants here\n");
        }
        let creates = collections
            .values()
            .filter_map(|actions| actions.get("create"));
        if let Some(envelope) = creates
            .filter_map(|found| self.request_envelope(found))
            .next()
        {
            out.push_str(&format!(
                "request_envelope: {envelope}     # request bodies wrap the record\n"
            ));
        }
        out.push_str("collections:\n");
        if collections.is_empty() {
            out.push_str(
                "  {}                            # no record paths among the operations\n",
            );
        }
        let mut record_template = None;
        let mut list_template = None;
        for (path, actions) in &collections {
            let name = path
                .rsplit('/')
                .find(|segment| !segment.is_empty() && !segment.starts_with('{'))
                .unwrap_or("records");
            let name: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            let singular = name.strip_suffix('s').unwrap_or(&name);
            out.push_str(&format!(
                "  {name}:\n    singular: {singular}\n    operations:\n"
            ));
            for action in ["create", "get", "update", "delete", "list"] {
                if let Some(found) = actions.get(action) {
                    out.push_str(&format!("      {action}: {}\n", found.id));
                }
            }
            let format = id_formats.get(path).copied().unwrap_or("string");
            out.push_str(&format!(
                "    id: {{ field: id, format: {format} }}   # integer | uuid | string (with `prefix:`)\n\
                 \x20   # required: [name]           # refused with `errors.required` when missing or empty\n\
                 \x20   # unique: [email]            # refused with `errors.conflict` when taken\n"
            ));
            if record_template.is_none() {
                record_template = actions
                    .get("get")
                    .or(actions.get("create"))
                    .and_then(|found| self.response_template(found, false));
            }
            if list_template.is_none() {
                list_template = actions
                    .get("list")
                    .and_then(|found| self.response_template(found, true));
            }
        }
        out.push_str(&format!(
            "responses:\n  record: {}\n  list: {}\n  deleted: {{}}\n",
            record_template.unwrap_or_else(|| "\"{record}\"".into()),
            list_template.unwrap_or_else(|| "\"{records}\"".into()),
        ));
        match self.page_guess() {
            Some(guess) => {
                let (style, param_key) = if guess.cursor {
                    ("cursor", "cursor_param")
                } else {
                    ("offset", "offset_param")
                };
                out.push_str(&format!(
                    "pagination:                    # guessed from `{}`\n  style: {style}                # offset | cursor | next_url\n  {param_key}: {}\n  limit_param: {}\n  default_limit: {}\n  max_limit: {}\n",
                    guess.operation,
                    guess.param,
                    guess.limit.as_deref().unwrap_or("limit"),
                    guess.max.min(100),
                    guess.max,
                ));
            }
            None => out.push_str(
                "pagination:\n  style: offset                # offset | cursor | next_url\n  offset_param: offset\n  limit_param: limit\n",
            ),
        }
        let body = self
            .error_template()
            .unwrap_or_else(|| "{ message: \"{message}\" }".into());
        out.push_str(&format!(
            "errors:\n  body: {body}\n  # not_found: \"{{Singular}} not found\"     # messages per kind; see docs/provider-authoring.md\n"
        ));
        out
    }

    /// The key a create's request body wraps the record in, when it has exactly one
    /// object property (`{"invoice": {...}}`).
    fn request_envelope(&self, found: &Found) -> Option<String> {
        let body = self.resolve(self.operation(found)?.get("requestBody")?);
        let schema = json_content(&body)?;
        let sources = Sources::default();
        let mut quiet = Reader::new(&sources);
        let properties = openapi::properties(&mut quiet, self.root, &schema);
        match properties.as_slice() {
            [(name, property)]
                if openapi::schema_type(&openapi::resolve(&mut quiet, self.root, property))
                    .as_deref()
                    == Some("object") =>
            {
                Some(name.clone())
            }
            _ => None,
        }
    }

    /// A response template from an operation's success schema: the record (an object
    /// with an `id`) or the records (an array) as placeholders, `true` for flags.
    fn response_template(&self, found: &Found, list: bool) -> Option<String> {
        let op = self.operation(found)?;
        let (_, response) = op.get("responses")?.entries().iter().find(|(code, _)| {
            matches!(&code.value, Value::Str(c) if c.starts_with('2'))
                || matches!(code.value, Value::Int(200..=299))
        })?;
        let schema = json_content(&self.resolve(response))?;
        let sources = Sources::default();
        let mut quiet = Reader::new(&sources);
        let mut parts = Vec::new();
        for (name, property) in openapi::properties(&mut quiet, self.root, &schema) {
            let property = openapi::resolve(&mut quiet, self.root, &property);
            let has_id = openapi::properties(&mut quiet, self.root, &property)
                .iter()
                .any(|(key, _)| key == "id");
            let value = match openapi::schema_type(&property).as_deref() {
                Some("array") if list => "\"{records}\"",
                Some("object") if !list && has_id => "\"{record}\"",
                Some("boolean") => "true",
                Some("string") if list && name.starts_with("next") => "\"{next_cursor}\"",
                _ => continue,
            };
            parts.push(format!("{}: {value}", yaml_writer::string(&name, true)));
        }
        let placeholder = if list { "{records}" } else { "{record}" };
        parts
            .iter()
            .any(|p| p.contains(placeholder))
            .then(|| format!("{{ {} }}", parts.join(", ")))
    }

    /// An error body template from the schema of the first 4xx response.
    fn error_template(&self) -> Option<String> {
        let (path, _) = self.error_message()?;
        Some(match path.split_once('.') {
            Some((outer, inner)) => {
                format!("{{ {outer}: {{ {inner}: \"{{message}}\", code: \"{{code}}\" }} }}")
            }
            None => format!("{{ {path}: \"{{message}}\" }}"),
        })
    }

    /// The id format of a record path's `{id}` parameter.
    fn id_format(&self, found: &Found) -> &'static str {
        let item = path_item(self.root, &found.path);
        let params = item
            .and_then(|i| i.get("parameters"))
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .chain(
                self.operation(found)
                    .and_then(|op| op.get("parameters"))
                    .map(Node::items)
                    .unwrap_or(&[]),
            )
            .map(|p| self.resolve(p))
            .find(|p| p.get("in").and_then(Node::as_str) == Some("path"));
        let schema = params
            .as_ref()
            .and_then(|p| p.get("schema"))
            .map(|s| self.resolve(s));
        match schema.as_ref().and_then(openapi::schema_type).as_deref() {
            Some("integer" | "number") => "integer",
            _ if schema
                .as_ref()
                .and_then(|s| s.get("format"))
                .and_then(Node::as_str)
                == Some("uuid") =>
            {
                "uuid"
            }
            _ => "string",
        }
    }
}
