//! Composite actions: unified actions made of other actions, declared in YAML
//! (`composites:` in a unified-models file). Each step is a typed call of a generated
//! unified action, so it runs under the same connection and shows up as a child span
//! of the composite's own span.
//!
//! ```yaml
//! composites:
//!   create_opportunity_with_links:
//!     input: { company: Company, contact: Contact, opportunity: Opportunity }
//!     steps:
//!       - find_or_create: company
//!         find: { action: find_company_by_domain, key: company.website }
//!       - create: opportunity
//!         set: { account: company.remote_id }
//!       - link: { action: link_opportunity_contact, from: opportunity.remote_id, to: contact.remote_id }
//! ```

use crate::diagnostics::{did_you_mean, one_of};
use crate::ir::{
    ActionKind, Composite, FieldType, KeyPath, Mapping, ModelSet, Provider, Step, StepRef, TypeKind,
};
use crate::parse::reader::Reader;
use crate::parse::yaml::Node;

/// The unified actions a composite step may call: creates, finds and links.
fn action_names(providers: &[(Provider, Vec<Mapping>)]) -> Vec<String> {
    let callable = |kind: &ActionKind| {
        matches!(
            kind,
            ActionKind::Create | ActionKind::FindBy(_) | ActionKind::Link(_)
        )
    };
    let mut names: Vec<String> = providers
        .iter()
        .flat_map(|(_, mappings)| mappings.iter().flat_map(Mapping::actions))
        .filter(|action| callable(&action.kind))
        .map(|action| action.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

pub fn read(
    reader: &mut Reader,
    root: &Node,
    models: &ModelSet,
    providers: &[(Provider, Vec<Mapping>)],
) -> Vec<Composite> {
    let mut out = Vec::new();
    let Some(section) = root.get("composites") else {
        return out;
    };
    let actions = action_names(providers);
    for (name_node, body) in section.entries() {
        let Some(name) = reader.string(name_node, "a composite action name") else {
            continue;
        };
        if !crate::naming::is_module_name(&name) {
            reader.error(
                name_node,
                format!("`{name}` is not a valid action name (snake_case)"),
            );
            continue;
        }
        if !reader.keys(
            body,
            &["description", "input", "steps"],
            &format!("composite `{name}`"),
        ) {
            continue;
        }
        let description = reader
            .optional_string(body, "description", "a description")
            .map(|(d, _)| d);
        let mut inputs: Vec<(String, String)> = Vec::new();
        for (field_node, model_node) in body.get("input").map(Node::entries).unwrap_or(&[]) {
            let (Some(field), Some(model)) = (
                reader.string(field_node, "an input name"),
                reader.string(model_node, "a unified model"),
            ) else {
                continue;
            };
            if models.get(&model).filter(|m| m.is_model).is_none() {
                let help = did_you_mean(&model, models.model_names())
                    .map(|c| format!("did you mean `{c}`?"));
                reader
                    .error(model_node, format!("unknown unified model `{model}`"))
                    .help = help;
                continue;
            }
            inputs.push((field, model));
        }
        let mut produced: Vec<(String, String)> = Vec::new();
        let mut steps = Vec::new();
        for step in body.get("steps").map(Node::items).unwrap_or(&[]) {
            if let Some(step) = read_step(reader, step, models, &inputs, &mut produced, &actions) {
                steps.push(step);
            }
        }
        out.push(Composite {
            name,
            description,
            inputs,
            steps,
        });
    }
    out
}

fn check_action(reader: &mut Reader, node: &Node, action: &str, actions: &[String]) -> bool {
    if actions.iter().any(|a| a == action) {
        return true;
    }
    let help = match did_you_mean(action, actions.iter().map(String::as_str)) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!(
            "generated actions are {}",
            one_of(actions.iter().map(String::as_str))
        ),
    };
    reader
        .error(node, format!("unknown action `{action}`"))
        .help = Some(help);
    false
}

fn read_step(
    reader: &mut Reader,
    step: &Node,
    models: &ModelSet,
    inputs: &[(String, String)],
    produced: &mut Vec<(String, String)>,
    actions: &[String],
) -> Option<Step> {
    if let Some(link) = step.get("link") {
        reader.keys(link, &["action", "from", "to"], "a `link` step");
        let (action, action_node) = reader.required_string(link, "action", "the link action")?;
        check_action(reader, action_node, &action, actions);
        let from = step_ref(reader, link.get("from")?, models, produced)?;
        let to = step_ref(reader, link.get("to")?, models, produced)?;
        return Some(Step::Link { action, from, to });
    }
    let (kind, input_node) = match (step.get("find_or_create"), step.get("create")) {
        (Some(node), None) => ("find_or_create", node),
        (None, Some(node)) => ("create", node),
        _ => {
            reader.error(
                step,
                "a step is `find_or_create: <input>`, `create: <input>` or `link: {...}`",
            );
            return None;
        }
    };
    reader.keys(step, &[kind, "find", "set"], &format!("a `{kind}` step"));
    let input = reader.string(input_node, "an input name")?;
    let Some((_, model)) = inputs.iter().find(|(name, _)| *name == input) else {
        let help = did_you_mean(&input, inputs.iter().map(|(n, _)| n.as_str()))
            .map(|c| format!("did you mean `{c}`?"));
        reader
            .error(
                input_node,
                format!("`{input}` is not an input of this composite"),
            )
            .help = help;
        return None;
    };
    let model = model.clone();
    let create_action = ActionKind::Create.name(&model);
    check_action(reader, input_node, &create_action, actions);
    let mut set = Vec::new();
    for (field_node, value) in step.get("set").map(Node::entries).unwrap_or(&[]) {
        let field_name = reader.string(field_node, "a field")?;
        let Some(field) = models
            .get(&model)
            .and_then(|m| m.field(&field_name))
            .filter(|f| !f.read_only)
        else {
            reader.error(
                field_node,
                format!("`{model}Input` has no field `{field_name}`"),
            );
            continue;
        };
        if field.ty != FieldType::String {
            reader.error(
                field_node,
                format!(
                    "`set` fills string fields with ids; `{field_name}` is {}",
                    field.ty.describe()
                ),
            );
            continue;
        }
        if let Some(reference) = step_ref(reader, value, models, produced) {
            set.push((field_name, !field.required, reference));
        }
    }
    let result = match kind {
        "find_or_create" => {
            let find = match step.get("find") {
                None => None,
                // A bad `find` is reported, and the step still counts as producing its
                // record, so later steps are not reported as broken too.
                Some(find) => {
                    reader.keys(find, &["action", "key"], "`find`");
                    let action = reader
                        .required_string(find, "action", "the find action")
                        .map(|(action, node)| {
                            check_action(reader, node, &action, actions);
                            action
                        });
                    let key = reader
                        .required_string(find, "key", "the key path")
                        .and_then(|(key, node)| key_path(reader, node, &key, models, inputs));
                    action.zip(key)
                }
            };
            Step::FindOrCreate {
                input: input.clone(),
                model: model.clone(),
                find,
                set,
            }
        }
        _ => Step::Create {
            input: input.clone(),
            model: model.clone(),
            set,
        },
    };
    produced.push((input, model));
    Some(result)
}

/// `company.remote_id`: a string field of a record an earlier step produced.
fn step_ref(
    reader: &mut Reader,
    node: &Node,
    models: &ModelSet,
    produced: &[(String, String)],
) -> Option<StepRef> {
    let text = reader.string(node, "a reference such as `company.remote_id`")?;
    let Some((step, field)) = text.split_once('.') else {
        reader.error(node, format!("`{text}` is not `<step>.<field>`"));
        return None;
    };
    let Some((_, model)) = produced.iter().find(|(name, _)| name == step) else {
        reader
            .error(node, format!("`{step}` is not produced by an earlier step"))
            .help = Some(format!(
            "earlier steps are {}",
            one_of(produced.iter().map(|(n, _)| n.as_str()))
        ));
        return None;
    };
    let Some(found) = models
        .get(model)
        .and_then(|m| m.field(field))
        .filter(|f| !f.write_only)
    else {
        reader.error(node, format!("`{model}` has no field `{field}`"));
        return None;
    };
    if found.ty != FieldType::String {
        reader.error(
            node,
            format!("`{text}` is {}, not a string id", found.ty.describe()),
        );
        return None;
    }
    Some(StepRef {
        step: step.to_string(),
        field: field.to_string(),
        optional: !found.required,
    })
}

/// `contact.email_addresses[0].email_address`: a string inside an input.
pub(crate) fn key_path(
    reader: &mut Reader,
    node: &Node,
    text: &str,
    models: &ModelSet,
    inputs: &[(String, String)],
) -> Option<KeyPath> {
    let mut parts = text.split('.');
    let input = parts.next().unwrap_or_default();
    let Some((_, model)) = inputs.iter().find(|(name, _)| name == input) else {
        reader.error(node, format!("`{input}` is not an input of this composite"));
        return None;
    };
    let mut current = models.get(model)?;
    let mut steps = Vec::new();
    let rest: Vec<&str> = parts.collect();
    for (position, part) in rest.iter().enumerate() {
        let (name, list) = match part.strip_suffix("[0]") {
            Some(name) => (name, true),
            None => (*part, false),
        };
        let Some(field) = current.field(name).filter(|f| !f.read_only) else {
            let names = current.fields().iter().map(|f| f.name.as_str());
            let help = did_you_mean(name, names).map(|c| format!("did you mean `{c}`?"));
            reader
                .error(
                    node,
                    format!("`{}` has no writable field `{name}`", current.name),
                )
                .help = help;
            return None;
        };
        let last = position + 1 == rest.len();
        match (&field.ty, list, last) {
            (FieldType::String, false, true) => {
                steps.push((name.to_string(), !field.required, false))
            }
            (FieldType::List(item), true, false) => match item.as_ref() {
                FieldType::Named(type_name)
                    if matches!(
                        models.get(type_name).map(|t| &t.kind),
                        Some(TypeKind::Object(_))
                    ) =>
                {
                    steps.push((name.to_string(), false, true));
                    current = models.get(type_name)?;
                }
                _ => {
                    reader.error(node, format!("`{name}` is not a list of objects"));
                    return None;
                }
            },
            _ => {
                reader.error(
                    node,
                    format!("`{text}` must end at a string field, indexing lists with `[0]`"),
                );
                return None;
            }
        }
    }
    if steps.is_empty() {
        reader.error(node, format!("`{text}` names no field"));
        return None;
    }
    Some(KeyPath {
        input: input.to_string(),
        steps,
    })
}
