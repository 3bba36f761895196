//! Mappings (`providers/<name>/mappings/<model>.yaml`), checked against the unified
//! model and the provider's OpenAPI document and lowered to the IR the emitter reads.
//! The language is documented in `docs/mapping-language.md`.

use crate::check::provider::parse_path;
use crate::diagnostics::{did_you_mean, one_of};
use crate::ir::*;
use crate::parse::openapi::{self, Operation};
use crate::parse::path;
use crate::parse::reader::Reader;
use crate::parse::yaml::{Node, Value};

const MAPPING_KEYS: &[&str] = &[
    "model",
    "ignore_on_write",
    "description",
    "actions",
    "fields",
    "write",
    "custom_fields",
    "passthrough",
];
const ACTIONS: &[&str] = &[
    "create", "get", "update", "delete", "list", "find_by", "link", "upsert",
];
const FIELD_RULE_KEYS: &[&str] = &[
    "path",
    "read_only",
    "write_only",
    "default",
    "read_path",
    "scale",
    "split",
    "template",
    "create_only",
    "values",
    "read_fallback",
    "write_fallback",
    "primary",
    "each",
];
/// Transforms a `write:` entry may use; checked so a typo is a build error.
pub const TRANSFORMS: &[&str] = &["const", "join", "now"];

pub fn read(
    reader: &mut Reader,
    root: &Node,
    models: &ModelSet,
    provider: &Provider,
) -> Option<Mapping> {
    if !reader.keys(root, MAPPING_KEYS, "a mapping") {
        return None;
    }
    let (model_name, model_node) =
        reader.required_string(root, "model", "the unified model this file maps")?;
    let Some(model) = models.get(&model_name).filter(|m| m.is_model) else {
        let help = match did_you_mean(&model_name, models.model_names()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("unified models are {}", one_of(models.model_names())),
        };
        reader
            .error(model_node, format!("unknown unified model `{model_name}`"))
            .help = Some(help);
        return None;
    };
    let mut checker = Checker {
        reader,
        models,
        provider,
        model,
        write_ops: Vec::new(),
        read_targets: Vec::new(),
        skip_envelope: false,
        reading: false,
        create_only: false,
        custom_under: None,
    };

    let mut create_op = None;
    let mut get_op = None;
    let mut update_op = None;
    let mut delete_op = None;
    let mut list_op = None;
    let mut returns = Returns::Record;
    let mut update_returns = Returns::Record;
    let mut merge_current = false;
    let mut actions_node = None;
    if let Some(actions) = root.get("actions") {
        actions_node = Some(actions);
        checker.reader.keys(actions, ACTIONS, "`actions`");
        if let Some(create) = actions.get("create") {
            checker.reader.keys(
                create,
                &["operation", "returns", "batch"],
                "the `create` action",
            );
            create_op = checker.operation(create, &["post", "put"]);
            if let Some(spec) = create.get("returns") {
                returns = checker.returns(spec);
            }
        }
        if let Some(get) = actions.get("get") {
            checker
                .reader
                .keys(get, &["operation", "query", "id"], "the `get` action");
            get_op = checker.operation(get, &["get"]);
        }
        if let Some(update) = actions.get("update") {
            checker.reader.keys(
                update,
                &["operation", "returns", "id", "merge_current", "batch"],
                "the `update` action",
            );
            update_op = checker.operation(update, &["patch", "put", "post"]);
            if let Some(spec) = update.get("returns") {
                update_returns = checker.returns(spec);
            }
            merge_current = checker.reader.boolean(update, "merge_current");
        }
        if let Some(delete) = actions.get("delete") {
            checker
                .reader
                .keys(delete, &["operation", "id"], "the `delete` action");
            delete_op = checker.operation(delete, &["delete"]);
        }
        if let Some(list) = actions.get("list") {
            checker.reader.keys(
                list,
                &["operation", "query", "body", "modified_since"],
                "the `list` action",
            );
            list_op = checker.operation(list, &["get", "post"]);
            if list_op.is_some() && provider.pagination.is_none() {
                checker.reader.error(list, format!("`list` needs the provider's pagination, but `{}`'s provider.yaml has no `pagination:`", provider.name));
            }
        }
    } else {
        checker.reader.error(root, "the mapping has no `actions:`").help =
            Some("add `actions: { create: { operation: <operationId> }, get: { operation: <operationId> } }`".into());
    }
    let reads_back = |r: &Returns| !matches!(r, Returns::Record);
    if (reads_back(&returns)
        || (update_op.is_some() && reads_back(&update_returns))
        || merge_current)
        && root.get("actions").and_then(|a| a.get("get")).is_none()
    {
        checker.reader.error(root, "this mapping reads records back with `get` (`returns:` or `merge_current`), but it has no `get` action");
    }

    // Every schema a field must fit: request bodies of the write actions, and the
    // record in every response a record is read from.
    checker.write_ops = [create_op, update_op]
        .into_iter()
        .flatten()
        .map(|(op, _)| op)
        .collect();
    let mut read_targets = Vec::new();
    if let Some((op, _)) = get_op
        && let Some(schema) = op.response.clone()
    {
        read_targets.push((op, schema, true));
    }
    if let (Some((op, _)), Returns::Record) = (create_op, &returns)
        && let Some(schema) = op.response.clone()
    {
        read_targets.push((op, schema, true));
    }
    if let (Some((op, _)), Returns::Record) = (update_op, &update_returns)
        && let Some(schema) = op.response.clone()
    {
        read_targets.push((op, schema, true));
    }
    if let (Some((op, _)), Some(pagination)) = (list_op, &provider.pagination)
        && let Some(schema) = op.response.clone()
    {
        let mut records = pagination.records.clone();
        records.push(Seg::Index(0));
        if let Some(item) = checker.schema_at(&schema, &records) {
            read_targets.push((op, item, false));
        }
    }
    let mut since_op = None;
    if let Some(since) = root
        .get("actions")
        .and_then(|a| a.get("list"))
        .and_then(|l| l.get("modified_since"))
        && since.get("operation").is_some()
        && let Some(pagination) = &provider.pagination
        && let Some((op, _)) = checker.operation(since, &["get", "post"])
    {
        if let Some(schema) = op.response.clone() {
            let mut records = pagination.records.clone();
            records.push(Seg::Index(0));
            if let Some(item) = checker.schema_at(&schema, &records) {
                read_targets.push((op, item, false));
            }
        }
        since_op = Some(op);
    }
    let find_ops = checker.find_operations(root, &mut read_targets);
    checker.read_targets = read_targets;
    let first_write = create_op.or(update_op).map(|(op, _)| op);

    let mut writes = Vec::new();
    let mut reads = Vec::new();
    // A field that does not fit the single-record operations is reported there once,
    // not again for every batch endpoint.
    let problems_before_fields = checker.reader.problems.len();
    match root.get("fields") {
        Some(fields) if matches!(fields.value, Value::Map(_)) => {
            for (name_node, rule) in fields.entries() {
                checker.field(
                    name_node,
                    rule,
                    first_write,
                    get_op.map(|(op, _)| op),
                    &returns,
                    &mut writes,
                    &mut reads,
                );
            }
        }
        Some(other) => {
            checker
                .reader
                .error(other, "`fields` must map unified fields to provider paths");
        }
        None => {
            checker.reader.error(root, "the mapping has no `fields:`");
        }
    }
    if let Some(computed) = root.get("write") {
        for (path_node, rule) in computed.entries() {
            if let Some(write) = checker.computed(path_node, rule, first_write) {
                writes.push(write);
            }
        }
    }
    let custom = root.get("custom_fields").and_then(|node| {
        checker.reader.keys(
            node,
            &["field", "under", "value_path", "strings"],
            "`custom_fields`",
        );
        let field = checker.json_field(node)?;
        let under = checker.under(node, first_write)?;
        let value_path =
            match checker
                .reader
                .optional_string(node, "value_path", "a path inside each value")
            {
                Some((text, at)) => parse_path(checker.reader, &text, at)?,
                None => Vec::new(),
            };
        let strings = checker.reader.boolean(node, "strings");
        Some(CustomFields {
            field,
            under,
            value_path,
            strings,
        })
    });
    let passthrough = root.get("passthrough").and_then(|node| {
        checker
            .reader
            .keys(node, &["field", "under"], "`passthrough`");
        let field = checker.json_field(node)?;
        let under = checker.under(node, first_write)?;
        Some(Passthrough { field, under })
    });
    checker.custom_under = custom.as_ref().map(|c| c.under.clone());
    let mut ignore_on_write = Vec::new();
    for node in root.get("ignore_on_write").map(Node::items).unwrap_or(&[]) {
        let Some(name) = checker.reader.string(node, "a unified field") else {
            continue;
        };
        if model.field(&name).is_some_and(|f| !f.read_only) {
            ignore_on_write.push(name);
        } else {
            let names = model
                .fields()
                .iter()
                .filter(|f| !f.read_only)
                .map(|f| f.name.as_str());
            let help = did_you_mean(&name, names).map(|c| format!("did you mean `{c}`?"));
            checker
                .reader
                .error(
                    node,
                    format!("`{name}` is not a writable field of `{}`", model.name),
                )
                .help = help;
        }
    }

    let mut provider_required = Vec::new();
    let create = match create_op {
        Some((op, op_node)) => {
            checker.required_fields(op, op_node, &writes, &mut provider_required);
            Some((checker.call(op, None, None), returns))
        }
        None => None,
    };
    let action = |name: &str| actions_node.and_then(|a| a.get(name));
    let get = match (get_op, action("get")) {
        (Some((op, _)), Some(node)) => {
            let query = checker.query(op, node, &reads);
            let id_param = checker.id_param(op, node);
            Some(checker.call(op, id_param, Some(query)))
        }
        _ => None,
    };
    let update = match (update_op, action("update")) {
        (Some((op, _)), Some(node)) => {
            let id_param = checker.id_param(op, node);
            Some(UpdateAction {
                call: checker.call(op, id_param, None),
                returns: update_returns,
                merge_current,
            })
        }
        _ => None,
    };
    let delete = match (delete_op, action("delete")) {
        (Some((op, _)), Some(node)) => {
            let id_param = checker.id_param(op, node);
            Some(checker.call(op, id_param, None))
        }
        _ => None,
    };
    let list = match (list_op, action("list")) {
        (Some((op, _)), Some(node)) if provider.pagination.is_some() => {
            let query = checker.query(op, node, &reads);
            let body = node.get("body").map(|b| checker.constant_json(b));
            let modified_since = node.get("modified_since").map(|since| {
                checker.reader.keys(since, &["operation", "query", "body", "params_in"], "`modified_since`");
                let since_operation = since_op.unwrap_or(op);
                let query = checker.query(since_operation, since, &reads);
                let body = since.get("body").map(|b| {
                    let json = checker.constant_json(b);
                    expand_mapped_under(&json, &reads, checker.custom_under.as_deref())
                });
                let params_in_body = match checker.reader.optional_string(since, "params_in", "where parameters go") {
                    None => None,
                    Some((place, _)) if place == "body" => Some(true),
                    Some((place, _)) if place == "query" => Some(false),
                    Some((_, bad)) => {
                        checker.reader.error(bad, "`params_in` is `query` or `body`");
                        None
                    }
                };
                let uses = |text: &str| text.contains("{modified_since}") || text.contains("{modified_since_ms}");
                if !query.iter().any(|(_, value)| uses(value)) && !body.as_ref().is_some_and(|b| uses(&format!("{b:?}"))) {
                    checker.reader.error(
                        since,
                        "`modified_since` must use `{modified_since}` or `{modified_since_ms}` in a query value or its body",
                    );
                }
                SinceAction {
                    call: checker.call(since_operation, None, Some(query)),
                    body,
                    params_in_body,
                }
            });
            Some(ListAction {
                call: checker.call(op, None, Some(query)),
                body,
                modified_since,
            })
        }
        _ => None,
    };
    let mut finds = Vec::new();
    for (key, op, spec, records) in find_ops {
        let query = checker.query(op, spec, &reads);
        let body = spec.get("body").map(|b| {
            let json = checker.constant_json(b);
            expand_mapped_under(&json, &reads, checker.custom_under.as_deref())
        });
        let uses_key = query.iter().any(|(_, v)| v.contains("{key"))
            || body
                .as_ref()
                .is_some_and(|b| format!("{b:?}").contains("{key}"));
        if !uses_key {
            checker.reader.error(
                spec,
                format!("`find_by.{key}` never uses `{{key}}` in its query or body"),
            );
        }
        finds.push(FindAction {
            key,
            call: checker.call(op, None, Some(query)),
            body,
            records,
        });
    }
    let links = checker.link_actions(action("link"));
    let upsert = action("upsert").and_then(|node| checker.upsert(root, node));
    let fields_fit = checker.reader.problems.len() == problems_before_fields;
    let create_batch = action("create")
        .filter(|_| create.is_some())
        .and_then(|node| node.get("batch"))
        .and_then(|batch| checker.batch(batch, false, &writes, &reads, fields_fit));
    let update_batch = match (action("update").and_then(|node| node.get("batch")), &update) {
        (Some(batch), Some(update)) if update.merge_current => {
            checker.reader.error(
                batch,
                "an update with `merge_current` reads each record first, so it cannot be batched",
            );
            None
        }
        (Some(batch), Some(_)) => checker.batch(batch, true, &writes, &reads, fields_fit),
        _ => None,
    };
    Some(Mapping {
        model: model.name.clone(),
        create,
        get,
        update,
        delete,
        list,
        finds,
        links,
        custom,
        passthrough,
        ignore_on_write,
        upsert,
        writes,
        reads,
        provider_required,
        create_batch,
        update_batch,
    })
}

/// A `find_by` action as read: its key, operation, spec and records path.
type FindOperation<'m, 'n> = (String, &'m Operation, &'n Node, Vec<Seg>);

struct Checker<'r, 's, 'm> {
    reader: &'r mut Reader<'s>,
    models: &'m ModelSet,
    provider: &'m Provider,
    model: &'m TypeDef,
    /// Operations whose request bodies every write path must fit.
    write_ops: Vec<&'m Operation>,
    /// Schemas every read path must fit: (operation, record schema, below envelope).
    read_targets: Vec<(&'m Operation, Node, bool)>,
    skip_envelope: bool,
    /// A response is being checked (its envelope may differ from the request's).
    reading: bool,
    /// The field being checked is written on create only.
    create_only: bool,
    /// Where custom fields live, so field lists in queries can name them.
    custom_under: Option<Vec<Seg>>,
}

impl<'m> Checker<'_, '_, 'm> {
    /// The `upsert` action: the find it falls back on, the key taken from the input,
    /// and whether it looks first (providers that accept duplicates).
    fn upsert(&mut self, root: &Node, node: &Node) -> Option<Upsert> {
        self.reader
            .keys(node, &["find_by", "key", "strategy"], "the `upsert` action");
        let (find_by, find_node) = self.reader.required_string(
            node,
            "find_by",
            "the find_by key used when a conflict does not name the record",
        )?;
        if root
            .get("actions")
            .and_then(|a| a.get("find_by"))
            .is_none_or(|f| f.get(&find_by).is_none())
        {
            self.reader.error(
                find_node,
                format!("`upsert` uses `find_by.{find_by}`, which this mapping does not declare"),
            );
        }
        if root.get("actions").and_then(|a| a.get("update")).is_none()
            || root.get("actions").and_then(|a| a.get("create")).is_none()
        {
            self.reader
                .error(node, "`upsert` needs both `create` and `update` actions");
        }
        let (key, key_node) =
            self.reader
                .required_string(node, "key", "the input path of the key")?;
        let inputs = [("input".to_string(), self.model.name.clone())];
        let key = crate::check::composite::key_path(
            self.reader,
            key_node,
            &format!("input.{key}"),
            self.models,
            &inputs,
        )?;
        let find_first =
            match self
                .reader
                .optional_string(node, "strategy", "`on_conflict` or `find_first`")
            {
                None => false,
                Some((strategy, _)) if strategy == "on_conflict" => false,
                Some((strategy, _)) if strategy == "find_first" => true,
                Some((strategy, at)) => {
                    self.reader.error(
                        at,
                        format!("`strategy` is `on_conflict` or `find_first`, not `{strategy}`"),
                    );
                    false
                }
            };
        Some(Upsert {
            find_by,
            key,
            find_first,
        })
    }

    /// The `link` actions: each target model, its operation, and its path parameters
    /// bound to the two records.
    fn link_actions(&mut self, specs: Option<&Node>) -> Vec<LinkAction> {
        let Some(specs) = specs else {
            return Vec::new();
        };
        specs
            .entries()
            .iter()
            .filter_map(|(target_node, spec)| self.link_action(target_node, spec))
            .collect()
    }

    fn link_action(&mut self, target_node: &Node, spec: &Node) -> Option<LinkAction> {
        let target = self.reader.string(target_node, "a linked model")?;
        if !self
            .models
            .models()
            .any(|m| crate::naming::snake(&m.name) == target)
        {
            let names: Vec<String> = self
                .models
                .models()
                .map(|m| crate::naming::snake(&m.name))
                .collect();
            let help = match did_you_mean(&target, names.iter().map(String::as_str)) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("models are {}", one_of(names.iter().map(String::as_str))),
            };
            self.reader
                .error(target_node, format!("`{target}` is not a unified model"))
                .help = Some(help);
            return None;
        }
        self.reader.keys(
            spec,
            &["operation", "path_params", "body"],
            &format!("`link.{target}`"),
        );
        let (op, _) = self.operation(spec, &["put", "post", "patch"])?;
        let mut bound = Vec::new();
        if let Some(params) = spec.get("path_params") {
            for (name_node, side) in params.entries() {
                let (Some(name), Some(side_text)) = (
                    self.reader.string(name_node, "a path parameter"),
                    self.reader.string(side, "`from` or `to`"),
                ) else {
                    continue;
                };
                if !op
                    .parameters
                    .iter()
                    .any(|p| p.location == "path" && p.name == name)
                {
                    self.reader.error(
                        name_node,
                        format!("`{name}` is not a path parameter of `{}`", op.id),
                    );
                    continue;
                }
                match side_text.as_str() {
                    "from" | "to" => bound.push((name, side_text == "from")),
                    _ => {
                        self.reader
                            .error(side, "a path parameter is bound to `from` or `to`");
                    }
                }
            }
        }
        // Bind in the order the parameters appear in the path.
        let mut params = Vec::new();
        for part in op.path.split('{').skip(1) {
            let name = part.split('}').next().unwrap_or_default();
            match bound.iter().find(|(n, _)| n == name) {
                Some(entry) => params.push(entry.clone()),
                None => {
                    self.reader.error(spec, format!("path parameter `{name}` of `{}` is not bound: add it to `path_params` as `from` or `to`", op.id));
                }
            }
        }
        let body = spec.get("body").map(|b| self.constant_json(b));
        Some(LinkAction {
            target,
            call: self.call(op, None, None),
            params,
            body,
        })
    }

    /// The `find_by` actions: each key, its operation, its spec and where its matching
    /// records are; each records array becomes a schema fields are read from.
    fn find_operations<'n>(
        &mut self,
        root: &'n Node,
        read_targets: &mut Vec<(&'m Operation, Node, bool)>,
    ) -> Vec<FindOperation<'m, 'n>> {
        let mut find_ops = Vec::new();
        if let Some(finds) = root.get("actions").and_then(|a| a.get("find_by")) {
            for (key_node, spec) in finds.entries() {
                let Some(key) = self.reader.string(key_node, "a find key") else {
                    continue;
                };
                if !crate::naming::is_module_name(&key) {
                    self.reader.error(
                        key_node,
                        format!("`{key}` is not a valid key name (snake_case)"),
                    );
                    continue;
                }
                self.reader.keys(
                    spec,
                    &["operation", "query", "body", "records"],
                    &format!("`find_by.{key}`"),
                );
                let Some((op, _)) = self.operation(spec, &["get", "post"]) else {
                    continue;
                };
                let Some((text, node)) =
                    self.reader
                        .required_string(spec, "records", "where the matching records are")
                else {
                    continue;
                };
                let Some(records) = parse_path(self.reader, &text, node) else {
                    continue;
                };
                if let Some(schema) = op.response.clone() {
                    let mut item = records.clone();
                    item.push(Seg::Index(0));
                    match self.schema_at(&schema, &item) {
                        Some(item) => read_targets.push((op, item, false)),
                        None => {
                            self.reader.error(
                                node,
                                format!("`{text}` is not an array in the response of `{}`", op.id),
                            );
                        }
                    }
                }
                find_ops.push((key, op, spec, records));
            }
        }
        find_ops
    }

    fn operation<'n>(
        &mut self,
        action: &'n Node,
        methods: &[&str],
    ) -> Option<(&'m Operation, &'n Node)> {
        let (id, node) = self
            .reader
            .required_string(action, "operation", "the operationId")?;
        let openapi = &self.provider.openapi;
        let Some(op) = openapi.operation(&id) else {
            let ids = openapi.operations.iter().map(|op| op.id.as_str());
            let help = match did_you_mean(&id, ids.clone()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "operations in the OpenAPI document of `{}` are {}",
                    self.provider.name,
                    one_of(ids)
                ),
            };
            self.reader
                .error(node, format!("unknown operation `{id}`"))
                .with_label_mut(format!(
                    "no operationId `{id}` in {}'s OpenAPI document",
                    self.provider.name
                ))
                .help = Some(help);
            return None;
        };
        if !methods.contains(&op.method.as_str()) {
            self.reader.error(
                node,
                format!(
                    "operation `{id}` is `{} {}`, but this action needs {}",
                    op.method.to_uppercase(),
                    op.path,
                    methods
                        .iter()
                        .map(|m| m.to_uppercase())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            );
            return None;
        }
        Some((op, node))
    }

    fn returns(&mut self, spec: &Node) -> Returns {
        if spec.as_str() == Some("record") {
            return Returns::Record;
        }
        if spec.as_str() == Some("nothing") {
            return Returns::Nothing;
        }
        if self.reader.keys(spec, &["id"], "`returns`")
            && let Some((text, node)) = self.reader.required_string(spec, "id", "the id path")
            && let Some(path) = parse_path(self.reader, &text, node)
        {
            return Returns::IdThenGet(path);
        }
        Returns::Record
    }

    fn call(
        &self,
        op: &Operation,
        id_param: Option<String>,
        query: Option<Vec<(String, String)>>,
    ) -> HttpCall {
        HttpCall {
            operation: op.id.clone(),
            method: op.method.clone(),
            path: op.path.clone(),
            id_param,
            query: query.unwrap_or_default(),
        }
    }

    fn id_param(&mut self, op: &Operation, get: &Node) -> Option<String> {
        let path_params: Vec<&str> = op
            .parameters
            .iter()
            .filter(|p| p.location == "path")
            .map(|p| p.name.as_str())
            .collect();
        if let Some((name, node)) = self.reader.optional_string(get, "id", "the id parameter") {
            if !path_params.contains(&name.as_str()) {
                self.reader
                    .error(
                        node,
                        format!("`{name}` is not a path parameter of `{}`", op.id),
                    )
                    .help = Some(format!(
                    "path parameters are {}",
                    one_of(path_params.iter().copied())
                ));
            }
            return Some(name);
        }
        match path_params.as_slice() {
            [only] => Some(only.to_string()),
            _ => {
                self.reader.error(get, format!("operation `{}` has {} path parameters; say which takes the record id with `id:`", op.id, path_params.len()));
                None
            }
        }
    }

    fn query(&mut self, op: &Operation, get: &Node, reads: &[Read]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let Some(query) = get.get("query") else {
            return out;
        };
        for (name_node, value) in query.entries() {
            let Some(name) = self.reader.string(name_node, "a query parameter") else {
                continue;
            };
            let known: Vec<&str> = op
                .parameters
                .iter()
                .filter(|p| p.location == "query")
                .map(|p| p.name.as_str())
                .collect();
            if !known.contains(&name.as_str()) {
                let help = match did_you_mean(&name, known.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "query parameters of `{}` are {}",
                        op.id,
                        one_of(known.iter().copied())
                    ),
                };
                self.reader
                    .error(
                        name_node,
                        format!("`{name}` is not a query parameter of `{}`", op.id),
                    )
                    .help = Some(help);
                continue;
            }
            if let Some(prefix) = value.get("mapped_under") {
                let Some(prefix) = self.reader.string(prefix, "a path prefix") else {
                    continue;
                };
                let mut keys: Vec<String> = Vec::new();
                for read in reads {
                    let path = match read {
                        Read::Scalar { path, .. }
                        | Read::Primary { path, .. }
                        | Read::Each { path, .. } => path,
                        Read::EachString { path, .. } => path,
                        Read::Record { .. } => continue,
                    };
                    if let [Seg::Key(first), Seg::Key(key), ..] = path.as_slice()
                        && *first == prefix
                        && !keys.contains(key)
                    {
                        keys.push(key.clone());
                    }
                }
                if keys.is_empty() {
                    self.reader.error(
                        value,
                        format!("no field of this mapping is read from under `{prefix}`"),
                    );
                }
                let mut list = keys.join(",");
                if self.custom_under.as_deref() == Some(&[Seg::Key(prefix.clone())][..]) {
                    list.push_str("{custom_fields|,}");
                }
                out.push((name, list));
            } else if let Some(text) = self
                .reader
                .string(value, "a query value or `{ mapped_under: ... }`")
            {
                // `{fields}`: every top-level provider field this mapping reads
                // (SOQL's SELECT list).
                let text = if text.contains("{fields}") {
                    let mut keys: Vec<String> = Vec::new();
                    for read in reads {
                        let path = match read {
                            Read::Scalar { path, .. }
                            | Read::Primary { path, .. }
                            | Read::Each { path, .. } => path,
                            Read::EachString { path, .. } => path,
                            Read::Record { .. } => continue,
                        };
                        if let Some(Seg::Key(first)) = path.first()
                            && !keys.contains(first)
                        {
                            keys.push(first.clone());
                        }
                    }
                    let custom = if self.custom_under.as_deref() == Some(&[][..]) {
                        "{custom_fields|, }"
                    } else {
                        ""
                    };
                    text.replace("{fields}", &format!("{}{custom}", keys.join(", ")))
                } else {
                    text
                };
                out.push((name, text));
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn field(
        &mut self,
        name_node: &Node,
        rule: &Node,
        create: Option<&Operation>,
        get: Option<&Operation>,
        returns: &Returns,
        writes: &mut Vec<Write>,
        reads: &mut Vec<Read>,
    ) {
        let Some(name) = self.reader.string(name_node, "a unified field name") else {
            return;
        };
        let Some(field) = self.model.field(&name) else {
            let names = self.model.fields().iter().map(|f| f.name.as_str());
            let help = match did_you_mean(&name, names.clone()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("fields of `{}` are {}", self.model.name, one_of(names)),
            };
            self.reader
                .error(name_node, format!("unknown unified field `{name}`"))
                .with_label_mut(format!("`{}` has no field `{name}`", self.model.name))
                .help = Some(help);
            return;
        };
        // Shorthand `field: path`, or a rule mapping.
        let (path_text, path_node, rule_map) = match &rule.value {
            Value::Str(text) => (text.clone(), rule, None),
            Value::Map(_) => {
                if !self
                    .reader
                    .keys(rule, FIELD_RULE_KEYS, &format!("the mapping of `{name}`"))
                {
                    return;
                }
                let Some((text, node)) = self.reader.required_string(
                    rule,
                    "path",
                    &format!("the provider path of `{name}`"),
                ) else {
                    return;
                };
                (text, node, Some(rule))
            }
            _ => {
                let found = rule.kind();
                self.reader.error(rule, format!("the mapping of `{name}` must be a provider path or a mapping, found {found}"));
                return;
            }
        };
        let Some(path) = parse_path(self.reader, &path_text, path_node) else {
            return;
        };
        let (mut read_only, mut write_only) = (field.read_only, field.write_only);
        let mut default = None;
        let mut primary = None;
        let mut each = None;
        let mut read_path = None;
        let mut template = None;
        let mut create_only = false;
        let mut scale = None;
        let mut split = None;
        if let Some(rule) = rule_map {
            if let Some((part, node)) =
                self.reader
                    .optional_string(rule, "split", "`first` or `last`")
            {
                split = match part.as_str() {
                    "first" => Some(true),
                    "last" => Some(false),
                    _ => {
                        self.reader.error(
                            node,
                            format!("`split` takes `first` or `last`, not `{part}`"),
                        );
                        None
                    }
                };
                if field.ty != FieldType::String {
                    self.reader.error(
                        node,
                        format!(
                            "`split` reads part of a string; `{name}` is {}",
                            field.ty.describe()
                        ),
                    );
                }
                if !self.reader.boolean(rule, "read_only") && !field.read_only {
                    self.reader.error(node, "`split` only reads: add `read_only: true` and write the whole value with `join`").help =
                        Some("e.g. `write: { <path>: { join: [first_name, last_name] } }`".into());
                }
            }
            if let Some(node) = rule.get("scale") {
                scale = match (&node.value, &field.ty) {
                    (Value::Int(n), FieldType::Number) if *n != 0 => Some(*n as f64),
                    (Value::Float(n), FieldType::Number) if *n != 0.0 => Some(*n),
                    (_, FieldType::Number) => {
                        self.reader.error(node, "`scale` must be a non-zero number");
                        None
                    }
                    _ => {
                        self.reader.error(
                            node,
                            format!(
                                "`scale` converts number fields; `{name}` is {}",
                                field.ty.describe()
                            ),
                        );
                        None
                    }
                };
            }
            read_only |= self.reader.boolean(rule, "read_only");
            write_only |= self.reader.boolean(rule, "write_only");
            default = rule.get("default").and_then(|d| self.constant(d));
            primary = rule.get("primary");
            each = rule.get("each");
            create_only = self.reader.boolean(rule, "create_only");
            template = rule.get("template");
            if let Some((text, node)) =
                self.reader
                    .optional_string(rule, "read_path", "a provider path")
            {
                read_path = parse_path(self.reader, &text, node).map(|path| (path, node.clone()));
            }
        }
        let item_type = match &field.ty {
            FieldType::List(item) => match item.as_ref() {
                FieldType::Named(name) => self.models.get(name),
                _ => None,
            },
            _ => None,
        };

        if path.is_empty() {
            if !matches!(field.ty, FieldType::Json) {
                self.reader.error(
                    path_node,
                    format!(
                        "`$` (the whole record) can only map to a json field; `{name}` is {}",
                        field.ty.describe()
                    ),
                );
            }
            reads.push(Read::Record { field: name });
            return;
        }

        if let Some(primary_node) = primary {
            let Some(item_type) = item_type else {
                self.reader.error(
                    primary_node,
                    format!(
                        "`primary` needs a list of objects; `{name}` is {}",
                        field.ty.describe()
                    ),
                );
                return;
            };
            let Some(item_field) = self.item_field(item_type, primary_node) else {
                return;
            };
            let item_ty = item_field.ty.clone();
            let item_name = item_field.name.clone();
            if !read_only && create.is_some() {
                let provider_type = self.check_write(
                    &path,
                    path_node,
                    "request body",
                    &item_ty,
                    &format!("{name}[].{item_name}"),
                );
                writes.push(Write::Primary {
                    field: name.clone(),
                    item_field: item_name.clone(),
                    item_ty: item_ty.clone(),
                    path: path.clone(),
                    provider_type: provider_type.flatten(),
                });
            }
            if !write_only {
                self.check_read(
                    create,
                    get,
                    returns,
                    &path,
                    path_node,
                    &item_ty,
                    &format!("{name}[].{item_name}"),
                );
                reads.push(Read::Primary {
                    field: name,
                    item_type: item_type.name.clone(),
                    item_field: item_name,
                    item_ty,
                    path,
                });
            }
            return;
        }

        if let Some(each_node) = each
            && let Some(sub_text) = each_node.as_str()
        {
            // A list of strings (linked record ids) read from one key of each element.
            if field.ty != FieldType::List(Box::new(FieldType::String)) {
                self.reader.error(
                    each_node,
                    format!(
                        "`each: <path>` reads a list of strings; `{name}` is {}",
                        field.ty.describe()
                    ),
                );
                return;
            }
            if !read_only {
                self.reader.error(each_node, format!("a list of ids is read-only here: add `read_only: true` to `{name}` (write links with a `link` action)"));
                return;
            }
            let Some(sub) = parse_path(self.reader, sub_text, each_node) else {
                return;
            };
            let mut full = path.clone();
            full.push(Seg::Index(0));
            full.extend(sub.iter().cloned());
            self.check_read(
                create,
                get,
                returns,
                &full,
                each_node,
                &FieldType::String,
                &format!("{name}[]"),
            );
            reads.push(Read::EachString {
                field: name,
                path,
                sub,
            });
            return;
        }
        if let Some(each_node) = each {
            let Some(item_type) = item_type else {
                self.reader.error(
                    each_node,
                    format!(
                        "`each` needs a list of objects; `{name}` is {}",
                        field.ty.describe()
                    ),
                );
                return;
            };
            let mut subs = Vec::new();
            for (sub_node, sub_path_node) in each_node.entries() {
                let Some(sub_field) = self.item_field(item_type, sub_node) else {
                    continue;
                };
                let Some(text) = self.reader.string(sub_path_node, "a provider path") else {
                    continue;
                };
                let Some(sub_path) = parse_path(self.reader, &text, sub_path_node) else {
                    continue;
                };
                let mut full = path.clone();
                full.push(Seg::Index(0));
                full.extend(sub_path.iter().cloned());
                let label = format!("{name}[].{}", sub_field.name);
                if !read_only && create.is_some() {
                    self.check_write(&full, sub_path_node, "request body", &sub_field.ty, &label);
                }
                if !write_only {
                    self.check_read(
                        create,
                        get,
                        returns,
                        &full,
                        sub_path_node,
                        &sub_field.ty,
                        &label,
                    );
                }
                subs.push((sub_field.name.clone(), sub_field.ty.clone(), sub_path));
            }
            if !read_only && create.is_some() {
                writes.push(Write::Each {
                    field: name.clone(),
                    subs: subs.clone(),
                    path: path.clone(),
                });
            }
            if !write_only {
                reads.push(Read::Each {
                    field: name,
                    item_type: item_type.name.clone(),
                    subs,
                    path,
                });
            }
            return;
        }

        let values = match rule_map {
            Some(rule) if rule.get("values").is_some() => self.value_map(rule, &field.ty, &name),
            _ => None,
        };
        if let FieldType::List(_) = field.ty {
            self.reader
                .error(path_node, format!("type mismatch: `{name}` is {}, a list, but `{path_text}` is one value", field.ty.describe()))
                .with_label_mut("maps a list to a single provider field")
                .help = Some("add `primary: <item field>` to write the first element and read one back, or `each:` when the provider field is an array".into());
            return;
        }
        self.create_only = create_only;
        if !read_only && create.is_some() {
            if let Some(template_node) = template {
                let template = self.constant_json(template_node);
                self.check_template(&path, &template, template_node, &field.ty, &name);
                writes.push(Write::Template {
                    field: name.clone(),
                    ty: field.ty.clone(),
                    path: path.clone(),
                    template,
                    create_only,
                });
            } else {
                let provider_type =
                    self.check_write(&path, path_node, "request body", &field.ty, &name);
                writes.push(Write::Scalar {
                    field: name.clone(),
                    ty: field.ty.clone(),
                    path: path.clone(),
                    provider_type: provider_type.flatten(),
                    default,
                    values: values.clone(),
                    create_only,
                    scale,
                });
            }
        }
        self.create_only = false;
        if !write_only {
            let (path, path_node) = match &read_path {
                Some((path, node)) => (path.clone(), node),
                None => (path, path_node),
            };
            self.check_read(create, get, returns, &path, path_node, &field.ty, &name);
            reads.push(Read::Scalar {
                field: name,
                ty: field.ty.clone(),
                path,
                required: field.required && field.read_only,
                values,
                scale,
                split,
            });
        }
    }

    /// Checks every leaf of a write template against the request schema: `$value`
    /// leaves take the field's type, constants any JSON type.
    fn check_template(
        &mut self,
        path: &[Seg],
        template: &Json,
        node: &Node,
        ty: &FieldType,
        label: &str,
    ) {
        match template {
            Json::Object(entries) => {
                for (key, value) in entries {
                    let mut deeper = path.to_vec();
                    deeper.push(Seg::Key(key.clone()));
                    self.check_template(&deeper, value, node, ty, label);
                }
            }
            Json::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let mut deeper = path.to_vec();
                    deeper.push(Seg::Index(index));
                    self.check_template(&deeper, item, node, ty, label);
                }
            }
            Json::Str(text) if text == "$value" => {
                self.check_write(path, node, "request body", ty, label);
            }
            _ => {
                self.check_write(path, node, "request body", &FieldType::Json, label);
            }
        }
    }

    /// Reads `values:` (unified → provider) with its fallbacks; unified values must be
    /// values of the field's enum when it has one.
    fn value_map(&mut self, rule: &Node, ty: &FieldType, name: &str) -> Option<ValueMap> {
        let known: Option<Vec<String>> = match ty {
            FieldType::String => None,
            FieldType::Named(type_name) => match self.models.get(type_name).map(|t| &t.kind) {
                Some(TypeKind::Enum(values)) => Some(values.clone()),
                _ => {
                    let node = rule.get("values")?;
                    self.reader.error(
                        node,
                        format!(
                            "`values` maps enums and strings; `{name}` is {}",
                            ty.describe()
                        ),
                    );
                    return None;
                }
            },
            _ => {
                let node = rule.get("values")?;
                self.reader.error(
                    node,
                    format!(
                        "`values` maps enums and strings; `{name}` is {}",
                        ty.describe()
                    ),
                );
                return None;
            }
        };
        let check = |reader: &mut Reader, node: &Node, value: &str| {
            if let Some(known) = &known
                && !known.iter().any(|k| k == value)
            {
                let help = match did_you_mean(value, known.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "values of `{}` are {}",
                        ty.describe(),
                        one_of(known.iter().map(String::as_str))
                    ),
                };
                reader
                    .error(
                        node,
                        format!("`{value}` is not a value of `{}`", ty.describe()),
                    )
                    .help = Some(help);
            }
        };
        let mut pairs = Vec::new();
        for (unified, provider) in rule.get("values").map(Node::entries).unwrap_or(&[]) {
            let (Some(u), Some(p)) = (
                self.reader.string(unified, "a unified value"),
                self.reader.string(provider, "a provider value"),
            ) else {
                continue;
            };
            check(self.reader, unified, &u);
            pairs.push((u, p));
        }
        let read_fallback = self
            .reader
            .optional_string(rule, "read_fallback", "a unified value")
            .map(|(v, node)| {
                check(self.reader, node, &v);
                v
            });
        let write_fallback = self
            .reader
            .optional_string(rule, "write_fallback", "a provider value")
            .map(|(v, _)| v);
        Some(ValueMap {
            pairs,
            read_fallback,
            write_fallback,
        })
    }

    fn item_field(&mut self, item_type: &'m TypeDef, node: &Node) -> Option<&'m crate::ir::Field> {
        let name = self.reader.string(node, "an item field")?;
        match item_type.field(&name) {
            Some(field) => Some(field),
            None => {
                let names = item_type.fields().iter().map(|f| f.name.as_str());
                let help = match did_you_mean(&name, names.clone()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("fields of `{}` are {}", item_type.name, one_of(names)),
                };
                self.reader
                    .error(
                        node,
                        format!("unknown unified field `{name}` in `{}`", item_type.name),
                    )
                    .help = Some(help);
                None
            }
        }
    }

    /// Checks a read path against every response the record is read from.
    #[allow(clippy::too_many_arguments)]
    fn check_read(
        &mut self,
        _create: Option<&Operation>,
        _get: Option<&Operation>,
        _returns: &Returns,
        path: &[Seg],
        node: &Node,
        ty: &FieldType,
        label: &str,
    ) {
        for (op, schema, envelope) in self.read_targets.clone() {
            self.skip_envelope = !envelope;
            self.reading = true;
            self.check_path(Some(&schema), op, path, node, "response", ty, label);
            self.skip_envelope = false;
            self.reading = false;
        }
    }

    /// Checks a write path against the request body of every write action.
    fn check_write(
        &mut self,
        path: &[Seg],
        node: &Node,
        part: &str,
        ty: &FieldType,
        label: &str,
    ) -> Option<Option<String>> {
        let mut first = None;
        let ops = self.write_ops.clone();
        let ops = if self.create_only {
            &ops[..ops.len().min(1)]
        } else {
            &ops[..]
        };
        for op in ops.iter().copied() {
            let found = self.check_path(op.request.as_ref(), op, path, node, part, ty, label);
            if first.is_none() {
                first = Some(found?);
            }
        }
        first
    }

    /// The schema at `path` below `schema` (for the records array of a list page).
    fn schema_at(&mut self, schema: &Node, path: &[Seg]) -> Option<Node> {
        let root = self.provider.openapi.root.clone();
        let mut current = openapi::resolve(self.reader, &root, schema);
        for seg in path {
            current = match seg {
                Seg::Key(key) => {
                    let properties = openapi::properties(self.reader, &root, &current);
                    let (_, next) = properties.into_iter().find(|(name, _)| name == key)?;
                    openapi::resolve(self.reader, &root, &next)
                }
                Seg::Index(_) => openapi::items(self.reader, &root, &current)?,
            };
        }
        Some(current)
    }

    /// Resolves `path` (below the provider's envelope) in an operation's schema and
    /// checks the unified type fits. Returns the provider's JSON type at the path
    /// (`Some(None)` when the schema leaves it open), or `None` after a reported error.
    #[allow(clippy::too_many_arguments)]
    fn check_path(
        &mut self,
        schema: Option<&Node>,
        op: &Operation,
        path: &[Seg],
        node: &Node,
        part: &str,
        ty: &FieldType,
        label: &str,
    ) -> Option<Option<String>> {
        let schema = schema?;
        let root = &self.provider.openapi.root;
        let mut current = openapi::resolve(self.reader, root, schema);
        let envelope: &[Seg] = if self.skip_envelope {
            &[]
        } else if self.reading {
            &self.provider.response_envelope
        } else {
            &self.provider.envelope
        };
        let full: Vec<Seg> = envelope
            .iter()
            .cloned()
            .chain(path.iter().cloned())
            .collect();
        let envelope_len = envelope.len();
        for (position, seg) in full.iter().enumerate() {
            let shown_prefix = path::display(&full[envelope_len..position.max(envelope_len)]);
            match seg {
                Seg::Key(key) => {
                    let properties = openapi::properties(self.reader, root, &current);
                    if let Some((_, next)) = properties.iter().find(|(name, _)| name == key) {
                        current = openapi::resolve(self.reader, root, next);
                    } else if let Some(next) = openapi::additional(self.reader, root, &current) {
                        current = next;
                    } else if properties.is_empty() && openapi::schema_type(&current).is_none() {
                        // A schema that says nothing constrains nothing.
                        return Some(None);
                    } else {
                        let names = properties.iter().map(|(name, _)| name.as_str());
                        let suggestion = did_you_mean(key, names.clone()).map(|close| {
                            let mut fixed = full[envelope_len..position.max(envelope_len)].to_vec();
                            fixed.push(Seg::Key(close.to_string()));
                            fixed.extend(full[position + 1..].iter().cloned());
                            path::display(&fixed)
                        });
                        let where_ = if shown_prefix == "$" {
                            String::new()
                        } else {
                            format!(" under `{shown_prefix}`")
                        };
                        let help = match suggestion {
                            Some(fixed) => format!("did you mean `{fixed}`?"),
                            None => format!("expected {}", one_of(names)),
                        };
                        self.reader
                            .error(
                                node,
                                format!("unknown provider field `{key}`{where_} for `{label}`"),
                            )
                            .with_label_mut(format!(
                                "not in the {part} of `{}` ({} {})",
                                op.id,
                                op.method.to_uppercase(),
                                op.path
                            ))
                            .help = Some(help);
                        return None;
                    }
                }
                Seg::Index(_) => match openapi::items(self.reader, root, &current) {
                    Some(items) => current = items,
                    None => {
                        self.reader.error(
                            node,
                            format!(
                                "`{shown_prefix}` is not an array in the {part} of `{}`",
                                op.id
                            ),
                        );
                        return None;
                    }
                },
            }
        }
        let provider_type = openapi::schema_type(&current);
        if let Some(found) = &provider_type
            && !compatible(self.models, ty, found)
        {
            self.reader
                .error(
                    node,
                    format!(
                        "type mismatch: `{label}` is {} but `{}` is {found} in the {part} of `{}`",
                        ty.describe(),
                        path::display(path),
                        op.id
                    ),
                )
                .with_label_mut(format!("provider type {found}"))
                .help = Some(hint_for(ty, found));
            return None;
        }
        Some(provider_type)
    }

    fn constant(&mut self, node: &Node) -> Option<Const> {
        match &node.value {
            Value::Str(text) => Some(Const::Str(text.clone())),
            Value::Int(n) => Some(Const::Int(*n)),
            Value::Float(n) => Some(Const::Float(*n)),
            Value::Bool(b) => Some(Const::Bool(*b)),
            _ => {
                let found = node.kind();
                self.reader.error(
                    node,
                    format!("a constant must be a string, number or boolean, found {found}"),
                );
                None
            }
        }
    }

    /// The `field:` of `custom_fields`/`passthrough`: a json field of the model.
    fn json_field(&mut self, node: &Node) -> Option<String> {
        let (name, at) = self
            .reader
            .required_string(node, "field", "the unified json field")?;
        match self.model.field(&name) {
            Some(field) if field.ty == FieldType::Json => Some(name),
            Some(field) => {
                self.reader.error(
                    at,
                    format!(
                        "`{name}` must be a json field; it is {}",
                        field.ty.describe()
                    ),
                );
                None
            }
            None => {
                let names = self.model.fields().iter().map(|f| f.name.as_str());
                let help = did_you_mean(&name, names).map(|c| format!("did you mean `{c}`?"));
                self.reader
                    .error(at, format!("unknown unified field `{name}`"))
                    .help = help;
                None
            }
        }
    }

    /// The `under:` path, which must exist in the write request body.
    fn under(&mut self, node: &Node, write: Option<&Operation>) -> Option<Vec<Seg>> {
        let (text, at) = self.reader.required_string(
            node,
            "under",
            "where the fields live (`$` for the top level)",
        )?;
        let path = parse_path(self.reader, &text, at)?;
        if write.is_some() && !path.is_empty() {
            self.check_write(&path, at, "request body", &FieldType::Json, &text)?;
        }
        Some(path)
    }

    fn constant_json(&mut self, node: &Node) -> Json {
        match &node.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(n) => Json::Int(*n),
            Value::Float(n) => Json::Float(*n),
            Value::Str(text) => Json::Str(text.clone()),
            Value::Seq(items) => {
                Json::Array(items.iter().map(|item| self.constant_json(item)).collect())
            }
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .filter_map(|(key, value)| {
                        let key = self.reader.string(key, "a JSON key")?;
                        Some((key, self.constant_json(value)))
                    })
                    .collect(),
            ),
        }
    }

    fn computed(
        &mut self,
        path_node: &Node,
        rule: &Node,
        create: Option<&Operation>,
    ) -> Option<Write> {
        let text = self.reader.string(path_node, "a provider path")?;
        let path = parse_path(self.reader, &text, path_node)?;
        let kind = rule
            .entries()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .find(|k| TRANSFORMS.contains(k));
        let Some(kind) = kind else {
            let first = rule.entries().first().map(|(k, _)| k.clone());
            let node = first.as_ref().unwrap_or(rule);
            let name = node.as_str().unwrap_or("?").to_string();
            let help = match did_you_mean(&name, TRANSFORMS.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("transforms are {}", one_of(TRANSFORMS.iter().copied())),
            };
            self.reader
                .error(node, format!("unknown transform `{name}`"))
                .help = Some(help);
            return None;
        };
        let write = match kind {
            "const" => {
                self.reader
                    .keys(rule, &["const", "when"], "a `const` value");
                Write::Const {
                    path: path.clone(),
                    value: rule.get("const").and_then(|c| self.constant(c))?,
                }
            }
            "now" => {
                self.reader.keys(rule, &["now", "when"], "a `now` value");
                Write::Now { path: path.clone() }
            }
            _ => {
                self.reader
                    .keys(rule, &["join", "separator", "default", "when"], "a `join`");
                let mut parts = Vec::new();
                for part in rule.get("join").map(Node::items).unwrap_or(&[]) {
                    let Some(name) = self.reader.string(part, "a unified field") else {
                        continue;
                    };
                    match self.model.field(&name) {
                        Some(field) if matches!(field.ty, FieldType::String) => parts.push(name),
                        Some(field) => {
                            self.reader.error(
                                part,
                                format!(
                                    "`join` takes string fields; `{name}` is {}",
                                    field.ty.describe()
                                ),
                            );
                        }
                        None => {
                            let names = self.model.fields().iter().map(|f| f.name.as_str());
                            let help =
                                did_you_mean(&name, names).map(|c| format!("did you mean `{c}`?"));
                            self.reader
                                .error(part, format!("unknown unified field `{name}`"))
                                .help = help;
                        }
                    }
                }
                let separator = self
                    .reader
                    .optional_string(rule, "separator", "a separator")
                    .map(|(s, _)| s)
                    .unwrap_or_else(|| " ".into());
                let default = self
                    .reader
                    .optional_string(rule, "default", "a default")
                    .map(|(s, _)| s);
                Write::Join {
                    parts,
                    separator,
                    path: path.clone(),
                    default,
                }
            }
        };
        if create.is_some() {
            // A constant is checked with its own JSON type (a number for an integer
            // property); joins and instants are strings.
            let ty = match &write {
                Write::Const {
                    value: Const::Int(_),
                    ..
                } => FieldType::Integer,
                Write::Const {
                    value: Const::Float(_),
                    ..
                } => FieldType::Number,
                Write::Const {
                    value: Const::Bool(_),
                    ..
                } => FieldType::Boolean,
                _ => FieldType::String,
            };
            self.check_write(&path, path_node, "request body", &ty, &text);
        }
        let Some(condition) = rule.get("when") else {
            return Some(write);
        };
        self.reader
            .keys(condition, &["present", "absent"], "`when`");
        let (field, present, node) = match (condition.get("present"), condition.get("absent")) {
            (Some(node), None) => (self.reader.string(node, "a unified field")?, true, node),
            (None, Some(node)) => (self.reader.string(node, "a unified field")?, false, node),
            _ => {
                self.reader.error(
                    condition,
                    "`when` takes one of `present: <field>` or `absent: <field>`",
                );
                return None;
            }
        };
        if self.model.field(&field).is_none_or(|f| f.read_only) {
            let names = self
                .model
                .fields()
                .iter()
                .filter(|f| !f.read_only)
                .map(|f| f.name.as_str());
            let help = did_you_mean(&field, names).map(|c| format!("did you mean `{c}`?"));
            self.reader
                .error(
                    node,
                    format!("`{field}` is not a writable field of `{}`", self.model.name),
                )
                .help = help;
            return None;
        }
        Some(Write::When {
            field,
            present,
            write: Box::new(write),
        })
    }

    /// Every property the create operation's schema marks `required`, at every level a
    /// write reaches, must be written. Unified fields that alone fill a required
    /// provider field become required for this provider (checked before sending).
    fn required_fields(
        &mut self,
        op: &Operation,
        op_node: &Node,
        writes: &[Write],
        provider_required: &mut Vec<String>,
    ) {
        let Some(schema) = op.request.clone() else {
            return;
        };
        let envelope = self.provider.envelope.clone();
        let mut written: Vec<(Vec<Seg>, Option<String>)> = Vec::new();
        for write in writes {
            let mut full = envelope.clone();
            full.extend(write.path().iter().cloned());
            match write {
                Write::Each { subs, .. } => {
                    for (_, _, sub) in subs {
                        let mut item = full.clone();
                        item.push(Seg::Index(0));
                        item.extend(sub.iter().cloned());
                        written.push((item, None));
                    }
                }
                Write::Scalar {
                    field,
                    default: None,
                    ..
                }
                | Write::Primary { field, .. } => written.push((full, Some(field.clone()))),
                Write::Template { template, .. } => {
                    for leaf in template_leaves(&full, template) {
                        written.push((leaf, None));
                    }
                }
                _ => written.push((full, None)),
            }
        }
        let all: Vec<&(Vec<Seg>, Option<String>)> = written.iter().collect();
        self.required_at(op, op_node, &schema, 0, &all, true, provider_required);
    }

    /// `always_present` is true while every object on the way down is itself required,
    /// so a required property here must be sent on every create; inside optional
    /// objects (an Attio `job_title` value) it is only needed when the object is sent.
    #[allow(clippy::too_many_arguments)]
    fn required_at(
        &mut self,
        op: &Operation,
        op_node: &Node,
        schema: &Node,
        depth: usize,
        written: &[&(Vec<Seg>, Option<String>)],
        always_present: bool,
        provider_required: &mut Vec<String>,
    ) {
        let root = self.provider.openapi.root.clone();
        let schema = openapi::resolve(self.reader, &root, schema);
        if openapi::schema_type(&schema).as_deref() == Some("array") {
            if let Some(items) = openapi::items(self.reader, &root, &schema) {
                let deeper: Vec<_> = written
                    .iter()
                    .copied()
                    .filter(|(p, _)| matches!(p.get(depth), Some(Seg::Index(_))))
                    .collect();
                if !deeper.is_empty() {
                    self.required_at(
                        op,
                        op_node,
                        &items,
                        depth + 1,
                        &deeper,
                        false,
                        provider_required,
                    );
                }
            }
            return;
        }
        let required_names = openapi::required(self.reader, &root, &schema);
        for name in required_names.clone() {
            let filling: Vec<_> = written
                .iter()
                .filter(|(p, _)| p.get(depth) == Some(&Seg::Key(name.clone())))
                .collect();
            if filling.is_empty() {
                let mut at = written
                    .first()
                    .map(|(p, _)| p[..depth].to_vec())
                    .unwrap_or_default();
                at.push(Seg::Key(name.clone()));
                let shown = path::display(&at[self.provider.envelope.len().min(at.len())..]);
                self.reader
                    .error(op_node, format!("missing required provider field: `{}` requires `{shown}`, but no field of this mapping writes it", op.id))
                    .with_label_mut(format!("`{shown}` is required by the OpenAPI schema of `{}`", op.id))
                    .help = Some(format!("map a unified field to `{shown}`, or give it a constant under `write:` (`{shown}: {{ const: ... }}`)"));
            } else if let [(path, Some(field))] = filling.as_slice()
                && always_present
                && path.len() == depth + 1
                && !provider_required.contains(field)
            {
                provider_required.push(field.clone());
            }
        }
        let properties = openapi::properties(self.reader, &root, &schema);
        for (name, property) in properties {
            let deeper: Vec<_> = written
                .iter()
                .copied()
                .filter(|(p, _)| {
                    p.len() > depth + 1 && p.get(depth) == Some(&Seg::Key(name.clone()))
                })
                .collect();
            if !deeper.is_empty() {
                let present = always_present && required_names.contains(&name);
                self.required_at(
                    op,
                    op_node,
                    &property,
                    depth + 1,
                    &deeper,
                    present,
                    provider_required,
                );
            }
        }
    }
}

fn compatible(models: &ModelSet, ty: &FieldType, provider: &str) -> bool {
    match ty {
        // Integer ids (Pipedrive's `id`, `org_id`) are strings in the unified models.
        FieldType::String => matches!(provider, "string" | "integer"),
        FieldType::Integer => matches!(provider, "integer" | "number" | "string"),
        FieldType::Number => matches!(provider, "number" | "integer" | "string"),
        FieldType::Boolean => matches!(provider, "boolean" | "string"),
        FieldType::DateTime | FieldType::Date => {
            matches!(provider, "string" | "integer" | "number")
        }
        FieldType::Json => true,
        FieldType::List(_) => provider == "array",
        FieldType::Named(name) => match models.get(name).map(|t| &t.kind) {
            Some(TypeKind::Enum(_)) => provider == "string",
            _ => provider == "object",
        },
    }
}

fn hint_for(ty: &FieldType, provider: &str) -> String {
    match (ty, provider) {
        (FieldType::List(_), _) => "a list maps to a provider array; use `primary:` for a single provider value".into(),
        (_, "array") => "the provider field is an array: map a list field with `each:`, or index it (`path[0].key`)".into(),
        (_, "object") => "the provider field is an object: map to one of its properties (`path.key`)".into(),
        _ => format!("map a unified field of a matching type, or change the unified field's type to fit `{provider}`"),
    }
}

/// Attaches a label to a just-reported diagnostic.
trait LabelMut {
    fn with_label_mut(&mut self, label: impl Into<String>) -> &mut Self;
}

impl LabelMut for crate::diagnostics::Diagnostic {
    fn with_label_mut(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(label.into());
        self
    }
}

/// The full path of every leaf of a write template below `path`.
fn template_leaves(path: &[Seg], template: &Json) -> Vec<Vec<Seg>> {
    match template {
        Json::Object(entries) => entries
            .iter()
            .flat_map(|(key, value)| {
                let mut deeper = path.to_vec();
                deeper.push(Seg::Key(key.clone()));
                template_leaves(&deeper, value)
            })
            .collect(),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(index, item)| {
                let mut deeper = path.to_vec();
                deeper.push(Seg::Index(index));
                template_leaves(&deeper, item)
            })
            .collect(),
        _ => vec![path.to_vec()],
    }
}

/// Replaces `"{mapped_under:<prefix>}"` strings in a body with the array of keys the
/// mapping reads under that prefix (HubSpot search's `properties`).
fn expand_mapped_under(json: &Json, reads: &[Read], custom_under: Option<&[Seg]>) -> Json {
    match json {
        Json::Str(text) if text.starts_with("{mapped_under:") && text.ends_with('}') => {
            let prefix = &text["{mapped_under:".len()..text.len() - 1];
            let mut keys: Vec<String> = Vec::new();
            for read in reads {
                let path = match read {
                    Read::Scalar { path, .. }
                    | Read::Primary { path, .. }
                    | Read::Each { path, .. } => path,
                    Read::EachString { path, .. } => path,
                    Read::Record { .. } => continue,
                };
                if let [Seg::Key(first), Seg::Key(key), ..] = path.as_slice()
                    && first == prefix
                    && !keys.contains(key)
                {
                    keys.push(key.clone());
                }
            }
            let mut items: Vec<Json> = keys.into_iter().map(Json::Str).collect();
            if custom_under == Some(&[Seg::Key(prefix.to_string())][..]) {
                // Filled at run time with this connection's custom provider fields.
                items.push(Json::Str("{custom_fields}".into()));
            }
            Json::Array(items)
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|item| expand_mapped_under(item, reads, custom_under))
                .collect(),
        ),
        Json::Object(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), expand_mapped_under(v, reads, custom_under)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The keys of `batch:`.
const BATCH_KEYS: &[&str] = &[
    "operation",
    "max",
    "body",
    "items",
    "item",
    "item_id",
    "results",
    "match",
    "errors",
    "success",
    "error",
    "error_message",
    "returns",
    "read_back",
];

impl Checker<'_, '_, '_> {
    /// A required path at `key` of `parent` (`$` is the empty path).
    fn path_at(&mut self, parent: &Node, key: &str, what: &str) -> Option<(Vec<Seg>, Node)> {
        let (text, node) = self.reader.required_string(parent, key, what)?;
        let path = parse_path(self.reader, &text, node)?;
        Some((path, node.clone()))
    }

    fn optional_path_at(&mut self, parent: &Node, key: &str, what: &str) -> Option<Vec<Seg>> {
        parent.get(key)?;
        self.path_at(parent, key, what).map(|(path, _)| path)
    }

    /// A `batch:` block: the endpoint exists, every field this mapping writes fits its
    /// items, and its results have the records (or ids to read them back by). The fields
    /// are checked against it only when they fit the single-record actions (`fit`).
    fn batch(
        &mut self,
        node: &Node,
        updating: bool,
        writes: &[Write],
        reads: &[Read],
        fit: bool,
    ) -> Option<BatchAction> {
        self.reader.keys(node, BATCH_KEYS, "`batch`");
        let (op, _) = self.operation(node, &["post", "patch", "put"])?;
        let max = match node.get("max") {
            Some(Node {
                value: Value::Int(n),
                ..
            }) if (1..=10_000).contains(n) => *n as usize,
            Some(other) => {
                self.reader.error(
                    other,
                    "`max` is the most items one request takes: a whole number from 1 to 10000",
                );
                return None;
            }
            None => {
                self.reader.error(
                    node,
                    "`batch` needs `max`, the most items one request takes",
                );
                return None;
            }
        };
        let (items, items_node) =
            self.path_at(node, "items", "where the items go in the request body")?;
        let Some(request) = op.request.clone() else {
            self.reader.error(
                node,
                format!("operation `{}` has no request body to put items in", op.id),
            );
            return None;
        };
        let mut item_path = items.clone();
        item_path.push(Seg::Index(0));
        let Some(item_schema) = self.schema_at(&request, &item_path) else {
            self.reader.error(
                &items_node,
                format!(
                    "`{}` is not an array in the request body of `{}`",
                    path::display(&items),
                    op.id
                ),
            );
            return None;
        };
        let saved_envelope = self.skip_envelope;
        self.skip_envelope = true;
        // Every field this mapping writes must fit an item as it fits the single request.
        for write in writes.iter().filter(|_| fit) {
            let create_only = matches!(
                write,
                Write::Scalar {
                    create_only: true,
                    ..
                } | Write::Template {
                    create_only: true,
                    ..
                }
            );
            if (updating && create_only) || write.path().is_empty() {
                continue;
            }
            let label = path::display(write.path());
            self.check_path(
                Some(&item_schema),
                op,
                write.path(),
                &items_node,
                "batch items",
                &FieldType::Json,
                &label,
            );
        }
        let item = node.get("item").map(|item| self.constant_json(item));
        let body = node.get("body").map(|body| self.constant_json(body));
        let item_id = self.optional_path_at(node, "item_id", "where each item's record id goes");
        match (&item_id, updating) {
            (None, true) => {
                self.reader.error(
                    node,
                    "a batch update needs `item_id`: where each item's record id goes",
                );
                return None;
            }
            (Some(id), _) => {
                let label = path::display(id);
                self.check_path(
                    Some(&item_schema),
                    op,
                    id,
                    node,
                    "batch items",
                    &FieldType::String,
                    &label,
                );
            }
            (None, false) => {}
        }
        let (results, results_node) = self.path_at(
            node,
            "results",
            "where the per-item results are in the response (`$` for the body)",
        )?;
        let Some(response) = op.response.clone() else {
            self.reader.error(
                node,
                format!(
                    "operation `{}` has no JSON response to read results from",
                    op.id
                ),
            );
            return None;
        };
        let mut result_path = results.clone();
        result_path.push(Seg::Index(0));
        let Some(result_schema) = self.schema_at(&response, &result_path) else {
            self.reader.error(
                &results_node,
                format!(
                    "`{}` is not an array in the response of `{}`",
                    path::display(&results),
                    op.id
                ),
            );
            return None;
        };
        let matching = match node.get("match") {
            None => BatchMatching::Order,
            Some(spec) if spec.as_str() == Some("order") => BatchMatching::Order,
            Some(spec) => {
                self.reader
                    .keys(spec, &["by", "item", "result", "error"], "`match`");
                let (by, by_node) =
                    self.reader
                        .required_string(spec, "by", "`tag`, `id` or `order`")?;
                let (result, _) = self.path_at(spec, "result", "where a result names its item")?;
                let error = self.optional_path_at(spec, "error", "where an error names its item");
                match by.as_str() {
                    "tag" => {
                        let (item, item_node) =
                            self.path_at(spec, "item", "where each item carries its tag")?;
                        self.check_path(
                            Some(&item_schema),
                            op,
                            &item,
                            &item_node,
                            "batch items",
                            &FieldType::String,
                            &path::display(&item),
                        );
                        BatchMatching::Tag {
                            item,
                            result,
                            error,
                        }
                    }
                    "id" if item_id.is_some() => BatchMatching::Id { result, error },
                    "id" => {
                        self.reader.error(by_node, "matching by id needs `item_id`");
                        return None;
                    }
                    "order" => BatchMatching::Order,
                    other => {
                        self.reader.error(
                            by_node,
                            format!("`by` is `tag`, `id` or `order`, not `{other}`"),
                        );
                        return None;
                    }
                }
            }
        };
        let errors = self.optional_path_at(node, "errors", "where per-item errors are listed");
        if let Some(errors) = &errors {
            let mut first = errors.clone();
            first.push(Seg::Index(0));
            if self.schema_at(&response, &first).is_none() {
                self.reader.error(
                    node,
                    format!(
                        "`{}` is not an array in the response of `{}`",
                        path::display(errors),
                        op.id
                    ),
                );
            }
        }
        let success = self.optional_path_at(
            node,
            "success",
            "the flag that is false when an item failed",
        );
        let error = self.optional_path_at(node, "error", "where a failed result's error is");
        let error_message = self
            .optional_path_at(node, "error_message", "where an item error's message is")
            .unwrap_or_else(|| vec![Seg::Key("message".into())]);
        let returns_id = match node.get("returns") {
            Some(returns) => match self.returns(returns) {
                Returns::IdThenGet(id) => {
                    self.check_path(
                        Some(&result_schema),
                        op,
                        &id,
                        returns,
                        "batch results",
                        &FieldType::String,
                        &path::display(&id),
                    );
                    Some(id)
                }
                _ => None,
            },
            None => None,
        };
        let read_back = match (&returns_id, node.get("read_back")) {
            (Some(_), Some(spec))
                if !self
                    .model
                    .field("remote_id")
                    .is_some_and(|f| f.ty == FieldType::String && f.required) =>
            {
                self.reader.error(spec, format!("records read back are matched by `remote_id`, which `{}` lacks (a required string)", self.model.name));
                None
            }
            (Some(_), Some(spec)) => {
                self.reader
                    .keys(spec, &["operation", "query", "records"], "`read_back`");
                let (read_op, _) = self.operation(spec, &["get", "post"])?;
                let query = self.query(read_op, spec, reads);
                if !query.iter().any(|(_, value)| value.contains("{ids:soql}")) {
                    self.reader.error(spec, "`read_back` must use `{ids:soql}` in a query value: the ids of the records to read");
                }
                let (records, records_node) =
                    self.path_at(spec, "records", "where the records are in the response")?;
                if let Some(read_response) = read_op.response.clone() {
                    let mut first = records.clone();
                    first.push(Seg::Index(0));
                    if self.schema_at(&read_response, &first).is_none() {
                        self.reader.error(
                            &records_node,
                            format!(
                                "`{}` is not an array in the response of `{}`",
                                path::display(&records),
                                read_op.id
                            ),
                        );
                    }
                }
                Some(ReadBack {
                    call: self.call(read_op, None, Some(query)),
                    records,
                })
            }
            (Some(_), None) => {
                self.reader.error(node, "results that carry only ids need `read_back`: the request that reads the records by their ids");
                None
            }
            (None, Some(spec)) => {
                self.reader.error(
                    spec,
                    "`read_back` is for results that carry only ids (`returns: { id: <path> }`)",
                );
                None
            }
            (None, None) => {
                // The results are the records: every field this mapping reads must be there.
                for read in reads.iter().filter(|_| fit) {
                    let (path, ty) = match read {
                        Read::Scalar { path, ty, .. } => (path, ty.clone()),
                        Read::Primary { path, .. }
                        | Read::Each { path, .. }
                        | Read::EachString { path, .. } => (path, FieldType::Json),
                        Read::Record { .. } => continue,
                    };
                    let label = path::display(path);
                    self.check_path(
                        Some(&result_schema),
                        op,
                        path,
                        &results_node,
                        "batch results",
                        &ty,
                        &label,
                    );
                }
                None
            }
        };
        self.skip_envelope = saved_envelope;
        Some(BatchAction {
            call: self.call(op, None, None),
            max,
            body,
            items,
            item,
            item_id,
            results,
            matching,
            errors,
            success,
            error,
            error_message,
            returns_id,
            read_back,
        })
    }
}
